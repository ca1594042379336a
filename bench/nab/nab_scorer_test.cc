#include "bench/nab/nab_scorer.h"

#include <gtest/gtest.h>

#include "bench/nab/nab_runner.h"

namespace osprey::nab {
namespace {

TEST(NabScorerTest, ScaledSigmoidMatchesSpec) {
  EXPECT_NEAR(ScaledSigmoid(-1), 0.986614, 1e-6);
  EXPECT_NEAR(ScaledSigmoid(-0.5), 0.848284, 1e-6);
  EXPECT_NEAR(ScaledSigmoid(0), 0.0, 1e-12);
  EXPECT_NEAR(ScaledSigmoid(2), -0.999909, 1e-6);
  EXPECT_EQ(ScaledSigmoid(3.5), -1.0);
}

// 100 rows, probation 15, one window [40, 49].
Labels OneWindow() {
  Labels l;
  l.files.push_back({"c/f.csv", {{"t40", "t49"}}});
  l.window_count = 1;
  return l;
}

CorpusScores Scores(const std::vector<int>& hits) {
  FileScores f;
  for (int i = 0; i < 100; ++i) {
    std::string t = "t";  // not "t" + ...: GCC 12 warns falsely (-Wrestrict) on that
    t += std::to_string(i);
    f.timestamps.push_back(t);
    f.scores.push_back(0);
  }
  for (int h : hits) f.scores[static_cast<size_t>(h)] = 1;
  return {{"c/f.csv", f}};
}

TEST(NabScorerTest, FirstRowOfWindowIsWorthTpWeight) {
  Profile p{"standard", 1, 0.11, 1};
  auto s = Sweep::Build(OneWindow(), Scores({40}), p);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto r = s->ScoreAt(0.5);
  EXPECT_NEAR(r.raw, 1.0, 1e-12);
  EXPECT_NEAR(r.normalised, 100.0, 1e-9);
}

TEST(NabScorerTest, MissesFalsePositivesAndProbation) {
  Profile p{"reward_low_FN_rate", 1, 0.11, 2};
  // Row 5 is in probation (ignored); row 20 is an FP before any window.
  auto s = Sweep::Build(OneWindow(), Scores({5, 20}), p);
  ASSERT_TRUE(s.ok());
  auto r = s->ScoreAt(0.5);
  EXPECT_NEAR(r.raw, -2.0 - 0.11, 1e-12);
  EXPECT_EQ(r.fp, 1);
  EXPECT_EQ(r.fn, 1);
  // An FP right after the window costs almost nothing.
  auto s2 = Sweep::Build(OneWindow(), Scores({45, 50}), p);
  auto r2 = s2->ScoreAt(0.5);
  double in_window = ScaledSigmoid(-5.0 / 10.0) / ScaledSigmoid(-1);
  double after = ScaledSigmoid(1.0 / 9.0) * 0.11;
  EXPECT_NEAR(r2.raw, in_window + after, 1e-12);
}

TEST(NabScorerTest, OptimiserPrefersHigherThresholdOnTies) {
  Profile p{"standard", 1, 0.11, 1};
  auto s = Sweep::Build(OneWindow(), Scores({}), p);
  auto r = s->Optimise();
  EXPECT_EQ(r.threshold, 1.1);
  EXPECT_NEAR(r.normalised, 0.0, 1e-9);
}

TEST(NabRunnerTest, ParsesNabTimestampsWithTheProjectFormat) {
  auto t = ParseNabTime("2014-04-01 00:05:00");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, 1396310700);
  EXPECT_FALSE(ParseNabTime("2014-04-01").ok());
  EXPECT_FALSE(ParseNabTime("2014-13-01 00:00:00").ok());
  EXPECT_FALSE(ParseNabTime("yesterday").ok());
}

}  // namespace
}  // namespace osprey::nab
