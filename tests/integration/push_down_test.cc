// Push-down aggregation (connectors/push_down.h) against real databases: the
// same table in SQLite, PostgreSQL (timestamp and timestamptz columns) and
// MariaDB (DATETIME), read by detectors in Europe/Berlin (both 2024 DST
// changes, hourly and daily), Asia/Kolkata (+05:30: half-hour buckets) and
// UTC every 15 minutes. For each, the aggregates of every interval and
// combination of dimension values (sum, count, min, max of each measure) and
// the data-quality counts must be the same with push-down as with
// `push_down: false`, and the pushed path must really have aggregated in the
// database (fewer rows delivered, the aggregate columns present). Rows with
// NULL measures, NULL dimensions, filtered dimension values and hours
// without rows are in the data, and a weighted average (price weighted by
// items, some of them 0). Values are multiples of 1/4, so sums are exact in
// any order. Servers that are not installed are skipped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <random>

#include <fmt/format.h>

#include "osprey/config/loader.h"
#include "osprey/connectors/push_down.h"
#include "osprey/connectors/source.h"
#include "osprey/connectors/sqlite_source.h"
#include "osprey/ingest/aggregate.h"
#include "osprey/testing/db_servers.h"
#include "osprey/testing/files.h"

namespace osprey {
namespace {

constexpr const char* kEnv = "OSPREY_IT_PUSHDOWN_CONNECTION";

Instant At(const char* iso) { return *ParseInstant(iso, TimeZone::Utc()); }

// Around the 2024 changes of Europe/Berlin (31 March, 27 October).
struct Window {
  Instant from, to;
};
const Window kWindows[] = {{At("2024-03-29T00:00:00Z"), At("2024-04-02T00:00:00Z")},
                           {At("2024-10-25T00:00:00Z"), At("2024-10-29T00:00:00Z")}};

struct Row {
  Instant t;
  std::optional<std::string> region;  // NULL sometimes
  std::string channel;
  std::optional<double> revenue;  // NULL sometimes
  double orders;
};

std::vector<Row> MakeRows() {
  std::mt19937_64 rng(20241027);
  const char* regions[] = {"north", "south", "east"};
  const char* channels[] = {"web", "app", "shop"};
  std::vector<Row> rows;
  for (const Window& w : kWindows) {
    for (int64_t s = ToUnixSeconds(w.from); s < ToUnixSeconds(w.to);
         s += 5 + static_cast<int64_t>(rng() % 20)) {
      // Hours 5 and 6 UTC of every second day have no rows at all.
      if ((s / 86400) % 2 == 0 && (s / 3600) % 24 >= 5 && (s / 3600) % 24 < 7) continue;
      Row r;
      r.t = FromUnixSeconds(s);
      if (rng() % 50 != 0) r.region = regions[rng() % 3];
      r.channel = channels[rng() % 3];
      if (rng() % 20 != 0) r.revenue = static_cast<double>(rng() % 4000) / 4.0 - 100.0;
      r.orders = static_cast<double>(1 + rng() % 5);
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

const std::vector<Row>& Rows() {
  static const std::vector<Row> rows = MakeRows();
  return rows;
}

// A row's timestamp as text: naive Berlin wall clock, or UTC with "+00".
std::string Naive(Instant t, const TimeZone& zone) {
  static const TimestampFormat f = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss");
  return f.Format(t, zone);
}

const TimeZone& Berlin() {
  static const TimeZone z = *TimeZone::Load("Europe/Berlin");
  return z;
}

// What one interval holds, keyed by readable dimension values.
struct Leaf {
  double sum[4], count[4], min[4], max[4];
  bool operator==(const Leaf&) const = default;
};
struct Interval {
  std::map<std::string, Leaf> leaves;
  int64_t rows_read = 0, rows_rejected = 0, rows_filtered = 0;
  bool operator==(const Interval&) const = default;
};

// Counts what the source delivers before handing it to the aggregator.
class Counting final : public RowHandler {
 public:
  explicit Counting(RowHandler& to) : to_(to) {}
  Status OnColumns(const std::vector<std::string>& names) override {
    for (const auto& n : names) {
      if (n == kPushedRowsColumn) pushed = true;
    }
    return to_.OnColumns(names);
  }
  Status OnRow(const std::vector<Cell>& cells) override {
    ++rows;
    return to_.OnRow(cells);
  }
  bool pushed = false;
  int64_t rows = 0;

 private:
  RowHandler& to_;
};

struct Read {
  std::map<int64_t, Interval> intervals;
  int64_t delivered = 0;
  int queries = 0, pushed_queries = 0;
};

// Reads both windows in chunks of a day through OpenSource, aggregating as
// the pipeline does.
Result<Read> ReadAll(const config::Detector& d) {
  OSPREY_ASSIGN_OR_RETURN(IntervalGrid grid, IntervalGrid::Create(d.frequency, d.timezone));
  OSPREY_ASSIGN_OR_RETURN(auto source, connectors::OpenSource(d));
  Read out;
  for (const Window& w : kWindows) {
    Instant from = grid.Floor(w.from);
    while (from < w.to) {
      Instant to = from;
      for (int i = 0; i < 24 && to < w.to; ++i) to = grid.Next(to);
      ingest::SeriesCatalog catalog(d);
      ingest::Aggregator agg(d, grid, catalog, from, to);
      Counting counting(agg);
      OSPREY_RETURN_IF_ERROR(source->Query({from, to}, counting));
      out.delivered += counting.rows;
      ++out.queries;
      if (counting.pushed) ++out.pushed_queries;
      for (auto& [start, leaves] : agg.intervals()) {
        Interval& iv = out.intervals[ToUnixSeconds(start)];
        iv.rows_read += leaves.quality.rows_read;
        iv.rows_rejected += leaves.quality.rows_rejected;
        iv.rows_filtered += leaves.quality.rows_filtered;
        for (size_t leaf = 0; leaf < leaves.leaves.size(); ++leaf) {
          const int32_t* ids = leaves.leaves.Ids(leaf);
          const ingest::Aggregate* aggs = leaves.leaves.Aggregates(leaf);
          std::string key;
          for (size_t k = 0; k < leaves.leaves.dimensions(); ++k) key += catalog.Value(k, ids[k]) + "|";
          Leaf& l = iv.leaves[key];
          for (size_t m = 0; m < 4; ++m) {
            l.sum[m] = aggs[m].sum;
            l.count[m] = aggs[m].count;
            l.min[m] = aggs[m].min;
            l.max[m] = aggs[m].max;
          }
        }
      }
      from = to;
    }
  }
  return out;
}

struct Case {
  std::string name, frequency, zone;
  int64_t expect_bucket;  // the bucket push-down must use on these windows
};
const Case kCases[] = {{"berlin_hourly", "PT1H", "Europe/Berlin", 3600},
                       {"berlin_daily", "P1D", "Europe/Berlin", 3600},
                       {"kolkata_hourly", "PT1H", "Asia/Kolkata", 1800},
                       {"utc_15min", "PT15M", "UTC", 900}};

std::string Yaml(const Case& c, const std::string& type, const std::string& column, bool push_down,
                 const std::string& source_zone) {
  return fmt::format(R"(name: {}
frequency: {}
timezone: {}
source: {{type: {}, connection_env: {}, push_down: {}}}
query: |
  select {} as ts, region, channel, revenue, orders, revenue as price, orders - 1 as items from t
  where {} >= {{{{interval_start}}}} and {} < {{{{interval_end}}}}
timestamp: {{column: ts, format: "yyyy-MM-dd HH:mm:ss", timezone: {}}}
dimensions: [region, channel]
filters:
  - {{dimension: channel, values: [web, app]}}
measures:
  - {{name: revenue, aggregation: sum}}
  - {{name: orders, aggregation: avg}}
  - {{name: price, aggregation: avg, weight: items}}
  - {{name: items, aggregation: sum}}
)",
                     c.name, c.frequency, c.zone, type, kEnv, push_down ? "true" : "false", column, column,
                     column, source_zone);
}

class PushDownTest : public ::testing::Test {
 protected:
  void TearDown() override { ::unsetenv(kEnv); }

  // Reads every case both ways and compares.
  void ExpectSame(const std::string& what, const std::string& type, const std::string& connection,
                  const std::string& column, const std::string& source_zone) {
    ::setenv(kEnv, connection.c_str(), 1);
    for (const Case& c : kCases) {
      const std::string at = what + " " + c.name;
      auto pushed_d = config::LoadDetector(Yaml(c, type, column, true, source_zone), "pd.yaml");
      auto raw_d = config::LoadDetector(Yaml(c, type, column, false, source_zone), "raw.yaml");
      ASSERT_TRUE(pushed_d.ok() && raw_d.ok()) << pushed_d.status().ToString() << raw_d.status().ToString();
      for (const Window& w : kWindows) {
        EXPECT_EQ(connectors::ExactBucket(*pushed_d, w.from, w.to), c.expect_bucket) << at;
      }
      auto pushed = ReadAll(*pushed_d);
      auto raw = ReadAll(*raw_d);
      ASSERT_TRUE(pushed.ok()) << at << ": " << pushed.status().ToString();
      ASSERT_TRUE(raw.ok()) << at << ": " << raw.status().ToString();
      EXPECT_EQ(pushed->pushed_queries, pushed->queries) << at << ": some ranges were read row by row";
      EXPECT_EQ(raw->pushed_queries, 0) << at;
      EXPECT_EQ(raw->delivered, static_cast<int64_t>(Rows().size())) << at;
      EXPECT_LT(pushed->delivered * 2, raw->delivered) << at;
      ASSERT_EQ(pushed->intervals.size(), raw->intervals.size()) << at;
      int64_t rows = 0, empty = 0, rejected = 0, filtered = 0;
      for (const auto& [ts, iv] : raw->intervals) {
        auto it = pushed->intervals.find(ts);
        ASSERT_NE(it, pushed->intervals.end()) << at;
        EXPECT_TRUE(it->second == iv) << at << " interval " << FormatIso(FromUnixSeconds(ts)) << ": rows "
                                      << it->second.rows_read << " vs " << iv.rows_read << ", leaves "
                                      << it->second.leaves.size() << " vs " << iv.leaves.size();
        rows += iv.rows_read;
        rejected += iv.rows_rejected;
        filtered += iv.rows_filtered;
        if (iv.rows_read == 0) ++empty;
      }
      // The data exercises what it should.
      EXPECT_EQ(rows, static_cast<int64_t>(Rows().size())) << at;
      EXPECT_GT(rejected, 0) << at;
      EXPECT_GT(filtered, 0) << at;
      if (c.frequency != "P1D") {
        EXPECT_GT(empty, 0) << at;
      }
      std::fprintf(stderr, "%s: %zu intervals, %lld rows read row by row, %lld groups pushed down\n",
                   at.c_str(), raw->intervals.size(), static_cast<long long>(raw->delivered),
                   static_cast<long long>(pushed->delivered));
    }
  }
};

TEST_F(PushDownTest, SqliteGivesTheRowPathsAggregates) {
  testing::TempDir dir("osprey_it_pushdown_");
  auto w = connectors::SqliteWriter::Open(dir.File("w.db"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Execute("create table t(ts text, region text, channel text, revenue real, "
                            "orders integer)")
                  .ok());
  std::vector<std::vector<Cell>> cells;
  std::vector<std::string> keep;
  keep.reserve(Rows().size());
  for (const Row& r : Rows()) {
    keep.push_back(Naive(r.t, Berlin()));
    cells.push_back({Cell::Text(keep.back()), r.region ? Cell::Text(*r.region) : Cell::Null(),
                     Cell::Text(r.channel), r.revenue ? Cell::Real(*r.revenue) : Cell::Null(),
                     Cell::Integer(static_cast<int64_t>(r.orders))});
  }
  ASSERT_TRUE((*w)->InsertRows("insert into t values (?, ?, ?, ?, ?)", cells).ok());
  ExpectSame("sqlite naive Berlin", "sqlite", dir.File("w.db"), "ts", "Europe/Berlin");

  // A value that is not a number (the row path rejects its row): that range
  // is read row by row, with the same result.
  ASSERT_TRUE((*w)->Execute("update t set revenue = 'n/a' where rowid = 100").ok());
  ::setenv(kEnv, dir.File("w.db").c_str(), 1);
  auto pushed_d = config::LoadDetector(Yaml(kCases[0], "sqlite", "ts", true, "Europe/Berlin"), "pd.yaml");
  auto raw_d = config::LoadDetector(Yaml(kCases[0], "sqlite", "ts", false, "Europe/Berlin"), "raw.yaml");
  ASSERT_TRUE(pushed_d.ok() && raw_d.ok());
  auto pushed = ReadAll(*pushed_d);
  auto raw = ReadAll(*raw_d);
  ASSERT_TRUE(pushed.ok() && raw.ok());
  EXPECT_EQ(pushed->pushed_queries, pushed->queries - 1);
  EXPECT_TRUE(pushed->intervals == raw->intervals);
}

TEST_F(PushDownTest, PostgresGivesTheRowPathsAggregates) {
  auto pg = testing::PostgresServer::Start();
  if (!pg.ok() && pg.status().code() == StatusCode::kFailedPrecondition) {
    GTEST_SKIP() << pg.status().message();
  }
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  std::string text;
  for (const Row& r : Rows()) {
    text += fmt::format("{}\t{}+00\t{}\t{}\t{}\t{}\n", Naive(r.t, Berlin()), Naive(r.t, TimeZone::Utc()),
                        r.region ? *r.region : "\\N", r.channel,
                        r.revenue ? fmt::format("{}", *r.revenue) : "\\N", r.orders);
  }
  ASSERT_TRUE((*pg)
                  ->Execute("create table t(ts timestamp, tstz timestamptz, region text, channel text, "
                            "revenue double precision, orders int)")
                  .ok());
  ASSERT_TRUE((*pg)->CopyIn("t", text).ok());
  ExpectSame("postgres timestamp", "postgres", (*pg)->Dsn(), "ts", "Europe/Berlin");
  ExpectSame("postgres timestamptz", "postgres", (*pg)->Dsn(), "tstz", "Europe/Berlin");
}

TEST_F(PushDownTest, MariadbGivesTheRowPathsAggregates) {
  if (!testing::MariadbServer::Available()) GTEST_SKIP() << "MariaDB is not installed";
  auto my = testing::MariadbServer::Start();
  ASSERT_TRUE(my.ok()) << my.status().ToString();
  ASSERT_TRUE((*my)
                  ->Execute("create table t(ts datetime, region varchar(16), channel varchar(16), "
                            "revenue double, orders int)")
                  .ok());
  std::string values;
  auto flush = [&] {
    if (values.empty()) return;
    Status s = (*my)->Execute("insert into t values " + values);
    ASSERT_TRUE(s.ok()) << s.ToString();
    values.clear();
  };
  for (const Row& r : Rows()) {
    if (!values.empty()) values += ",";
    values += fmt::format("('{}', {}, '{}', {}, {})", Naive(r.t, Berlin()),
                          r.region ? "'" + *r.region + "'" : "NULL", r.channel,
                          r.revenue ? fmt::format("{}", *r.revenue) : "NULL", r.orders);
    if (values.size() > 100000) flush();
  }
  flush();
  ExpectSame("mariadb datetime", "mysql", (*my)->Url(), "ts", "Europe/Berlin");
}

TEST(PushDownPlan, SaysWhenAndWhy) {
  auto d = config::LoadDetector(R"(name: p
frequency: PT1H
source: {type: sqlite, path: x.db, push_down: true}
query: select ts, v from t where ts >= {{interval_start}} and ts < {{interval_end}};
timestamp: {column: ts, format: "dd/MM/yyyy HH:mm"}
measures: [{name: v}]
)",
                                "p.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  connectors::PushDownPlan plan = connectors::PlanPushDown(*d);
  EXPECT_FALSE(plan.enabled);
  EXPECT_NE(plan.reason.find("dd/MM/yyyy HH:mm"), std::string::npos) << plan.reason;
  d->timestamp_format = "yyyy-MM-dd HH:mm:ss";
  plan = connectors::PlanPushDown(*d);
  ASSERT_TRUE(plan.enabled) << plan.reason;
  EXPECT_EQ(plan.bucket_seconds, 3600);
  // The query keeps its placeholders (bound as parameters) and loses its ';'.
  EXPECT_NE(plan.sql.find("ts < {{interval_end}}\n) osprey_q"), std::string::npos) << plan.sql;
  EXPECT_NE(
      plan.sql.find(
          "GROUP BY CAST(((CAST(strftime('%s', osprey_q.ts) AS INTEGER)) + 62167219200) / 3600 AS INTEGER)"),
      std::string::npos)
      << plan.sql;
  d->source.push_down = false;
  EXPECT_FALSE(connectors::PlanPushDown(*d).enabled);
  // Unset: a sqlite source reads rows (in-process, where that is faster);
  // a postgres source pushes down.
  d->source.push_down.reset();
  plan = connectors::PlanPushDown(*d);
  EXPECT_FALSE(plan.enabled);
  EXPECT_NE(plan.reason.find("in-process"), std::string::npos) << plan.reason;
  d->source.type = config::SourceType::kPostgres;
  EXPECT_TRUE(connectors::PlanPushDown(*d).enabled);
  d->source.type = config::SourceType::kSqlite;
  d->source.push_down = true;
  d->frequency = *Duration::Parse("PT90S");
  EXPECT_FALSE(connectors::PlanPushDown(*d).enabled);
  // A weighted average sums value x weight and the weights of the rows
  // with a positive weight (what the row path gives is compared below).
  d->frequency = *Duration::Parse("PT1H");
  d->measures.push_back(d->measures[0]);
  d->measures[0].aggregation = config::Aggregation::kAvg;
  d->measures[0].weight = "w";
  d->measures[1].name = "w";
  plan = connectors::PlanPushDown(*d);
  ASSERT_TRUE(plan.enabled) << plan.reason;
  EXPECT_NE(plan.sql.find("SUM(CASE WHEN osprey_q.w > 0 THEN osprey_q.v * osprey_q.w END)"),
            std::string::npos)
      << plan.sql;
}

}  // namespace
}  // namespace osprey
