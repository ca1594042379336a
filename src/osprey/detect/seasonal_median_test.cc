#include "osprey/detect/seasonal_median.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <string>

namespace osprey::detect {
namespace {

ModelOptions Opts(int64_t interval_seconds) {
  ModelOptions o;
  o.interval_seconds = interval_seconds;
  o.sensitivity = 50;
  return o;
}


// An hourly series with a daily cycle and noise, fixed seed.
std::vector<double> DailySeries(int hours, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 5);
  std::vector<double> v;
  for (int h = 0; h < hours; ++h) {
    v.push_back(200 + 80 * std::sin(2 * M_PI * (h % 24) / 24.0) + noise(rng));
  }
  return v;
}

Observation Obs(int h, double v) { return {h * 3600LL, h * 3600LL, v}; }

TEST(SeasonalMedianTest, WarmsUpThenFlagsSpikeButNotNoise) {
  auto model = *SeasonalMedianModel::Create(Opts(3600));
  auto series = DailySeries(24 * 40, 7);
  series[24 * 30 + 5] += 150;
  int flagged_normal = 0;
  for (int h = 0; h < static_cast<int>(series.size()); ++h) {
    Score s = model->Observe(Obs(h, series[h]));
    if (h < 24 * 21) {  // three weeks for the weekly predictor, one more for its errors
      EXPECT_FALSE(s.ready) << h;
      continue;
    }
    if (h < 24 * 28) continue;
    ASSERT_TRUE(s.ready) << h;
    if (h == 24 * 30 + 5) {
      EXPECT_GT(s.severity, 80);
      EXPECT_EQ(s.direction, Direction::kUp);
      EXPECT_GT(s.value, s.upper);
    } else if (s.severity >= 50) {
      ++flagged_normal;
    }
  }
  EXPECT_LE(flagged_normal, 2);
}

TEST(SeasonalMedianTest, WarmupCountsTowardsTheFirstReadyScore) {
  auto model = *SeasonalMedianModel::Create(Opts(3600));
  EXPECT_EQ(model->Warmup().seen, 0);
  EXPECT_EQ(model->Warmup().needed, 28 * 24);
  auto series = DailySeries(24 * 30, 11);
  int64_t last_seen = 0;
  for (int h = 0; h < static_cast<int>(series.size()); ++h) {
    const WarmupStatus before = model->Warmup();
    Score s = model->Observe(Obs(h, series[h]));
    // Warm-up says ready exactly when scores are: every hour of the day is
    // scored from day 28 on, and only then.
    EXPECT_EQ(before.ready(), s.ready) << h;
    const WarmupStatus after = model->Warmup();
    EXPECT_GE(after.seen, last_seen) << "progress never goes back on full data";
    last_seen = after.seen;
    if (h == 10 * 24 - 1) {
      EXPECT_EQ(after.seen, 10 * 24);
    }
    if (h == 20 * 24 - 1) {
      EXPECT_EQ(after.seen, 20 * 24);
    }
  }
  EXPECT_TRUE(model->Warmup().ready());
  EXPECT_EQ(model->Warmup().seen, 28 * 24);
  // Restored models report the same progress.
  auto restored = *SeasonalMedianModel::Restore(Opts(3600), model->SaveState());
  EXPECT_EQ(restored->Warmup().seen, model->Warmup().seen);
  // Longer intervals: a daily series needs 28 days, a weekly one 14 weeks.
  EXPECT_EQ((*SeasonalMedianModel::Create(Opts(86400)))->Warmup().needed, 28);
  EXPECT_EQ((*SeasonalMedianModel::Create(Opts(7 * 86400)))->Warmup().needed, 14);
  EXPECT_EQ((*SeasonalMedianModel::Create(Opts(60)))->Warmup().needed, 28 * 1440);
}

TEST(SeasonalMedianTest, SaveRestoreGivesBitIdenticalScores) {
  auto series = DailySeries(24 * 40, 11);
  auto a = *SeasonalMedianModel::Create(Opts(3600));
  int half = 24 * 20;
  for (int h = 0; h < half; ++h) a->Observe(Obs(h, series[h]));
  auto b = *SeasonalMedianModel::Restore(Opts(3600), a->SaveState());
  for (int h = half; h < static_cast<int>(series.size()); ++h) {
    Score sa = a->Observe(Obs(h, series[h]));
    Score sb = b->Observe(Obs(h, series[h]));
    ASSERT_EQ(std::memcmp(&sa.severity, &sb.severity, sizeof(double)), 0);
    ASSERT_EQ(std::memcmp(&sa.expected, &sb.expected, sizeof(double)), 0);
  }
}

TEST(SeasonalMedianTest, RejectsCorruptState) {
  auto a = *SeasonalMedianModel::Create(Opts(3600));
  std::string state = a->SaveState();
  EXPECT_EQ(SeasonalMedianModel::Restore(Opts(3600), state.substr(0, 3)).status().code(), StatusCode::kDataLoss);
  state[0] = 99;
  EXPECT_EQ(SeasonalMedianModel::Restore(Opts(3600), state).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(SeasonalMedianModel::Restore(Opts(600), a->SaveState()).status().code(), StatusCode::kDataLoss);
}

TEST(SeasonalMedianTest, ColdStartEmitsNoSeverityAndSaysWhy) {
  auto model = *SeasonalMedianModel::Create(Opts(3600));
  for (int h = 0; h < 24 * 7; ++h) {
    Score s = model->Observe({h * 3600LL, h * 3600LL, h % 24 == 3 ? 1000.0 : 10.0});
    ASSERT_FALSE(s.ready) << h;
    ASSERT_EQ(s.severity, 0) << h;
    ASSERT_NE(std::string(s.reason).find("warming up"), std::string::npos) << h;
  }
  Score gap = model->Observe({24 * 7 * 3600LL, 24 * 7 * 3600LL, std::nullopt});
  EXPECT_FALSE(gap.ready);
  EXPECT_FALSE(gap.reason.empty());
}

TEST(SeasonalMedianTest, RepeatedAnomaliesInOneSlotDoNotCorruptTheBaseline) {
  auto model = *SeasonalMedianModel::Create(Opts(3600));
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0, 3);
  const int weeks = 10;
  int false_alarms = 0;
  for (int h = 0; h < 24 * 7 * weeks; ++h) {
    const int week = h / (24 * 7);
    const bool anomaly = (week == 5 || week == 6) && h % (24 * 7) == 13;  // same slot twice
    const double v = 250 + 50 * std::sin(2 * M_PI * (h % 24) / 24.0) + noise(rng) +
                     (anomaly ? 450 : 0);
    Score s = model->Observe({h * 3600LL, h * 3600LL, v});
    if (week >= 7 && s.ready && s.severity >= 50) ++false_alarms;
  }
  EXPECT_EQ(false_alarms, 0);
}

// A holiday (day 30 at 40 % of normal) marked as a calendar event is scored
// but not learnt: afterwards the model is exactly the one that never saw the
// holiday's values, so the days after it (and the same slot next week) are
// scored against the pre-holiday baseline. Unmarked, the dip is learnt and
// widens the bands after it.
TEST(SeasonalMedianTest, AHolidayIsScoredButNotLearnt) {
  auto series = DailySeries(24 * 40, 13);
  const int holiday = 24 * 30;
  for (int h = holiday; h < holiday + 24; ++h) series[h] *= 0.4;
  const uint32_t id = EventId("Thanksgiving");
  auto marked = *SeasonalMedianModel::Create(Opts(3600));
  auto unmarked = *SeasonalMedianModel::Create(Opts(3600));
  auto unseen = *SeasonalMedianModel::Create(Opts(3600));  // the holiday's values missing
  int flagged = 0;
  double band_marked = 0, band_unmarked = 0;
  for (int h = 0; h < static_cast<int>(series.size()); ++h) {
    const bool in_event = h >= holiday && h < holiday + 24;
    Observation obs = Obs(h, series[h]);
    Observation event_obs = obs;
    if (in_event) event_obs.event = id;
    Observation missing = obs;
    if (in_event) missing.value.reset();
    const Score a = marked->Observe(event_obs);
    const Score b = unmarked->Observe(obs);
    const Score c = unseen->Observe(missing);
    if (in_event) {
      ASSERT_TRUE(a.ready) << h;  // scored against the normal expectation
      if (h == holiday) {
        EXPECT_EQ(a.severity, b.severity);
      }
      if (a.severity >= 50) ++flagged;
    } else if (h > holiday) {
      ASSERT_EQ(a.ready, c.ready) << h;
      EXPECT_EQ(a.expected, c.expected) << h;
      EXPECT_EQ(a.lower, c.lower) << h;
      EXPECT_EQ(a.upper, c.upper) << h;
      EXPECT_EQ(a.severity, c.severity) << h;
      if (h < holiday + 48) {
        band_marked += a.upper - a.lower;
        band_unmarked += b.upper - b.lower;
      }
    }
  }
  EXPECT_EQ(marked->SaveState(), unseen->SaveState());
  EXPECT_GE(flagged, 12);  // the dip itself is still seen
  EXPECT_GT(band_unmarked, band_marked * 1.02);  // learnt unmarked, the dip widened the bands
}

TEST(SeasonalMedianTest, ASuppressingEventRaisesNoAnomaly) {
  auto series = DailySeries(24 * 40, 7);
  const int spike = 24 * 30 + 5;
  series[spike] += 150;
  double severity[3] = {0, 0, 0};
  const EventEffect effects[3] = {EventEffect::kSuppress, EventEffect::kLearn, EventEffect::kLearn};
  for (int run = 0; run < 3; ++run) {
    auto model = *SeasonalMedianModel::Create(Opts(3600));
    for (int h = 0; h < static_cast<int>(series.size()); ++h) {
      Observation obs = Obs(h, series[h]);
      if (h == spike && run < 2) {
        obs.event = EventId("Promotion");
        obs.event_effect = effects[run];
      }
      const Score s = model->Observe(obs);
      if (h == spike) severity[run] = s.severity;
    }
  }
  EXPECT_GT(severity[2], 80);               // no event: a clear spike
  EXPECT_EQ(severity[1], severity[2]);      // learn: scored as usual
  EXPECT_LT(severity[0], 50);               // suppress: damped below min_severity
  EXPECT_NEAR(severity[0], 0.25 * severity[2], 1e-9);
}

}  // namespace
}  // namespace osprey::detect
