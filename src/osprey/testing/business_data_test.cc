#include "osprey/testing/business_data.h"

#include <gtest/gtest.h>

#include <cmath>

namespace osprey::testing {
namespace {

Dataset Make(std::string_view family, std::string_view setting, uint64_t seed) {
  auto params = SettingParams(family, setting, seed, /*quick=*/true);
  EXPECT_TRUE(params.ok()) << params.status().ToString();
  auto data = GenerateBusinessData(*params);
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  return std::move(*data);
}

// Points of series s not touched by any injected anomaly.
std::vector<bool> Clean(const Dataset& d, size_t s) {
  std::vector<bool> clean(d.points(), true);
  for (const Anomaly& a : d.anomalies) {
    for (int x : a.series) {
      if (static_cast<size_t>(x) != s) continue;
      for (int64_t t = a.begin; t < a.end; ++t) clean[static_cast<size_t>(t)] = false;
    }
  }
  return clean;
}

TEST(BusinessDataTest, SameSeedSameData) {
  const Dataset a = Make("hourly", "base", 7), b = Make("hourly", "base", 7);
  const Dataset c = Make("hourly", "base", 8);
  ASSERT_EQ(a.series.size(), b.series.size());
  bool differs = false;
  for (size_t s = 0; s < a.series.size(); ++s) {
    EXPECT_EQ(a.series[s].measures[1].value, b.series[s].measures[1].value);
    differs = differs || a.series[s].measures[1].value != c.series[s].measures[1].value;
  }
  EXPECT_TRUE(differs);
  EXPECT_EQ(a.anomalies.size(), b.anomalies.size());
}

TEST(BusinessDataTest, HourlyShape) {
  const Dataset d = Make("hourly", "base", 1);
  EXPECT_EQ(d.series.size(), 60u);
  EXPECT_EQ(d.points(), 112u * 24);
  EXPECT_EQ(d.zone, "America/New_York");
  // The UTC grid is hourly; local time follows DST (2024-03-10: a 23-hour day).
  for (size_t t = 1; t < d.points(); ++t) EXPECT_EQ(d.times[t] - d.times[t - 1], 3600);
  EXPECT_EQ(d.local_times[0] % 86400, 0);  // starts at local midnight
  int march10_hours = 0;
  const int64_t march10 = 19792;  // days since 1970-01-01
  for (int64_t lt : d.local_times) march10_hours += (lt >= march10 * 86400 && lt < (march10 + 1) * 86400);
  EXPECT_EQ(march10_hours, 23);

  int64_t rows = 0, absent = 0;
  for (size_t s = 0; s < d.series.size(); ++s) {
    const LeafSeries& leaf = d.series[s];
    const bool late = leaf.dims[2] == "shoes";
    for (size_t t = 0; t < d.points(); ++t) {
      const auto& v = leaf.measures[0].value[t];
      // A row is absent for both measures together.
      EXPECT_EQ(v.has_value(), leaf.measures[1].value[t].has_value());
      if (late && static_cast<int64_t>(t) < 70 * 24 - 5) {
        EXPECT_FALSE(v.has_value());
      }
      const int64_t hour = (d.local_times[t] % 86400) / 3600;
      if (leaf.dims[1] == "store" && (hour < 7 || hour >= 22) && v.has_value()) {
        EXPECT_EQ(*v, 0.0);  // closed: exact zeros
        EXPECT_EQ(leaf.measures[1].value[t].value(), 0.0);
      }
      if (!late || static_cast<int64_t>(t) >= 70 * 24) {
        ++rows;
        absent += !v.has_value();
      }
    }
  }
  // 1 % missing rows plus one 8-hour gap.
  const double share = static_cast<double>(absent) / static_cast<double>(rows);
  EXPECT_GT(share, 0.008);
  EXPECT_LT(share, 0.016);
}

TEST(BusinessDataTest, HolidaysAreCalendarEvents) {
  auto params = SettingParams("hourly", "base", 1, /*quick=*/false);
  ASSERT_TRUE(params.ok());
  auto d = GenerateBusinessData(*params);
  ASSERT_TRUE(d.ok());
  bool thanksgiving = false, christmas = false;
  for (const CalendarEvent& e : d->events) {
    if (e.name == "Thanksgiving 2024") {
      thanksgiving = true;
      EXPECT_EQ(e.local_start, 20055 * 86400);  // 2024-11-28
      EXPECT_EQ(e.recurrence, "thanksgiving");
    }
    if (e.name == "Christmas 2024") christmas = true;
  }
  EXPECT_TRUE(thanksgiving);
  EXPECT_TRUE(christmas);
  // The store is closed on Christmas: every store row of that day is 0.
  for (size_t s = 0; s < d->series.size(); ++s) {
    if (d->series[s].dims[1] != "store") continue;
    for (size_t t = 0; t < d->points(); ++t) {
      const int64_t lt = d->local_times[t];
      if (lt >= 20082 * 86400 && lt < 20083 * 86400 && d->series[s].measures[0].value[t]) {
        EXPECT_EQ(*d->series[s].measures[0].value[t], 0.0);
      }
    }
  }
}

// The oracle's expectation and sd are the ones the noise was drawn with:
// standardised residuals of untouched points have mean ~0 and variance ~1.
TEST(BusinessDataTest, RecordedExpectationAndSdMatchTheNoise) {
  for (const auto& [family, failed_requests] :
       {std::pair<const char*, bool>{"hourly", false}, {"ops", false}, {"ops", true}}) {
    auto params = SettingParams(family, "noisy", 3, /*quick=*/true);
    ASSERT_TRUE(params.ok());
    params->failed_requests = failed_requests;
    auto generated = GenerateBusinessData(*params);
    ASSERT_TRUE(generated.ok()) << generated.status().ToString();
    const Dataset& d = *generated;
    SCOPED_TRACE(failed_requests ? "errors as failed requests" : "errors around the expected requests");
    for (size_t m = 0; m < d.measures.size(); ++m) {
      double sum = 0, sum2 = 0;
      int64_t n = 0;
      for (size_t s = 0; s < d.series.size(); ++s) {
        const std::vector<bool> clean = Clean(d, s);
        const MeasureData& md = d.series[s].measures[m];
        for (size_t t = 0; t < d.points(); ++t) {
          if (!clean[t] || !md.value[t] || md.sd[t] <= 0) continue;
          // A ratio's recorded moments are the delta method's: checked
          // where its denominator expects at least 20.
          if (d.measures[m].kind == MeasureKind::kRatio &&
              d.series[s].measures[static_cast<size_t>(d.measures[m].weight_measure)].expected[t] < 20) {
            continue;
          }
          const double z = (*md.value[t] - md.expected[t]) / md.sd[t];
          sum += z;
          sum2 += z * z;
          ++n;
        }
      }
      ASSERT_GT(n, 10000) << family << " " << d.measures[m].name;
      const double mean = sum / static_cast<double>(n);
      const double var = sum2 / static_cast<double>(n) - mean * mean;
      EXPECT_NEAR(mean, 0.0, 0.03) << family << " " << d.measures[m].name;
      EXPECT_NEAR(var, 1.0, 0.1) << family << " " << d.measures[m].name;
    }
  }
}

TEST(BusinessDataTest, LabelsExceedTheNoiseAndIncidentsCoverTheirRootCause) {
  for (const char* family : {"hourly", "ops"}) {
    const Dataset d = Make(family, "base", 2);
    int labelled = 0;
    for (const Anomaly& a : d.anomalies) {
      EXPECT_GE(a.begin, d.warmup_points);
      for (size_t m = 0; m < d.measures.size(); ++m) {
        EXPECT_EQ(a.labelled[m], a.effect_z[m] >= 5.0);
        labelled += a.labelled[m];
      }
      for (int s : a.series) {
        for (const auto& [dim, value] : a.root_cause) {
          EXPECT_EQ(d.series[static_cast<size_t>(s)].dims[static_cast<size_t>(dim)], value);
        }
      }
      if (a.kind == AnomalyKind::kIncident) {
        EXPECT_GE(a.series.size(), 4u);
      }
    }
    EXPECT_GE(labelled, 15) << family;
  }
}

// An error rate (or a latency) exists only where there were requests: on a
// quiet leaf an error burst may fall on points with none, or on one or two
// requests whose rate is capped at 1. Such a burst is labelled only where
// the rates it can produce show it: at least two of its points have a
// value. (Labelled from a Gaussian of errors over expected requests, the
// error rate of seeds 1 and 2 had such events, some with no value at all.)
TEST(BusinessDataTest, RateAndLatencyLabelsHaveValuesToShowThem) {
  int labelled = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const Dataset d = Make("ops", "sparse", seed);
    for (const Anomaly& a : d.anomalies) {
      for (size_t m : {size_t{2}, size_t{3}}) {
        if (!a.labelled[m]) continue;
        ++labelled;
        int64_t with_value = 0;
        for (int s : a.series) {
          for (int64_t t = a.begin; t < a.end; ++t) {
            with_value +=
                d.series[static_cast<size_t>(s)].measures[m].value[static_cast<size_t>(t)].has_value();
          }
        }
        EXPECT_GE(with_value, 2) << "seed " << seed << " " << d.measures[m].name << " "
                                 << AnomalyKindName(a.kind) << " at " << a.begin;
      }
    }
  }
  EXPECT_GE(labelled, 10);
}

// With failed_requests, errors are failed requests: never more than the
// requests of their interval, and an error burst on a quiet leaf fails at
// most every one of them (error rate 1), which the sparse setting's bursts
// reach.
TEST(BusinessDataTest, ErrorsAreFailedRequests) {
  int64_t saturated = 0, with_errors = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    auto params = SettingParams("ops", "sparse", seed, /*quick=*/true);
    ASSERT_TRUE(params.ok());
    params->failed_requests = true;
    auto generated = GenerateBusinessData(*params);
    ASSERT_TRUE(generated.ok()) << generated.status().ToString();
    const Dataset& d = *generated;
    for (const LeafSeries& leaf : d.series) {
      for (size_t t = 0; t < d.points(); ++t) {
        const auto& requests = leaf.measures[0].value[t];
        const auto& errors = leaf.measures[1].value[t];
        ASSERT_EQ(requests.has_value(), errors.has_value());
        if (!requests) continue;
        ASSERT_LE(*errors, *requests) << "seed " << seed << " point " << t;
        with_errors += *errors > 0;
        saturated += *errors > 0 && *errors == *requests && *requests >= 2;
        if (*requests > 0) {
          ASSERT_TRUE(leaf.measures[3].value[t].has_value());
          EXPECT_DOUBLE_EQ(*leaf.measures[3].value[t], *errors / *requests);
        }
      }
    }
  }
  EXPECT_GT(with_errors, 1000);
  EXPECT_GT(saturated, 0);
}

TEST(BusinessDataTest, OpsMaintenanceIsPlannedAndScoped) {
  const Dataset d = Make("ops", "base", 1);
  EXPECT_EQ(d.series.size(), 48u);
  EXPECT_EQ(d.interval_seconds, 300);
  int planned = 0;
  for (const CalendarEvent& e : d.events) {
    EXPECT_TRUE(e.planned);
    ASSERT_EQ(e.scope.size(), 1u);
    EXPECT_EQ(e.scope[0].first, 0);  // a service
    ++planned;
  }
  EXPECT_GE(planned, 4);
  // Latency has no value where there were no requests.
  for (const LeafSeries& leaf : d.series) {
    for (size_t t = 0; t < d.points(); ++t) {
      const auto& req = leaf.measures[0].value[t];
      if (req && *req == 0) {
        EXPECT_FALSE(leaf.measures[2].value[t].has_value());
      }
    }
  }
}

TEST(BusinessDataTest, UnknownSettingIsAnError) {
  EXPECT_FALSE(SettingParams("hourly", "loud", 1, false).ok());
  EXPECT_FALSE(SettingParams("daily", "base", 1, false).ok());
}

}  // namespace
}  // namespace osprey::testing
