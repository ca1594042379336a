// Event-level scoring of per-point anomaly scores against the labelled
// anomalies of a generated business dataset (osprey/testing/business_data.h).
//
// Per measure: an event is one labelled anomaly (one series, or a
// dimension-wide incident over its leaves). It is found when any point of
// it, on any of its series, is flagged (score >= threshold). A false alarm is
// a run of consecutive flagged points of one series outside every injected
// anomaly of that series and the hour after it (labelled or not: an injected
// anomaly too small to label is neither a hit nor a false alarm); each run
// counts once per day block (blocks of 24 hours from the end of the warm-up),
// so flagging everything costs one false alarm per series per day.
// Only points after the shared warm-up (Dataset::warmup_points) with a row
// are scored: a missing point is never a flag, and does not break a run.
// F1 = 2 TP / (2 TP + FP + FN). Leaf series only. Pure; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "osprey/testing/business_data.h"

namespace osprey::bench {

// Scores of one measure: [series][point]. kNoScore (or NaN) marks a point the
// detector did not score (warming up): never a flag.
using MeasureScores = std::vector<std::vector<double>>;
inline constexpr double kNoScore = -std::numeric_limits<double>::infinity();

struct EventCounts {
  double threshold = 0;
  int events = 0;
  int found = 0;
  int false_runs = 0;
  double f1 = 0;
  double false_runs_per_series_week = 0;
  std::array<int, testing::kAnomalyKinds> events_by_kind{};
  std::array<int, testing::kAnomalyKinds> found_by_kind{};
};

// Counts at one threshold.
EventCounts EvaluateAt(const testing::Dataset& data, size_t measure, const MeasureScores& scores,
                       double threshold);

// Calibration on clean data: per threshold, flagged points outside every
// injected anomaly (and the hour after it) per hour of scored data of those
// points, leaf series only, after the warm-up. A calibrated severity S
// flags 10^(-S/10) of them per hour, whatever the series.
std::vector<double> CleanFlagsPerHour(const testing::Dataset& data, size_t measure,
                                      const MeasureScores& scores, const std::vector<double>& thresholds);

// The threshold with the best F1 over every distinct score (exact sweep; on
// ties the highest threshold), and its counts.
EventCounts EvaluateBest(const testing::Dataset& data, size_t measure, const MeasureScores& scores);

// A node of the roll-up lattice: the leaves whose values of the fixed
// dimensions (mask bit i: dimension i) are `dims`.
struct RollupNode {
  unsigned mask = 0;              // bit i set: dimension i is fixed
  std::vector<int> leaves;        // indices into Dataset::series
  std::vector<std::string> dims;  // the fixed values ("" where not fixed)
};

// Dimension-wide incidents judged where a user sees them: at the roll-up
// node of their root cause (the node whose fixed values are exactly the
// incident's root-cause set). An incident labelled on the measure is found
// when that node's score reaches the threshold during it. And the roll-up
// nodes' calibration: flagged points of the nodes above the leaves outside
// every injected anomaly on any of their leaves (and the hour after it), per
// node-hour of those points, after the warm-up.
struct NodeIncidentCounts {
  int incidents = 0;
  int found = 0;
  double clean_node_hours = 0;  // the clean roll-up points, in hours of data
  int64_t clean_flags = 0;
  double CleanFlagsPerNodeHour() const {
    return clean_node_hours > 0 ? static_cast<double>(clean_flags) / clean_node_hours : 0;
  }
  // Counts of several datasets add up.
  void Add(const NodeIncidentCounts& o) {
    incidents += o.incidents;
    found += o.found;
    clean_node_hours += o.clean_node_hours;
    clean_flags += o.clean_flags;
  }
};
// node_scores: [node][point], one per `nodes` entry.
NodeIncidentCounts EvaluateIncidentsAtNodes(const testing::Dataset& data, size_t measure,
                                            const std::vector<RollupNode>& nodes,
                                            const MeasureScores& node_scores, double threshold);

}  // namespace osprey::bench
