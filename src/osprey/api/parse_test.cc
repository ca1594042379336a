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

}  // namespace
}  // namespace osprey::api
