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
#include "osprey/connectors/source.h"
#include "osprey/connectors/sqlite_source.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey::app {
namespace {

class RulesPipelineTest : public ::testing::Test {
 protected:
  static constexpr int64_t kStart = 1735689600;  // 2025-01-01T00:00:00Z
  static constexpr int64_t kDays = 42;           // the model is ready after 4 weeks
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
    ASSERT_TRUE(
        testing::WriteHourlyWarehouse(warehouse_, kStart, kDays, {"v", "w"}, [](int64_t ts, double v) {
          if (ts == At(2, 3)) v = 1600;                        // while the model warms up (it needs 4 weeks)
          if (ts >= At(31, 10) && ts <= At(31, 12)) v *= 1.7;  // a three-hour level shift
          if (ts == At(34, 10)) v += 1500;                     // spike
          if (ts == At(36, 10)) v -= 600;                      // dip
          return v;
        }).ok());
  }
  // The detector with `tail` (detector-level keys such as a rules block)
  // appended and `measures` as its measure list.
  config::Detector Detector(const std::string& tail, const std::string& measures = "[{name: v}, {name: w}]") {
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
    auto runner = DetectorRunner::Create(d, text_, store, *source, {}, resident_models_);
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
      out.push_back(fmt::format("A {} {} {} {} {:.6f} {:.6f}", a.measure, a.ts, a.direction, a.explanation,
                                a.value, a.severity));
    }
    if (!with_points) return out;
    auto detector = *store.GetDetector("rules");
    for (const auto& s : *store.ListSeries(detector.id)) {
      for (const auto& p : *store.ListPoints(s.id, 0, 1LL << 40)) {
        out.push_back(fmt::format("P {} {} {} {} {} {}", s.label, p.ts, p.value.value_or(-1),
                                  p.expected.value_or(-1), p.upper.value_or(-1), p.severity.value_or(-1)));
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
  int64_t resident_models_ = kResidentModels;  // RunRange's runners (0: always paged)
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
  const auto day =
      RunAll(Detector("rules: {change_percent: 50, change_intervals: 24, combine: rules_only}\n"), "day");
  EXPECT_EQ(Times(day, "v"), (std::set<int64_t>{At(31, 10), At(31, 11), At(31, 12), At(34, 10), At(35, 10),
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
  const auto found = RunAll(
      Detector("rules: {max: 1250, combine: rules_only}\n", "[{name: v}, {name: w, rules: {max: 2000}}]"),
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

// The rules whose history must carry across runs and chunks: a change of
// 50 % against 24 intervals before, and a maximum.
constexpr const char* kChangeRules =
    "rules: {change_percent: 50, change_intervals: 24, max: 1250, combine: max}\n";

TEST_F(RulesPipelineTest, ReRunsAreIdenticalAndHistoryCarriesAcrossRuns) {
  const config::Detector d = Detector(kChangeRules);
  auto one = OpenStore("one");
  RunRange(d, *one, kStart, At(kDays, 0));
  const auto once = Snapshot(*one, true);
  // The day after the spike: a change (down) against the day before.
  const std::vector<Found> found = Anomalies(*one);  // `after` points into it
  const Found* after = Find(found, "v", At(35, 10));
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
  RunRange(Detector("rules: {change_percent: 50, change_intervals: 24, combine: rules_only}\n"), *one, kStart,
           At(kDays, 0));
  const auto rules_only = Snapshot(*one, false);
  RunRange(Detector("rules: {change_percent: 50, change_intervals: 24, combine: rules_only}\n"), *one,
           At(31, 0), At(38, 0), 1);
  EXPECT_EQ(Snapshot(*one, false), rules_only);
  EXPECT_NE(rules_only, anomalies);
}

TEST_F(RulesPipelineTest, PagedRunnersScoreExactlyAsRunnersWithEveryModelInMemory) {
  // A runner with too many series for its models to stay in memory reads
  // them from the store a block at a time in each chunk's commit; the
  // scores, the rules' look-back and the saved states are the same.
  const config::Detector d = Detector(kChangeRules);
  auto resident = OpenStore("resident");
  RunRange(d, *resident, kStart, At(kDays, 0));
  const auto expected = Snapshot(*resident, true);
  const auto states = *resident->LoadModelStates(resident->GetDetector("rules")->id);
  ASSERT_EQ(states.size(), 2u);

  resident_models_ = 0;
  auto paged = OpenStore("paged");
  RunRange(d, *paged, kStart, At(30, 0));  // a new detector: paged from its first interval
  for (int64_t t = At(30, 0); t < At(32, 0); t += 3600) RunRange(d, *paged, t, t + 3600, 1);
  RunRange(d, *paged, At(32, 0), At(kDays, 0), 48);
  EXPECT_EQ(Snapshot(*paged, true), expected);
  EXPECT_EQ(*paged->LoadModelStates(paged->GetDetector("rules")->id), states);

  // Resident runners until day 20, paged ones after (reading the states the
  // resident ones saved), and the other way round.
  auto mixed = OpenStore("mixed");
  resident_models_ = kResidentModels;
  RunRange(d, *mixed, kStart, At(20, 0));
  resident_models_ = 0;
  RunRange(d, *mixed, At(20, 0), At(33, 0), 5);
  resident_models_ = kResidentModels;
  RunRange(d, *mixed, At(33, 0), At(kDays, 0));
  EXPECT_EQ(Snapshot(*mixed, true), expected);
  EXPECT_EQ(*mixed->LoadModelStates(mixed->GetDetector("rules")->id), states);
}

// The local clock in New York across the 2024 changes (10 March, 3 November):
// a warehouse with one row per hour whose value depends on the local hour
// only (1000 on even hours, 2000 on odd ones, 4000 at 09:00), so anything
// keyed on the wrong hour sees a change of at least 50%.
class LocalClockPipelineTest : public RulesPipelineTest {
 protected:
  static constexpr int64_t kMarch = 1705294800;        // 2024-01-15T05:00:00Z, local midnight
  static constexpr int64_t kMarchEnd = 1711339200;     // 2024-03-25T04:00:00Z
  static constexpr int64_t kNovember = 1729396800;     // 2024-10-20T04:00:00Z
  static constexpr int64_t kNovemberEnd = 1731819600;  // 2024-11-17T05:00:00Z

  static int64_t LocalHour(int64_t ts) {
    static const TimeZone ny = *TimeZone::Load("America/New_York");
    return ((ny.ToLocal(FromUnixSeconds(ts)) % 86400) + 86400) % 86400 / 3600;
  }
  static double Pattern(int64_t ts) {
    const int64_t h = LocalHour(ts);
    return h == 9 ? 4000 : (h % 2 == 0 ? 1000 : 2000);
  }

  void SetUp() override {
    warehouse_ = dir_.File("ny.db");
    auto db = connectors::SqliteWriter::Open(warehouse_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Execute("create table t(ts integer not null, v real, w real)").ok());
    std::vector<std::vector<Cell>> rows;
    uint32_t rng = 12345;
    for (auto [from, to] : {std::pair{kMarch, kMarchEnd}, std::pair{kNovember, kNovemberEnd}}) {
      for (int64_t ts = from; ts < to; ts += 3600) {
        rng = rng * 1664525u + 1013904223u;
        const double noise = (static_cast<double>(rng >> 8) / 16777216.0 - 0.5) * 20;
        double v = Pattern(ts) + noise;
        if (ts == kSpike) v *= 3;
        rows.push_back({Cell::Integer(ts), Cell::Real(v), Cell::Real(v)});
      }
    }
    ASSERT_TRUE((*db)->InsertRows("insert into t values (?, ?, ?)", rows).ok());
  }

  config::Detector NewYork(const std::string& tail) {
    return Detector("timezone: America/New_York\ntimestamp: {format: epoch}\n" + tail);
  }

  // 2024-03-12 14:00 EDT: three times the usual value.
  static constexpr int64_t kSpike = 1710266400;
};

TEST_F(LocalClockPipelineTest, ModelComparesTheSameLocalHourInStandardAndSummerTime) {
  const config::Detector d = NewYork("");
  auto store = OpenStore("model");
  RunRange(d, *store, kMarch, kMarchEnd);
  // Every point is on the local hour; 09:00 EDT is expected to be what 09:00
  // EST was (4000), the hour before and after what they were.
  auto detector = *store->GetDetector("rules");
  int checked = 0;
  for (const auto& s : *store->ListSeries(detector.id)) {
    for (const auto& p : *store->ListPoints(s.id, kMarch, kMarchEnd)) {
      EXPECT_EQ(TimeZone::Load("America/New_York")->ToLocal(FromUnixSeconds(p.ts)) % 3600, 0);
      if (p.ts < 1710054000 || !p.expected) continue;  // from the spring change on
      EXPECT_NEAR(*p.expected, Pattern(p.ts), 0.05 * Pattern(p.ts)) << s.label << " " << p.ts;
      ++checked;
    }
  }
  EXPECT_GT(checked, 2 * 300);
  // Nothing is anomalous but the spike.
  for (const Found& f : Anomalies(*store)) EXPECT_EQ(f.ts, kSpike) << f.measure;
  EXPECT_NE(Find(Anomalies(*store), "v", kSpike), nullptr);
}

TEST_F(LocalClockPipelineTest, ChangeRuleLooksBackWholeLocalDaysAcrossDst) {
  // Yesterday's and last week's same local hour, across both changes: only
  // the spike (and, a day or a week later, the return from it) is a change.
  // (02:00 the day and the week after the spring change has no same hour
  // back: no comparison.)
  auto run = [&](int64_t intervals, const std::string& name) {
    auto store = OpenStore(name);
    const config::Detector d = NewYork(
        fmt::format("rules: {{change_percent: 40, change_intervals: {}, combine: rules_only}}\n", intervals));
    RunRange(d, *store, kMarch, kMarchEnd);
    RunRange(d, *store, kNovember, kNovemberEnd);
    return Times(Anomalies(*store), "v");
  };
  EXPECT_EQ(run(24, "day"), (std::set<int64_t>{kSpike, kSpike + 86400}));
  EXPECT_EQ(run(168, "week"), (std::set<int64_t>{kSpike, kSpike + 7 * 86400}));
  // Not whole days: grid steps, so the hour before (every hour changes).
  EXPECT_GT(run(1, "hour").size(), 1000u);
}

}  // namespace
}  // namespace osprey::app
