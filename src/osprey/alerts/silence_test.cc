#include "osprey/alerts/silence.h"

#include <gtest/gtest.h>

namespace osprey::alerts {
namespace {

store::SilenceRecord Silence(std::string detector, std::string measure, std::string matchers) {
  store::SilenceRecord s;
  s.detector = std::move(detector);
  s.measure = std::move(measure);
  s.matchers = std::move(matchers);
  s.starts_at = 100;
  s.ends_at = 200;
  return s;
}

store::AnomalyRecord Anomaly(std::string dims) {
  store::AnomalyRecord a;
  a.dims = std::move(dims);
  return a;
}

TEST(SilenceTest, RootCausesMustLieInsideTheMatchedSlice) {
  store::GroupRecord g;
  g.detector = "shop";
  g.measure = "revenue";
  g.root_causes = R"([{"element":{"marketplace":"US","platform":"ios"},"share":60,"score":0.9},)"
                  R"({"element":{"marketplace":"DE","platform":"ios"},"share":40,"score":0.8}])";
  EXPECT_TRUE(SilenceMatches(Silence("shop", "revenue", R"({"platform":"ios"})"), g, {}));
  EXPECT_TRUE(SilenceMatches(Silence("", "", "{}"), g, {}));
  EXPECT_TRUE(SilenceMatches(Silence("shop", "", R"({"platform":"ios"})"), g, {}));
  // One root cause is outside marketplace=US.
  EXPECT_FALSE(SilenceMatches(Silence("shop", "revenue", R"({"marketplace":"US"})"), g, {}));
  EXPECT_FALSE(SilenceMatches(Silence("shop", "revenue", R"({"platform":"web"})"), g, {}));
  EXPECT_FALSE(SilenceMatches(Silence("other", "revenue", "{}"), g, {}));
  EXPECT_FALSE(SilenceMatches(Silence("shop", "orders", "{}"), g, {}));
  EXPECT_FALSE(SilenceMatches(Silence("shop", "revenue", "not json"), g, {}));
}

TEST(SilenceTest, WithoutRootCausesEveryAnomalousSeriesMustLieInside) {
  store::GroupRecord g;
  g.detector = "shop";
  g.measure = "revenue";
  g.root_causes = "[]";
  const auto s = Silence("shop", "revenue", R"({"platform":"ios"})");
  EXPECT_TRUE(SilenceMatches(
      s, g, {Anomaly(R"({"platform":"ios","marketplace":"US"})"), Anomaly(R"({"platform":"ios"})")}));
  EXPECT_FALSE(SilenceMatches(s, g, {Anomaly(R"({"platform":"ios"})"), Anomaly("{}")}));
  EXPECT_FALSE(SilenceMatches(s, g, {}));
  EXPECT_TRUE(SilenceMatches(Silence("shop", "revenue", "{}"), g, {}));
}

TEST(SilenceTest, ActiveFromStartUntilEnd) {
  const auto s = Silence("", "", "{}");
  EXPECT_FALSE(SilenceActive(s, 99));
  EXPECT_TRUE(SilenceActive(s, 100));
  EXPECT_TRUE(SilenceActive(s, 199));
  EXPECT_FALSE(SilenceActive(s, 200));
  EXPECT_FALSE(ParseSilenceMatchers("[]").ok());
  EXPECT_EQ(ParseSilenceMatchers(R"({"a": 1})").status().message(),
            "matchers.a: expected a non-empty string value");
  EXPECT_EQ(ParseSilenceMatchers(R"({"a": "b"})")->at("a"), "b");
}

}  // namespace
}  // namespace osprey::alerts
