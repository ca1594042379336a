#include "osprey/api/parse.h"

#include <gtest/gtest.h>

#include <string>

namespace osprey::api {
namespace {

TEST(ParseTest, IntegersNumbersAndIds) {
  EXPECT_EQ(*ParseIntParam("limit", "50", 1, 500), 50);
  EXPECT_FALSE(ParseIntParam("limit", "501", 1, 500).ok());
  EXPECT_EQ(ParseIntParam("limit", "x", 1, 500).status().message(),
            "query parameter 'limit' must be an integer in 1..500");
  EXPECT_EQ(*ParseNumberParam("min_severity", "70.5", 0, 100), 70.5);
  EXPECT_FALSE(ParseNumberParam("min_severity", "nan", 0, 100).ok());
  EXPECT_EQ(*ParsePathId("id", "42"), 42);
  EXPECT_FALSE(ParsePathId("id", "0").ok());
  // Text after a NUL byte (a decoded %00) used to be ignored.
  const std::string nul("5\0abc", 5);
  EXPECT_FALSE(ParseIntParam("limit", nul, 1, 500).ok());
  EXPECT_FALSE(ParseNumberParam("min_severity", nul, 0, 100).ok());
  EXPECT_FALSE(ParsePathId("id", nul).ok());
}

TEST(ParseTest, TimesAndBodies) {
  EXPECT_EQ(*ParseTimeParam("from", "2020-10-01T02:00:00+02:00"), 1601510400);
  EXPECT_FALSE(ParseTimeParam("from", "yesterday").ok());
  auto f = ParseFeedbackBody(R"({"relevant": false, "series_id": 7, "comment": "sale"})");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_FALSE(f->relevant);
  EXPECT_EQ(f->series_id, 7);
  EXPECT_EQ(f->comment, "sale");
  EXPECT_EQ(ParseFeedbackBody("{}").status().message(), "give 'relevant': true or false");
  EXPECT_EQ(ParseFeedbackBody("[]").status().message(), "the request body must be a JSON object");
  auto b = ParseBacktestBody("", TimeZone::Utc());
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->from || b->to);
  EXPECT_FALSE(ParseBacktestBody(R"({"until": "2025-01-01"})", TimeZone::Utc()).ok());
  EXPECT_EQ(ToUnixSeconds(*ParseBacktestBody(R"({"from": "2025-01-01"})", TimeZone::Utc())->from),
            1735689600);
}

TEST(ParseTest, SilenceBodies) {
  auto s = ParseSilenceBody(R"({"detector": "shop", "measure": "revenue", "matchers": {"platform": "ios"},)"
                            R"( "duration_seconds": 3600, "comment": "deploy"})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->detector, "shop");
  EXPECT_EQ(s->measure, "revenue");
  EXPECT_EQ(s->matchers, R"({"platform":"ios"})");
  EXPECT_EQ(s->duration_seconds, 3600);
  EXPECT_FALSE(s->ends_at);
  auto e = ParseSilenceBody(R"({"ends_at": "2025-01-01T01:00:00+01:00", "comment": "x"})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->ends_at, 1735689600);
  EXPECT_EQ(e->matchers, "{}");
  EXPECT_EQ(ParseSilenceBody(R"({"duration_seconds": 3600})").status().message(),
            "give a 'comment' saying why the alerts are silenced");
  EXPECT_EQ(ParseSilenceBody(R"({"comment": "x"})").status().message(),
            "give exactly one of 'ends_at' and 'duration_seconds'");
  EXPECT_EQ(ParseSilenceBody(R"({"comment": "x", "duration_seconds": 60, "ends_at": "2025-01-01"})")
                .status()
                .message(),
            "give exactly one of 'ends_at' and 'duration_seconds'");
  EXPECT_FALSE(ParseSilenceBody(R"({"comment": "x", "duration_seconds": 59})").ok());
  EXPECT_FALSE(ParseSilenceBody(R"({"comment": "x", "duration_seconds": 1.5})").ok());
  EXPECT_FALSE(ParseSilenceBody(R"({"comment": "x", "ends_at": "soon"})").ok());
  EXPECT_FALSE(ParseSilenceBody(R"({"comment": "x", "duration_seconds": 60, "matchers": []})").ok());
  EXPECT_FALSE(ParseSilenceBody(R"({"comment": "x", "duration_seconds": 60, "matchers": {"a": 1}})").ok());
  EXPECT_FALSE(ParseSilenceBody(R"({"comment": "x", "duration_seconds": 60, "matchers": {"a": ""}})").ok());
  EXPECT_EQ(ParseSilenceBody(R"({"comment": "x", "duration_seconds": 60, "until": 1})").status().message(),
            "unknown field 'until'; a silence takes detector, measure, matchers, starts_at, ends_at, "
            "duration_seconds, comment");
}

}  // namespace
}  // namespace osprey::api
