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

}  // namespace
}  // namespace osprey::store
