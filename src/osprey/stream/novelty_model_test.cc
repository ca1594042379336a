#include "osprey/stream/novelty_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "osprey/stream/stream_test_series.h"

namespace osprey::stream {
namespace {

using testing::Obs;

std::vector<double> Periodic(int n, uint32_t seed) { return testing::Periodic(n, seed, 48); }
EngineOptions Options() { return testing::StreamOptionsFor(Engine::kNovelty); }

TEST(NoveltyModelTest, ColdStartSaysWhy) {
  auto m = *CreateEngine(Options());
  Score s = m->Observe(Obs(0, 5.0));
  EXPECT_FALSE(s.ready);
  EXPECT_EQ(s.severity, 0);
  EXPECT_NE(std::string(s.reason).find("warming up"), std::string::npos);
  Score gap = m->Observe(Obs(1, std::nullopt));
  EXPECT_FALSE(gap.ready);
  EXPECT_FALSE(gap.reason.empty());
}

TEST(NoveltyModelTest, NewBehaviourScoresAboveRoutine) {
  auto m = *CreateEngine(Options());
  auto v = Periodic(3000, 7);
  for (int i = 2600; i < 2620; ++i) v[static_cast<size_t>(i)] += 120;  // a new level
  double event = 0;
  int routine_high = 0, routine = 0;
  for (int i = 0; i < 3000; ++i) {
    Score s = m->Observe(Obs(i, v[static_cast<size_t>(i)]));
    ASSERT_GE(s.anomaly, 0);
    ASSERT_LE(s.anomaly, 1);
    if (i >= 1500 && i < 2600) {
      ++routine;
      if (s.anomaly >= 0.6) ++routine_high;
    }
    if (i >= 2600 && i < 2605) event = std::max(event, s.anomaly);
  }
  EXPECT_GE(event, 0.8);
  EXPECT_LT(routine_high, routine / 100);  // under 1 % of routine points
}

void ExpectSaveRestoreBitIdentical(const EngineOptions& o, int save_at) {
  auto v = Periodic(6000, 11);
  v[4100] = 400;
  for (int i = 4500; i < 4700; ++i) v[static_cast<size_t>(i)] = 100;  // a missing cycle
  auto a = *CreateEngine(o);
  for (int i = 0; i < save_at; ++i) a->Observe(Obs(i, v[static_cast<size_t>(i)]));
  std::string state = a->SaveState();
  auto b = RestoreEngine(o, state);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->SaveState(), state);
  double peak = 0;
  for (int i = save_at; i < 6000; ++i) {
    Score x = a->Observe(Obs(i, v[static_cast<size_t>(i)]));
    Score y = (*b)->Observe(Obs(i, v[static_cast<size_t>(i)]));
    ASSERT_EQ(std::memcmp(&x.anomaly, &y.anomaly, sizeof(double)), 0) << i;
    ASSERT_EQ(std::memcmp(&x.expected, &y.expected, sizeof(double)), 0) << i;
    ASSERT_EQ(x.severity, y.severity);
    peak = std::max(peak, x.anomaly);
  }
  EXPECT_GT(peak, 0.5);
  EXPECT_EQ(a->SaveState(), (*b)->SaveState());
}

TEST(NoveltyModelTest, SaveRestoreGivesBitIdenticalScores) {
  ExpectSaveRestoreBitIdentical(Options(), 2000);
  ExpectSaveRestoreBitIdentical(Options(), 3001);  // mid-step of both KNN channels
}

TEST(NoveltyModelTest, SaveRestoreWithEveryChannelOn) {
  EngineOptions o = Options();
  o.novelty.predict_weight = 0.6;
  o.novelty.predict_bits = 10;
  o.novelty.knn2_warm = 20;  // the long-shape channel scores before the save
  o.novelty.knn2_step_seconds = 3600;
  o.novelty.coarse_step = 8;
  ExpectSaveRestoreBitIdentical(o, 3001);
  o.novelty.knn_center = 1;  // the path without cached partial distances
  o.novelty.knn_eval = 1;
  ExpectSaveRestoreBitIdentical(o, 3001);
  EngineOptions off = o;
  off.novelty.predict_weight = 0;  // a state with count tables is not one without
  auto a = *CreateEngine(o);
  for (int i = 0; i < 100; ++i) a->Observe(Obs(i, static_cast<double>(i % 7)));
  EXPECT_FALSE(RestoreEngine(off, a->SaveState()).ok());
}

TEST(NoveltyModelTest, RejectsCorruptStateAndBadOptions) {
  auto a = *CreateEngine(Options());
  for (int i = 0; i < 100; ++i) a->Observe(Obs(i, static_cast<double>(i % 7)));
  std::string state = a->SaveState();
  EXPECT_FALSE(RestoreEngine(Options(), state.substr(0, state.size() - 1)).ok());
  std::string bad = state;
  bad[0] = 99;
  EXPECT_FALSE(RestoreEngine(Options(), bad).ok());
  EngineOptions other = Options();
  other.novelty.table_bits = 10;
  EXPECT_FALSE(RestoreEngine(other, state).ok());
  EngineOptions wrong = Options();
  wrong.novelty.levels = 1;
  EXPECT_FALSE(CreateEngine(wrong).ok());
}

}  // namespace
}  // namespace osprey::stream
