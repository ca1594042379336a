// Backtest and demo: the pipeline replayed over a past range with a fixed
// range instead of the wall clock, and the evaluation of what it found
// against labelled ground truth.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "osprey/app/demo_data.h"
#include "osprey/app/pipeline.h"
#include "osprey/config/detector.h"
#include "osprey/store/store.h"

namespace osprey::app {

struct BacktestRequest {
  config::Detector detector;
  std::string config_text;
  std::optional<Instant> from;  // default: detector.history_start
  // Default: `now` floored to the interval grid, and the run stops early
  // after the last interval the source has rows for (RunStats::data_end).
  std::optional<Instant> to;
  Instant now;  // the caller's clock
  int64_t chunk_intervals = 168;
  bool show_progress = false;  // progress lines on stderr
  // Write alert outbox rows for the replayed range (off by default: history
  // raises no alerts unless asked).
  bool alerts_enabled = false;
};

// Replays the detector over [from, to): forgets what the store holds for
// that range (results and model state), then runs the pipeline. FailedPrecondition
// when neither --from nor history_start says where to begin.
Result<RunStats> RunBacktest(const BacktestRequest& request, store::Store& store);

struct KindScore {
  int events = 0;
  int found = 0;
};

struct Evaluation {
  int events = 0;
  int events_found = 0;
  int groups = 0;              // incidents (a measure's groups in consecutive intervals)
  int groups_true = 0;         // incidents that belong to some event
  int slice_events = 0;        // injected anomalies over a whole platform or marketplace
  int slice_events_exact = 0;  // ... found as one incident with exactly that root cause
  double precision() const { return groups ? double(groups_true) / groups : 0; }
  double recall() const { return events ? double(events_found) / events : 0; }
  double f1() const {
    double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0;
  }
  std::map<std::string, KindScore> by_kind;
  std::vector<int> missed;  // event ids
};

// Scores stored groups of `detector` against ground-truth events. An event is
// found when a group of a measure it affects (views events affect revenue
// too) starts within [event start, event end + one interval) and one of its
// anomalies is on a series inside the event's slice (or a roll-up of it). A
// group is true when it finds some event, false otherwise.
Result<Evaluation> Evaluate(store::Store& store, const std::string& detector,
                            const std::vector<DemoEvent>& events, int64_t interval_seconds,
                            double min_severity);

struct DemoRequest {
  std::string config_path;
  std::string dir;  // where the warehouse, ground truth and state go
  DemoOptions data;
  int max_groups_shown = 25;
};

// `osprey demo`: builds the sample warehouse, runs the detector over it and
// prints the groups found and precision/recall against the ground truth.
Result<Evaluation> RunDemo(const DemoRequest& request, std::ostream& out);

// Prints groups as a table: time, measure, severity, anomalies, top
// contributors and root cause.
void PrintGroupTable(const std::vector<store::GroupRecord>& groups, std::ostream& out);

}  // namespace osprey::app
