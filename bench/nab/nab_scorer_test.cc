#include "bench/nab/nab_scorer.h"

#include <gtest/gtest.h>

#include <map>

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

// 100 rows: score 0 except at the given rows.
FileScores ScoresAt(const std::map<int, double>& at) {
  FileScores f = Scores({}).begin()->second;
  for (const auto& [row, score] : at) f.scores[static_cast<size_t>(row)] = score;
  return f;
}

TEST(NabCrossValidationTest, FoldsDealFilesInTurnSoEachCategoryIsInEveryFold) {
  Labels l;
  for (const char* key : {"b/2.csv", "a/1.csv", "b/1.csv", "a/2.csv", "a/3.csv"}) {
    l.files.push_back({key, {{"t40", "t49"}}});
  }
  l.window_count = 5;
  auto folds = SplitFolds(l, 2);
  ASSERT_EQ(folds.size(), 2u);
  auto keys = [](const Labels& x) {
    std::vector<std::string> k;
    for (const auto& f : x.files) k.push_back(f.key);
    return k;
  };
  EXPECT_EQ(keys(folds[0].test), (std::vector<std::string>{"a/1.csv", "a/3.csv", "b/2.csv"}));
  EXPECT_EQ(keys(folds[1].test), (std::vector<std::string>{"a/2.csv", "b/1.csv"}));
  EXPECT_EQ(keys(folds[0].train), keys(folds[1].test));
  EXPECT_EQ(keys(folds[1].train), keys(folds[0].test));
  EXPECT_EQ(folds[0].test.window_count, 3u);
  EXPECT_EQ(folds[0].train.window_count, 2u);
}

// Two files of 100 rows, each with one window [40, 49].
Labels TwoFiles() {
  Labels l;
  l.files.push_back({"a/1.csv", {{"t40", "t49"}}});
  l.files.push_back({"a/2.csv", {{"t40", "t49"}}});
  l.window_count = 2;
  return l;
}

// File 1 alone picks threshold 0.8 (its window's first row; the 0.6 is a
// false positive); file 2 alone picks 0.7 (inside its window; 0.9 is after).
CorpusScores TwoFileScores() {
  return {{"a/1.csv", ScoresAt({{20, 0.6}, {40, 0.8}})}, {"a/2.csv", ScoresAt({{45, 0.7}, {60, 0.9}})}};
}

TEST(NabCrossValidationTest, ThresholdChosenOnTheScoredFilesIsTheInSampleScore) {
  const Labels l = TwoFiles();
  const CorpusScores scores = TwoFileScores();
  for (const Profile& p : {Profile{"standard", 1, 0.11, 1}, Profile{"reward_low_FN_rate", 1, 0.11, 2}}) {
    auto in_sample = Sweep::Build(l, scores, p)->Optimise();
    auto cv = CrossValidate({Fold{l, l}}, scores, p);
    ASSERT_TRUE(cv.ok()) << cv.status().ToString();
    EXPECT_EQ(cv->folds[0].threshold, in_sample.threshold);
    EXPECT_DOUBLE_EQ(cv->held_out.raw, in_sample.raw);
    EXPECT_DOUBLE_EQ(cv->held_out.normalised, in_sample.normalised);
    EXPECT_EQ(cv->held_out.tp, in_sample.tp);
    EXPECT_EQ(cv->held_out.fp, in_sample.fp);
    EXPECT_EQ(cv->held_out.fn, in_sample.fn);
  }
}

TEST(NabCrossValidationTest, EachFoldIsScoredWithTheOtherFoldsThreshold) {
  const Labels l = TwoFiles();
  const CorpusScores scores = TwoFileScores();
  Profile p{"standard", 1, 0.11, 1};
  auto cv = CrossValidate(SplitFolds(l, 2), scores, p);
  ASSERT_TRUE(cv.ok()) << cv.status().ToString();
  ASSERT_EQ(cv->folds.size(), 2u);
  // File 1 scored at file 2's 0.7: its window's first row only.
  EXPECT_EQ(cv->folds[0].threshold, 0.7);
  EXPECT_NEAR(cv->folds[0].raw, 1.0, 1e-12);
  // File 2 scored at file 1's 0.8: the window is missed, row 60 is a false
  // positive 11 rows after a 10-row window.
  EXPECT_EQ(cv->folds[1].threshold, 0.8);
  const double file2 = -1.0 + ScaledSigmoid(11.0 / 9.0) * 0.11;
  EXPECT_NEAR(cv->folds[1].raw, file2, 1e-12);
  EXPECT_NEAR(cv->held_out.raw, 1.0 + file2, 1e-12);
  EXPECT_NEAR(cv->held_out.normalised, 100.0 * (1.0 + file2 + 2.0) / 4.0, 1e-9);
  EXPECT_EQ(cv->held_out.tp, 1);
  EXPECT_EQ(cv->held_out.fn, 1);
  EXPECT_EQ(cv->held_out.fp, 1);
  // In-sample, one threshold for both files scores higher than held out.
  EXPECT_GT(Sweep::Build(l, scores, p)->Optimise().normalised, cv->held_out.normalised);
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
