#include "osprey/stream/art_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "osprey/stream/stream_test_series.h"

namespace osprey::stream {
namespace {

using testing::Obs;

std::vector<double> Periodic(int n, uint32_t seed) { return testing::Periodic(n, seed, 96); }
EngineOptions Options() { return testing::StreamOptionsFor(Engine::kArt); }

TEST(ArtModelTest, ColdStartSaysWhy) {
  auto m = *CreateEngine(Options());
  Score s = m->Observe(Obs(0, 5.0));
  EXPECT_FALSE(s.ready);
  EXPECT_EQ(s.severity, 0);
  EXPECT_NE(std::string(s.reason).find("warming up"), std::string::npos);
  Score gap = m->Observe(Obs(1, std::nullopt));
  EXPECT_FALSE(gap.ready);
  EXPECT_FALSE(gap.reason.empty());
}

TEST(ArtModelTest, NewShapeScoresAboveRoutine) {
  auto m = *CreateEngine(Options());
  auto v = Periodic(4000, 7);
  for (int i = 3000; i < 3030; ++i) v[static_cast<size_t>(i)] += 150;  // a new level
  double event = 0;
  int routine_high = 0, routine = 0;
  bool ready = false;
  for (int i = 0; i < 4000; ++i) {
    Score s = m->Observe(Obs(i, v[static_cast<size_t>(i)]));
    ASSERT_GE(s.anomaly, 0);
    ASSERT_LE(s.anomaly, 1);
    ready = ready || s.ready;
    if (i >= 1500 && i < 3000) {
      ++routine;
      if (s.anomaly >= 0.5) ++routine_high;
    }
    if (i >= 3000 && i < 3030) event = std::max(event, s.anomaly);
  }
  EXPECT_TRUE(ready);
  EXPECT_GE(event, 0.5);
  EXPECT_LE(routine_high, 3);
}

TEST(ArtModelTest, SaveRestoreGivesBitIdenticalScores) {
  for (double novelty : {0.0, 0.8}) {
    for (int cut : {300, 2000}) {  // during and after the training phase
      EngineOptions o = Options();
      o.art.novelty_weight = novelty;
      o.art.coarse_factor = novelty > 0 ? 3 : 0;
      o.art.max_categories = 32;  // exercise the replacement of categories
      auto v = Periodic(4000, 11);
      v[3100] = 400;
      for (int i = 2500; i < 2600; ++i) v[static_cast<size_t>(i)] *= 0.5;
      auto a = *CreateEngine(o);
      for (int i = 0; i < cut; ++i) a->Observe(Obs(i, v[static_cast<size_t>(i)]));
      std::string state = a->SaveState();
      auto b = RestoreEngine(o, state);
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      EXPECT_EQ((*b)->SaveState(), state);
      double total = 0;
      for (int i = cut; i < 4000; ++i) {
        Score x = a->Observe(Obs(i, v[static_cast<size_t>(i)]));
        Score y = (*b)->Observe(Obs(i, v[static_cast<size_t>(i)]));
        ASSERT_EQ(std::memcmp(&x.anomaly, &y.anomaly, sizeof(double)), 0) << i;
        ASSERT_EQ(std::memcmp(&x.expected, &y.expected, sizeof(double)), 0) << i;
        ASSERT_EQ(x.ready, y.ready) << i;
        total += x.anomaly;
      }
      EXPECT_GT(total, 0);
    }
  }
}

TEST(ArtModelTest, RejectsCorruptStateAndBadOptions) {
  auto a = *CreateEngine(Options());
  for (int i = 0; i < 1000; ++i) a->Observe(Obs(i, static_cast<double>(i % 7)));
  std::string state = a->SaveState();
  EXPECT_FALSE(RestoreEngine(Options(), state.substr(0, state.size() - 1)).ok());
  EXPECT_FALSE(RestoreEngine(Options(), state + "x").ok());
  std::string bad = state;
  bad[0] = 99;
  EXPECT_FALSE(RestoreEngine(Options(), bad).ok());
  EngineOptions other = Options();
  other.art.window = 4;
  EXPECT_FALSE(RestoreEngine(other, state).ok());
  EngineOptions wrong = Options();
  wrong.art.window = 1;
  EXPECT_FALSE(CreateEngine(wrong).ok());
  wrong = Options();
  wrong.art.initial_rho = 1.5;
  EXPECT_FALSE(CreateEngine(wrong).ok());
}

}  // namespace
}  // namespace osprey::stream
