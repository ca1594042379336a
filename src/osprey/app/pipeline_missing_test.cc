// Missing data in the pipeline (docs/configuration.md, "Missing data"): a
// missing leaf row is stored as missing and not scored (`missing: skip`), 0
// (`zero`) or the last value (`previous`); roll-ups follow the missing-share
// rule; an interval without any row is "no data" (not a dip) and can alert;
// a backtest without an end never scores past the data; warm-up progress is
// stored with every chunk. One hourly warehouse with four regions of known
// shares, a missing row of a large and of a tiny region, a 4-hour outage and
// data that ends two days before the run's end.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "osprey/app/backtest.h"
#include "osprey/app/pipeline.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/source.h"
#include "osprey/connectors/sqlite_source.h"
#include "osprey/testing/files.h"

namespace osprey::app {
namespace {

using nlohmann::json;

constexpr int64_t kStart = 1735689600;  // 2025-01-01T00:00:00Z
constexpr int64_t kDataDays = 40;       // rows exist for these days only
constexpr int64_t kRunDays = 42;        // runs that ask for more
int64_t At(int64_t day, int64_t hour) { return kStart + (day * 24 + hour) * 3600; }

const int64_t kLeafGap = At(33, 10);  // region b (30 % of the total) has no row
const int64_t kTinyGap = At(33, 14);  // region d (1 % of the total) has no row
const int64_t kOutageFrom = At(35, 8);
const int64_t kOutageTo = At(35, 12);  // no rows at all in [from, to): 4 intervals

struct Region {
  const char* name;
  double share;
};
constexpr Region kRegions[] = {{"a", 0.59}, {"b", 0.30}, {"c", 0.10}, {"d", 0.01}};

class MissingDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    warehouse_ = dir_.File("w.db");
    auto db = connectors::SqliteWriter::Open(warehouse_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Execute("create table t(ts text not null, region text not null, v real)").ok());
    TimestampFormat f = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss");
    std::vector<std::string> stamps;
    stamps.reserve(kDataDays * 24);
    std::vector<std::vector<Cell>> rows;
    uint32_t rng = 777;
    for (int64_t i = 0; i < kDataDays * 24; ++i) {
      const int64_t ts = kStart + i * 3600;
      stamps.push_back(f.Format(FromUnixSeconds(ts), TimeZone::Utc()));
      if (ts >= kOutageFrom && ts < kOutageTo) continue;
      const double level = 1000 + 300 * std::sin(2 * 3.14159265358979 * static_cast<double>(i % 24) / 24);
      for (const Region& r : kRegions) {
        if ((ts == kLeafGap && r.name[0] == 'b') || (ts == kTinyGap && r.name[0] == 'd')) continue;
        rng = rng * 1664525u + 1013904223u;
        const double noise = (static_cast<double>(rng >> 8) / 16777216.0 - 0.5) * 0.02;
        const double v = std::round(level * r.share * (1 + noise) * 100) / 100;
        values_[{r.name, ts}] = v;
        rows.push_back({Cell::Text(stamps.back()), Cell::Text(r.name), Cell::Real(v)});
      }
    }
    ASSERT_TRUE((*db)->InsertRows("insert into t values (?, ?, ?)", rows).ok());
  }

  config::Detector Detector(const std::string& missing, const std::string& tail = "") {
    text_ = fmt::format(
        "name: gaps\nfrequency: PT1H\nsource: {{type: sqlite, path: {}}}\n"
        "query: select ts as timestamp, region, v from t where ts >= {{{{interval_start}}}} and ts < "
        "{{{{interval_end}}}}\n"
        "dimensions: [region]\n"
        "measures: [{{name: v, aggregation: SUM{}}}]\n{}",
        warehouse_, missing.empty() ? "" : ", missing: " + missing, tail);
    auto d = config::LoadDetector(text_, "gaps.yaml");
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : config::Detector{};
  }

  std::unique_ptr<store::Store> OpenStore(const std::string& name) {
    return std::move(store::OpenSqliteStore(dir_.File(name + ".db"))).value();
  }

  RunStats RunRange(const config::Detector& d, store::Store& store, int64_t from, int64_t to,
                    bool alerts = false) {
    auto source = *connectors::OpenSource(d);
    auto runner = DetectorRunner::Create(d, text_, store, *source);
    EXPECT_TRUE(runner.ok()) << runner.status().ToString();
    RunOptions o;
    o.chunk_intervals = 24;
    o.alerts_enabled = alerts;
    RunStats stats;
    Status s = (*runner)->Run(FromUnixSeconds(from), FromUnixSeconds(to), o, &stats);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return stats;
  }

  // The stored point of the series with dimensions `dims` ("{}" for the
  // roll-up) at ts.
  std::optional<store::PointRecord> PointAt(store::Store& store, const std::string& dims, int64_t ts) {
    auto detector = *store.GetDetector("gaps");
    for (const auto& s : *store.ListSeries(detector.id)) {
      if (s.dims != dims) continue;
      auto points = *store.ListPoints(s.id, ts, ts + 1);
      if (!points.empty()) return points[0];
    }
    return std::nullopt;
  }
  static std::string Leaf(const char* region) { return fmt::format("{{\"region\":\"{}\"}}", region); }

  double Value(const char* region, int64_t ts) const { return values_.at({region, ts}); }
  double SumExcept(char region, int64_t ts) const {
    double sum = 0;
    for (const Region& r : kRegions) {
      if (r.name[0] != region) sum += values_.at({r.name, ts});
    }
    return sum;
  }

  std::vector<store::GroupRecord> Groups(store::Store& store) {
    store::GroupQuery q;
    q.limit = 1 << 30;
    q.newest_first = false;
    return *store.ListGroups(q);
  }

  json Details(store::Store& store, int64_t ts) {
    auto detector = *store.GetDetector("gaps");
    auto rows = *store.ListQuality(detector.id, ts, ts + 1);
    EXPECT_EQ(rows.size(), 1u);
    return rows.empty() ? json() : json::parse(rows[0].details);
  }

  testing::TempDir dir_{"osprey_missing_"};
  std::string warehouse_;
  std::string text_;
  std::map<std::pair<std::string, int64_t>, double> values_;
};

TEST_F(MissingDataTest, SkippedLeafIsStoredAsMissingAndNotScored) {
  auto store = OpenStore("skip");
  RunRange(Detector(""), *store, kStart, At(kDataDays, 0));  // skip is the default
  auto b = PointAt(*store, Leaf("b"), kLeafGap);
  ASSERT_TRUE(b.has_value()) << "a missing point is stored (as missing)";
  EXPECT_FALSE(b->value.has_value()) << "a missing value is not a zero";
  EXPECT_FALSE(b->expected.has_value());
  EXPECT_FALSE(b->severity.has_value());
  // b carried 30 % of the total: the roll-up of the present leaves would be a
  // false dip, so it is missing too.
  auto all = PointAt(*store, "{}", kLeafGap);
  ASSERT_TRUE(all.has_value());
  EXPECT_FALSE(all->value.has_value());
  for (const auto& g : Groups(*store)) EXPECT_NE(g.ts, kLeafGap) << "nothing is flagged for a missing row";
  EXPECT_EQ(Details(*store, kLeafGap).is_object(), true);
  auto detector = *store->GetDetector("gaps");
  auto q = *store->ListQuality(detector.id, kLeafGap, kLeafGap + 1);
  EXPECT_EQ(q[0].series_missing, 2);  // b and the roll-up
  EXPECT_EQ(q[0].series_seen, 3);

  // d carried 1 %: the roll-up stays, computed from the present leaves, and
  // is scored (the model is past its 4 weeks of warm-up).
  auto d = PointAt(*store, Leaf("d"), kTinyGap);
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->value.has_value());
  auto total = PointAt(*store, "{}", kTinyGap);
  ASSERT_TRUE(total.has_value() && total->value.has_value());
  EXPECT_NEAR(*total->value, SumExcept('d', kTinyGap), 1e-6);
  EXPECT_TRUE(total->severity.has_value());
  EXPECT_LT(*total->severity, 50) << "1 % less is no anomaly";
}

TEST_F(MissingDataTest, ZeroPolicyStoresAndScoresZero) {
  auto store = OpenStore("zero");
  RunRange(Detector("zero"), *store, kStart, At(kDataDays, 0));
  auto b = PointAt(*store, Leaf("b"), kLeafGap);
  ASSERT_TRUE(b.has_value() && b->value.has_value());
  EXPECT_EQ(*b->value, 0);
  ASSERT_TRUE(b->severity.has_value());
  EXPECT_GE(*b->severity, 50) << "absence declared as zero is a real dip";
  auto all = PointAt(*store, "{}", kLeafGap);
  ASSERT_TRUE(all.has_value() && all->value.has_value());
  EXPECT_NEAR(*all->value, SumExcept('b', kLeafGap), 1e-6);
  // Every measure says absence is zero: an interval without rows is zeros.
  auto outage = PointAt(*store, Leaf("a"), kOutageFrom);
  ASSERT_TRUE(outage.has_value() && outage->value.has_value());
  EXPECT_EQ(*outage->value, 0);
}

TEST_F(MissingDataTest, PreviousPolicyRepeatsTheLastValue) {
  auto store = OpenStore("previous");
  // Interval by interval in separate runs around the gap: the last value is
  // read back from the store, not only kept in memory.
  auto d = Detector("previous");
  RunRange(d, *store, kStart, kLeafGap);
  RunRange(d, *store, kLeafGap, At(kDataDays, 0));
  auto b = PointAt(*store, Leaf("b"), kLeafGap);
  ASSERT_TRUE(b.has_value() && b->value.has_value());
  EXPECT_EQ(*b->value, Value("b", kLeafGap - 3600));
  EXPECT_TRUE(b->severity.has_value());
  auto all = PointAt(*store, "{}", kLeafGap);
  ASSERT_TRUE(all.has_value() && all->value.has_value());
  EXPECT_NEAR(*all->value, SumExcept('b', kLeafGap) + Value("b", kLeafGap - 3600), 1e-6);
}

TEST_F(MissingDataTest, OutageIsNoDataNotADip) {
  for (const std::string& policy : {std::string("skip"), std::string("previous")}) {
    SCOPED_TRACE(policy);
    auto store = OpenStore("outage_" + policy);
    RunStats stats = RunRange(Detector(policy), *store, kStart, At(kDataDays, 0));
    EXPECT_EQ(stats.no_data_intervals, 4);
    for (int64_t ts = kOutageFrom; ts < kOutageTo; ts += 3600) {
      for (const std::string& dims : {std::string("{}"), Leaf("a"), Leaf("b"), Leaf("c"), Leaf("d")}) {
        auto p = PointAt(*store, dims, ts);
        ASSERT_TRUE(p.has_value());
        EXPECT_FALSE(p->value.has_value()) << dims << " at " << ts;
        EXPECT_FALSE(p->severity.has_value());
      }
      EXPECT_EQ(Details(*store, ts).value("no_data", false), true);
    }
    EXPECT_FALSE(Details(*store, kOutageTo).contains("no_data"));
    for (const auto& g : Groups(*store)) {
      EXPECT_FALSE(g.ts >= kOutageFrom && g.ts < kOutageTo) << "a dip raised by an outage at " << g.ts;
    }
  }
}

TEST_F(MissingDataTest, NoDataAlertTriggersOnceAndResolvesWhenRowsReturn) {
  const std::string alert = "alerts:\n  - {name: feed, target_env: FEED_URL, no_data_after: 3}\n";
  auto d = Detector("", alert);
  auto store = OpenStore("alert");
  auto no_data_rows = [&] {
    std::vector<store::OutboxRecord> out;
    for (const auto& o : *store->ListOutbox({})) {
      if (store::IsNoDataKind(o.kind)) out.push_back(o);
    }
    return out;
  };
  RunRange(d, *store, kStart, At(kDataDays, 0), /*alerts=*/true);
  auto rows = no_data_rows();
  ASSERT_EQ(rows.size(), 2u);
  const int64_t id = store->GetDetector("gaps")->id;
  EXPECT_EQ(rows[0].kind, "no_data");
  EXPECT_EQ(rows[0].incident_ts, kOutageFrom);
  EXPECT_EQ(rows[0].created_at, kOutageFrom + 3 * 3600);  // the end of the third empty interval
  EXPECT_EQ(rows[0].group_id, 0);
  EXPECT_EQ(rows[0].idempotency_key, fmt::format("nodata.{}.feed.{}", id, kOutageFrom));
  EXPECT_EQ(rows[1].kind, "no_data_resolve");
  EXPECT_EQ(rows[1].incident_ts, kOutageFrom);
  EXPECT_EQ(rows[1].created_at, kOutageTo + 3600);  // the end of the first interval with rows
  EXPECT_EQ(rows[1].idempotency_key, fmt::format("nodata.{}.feed.{}.resolved", id, kOutageFrom));

  // Replaying the range sends nothing twice.
  ASSERT_TRUE(store->ResetFrom(id, kStart).ok());
  RunRange(d, *store, kStart, At(kDataDays, 0), true);
  EXPECT_EQ(no_data_rows().size(), 2u);

  // An outage shorter than no_data_after stays quiet.
  auto quiet = OpenStore("quiet");
  auto d5 = Detector("", "alerts:\n  - {name: feed, target_env: FEED_URL, no_data_after: 5}\n");
  RunRange(d5, *quiet, kStart, At(kDataDays, 0), true);
  for (const auto& o : *quiet->ListOutbox({})) EXPECT_FALSE(store::IsNoDataKind(o.kind));
}

TEST_F(MissingDataTest, BacktestWithoutEndStopsAfterTheLastRow) {
  auto store = OpenStore("backtest");
  BacktestRequest r;
  r.detector = Detector("");
  r.config_text = text_;
  r.from = FromUnixSeconds(kStart);
  r.now = FromUnixSeconds(At(kRunDays, 0));  // two days after the data ends
  auto stats = RunBacktest(r, *store);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_TRUE(stats->data_end.has_value());
  EXPECT_EQ(ToUnixSeconds(*stats->data_end), At(kDataDays, 0));
  EXPECT_EQ(stats->intervals, kDataDays * 24);
  const int64_t id = store->GetDetector("gaps")->id;
  EXPECT_EQ(*store->GetWatermark(id), At(kDataDays, 0));
  for (const auto& s : *store->ListSeries(id)) {
    EXPECT_TRUE(store->ListPoints(s.id, At(kDataDays, 0), At(kRunDays + 1, 0))->empty()) << s.label;
  }
  for (const auto& g : Groups(*store)) EXPECT_LT(g.ts, At(kDataDays, 0));
  // The outage inside the data is not mistaken for the end.
  EXPECT_EQ(stats->no_data_intervals, 4);

  // With an explicit end the run goes there, and the trailing intervals are
  // no data: stored as missing, never scored.
  auto explicit_end = OpenStore("backtest_to");
  r.to = FromUnixSeconds(At(kRunDays, 0));
  auto full = RunBacktest(r, *explicit_end);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->intervals, kRunDays * 24);
  EXPECT_EQ(full->no_data_intervals, 4 + 48);
  for (const auto& g : Groups(*explicit_end)) EXPECT_LT(g.ts, At(kDataDays, 0));
}

TEST_F(MissingDataTest, WarmupProgressIsStoredWithEachChunk) {
  auto store = OpenStore("warmup");
  auto d = Detector("");
  RunRange(d, *store, kStart, At(2, 0));
  // The business model needs three days of hourly history (72 intervals);
  // after two days every series has seen 48.
  json w = Details(*store, At(2, 0) - 3600)["warmup"];
  ASSERT_TRUE(w.is_object()) << Details(*store, At(2, 0) - 3600).dump();
  EXPECT_EQ(w["series"], 5);
  EXPECT_EQ(w["series_warming"], 5);
  EXPECT_EQ(w["needed"], 3 * 24);
  EXPECT_EQ(w["seen"], 2 * 24);
  RunRange(d, *store, At(2, 0), At(4, 0));
  w = Details(*store, At(4, 0) - 3600)["warmup"];
  EXPECT_EQ(w["series_warming"], 0);
}

}  // namespace
}  // namespace osprey::app
