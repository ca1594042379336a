// The business benchmark on its quick data (bench/business/README.md): prints
// the table that `make quality` shows and holds floors just below the
// figures measured when they were set. Seed 1 of every setting of both
// families, --quick sizes (hourly 112 days, ops 14 days).
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "business/harness.h"

namespace osprey::bench {
namespace {

// Mean over the settings of one detector's F1 on one measure, at its best
// threshold or at the default one.
// Over the given settings (none: every setting).
double MeanF1(const std::vector<SettingRun>& runs, const std::string& family, const std::string& detector,
              size_t measure, bool at_default, const std::vector<std::string>& settings) {
  double sum = 0;
  int n = 0;
  for (const SettingRun& run : runs) {
    if (run.family != family) continue;
    if (!settings.empty() && std::find(settings.begin(), settings.end(), run.setting) == settings.end())
      continue;
    for (const DetectorRun& d : run.detectors) {
      if (d.name != detector) continue;
      for (const EventCounts& c : (at_default ? d.at_default : d.best)[measure]) {
        sum += c.f1;
        ++n;
      }
    }
  }
  return n == 0 ? 0 : sum / n;
}

void CheckLabels(const std::vector<SettingRun>& runs) {
  // Labelled events per (family, measure, kind) over the three settings.
  struct Need {
    std::string family;
    size_t measure;
    testing::AnomalyKind kind;
  };
  using K = testing::AnomalyKind;
  const std::vector<Need> needs = {
      {"hourly", 0, K::kSpike},       {"hourly", 0, K::kDip},   {"hourly", 0, K::kOutage},
      {"hourly", 0, K::kShift},       {"hourly", 0, K::kDrift}, {"hourly", 0, K::kIncident},
      {"hourly", 1, K::kPriceGlitch}, {"ops", 0, K::kSpike},    {"ops", 0, K::kDip},
      {"ops", 0, K::kOutage},         {"ops", 0, K::kIncident}, {"ops", 1, K::kSpike},
      {"ops", 2, K::kShift},          {"ops", 2, K::kDrift},    {"ops", 3, K::kSpike}};
  for (const Need& need : needs) {
    int events = 0;
    for (const SettingRun& run : runs) {
      if (run.family != need.family) continue;
      for (const EventCounts& c : run.detectors.back().best[need.measure]) {
        events += c.events_by_kind[static_cast<size_t>(need.kind)];
      }
    }
    EXPECT_GE(events, 3) << need.family << " measure " << need.measure << " "
                         << testing::AnomalyKindName(need.kind);
  }
}

void CheckBestAtLeastDefault(const std::vector<SettingRun>& runs) {
  for (const SettingRun& run : runs) {
    for (const DetectorRun& d : run.detectors) {
      for (size_t m = 0; m < d.best.size(); ++m) {
        for (size_t i = 0; i < d.best[m].size(); ++i) {
          EXPECT_GE(d.best[m][i].f1 + 1e-12, d.at_default[m][i].f1)
              << run.family << "/" << run.setting << " " << d.name << " measure " << m;
        }
      }
    }
  }
}

// Floors on the mean F1 over the three quick settings (seed 1), just below
// the figures measured when they were set (the README's table); raise them
// when the model improves. The business model is ready after three days of
// history, so it scores the 5-minute data too.
void CheckFloors(const std::vector<SettingRun>& runs) {
  struct Floor {
    std::string family;
    std::string detector;
    size_t measure;
    double min_best_f1;                      // at the detector's best threshold
    double min_default_f1;                   // at the default threshold (osprey only)
    std::vector<std::string> settings = {};  // the settings averaged (none: every setting)
  };
  const std::string osprey = "osprey (default model)";
  const std::vector<Floor> floors = {
      // measured: best 0.323, 0.319, 0.155
      {"hourly", "oracle z", 0, 0.30, 0},
      {"hourly", "oracle z", 1, 0.30, 0},
      {"ops", "oracle z", 0, 0.14, 0},
      // measured: best 0.552 0.518 0.873 0.963 0.841; default 0.437 0.334 0.806 0.926 0.578
      // (hourly orders were 0.522 / 0.427 and revenue 0.495 / 0.342 before counts and money
      // were clipped at their own skewed 3-sd quantile in the window sums)
      // (latency was 0.758 / 0.444 before the model scaled an average's noise by its rows,
      // on data whose latency noise did not follow each interval's requests)
      // (revenue was 0.433 / 0.306 before money's body calibration)
      // (ops requests and latency were 0.701 / 0.530 and 0.522 / 0.267 before the weekday
      // factor stopped learning on a series' first day; requests 0.819 / 0.606 before a
      // 5-minute series' slot profiles learnt per visit instead of per point)
      {"hourly", osprey, 0, 0.53, 0.42},
      {"hourly", osprey, 1, 0.50, 0.32},
      {"ops", osprey, 0, 0.85, 0.78},
      {"ops", osprey, 1, 0.94, 0.90},
      {"ops", osprey, 2, 0.80, 0.55},
      // The error rate (errors over requests, a ratio measure): best 1.000, default 0.875
      // over base and noisy (3 labelled events each). Not over the sparse setting:
      // since an error rate is labelled only where its points can show it, its quick data
      // has one labelled event. (Before, with events on points without requests labelled
      // too: best 0.738, default 0.422 over the three settings.)
      {"ops", osprey, 3, 0.95, 0.85, {"base", "noisy"}},
  };
  for (const Floor& f : floors) {
    const double best = MeanF1(runs, f.family, f.detector, f.measure, false, f.settings);
    const double at_default = MeanF1(runs, f.family, f.detector, f.measure, true, f.settings);
    std::cout << f.family << " " << f.detector << " measure " << f.measure << ": mean F1 best " << best
              << " (floor " << f.min_best_f1 << "), default " << at_default << " (floor " << f.min_default_f1
              << ")\n";
    EXPECT_GE(best, f.min_best_f1) << f.family << " " << f.detector << " measure " << f.measure;
    EXPECT_GE(at_default, f.min_default_f1) << f.family << " " << f.detector << " measure " << f.measure;
  }
}

// Hierarchical evidence: dimension-wide incidents are found at the roll-up
// node of their root cause (each roll-up a series of its own, with the
// pipeline's rule for roll-ups with missing leaves), and the roll-ups do
// not flood. Measured on the quick data (seed 1): 6 of the 9 5-minute
// request incidents found at their node; roll-up clean flags at 50 per
// node-hour at most 5.5e-4 in any cell (5-minute error rate; its leaves
// 3.0e-4), 0 on requests, where the sums of the present leaves alone (a
// missing leaf read as a dip) had 2.2e-3 and 1.8e-3.
void CheckRollups(const std::vector<SettingRun>& runs) {
  int ops_found = 0, ops_incidents = 0;
  for (const SettingRun& run : runs) {
    const DetectorRun& o = run.detectors.front();
    ASSERT_EQ(o.node_incidents.size(), run.measures.size()) << run.family << " " << run.setting;
    for (size_t m = 0; m < run.measures.size(); ++m) {
      const NodeIncidentCounts& c = o.node_incidents[m];
      EXPECT_GT(c.clean_node_hours, 0) << run.family << " " << run.setting << " " << run.measures[m];
      EXPECT_LE(c.CleanFlagsPerNodeHour(), 1e-3)
          << run.family << " " << run.setting << " " << run.measures[m];
      if (run.family == "ops" && m == 0) {
        ops_found += c.found;
        ops_incidents += c.incidents;
      }
    }
  }
  std::cout << "ops request incidents found at their root-cause node: " << ops_found << " of "
            << ops_incidents << "\n";
  EXPECT_GE(ops_incidents, 6);
  EXPECT_GE(ops_found, 5);
}

// One test, so ctest runs the benchmark (about a minute) once and prints
// the table once.
TEST(BusinessQualityTest, QuickBenchmarkTableAndFloors) {
  BenchOptions options;
  options.seeds = 1;
  options.quick = true;
  auto runs = RunBusinessBench(options, &std::cout);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  PrintTable(*runs, std::cout);
  {
    SCOPED_TRACE("the generator labels every kind");
    CheckLabels(*runs);
  }
  {
    SCOPED_TRACE("the best threshold is at least as good as the default");
    CheckBestAtLeastDefault(*runs);
  }
  {
    SCOPED_TRACE("F1 floors");
    CheckFloors(*runs);
  }
  {
    SCOPED_TRACE("roll-ups");
    CheckRollups(*runs);
  }
}

// A user who lists no holidays: the hourly data (full size, 400 days from
// New Year to the next February: every holiday of the generator) with its
// listed events dropped, osprey with the built-in calendar of the data's zone (the
// detector's default, `holidays: auto`) and without it. Floors on the first,
// just below the figures measured when they were set; the second is printed
// (without either, every holiday is an alarm on every series).
TEST(BusinessQualityTest, BuiltInHolidaysStandInForUnlistedOnes) {
  auto run = [](bool holidays) {
    BenchOptions options;
    options.families = {"hourly"};
    options.seeds = 1;
    options.oracle_only = true;
    options.holidays = holidays;
    options.listed_events = false;
    return RunBusinessBench(options, nullptr);
  };
  auto with = run(true), without = run(false);
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  const std::string osprey = "osprey (default model)";
  for (size_t m = 0; m < 2; ++m) {
    const double best = MeanF1(*with, "hourly", osprey, m, false, {});
    const double at_default = MeanF1(*with, "hourly", osprey, m, true, {});
    std::cout << "hourly measure " << m << " without listed holidays: mean F1 best / default " << best
              << " / " << at_default << " with the built-in calendar, "
              << MeanF1(*without, "hourly", osprey, m, false, {}) << " / "
              << MeanF1(*without, "hourly", osprey, m, true, {}) << " without\n";
    // measured with the calendar, best / default: orders 0.499 / 0.455, revenue 0.486 / 0.433
    // (without it 0.217 / 0.189 and 0.191 / 0.164)
    EXPECT_GE(best, m == 0 ? 0.47 : 0.46) << "measure " << m;
    EXPECT_GE(at_default, m == 0 ? 0.43 : 0.41) << "measure " << m;
  }
}

}  // namespace
}  // namespace osprey::bench
