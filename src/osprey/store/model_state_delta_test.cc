#include "osprey/store/model_state_delta.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace osprey::store {
namespace {

TEST(ModelStateDeltaTest, RoundTripsAnyChangesAndIsSmallForFewOfThem) {
  std::mt19937 rng(7);
  std::string base(3500, '\0');
  for (char& c : base) c = static_cast<char>(rng() % 7 == 0 ? rng() : 0);
  for (int changes : {0, 1, 3, 10, 100, 3500}) {
    std::string state = base;
    for (int i = 0; i < changes; ++i) state[rng() % state.size()] = static_cast<char>(rng());
    state.front() = static_cast<char>(changes);  // a change at either end
    state.back() = static_cast<char>(changes + 1);
    const std::string delta = EncodeStateDelta(base, state);
    std::string back;
    ASSERT_TRUE(ApplyStateDelta(base, delta, &back)) << changes;
    EXPECT_EQ(back, state) << changes;
    if (changes <= 10) {
      EXPECT_LT(delta.size(), 16u + 8u * static_cast<size_t>(changes)) << changes;
    }
  }
  // Into a used buffer, the same bytes; over a limit, refused.
  std::string state = base, into(5000, 'x');
  for (size_t i = 0; i < state.size(); i += 97) state[i] = static_cast<char>(state[i] + 1);
  const std::string delta = EncodeStateDelta(base, state);
  ASSERT_TRUE(EncodeStateDeltaInto(base, state, delta.size(), &into));
  EXPECT_EQ(into, delta);
  EXPECT_FALSE(EncodeStateDeltaInto(base, state, delta.size() - 1, &into));
  std::string back;
  ASSERT_TRUE(ApplyStateDelta(base, EncodeStateDelta(base, base), &back));
  EXPECT_EQ(back, base);
  EXPECT_EQ(EncodeStateDelta(base, base).size(), 2u);  // the length alone
}

TEST(ModelStateDeltaTest, ADeltaThatDoesNotFitItsBaseIsRefused) {
  const std::string base(100, 'a');
  std::string state = base;
  state[50] = 'b';
  const std::string delta = EncodeStateDelta(base, state);
  std::string out;
  EXPECT_FALSE(ApplyStateDelta(std::string(99, 'a'), delta, &out));  // another base
  EXPECT_FALSE(ApplyStateDelta(base, delta.substr(0, delta.size() - 1), &out));
  EXPECT_FALSE(ApplyStateDelta(base, "", &out));
  EXPECT_FALSE(ApplyStateDelta(base, std::string("\x64\x60\x10", 3), &out));  // past the end
}

// Applied in place, a delta gives what ApplyStateDelta gives, and its undo
// gives the base back, also after a delta that stops fitting part way.
TEST(ModelStateDeltaTest, InPlaceGivesTheSameStateAndItsUndoTheBase) {
  std::mt19937 rng(11);
  std::string base(3500, '\0');
  for (char& c : base) c = static_cast<char>(rng() % 5 == 0 ? rng() : 0);
  StateDeltaUndo undo;
  for (int changes : {0, 1, 7, 300, 3500}) {
    std::string state = base;
    for (int i = 0; i < changes; ++i) state[rng() % state.size()] = static_cast<char>(rng());
    const std::string delta = EncodeStateDelta(base, state);
    std::string in_place = base;
    ASSERT_TRUE(ApplyStateDeltaInPlace(delta, &in_place, &undo)) << changes;
    EXPECT_EQ(in_place, state) << changes;
    undo.Restore(&in_place);
    EXPECT_EQ(in_place, base) << changes;
  }
  std::string state = base;
  state[10] = 'x';
  state[3000] = 'y';
  const std::string delta = EncodeStateDelta(base, state);
  std::string in_place = base;
  EXPECT_FALSE(ApplyStateDeltaInPlace(delta.substr(0, delta.size() - 1), &in_place, &undo));
  undo.Restore(&in_place);
  EXPECT_EQ(in_place, base);
  std::string shorter(99, 'a');
  EXPECT_FALSE(ApplyStateDeltaInPlace(delta, &shorter, &undo));
  EXPECT_EQ(shorter, std::string(99, 'a'));
}

}  // namespace
}  // namespace osprey::store
