#include "osprey/rca/root_cause.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace osprey::rca {
namespace {

// A 3-dimensional cube (platform x marketplace x channel, 3 x 5 x 4 leaves)
// with expected values drawn from a fixed seed and actual = expected with
// +-1% noise; `change` returns the ratio actual/expected to apply per leaf.
template <typename Change>
Cube MakeCube(Change change, uint32_t seed = 42) {
  auto cube = *Cube::Create({"platform", "marketplace", "channel"});
  const std::vector<std::string> platforms = {"web", "mobile_app", "tv"};
  const std::vector<std::string> markets = {"us", "de", "jp", "fr", "uk"};
  const std::vector<std::string> channels = {"ads", "direct", "mail", "social"};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> base(50, 500);
  std::uniform_real_distribution<double> noise(-0.01, 0.01);
  for (const auto& p : platforms) {
    for (const auto& m : markets) {
      for (const auto& c : channels) {
        const double expected = base(rng);
        const double actual = expected * (1 + noise(rng)) * change(p, m, c);
        std::vector<std::string_view> values = {p, m, c};
        EXPECT_TRUE(cube.AddLeaf(values, actual, expected).ok());
      }
    }
  }
  return cube;
}

std::vector<std::string> Located(const Cube& cube) {
  auto causes = LocateRootCauses(cube);
  EXPECT_TRUE(causes.ok()) << causes.status().ToString();
  std::vector<std::string> out;
  if (!causes.ok()) return out;
  for (const RootCause& rc : *causes) out.push_back(ElementToString(cube, rc.element));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ContributionsTest, SharesSumToHundredPerDimension) {
  Cube cube = MakeCube(
      [](const std::string&, const std::string& m, const std::string&) { return m == "jp" ? 0.5 : 1.0; });
  auto contributions = Contributions(cube);
  ASSERT_TRUE(contributions.ok());
  ASSERT_EQ(contributions->size(), 3u);
  for (const DimensionContributions& dc : *contributions) {
    double sum = 0;
    for (const ValueContribution& v : dc.values) {
      EXPECT_GE(v.share, 0);
      sum += v.share;
    }
    EXPECT_NEAR(sum, 100, 1e-9);
  }
  // marketplace=jp carries nearly all of the drop.
  const DimensionContributions& market = (*contributions)[1];
  EXPECT_GT(market.values[cube.code(8, 1)].share, 95);  // leaf 8 is web/jp/ads
}

TEST(ContributionsTest, OpposingValuesGetZeroShare) {
  auto cube = *Cube::Create({"region"});
  std::vector<std::string_view> eu = {"eu"};
  std::vector<std::string_view> us = {"us"};
  std::vector<std::string_view> asia = {"asia"};
  ASSERT_TRUE(cube.AddLeaf(eu, 60, 100).ok());    // -40
  ASSERT_TRUE(cube.AddLeaf(us, 110, 100).ok());   // +10
  ASSERT_TRUE(cube.AddLeaf(asia, 80, 100).ok());  // -20; total -50
  auto contributions = Contributions(cube);
  ASSERT_TRUE(contributions.ok());
  const auto& values = (*contributions)[0].values;
  EXPECT_NEAR(values[0].share, 100.0 * 40 / 60, 1e-9);
  EXPECT_EQ(values[1].share, 0);
  EXPECT_EQ(values[1].deviation, 10);
  EXPECT_NEAR(values[2].share, 100.0 * 20 / 60, 1e-9);
}

TEST(ContributionsTest, NoDeviationGivesZeroShares) {
  auto cube = *Cube::Create({"region"});
  std::vector<std::string_view> eu = {"eu"};
  ASSERT_TRUE(cube.AddLeaf(eu, 5, 5).ok());
  auto contributions = Contributions(cube);
  ASSERT_TRUE(contributions.ok());
  EXPECT_EQ((*contributions)[0].values[0].share, 0);
  EXPECT_FALSE(Contributions(*Cube::Create({"x"})).ok());
}

TEST(LocateRootCausesTest, SingleValue) {
  Cube cube = MakeCube(
      [](const std::string&, const std::string& m, const std::string&) { return m == "jp" ? 0.4 : 1.0; });
  EXPECT_EQ(Located(cube), std::vector<std::string>({"marketplace=jp"}));
}

TEST(LocateRootCausesTest, TwoDimensionElement) {
  Cube cube = MakeCube([](const std::string& p, const std::string& m, const std::string&) {
    return p == "mobile_app" && m == "de" ? 1.8 : 1.0;
  });
  EXPECT_EQ(Located(cube), std::vector<std::string>({"platform=mobile_app&marketplace=de"}));
}

TEST(LocateRootCausesTest, TwoSeparateElements) {
  Cube cube = MakeCube([](const std::string& p, const std::string& m, const std::string& c) {
    if (m == "uk") return 0.3;
    if (p == "tv" && c == "mail") return 0.0;
    return 1.0;
  });
  EXPECT_EQ(Located(cube), std::vector<std::string>({"marketplace=uk", "platform=tv&channel=mail"}));
}

TEST(LocateRootCausesTest, CausesInOppositeDirections) {
  Cube cube = MakeCube([](const std::string& p, const std::string& m, const std::string&) {
    if (p == "web" && m == "us") return 1.6;
    if (m == "fr") return 0.5;
    return 1.0;
  });
  EXPECT_EQ(Located(cube), std::vector<std::string>({"marketplace=fr", "platform=web&marketplace=us"}));
}

TEST(LocateRootCausesTest, NoAnomalyIsEmpty) {
  Cube cube = MakeCube([](const std::string&, const std::string&, const std::string&) { return 1.0; });
  EXPECT_TRUE(Located(cube).empty());
}

TEST(LocateRootCausesTest, ScoresAreOrderedAndBounded) {
  Cube cube = MakeCube([](const std::string&, const std::string& m, const std::string&) {
    if (m == "us") return 0.2;
    if (m == "fr") return 0.7;
    return 1.0;
  });
  auto causes = LocateRootCauses(cube);
  ASSERT_TRUE(causes.ok());
  ASSERT_EQ(causes->size(), 2u);
  for (const RootCause& rc : *causes) {
    EXPECT_GT(rc.score, 0);
    EXPECT_LE(rc.score, 1);
    EXPECT_GE(rc.purity, 0.95);
  }
  EXPECT_GE((*causes)[0].score, (*causes)[1].score);
}

TEST(LocateRootCausesTest, RejectsBadInput) {
  auto empty = *Cube::Create({"x"});
  EXPECT_FALSE(LocateRootCauses(empty).ok());
  Cube cube = MakeCube([](const std::string&, const std::string&, const std::string&) { return 1.0; });
  RootCauseOptions options;
  options.min_purity = 2;
  EXPECT_EQ(LocateRootCauses(cube, options).status().code(), StatusCode::kInvalidArgument);
}

TEST(LocateRootCausesTest, UsesEachLeafsOwnNoiseWhenGiven) {
  // 3 x 7 leaves. The noisy large leaves move by 2 of their own noise scales
  // (normal); one small, quiet leaf moves by 10 of its own (abnormal).
  auto cube = *Cube::Create({"platform", "marketplace"});
  for (uint32_t p = 0; p < 3; ++p) {
    uint32_t pc = cube.InternValue(0, "p" + std::to_string(p));
    for (uint32_t m = 0; m < 7; ++m) {
      uint32_t mc = cube.InternValue(1, "m" + std::to_string(m));
      const uint32_t codes[] = {pc, mc};
      bool small = p == 1 && m == 4;
      double expected = small ? 20 : 1000;
      double noise = small ? 1 : 50;
      double actual = small ? 30 : expected + ((p + m) % 2 ? 2 : -2) * noise;
      ASSERT_TRUE(cube.AddLeafCodes(codes, actual, expected, noise).ok());
    }
  }
  ASSERT_TRUE(cube.has_noise());
  auto causes = *LocateRootCauses(cube);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(ElementToString(cube, causes[0].element), "platform=p1&marketplace=m4");
  // Mixing leaves with and without a noise scale is refused.
  auto mixed = *Cube::Create({"x"});
  const uint32_t code[] = {mixed.InternValue(0, "a")};
  ASSERT_TRUE(mixed.AddLeafCodes(code, 1, 1).ok());
  EXPECT_FALSE(mixed.AddLeafCodes(code, 1, 1, 0.5).ok());
}

// A 3-dimensional cube (6 x 8 x 5 leaves) with relative forecast noise of
// `noise` on every leaf and `change` applied to the actual values.
template <typename Change>
Cube NoisyCube(double noise, Change change, uint32_t seed = 7) {
  auto cube = *Cube::Create({"device", "region", "channel"});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> base(20, 2000);
  std::normal_distribution<double> gauss(0, noise);
  for (int d = 0; d < 6; ++d) {
    for (int r = 0; r < 8; ++r) {
      for (int c = 0; c < 5; ++c) {
        const std::string dv = "d" + std::to_string(d);
        const std::string rv = "r" + std::to_string(r);
        const std::string cv = "c" + std::to_string(c);
        const double expected = base(rng);
        const double actual = expected * (1 + gauss(rng)) * change(d, r, c);
        std::vector<std::string_view> values = {dv, rv, cv};
        EXPECT_TRUE(cube.AddLeaf(values, actual, expected).ok());
      }
    }
  }
  return cube;
}

TEST(LocateRootCausesTest, CoarsestElementWinsUnderNoise) {
  // 10 % forecast noise; region r3 drops by 45 %. Its children (r3 x device,
  // r3 x channel) are just as pure, but the parent explains them all.
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    Cube cube = NoisyCube(
        0.10, [](int, int r, int) { return r == 3 ? 0.55 : 1.0; }, seed);
    EXPECT_EQ(Located(cube), std::vector<std::string>({"region=r3"})) << "seed " << seed;
  }
}

TEST(LocateRootCausesTest, ChildReportedWhenParentDoesNotExplain) {
  // Only region r3 on channel c1 moved: region=r3 as a whole is not a cause.
  Cube cube = NoisyCube(0.05, [](int, int r, int c) { return r == 3 && c == 1 ? 1.8 : 1.0; });
  EXPECT_EQ(Located(cube), std::vector<std::string>({"region=r3&channel=c1"}));
}

TEST(LocateRootCausesTest, SingleLeafFarOutsideTheNoise) {
  Cube cube = NoisyCube(0.03, [](int d, int r, int c) { return d == 2 && r == 5 && c == 4 ? 0.1 : 1.0; });
  EXPECT_EQ(Located(cube), std::vector<std::string>({"device=d2&region=r5&channel=c4"}));
}

TEST(LocateRootCausesTest, NoiseAloneIsNoCause) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    Cube cube = NoisyCube(
        0.20, [](int, int, int) { return 1.0; }, seed);
    EXPECT_TRUE(Located(cube).empty()) << "seed " << seed;
  }
}

TEST(LocateRootCausesTest, ReportsDirectionContributionAndConfidence) {
  Cube cube = NoisyCube(0.05, [](int d, int, int) { return d == 4 ? 0.5 : 1.0; });
  auto causes = *LocateRootCauses(cube);
  ASSERT_EQ(causes.size(), 1u);
  const RootCause& rc = causes[0];
  EXPECT_EQ(ElementToString(cube, rc.element), "device=d4");
  EXPECT_EQ(rc.direction, -1);
  EXPECT_DOUBLE_EQ(rc.contribution, rc.actual - rc.expected);
  EXPECT_NEAR(rc.actual / rc.expected, 0.5, 0.05);
  EXPECT_GT(rc.confidence, 0.9);
  EXPECT_LE(rc.confidence, 1.0);
  EXPECT_DOUBLE_EQ(rc.coverage, 1.0);
}

// A ratio KPI (failures / attempts) per device x region.
Cube RatioCube(double numerator_factor_d1, double denominator_factor_r2) {
  auto cube = *Cube::Create({"device", "region"});
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> attempts(200, 5000);
  std::normal_distribution<double> gauss(0, 0.03);
  for (uint32_t d = 0; d < 5; ++d) {
    const uint32_t dc = cube.InternValue(0, "d" + std::to_string(d));
    for (uint32_t r = 0; r < 6; ++r) {
      const uint32_t rc = cube.InternValue(1, "r" + std::to_string(r));
      const uint32_t codes[] = {dc, rc};
      const double den = attempts(rng);
      const double num = den * 0.05;
      double num_actual = num * (1 + gauss(rng));
      double den_actual = den * (1 + gauss(rng));
      if (d == 1) num_actual *= numerator_factor_d1;
      if (r == 2) {
        den_actual *= denominator_factor_r2;
        num_actual *= denominator_factor_r2;  // failures follow attempts: the rate holds
      }
      EXPECT_TRUE(cube.AddRatioLeafCodes(codes, num_actual, num, den_actual, den).ok());
    }
  }
  return cube;
}

TEST(LocateRootCausesTest, RatioKpiExplainedThroughNumeratorAndDenominator) {
  // Failures of device d1 double; region r2 loses half its attempts and
  // failures, which leaves its failure rate where it was: not a ratio cause.
  Cube cube = RatioCube(2.0, 0.5);
  ASSERT_TRUE(cube.is_ratio());
  auto causes = *LocateRootCauses(cube);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(ElementToString(cube, causes[0].element), "device=d1");
  EXPECT_EQ(causes[0].direction, 1);
  EXPECT_NEAR(causes[0].actual / causes[0].expected, 2.0, 0.1);
  // The contribution is the change of the total rate had d1 stayed as expected.
  EXPECT_GT(causes[0].contribution, 0);
  EXPECT_NEAR(causes[0].deviation_share, 100, 10);
}

// Failures / attempts over 6 x 8 x 5 leaves with attempts from 3 to 3,000:
// the failure rate of a small leaf is mostly count noise. Device d2's rate
// rises by `rise`.
Cube CountRatioCube(uint32_t seed, double rise) {
  auto cube = *Cube::Create({"device", "region", "channel"});
  std::mt19937 rng(seed);
  std::lognormal_distribution<double> attempts(4.5, 1.5);
  std::normal_distribution<double> gauss(0, 1);
  for (int d = 0; d < 6; ++d) {
    for (int r = 0; r < 8; ++r) {
      for (int c = 0; c < 5; ++c) {
        const uint32_t codes[] = {cube.InternValue(0, "d" + std::to_string(d)),
                                  cube.InternValue(1, "r" + std::to_string(r)),
                                  cube.InternValue(2, "c" + std::to_string(c))};
        const double n = std::clamp(std::round(attempts(rng)), 3.0, 3000.0);
        const double expected = n * 0.05;
        const double mean = expected * (d == 2 ? rise : 1.0);
        const double failures = std::max(0.0, std::round(mean + std::sqrt(mean) * gauss(rng)));
        EXPECT_TRUE(cube.AddRatioLeafCodes(codes, failures, expected, n, n).ok());
      }
    }
  }
  return cube;
}

TEST(LocateRootCausesTest, RatioOfCountsGivesTheCoarseElementNotItsPieces) {
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    for (double rise : {1.6, 2.0}) {
      // With the defaults the set is d2 or, when the evidence stays under the
      // threshold (a known limit on count data, docs/rca.md), empty; never
      // d2's pieces, never an unrelated element.
      const std::vector<std::string> got = Located(CountRatioCube(seed, rise));
      EXPECT_TRUE(got.empty() || got == std::vector<std::string>({"device=d2"}))
          << "seed " << seed << " rise " << rise;
    }
    // A lower evidence threshold finds the doubled rate as the one element.
    RootCauseOptions lenient;
    lenient.min_z_fraction = 0.8;
    const Cube cube = CountRatioCube(seed, 2.0);
    auto causes = *LocateRootCauses(cube, lenient);
    ASSERT_EQ(causes.size(), 1u) << "seed " << seed;
    EXPECT_EQ(ElementToString(cube, causes[0].element), "device=d2");
    EXPECT_EQ(causes[0].direction, 1);
  }
}

}  // namespace
}  // namespace osprey::rca
