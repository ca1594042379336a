#include <gtest/gtest.h>

#include "osprey/connectors/source.h"

namespace osprey::connectors {
namespace {

TEST(PrepareQueryTest, RewritesPlaceholdersPerDriver) {
  std::string q = "select * from t where ts >= {{interval_start}} and ts < {{ interval_end }}";
  auto s = *PrepareQuery(q, "?");
  EXPECT_EQ(s.sql, "select * from t where ts >= ?1 and ts < ?2");
  EXPECT_EQ(s.params, (std::vector<int>{0, 1}));
  EXPECT_EQ(PrepareQuery(q, "$")->sql, "select * from t where ts >= $1 and ts < $2");
  EXPECT_EQ(PrepareQuery(q, "?plain")->sql, "select * from t where ts >= ? and ts < ?");
}

TEST(PrepareQueryTest, RepeatedPlaceholdersEachGetAParameter) {
  auto s = *PrepareQuery("select {{interval_end}}, {{interval_start}}, {{interval_end}}", "$");
  EXPECT_EQ(s.sql, "select $1, $2, $3");
  EXPECT_EQ(s.params, (std::vector<int>{1, 0, 1}));
}

TEST(PrepareQueryTest, RejectsQuotedPlaceholdersAndUnknownNames) {
  auto quoted = PrepareQuery("select * from t where ts >= '{{interval_start}}'", "?");
  ASSERT_FALSE(quoted.ok());
  EXPECT_NE(quoted.status().message().find("without quotes"), std::string::npos);
  EXPECT_FALSE(PrepareQuery("select 1 -- {{interval_start}}\n", "?").ok());
  auto unknown = PrepareQuery("select {{now}}", "?");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("{{now}}"), std::string::npos);
  EXPECT_FALSE(PrepareQuery("select {{interval_start", "?").ok());
}

TEST(PrepareQueryTest, QuotesInsideLiteralsDoNotConfuseTheLexer) {
  auto s = *PrepareQuery("select 'it''s', \"a\"\"b\" from t where ts >= {{interval_start}}", "?");
  EXPECT_EQ(s.sql, "select 'it''s', \"a\"\"b\" from t where ts >= ?1");
}

}  // namespace
}  // namespace osprey::connectors
