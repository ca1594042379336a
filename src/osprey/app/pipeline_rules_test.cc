// The rule detectors (detector and measure `rules`) in the pipeline, on a
// small generated warehouse: one hourly series with a daily cycle, copied to
// two measures, with a high value during the model's warm-up, a three-hour
// level shift, a spike and a dip. Each test compares what is stored with and
// without rules.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "osprey/app/pipeline.h"
#include "osprey/config/loader.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"
#include "osprey/connectors/source.h"

namespace osprey::app {
namespace {

class RulesPipelineTest : public ::testing::Test {
 protected:
  static constexpr int64_t kStart = 1735689600;  // 2025-01-01T00:00:00Z
  static constexpr int64_t kDays = 42;  // the model is ready after 4 weeks
  static int64_t At(int64_t day, int64_t hour) { return kStart + (day * 24 + hour) * 3600; }

  // One stored anomaly, as a user sees it.
  struct Found {
    std::string measure;
    int64_t ts = 0;
    std::string direction, explanation;
    double value = 0, severity = 0;
  };

  void SetUp() override {
    warehouse_ = dir_.File("w.db");
    // v and w: the same values, 700 .. 1300 over the day with the peak at 06:00.
    ASSERT_TRUE(testing::WriteHourlyWarehouse(warehouse_, kStart, kDays, {"v", "w"}, [](int64_t ts, double v) {
                  if (ts == At(2, 3)) v = 1600;  // while the model warms up (it needs 4 weeks)
                  if (ts >= At(31, 10) && ts <= At(31, 12)) v *= 1.7;  // a three-hour level shift
                  if (ts == At(34, 10)) v += 1500;                    // spike
                  if (ts == At(36, 10)) v -= 600;                     // dip
                  return v;
                }).ok());
  }
  // The detector with `tail` (detector-level keys such as a rules block)
  // appended and `measures` as its measure list.
  config::Detector Detector(const std::string& tail,
                            const std::string& measures = "[{name: v}, {name: w}]") {
    text_ = fmt::format(
        "name: rules\nfrequency: PT1H\nsource: {{type: sqlite, path: {}}}\n"
        "query: select ts as timestamp, v, w from t where ts >= {{{{interval_start}}}} and ts < "
        "{{{{interval_end}}}}\n"
        "measures: {}\n{}",
        warehouse_, measures, tail);
    auto d = config::LoadDetector(text_, "rules.yaml");
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : config::Detector{};
  }

  std::unique_ptr<store::Store> OpenStore(const std::string& name) {
    return std::move(store::OpenSqliteStore(dir_.File(name + ".db"))).value();
  }

  // Runs [from, to) with a new runner (so nothing is kept in memory from an
  // earlier run), `chunk` intervals per transaction.
  void RunRange(const config::Detector& d, store::Store& store, int64_t from, int64_t to,
                int64_t chunk = 24) {
    auto source = *connectors::OpenSource(d);
    auto runner = DetectorRunner::Create(d, text_, store, *source);
    ASSERT_TRUE(runner.ok()) << runner.status().ToString();
    RunOptions o;
    o.chunk_intervals = chunk;
    Status s = (*runner)->Run(FromUnixSeconds(from), FromUnixSeconds(to), o, nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<Found> Anomalies(store::Store& store) {
    std::vector<Found> out;
    store::GroupQuery q;
    q.limit = 1 << 30;
    q.newest_first = false;
    for (const auto& g : *store.ListGroups(q)) {
      for (const auto& a : *store.ListAnomalies(g.id)) {
        out.push_back({a.measure, a.ts, a.direction, a.explanation, a.value, a.severity});
      }
    }
    return out;
  }

  // Runs the whole warehouse in a fresh store and returns its anomalies.
  std::vector<Found> RunAll(const config::Detector& d, const std::string& name) {
    auto store = OpenStore(name);
    RunRange(d, *store, kStart, At(kDays, 0));
    return Anomalies(*store);
  }

  // Everything stored that a user can see, as text.
  std::vector<std::string> Snapshot(store::Store& store, bool with_points) {
    std::vector<std::string> out;
    for (const Found& a : Anomalies(store)) {
      out.push_back(fmt::format("A {} {} {} {} {:.6f} {:.6f}", a.measure, a.ts, a.direction,
                                a.explanation, a.value, a.severity));
    }
    if (!with_points) return out;
    auto detector = *store.GetDetector("rules");
    for (const auto& s : *store.ListSeries(detector.id)) {
      for (const auto& p : *store.ListPoints(s.id, 0, 1LL << 40)) {
        out.push_back(fmt::format("P {} {} {} {} {} {}", s.label, p.ts, p.value.value_or(-1),
                                  p.expected.value_or(-1), p.upper.value_or(-1),
                                  p.severity.value_or(-1)));
      }
    }
    return out;
  }

  static const Found* Find(const std::vector<Found>& found, const std::string& measure, int64_t ts) {
    for (const Found& f : found) {
      if (f.measure == measure && f.ts == ts) return &f;
    }
    return nullptr;
  }

  static std::set<int64_t> Times(const std::vector<Found>& found, const std::string& measure) {
    std::set<int64_t> out;
    for (const Found& f : found) {
      if (f.measure == measure) out.insert(f.ts);
    }
    return out;
  }

  testing::TempDir dir_{"osprey_rules_"};
  std::string warehouse_;
  std::string text_;
};

TEST_F(RulesPipelineTest, MaxThresholdFlagsWhatTheModelDoesNotAndDuringWarmUp) {
  const auto model = RunAll(Detector(""), "model");
  const auto rules = RunAll(Detector("rules: {max: 1250}\n"), "rules");
  // The model is still warming up on day 2 and finds a daily peak normal.
  EXPECT_EQ(Find(model, "v", At(2, 3)), nullptr);
  EXPECT_EQ(Find(model, "v", At(30, 6)), nullptr);
  for (int64_t ts : {At(2, 3), At(30, 6)}) {
    const Found* f = Find(rules, "v", ts);
    ASSERT_NE(f, nullptr) << ts;
    EXPECT_EQ(f->explanation, "threshold");
    EXPECT_EQ(f->direction, "up");
    EXPECT_GE(f->severity, 50);
  }
  // The model's findings stay (combine: max).
  ASSERT_NE(Find(model, "v", At(36, 10)), nullptr);
  const Found* dip = Find(rules, "v", At(36, 10));
  ASSERT_NE(dip, nullptr);
  EXPECT_EQ(dip->direction, "down");
  EXPECT_NE(dip->explanation, "threshold");
}

TEST_F(RulesPipelineTest, DirectionDownSuppressesTheModelsUpAnomalies) {
  const auto model = RunAll(Detector(""), "model");
  const auto down = RunAll(Detector("rules: {direction: down}\n"), "down");
  const Found* spike = Find(model, "v", At(34, 10));
  ASSERT_NE(spike, nullptr);
  EXPECT_EQ(spike->direction, "up");
  ASSERT_NE(Find(model, "v", At(36, 10)), nullptr);

  EXPECT_EQ(Find(down, "v", At(34, 10)), nullptr);
  const Found* dip = Find(down, "v", At(36, 10));
  ASSERT_NE(dip, nullptr);
  EXPECT_EQ(dip->direction, "down");
  for (const Found& f : down) EXPECT_EQ(f.direction, "down") << f.measure << " " << f.ts;
}

TEST_F(RulesPipelineTest, ChangePercentComparesWithTheValueNIntervalsBack) {
  // Against the same hour yesterday: the whole shift, the spike and the dip,
  // and the return to normal the day after each of the latter two.
  const auto day = RunAll(
      Detector("rules: {change_percent: 50, change_intervals: 24, combine: rules_only}\n"), "day");
  EXPECT_EQ(Times(day, "v"),
            (std::set<int64_t>{At(31, 10), At(31, 11), At(31, 12), At(34, 10), At(35, 10),
                               At(36, 10), At(37, 10)}));
  for (const Found& f : day) EXPECT_EQ(f.explanation, "change");
  EXPECT_EQ(Find(day, "v", At(35, 10))->direction, "down");
  EXPECT_EQ(Find(day, "v", At(37, 10))->direction, "up");
  // Against the hour before: only the first hour of the shift, and the
  // hours into and out of the spike and the dip.
  const auto hour = RunAll(Detector("rules: {change_percent: 50, combine: rules_only}\n"), "hour");
  EXPECT_EQ(Times(hour, "v"),
            (std::set<int64_t>{At(31, 10), At(34, 10), At(34, 11), At(36, 10), At(36, 11)}));
}

TEST_F(RulesPipelineTest, CombineBothNeedsTheModelAndARule) {
  const auto model = RunAll(Detector(""), "model");
  const auto both = RunAll(Detector("rules: {max: 1250, combine: both}\n"), "both");
  EXPECT_NE(Find(both, "v", At(34, 10)), nullptr) << "the spike: model and rule agree";
  ASSERT_NE(Find(model, "v", At(36, 10)), nullptr);
  EXPECT_EQ(Find(both, "v", At(36, 10)), nullptr) << "the dip: the model alone";
  EXPECT_EQ(Find(both, "v", At(30, 6)), nullptr) << "a daily peak: the rule alone";
  EXPECT_EQ(Find(both, "v", At(2, 3)), nullptr) << "warm-up: the rule alone";
  for (const Found& f : both) {
    EXPECT_GT(f.value, 1250) << f.ts;
    EXPECT_NE(Find(model, f.measure, f.ts), nullptr) << f.ts;
  }
}

TEST_F(RulesPipelineTest, MeasureRulesOverrideTheDetectorsPerField) {
  const auto found = RunAll(Detector("rules: {max: 1250, combine: rules_only}\n",
                                     "[{name: v}, {name: w, rules: {max: 2000}}]"),
                            "override");
  // v: the detector's max; w (the same data): its own, still rules_only.
  EXPECT_NE(Find(found, "v", At(30, 6)), nullptr);
  EXPECT_EQ(Find(found, "w", At(30, 6)), nullptr);
  EXPECT_EQ(Times(found, "w"), std::set<int64_t>{At(34, 10)});
  EXPECT_GT(Times(found, "v").size(), 10u);

  // A measure's own model sensitivity: w (the same data as v) scores every
  // point lower.
  auto store = OpenStore("sensitivity");
  RunRange(Detector("", "[{name: v}, {name: w, sensitivity: 5}]"), *store, kStart, At(kDays, 0));
  std::map<std::string, std::vector<store::PointRecord>> points;
  for (const auto& s : *store->ListSeries(store->GetDetector("rules")->id)) {
    points[s.measure] = *store->ListPoints(s.id, 0, 1LL << 40);
  }
  ASSERT_EQ(points["v"].size(), points["w"].size());
  int lower = 0;
  for (size_t i = 0; i < points["v"].size(); ++i) {
    const auto& v = points["v"][i];
    const auto& w = points["w"][i];
    ASSERT_EQ(v.severity.has_value(), w.severity.has_value());
    if (!v.severity) continue;
    EXPECT_LE(*w.severity, *v.severity) << v.ts;
    if (*w.severity < *v.severity) ++lower;
  }
  EXPECT_GT(lower, 0);  // the events (a normal point scores 0 either way)
}

TEST_F(RulesPipelineTest, ReRunsAreIdenticalAndHistoryCarriesAcrossRuns) {
  const config::Detector d = Detector(
      "rules: {change_percent: 50, change_intervals: 24, max: 1250, combine: max}\n");
  auto one = OpenStore("one");
  RunRange(d, *one, kStart, At(kDays, 0));
  const auto once = Snapshot(*one, true);
  // The day after the spike: a change (down) against the day before.
  const Found* after = Find(Anomalies(*one), "v", At(35, 10));
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->explanation, "change");
  EXPECT_EQ(after->direction, "down");

  // Piece by piece, a new runner (nothing in memory) for every interval
  // around the events: the change rule reads the past from the store.
  auto pieces = OpenStore("pieces");
  RunRange(d, *pieces, kStart, At(30, 0));
  for (int64_t t = At(30, 0); t < At(38, 0); t += 3600) RunRange(d, *pieces, t, t + 3600, 1);
  RunRange(d, *pieces, At(38, 0), At(kDays, 0));
  EXPECT_EQ(Snapshot(*pieces, true), once);

  // Replaying from scratch gives the same results.
  ASSERT_TRUE(one->ResetFrom(one->GetDetector("rules")->id, kStart).ok());
  RunRange(d, *one, kStart, At(kDays, 0));
  EXPECT_EQ(Snapshot(*one, true), once);

  // Re-running days on top of the stored state replaces their anomalies with
  // the same ones (the rules need no model state; a rule-only verdict does
  // not change).
  const auto anomalies = Snapshot(*one, false);
  RunRange(
      Detector("rules: {change_percent: 50, change_intervals: 24, combine: rules_only}\n"), *one,
      kStart, At(kDays, 0));
  const auto rules_only = Snapshot(*one, false);
  RunRange(
      Detector("rules: {change_percent: 50, change_intervals: 24, combine: rules_only}\n"), *one,
      At(31, 0), At(38, 0), 1);
  EXPECT_EQ(Snapshot(*one, false), rules_only);
  EXPECT_NE(rules_only, anomalies);
}

}  // namespace
}  // namespace osprey::app
