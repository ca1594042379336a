// osprey on a generated business dataset the way a user runs it: the data
// written as a SQLite warehouse table (one row per leaf and interval, the
// missing rows absent), a detector file with the documented defaults (the
// dataset's zone, its holidays and maintenance windows as `events`, every
// roll-up), `osprey backtest` over the whole range into a fresh SQLite
// state, and each leaf point's stored severity read back. What an
// evaluation that only has the warehouse and the documentation sees, as
// opposed to ScoreWithOsprey, which feeds the model directly.
//
// The warehouse has what a pre-aggregated table has: a mean measure
// (5-minute latency) is one averaged value per leaf and interval beside the
// requests it is over, declared `aggregation: AVG, weight: requests` as
// docs/configuration.md says ("Averages of averages"), or with
// PipelineOptions::plain_avg a bare AVG (each row one value: what a user
// who leaves out `weight` gets); a ratio measure (the error rate) is declared as
// `ratio: {numerator, denominator}` over its two SUM measures.
#pragma once

#include <string>

#include "business/osprey_runner.h"
#include "osprey/base/status.h"
#include "osprey/testing/business_data.h"

namespace osprey::bench {

struct PipelineOptions {
  // A mean measure (and with rate_column the rate column) as a bare AVG of
  // the leaves' averaged rows instead of `aggregation: AVG, weight: <its
  // weight measure>`.
  bool plain_avg = false;
  // Timestamps as naive local wall-clock text in the data's zone (fall-back's
  // repeated hour written twice, as a local-time export has it) instead of
  // epoch seconds.
  bool naive_local = false;
  // A ratio measure (the error rate) as a column of its own, each row's
  // numerator over its denominator, declared `aggregation: AVG, weight:
  // <denominator>`, as a table that stores rates is, instead of `ratio:`.
  bool rate_column = false;
  // `holidays: none` in the detector file (by default it says nothing: the
  // built-in calendar of the data's zone, `holidays: auto`).
  bool holidays = true;
};

// The detector file ScoreThroughPipeline writes for `data`, reading the
// SQLite warehouse at `warehouse`.
std::string PipelineDetectorYaml(const testing::Dataset& data, const std::string& warehouse,
                                 const PipelineOptions& options);

// Writes the warehouse and the detector into `dir` (which must exist),
// backtests and returns the leaves' severities (node_scores left empty;
// points_scored counts the stored points with a value, every series).
// Fails with the step's error: writing, loading the detector, the backtest,
// or a leaf series the state does not hold.
Result<OspreyScores> ScoreThroughPipeline(const testing::Dataset& data, const std::string& dir,
                                          const PipelineOptions& options);

}  // namespace osprey::bench
