// The business benchmark: generates each setting's datasets (one per seed),
// runs osprey and every peer on them, scores each measure with the event
// metric and prints the table. Tooling: measures wall time. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "business/metric.h"
#include "business/osprey_runner.h"
#include "osprey/base/status.h"

namespace osprey::bench {

struct DetectorRun {
  std::string name;
  double default_threshold = 0;
  // [measure][seed]
  std::vector<std::vector<EventCounts>> best;
  std::vector<std::vector<EventCounts>> at_default;
  // [measure][seed]: F1 at kCurveThresholds (osprey only).
  std::vector<std::vector<std::vector<double>>> curve;
  // [measure][seed]: clean flags per hour at kCalibrationThresholds.
  std::vector<std::vector<std::vector<double>>> clean_rates;
  double seconds = 0;
  int64_t points = 0;  // leaf points with a value it was run on (osprey: all nodes)
  // [measure], summed over seeds, at the default threshold (osprey fed
  // directly: its roll-up nodes' own scores; empty where there are none).
  std::vector<NodeIncidentCounts> node_incidents;
};

// The severities whose clean-data flag rates the table prints for osprey.
inline const std::vector<double> kCalibrationThresholds = {20, 30, 40, 50};

// The severities at which the table prints osprey's mean F1 over seeds: how
// flat its F1 is around the default, and the best one threshold per cell.
inline const std::vector<double> kCurveThresholds = {30,   35, 40,   42.5, 45, 47.5, 50,
                                                     52.5, 55, 57.5, 60,   65, 70};

struct SettingRun {
  std::string family;
  std::string setting;
  std::vector<uint64_t> seeds;
  std::vector<std::string> measures;
  std::vector<DetectorRun> detectors;  // osprey first, the two oracles last (oracle z last)
  double generate_seconds = 0;
};

struct BenchOptions {
  std::vector<std::string> families = {"hourly", "ops"};
  std::vector<std::string> settings;  // empty: every setting of the family
  int seeds = 3;                      // seeds 1..seeds
  bool quick = false;
  int days = 0;                  // > 0: every dataset this many days long (anomalies spread over them)
  bool failed_requests = false;  // ops errors as failed requests (testing::BusinessParams)
  bool oracle_only = false;      // run osprey and the two oracles only (no other peer)
  // The threshold of osprey's "F1 default" column: its default anomaly
  // severity, or another one to see what a user choosing it would get.
  double osprey_threshold = 50;
  // How osprey's leaf scores are made: unset, ScoreWithOsprey (the model
  // fed directly); business_bench --pipeline sets ScoreThroughPipeline.
  std::function<Result<OspreyScores>(const testing::Dataset&)> score_osprey;
  std::string osprey_name = "osprey (default model)";
  // osprey with the built-in holiday calendar of the data's zone (a
  // detector's default, `holidays: auto`), or without (`holidays: none`).
  bool holidays = true;
  // false: osprey is not told the dataset's listed events (holidays,
  // maintenance windows), as a user who lists none; peers and labels keep them.
  bool listed_events = true;
};

// Fails on an unknown family or setting, or when a model cannot be built.
Result<std::vector<SettingRun>> RunBusinessBench(const BenchOptions& options, std::ostream* progress);

void PrintTable(const std::vector<SettingRun>& runs, std::ostream& out);

}  // namespace osprey::bench
