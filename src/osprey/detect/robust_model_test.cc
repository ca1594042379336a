#include "osprey/detect/robust_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "osprey/detect/stream.h"

namespace osprey::detect {
namespace {

ModelOptions Opts(int64_t interval_seconds) {
  ModelOptions o;
  o.interval_seconds = interval_seconds;
  o.sensitivity = 50;
  return o;
}


// Hourly, daily + weekly cycle, Gaussian noise, fixed seed.
std::vector<double> Hourly(int hours, uint32_t seed, double base = 200) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 0.03 * base);
  std::vector<double> v;
  for (int h = 0; h < hours; ++h) {
    double day = std::sin(2 * M_PI * (h % 24) / 24.0);
    double weekend = (h / 24) % 7 >= 5 ? -0.3 : 0.0;
    v.push_back(base * (1 + 0.4 * day + weekend) + noise(rng));
  }
  return v;
}

Observation Obs(int h, double v) { return {h * 3600LL, h * 3600LL, v}; }

std::unique_ptr<Model> Make() { return *RobustSeasonalModel::Create(Opts(3600)); }

TEST(RobustModelTest, FlagsSpikeNotNoiseAndBaselineSurvives) {
  auto m = Make();
  auto v = Hourly(24 * 42, 3);
  const int spike = 24 * 35 + 10;
  v[spike] *= 2.0;
  int false_alarms = 0;
  for (int h = 0; h < static_cast<int>(v.size()); ++h) {
    Score s = m->Observe(Obs(h, v[h]));
    if (h < 24 * 28) continue;
    ASSERT_TRUE(s.ready);
    if (h == spike) {
      EXPECT_GT(s.anomaly, 0.1);
      EXPECT_EQ(s.direction, Direction::kUp);
      EXPECT_EQ(s.explanation, Explanation::kSpike);
    } else if (h > spike + 8 && h < spike + 24) {
      // The spike did not corrupt the baseline.
      EXPECT_LT(std::fabs(s.value - s.expected), 0.3 * s.expected) << h;
    } else if (h > spike + 8 && s.severity >= 50) {
      ++false_alarms;
    }
  }
  EXPECT_LE(false_alarms, 2);
}

TEST(RobustModelTest, AdaptsAfterLevelShift) {
  auto m = Make();
  auto v = Hourly(24 * 49, 5);
  const int shift = 24 * 35;
  for (int h = shift; h < static_cast<int>(v.size()); ++h) v[h] += 300;
  bool saw_shift = false;
  int late_alarms = 0;
  for (int h = 0; h < static_cast<int>(v.size()); ++h) {
    Score s = m->Observe(Obs(h, v[h]));
    if (h >= shift && h < shift + 8 && s.explanation == Explanation::kLevelShift) saw_shift = true;
    if (h >= shift + 48 && s.severity >= 50) ++late_alarms;
  }
  EXPECT_TRUE(saw_shift);
  EXPECT_LE(late_alarms, 3);
}

TEST(RobustModelTest, HandlesMissingZerosTinyAndHugeMagnitudes) {
  for (double base : {1e-9, 1.0, 1e12}) {
    auto m = Make();
    auto v = Hourly(24 * 30, 9, base);
    int alarms = 0;
    for (int h = 0; h < static_cast<int>(v.size()); ++h) {
      Observation o = Obs(h, v[h]);
      if (h % 50 == 7) o.value.reset();  // missing intervals
      Score s = m->Observe(o);
      EXPECT_TRUE(std::isfinite(s.severity) && std::isfinite(s.anomaly)) << base;
      if (h > 24 * 14 && s.severity >= 50) ++alarms;
    }
    EXPECT_LE(alarms, 3) << base;
  }
  // A sparse count series: mostly zeros, occasional ones.
  auto m = Make();
  std::mt19937 rng(1);
  std::bernoulli_distribution one(0.05);
  int alarms = 0;
  for (int h = 0; h < 24 * 30; ++h) {
    Score s = m->Observe(Obs(h, one(rng) ? 1.0 : 0.0));
    if (h > 24 * 14 && s.severity >= 50) ++alarms;
  }
  EXPECT_LE(alarms, 3);
}

TEST(RobustModelTest, SaveRestoreGivesBitIdenticalScores) {
  auto v = Hourly(24 * 40, 11);
  auto a = Make();
  const int half = 24 * 20 + 5;
  for (int h = 0; h < half; ++h) a->Observe(Obs(h, v[h]));
  std::string state = a->SaveState();
  EXPECT_LE(state.size(), 2048u);
  auto b = *RobustSeasonalModel::Restore(Opts(3600), state);
  for (int h = half; h < static_cast<int>(v.size()); ++h) {
    Score sa = a->Observe(Obs(h, v[h]));
    Score sb = b->Observe(Obs(h, v[h]));
    ASSERT_EQ(std::memcmp(&sa.severity, &sb.severity, sizeof(double)), 0);
    ASSERT_EQ(std::memcmp(&sa.anomaly, &sb.anomaly, sizeof(double)), 0);
    ASSERT_EQ(std::memcmp(&sa.expected, &sb.expected, sizeof(double)), 0);
  }
  EXPECT_EQ(a->SaveState(), b->SaveState());
}

TEST(RobustModelTest, RejectsCorruptState) {
  auto a = Make();
  std::string state = a->SaveState();
  EXPECT_EQ(RobustSeasonalModel::Restore(Opts(3600), state.substr(0, 5)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(RobustSeasonalModel::Restore(Opts(600), state).status().code(),
            StatusCode::kDataLoss);
  state[0] = 99;
  EXPECT_EQ(RobustSeasonalModel::Restore(Opts(3600), state).status().code(),
            StatusCode::kDataLoss);
}

TEST(StreamTest, ScoresAreInUnitIntervalAndCausal) {
  auto v = Hourly(24 * 20, 13);
  std::vector<StreamRow> rows;
  for (int h = 0; h < static_cast<int>(v.size()); ++h) rows.push_back({h * 3600LL, v[h]});
  auto all = ScoreStream(rows, {});
  ASSERT_TRUE(all.ok());
  rows.resize(rows.size() / 2);
  auto half = ScoreStream(rows, {});
  ASSERT_TRUE(half.ok());
  for (size_t i = 0; i < half->size(); ++i) {
    EXPECT_EQ((*half)[i].anomaly, (*all)[i].anomaly);
    EXPECT_GE((*all)[i].anomaly, 0.0);
    EXPECT_LE((*all)[i].anomaly, 1.0);
  }
}

// The published stream configuration (novelty engine, KNN channels, quiet
// period, debounce) is causal too, over long enough a series for the long
// KNN channel to score (5-minute rows, ~30 days), and one event alarms once.
TEST(StreamTest, DefaultOptionsAreCausalAndAlarmOncePerEvent) {
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0, 1);
  std::vector<StreamRow> rows;
  const int n = 288 * 30;
  for (int i = 0; i < n; ++i) {
    double v = 50 + 20 * std::sin(2 * M_PI * (i % 288) / 288.0) + noise(rng);
    if (i >= 7000 && i < 7030) v += 60;  // an event
    rows.push_back({i * 300LL, v});
  }
  const StreamOptions o = DefaultStreamOptions();
  auto all = ScoreStream(rows, o);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  int alarms = 0;
  for (int i = 6990; i < 7300; ++i) alarms += (*all)[static_cast<size_t>(i)].anomaly >= o.alarm_level;
  EXPECT_EQ(alarms, 1);
  rows.resize(7010);
  auto part = ScoreStream(rows, o);
  ASSERT_TRUE(part.ok());
  for (size_t i = 0; i < part->size(); ++i) {
    ASSERT_EQ((*part)[i].anomaly, (*all)[i].anomaly) << i;
    ASSERT_GE((*all)[i].anomaly, 0.0);
    ASSERT_LE((*all)[i].anomaly, 1.0);
  }
}

}  // namespace
}  // namespace osprey::detect
