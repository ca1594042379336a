#include "osprey/detect/business_model.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>

namespace osprey::detect {
namespace {

constexpr int64_t kMonday = 1704067200;  // 2024-01-01T00:00:00Z, a Monday

// An hourly business-like rate: a day/evening profile, quieter weekends.
double Rate(int64_t t, double mean) {
  const double hod = static_cast<double>(t % 86400) / 3600.0;
  const int dow = static_cast<int>((t / 86400 + 3) % 7);
  const double day =
      0.3 + 1.5 * std::exp(-std::pow((hod - 13) / 4, 2)) + 0.5 * std::exp(-std::pow((hod - 20) / 2, 2));
  return mean * day * (dow >= 5 ? 0.6 : 1.0);
}

// Negative-binomial counts with mean `mu` and variance mu + alpha mu^2.
double Draw(std::mt19937_64& rng, double mu, double alpha) {
  if (mu <= 0) return 0;
  double lambda = mu;
  if (alpha > 0) lambda = std::gamma_distribution<double>(1 / alpha, alpha * mu)(rng);
  return static_cast<double>(std::poisson_distribution<long>(lambda)(rng));
}

Observation At(int64_t hour, std::optional<double> v) {
  Observation o;
  o.time = kMonday + hour * 3600;
  o.local_time = o.time;
  o.value = v;
  return o;
}

// An hourly model; `mean_of_rows` for an average over rows (AVG).
std::unique_ptr<Model> Make(double sensitivity = 50, bool mean_of_rows = false) {
  ModelOptions o;
  o.interval_seconds = 3600;
  o.sensitivity = sensitivity;
  o.mean_of_rows = mean_of_rows;
  return std::move(BusinessModel::Create(o)).value();
}

// Feeds `hours` hours of counts (mean `mean`, overdispersion `alpha`) and
// calls `check` with each score after `warm` hours; `edit` may change a
// value before it is observed.
void Feed(Model& m, int64_t hours, double mean, double alpha, uint64_t seed,
          const std::function<void(int64_t, double&)>& edit,
          const std::function<void(int64_t, const Score&)>& check) {
  std::mt19937_64 rng(seed);
  for (int64_t h = 0; h < hours; ++h) {
    double x = Draw(rng, Rate(kMonday + h * 3600, mean), alpha);
    edit(h, x);
    check(h, m.Observe(At(h, x)));
  }
}

TEST(BusinessModelTest, WarmsUpOnItsOwnHistoryAndSaysHowFar) {
  auto m = Make();
  EXPECT_EQ(m->Warmup().seen, 0);
  EXPECT_EQ(m->Warmup().needed, 72);  // three days of hours
  int64_t first_ready = -1;
  Feed(
      *m, 24 * 7, 20, 0.05, 1, [](int64_t, double&) {},
      [&](int64_t h, const Score& s) {
        if (s.ready && first_ready < 0) first_ready = h;
        if (!s.ready) {
          EXPECT_FALSE(s.reason.empty());
        }
      });
  EXPECT_EQ(first_ready, 72);
  EXPECT_TRUE(m->Warmup().ready());
}

TEST(BusinessModelTest, CountAwareZeroWhereTwentyExpectedButNotOneWhereFractionExpected) {
  auto m = Make();
  double zero_severity = 0, one_severity = 100;
  Feed(
      *m, 24 * 35, 20, 0.02, 2,
      [](int64_t h, double& x) {
        if (h == 24 * 30 + 13) x = 0;  // 13:00, ~35 expected
      },
      [&](int64_t h, const Score& s) {
        if (h == 24 * 30 + 13) zero_severity = s.severity;
      });
  EXPECT_GE(zero_severity, 80);

  auto quiet = Make();
  Feed(
      *quiet, 24 * 35, 0.4, 0.0, 3,
      [](int64_t h, double& x) {
        if (h == 24 * 30 + 3) x = 1;  // 03:00, ~0.15 expected
      },
      [&](int64_t h, const Score& s) {
        if (h == 24 * 30 + 3) one_severity = s.severity;
      });
  EXPECT_LT(one_severity, 20);
}

TEST(BusinessModelTest, ChoosesTheNoiseFamilyFromTheValues) {
  auto counts = Make();
  auto money = Make();
  auto real = Make();
  std::mt19937_64 rng(4);
  for (int64_t h = 0; h < 24 * 10; ++h) {
    const double x = Draw(rng, Rate(kMonday + h * 3600, 30), 0.05);
    counts->Observe(At(h, x));
    money->Observe(At(h, x * 41.37));
    real->Observe(At(h, x - 20));
  }
  EXPECT_EQ(dynamic_cast<BusinessModel&>(*counts).family(), NoiseFamily::kCount);
  EXPECT_EQ(dynamic_cast<BusinessModel&>(*money).family(), NoiseFamily::kPositive);
  EXPECT_EQ(dynamic_cast<BusinessModel&>(*real).family(), NoiseFamily::kReal);
  // Money learns its unit: the Poisson part scales with the price.
  EXPECT_GT(dynamic_cast<BusinessModel&>(*money).phi(), 5);
}

// A real-valued series (it went negative once) is judged by a Gaussian: a
// point's severity is its two-sided tail probability in the noise the score
// reports, extra relative noise included. Before, a point in a calendar
// event not seen before (100 % relative noise) was judged against that extra
// noise twice: a point five reported sds out scored 35 instead of 64.
TEST(BusinessModelTest, RealValuedSeverityIsTheDeviationInTheReportedNoise) {
  auto m = Make();
  std::mt19937_64 rng(8);
  std::normal_distribution<double> normal;
  int checked = 0;
  for (int64_t h = 0; h < 24 * 7 * 6; ++h) {
    Observation ob = At(h, h == 3 ? -5.0 : 100 + 5 * normal(rng));
    const bool event = h == 24 * 7 * 5 + 12;  // a holiday never seen before, at noon
    if (event) {
      ob.event = EventId("founders-day");
      ob.value = 600;
    }
    const Score s = m->Observe(ob);
    if (!s.ready || s.explanation == Explanation::kSustained || s.severity <= 1 || s.severity >= 99) continue;
    const double z = (*ob.value - s.expected) / s.noise;
    const double expected = 10 * -std::log10(std::erfc(std::fabs(z) / std::sqrt(2.0)));
    EXPECT_NEAR(s.severity, expected, 0.5) << "hour " << h << (event ? " (the event)" : "");
    if (event) std::printf("event point: z %.2f in the reported noise, severity %.1f\n", z, s.severity);
    checked += event ? 100 : 1;
  }
  ASSERT_EQ(dynamic_cast<BusinessModel&>(*m).family(), NoiseFamily::kReal);
  EXPECT_GE(checked, 110);  // the event and some ordinary points
}

TEST(BusinessModelTest, SustainedDipFoundWherePointsAloneAreWeak) {
  // 40 % of the orders for 12 hours from 11:00 on a Thursday: about 2.5
  // noise units per hour, which no single hour shows beyond doubt.
  const int64_t start = 24 * 38 + 11;
  auto m = Make();
  double max_in = 0, max_point_in = 0;
  bool sustained = false;
  Feed(
      *m, 24 * 40, 20, 0.03, 5,
      [&](int64_t h, double& x) {
        if (h >= start && h < start + 12) x = std::round(x * 0.4);
      },
      [&](int64_t h, const Score& s) {
        if (h >= start && h < start + 12) {
          max_in = std::max(max_in, s.severity);
          if (s.explanation == Explanation::kSustained) sustained = true;
          else max_point_in = std::max(max_point_in, s.severity);
        }
      });
  EXPECT_GE(max_in, 50);
  EXPECT_TRUE(sustained);
  EXPECT_LT(max_point_in, 50);
}

// Sixteen series each with three hours of orders at `factor` times the
// usual (`mean` sets the level: one or two an hour) or those orders'
// revenue: each hour is three to five sd, the three together are stronger
// evidence than any one. Clipped at a symmetric three sd, each hour entered the window
// sums short of its value's own skewed 3-sd quantile (a Poisson's is 4/3 of
// an order higher).
struct SpikeRuns {
  int found = 0;      // spikes whose highest severity reached 40
  double mean = 0;    // the spikes' highest severities, averaged
  int64_t clean = 0;  // clean hours flagged at 40
};

SpikeRuns ThreeHourSpikes(bool revenue, double mean = 1.5, double factor = 3.5) {
  const int64_t start = 24 * 40 + 11;
  const int seeds = 16;
  SpikeRuns out;
  for (int seed = 1; seed <= seeds; ++seed) {
    auto m = Make();
    std::mt19937_64 rng(100 + static_cast<uint64_t>(seed));
    std::lognormal_distribution<double> price(4.0, 0.6);
    double highest = 0;
    for (int64_t h = 0; h < start + 3; ++h) {
      double orders = Draw(rng, Rate(kMonday + h * 3600, mean), 0.05);
      if (h >= start) orders = std::round(orders * factor);
      double x = orders;
      if (revenue) {
        x = 0;
        for (double k = 0; k < orders; ++k) x += std::round(price(rng) * 100) / 100;
      }
      const Score s = m->Observe(At(h, x));
      if (h >= start) highest = std::max(highest, s.severity);
      else if (s.ready && h >= 24 * 14 && s.severity >= 40) ++out.clean;
    }
    out.found += highest >= 40;
    out.mean += highest / seeds;
  }
  std::printf(
      "%s: spikes at >= 40: %d of %d, mean highest severity %.1f; clean hours flagged at >= 40: %ld\n",
      revenue ? "revenue" : "orders", out.found, seeds, out.mean, static_cast<long>(out.clean));
  return out;
}

// Orders: 6 of 16 spikes reached 40, their highest severities 33.6 on
// average, with a symmetric clip (now 8, 35.5). Clean hours flagged at 40
// stay as rare (none).
TEST(BusinessModelTest, HoursOfASpikeAddUpAtTheirCountsOwnClip) {
  const SpikeRuns orders = ThreeHourSpikes(false);
  EXPECT_GE(orders.found, 8);
  EXPECT_GE(orders.mean, 35);
  EXPECT_LE(orders.clean, 1);
}

// Revenue, three orders an hour expected and four times as many in the
// spike: money is judged as a scaled count, and its sums are clipped at
// that count's skewed quantile too. With a symmetric clip 3 of 16 spikes
// reached 40, their highest severities 30.1 on average (now 6, 36.9).
TEST(BusinessModelTest, HoursOfARevenueSpikeAddUpAtTheirOwnClip) {
  const SpikeRuns revenue = ThreeHourSpikes(true, 3, 4);
  EXPECT_GE(revenue.found, 6);
  EXPECT_GE(revenue.mean, 36);
  EXPECT_LE(revenue.clean, 1);
}

TEST(BusinessModelTest, LevelShiftAlertsThenIsAdopted) {
  const int64_t start = 24 * 40;
  auto m = Make();
  double first_day = 0, third_day = 0;
  Feed(
      *m, 24 * 46, 40, 0.01, 6,
      [&](int64_t h, double& x) {
        if (h >= start) x = std::round(x * 1.8);
      },
      [&](int64_t h, const Score& s) {
        if (h >= start && h < start + 24) first_day = std::max(first_day, s.severity);
        if (h >= start + 72 && h < start + 96) third_day = std::max(third_day, s.severity);
      });
  EXPECT_GE(first_day, 70);
  EXPECT_LT(third_day, 50);
}

TEST(BusinessModelTest, FlaggedPointsDoNotPoisonTheBaseline) {
  // An 8-hour outage; the same hours a week later are normal again and must
  // be scored as normal (the zeros were not learnt).
  const int64_t start = 24 * 40 + 9;
  auto m = Make();
  double outage = 0, week_after = 0;
  Feed(
      *m, 24 * 48, 25, 0.02, 7,
      [&](int64_t h, double& x) {
        if (h >= start && h < start + 8) x = 0;
      },
      [&](int64_t h, const Score& s) {
        if (h >= start && h < start + 8) outage = std::max(outage, s.severity);
        if (h >= start + 168 && h < start + 176) week_after = std::max(week_after, s.severity);
      });
  EXPECT_GE(outage, 80);
  EXPECT_LT(week_after, 40);
}

TEST(BusinessModelTest, AllZeroSeriesStaysQuietAndMissingIsNotScored) {
  auto m = Make();
  for (int64_t h = 0; h < 24 * 30; ++h) {
    const Score s = m->Observe(At(h, h % 50 == 7 ? std::nullopt : std::optional<double>(0.0)));
    EXPECT_LT(s.severity, 5);
    if (h % 50 == 7) {
      EXPECT_FALSE(s.ready);
    }
  }
}

TEST(BusinessModelTest, EventsAreNotLearntAndTheirEffectIsExpectedNextTime) {
  // A holiday on day 30 and day 30 + 364 (same weekday). The first time the
  // series falls to 30 %: an unknown effect, no alarm, and not learnt into
  // the baseline. The second time the series stays normal: against the
  // learnt effect that is the surprise.
  auto m = Make();
  const uint32_t holiday = EventId("Holiday");
  std::mt19937_64 rng(8);
  double first = 0, second = 0, day_after = 0;
  for (int64_t h = 0; h < 24 * 400; ++h) {
    const int64_t day = h / 24;
    double x = Draw(rng, Rate(kMonday + h * 3600, 30) * (day == 30 ? 0.3 : 1.0), 0.02);
    Observation o = At(h, x);
    if (day == 30 || day == 30 + 364) o.event = holiday;
    const Score s = m->Observe(o);
    if (day == 30) first = std::max(first, s.severity);
    if (day == 30 + 364) second = std::max(second, s.severity);
    if (day == 31) day_after = std::max(day_after, s.severity);
  }
  EXPECT_LT(first, 30);
  EXPECT_LT(day_after, 30);  // the holiday did not drag the baseline down
  EXPECT_GE(second, 50);
}

TEST(BusinessModelTest, SuppressedEventIsDamped) {
  auto plain = Make();
  auto damped = Make();
  std::mt19937_64 rng(9);
  double sev_plain = 0, sev_damped = 0;
  for (int64_t h = 0; h < 24 * 35; ++h) {
    double x = Draw(rng, Rate(kMonday + h * 3600, 30), 0.02);
    const bool in_event = h >= 24 * 32 + 10 && h < 24 * 32 + 14;
    if (in_event) x = 0;
    Observation o = At(h, x);
    sev_plain = std::max(sev_plain, in_event ? plain->Observe(o).severity : (plain->Observe(o), 0.0));
    if (in_event) {
      o.event = EventId("Maintenance");
      o.event_effect = EventEffect::kSuppress;
    }
    const Score s = damped->Observe(o);
    if (in_event) sev_damped = std::max(sev_damped, s.severity);
  }
  EXPECT_GE(sev_plain, 90);
  EXPECT_LT(sev_damped, 30);
}

TEST(BusinessModelTest, SaveRestoreContinuesBitIdentically) {
  ModelOptions o;
  o.interval_seconds = 300;  // interpolated hourly profile
  auto a = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(10);
  auto value = [&](int64_t i) {
    return Draw(rng, Rate(kMonday + i * 300, 3), 0.1) + (i % 997 == 0 ? 30 : 0);
  };
  Observation ev;
  for (int64_t i = 0; i < 288 * 20; ++i) {
    Observation ob{kMonday + i * 300, kMonday + i * 300, value(i)};
    if (i % 2000 < 12) ob.event = EventId("Deploy");
    a->Observe(ob);
  }
  auto b = std::move(BusinessModel::Restore(o, a->SaveState())).value();
  EXPECT_EQ(a->SaveState(), b->SaveState());
  for (int64_t i = 288 * 20; i < 288 * 25; ++i) {
    Observation ob{kMonday + i * 300, kMonday + i * 300, value(i)};
    const Score sa = a->Observe(ob), sb = b->Observe(ob);
    ASSERT_EQ(sa.severity, sb.severity) << i;
    ASSERT_EQ(sa.expected, sb.expected) << i;
  }
  EXPECT_LE(a->SaveState().size(), 4096u);
}

// Every field of two scores, bit for bit.
void ExpectSameScore(const Score& a, const Score& b, int64_t h) {
  ASSERT_EQ(a.ready, b.ready) << h;
  ASSERT_EQ(a.reason, b.reason) << h;
  for (auto f : {&Score::value, &Score::expected, &Score::lower, &Score::upper, &Score::severity,
                 &Score::noise, &Score::anomaly}) {
    ASSERT_EQ(std::memcmp(&(a.*f), &(b.*f), sizeof(double)), 0) << h << ": " << a.*f << " vs " << b.*f;
  }
  ASSERT_EQ(a.direction, b.direction) << h;
  ASSERT_EQ(a.explanation, b.explanation) << h;
}

// A model that has seen a lot: a ratio measure's series (its ratio block
// in use), events, negative values (the real family), two months.
std::string RichState(const ModelOptions& o) {
  auto m = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(5);
  for (int64_t h = 0; h < 24 * 60; ++h) {
    Observation ob = At(h, Draw(rng, Rate(kMonday + h * 3600, 40), 0.1) - (h % 50 == 0 ? 90 : 0));
    ob.denominator = 100 + static_cast<double>(h % 7);
    if (h % 300 < 5) ob.event = EventId(h % 600 < 300 ? "Sale" : "Holiday");
    m->Observe(ob);
  }
  return m->SaveState();
}

// A plain count series of ten days.
std::string PlainState(const ModelOptions& o) {
  auto m = std::move(BusinessModel::Create(o)).value();
  Feed(
      *m, 24 * 10, 20, 0.05, 3, [](int64_t, double&) {}, [](int64_t, const Score&) {});
  return m->SaveState();
}

// RestoreModelInto a model that held another state scores as RestoreModel
// does, bit for bit, whichever state it held: nothing of the old state
// (its ratio block, events, cached year factors) is left behind.
TEST(BusinessModelTest, RestoreIntoAUsedModelScoresAsAFreshRestore) {
  ModelOptions o;
  o.interval_seconds = 3600;
  const std::string rich = RichState(o), plain = PlainState(o);
  ASSERT_NE(rich.size(), plain.size());
  for (const auto& [held, wanted] : {std::pair(&rich, &plain), std::pair(&plain, &rich)}) {
    auto fresh = std::move(RestoreModel(o, *wanted)).value();
    std::unique_ptr<Model> reused = std::move(RestoreModel(o, *held)).value();
    // The held model has scored (its caches are warm) before it is reused.
    std::mt19937_64 warm(9);
    for (int64_t h = 24 * 60; h < 24 * 61; ++h) reused->Observe(At(h, Draw(warm, 30, 0.1)));
    const Model* before = reused.get();
    ASSERT_TRUE(RestoreModelInto(o, *wanted, &reused).ok());
    EXPECT_EQ(reused.get(), before);  // restored in place
    EXPECT_EQ(reused->SaveState(), *wanted);
    std::mt19937_64 rng(11);
    for (int64_t h = 24 * 61; h < 24 * 75; ++h) {
      Observation ob = At(h, Draw(rng, Rate(kMonday + h * 3600, 35), 0.1) * (h % 97 == 0 ? 4 : 1));
      if (wanted == &rich) ob.denominator = 100;
      if (h % 200 < 3) ob.event = EventId("Sale");
      ExpectSameScore(fresh->Observe(ob), reused->Observe(ob), h);
      if (HasFatalFailure()) return;
    }
    EXPECT_EQ(fresh->SaveState(), reused->SaveState());
  }
}

// Other options make a new model; a corrupt state leaves none; SaveStateInto
// writes SaveState's bytes over whatever its buffer held.
TEST(BusinessModelTest, RestoreIntoOtherOptionsOrACorruptStateAndSaveInto) {
  ModelOptions o;
  o.interval_seconds = 3600;
  const std::string plain = PlainState(o);
  ModelOptions other = o;
  other.sensitivity = 70;
  std::unique_ptr<Model> m = std::move(RestoreModel(other, RichState(other))).value();
  ASSERT_TRUE(RestoreModelInto(o, plain, &m).ok());
  auto fresh = std::move(RestoreModel(o, plain)).value();
  std::mt19937_64 rng(2);
  for (int64_t h = 240; h < 24 * 20; ++h) {
    const Observation ob = At(h, Draw(rng, Rate(kMonday + h * 3600, 20), 0.05) + (h == 400 ? 80 : 0));
    ExpectSameScore(fresh->Observe(ob), m->Observe(ob), h);
    if (HasFatalFailure()) return;
  }
  std::string buffer(20000, 'x');
  m->SaveStateInto(&buffer);
  EXPECT_EQ(buffer, m->SaveState());
  Status s = RestoreModelInto(o, plain.substr(0, plain.size() - 5), &m);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(m, nullptr);
}

TEST(BusinessModelTest, RefusesOtherStatesClearly) {
  ModelOptions o;
  // A state of the earlier seasonal-median default (version byte 4, slot
  // count, period, ...): refused, so the pipeline retrains the series.
  std::string median_state("\x04\x18\x00\x00\x00", 5);
  median_state.append(64, '\0');
  auto r = BusinessModel::Restore(o, median_state);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("not a business-model state"), std::string::npos);
  auto m = Make();
  m->Observe(At(0, 1.0));
  std::string state = m->SaveState();
  ModelOptions daily;
  daily.interval_seconds = 86400;
  EXPECT_FALSE(BusinessModel::Restore(daily, state).ok());
  EXPECT_FALSE(BusinessModel::Restore(o, state.substr(0, state.size() - 3)).ok());
  EXPECT_TRUE(BusinessModel::Restore(o, state).ok());
}

// The ratio block of versions up to 4 ("RAT1": a tag, the proportion flag,
// six sums and a count; "RAT2" adds the typical denominator and its count,
// "RAT3" the decayed counts of values outside [0, 1] and of all values;
// "RAT4", version 8, the orientation in the flags byte).
constexpr size_t kRatioV1Bytes = 4 + 1 + 6 * 8 + 8;

// Where an hourly model's state (168 slots of the week, 24 of the day)
// holds the shift run's counters: after the magic, version, slot count and
// interval (15 bytes), the week's profile and visit counts (168 x 5), the
// day's (24 x 6), the packed stuck counters (6 + 21), the weekday sums
// (2 x 28), the level (16), family and zero flag (2), the noise fit (8 x 8
// + 3 x 8), the long sums (5 x 8), the ring (3 x 48 x 4 + 8) and the scan's
// excess and learnt error (2 x 10 x 8).
constexpr size_t kHourlyRunAt = 1972;

// Where an hourly state counts its calendar events: after the shift run's
// counters (2 x 4 + 1 + 2 x 8), the last time and the values observed (2 x 8).
constexpr size_t kHourlyEventsAt = kHourlyRunAt + 41;

// A version-10 state with the content of a version-11 one: without money's
// sale unit (two doubles, an int32 and a float) and the mean spacing of the
// values (a float), before a ratio series' noise block, which is
// kRatioV1Bytes + 48 bytes since version 8.
std::string AsVersion10(const std::string& now, bool ratio) {
  const size_t tail = ratio ? kRatioV1Bytes + 48 : 0;
  const size_t sale = 8 + 8 + 4 + 4 + 4;
  const size_t at = now.size() - tail - sale;
  std::string out = now.substr(0, at) + now.substr(at + sale);
  out[2] = 10;
  return out;
}

// A version-9 state with the content of a version-10 one: each event in 40
// bytes (uint32 id and occurrences, three doubles, int64 seconds of its last
// interval, 0 for none) instead of 21 (uint8 occurrences, floats, int32
// hours), and no count of the ring's event intervals after them.
std::string AsVersion9(const std::string& now) {
  const auto events = static_cast<uint8_t>(now[kHourlyEventsAt]);
  std::string out = now.substr(0, kHourlyEventsAt + 1);
  size_t at = kHourlyEventsAt + 1;
  auto take = [&](auto& v) {
    std::memcpy(&v, now.data() + at, sizeof v);
    at += sizeof v;
  };
  auto put = [&](auto v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  for (uint8_t i = 0; i < events; ++i) {
    uint32_t id = 0;
    uint8_t occurrences = 0;
    float factor = 0, num = 0, den = 0;
    int32_t last_hour = 0;
    take(id);
    take(occurrences);
    take(factor);
    take(num);
    take(den);
    take(last_hour);
    put(id);
    put(uint32_t{occurrences});
    put(double{factor});
    put(double{num});
    put(double{den});
    put(last_hour == INT32_MIN ? int64_t{0} : int64_t{last_hour} * 3600);
  }
  EXPECT_EQ(now[at], 0) << "a state inside a scanned event cannot be told to version 9";
  ++at;  // the ring's event tail
  out += now.substr(at);
  out[2] = 9;
  return out;
}

// A version-8 state with the content of a version-9 one: the run as one
// int64 of its points, not two int32s of its points and span.
std::string AsVersion8(const std::string& now) {
  int32_t points = 0, span = 0;
  std::memcpy(&points, now.data() + kHourlyRunAt, sizeof points);
  std::memcpy(&span, now.data() + kHourlyRunAt + sizeof points, sizeof span);
  EXPECT_EQ(points, span) << "a run whose span is not its points cannot be told to version 8";
  const int64_t run = points;
  std::string out = now;
  std::memcpy(out.data() + kHourlyRunAt, &run, sizeof run);
  out[2] = 8;
  return out;
}

// A version-7 state with the content of a version-8 one: a ratio block
// without the orientation ("RAT3": its flags byte only says whether the
// series is a proportion) and without the factorial-moment sums (16 bytes
// at its end).
std::string AsVersion7(const std::string& now, bool ratio) {
  std::string out = ratio ? now.substr(0, now.size() - 16) : now;
  if (ratio) {
    const size_t tag = out.size() - kRatioV1Bytes - 16 - 16;
    out[tag + 3] = '3';
    out[tag + 4] = static_cast<char>(out[tag + 4] & 1);
  }
  out[2] = 7;
  return out;
}

// A version-6 state with the content of a version-7 one: a ratio block
// without the values outside [0, 1] ("RAT2").
std::string AsVersion6(const std::string& now, bool ratio) {
  std::string out = ratio ? now.substr(0, now.size() - 16) : now;
  if (ratio) out[out.size() - kRatioV1Bytes - 16 + 3] = '2';
  out[2] = 6;
  return out;
}

// A version-5 state with the content of a version-6 one: no typical row
// count (a float before the ratio block).
std::string AsVersion5(const std::string& now, bool ratio) {
  const size_t tail = ratio ? kRatioV1Bytes + 16 : 0;
  const size_t at = now.size() - tail - sizeof(float);
  std::string out = now.substr(0, at) + now.substr(at + sizeof(float));
  out[2] = 5;
  return out;
}

// A version-4 state with the content of a version-5 one: no level a return
// to is confirmed sooner and no body rate (8 + 8 + 4 bytes before the ratio
// block), and a ratio block without the typical denominator.
std::string AsVersion4(const std::string& now, bool ratio) {
  const size_t tail = ratio ? kRatioV1Bytes + 16 : 0;
  const size_t at = now.size() - tail - 20;
  std::string out = now.substr(0, at);
  if (ratio) {
    std::string block = now.substr(now.size() - tail, kRatioV1Bytes);
    block[3] = '1';
    out += block;
  }
  out[2] = 4;
  return out;
}

// A version-3 state with the content of a version-4 one: without the visit
// being counted (int64 + 2 x uint16), which comes last, before a ratio
// series' noise block.
std::string AsVersion3(const std::string& now, bool ratio) {
  const size_t tail = ratio ? kRatioV1Bytes : 0;
  const size_t visit = 8 + 2 * 2;
  const size_t at = now.size() - tail - visit;
  std::string out = now.substr(0, at) + now.substr(at + visit);
  out[2] = 3;
  return out;
}

// A version-2 state with the content of a version-3 hourly state: the stuck counters one byte each (version 3
// packs them: 24 x 2 bits, 168 x 1 bit), and no yearly profile at the end (132 weeks of 2 + 7 bytes, the 7
// days of the week being filled, the day being filled and its three sums).
std::string AsVersion2(const std::string& now) {
  const size_t slots = 168, day_slots = 24;
  const size_t stuck_at = 2 + 1 + 4 + 8 + slots * 4 + slots + day_slots * 4 + day_slots * 2;
  std::string out = now.substr(0, stuck_at);
  out[2] = 2;
  const auto bit = [&](size_t byte, size_t shift, unsigned mask) {
    return static_cast<char>((static_cast<unsigned char>(now[stuck_at + byte]) >> shift) & mask);
  };
  for (size_t i = 0; i < day_slots; ++i) out += bit(i / 4, 2 * (i % 4), 3);
  for (size_t i = 0; i < slots; ++i) out += bit(day_slots / 4 + i / 8, i % 8, 1);
  const size_t rest = stuck_at + day_slots / 4 + slots / 8;
  const size_t year_bytes = BusinessModel::kYearWeeks * 9 + 7 * sizeof(float) + 4 * 8;
  out += now.substr(rest, now.size() - rest - year_bytes);
  return out;
}

TEST(BusinessModelTest, OlderStatesAreMigratedAndNewerOnesRefused) {
  ModelOptions o;
  o.interval_seconds = 3600;
  o.mean_of_rows = true;
  auto a = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(3);
  // A day of the week flagged once (its stuck counters are 1), so the
  // packed counters are not all zero.
  for (int64_t h = 0; h < 24 * 21; ++h)
    a->Observe(At(h, 50 + Draw(rng, 5, 0.1) + (h == 24 * 20 + 5 ? 500 : 0)));
  const std::string now = a->SaveState();
  ASSERT_EQ(now[2], 11);
  // Version 10 lacked money's sale unit (none here) and the values' mean
  // spacing (1 here: every interval has a value). Version 9 kept each calendar event in 40 bytes (none
  // here). Version 8 kept the shift run as one count of its points (as its span too). Versions 7 and 6
  // differed only in a ratio series' block (none here). Version 5 lacked the typical row count of an average
  // (Observation::rows; none here). Version 4 also the level a return to is confirmed sooner; version 3 also
  // the visit being counted, and did not weigh a proportion's sums by the denominator
  // (ProportionStatesOfVersion3KeepTheirLevel).
  const std::string v10 = AsVersion10(now, false);
  const std::string v9 = AsVersion9(v10);
  const std::string v8 = AsVersion8(v9);
  const std::string v7 = AsVersion7(v8, false);
  const std::string v6 = AsVersion6(v7, false);
  const std::string v5 = AsVersion5(v6, false);
  const std::string v4 = AsVersion4(v5, false);
  const std::string v3 = AsVersion3(v4, false);
  const std::string v2 = AsVersion2(v3);
  // Version 1 also ended before the 24 + 24 time-of-day noise floats.
  std::string v1 = v2.substr(0, v2.size() - 2 * 24 * sizeof(float));
  v1[2] = 1;
  for (const std::string* old :
       std::array<const std::string*, 10>{&v1, &v2, &v3, &v4, &v5, &v6, &v7, &v8, &v9, &v10}) {
    auto b = BusinessModel::Restore(o, *old);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    // Migrated: what the old version lacked starts empty, and the state is
    // saved as the current version.
    const std::string resaved = (*b)->SaveState();
    EXPECT_EQ(resaved.size(), now.size());
    EXPECT_EQ(resaved[2], 11);
  }
  // Versions 3 and 4 lacked only what starts empty here (no sub-hourly
  // visit, no shift adopted).
  EXPECT_EQ(std::move(BusinessModel::Restore(o, v10)).value()->SaveState(), now);
  EXPECT_EQ(std::move(BusinessModel::Restore(o, v9)).value()->SaveState(), now);
  EXPECT_EQ(std::move(BusinessModel::Restore(o, v8)).value()->SaveState(), now);
  EXPECT_EQ(std::move(BusinessModel::Restore(o, v7)).value()->SaveState(), now);
  EXPECT_EQ(std::move(BusinessModel::Restore(o, v6)).value()->SaveState(), now);
  EXPECT_EQ(std::move(BusinessModel::Restore(o, v5)).value()->SaveState(), now);
  EXPECT_EQ(std::move(BusinessModel::Restore(o, v4)).value()->SaveState(), now);
  EXPECT_EQ(std::move(BusinessModel::Restore(o, v3)).value()->SaveState(), now);
  // Version 2 carried everything but the yearly profile: the stuck
  // counters come back as they were.
  auto b = std::move(BusinessModel::Restore(o, v2)).value();
  EXPECT_EQ(
      AsVersion2(AsVersion3(
          AsVersion4(
              AsVersion5(
                  AsVersion6(AsVersion7(AsVersion8(AsVersion9(AsVersion10(b->SaveState(), false))), false),
                             false),
                  false),
              false),
          false)),
      v2);
  std::string v12 = now;
  v12[2] = 12;
  auto c = BusinessModel::Restore(o, v12);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("newer osprey"), std::string::npos) << c.status().message();
}

// Calendar events of a version-9 state (40 bytes each, seconds, doubles)
// are narrowed to version 10's floats and hours without changing what the
// model goes on to do: their values were floats' and whole hours' already
// where the state came from version 10, and the model continues as the
// original. A version-9 state with more events than version 9 kept is
// corrupt.
TEST(BusinessModelTest, EventStatesOfVersion9AreNarrowed) {
  ModelOptions o;
  o.interval_seconds = 3600;
  auto a = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(8);
  auto observe = [&](Model& m, int64_t h) {
    Observation ob = At(h, 40 + Draw(rng, 10, 0.1));
    const int64_t day = h / 24;
    if (day % 9 == 4) ob.event = static_cast<uint32_t>(100 + (day / 9) % 5);  // five events in turn
    return m.Observe(ob);
  };
  int64_t h = 0;
  for (; h < 24 * 7 * 14; ++h) observe(*a, h);
  const std::string now = a->SaveState();
  ASSERT_EQ(now[2], 11);
  ASSERT_EQ(static_cast<uint8_t>(now[kHourlyEventsAt]), 5);
  const std::string v9 = AsVersion9(AsVersion10(now, false));
  EXPECT_EQ(v9.size(), now.size() + 5 * (40 - 21) - 1 - 28);
  auto b = BusinessModel::Restore(o, v9);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->SaveState(), now);
  std::mt19937_64 same = rng;
  for (int64_t end = h + 24 * 7 * 4; h < end; ++h) {
    rng = same;
    const Score sa = observe(*a, h);
    rng = same;
    const Score sb = observe(**b, h);
    same = rng;
    ASSERT_EQ(sa.severity, sb.severity) << h;
    ASSERT_EQ(sa.expected, sb.expected) << h;
  }
  // Version 9 kept at most 12 events.
  std::string crowded = v9.substr(0, kHourlyEventsAt) + static_cast<char>(13) + std::string(13 * 40, '\0') +
                        v9.substr(kHourlyEventsAt + 1 + 5 * 40);
  EXPECT_EQ(BusinessModel::Restore(o, crowded).status().code(), StatusCode::kDataLoss);
}

// The largest state: an hourly ratio series with every event slot learnt
// stays within 4 KiB.
TEST(BusinessModelTest, LargestStateFitsInFourKiB) {
  ModelOptions o;
  o.interval_seconds = 3600;
  auto m = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(5);
  for (int64_t h = 0; h < 24 * 7 * 60; ++h) {
    Observation ob = At(h, 0);
    const double requests = 100 + Draw(rng, 20, 0.05);
    ob.value = Draw(rng, requests * 0.02, 0.05) / requests;
    ob.denominator = requests;
    // Thirty events in turn, one every third day (four or five days each):
    // more than the model keeps (20, a year of a country's holidays).
    const int64_t day = h / 24;
    if (day % 3 == 0) ob.event = static_cast<uint32_t>(1 + (day / 3) % 30);
    m->Observe(ob);
  }
  const std::string state = m->SaveState();
  std::printf("state: %zu bytes\n", state.size());
  EXPECT_LE(state.size(), 4096u);
  EXPECT_GT(state.size(), 3500u);  // the event slots and the ratio noise are in it
}

// An average over rows (latency over requests) is noisier at night, when
// there are few rows, than its level says. With mean_of_rows the model learns
// the noise per time of day, so quiet hours do not flood with alarms.
TEST(BusinessModelTest, AveragesLearnTheirNoiseByTimeOfDay) {
  auto night_and_day_rates = [](bool mean_of_rows) {
    auto m = Make(50, mean_of_rows);
    std::mt19937_64 rng(21);
    int64_t night = 0, night_n = 0, day = 0, day_n = 0;
    for (int64_t h = 0; h < 24 * 7 * 16; ++h) {
      const int64_t hod = h % 24;
      const bool is_night = hod < 6;
      // 50 ms on average; night-time means over few requests: 4x the sd.
      const double sd = is_night ? 8.0 : 2.0;
      const double x = std::max(1.0, 50 + sd * std::normal_distribution<double>()(rng));
      const Score s = m->Observe(At(h, x));
      if (!s.ready || h < 24 * 7 * 4) continue;
      (is_night ? night_n : day_n) += 1;
      (is_night ? night : day) += s.severity >= 30;
    }
    return std::pair<double, double>(static_cast<double>(night) / static_cast<double>(night_n),
                                     static_cast<double>(day) / static_cast<double>(day_n));
  };
  const auto [night_on, day_on] = night_and_day_rates(true);
  const auto [night_off, day_off] = night_and_day_rates(false);
  std::printf(
      "rate >= 30 (nominal 1e-3): by time of day: night %.2e day %.2e; one noise: night %.2e day %.2e\n",
      night_on, day_on, night_off, day_off);
  EXPECT_LT(night_on, 5e-3);
  EXPECT_LT(day_on, 5e-3);
  EXPECT_GT(night_off, 2e-2);  // the single noise model floods the night
}

// An average over rows whose number is known (Observation::rows): a mean of
// two requests' latencies is far noisier than a mean of forty, whatever the
// time of day. Requests come at random around a daily profile, so an hour
// with few of them is not predictable from the hour alone: with the rows the
// model scales its noise by each point's own count, and a slowdown of busy
// hours stands out. Without them it can only learn the noise of each time of
// day, which the hours with few requests inflate: the slowdown stays below
// the default threshold.
TEST(BusinessModelTest, AveragesAreJudgedByTheirRows) {
  struct Rates {
    double clean30 = 0, clean50 = 0, slow = 0;
  };
  auto run = [](bool with_rows) {
    auto m = Make(50, true);
    std::mt19937_64 rng(33);
    std::normal_distribution<double> normal;
    const double sigma = 0.8;  // each request's latency: lognormal, mean 100 ms
    int64_t clean = 0, n30 = 0, n50 = 0;
    double slow = 0;
    const int64_t slow_from = 24 * 7 * 9 + 24 * 2 + 10;  // Wednesday of week 10, 10:00-16:00
    for (int64_t h = 0; h < 24 * 7 * 10; ++h) {
      const auto requests =
          static_cast<double>(std::poisson_distribution<long>(Rate(kMonday + h * 3600, 8))(rng));
      const bool slowdown = h >= slow_from && h < slow_from + 6;
      double sum = 0;
      for (int k = 0; k < static_cast<int>(requests); ++k) {
        sum += 100 * std::exp(sigma * normal(rng) - sigma * sigma / 2);
      }
      Observation ob = At(h, std::nullopt);
      if (requests > 0) ob.value = std::round(sum / requests * (slowdown ? 1.6 : 1.0) * 100) / 100;
      if (with_rows && requests > 0) ob.rows = requests;
      const Score s = m->Observe(ob);
      if (slowdown) slow = std::max(slow, s.severity);
      if (!s.ready || h < 24 * 7 * 3 || slowdown || !ob.value) continue;
      ++clean;
      n30 += s.severity >= 30;
      n50 += s.severity >= 50;
    }
    return Rates{static_cast<double>(n30) / static_cast<double>(clean),
                 static_cast<double>(n50) / static_cast<double>(clean), slow};
  };
  const Rates rows = run(true), none = run(false);
  std::printf(
      "clean rate >= 30 / >= 50 (nominal 1e-3 / 1e-5), slowdown's top severity: with rows %.2e / %.2e, %.1f; "
      "without %.2e / %.2e, %.1f\n",
      rows.clean30, rows.clean50, rows.slow, none.clean30, none.clean50, none.slow);
  EXPECT_LT(rows.clean30, 5e-3);
  EXPECT_LT(rows.clean50, 2e-3);
  EXPECT_GE(rows.slow, 60);
  EXPECT_LT(none.slow, 50);
}

// The day-of-week factor compares a day's values with the daily profile.
// On the first day of a series that profile is learnt from the same values
// (divided by the factor), so the two would feed each other: with 5-minute
// data the first Monday taught a factor that put the next Monday's
// expectations 16 % above the truth (the business benchmark's latencies:
// 79 %, and a night of false alarms). No weekday effect here: the second
// Monday is expected as the first was.
TEST(BusinessModelTest, DayOfWeekFactorIsNotLearntOnTheFirstDay) {
  for (const int64_t interval : {int64_t{300}, int64_t{3600}}) {
    ModelOptions o;
    o.interval_seconds = interval;
    o.mean_of_rows = true;
    auto m = std::move(BusinessModel::Create(o)).value();
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> noise(0.0, 0.1);
    double ratio = 0;
    int64_t n = 0, flags = 0;
    for (int64_t i = 0; i < 8 * 86400 / interval; ++i) {
      const int64_t t = kMonday + i * interval;
      const double hod = static_cast<double>(t % 86400) / 3600.0;
      const double mu = 10 * (1 + 0.5 * std::sin(hod / 24 * 6.283));
      Observation ob;
      ob.time = ob.local_time = t;
      ob.value = mu * noise(rng);
      const Score s = m->Observe(ob);
      if (i * interval < 7 * 86400) continue;
      ratio += s.expected / mu;
      ++n;
      flags += s.severity >= 50;
    }
    ratio /= static_cast<double>(n);
    std::printf("interval %lld s: second Monday expected / true %.3f, %lld flags at >= 50\n",
                static_cast<long long>(interval), ratio, static_cast<long long>(flags));
    EXPECT_NEAR(ratio, 1.0, 0.05) << interval;
    EXPECT_EQ(flags, 0) << interval;
  }
}

// A proportion's weekday factor weighs each interval by its denominator:
// errors over requests, where a few requests come every five minutes and
// three in a thousand fail. On the second Monday night one request fails
// (a rate of 1 over one request: unremarkable for one request). Unweighted,
// that interval counted as much as a busy one in the Monday factor: the
// expected rate of the next two hours rose to 0.26 here (in the business
// benchmark to 1.2, and the next zero rates scored 100); weighted, to 0.06,
// which is the slot's own profile learning the interval.
TEST(BusinessModelTest, ProportionWeekdayFactorWeighsByDenominator) {
  ModelOptions o;
  o.interval_seconds = 300;
  auto m = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(9);
  const int64_t lone_error = (7 * 86400 + 2 * 3600 + 1800) / 300;  // Monday 02:30, week 2
  double most_expected = 0;
  int64_t flagged_zeros = 0;
  for (int64_t i = 0; i < 9 * 86400 / 300; ++i) {
    const int64_t t = kMonday + i * 300;
    const double hod = static_cast<double>(t % 86400) / 3600.0;
    const double mean_requests = 1.5 + 6 * std::exp(-std::pow((hod - 14) / 5, 2));
    double requests = static_cast<double>(std::poisson_distribution<long>(mean_requests)(rng));
    double errors =
        static_cast<double>(std::binomial_distribution<long>(static_cast<long>(requests), 0.003)(rng));
    if (i == lone_error) requests = errors = 1;
    if (requests == 0) continue;  // no requests: no rate
    Observation ob;
    ob.time = ob.local_time = t;
    ob.value = errors / requests;
    ob.denominator = requests;
    const Score s = m->Observe(ob);
    if (i > lone_error && i <= lone_error + 24) {
      most_expected = std::max(most_expected, s.expected);
      flagged_zeros += errors == 0 && s.severity >= 50;
    }
  }
  std::printf("after the lone error: largest expected rate %.4f, zero rates flagged %lld\n", most_expected,
              static_cast<long long>(flagged_zeros));
  EXPECT_LT(most_expected, 0.1);
  EXPECT_EQ(flagged_zeros, 0);
}

// A version-3 state of a proportion (its level and weekday sums were not
// weighted by the denominator then) is migrated: the level keeps its value
// (the weekday factors start again at 1; none here).
TEST(BusinessModelTest, ProportionStatesOfVersion3KeepTheirLevel) {
  ModelOptions o;
  o.interval_seconds = 3600;
  auto m = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(4);
  int64_t h = 0;
  auto next = [&]() {
    Observation ob = At(h++, 0);
    const double n = 20 + static_cast<double>(std::poisson_distribution<long>(10)(rng));
    ob.value = static_cast<double>(std::binomial_distribution<long>(static_cast<long>(n), 0.2)(rng)) / n;
    ob.denominator = n;
    return ob;
  };
  while (h < 24 * 10) m->Observe(next());
  const std::string current = m->SaveState();
  ASSERT_EQ(current[2], 11);
  const std::string v8 = AsVersion8(AsVersion9(AsVersion10(current, true)));
  // A version-7 ratio state ("RAT3", no orientation, no factorial sums)
  // loads as learnt as it came, which a rate of 0.2 is, its sums empty.
  const std::string v7 = AsVersion7(v8, true);
  auto from_v7 = BusinessModel::Restore(o, v7);
  ASSERT_TRUE(from_v7.ok()) << from_v7.status().ToString();
  EXPECT_EQ((*from_v7)->SaveState().size(), current.size());
  EXPECT_EQ(AsVersion7(AsVersion8(AsVersion9(AsVersion10((*from_v7)->SaveState(), true))), true), v7);
  const std::string v6 = AsVersion6(v7, true);
  // A version-6 ratio state ("RAT2") loads and saves as the current version.
  auto from_v6 = BusinessModel::Restore(o, v6);
  ASSERT_TRUE(from_v6.ok()) << from_v6.status().ToString();
  EXPECT_EQ((*from_v6)->SaveState().size(), current.size());
  const std::string v5 = AsVersion5(v6, true);
  const std::string v4 = AsVersion4(v5, true);
  const std::string v3 = AsVersion3(v4, true);
  // A version-4 ratio state (its ratio block without the typical
  // denominator) loads and saves as the current version.
  auto from_v4 = BusinessModel::Restore(o, v4);
  ASSERT_TRUE(from_v4.ok()) << from_v4.status().ToString();
  EXPECT_EQ((*from_v4)->SaveState().size(), current.size());
  auto migrated = std::move(BusinessModel::Restore(o, v3)).value();
  EXPECT_EQ(migrated->SaveState()[2], 11);
  double now = 0, then = 0;
  for (int k = 0; k < 24; ++k) {
    const Observation ob = next();
    now += m->Observe(ob).expected;
    then += migrated->Observe(ob).expected;
  }
  std::printf("expected rate over the next day: %.4f, from the migrated state %.4f\n", now / 24, then / 24);
  EXPECT_NEAR(then / now, 1.0, 0.1);
}

// A 5-minute series visits each hourly slot twelve times a day. A slot of
// the day is relearnt after days of flagged visits, as an hourly one is:
// counted per point, three flagged points (15 minutes) reset it, so a dip
// went unscored (the slot unknown) a quarter of an hour in, and was then
// learnt as the hour's profile.
TEST(BusinessModelTest, FiveMinuteDipIsNotRelearntWithinMinutes) {
  ModelOptions o;
  o.interval_seconds = 300;
  auto m = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(12);
  const int64_t per_day = 288, dip_day = 22;
  const int64_t dip_begin = dip_day * per_day + 10 * 12, dip_end = dip_begin + 3 * 12;  // 10:00-13:00
  int64_t late_dip = 0, late_flagged = 0;
  double next_day_ratio = 0;
  int64_t next_day_n = 0;
  for (int64_t i = 0; i < (dip_day + 2) * per_day; ++i) {
    const int64_t t = kMonday + i * 300;
    const double mu = Rate(t, 120) / 12;
    const bool dip = i >= dip_begin && i < dip_end;
    const double x = Draw(rng, dip ? 0.3 * mu : mu, 0.02);
    const Score s = m->Observe(Observation{t, t, x});
    if (dip && i >= dip_begin + 12) {  // the dip's last two hours
      ++late_dip;
      late_flagged += s.ready && s.severity >= 50;
    }
    if (i >= dip_begin + per_day && i < dip_end + per_day) {  // the same hours the next day
      next_day_ratio += s.expected / mu;
      ++next_day_n;
    }
  }
  next_day_ratio /= static_cast<double>(next_day_n);
  std::printf("dip's last two hours flagged at >= 50: %lld of %lld; next day expected / true %.3f\n",
              static_cast<long long>(late_flagged), static_cast<long long>(late_dip), next_day_ratio);
  EXPECT_GE(late_flagged, late_dip * 9 / 10);
  EXPECT_NEAR(next_day_ratio, 1.0, 0.15);
}

// Eight 5-minute series at Rate(t, 120) / 12 (seeds first_seed + 1 to
// first_seed + 8), each with its values times `factor` in [begin, end) and
// no rows in [gap_begin, gap_end), fed up to `stop`: how many reached
// severity 50 in [begin, end), and how many of the points from `after` on
// reached 40.
struct AfterIncidents {
  int64_t found = 0, echoes = 0, points = 0;
};
AfterIncidents RunIncidents(uint64_t first_seed, int64_t begin, int64_t end, double factor, int64_t gap_begin,
                            int64_t gap_end, int64_t after, int64_t stop) {
  AfterIncidents out;
  for (uint64_t seed = first_seed + 1; seed <= first_seed + 8; ++seed) {
    ModelOptions o;
    o.interval_seconds = 300;
    auto m = std::move(BusinessModel::Create(o)).value();
    std::mt19937_64 rng(seed);
    double max_in = 0;
    for (int64_t i = 0; i < stop; ++i) {
      const int64_t t = kMonday + i * 300;
      const bool in = i >= begin && i < end;
      const double x = Draw(rng, Rate(t, 120) / 12 * (in ? factor : 1.0), 0.02);
      const bool gap = i >= gap_begin && i < gap_end;
      const Score s = m->Observe(Observation{t, t, gap ? std::nullopt : std::optional(x)});
      if (in) max_in = std::max(max_in, s.severity);
      if (i >= after) {
        ++out.points;
        out.echoes += s.ready && s.severity >= 40;
      }
    }
    out.found += max_in >= 50;
  }
  return out;
}

// The sustained scan judges windows of up to four hours, and a window that
// holds a dip that has ended still holds its deficit: a normal point a
// little low an hour later, with that window behind it, read as the dip
// going on (measured on 5-minute requests: false alarms 65-105 minutes
// after regional incidents ended, on most series of the region). A window
// counts only while its last third deviates the same way on its own, by a
// share of the window's deviation.
TEST(BusinessModelTest, ADipThatEndedRaisesNoMoreAlarms) {
  const int64_t dip = 22 * 288 + 11 * 12, dip_end = dip + 36;  // 11:00-14:00, half the usual
  // The four hours from 15:00.
  const AfterIncidents r = RunIncidents(0, dip, dip_end, 0.5, 0, 0, dip_end + 12, dip_end + 5 * 12);
  std::printf("dips found at >= 50: %lld of 8; points >= 40 in the four hours after them: %lld of %lld\n",
              static_cast<long long>(r.found), static_cast<long long>(r.echoes),
              static_cast<long long>(r.points));
  EXPECT_EQ(r.found, 8);
  EXPECT_EQ(r.echoes, 0);
}

// The scan's windows are of time: intervals without a value enter them as
// empty. Counted by values, the first point after an hour of missing rows
// read an outage before the gap as recent (measured on the business
// benchmark: severity 56 on a normal point after an ETL gap that followed
// a regional outage, on most series of the region).
TEST(BusinessModelTest, AnOutageBeforeAGapIsNotRecentAfterIt) {
  const int64_t outage = 22 * 288 + 11 * 12;            // 11:00-11:45, a tenth of the usual
  const int64_t gap = outage + 12, gap_end = gap + 12;  // no rows 12:00-13:00
  const AfterIncidents r = RunIncidents(100, outage, outage + 9, 0.1, gap, gap_end, gap_end, gap_end + 12);
  std::printf("outages found: %lld of 8; points >= 40 in the hour after the gap: %lld of %lld\n",
              static_cast<long long>(r.found), static_cast<long long>(r.echoes),
              static_cast<long long>(r.points));
  EXPECT_EQ(r.found, 8);
  EXPECT_EQ(r.echoes, 0);
}

// A 5-minute series' slot profiles remember visits (days, weeks), not
// points: an hour a few per cent above the usual, too little to be
// flagged, moves the next day's expectation at that hour by a share of one
// day's visit. At the full rate per point the daily profile was the mean of
// its last few visits' points (an hour 6 % high moved the next day's
// expectation 0.72 %; now 0.20 %).
TEST(BusinessModelTest, FiveMinuteProfileRemembersDaysNotPoints) {
  const int64_t per_day = 288, high_day = 22;
  const int64_t high_begin = high_day * per_day + 13 * 12, high_end = high_begin + 12;  // 13:00-14:00
  // The next day's mean expectation over that hour, and the high hour's
  // points flagged; the same noise either way.
  auto run = [&](double excess, int64_t& flagged) {
    ModelOptions o;
    o.interval_seconds = 300;
    auto m = std::move(BusinessModel::Create(o)).value();
    std::mt19937_64 rng(13);
    std::normal_distribution<double> z;
    double next_day = 0;
    for (int64_t i = 0; i < (high_day + 2) * per_day; ++i) {
      const int64_t t = kMonday + i * 300;
      const double mu = Rate(t, 1200) / 12;
      const bool high = i >= high_begin && i < high_end;
      const double x = std::max(0.0, std::round(mu * (high ? 1 + excess : 1.0) + std::sqrt(mu) * z(rng)));
      const Score s = m->Observe(Observation{t, t, x});
      if (high) flagged += s.ready && s.severity >= 30;
      if (i >= high_begin + per_day && i < high_end + per_day) next_day += s.expected / 12;
    }
    return next_day;
  };
  int64_t flagged = 0, none = 0;
  const double with = run(0.06, flagged);
  const double without = run(0, none);
  const double moved = with / without - 1;
  std::printf(
      "the high hour's points flagged at >= 30: %lld of 12; the next day's expectation moved %.2f %%\n",
      static_cast<long long>(flagged), 100 * moved);
  EXPECT_EQ(flagged, 0);
  EXPECT_LT(std::fabs(moved), 0.004);
}

// A deploy that is rolled back: the level doubles for twelve hours
// (adopted as a shift after four) and returns to where it was. The return
// to a level the series had for weeks is adopted after a quarter of the
// confirmation, before its evidence alerts; waiting for the whole
// confirmation, 6 of its intervals were flagged at severity >= 50.
TEST(BusinessModelTest, ReturnToTheLevelBeforeAShiftIsAdoptedSooner) {
  ModelOptions o;
  o.interval_seconds = 300;
  auto m = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(8);
  const int64_t per_day = 288, step = 21 * per_day + 8 * 12, back = step + 12 * 12;  // 08:00-20:00
  int64_t flagged_after = 0, adopted = 0;
  for (int64_t i = 0; i < back + per_day; ++i) {
    const int64_t t = kMonday + i * 300;
    const double mu = Rate(t, 1200) / 12 * (i >= step && i < back ? 2.0 : 1.0);
    const Score s = m->Observe(Observation{t, t, Draw(rng, mu, 0.01)});
    if (i >= step && i < back) adopted += s.explanation == Explanation::kLevelShift;
    if (i >= back) flagged_after += s.ready && s.severity >= 50;
  }
  std::printf("shifts adopted during the step: %lld; points flagged at >= 50 after the return: %lld\n",
              static_cast<long long>(adopted), static_cast<long long>(flagged_after));
  EXPECT_GE(adopted, 1);
  EXPECT_LE(flagged_after, 2);
}

// A step in a series that has rows in only one interval of three (a sparse
// 5-minute series: no requests, no row) is adopted after the confirmation
// period of time (with rows for half of it), not after as many rows as a
// series with every row has: counted by rows it took 13 hours, and it still
// alerted eight hours after the step on what was by then the new normal.
TEST(BusinessModelTest, AStepInASparseSeriesIsAdoptedAfterAPeriodOfTime) {
  ModelOptions o;
  o.interval_seconds = 300;
  auto m = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(12);
  const int64_t per_day = 288, step = 21 * per_day + 6 * 12;  // a Monday, 06:00
  int64_t adopted_at = -1, flagged_late = 0, restored_differs = 0;
  // A copy restored from the state saved five hours after the step (its run
  // span then about three times its rows) goes on as the original does.
  std::unique_ptr<Model> restored;
  for (int64_t i = 0; i < step + per_day; ++i) {
    const int64_t t = kMonday + i * 300;
    const double mu = Rate(t, 1200) / 12 * (i >= step ? 1.6 : 1.0);
    const double x = Draw(rng, mu, 0.01);
    if (i % 3 != 0) continue;
    const Score s = m->Observe(Observation{t, t, x});
    if (restored != nullptr) {
      const Score r = restored->Observe(Observation{t, t, x});
      restored_differs += r.severity != s.severity || r.explanation != s.explanation;
    }
    if (i == step + 5 * 12) restored = std::move(BusinessModel::Restore(o, m->SaveState())).value();
    if (i >= step && adopted_at < 0 && s.explanation == Explanation::kLevelShift) adopted_at = i - step;
    if (i >= step + 8 * 12) flagged_late += s.ready && s.severity >= 50;
  }
  std::printf("step adopted after %.1f hours; points flagged at >= 50 from eight hours on: %lld\n",
              static_cast<double>(adopted_at) / 12, static_cast<long long>(flagged_late));
  ASSERT_GE(adopted_at, 0);
  EXPECT_LE(adopted_at, 8 * 12);
  EXPECT_EQ(flagged_late, 0);
  EXPECT_EQ(restored_differs, 0);
}

// A return to the level before an adopted shift needs its points, not only
// its time: three points towards the old level either side of an hour
// without rows are not a return. Counted by time they made a quarter of the
// confirmation and the level went most of the way back (1.5 -> 1.2 times
// the old one) on three points of noise.
TEST(BusinessModelTest, AReturnNeedsItsPointsNotJustItsTime) {
  ModelOptions o;
  o.interval_seconds = 300;
  auto m = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(21);
  const int64_t per_day = 288, step = 21 * per_day + 8 * 12;  // a Monday, 08:00
  const int64_t back = step + per_day + 2 * 12;               // Tuesday 10:00, within a week
  int64_t adopted = 0, returned = 0, flagged_after = 0;
  for (int64_t i = 0; i < back + 6 * 12; ++i) {
    const int64_t t = kMonday + i * 300;
    double f = i >= step ? 1.5 : 1.0;
    // Two points at the old level, with an hour of missing rows between (the
    // noise adds a third just before).
    if (i == back || i == back + 13) f = 1.0;
    if (i > back && i < back + 13) continue;
    const Score s = m->Observe(Observation{t, t, Draw(rng, Rate(t, 1200) / 12 * f, 0.01)});
    if (i >= step && i < back) adopted += s.explanation == Explanation::kLevelShift;
    if (i >= back && i <= back + 13) returned += s.explanation == Explanation::kLevelShift;
    if (i > back + 13) flagged_after += s.ready && s.severity >= 50;
  }
  std::printf("shift adopted %lld times; return adopted %lld times; flagged at >= 50 after: %lld\n",
              static_cast<long long>(adopted), static_cast<long long>(returned),
              static_cast<long long>(flagged_after));
  ASSERT_GE(adopted, 1);
  EXPECT_EQ(returned, 0);
  EXPECT_EQ(flagged_after, 0);
}

// Money with few sales an hour (a compound of a Poisson count of orders
// and lognormal prices) is calibrated in its body as counts are: the rate
// of clean hours at severity >= 20 and >= 30 is within 2x of nominal. Its
// scaled negative binomial overstates the spread of typical hours and its
// lognormal alternative for upward moves is heavier still: before the
// body calibration 3x and 8x fewer hours than nominal reached 20 and 30
// (the business benchmark's hourly revenue: its default threshold 50 was
// as strict as 40 elsewhere).
TEST(BusinessModelTest, MoneyWithFewSalesIsCalibratedInItsBody) {
  auto m = Make();
  std::mt19937_64 rng(31);
  std::lognormal_distribution<double> price(4.0, 1.0);
  int64_t n = 0, at20 = 0, at30 = 0;
  for (int64_t h = 0; h < 24 * 7 * 40; ++h) {
    const double orders_mean = Rate(kMonday + h * 3600, 2.0);
    const long orders = std::poisson_distribution<long>(orders_mean)(rng);
    double revenue = 0;
    for (long k = 0; k < orders; ++k) revenue += std::round(price(rng) * 100) / 100;
    const Score s = m->Observe(At(h, revenue));
    if (!s.ready || h < 24 * 7 * 8) continue;
    ++n;
    at20 += s.severity >= 20;
    at30 += s.severity >= 30;
  }
  const double r20 = static_cast<double>(at20) / static_cast<double>(n);
  const double r30 = static_cast<double>(at30) / static_cast<double>(n);
  std::printf("money, %lld hours: rate at >= 20 %.2e (nominal 1e-2), at >= 30 %.2e (nominal 1e-3)\n",
              static_cast<long long>(n), r20, r30);
  EXPECT_GT(r20, 0.5e-2);
  EXPECT_LT(r20, 2e-2);
  EXPECT_GT(r30, 0.5e-3);
  EXPECT_LT(r30, 2e-3);
}

// A ratio series' expectation has no floor from the noise scale: fitted to
// residuals of every denominator at once, that scale rose fiftyfold after a
// burst of errors over a few requests, and the floor (a twentieth of it)
// lifted a 0.2 % error rate's expectation to 37 %: every zero rate of the
// next day a dip of severity 100.
TEST(BusinessModelTest, ErrorBurstLeavesTheExpectedRateAlone) {
  ModelOptions o;
  o.interval_seconds = 300;
  auto m = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(21);
  const int64_t per_day = 288, burst = 15 * per_day + 13 * 12;  // day 15, 13:00, for 45 minutes
  double most_expected = 0;
  int64_t flagged_after = 0;
  for (int64_t i = 0; i < 17 * per_day; ++i) {
    const int64_t t = kMonday + i * 300;
    const double hod = static_cast<double>(t % 86400) / 3600.0;
    const double requests = static_cast<double>(
        std::poisson_distribution<long>(4 + 10 * std::exp(-std::pow((hod - 14) / 4, 2)))(rng));
    if (requests == 0) continue;
    const bool in_burst = i >= burst && i < burst + 9;
    const double p = in_burst ? 0.9 : 0.002;
    const double errors =
        static_cast<double>(std::binomial_distribution<long>(static_cast<long>(requests), p)(rng));
    Observation ob;
    ob.time = ob.local_time = t;
    ob.value = errors / requests;
    ob.denominator = requests;
    const Score s = m->Observe(ob);
    if (i >= burst + 12) {  // from an hour after the burst began
      most_expected = std::max(most_expected, s.expected);
      flagged_after += errors == 0 && s.severity >= 50;
    }
  }
  std::printf("after the burst: largest expected rate %.4f, zero rates flagged at >= 50: %lld\n",
              most_expected, static_cast<long long>(flagged_after));
  EXPECT_LT(most_expected, 0.05);
  EXPECT_EQ(flagged_after, 0);
}

// Calibration: on clean data, the rate of points at or above a severity is
// about the same on every series, whatever its volume or overdispersion.
TEST(BusinessModelTest, SeverityIsCalibratedAcrossSeries) {
  struct Case {
    double mean, alpha;
  };
  // Counts from about 3 per hour up (at lower means the discreteness of a
  // count makes every severity rarer than nominal: conservative).
  const Case cases[] = {{8, 0.1}, {20, 0.02}, {20, 0.3}, {200, 0.05}, {3000, 0.01}, {3000, 0.1}};
  std::vector<double> rate20, rate30;
  for (const Case& c : cases) {
    auto m = Make();
    int64_t scored = 0, n20 = 0, n30 = 0;
    Feed(
        *m, 24 * 7 * 208, c.mean, c.alpha, 11, [](int64_t, double&) {},
        [&](int64_t h, const Score& s) {
          if (!s.ready || h < 24 * 7 * 8) return;
          ++scored;
          n20 += s.severity >= 20;
          n30 += s.severity >= 30;
        });
    rate20.push_back(static_cast<double>(n20) / static_cast<double>(scored));
    rate30.push_back(static_cast<double>(n30) / static_cast<double>(scored));
    std::printf("mean %6.0f alpha %.2f: rate >= 20 %.2e (nominal 1e-2), >= 30 %.2e (1e-3)\n", c.mean, c.alpha,
                rate20.back(), rate30.back());
  }
  auto spread = [](const std::vector<double>& v) {
    return *std::max_element(v.begin(), v.end()) / *std::min_element(v.begin(), v.end());
  };
  EXPECT_LE(spread(rate20), 2.0);
  EXPECT_LE(spread(rate30), 2.0);
  for (double r : rate20) EXPECT_NEAR(std::log10(r), -2.0, 0.3);
  // Severity 70 at the default sensitivity is a tail probability of 1e-7 per
  // point: too rare to count on clean data of any practical length. The
  // sensitivity shifts severity by ten points per decade and nothing else,
  // so at sensitivity 100 severity 70 is the 1e-2 level: there the rate of
  // points at or above 70 is measured, and it too agrees across series.
  std::vector<double> rate70;
  for (const Case& c : cases) {
    auto m = Make(100);
    int64_t scored = 0, n70 = 0;
    Feed(
        *m, 24 * 7 * 104, c.mean, c.alpha, 11, [](int64_t, double&) {},
        [&](int64_t h, const Score& s) {
          if (!s.ready || h < 24 * 7 * 8) return;
          ++scored;
          n70 += s.severity >= 70;
        });
    rate70.push_back(static_cast<double>(n70) / static_cast<double>(scored));
    std::printf("sensitivity 100, mean %6.0f alpha %.2f: rate >= 70 %.2e\n", c.mean, c.alpha, rate70.back());
  }
  EXPECT_LE(spread(rate70), 2.0);
}

// Severity counts surprise per hour of data: a 5-minute series makes twelve
// tests where an hourly one makes one, so at the same threshold it would
// raise twelve times as many false alarms a day if a point's severity were
// its own tail probability. Clean counts of the same process at both
// intervals: flags a day at severity >= 20 agree within 2x.
// A 5-minute series with a row in one interval of three (the others have
// none) makes four tests an hour and pays for four: before, it paid for
// twelve and raised fewer than half as many (0.14 flags a day at >= 20
// against the hourly 0.32; now 0.35).
TEST(BusinessModelTest, FiveMinuteSeriesRaiseAsFewFalseAlarmsADayAsHourlyOnes) {
  constexpr int64_t kDays = 7 * 40, kWarmDays = 7 * 6;
  auto flags_per_day = [&](int64_t interval, int64_t every = 1) {
    ModelOptions o;
    o.interval_seconds = interval;
    auto m = std::move(BusinessModel::Create(o)).value();
    std::mt19937_64 rng(23);
    const int64_t per_hour = 3600 / interval;
    int64_t flags = 0;
    for (int64_t i = 0; i < kDays * 24 * per_hour; ++i) {
      Observation ob;
      ob.time = kMonday + i * interval;
      ob.local_time = ob.time;
      ob.value = Draw(rng, Rate(ob.time, 120.0) / static_cast<double>(per_hour), 0.02);
      if (i % every != 0) continue;
      const Score s = m->Observe(ob);
      if (s.ready && i >= kWarmDays * 24 * per_hour && s.severity >= 20) ++flags;
    }
    return static_cast<double>(flags) / static_cast<double>(kDays - kWarmDays);
  };
  const double hourly = flags_per_day(3600);
  const double five_minute = flags_per_day(300);
  const double one_in_three = flags_per_day(300, 3);
  std::printf(
      "flags a day at severity >= 20: hourly %.3f, 5-minute %.3f, 5-minute with a row in one of three %.3f\n",
      hourly, five_minute, one_in_three);
  ASSERT_GT(hourly, 0);
  EXPECT_LE(five_minute / hourly, 2.0);
  EXPECT_GE(five_minute / hourly, 0.5);
  EXPECT_LE(one_in_three / hourly, 2.0);
  EXPECT_GE(one_in_three / hourly, 0.5);
}

// Errors on a quiet 5-minute endpoint: about one failed request a day,
// then bursts of one error in each of eight intervals (the endpoint's few
// requests all failing for 40 minutes). Each error counts as one in the
// windows and the floor is an hour's, shared by its twelve intervals: with
// the whole floor in every interval and an error clipped at three sd (a
// fifth of one), such bursts peaked at 17-36 (the business benchmark's ops
// errors drawn as failed requests) and none of these 9 reached 50 (now 6).
// Single stray errors stay quiet (highest severity 13).
TEST(BusinessModelTest, ABurstOfSingleErrorsOnAQuietEndpointAddsUp) {
  ModelOptions o;
  o.interval_seconds = 300;
  auto m = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(7);
  constexpr int64_t kPerDay = 288, kDays = 42, kWarm = 14 * kPerDay;
  int found = 0, bursts = 0;
  double burst_max = 0, clean_max = 0;
  for (int64_t i = 0; i < kDays * kPerDay; ++i) {
    Observation ob;
    ob.time = kMonday + i * 300;
    ob.local_time = ob.time;
    // Errors follow the traffic: about 1.2 a day.
    double x = Draw(rng, Rate(ob.time, 0.005), 0.3);
    const int64_t day = i / kPerDay, slot = i % kPerDay;
    const bool burst_day = i >= kWarm && day % 3 == 0;
    const int64_t burst_start = 11 * 12 + day % 5 * 7;  // around 11:00-14:00
    const bool in_burst = burst_day && slot >= burst_start && slot < burst_start + 8;
    if (in_burst) x = 1;
    ob.value = x;
    const Score s = m->Observe(ob);
    if (!s.ready || i < kWarm) continue;
    if (in_burst) {
      burst_max = std::max(burst_max, s.severity);
      if (slot == burst_start + 7) {
        ++bursts;
        found += burst_max >= 50;
        burst_max = 0;
      }
    } else if (!burst_day || slot >= burst_start + 8 + 24 || slot < burst_start) {
      clean_max = std::max(clean_max, s.severity);
    }
  }
  std::printf("bursts found at 50: %d of %d; highest clean severity %.1f\n", found, bursts, clean_max);
  EXPECT_GE(found, bursts / 2);
  EXPECT_LT(clean_max, 30);
}

// Money with a few sales an hour: the first days' large sales must not fix
// the scale for good. Each residual of the noise regression is weighted by
// the variance the model had when it came; before those weights followed
// the current variance, one seed's first two days taught a scale of $2,567
// per unit (true: about $111) that floored every expectation and stopped
// all learning of the noise for a year.
TEST(BusinessModelTest, MoneyScaleRecoversFromItsFirstDays) {
  // Prices lognormal(3.5, 0.9): mean 49.6, E[P^2] / E[P] = 49.6 e^0.81.
  const double true_phi = std::exp(3.5 + 0.405) * std::exp(0.81);
  for (uint64_t seed : {1, 2, 3, 4}) {
    ModelOptions o;
    auto m = std::move(BusinessModel::Create(o)).value();
    std::mt19937_64 rng(seed);
    for (int64_t h = 0; h < 24 * 7 * 12; ++h) {
      const double orders = Draw(rng, Rate(kMonday + h * 3600, 2.0), 0.05);
      double sum = 0;
      std::lognormal_distribution<double> price(3.5, 0.9);
      for (int k = 0; k < static_cast<int>(orders); ++k) sum += price(rng);
      m->Observe(At(h, std::round(sum * 100) / 100));
    }
    const auto& bm = dynamic_cast<const BusinessModel&>(*m);
    EXPECT_EQ(bm.family(), NoiseFamily::kPositive);
    EXPECT_GT(bm.phi(), true_phi / 2) << "seed " << seed;
    EXPECT_LT(bm.phi(), true_phi * 2) << "seed " << seed;
  }
}

// Money with a sale every few hours (a category that sells little, or
// starts late): hourly sums of a negative binomial number of sales (mean
// 0.15 a day-profile hour, alpha 0.1) at lognormal(4.4, 0.9) prices,
// starting on a Wednesday afternoon; `burst` hours from `burst_start` have
// ten sales each. Returns the model; `check` sees each hour's sum and score.
std::unique_ptr<Model> SparseSales(uint64_t seed, int64_t hours, int64_t burst_start, int64_t burst,
                                   const std::function<void(int64_t, double, const Score&)>& check) {
  auto m = Make();
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> price(4.4, 0.9);
  const int64_t start = 24 * 2 + 15;
  for (int64_t h = start; h < start + hours; ++h) {
    const bool in_burst = h - start >= burst_start && h - start < burst_start + burst;
    const double sales = in_burst ? 10 : Draw(rng, Rate(kMonday + h * 3600, 0.15), 0.1);
    double x = 0;
    for (double k = 0; k < sales; ++k) x += std::round(price(rng) * 100) / 100;
    check(h - start, x, m->Observe(At(h, x)));
  }
  return m;
}

// The noise regression alone explained such a series' zeros (r^2 = mu^2:
// alpha 1, phi near 0) once the first sales were flagged on the scale the
// series started with, and then flagged nearly every sale; the size of a
// sale, learnt from the sales themselves, keeps the scale near E[P^2] /
// E[P]. Six seeds of ten weeks. Before the sale unit (measured on these
// series with six hours of tenfold prices added): 48 clean sales flagged at
// 50, and noise scales of 8,086 and 7e9 where 274 is true; now 1 of 947,
// and every scale within a factor of three.
TEST(BusinessModelTest, ASparseSeriesOfSalesLearnsTheSizeOfASale) {
  const double true_unit = std::exp(4.4 + 1.5 * 0.9 * 0.9);  // E[P^2] / E[P]
  int64_t clean = 0, sales_scored = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    auto m = SparseSales(seed, 24 * 7 * 10, 0, 0, [&](int64_t, double x, const Score& s) {
      if (s.ready && x > 0) {
        ++sales_scored;
        if (s.severity >= 50) ++clean;
      }
    });
    const auto& bm = dynamic_cast<const BusinessModel&>(*m);
    std::printf("seed %lu: noise scale %.1f (phi %.1f, sale unit %.1f), true unit %.1f\n",
                static_cast<unsigned long>(seed), bm.noise_scale(), bm.phi(), bm.sale_unit(), true_unit);
    EXPECT_GT(bm.noise_scale(), true_unit / 3) << "seed " << seed;
    EXPECT_LT(bm.noise_scale(), true_unit * 3) << "seed " << seed;
  }
  std::printf("clean hours with sales flagged at 50: %ld of %ld\n", static_cast<long>(clean),
              static_cast<long>(sales_scored));
  EXPECT_GT(sales_scored, 600);
  EXPECT_LE(clean, 6);
}

// A money series restored from a version-10 state has a settled noise
// regression: it does not count as zero-heavy until its points show it, so
// no sale size bounds its scale (counted as a new series is, zero-heavy
// until shown otherwise, it was within these three days: its zeros' share
// falls over about 300 points). A dense revenue
// whose nights are closed (zeros from 01:00 to 07:00), six weeks, then
// three days after the migration.
TEST(BusinessModelTest, AMigratedMoneySeriesKeepsItsScale) {
  ModelOptions o;
  o.interval_seconds = 3600;
  auto a = std::move(BusinessModel::Create(o)).value();
  std::mt19937_64 rng(12);
  std::lognormal_distribution<double> price(4.0, 0.6);
  auto value = [&](int64_t h) {
    const int64_t hour = h % 24;
    if (hour >= 1 && hour < 7) return 0.0;
    double x = 0;
    const double orders = Draw(rng, Rate(kMonday + h * 3600, 6.0), 0.05);
    for (double k = 0; k < orders; ++k) x += std::round(price(rng) * 100) / 100;
    return x;
  };
  int64_t h = 0;
  for (; h < 24 * 7 * 6; ++h) a->Observe(At(h, value(h)));
  auto b = BusinessModel::Restore(o, AsVersion10(a->SaveState(), false));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const auto& bm = dynamic_cast<const BusinessModel&>(**b);
  for (const int64_t end = h + 24 * 3; h < end; ++h) {
    (*b)->Observe(At(h, value(h)));
    ASSERT_EQ(bm.sale_unit(), 0.0) << "hour " << h;
    ASSERT_EQ(bm.noise_scale(), bm.phi()) << "hour " << h;
  }
}

// Ten sales an hour for twelve hours on such a series (about 40 times its
// sales; each hour's sum alone is no rarer than one large sale, so only the
// run shows it). Its hours taught the regression an overdispersion of 25
// within two hours, after which nothing was surprising: found at 50 on 2 of
// 6 seeds; with the number of sales' overdispersion at most 1, on 6.
TEST(BusinessModelTest, ABurstOfSalesOnASparseSeriesIsFound) {
  int found = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    double highest = 0;
    SparseSales(seed, 24 * 7 * 8, 24 * 48 - 3, 12, [&](int64_t h, double, const Score& s) {
      if (h >= 24 * 48 - 3 && h < 24 * 48 + 9) highest = std::max(highest, s.severity);
    });
    std::printf("seed %lu: the burst's highest severity %.1f\n", static_cast<unsigned long>(seed), highest);
    found += highest >= 50;
  }
  EXPECT_GE(found, 5);
}

// Yearly profile. Four years of counts with a summer slump (half the
// sales from day 175 to day 225 of each 365-day year; sharp edges, or
// ramps of 3 or 7 days). With sharp edges the first two years alert at the
// slump's edges and adapt (a feature seen once is not a pattern); from the
// third year on the model expects the slump, to the day, and stays quiet
// there.
bool InSlump(int64_t hour) {
  const int64_t day_of_year = (hour / 24) % 365;
  return day_of_year >= 175 && day_of_year < 225;
}
// The slump's factor on sales: 0.5 inside, 1 outside, linear over
// `ramp_days` days before its start and after its end (0: sharp edges).
double SlumpFactor(int64_t hour, double ramp_days) {
  const double doy = static_cast<double>(hour % (24 * 365)) / 24.0;
  const double out = std::max(175.0 - doy, doy - 225.0);  // days outside (<= 0 inside)
  if (out <= 0) return 0.5;
  if (ramp_days <= 0 || out >= ramp_days) return 1.0;
  return 0.5 + 0.5 * out / ramp_days;
}

// Flags at severity >= 50 within three days of the slump's edges, per year;
// and the yearly factor mid-slump over the one mid-spring in the fourth year.
std::array<int64_t, 4> SlumpEdgeFlags(BusinessModel& m, uint64_t seed, double ramp_days,
                                      double& slump_ratio) {
  std::mt19937_64 rng(seed);
  std::array<int64_t, 4> flags{};
  double spring = 0;
  for (int64_t h = 0; h < 24 * 365 * 4; ++h) {
    const double mean = 20.0 * SlumpFactor(h, ramp_days);
    const Score s = m.Observe(At(h, Draw(rng, Rate(kMonday + h * 3600, mean), 0.02)));
    if (h == 24 * (365 * 3 + 130)) spring = m.YearFactor(kMonday + h * 3600);
    if (h == 24 * (365 * 3 + 200)) slump_ratio = m.YearFactor(kMonday + h * 3600) / spring;
    const int64_t doy = (h / 24) % 365;
    const auto day = static_cast<double>(doy);
    const bool near_edge = (day >= 172 - ramp_days && day < 178) || (day >= 222 && day < 228 + ramp_days);
    if (near_edge && s.severity >= 50) ++flags[static_cast<size_t>(h / 24 / 365)];
  }
  return flags;
}

TEST(BusinessModelTest, YearlyPatternSeenInTwoYearsIsExpected) {
  for (const auto& [seed, ramp] :
       std::vector<std::pair<uint64_t, double>>{{31, 7}, {32, 7}, {33, 0}, {34, 0}, {35, 3}}) {
    auto m = Make();
    double ratio = 0;
    const auto flags = SlumpEdgeFlags(dynamic_cast<BusinessModel&>(*m), seed, ramp, ratio);
    std::printf("ramp %.0f days, seed %lu: flags at the slump's edges by year: %ld %ld %ld %ld\n", ramp,
                static_cast<unsigned long>(seed), static_cast<long>(flags[0]), static_cast<long>(flags[1]),
                static_cast<long>(flags[2]), static_cast<long>(flags[3]));
    if (ramp == 0) {
      EXPECT_GT(flags[0], 10);  // news in the first year
      EXPECT_GT(flags[1], 10);  // and the second: seen once only
    }
    EXPECT_LE(flags[2], flags[0] / 4 + 1);
    EXPECT_LE(flags[3], flags[0] / 4 + 1);
    // Mid-slump against mid-spring in the fourth year: the factors' ratio
    // holds most of the slump's 0.5 (the factors are shrunk towards 1 by
    // about the day-to-day noise of the daily levels; the level does the
    // rest).
    EXPECT_GT(ratio, 0.45);
    EXPECT_LT(ratio, 0.7);
  }
}

// A slump in one year only, a level shift, a trend: none is a yearly
// pattern, and none teaches a factor.
TEST(BusinessModelTest, WhatIsNotYearlyTeachesNoYearlyFactor) {
  struct Case {
    const char* name;
    std::function<double(int64_t)> mean;
  };
  const std::vector<Case> cases = {
      {"slump in the first year only",
       [](int64_t h) { return 20.0 * (h < 24 * 365 && InSlump(h) ? 0.5 : 1.0); }},
      {"level shift up by 40 %", [](int64_t h) { return h < 24 * 500 ? 20.0 : 28.0; }},
      {"trend of +50 % a year",
       [](int64_t h) { return 20.0 * (1 + 0.5 * static_cast<double>(h) / (24 * 365)); }},
      {"flat", [](int64_t) { return 20.0; }},
  };
  for (const Case& c : cases) {
    for (uint64_t seed : {41, 42, 43}) {
      auto m = Make();
      const auto& bm = dynamic_cast<const BusinessModel&>(*m);
      std::mt19937_64 rng(seed);
      double worst = 0;
      for (int64_t h = 0; h < 24 * 365 * 4; ++h) {
        m->Observe(At(h, Draw(rng, Rate(kMonday + h * 3600, c.mean(h)), 0.05)));
        if (h % 24 == 0) worst = std::max(worst, std::fabs(std::log(bm.YearFactor(kMonday + h * 3600))));
      }
      std::printf("%s, seed %lu: largest yearly log factor %.4f\n", c.name, static_cast<unsigned long>(seed),
                  worst);
      EXPECT_LT(worst, 0.05) << c.name << ": largest yearly log factor";
    }
  }
}

// The yearly profile survives a save and restore: the scores after it are
// bit-identical, and the state stays within 4 KiB.
TEST(BusinessModelTest, YearlyProfileSurvivesSaveAndRestore) {
  auto a = Make();
  std::mt19937_64 rng(43);
  auto value = [&](int64_t h) {
    return Draw(rng, Rate(kMonday + h * 3600, 20.0 * (InSlump(h) ? 0.5 : 1.0)), 0.02);
  };
  const int64_t cut = 24 * (365 * 2 + 170);
  for (int64_t h = 0; h < cut; ++h) a->Observe(At(h, value(h)));
  ModelOptions o;
  o.interval_seconds = 3600;
  auto b = std::move(BusinessModel::Restore(o, a->SaveState())).value();
  EXPECT_EQ(a->SaveState(), b->SaveState());
  const auto& ba = dynamic_cast<const BusinessModel&>(*a);
  EXPECT_LT(ba.YearFactor(kMonday + (cut + 24 * 14) * 3600), 0.8);  // the slump is expected
  for (int64_t h = cut; h < cut + 24 * 60; ++h) {
    const double x = value(h);
    const Score sa = a->Observe(At(h, x)), sb = b->Observe(At(h, x));
    ASSERT_EQ(sa.severity, sb.severity) << h;
    ASSERT_EQ(sa.expected, sb.expected) << h;
  }
  EXPECT_LE(a->SaveState().size(), 4096u);
}

}  // namespace
}  // namespace osprey::detect
