#include "osprey/detect/feedback.h"

#include <gtest/gtest.h>

namespace osprey::detect {
namespace {

Score Scored(double value, double expected, double severity) {
  Score s;
  s.ready = true;
  s.value = value;
  s.expected = expected;
  s.severity = severity;
  s.direction = value > expected ? Direction::kUp : Direction::kDown;
  return s;
}

TEST(FeedbackTest, NotRelevantDampsSimilarDeviationsOnly) {
  std::vector<Verdict> v = {{false, Direction::kUp, 50}};
  EXPECT_DOUBLE_EQ(ApplyFeedback(Scored(150, 100, 100), v), 25);   // same size
  EXPECT_DOUBLE_EQ(ApplyFeedback(Scored(162, 100, 80), v), 20);    // +24 %
  EXPECT_DOUBLE_EQ(ApplyFeedback(Scored(136, 100, 80), v), 20);    // -28 %
  EXPECT_DOUBLE_EQ(ApplyFeedback(Scored(200, 100, 100), v), 100);  // twice the size
  EXPECT_DOUBLE_EQ(ApplyFeedback(Scored(120, 100, 60), v), 60);    // much smaller
  EXPECT_DOUBLE_EQ(ApplyFeedback(Scored(50, 100, 100), v), 100);   // the other direction
}

TEST(FeedbackTest, LatestSimilarVerdictWins) {
  std::vector<Verdict> v = {{false, Direction::kUp, 50}, {true, Direction::kUp, 55}};
  EXPECT_DOUBLE_EQ(ApplyFeedback(Scored(150, 100, 90), v), 90);
  v.push_back({false, Direction::kUp, 52});
  EXPECT_DOUBLE_EQ(ApplyFeedback(Scored(150, 100, 90), v), 22.5);
  Score warming = Scored(150, 100, 0);
  warming.ready = false;
  EXPECT_DOUBLE_EQ(ApplyFeedback(warming, v), 0);
}

}  // namespace
}  // namespace osprey::detect
