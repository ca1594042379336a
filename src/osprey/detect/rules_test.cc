#include "osprey/detect/rules.h"

#include <gtest/gtest.h>

namespace osprey::detect {
namespace {

TEST(RulesTest, HardThresholdsFireWithDirectionAndSeverity) {
  RuleOptions o;
  o.min = 10;
  o.max = 100;
  EXPECT_FALSE(EvaluateRules(o, 50, std::nullopt).fired);
  EXPECT_FALSE(EvaluateRules(o, 100, std::nullopt).fired);  // on the limit is fine
  RuleVerdict up = EvaluateRules(o, 150, std::nullopt);
  EXPECT_TRUE(up.fired);
  EXPECT_EQ(up.direction, Direction::kUp);
  EXPECT_EQ(up.explanation, Explanation::kThreshold);
  EXPECT_NEAR(up.severity, 75, 1e-9);  // 50 % beyond the limit at sensitivity 50
  EXPECT_NEAR(EvaluateRules(o, 300, std::nullopt).severity, 100, 1e-9);
  RuleVerdict down = EvaluateRules(o, 5, std::nullopt);
  EXPECT_TRUE(down.fired);
  EXPECT_EQ(down.direction, Direction::kDown);
  EXPECT_DOUBLE_EQ(down.limit, 10);
}

TEST(RulesTest, SensitivityMovesSeverity) {
  RuleOptions o;
  o.max = 100;
  o.sensitivity = 100;
  EXPECT_NEAR(EvaluateRules(o, 101, std::nullopt).severity, 100, 1e-9);
  o.sensitivity = 0;
  EXPECT_NEAR(EvaluateRules(o, 150, std::nullopt).severity, 50, 1e-9);
  o.sensitivity = 50;
  const double mid = EvaluateRules(o, 120, std::nullopt).severity;
  o.sensitivity = 20;
  EXPECT_LT(EvaluateRules(o, 120, std::nullopt).severity, mid);
}

TEST(RulesTest, ChangeThresholdAgainstEarlierValue) {
  RuleOptions o;
  o.change_percent = 20;
  o.change_intervals = 24;
  EXPECT_FALSE(EvaluateRules(o, 110, 100.0).fired);
  EXPECT_FALSE(EvaluateRules(o, 130, std::nullopt).fired);  // no reference value
  RuleVerdict up = EvaluateRules(o, 130, 100.0);
  EXPECT_TRUE(up.fired);
  EXPECT_EQ(up.direction, Direction::kUp);
  EXPECT_EQ(up.explanation, Explanation::kChange);
  RuleVerdict down = EvaluateRules(o, 70, 100.0);
  EXPECT_TRUE(down.fired);
  EXPECT_EQ(down.direction, Direction::kDown);
  EXPECT_GT(down.severity, up.severity - 1e-9);  // 30 % vs 30 %: equal
  EXPECT_TRUE(EvaluateRules(o, 5, 0.0).fired);   // from zero
  EXPECT_FALSE(EvaluateRules(o, 0, 0.0).fired);
  EXPECT_TRUE(EvaluateRules(o, -130, -100.0).fired);  // negative references use |ref|
  EXPECT_EQ(EvaluateRules(o, -130, -100.0).direction, Direction::kDown);
}

TEST(RulesTest, DirectionFilterSuppressesTheOtherSide) {
  RuleOptions o;
  o.min = 10;
  o.max = 100;
  o.change_percent = 50;
  o.direction = DirectionFilter::kUp;
  EXPECT_FALSE(EvaluateRules(o, 1, 100.0).fired);  // down breach and down change
  EXPECT_TRUE(EvaluateRules(o, 200, 100.0).fired);
  o.direction = DirectionFilter::kDown;
  EXPECT_FALSE(EvaluateRules(o, 200, 100.0).fired);
  EXPECT_TRUE(EvaluateRules(o, 1, 100.0).fired);
}

TEST(RulesTest, StrongestBreachWins) {
  RuleOptions o;
  o.max = 100;
  o.change_percent = 10;
  RuleVerdict v = EvaluateRules(o, 105, 50.0);  // 5 % over max, +110 % change
  EXPECT_EQ(v.explanation, Explanation::kChange);
  EXPECT_NEAR(v.severity, 100, 1e-9);
}

Score ModelScore(double severity, Direction d, bool ready = true) {
  Score s;
  s.ready = ready;
  s.severity = severity;
  s.anomaly = severity / 100;
  s.direction = d;
  s.explanation = d == Direction::kUp ? Explanation::kSpike : Explanation::kDip;
  return s;
}

TEST(RulesTest, CombineModes) {
  RuleOptions o;
  o.max = 100;
  RuleVerdict fired = EvaluateRules(o, 150, std::nullopt);  // severity 75
  RuleVerdict quiet = EvaluateRules(o, 50, std::nullopt);
  Score model = ModelScore(60, Direction::kUp);
  const auto both = DirectionFilter::kBoth;

  Score mx = CombineScores(model, fired, CombineMode::kMax, both);
  EXPECT_NEAR(mx.severity, 75, 1e-9);
  EXPECT_EQ(mx.explanation, Explanation::kThreshold);
  EXPECT_NEAR(CombineScores(model, quiet, CombineMode::kMax, both).severity, 60, 1e-9);

  EXPECT_NEAR(CombineScores(model, quiet, CombineMode::kRulesOnly, both).severity, 0, 1e-9);
  EXPECT_NEAR(CombineScores(model, fired, CombineMode::kRulesOnly, both).severity, 75, 1e-9);
  EXPECT_NEAR(CombineScores(model, fired, CombineMode::kModelOnly, both).severity, 60, 1e-9);
  EXPECT_NEAR(CombineScores(model, fired, CombineMode::kBoth, both).severity, 60, 1e-9);
  EXPECT_NEAR(CombineScores(model, quiet, CombineMode::kBoth, both).severity, 0, 1e-9);

  // The direction filter applies to the model too.
  Score dip = ModelScore(90, Direction::kDown);
  EXPECT_NEAR(CombineScores(dip, quiet, CombineMode::kMax, DirectionFilter::kUp).severity, 0, 1e-9);
  EXPECT_NEAR(CombineScores(dip, quiet, CombineMode::kMax, DirectionFilter::kDown).severity, 90, 1e-9);
}

TEST(RulesTest, RulesFireDuringModelWarmUp) {
  RuleOptions o;
  o.max = 100;
  Score cold = ModelScore(0, Direction::kNone, false);
  cold.reason = "warming up";
  Score s =
      CombineScores(cold, EvaluateRules(o, 250, std::nullopt), CombineMode::kMax, DirectionFilter::kBoth);
  EXPECT_TRUE(s.ready);
  EXPECT_NEAR(s.severity, 100, 1e-9);
  Score m =
      CombineScores(cold, EvaluateRules(o, 50, std::nullopt), CombineMode::kMax, DirectionFilter::kBoth);
  EXPECT_FALSE(m.ready);
  EXPECT_EQ(m.severity, 0);
}

}  // namespace
}  // namespace osprey::detect
