// Source time zone (timestamp.timezone) against real databases: a table whose
// naive timestamps are stored in UTC, four rows per UTC hour, over windows
// around both 2024 DST transitions of America/New_York (2024-03-10 and
// 2024-11-03). Hourly detectors on UTC, Asia/Tokyo (no DST) and New York time
// with `timestamp.timezone: UTC` and an unchanged query must read every row
// exactly once, each interval holding exactly the four rows of its own UTC
// hour: no interval with two hours of rows, none empty, and the fall-back's
// repeated local hour as two intervals with their own rows. SQLite always;
// PostgreSQL (timestamp and timestamptz columns) when it is installed.
// The New York figures assume the interval grid of docs/configuration.md:
// every interval on the local hour, none for spring-forward's missing hour,
// two for fall-back's repeated one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "osprey/config/loader.h"
#include "osprey/connectors/sqlite_source.h"
#include "osprey/store/store.h"
#include "osprey/testing/db_servers.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey {
namespace {

constexpr const char* kEnv = "OSPREY_IT_SRCTZ_CONNECTION";
constexpr int kRowsPerHour = 4;  // at :00, :15, :30 and :45

struct Window {
  Instant from, to;
};

Instant At(const char* iso) { return *ParseInstant(iso, TimeZone::Utc()); }

// Five days around each transition; whole UTC hours, so on the hourly grid
// of all three zones (whole-hour offsets).
const Window kWindows[] = {{At("2024-03-08T00:00:00Z"), At("2024-03-13T00:00:00Z")},
                           {At("2024-10-31T00:00:00Z"), At("2024-11-05T00:00:00Z")}};

struct Row {
  std::string ts;    // naive, UTC
  std::string tstz;  // with the offset, for a timestamptz column
  int64_t hour;      // Unix hours of the row's instant
};

std::vector<Row> TableRows() {
  static const TimestampFormat naive = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss");
  std::vector<Row> rows;
  for (const Window& w : kWindows) {
    for (Instant h = w.from; h < w.to; h += std::chrono::hours(1)) {
      for (int q = 0; q < kRowsPerHour; ++q) {
        const Instant t = h + std::chrono::minutes(15 * q);
        const std::string text = naive.Format(t, TimeZone::Utc());
        rows.push_back({text, text + "+00", ToUnixSeconds(h) / 3600});
      }
    }
  }
  return rows;
}

std::string DetectorYaml(const std::string& zone, const std::string& source_type, const std::string& column,
                         bool source_zone) {
  return fmt::format(R"(name: srctz
frequency: PT1H
timezone: {}
source: {{type: {}, connection_env: {}}}
query: >
  select {} as ts, n, h_min, h_max from t
  where {} >= {{{{interval_start}}}} and {} < {{{{interval_end}}}}
timestamp: {{column: ts, format: "yyyy-MM-dd HH:mm:ss"{}}}
measures:
  - {{name: n, aggregation: sum}}
  - {{name: h_min, aggregation: min}}
  - {{name: h_max, aggregation: max}}
)",
                     zone, source_type, kEnv, column, column, column, source_zone ? ", timezone: UTC" : "");
}

// One stored point of each measure per interval start.
struct IntervalValues {
  std::optional<double> n, h_min, h_max;
};

Result<std::map<int64_t, IntervalValues>> RunWindows(const config::Detector& d, const std::string& state) {
  OSPREY_ASSIGN_OR_RETURN(auto store, store::OpenStore(state));
  for (const Window& w : kWindows) {
    OSPREY_RETURN_IF_ERROR(testing::Backtest(d, *store, w.from, w.to).status());
  }
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord rec, store->GetDetector(d.name));
  OSPREY_ASSIGN_OR_RETURN(auto series, store->ListSeries(rec.id));
  std::map<int64_t, IntervalValues> out;
  for (const auto& s : series) {
    OSPREY_ASSIGN_OR_RETURN(auto points, store->ListPoints(s.id, 0, int64_t{1} << 40));
    for (const auto& p : points) {
      IntervalValues& v = out[p.ts];
      if (s.measure == "n") v.n = p.value;
      if (s.measure == "h_min") v.h_min = p.value;
      if (s.measure == "h_max") v.h_max = p.value;
    }
  }
  return out;
}

class SourceZoneTest : public ::testing::Test {
 protected:
  void TearDown() override { ::unsetenv(kEnv); }

  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("osprey_it_srctz_");
    auto w = connectors::SqliteWriter::Open(dir_->File("warehouse.db"));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Execute("create table t(ts text not null, n integer, h_min integer, "
                              "h_max integer); create index t_ts on t(ts)")
                    .ok());
    std::vector<std::vector<Cell>> cells;
    for (const Row& r : rows_) {
      cells.push_back({Cell::Text(r.ts), Cell::Integer(1), Cell::Integer(r.hour), Cell::Integer(r.hour)});
    }
    Status s = (*w)->InsertRows("insert into t values (?, ?, ?, ?)", cells);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static void TearDownTestSuite() {
    pg_.reset();
    delete dir_;
    dir_ = nullptr;
  }

  // Starts PostgreSQL with the same table once; null (and a skip reason) when
  // it is not installed.
  static testing::PostgresServer* Pg(std::string& skip) {
    if (!pg_tried_) {
      pg_tried_ = true;
      auto s = testing::PostgresServer::Start();
      if (!s.ok()) {
        if (s.status().code() != StatusCode::kFailedPrecondition) {
          ADD_FAILURE() << s.status().ToString();
        }
        pg_skip_ = s.status().message();
        return nullptr;
      }
      pg_ = std::move(s).value();
      std::string text;
      for (const Row& r : rows_) {
        text += fmt::format("{}\t{}\t1\t{}\t{}\n", r.ts, r.tstz, r.hour, r.hour);
      }
      Status st = pg_->Execute(
          "create table t(ts timestamp not null, tstz timestamptz not null, n int, "
          "h_min bigint, h_max bigint)");
      if (st.ok()) st = pg_->CopyIn("t", text);
      if (st.ok()) st = pg_->Execute("create index on t(ts); create index on t(tstz); analyze");
      if (!st.ok()) ADD_FAILURE() << "loading PostgreSQL: " << st.ToString();
    }
    skip = pg_skip_;
    return pg_.get();
  }

  static config::Detector Load(const std::string& yaml, const std::string& connection) {
    ::setenv(kEnv, connection.c_str(), 1);
    auto d = config::LoadDetector(yaml, "srctz.yaml");
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : config::Detector{};
  }

  // The figures every correct run has; `what` names the run in messages.
  static void ExpectEveryRowOnceInItsHour(const std::map<int64_t, IntervalValues>& got, const TimeZone& zone,
                                          const std::string& what) {
    int64_t intervals = 0, rows_read = 0;
    for (const Window& w : kWindows) intervals += (w.to - w.from) / std::chrono::hours(1);
    EXPECT_EQ(static_cast<int64_t>(got.size()), intervals) << what;
    for (const auto& [ts, v] : got) {
      const std::string at = what + " at " + FormatIso(FromUnixSeconds(ts));
      ASSERT_TRUE(v.n && v.h_min && v.h_max) << at;
      rows_read += static_cast<int64_t>(*v.n);
      // On the local hour (and so, with whole-hour offsets, the UTC hour).
      EXPECT_EQ(zone.ToLocal(FromUnixSeconds(ts)) % 3600, 0) << at;
      // Exactly the rows of the interval's own UTC hour: none shifted, none
      // from a second hour, none missing.
      EXPECT_EQ(*v.n, kRowsPerHour) << at;
      EXPECT_EQ(*v.h_min, static_cast<double>(ts / 3600)) << at;
      EXPECT_EQ(*v.h_max, static_cast<double>(ts / 3600)) << at;
    }
    EXPECT_EQ(rows_read, static_cast<int64_t>(rows_.size())) << what;
    std::fprintf(stderr, "%s: %lld intervals, %lld of %zu table rows read\n", what.c_str(),
                 static_cast<long long>(got.size()), static_cast<long long>(rows_read), rows_.size());
  }

  // New York: the local wall-clock hours of 2024-03-10 skip 02:00, those of
  // 2024-11-03 repeat 01:00 as two intervals (EDT, then EST), each with its
  // own hour of rows.
  static void ExpectNewYorkTransitions(const std::map<int64_t, IntervalValues>& got,
                                       const std::string& what) {
    const TimeZone ny = *TimeZone::Load("America/New_York");
    auto local_hours = [&](const char* from, const char* to) {
      std::vector<int64_t> hours;
      for (auto it = got.lower_bound(ToUnixSeconds(At(from)));
           it != got.end() && it->first < ToUnixSeconds(At(to)); ++it) {
        hours.push_back((ny.ToLocal(FromUnixSeconds(it->first)) / 3600) % 24);
      }
      return hours;
    };
    // 2024-03-10 00:00 EST = 05:00Z; 04:00 EDT = 08:00Z.
    EXPECT_EQ(local_hours("2024-03-10T05:00:00Z", "2024-03-10T08:00:00Z"), (std::vector<int64_t>{0, 1, 3}))
        << what;
    // 2024-11-03 00:00 EDT = 04:00Z; 02:00 EST = 07:00Z.
    EXPECT_EQ(local_hours("2024-11-03T04:00:00Z", "2024-11-03T07:00:00Z"), (std::vector<int64_t>{0, 1, 1}))
        << what;
    for (const char* first_and_second_one_am : {"2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z"}) {
      const int64_t ts = ToUnixSeconds(At(first_and_second_one_am));
      ASSERT_TRUE(got.count(ts)) << what << " " << first_and_second_one_am;
      EXPECT_EQ(got.at(ts).n, kRowsPerHour) << what << " " << first_and_second_one_am;
      EXPECT_EQ(got.at(ts).h_min, static_cast<double>(ts / 3600)) << what;
    }
  }

  // Runs a detector on each of `zones` over the table and checks the figures.
  void Run(std::initializer_list<const char*> zones, const std::string& source_type,
           const std::string& column, const std::string& connection, const std::string& label) {
    for (const char* zone : zones) {
      SCOPED_TRACE(zone);
      const config::Detector d = Load(DetectorYaml(zone, source_type, column, true), connection);
      const std::string what = fmt::format("{} {} detector", label, zone);
      auto got = RunWindows(d, dir_->File(fmt::format("state-{}-{}.db", label, next_state_++)));
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ExpectEveryRowOnceInItsHour(*got, d.timezone, what);
      if (std::string_view(zone) == "America/New_York") ExpectNewYorkTransitions(*got, what);
    }
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline const std::vector<Row> rows_ = TableRows();
  static inline std::unique_ptr<testing::PostgresServer> pg_;
  static inline bool pg_tried_ = false;
  static inline std::string pg_skip_;
  static inline int next_state_ = 0;
};

// Zones without DST: the source zone alone decides where each row goes.
TEST_F(SourceZoneTest, SqliteUtcStoredColumnInUtcAndTokyoDetectors) {
  Run({"UTC", "Asia/Tokyo"}, "sqlite", "ts", dir_->File("warehouse.db"), "sqlite");
}

TEST_F(SourceZoneTest, SqliteUtcStoredColumnInNewYorkDetectorAcrossBothTransitions) {
  Run({"America/New_York"}, "sqlite", "ts", dir_->File("warehouse.db"), "sqlite");
}

// Without timestamp.timezone the same table is read in the detector's zone:
// every row lands 4-5 hours off (what the source zone is for).
TEST_F(SourceZoneTest, SqliteNewYorkDetectorWithoutSourceZoneReadsRowsHoursOff) {
  const config::Detector d =
      Load(DetectorYaml("America/New_York", "sqlite", "ts", false), dir_->File("warehouse.db"));
  auto got = RunWindows(d, dir_->File("state-default-zone.db"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  int64_t own_hour = 0, shifted = 0, rows_read = 0;
  for (const auto& [ts, v] : *got) {
    if (v.n) rows_read += static_cast<int64_t>(*v.n);
    if (!v.h_min) continue;
    const int64_t off = ts / 3600 - static_cast<int64_t>(*v.h_min);
    (off == 0 ? own_hour : shifted) += 1;
    if (off != 0) {
      EXPECT_TRUE(off == 4 || off == 5) << FormatIso(FromUnixSeconds(ts)) << " " << off;
    }
  }
  EXPECT_EQ(own_hour, 0);
  EXPECT_GT(shifted, 200);
  std::fprintf(stderr,
               "without timestamp.timezone: %lld of %lld intervals shifted 4-5 h, %lld of %zu "
               "table rows read\n",
               static_cast<long long>(shifted), static_cast<long long>(got->size()),
               static_cast<long long>(rows_read), rows_.size());
}

#define REQUIRE_PG()                      \
  std::string skip;                       \
  testing::PostgresServer* pg = Pg(skip); \
  if (!pg) GTEST_SKIP() << skip;          \
  static_assert(true)

TEST_F(SourceZoneTest, PostgresTimestampColumnInUtcAndTokyoDetectors) {
  REQUIRE_PG();
  Run({"UTC", "Asia/Tokyo"}, "postgres", "ts", pg->Dsn(), "postgres-timestamp");
}

TEST_F(SourceZoneTest, PostgresTimestampColumnInNewYorkDetectorAcrossBothTransitions) {
  REQUIRE_PG();
  Run({"America/New_York"}, "postgres", "ts", pg->Dsn(), "postgres-timestamp");
}

// A timestamptz column with timestamp.timezone UTC: the session's zone is
// UTC, so its values and the bounds are unambiguous in every detector zone.
TEST_F(SourceZoneTest, PostgresTimestamptzColumnInUtcAndTokyoDetectors) {
  REQUIRE_PG();
  Run({"UTC", "Asia/Tokyo"}, "postgres", "tstz", pg->Dsn(), "postgres-timestamptz");
}

TEST_F(SourceZoneTest, PostgresTimestamptzColumnInNewYorkDetectorAcrossBothTransitions) {
  REQUIRE_PG();
  Run({"America/New_York"}, "postgres", "tstz", pg->Dsn(), "postgres-timestamptz");
}

}  // namespace
}  // namespace osprey
