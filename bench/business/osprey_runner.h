// osprey's detector on a generated business dataset: the pipeline's default
// model (detect::CreateModel) run per series, in time order, with each
// interval's calendar event, on the leaves and on every roll-up of them.
//
// Roll-ups: one node per subset of the dimensions and per combination of
// values of that subset (the grand total, each region, each region x
// channel, ..., the leaves themselves). A node's value is what a warehouse
// GROUP BY gives: the sum of the rows present (a mean measure: the mean
// weighted by its weight measure), missing only when no leaf has a row; it
// is in a calendar event when any of its leaves is. Not thread-safe.
#pragma once

#include <vector>

#include "business/metric.h"
#include "osprey/base/status.h"
#include "osprey/detect/model.h"
#include "osprey/testing/business_data.h"

namespace osprey::bench {

// Every node of the roll-up lattice (RollupNode, business/metric.h), the grand total first and the leaves
// (all bits set) last; a leaf node's `leaves` is itself.
std::vector<RollupNode> RollupLattice(const testing::Dataset& data);

struct OspreyScores {
  std::vector<RollupNode> nodes;
  // [measure][node][point]: severity 0-100, kNoScore while warming up or missing.
  std::vector<MeasureScores> node_scores;
  // [measure][leaf][point]: what the benchmark scores.
  std::vector<MeasureScores> leaf_scores;
  int64_t points_scored = 0;  // Observe calls with a value, all nodes and measures
};

// Leaf scores from the scores of every node. Each leaf keeps its own
// model's severity: roll-ups are scored as series of their own (as the
// pipeline does; a dimension-wide incident shows there and in its group's
// root cause). Passing a broad roll-up's severity down to its leaves was
// tried and removed: it added false alarms and found no more incidents
// (bench/business/README.md, "Hierarchical evidence").
MeasureScores LeafScoresFromHierarchy(const testing::Dataset& data, const std::vector<RollupNode>& nodes,
                                      const MeasureScores& node_scores);

// The built-in holiday calendar a detector's default `holidays: auto` picks
// for the data (detect::AutoHolidayCountry) per point: the EventId of the holiday covering the
// point, 0 where none does or the zone has no calendar.
Result<std::vector<uint32_t>> BuiltInHolidays(const testing::Dataset& data);

// Scores every node of every measure with a fresh model built from `options`
// (interval_seconds is taken from the data), each point in the data's listed
// event if any, else (with `holidays`, as a detector's default) in the
// built-in holiday covering it. Fails when a model cannot be created.
Result<OspreyScores> ScoreWithOsprey(const testing::Dataset& data, detect::ModelOptions options,
                                     bool holidays = true);

}  // namespace osprey::bench
