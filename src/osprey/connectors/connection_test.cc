#include "osprey/connectors/connection.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "osprey/config/detector.h"

namespace osprey::connectors {
namespace {

TEST(ConnectionTest, ParsesAwsStyleJsonSecret) {
  auto p = ParseConnection(
      R"({"username":"u","password":"p w'\\","engine":"postgres","host":"db.example","port":5439,"db":"dev","sslmode":"require"})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->user, "u");
  EXPECT_EQ(p->password, "p w'\\");
  EXPECT_EQ(p->host, "db.example");
  EXPECT_EQ(p->port, 5439);
  EXPECT_EQ(p->database, "dev");
  EXPECT_EQ(p->params.at("sslmode"), "require");
  EXPECT_EQ(ToLibpqDsn(*p),
            "host='db.example' port='5439' user='u' password='p w\\'\\\\' dbname='dev' "
            "sslmode='require'");
}

TEST(ConnectionTest, BrokenJsonSecretIsNotEchoed) {
  auto p = ParseConnection(R"({"password":"hunter2",)");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message().find("hunter2"), std::string::npos);
}

TEST(ConnectionTest, ParsesUrlsAndKeyValueDsns) {
  auto u = ParseConnection("mysql://me:p%40ss@10.0.0.1:3307/shop?ssl_mode=required");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->user, "me");
  EXPECT_EQ(u->password, "p@ss");
  EXPECT_EQ(u->host, "10.0.0.1");
  EXPECT_EQ(u->port, 3307);
  EXPECT_EQ(u->database, "shop");
  EXPECT_EQ(u->params.at("ssl_mode"), "required");
  auto k = ParseConnection("host=h port=3306 user=a password='x y' database=d socket=/s");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->password, "x y");
  EXPECT_EQ(k->socket, "/s");
  EXPECT_EQ(k->port, 3306);
  EXPECT_FALSE(ParseConnection("mysql://h:notaport/d").ok());
}

TEST(ConnectionTest, ResolvesFromEnvironmentThenFile) {
  config::Detector d;
  d.name = "x";
  d.source.connection_env = "OSPREY_TEST_CONN_ENV";
  const auto file = std::filesystem::temp_directory_path() / "osprey_conn_test.json";
  {
    std::ofstream out(file);
    out << "{\"host\":\"h\"}\n";
  }
  d.source.connection_file = file.string();
  ::unsetenv("OSPREY_TEST_CONN_ENV");
  auto r = ResolveConnection(d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "{\"host\":\"h\"}");
  ::setenv("OSPREY_TEST_CONN_ENV", "host=e", 1);
  EXPECT_EQ(*ResolveConnection(d), "host=e");
  ::unsetenv("OSPREY_TEST_CONN_ENV");
  d.source.connection_file.clear();
  auto none = ResolveConnection(d);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("OSPREY_TEST_CONN_ENV"), std::string::npos);
  std::filesystem::remove(file);
}

TEST(ConnectionTest, ParsesDatabaseTimestamps) {
  TimeZone utc = TimeZone::Utc();
  EXPECT_EQ(FormatIso(*ParseDbTimestamp("2025-01-02 03:04:05", utc)), "2025-01-02T03:04:05Z");
  EXPECT_EQ(FormatIso(*ParseDbTimestamp("2025-01-02 03:04:05.123456+02", utc)), "2025-01-02T01:04:05Z");
  EXPECT_EQ(FormatIso(*ParseDbTimestamp("2025-01-02T03:04:05-05:30", utc)), "2025-01-02T08:34:05Z");
  EXPECT_EQ(FormatIso(*ParseDbTimestamp("2025-01-02", utc)), "2025-01-02T00:00:00Z");
  TimeZone berlin = *TimeZone::Load("Europe/Berlin");
  EXPECT_EQ(FormatIso(*ParseDbTimestamp("2025-07-01 12:00:00", berlin)), "2025-07-01T10:00:00Z");
  EXPECT_FALSE(ParseDbTimestamp("2025-13-01 00:00:00", utc).ok());
  EXPECT_FALSE(ParseDbTimestamp("yesterday", utc).ok());
}

TEST(ConnectionTest, RewritesTimestampsIntoTheDetectorFormat) {
  TimestampRewriter same(*TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss"), TimeZone::Utc());
  EXPECT_EQ(same.Rewrite("2025-01-02 03:04:05"), "2025-01-02 03:04:05");
  EXPECT_EQ(same.Rewrite("2025-01-02 03:04:05+01"), "2025-01-02 02:04:05");
  TimestampRewriter iso(*TimestampFormat::Parse("yyyy-MM-dd'T'HH:mm:ssXXX"), TimeZone::Utc());
  EXPECT_EQ(iso.Rewrite("2025-01-02 03:04:05"), "2025-01-02T03:04:05Z");
  TimestampRewriter epoch(*TimestampFormat::Parse("epoch"), TimeZone::Utc());
  EXPECT_EQ(epoch.Rewrite("1970-01-01 00:01:00"), "60");
  EXPECT_EQ(epoch.Rewrite("not a time"), "not a time");
}

}  // namespace
}  // namespace osprey::connectors
