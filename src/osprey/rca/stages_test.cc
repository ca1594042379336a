// The grouping stages (grouping.h, contributions.h, explain.h, related.h)
// and their codec (codec.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "osprey/rca/codec.h"
#include "osprey/rca/contributions.h"
#include "osprey/rca/explain.h"
#include "osprey/rca/grouping.h"
#include "osprey/rca/related.h"

namespace osprey::rca {
namespace {

TEST(GroupingTest, OneGroupPerMeasureWithItsSevereReadyPoints) {
  const std::vector<PointScore> points = {
      {0, true, true, 80},   // member of measure 0
      {0, true, true, 40},   // below min severity
      {1, false, true, 99},  // no value
      {1, true, false, 99},  // not ready
      {2, true, true, 50},   // exactly min severity
      {2, true, true, 70},
  };
  const auto groups = GroupAnomalies(points, 3, 50);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].measure, 0u);
  EXPECT_EQ(groups[0].members, std::vector<size_t>{0});
  EXPECT_EQ(groups[0].severity, 80);
  EXPECT_EQ(groups[1].measure, 2u);
  EXPECT_EQ(groups[1].members, (std::vector<size_t>{4, 5}));
  EXPECT_EQ(groups[1].severity, 70);
}

TEST(GroupingTest, AGroupRightAfterAnotherContinuesItsIncident) {
  EXPECT_EQ(IncidentStart(std::nullopt, 3600, 7200), 7200);
  EXPECT_EQ(IncidentStart(LastGroup{3600, 0}, 3600, 7200), 0);
  EXPECT_EQ(IncidentStart(LastGroup{0, 0}, 3600, 7200), 7200);  // a gap: a new incident
}

TEST(ContributionsTest, RoundedSharesSumToExactlyOneHundred) {
  // Three equal thirds round to 33.3 each (99.9) and 33.35 x 3 to 100.2
  // with plain rounding; by largest remainder both give 100.0.
  for (const std::vector<double>& raw :
       {std::vector<double>{100.0 / 3, 100.0 / 3, 100.0 / 3}, std::vector<double>{33.35, 33.35, 33.3},
        std::vector<double>{0.04, 0.04, 99.92}, std::vector<double>{12.345, 45.655, 42.0}}) {
    const auto r = RoundShares(raw);
    const double sum = std::accumulate(r.begin(), r.end(), 0.0);
    EXPECT_NEAR(sum, 100.0, 1e-9);
    for (size_t i = 0; i < r.size(); ++i) EXPECT_NEAR(r[i], raw[i], 0.1);
  }
  EXPECT_EQ(RoundShares({0, 0}), (std::vector<double>{0, 0}));
}

TEST(ContributionsTest, EveryDimensionsSharesSumToOneHundred) {
  auto cube = *Cube::Create({"region", "channel"});
  const char* regions[] = {"a", "b", "c"};
  const char* channels[] = {"web", "app", "tv"};
  // Deviations in both directions, with thirds that plain rounding would
  // push above 100.
  double dev[3][3] = {{-10, -10, -10}, {-10, -10, -10}, {-10, -10, 5}};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      std::string_view values[] = {regions[r], channels[c]};
      ASSERT_TRUE(cube.AddLeaf(values, 100 + dev[r][c], 100).ok());
    }
  }
  auto shares = ContributionShares(cube);
  ASSERT_TRUE(shares.ok());
  ASSERT_EQ(shares->size(), 2u);
  for (const DimensionShares& d : *shares) {
    double sum = 0;
    for (const ValueShare& v : d.values) {
      EXPECT_GT(v.share, 0);
      sum += v.share;
    }
    EXPECT_NEAR(sum, 100.0, 1e-9) << d.dimension;
    // Largest first.
    for (size_t i = 1; i < d.values.size(); ++i) EXPECT_GE(d.values[i - 1].share, d.values[i].share);
  }
}

// Four regions x two channels of a conversion rate (orders / views).
std::vector<Leaf> ConversionLeaves(double west_rate, double east_views_factor) {
  std::vector<Leaf> leaves;
  const char* regions[] = {"east", "west", "north", "south"};
  const char* channels[] = {"web", "app"};
  for (const char* r : regions) {
    for (const char* c : channels) {
      const double views_expected = 1000;
      const double views = std::string(r) == "east" ? views_expected * east_views_factor : views_expected;
      const double rate = std::string(r) == "west" ? west_rate : 0.05;
      Leaf leaf;
      leaf.values = {r, c};
      leaf.actual = rate;
      leaf.expected = 0.05;
      leaf.noise = std::sqrt(0.05 * 0.95 / views);
      leaf.ratio = RatioSides{"orders", "views", rate * views, 0.05 * views_expected, views, views_expected};
      leaves.push_back(leaf);
    }
  }
  return leaves;
}

TEST(ExplainTest, ARatioDropIsExplainedByTheRegionWhoseNumeratorFell) {
  const auto leaves = ConversionLeaves(0.02, 1.0);
  auto ex = ExplainGroup({"region", "channel"}, leaves);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  ASSERT_EQ(ex->root_causes.size(), 1u);
  EXPECT_EQ(ex->root_causes[0].element, (std::map<std::string, std::string>{{"region", "west"}}));
  EXPECT_NEAR(ex->root_causes[0].share, 100, 0.1);
  ASSERT_TRUE(ex->root_causes[0].ratio.has_value());
  const RatioSides& s = *ex->root_causes[0].ratio;
  EXPECT_DOUBLE_EQ(s.numerator_actual, 2 * 0.02 * 1000);
  EXPECT_DOUBLE_EQ(s.numerator_expected, 2 * 0.05 * 1000);
  EXPECT_DOUBLE_EQ(s.denominator_actual, 2000);
  EXPECT_EQ(RatioSidesText(s), "orders -60.0 %, views +0.0 %");
  // In the numerator's units: actual orders against the orders the actual
  // views would have brought at the expected rate.
  EXPECT_DOUBLE_EQ(ex->actual, 6 * 50 + 2 * 20);
  EXPECT_DOUBLE_EQ(ex->expected, 8 * 50);
}

TEST(ExplainTest, TrafficThatMovesAtAnUnchangedRateIsNoRatioCause) {
  // East's views halve at the usual 5 %: its orders halve too, but its
  // conversion, and so the total's, is unchanged.
  const auto leaves = ConversionLeaves(0.05, 0.5);
  auto ex = ExplainGroup({"region", "channel"}, leaves);
  ASSERT_TRUE(ex.ok());
  EXPECT_TRUE(ex->root_causes.empty());
  EXPECT_NEAR(ex->actual, ex->expected, 1e-9);
}

TEST(RelatedTest, MeasuresOverTheSameSliceAreRelated) {
  std::vector<GroupFacts> groups(3);
  groups[0] = {0, 3600, 50, 100, {{{"region", "west"}}}};
  groups[1] = {1, 3600, 25, 50, {{{"region", "west"}, {"channel", "web"}}}};
  groups[2] = {2, 0, 10, 20, {{{"region", "east"}}}};
  const auto related = RelateMeasures(groups, {"views", "revenue", "orders"});
  ASSERT_EQ(related.size(), 3u);
  ASSERT_EQ(related[0].size(), 1u);  // east is another slice
  EXPECT_EQ(related[0][0].measure, "revenue");
  EXPECT_EQ(related[0][0].relation, "effect");  // same start and move, listed later
  EXPECT_EQ(related[0][0].deviation_pct, -50);
  ASSERT_EQ(related[1].size(), 1u);
  EXPECT_EQ(related[1][0].relation, "cause");
  EXPECT_EQ(related[1][0].incident_start, "1970-01-01T01:00:00Z");
  EXPECT_TRUE(related[2].empty());
}

TEST(CodecTest, ExplanationsRoundTripAndCorruptTextIsDataLoss) {
  const auto leaves = ConversionLeaves(0.02, 1.0);
  auto ex = *ExplainGroup({"region", "channel"}, leaves);
  auto contributions = DecodeContributions(EncodeContributions(ex.contributions));
  ASSERT_TRUE(contributions.ok());
  ASSERT_EQ(contributions->size(), ex.contributions.size());
  // The JSON object lists dimensions by name; each keeps its values' order.
  for (const DimensionShares& d : ex.contributions) {
    auto back = std::find_if(contributions->begin(), contributions->end(),
                             [&](const DimensionShares& x) { return x.dimension == d.dimension; });
    ASSERT_NE(back, contributions->end()) << d.dimension;
    ASSERT_EQ(back->values.size(), d.values.size());
    for (size_t j = 0; j < d.values.size(); ++j) {
      EXPECT_EQ(back->values[j].value, d.values[j].value);
      EXPECT_EQ(back->values[j].share, d.values[j].share);
      EXPECT_EQ(back->values[j].actual, d.values[j].actual);
    }
  }
  auto causes = DecodeRootCauses(EncodeRootCauses(ex.root_causes));
  ASSERT_TRUE(causes.ok());
  ASSERT_EQ(causes->size(), 1u);
  EXPECT_EQ((*causes)[0].element, ex.root_causes[0].element);
  ASSERT_TRUE((*causes)[0].ratio.has_value());
  EXPECT_EQ((*causes)[0].ratio->numerator_actual, ex.root_causes[0].ratio->numerator_actual);
  EXPECT_EQ(ElementText((*causes)[0]), "region=west");
  std::vector<RelatedMeasure> related = {{"orders", "cause", -12.5, "2025-01-01T00:00:00Z"}};
  auto back = DecodeRelated(EncodeRelated(related));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)[0].measure, "orders");
  EXPECT_EQ((*back)[0].deviation_pct, -12.5);
  EXPECT_EQ((*back)[0].incident_start, "2025-01-01T00:00:00Z");
  EXPECT_TRUE(DecodeRootCauses("").ok());
  EXPECT_EQ(DecodeRootCauses("{\"no\": 1}").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeContributions("[1]").status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace osprey::rca
