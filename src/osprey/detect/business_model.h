// BusinessModel: the pipeline's default model for business and operational
// measures (counts, money, latencies) in local time.
//
// Expectation. A multiplicative seasonal model in local time: the expected
// value of an interval is level x profile[slot of the week] (x the yearly
// factor, below), where the slot is the local hour of the week (local day
// of week for daily intervals; one slot for weekly and longer ones), so
// 9 am Monday is compared with earlier 9 am Mondays in standard and summer
// time alike. Each slot's own estimate
// is shrunk (empirical Bayes) towards a daily profile times a day-of-week
// factor, which learns seven times faster: fully while the slot has not been
// seen, and later as much as the series' weeks really follow that product
// form. So scoring can start after a few days of history. The level is a
// ratio of exponentially weighted sums (value against profile), so trends
// and closed hours (exact zeros) need no special case. Intervals shorter
// than an hour read the hourly profile interpolated between hour centres.
//
// Noise. Var(x) = phi * mu + alpha * mu^2, learnt per series from its own
// residuals: phi = 1 for integer-valued series (an overdispersed Poisson, a
// negative binomial), phi learnt for positive continuous ones (money: a
// scaled negative binomial, i.e. a compound count), and a constant variance
// plus alpha * mu^2 for series that go negative. A point is scored by its
// signed deviance residual under that family (exact tail sums for small
// means), so 0 where ~20 are expected is strong evidence and 1 where 0.2 are
// expected is not; money's upward deviations are also judged by a lognormal
// of the same mean and variance (one large order is not news).
//
// Evidence. Severity is 10 x -log10 of the point's two-sided tail
// probability (sensitivity 50; each 10 points of sensitivity shift it by one
// decade), capped at 100: on data that fits the model, the rate of points at
// severity >= S is the same on every series. Two kinds of evidence compete:
//   spike     - the point alone;
//   sustained - a scan over the windows of the last 2 to 48 intervals and
//               a longer exponentially weighted sum: a dip or drift that is
//               weak per interval but consistent over several, counted only
//               while the current point itself deviates the same way, with a
//               learnt allowance for correlated error of the expectation,
//               each window only while its last third deviates too;
//   shift     - a sustained deviation that lasted a confirmation period: the
//               model alerts on it, then adopts the new level.
// Flagged points, events and missing points do not enter the baseline.
//
// Events. An interval in a calendar event is never learnt as normal. With
// EventEffect::kLearn the model learns a multiplicative effect per event
// and, once it has seen the event before, expects it. Before that, and with
// kSuppress, the event's effect is unknown: the point is judged against a
// relative noise of 100 % (so a holiday that halves sales is no news, a
// tenfold spike still is); kSuppress also halves the surprise.
//
// Yearly profile. Counts and money keep each local day's raw level for
// about two and a half years; once the same date one and two years before
// both show a feature beyond the noise (against the median levels of the
// half years around them), the expectation carries it (YearFactor). A
// feature seen once is not expected again.
//
// State: about 3.6 KiB per hourly series, versioned. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/detect/model.h"
#include "osprey/detect/ratio_noise.h"

namespace osprey::detect {

// The noise family a BusinessModel chose from a series' values.
enum class NoiseFamily : uint8_t { kCount = 0, kPositive, kReal };
std::string_view NoiseFamilyName(NoiseFamily f);

class BusinessModel final : public Model {
 public:
  static constexpr uint8_t kStateVersion = 11;
  static constexpr size_t kScanWindows = 10;  // window lengths of the sustained scan
  static constexpr size_t kRing = 48;         // the longest of them, in intervals
  static constexpr int kMaxEvents = 20;       // learnt event effects per series
  // Weeks of raw daily levels kept for the yearly profile: two years back
  // and half a year either side of them (see YearFactor).
  static constexpr size_t kYearWeeks = 132;

  static Result<std::unique_ptr<Model>> Create(const ModelOptions& options);
  // Fails with DataLoss on an unknown version or a corrupt/mismatched state.
  static Result<std::unique_ptr<Model>> Restore(const ModelOptions& options, std::string_view state);
  // detect::RestoreModelInto for BusinessModels.
  static Status RestoreInto(const ModelOptions& options, std::string_view state,
                            std::unique_ptr<Model>* model);

  Score Observe(const Observation& obs) override;
  std::string SaveState() const override;
  void SaveStateInto(std::string* out) const override;
  WarmupStatus Warmup() const override;

  NoiseFamily family() const { return family_; }
  // The current noise parameters (for tests and diagnostics).
  double phi() const { return phi_; }
  // The noise scale points are judged on: phi, kept within a band around
  // the size of a sale on zero-heavy money (SaleUnit).
  double noise_scale() const { return scale_; }
  // Zero-heavy money's size of a sale (0 where not used; see SaleUnit).
  double sale_unit() const { return SaleUnit(); }
  double alpha() const { return alpha_; }
  // The yearly factor in the expectation at a local time: 1 until two years
  // of history show the same yearly feature (docs/architecture.md).
  double YearFactor(int64_t local_time) const;

 private:
  explicit BusinessModel(const ModelOptions& options);
  // Observe on the learnt orientation: a proportion whose successes are the
  // common outcome arrives here as its complement (RatioNoise::complement).
  Score ObserveOriented(const Observation& obs);
  // This thread's new model of `options` (RestoreInto copies it).
  static const BusinessModel& Prototype(const ModelOptions& options);
  // Reads a state into this model, which must be as new (its constructor's
  // or a copy of Prototype's). DataLoss as Restore.
  Status Load(std::string_view state);

  struct Expectation {
    double mu = 0;            // expected value
    double var = 0;           // noise variance around it
    double profile = 0;       // the seasonal profile behind mu (before level and floor)
    double extra = 0;         // extra relative variance (an unseen day of the week)
    double noise_factor = 1;  // the time of day's factor on the variance
    double year = 1;          // the yearly factor in mu and in profile
    bool floored = false;     // mu was raised to the floor
    bool closed = false;      // floored, and a closed slot: its profile is near 0
    bool known = false;       // the slot has a profile (learnt, or its daily prior)
    bool ready = false;       // known and warmed up: scores count
  };
  // What the model learnt of one calendar event: the effect (value over
  // baseline) of its earlier occurrences, and sums over the current one.
  // Kept in 21 bytes of state (floats, hours), so that a year of a
  // country's holidays fits (kMaxEvents).
  struct EventEffectState {
    static constexpr int32_t kNever = INT32_MIN;
    uint32_t id = 0;
    uint8_t occurrences = 0;  // finished occurrences that made `factor` (at most 255)
    float factor = 1;
    float num = 0, den = 0;      // value and baseline summed over the current occurrence
    int32_t last_hour = kNever;  // hours since 1970 of the event's latest interval seen
  };

  // Slot of the week and, for sub-hourly intervals, the weight of the next
  // slot (linear interpolation between hour centres).
  void SlotOf(int64_t local_time, size_t& slot, size_t& next, double& w) const;
  double Profile(size_t slot) const;
  // Daily profile x day-of-week factor at a slot of the week; -1 if unknown.
  double Prior(size_t slot) const;
  double DowFactor(size_t dow) const;  // day-of-week factor (0 = Monday)
  double NoiseFactor(int64_t local_time) const;
  void LearnNoiseFactor(int64_t local_time, double x, const Expectation& e);
  void LearnShrink(size_t slot, double level);
  double Level() const;
  // The mean of the daily profile (a day's mean value per interval at level 1).
  double MeanDayProfile() const;
  size_t DaySlot(int64_t local_time) const;  // 1 for real-valued series (additive profile)
  Expectation Expect(int64_t local_time) const;
  double Variance(double mu) const;
  // The noise scale of the point being scored: phi_ times its rows' factor
  // (row_f_, 1 unless it is an average over a known number of rows).
  double PointPhi() const { return scale_ * row_f_; }
  // Zero-heavy money: the size of a sale learnt from the sales themselves
  // (0 where it does not apply or is not learnt yet).
  double SaleUnit() const;
  // phi within its band around SaleUnit (phi where that is 0).
  double ScaleNearSale() const;
  // Sets scale_ (noise_scale) again: wherever phi or the sale unit change.
  void RefreshScale() { scale_ = sale_n_ > 0 ? ScaleNearSale() : phi_; }
  // Learns the size of one sale from a point of zero-heavy money.
  void LearnSaleUnit(double x, double mu, bool flagged);
  // The smallest expectation: kMuFloor units of the noise scale an hour (an
  // interval shorter than an hour its share), or for a ratio series
  // kRatioMuFloor (its noise comes from the denominator).
  double MuFloor() const;
  // Signed deviance residual of x. var: the variance around mu, extra
  // relative variance included (the Gaussian of real values uses it);
  // extra_alpha: that extra, which the count families add to their own.
  double Deviance(double x, double mu, double var, double extra_alpha) const;
  // Signed deviate of a window's sum of deviations (dev, with variance var
  // and expectation mu summed over the window, rho2 the learnt correlated
  // relative error): on a count scale (unit > 0: the size of one count) the
  // deviance residual of a negative binomial with the sum's mean and
  // variance (two 1s where 0.05 each were expected are not a 5-sigma run; a
  // sum of skewed counts has a long right tail), else (unit 0) the Gaussian
  // deviate.
  double WindowDeviate(double dev, double var, double mu, double rho2, double unit) const;
  // -log10 of the two-sided tail probability of x (d its deviance residual).
  double PointSurprise(double x, double mu, double d, double extra_alpha) const;
  // Whether the point surprise is scaled by the series' own body rate (money).
  bool BodyCalibrated() const;
  // Whether the series is judged as a ratio (RatioNoise): a ratio measure's,
  // or a weighted mean's while its values are proportions.
  bool RatioActive() const;
  // Whether the series is judged as a mean over rows (Observation::rows).
  bool MeanOfRows() const;
  // The same under the family's negative binomial alone.
  double CountSurprise(double x, double mu, double d, double extra_alpha) const;
  void LearnNoise(double x, double mu, double var);
  // weight: how much the interval counts in the level and weekday sums (a
  // proportion's denominator; 1 otherwise).
  void LearnBaseline(int64_t local_time, double x, const Expectation& e, double weight);
  // A proportion (a ratio measure whose values stay in [0, 1]): its level
  // and weekday sums are weighted by the denominator.
  bool CountWeighted() const;
  // Yearly profile: adds a learnt point to its day's raw level.
  void LearnYear(int64_t local_time, double x, const Expectation& e);
  // The raw log level of an absolute local day; NaN when not known.
  double DayLog(int64_t day) const;
  // Log of a day's level over the mean of the half years either side
  // (each side averaged on its own); NaN when too little of them is known.
  double YearRatio(int64_t day) const;
  // The log yearly factor of a day (the ratios of the same date one and two
  // years before), given the soft threshold.
  double YearLogFactor(int64_t day, double cut) const;
  // YearRatio of a day at least half a year old (final, so cached).
  double CachedYearRatio(int64_t day) const;
  // Refreshes the cached factors of the day being filled and the next one
  // (and, once a week, the soft threshold).
  void RefreshYear() const;
  EventEffectState* EventSlot(uint32_t id, bool create);
  // Counts a flagged (or not) point towards relearning its slot of the
  // week (ws) and, when the point is the whole visit (`day`), its slot of
  // the day (ds); true when a slot was reset (the point is then learnt).
  bool CountVisit(size_t ws, size_t ds, bool flagged, bool day);
  // Counts a finished visit of a slot of the day; true when it was reset.
  bool CountDayVisit(size_t ds, bool flagged);

  ModelOptions options_;
  int64_t interval_ = 3600;
  int64_t slot_seconds_ = 3600;
  size_t slots_ = 168;     // slots per week
  size_t day_slots_ = 24;  // slots per day (1 for daily and longer)
  bool interpolate_ = false;
  // Intervals per slot visit (12 for PT5M on hourly slots, else 1): rates
  // and visit counts are per visit, not per interval.
  double per_slot_ = 1;
  // Time-of-day noise factors: decayed sums of squared standardised
  // residuals and of their weights, per slot of the day.
  std::vector<float> noise_u_, noise_w_;
  // The factor of the point being scored (not state): the scale and
  // overdispersion used by the tail functions are phi_ and alpha_ times it.
  double f_now_ = 1;
  // The same for an average over a known number of rows: the typical count
  // (state) and the point's factor typical / rows on the noise scale (not
  // state; 1 without rows).
  float rows_ref_ = 0;
  double row_f_ = 1;
  double band_z_ = 4.4;  // deviate at the edge of the band (severity 50)
  // Decades of surprise a point pays before it counts towards severity:
  // log10 of the intervals per hour for sub-hourly series, else 0
  // (severity is calibrated per hour of data; see the .cc).
  double rate_penalty_ = 0;
  // Decay per interval of the level sums; learning rate per visit of a slot.
  double level_decay_ = 0;

  // Seasonal profile (value per interval at level 1) per slot of the week,
  // with visit counts; daily profile per slot of the day; day-of-week factors.
  std::vector<float> week_;
  std::vector<uint8_t> week_n_;
  std::vector<float> day_;
  std::vector<uint16_t> day_n_;
  // MeanDayProfile() of day_ as it is (not state; recomputed after a change).
  mutable double mean_day_ = 0;
  mutable bool mean_day_valid_ = false;
  std::vector<uint8_t> stuck_;       // per slot of the day: visits flagged in a row
  std::vector<uint8_t> week_stuck_;  // per slot of the week: the same
  // Sub-hourly series: the visit of a slot of the day being counted (the
  // absolute local day x day slots + the slot), its points and its flagged
  // points.
  int64_t visit_ = INT64_MIN;
  uint16_t visit_points_ = 0, visit_flags_ = 0;
  std::array<float, 7> dow_{};
  std::array<float, 7> dow_n_{};
  double level_num_ = 0, level_den_ = 0;

  // Noise: family, parameters, and decayed sums of the weighted regression
  // of squared residuals on mu and mu^2.
  NoiseFamily family_ = NoiseFamily::kCount;
  bool zero_seen_ = false;  // a value of exactly 0 was seen (zero-heavy money)
  // Money: how often a learnt point's surprise reached kBodySurprise.
  float body_rate_ = 0.01f;
  // Money: the size of one sale (a compound Poisson's unit, E[P^2] / E[P])
  // as decayed sums of x^2 - mu x and x over points with sales, the number
  // of those points, and the share of zeros among the points that teach
  // the noise (SaleUnit; 1 before any has).
  double sale_num_ = 0, sale_den_ = 0;
  int32_t sale_n_ = 0;
  float zero_share_ = 1;
  double scale_ = 1;  // noise_scale(), derived from the above (not saved)
  // The mean number of intervals per value (1 where every interval has a
  // row), over about kSpacingMemory values: the per-hour rate penalty
  // counts the tests a series makes, one per value.
  float spacing_ = 1;
  double phi_ = 1, alpha_ = 0.05, var0_ = 0;
  double a11_ = 0, a12_ = 0, a22_ = 0, b1_ = 0, b2_ = 0;
  int64_t noise_n_ = 0;
  // Mean of (W - P)^2 / estimation variance over settled slots (Profile).
  double shrink_u_ = 0;
  int64_t shrink_n_ = 0;

  // Sustained evidence: the last kRing (clipped) deviations, variances and
  // expectations; the learnt excess relative variance per window length; one longer exponentially weighted
  // sum (and its excess) for slow changes and the shift confirmation.
  std::array<float, kRing> ring_dev_{}, ring_var_{}, ring_mu_{};
  uint32_t ring_head_ = 0;
  size_t ring_n_ = 0;
  // The ring's newest entries that are (or fall between) intervals of a
  // scanned event: forgotten when the event ends.
  uint8_t event_tail_ = 0;
  std::array<double, kScanWindows> scan_excess_{}, scan_rho2_{};
  double ew_dev_ = 0, ew_var_ = 0, ew_mu_ = 0, ew_rho2_ = 0, ew_excess_ = 0;
  // Shift confirmation: consecutive intervals deviating the same way, and
  // the value and expectation sums over them.
  // The shift confirmation's run: its points and the intervals it spans.
  int32_t run_ = 0, run_span_ = 0;
  int8_t run_sign_ = 0;
  double run_x_ = 0, run_mu_ = 0;
  // The level before the first of the shifts adopted recently (0: none),
  // and until when a return to it is confirmed sooner (kReturnSeconds after
  // the last adoption).
  double return_level_ = 0;
  int64_t return_until_ = INT64_MIN;

  int64_t last_time_ = INT64_MIN;
  int64_t observed_ = 0;  // intervals with a value
  std::vector<EventEffectState> events_;
  // Yearly profile (counts and money): the log of each absolute local
  // day's raw level (learnt value over seasonal profile, without the yearly
  // factor), a week per entry of a ring of kYearWeeks weeks: the week's mean
  // (1/256 steps; kNoLevel when no day is known) and each day's offset
  // from it (1/32 steps; kNoDay when not known). The week being filled
  // keeps its closed days' logs (NaN when not known), the day being filled
  // its sums.
  struct YearWeek {
    int16_t base;
    std::array<int8_t, 7> day;
  };
  std::array<YearWeek, kYearWeeks> year_ring_{};
  std::array<float, 7> year_days_{};
  int64_t year_day_ = INT64_MIN;  // the absolute local day being filled
  double year_x_ = 0, year_p_ = 0;
  int64_t year_k_ = 0;
  // Not state: the log factors of year_day_ and the next day, and the soft
  // threshold on ratios (refreshed when the week changes).
  mutable int64_t year_cache_day_ = INT64_MIN, year_cut_week_ = INT64_MIN;
  mutable std::array<double, 2> year_factor_{};
  mutable double year_cut_ = 0;
  // YearRatio of recent days asked for (direct-mapped by day).
  mutable std::array<int64_t, 32> year_ratio_day_ = MakeNoDays();
  mutable std::array<double, 32> year_ratio_{};
  static constexpr std::array<int64_t, 32> MakeNoDays() {
    std::array<int64_t, 32> a{};
    for (int64_t& d : a) d = INT64_MIN;
    return a;
  }
  // The noise of a ratio measure's series (Observation::denominator);
  // saved only once used.
  RatioNoise ratio_;
};

}  // namespace osprey::detect
