#include "osprey/schedule/shards.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace osprey::schedule {
namespace {

// Values of FNV-1a computed independently: a change to the hash would move
// series between shards of a running detector, so it must not change.
TEST(ShardOf, IsStable) {
  EXPECT_EQ(ShardOf("revenue", "{}", 4), 1);
  EXPECT_EQ(ShardOf("revenue", R"({"platform":"pc_web"})", 4), 2);
  EXPECT_EQ(ShardOf("views", R"({"marketplace":"de","platform":"mobile_app"})", 7), 5);
  EXPECT_EQ(ShardOf("views", R"({"marketplace":"de","platform":"mobile_app"})", 256), 74);
}

TEST(ShardOf, OneShardHoldsEverything) {
  EXPECT_EQ(ShardOf("revenue", "{}", 1), 0);
  EXPECT_EQ(ShardOf("views", R"({"platform":"pc_web"})", 1), 0);
  EXPECT_EQ(ShardOf("views", R"({"platform":"pc_web"})", 0), 0);
}

// The measure and the dimensions are separate fields: moving text from one
// to the other is another series.
TEST(ShardOf, SeparatesMeasureFromDimensions) {
  int differ = 0;
  for (int i = 0; i < 64; ++i) {
    if (ShardOf(fmt::format("m{}", i), "x", 256) != ShardOf(fmt::format("m{}x", i), "", 256)) ++differ;
  }
  EXPECT_GT(differ, 48);
}

// Every series lands in exactly one shard in range, and the shards are
// about equally large.
TEST(ShardOf, CoversEverySeriesOnceAndBalances) {
  for (int64_t shards : {2, 3, 8, 256}) {
    std::vector<int> count(static_cast<size_t>(shards), 0);
    const int series = 20000;
    for (int i = 0; i < series; ++i) {
      const std::string dims = fmt::format(R"({{"product":"p{}","region":"r{}"}})", i / 10, i % 10);
      const int s = ShardOf(i % 2 ? "views" : "revenue", dims, shards);
      ASSERT_GE(s, 0);
      ASSERT_LT(s, shards);
      EXPECT_EQ(ShardOf(i % 2 ? "views" : "revenue", dims, shards), s);  // the same every time
      ++count[static_cast<size_t>(s)];
    }
    int total = 0;
    const double mean = static_cast<double>(series) / static_cast<double>(shards);
    for (int c : count) {
      total += c;
      EXPECT_GT(c, mean * 0.7) << shards << " shards";
      EXPECT_LT(c, mean * 1.3) << shards << " shards";
    }
    EXPECT_EQ(total, series);
  }
}

}  // namespace
}  // namespace osprey::schedule
