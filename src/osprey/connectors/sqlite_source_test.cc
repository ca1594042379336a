#include "osprey/connectors/sqlite_source.h"

#include "osprey/connectors/collect_rows.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace osprey::connectors {
namespace {

using CollectRows = CollectedRows;

class SqliteSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() / ("osprey_src_" + std::to_string(::getpid()) + ".db"))
                .string();
    std::filesystem::remove(path_);
    auto w = *SqliteWriter::Open(path_);
    ASSERT_TRUE(w->Execute("create table t(ts text, name text, v real)").ok());
    std::vector<std::vector<Cell>> rows;
    const char* names[] = {"a", "b", "x' or '1'='1"};
    for (int h = 0; h < 3; ++h) {
      std::string ts = "2020-10-01 0" + std::to_string(h) + ":00:00";
      stamps_.push_back(ts);
    }
    for (int h = 0; h < 3; ++h) {
      rows.push_back({Cell::Text(stamps_[h]), Cell::Text(names[h]), Cell::Real(1.5 * h)});
    }
    ASSERT_TRUE(w->InsertRows("insert into t values (?, ?, ?)", rows).ok());
  }
  void TearDown() override { std::filesystem::remove(path_); }

  SqliteSourceOptions Options(std::string query) {
    return {path_, std::move(query), *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss"), TimeZone::Utc(), 30};
  }
  QueryRange Range(int from_hour, int to_hour) {
    return {FromUnixSeconds(1601510400 + from_hour * 3600), FromUnixSeconds(1601510400 + to_hour * 3600)};
  }

  std::string path_;
  std::vector<std::string> stamps_;
};

TEST_F(SqliteSourceTest, BindsIntervalBoundsAsParameters) {
  auto src = *SqliteSource::Open(
      Options("select ts, name, v from t where ts >= {{interval_start}} and ts < {{interval_end}}"));
  CollectRows rows;
  ASSERT_TRUE(src->Query(Range(1, 2), rows).ok());
  EXPECT_EQ(rows.columns, (std::vector<std::string>{"ts", "name", "v"}));
  ASSERT_EQ(rows.rows.size(), 1u);
  EXPECT_EQ(rows.rows[0][0], "2020-10-01 01:00:00");
  EXPECT_EQ(rows.rows[0][1], "b");
}

TEST_F(SqliteSourceTest, ValueWithQuotesCannotChangeTheQuery) {
  // The bound values are the interval bounds; a data value with quotes is
  // returned as data, and a query that compares with it stays a comparison.
  auto src = *SqliteSource::Open(
      Options("select name from t where ts >= {{interval_start}} and ts < {{interval_end}} order by ts"));
  CollectRows rows;
  ASSERT_TRUE(src->Query(Range(0, 3), rows).ok());
  ASSERT_EQ(rows.rows.size(), 3u);
  EXPECT_EQ(rows.rows[2][0], "x' or '1'='1");
  // A bound value formatted with quotes in it cannot break out either.
  SqliteSourceOptions o = Options("select count(*) from t where ts >= {{interval_start}}");
  o.bind_format = *TimestampFormat::Parse("yyyy-MM-dd' or ''1''=''1'");
  auto quoted = *SqliteSource::Open(o);
  CollectRows count;
  ASSERT_TRUE(quoted->Query(Range(0, 3), count).ok());
  ASSERT_EQ(count.rows.size(), 1u);
  // '2020-10-01 or '1'='1' sorts after every stored stamp: nothing matches.
  EXPECT_EQ(count.rows[0][0], "i:0");
}

TEST_F(SqliteSourceTest, ClearErrors) {
  auto missing = SqliteSource::Open(
      {"/nonexistent/x.db", "select 1", *TimestampFormat::Parse("epoch"), TimeZone::Utc(), 30});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto bad = SqliteSource::Open(Options("select nope from t where ts >= {{interval_start}}"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no such column"), std::string::npos);
}

// A writer holding the warehouse locked is an outage (Unavailable, retried
// by the scheduler), not a broken query (InvalidArgument waits for a
// configuration change): found by the soak test, whose detectors stopped
// for good after a lock.
TEST_F(SqliteSourceTest, LockedDatabaseIsUnavailableNotABadQuery) {
  const std::string q = "select ts, name, v from t where ts >= {{interval_start}} and ts < {{interval_end}}";
  auto open_before = SqliteSource::Open(Options(q));
  ASSERT_TRUE(open_before.ok()) << open_before.status().ToString();
  auto writer = *SqliteWriter::Open(path_);
  ASSERT_TRUE(writer->Execute("begin exclusive").ok());
  ASSERT_TRUE(writer->Execute("insert into t values ('2020-10-01 05:00:00', 'c', 1)").ok());

  auto open_during = SqliteSource::Open(Options(q));
  ASSERT_FALSE(open_during.ok());
  EXPECT_EQ(open_during.status().code(), StatusCode::kUnavailable) << open_during.status().ToString();
  EXPECT_NE(open_during.status().message().find("locked"), std::string::npos)
      << open_during.status().ToString();
  CollectRows rows;
  const QueryRange range = Range(0, 3);
  Status queried = (*open_before)->Query(range, rows);
  EXPECT_EQ(queried.code(), StatusCode::kUnavailable) << queried.ToString();

  ASSERT_TRUE(writer->Execute("commit").ok());
  EXPECT_TRUE(SqliteSource::Open(Options(q)).ok());
  EXPECT_TRUE((*open_before)->Query(range, rows).ok());
}

}  // namespace
}  // namespace osprey::connectors
