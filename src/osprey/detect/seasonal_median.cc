#include "osprey/detect/seasonal_median.h"
#include "osprey/detect/state_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace osprey::detect {
namespace {

using internal::Get;
using internal::Put;
using internal::kMaxStateTime;

constexpr uint16_t kMissing = 0x7fff;  // a NaN pattern: never produced by EncodeHalf
// Moving mean of absolute errors: a plain mean over the first kErrWindow
// errors, then this window as an exponential one.
constexpr double kErrWindow = 14;
// Errors enter the moving mean clipped at this many scales, so one anomaly
// widens the band of its slot by a few percent only.
constexpr double kErrClip = 2.5;
// Mean absolute error to error scale. sqrt(pi/2) = 1.25 for normal errors;
// 1.1 keeps the demo's precision and recall at severities 50/60/70 at or
// above the version 3 model's (1.05 loses precision, 1.25 recall).
constexpr double kMeanAbsToSigma = 1.1;
// Severity factor in a suppressing calendar event: even the largest
// deviation (100) stays at 25, below the default min_severity (50).
constexpr double kSuppressedSeverity = 0.25;

// Median of v[0..n), sorting v in place (n <= 14, so insertion sort).
double Median(double* v, size_t n) {
  for (size_t i = 1; i < n; ++i) {
    double x = v[i];
    size_t j = i;
    for (; j > 0 && v[j - 1] > x; --j) v[j] = v[j - 1];
    v[j] = x;
  }
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// IEEE half float of x, round to nearest even; magnitudes below 2^-14 become
// 0. False when |x| is too large for a half float.
bool EncodeHalf(double x, uint16_t& out) {
  float f = static_cast<float>(x);
  uint32_t b = 0;
  std::memcpy(&b, &f, sizeof b);
  const uint32_t sign = (b >> 16) & 0x8000u;
  int e = static_cast<int>((b >> 23) & 0xffu) - 127;
  if (e < -14) {
    out = 0;
    return true;
  }
  uint32_t m = (b & 0x7fffffu) >> 13;
  const uint32_t rem = b & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (m & 1u) != 0)) {
    if (++m == 0x400u) {
      m = 0;
      ++e;
    }
  }
  if (e > 15) return false;
  out = static_cast<uint16_t>(sign | (static_cast<uint32_t>(e + 15) << 10) | m);
  return true;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Severity 0-100 from a robust z-score. The mapping is monotone and the same
// for every series, so one threshold means the same everywhere; sensitivity
// 50 leaves it as is, higher values shift it up.
double SeverityFromZ(double z, double sensitivity) {
  double shift = (sensitivity - 50.0) / 25.0;  // +-2 z units at the extremes
  double excess = std::max(0.0, z + shift - 2.0);
  return 100.0 * (1.0 - std::exp(-excess / 4.0));
}


}  // namespace


SeasonalMedianModel::SeasonalMedianModel(const ModelOptions& options) : options_(options) {
  const int64_t interval = std::max<int64_t>(options.interval_seconds, 1);
  if (interval <= 86400) {
    slots_ = static_cast<size_t>(86400 / interval);
    week_lag_ = 7;
  } else {
    slots_ = 1;
    week_lag_ = static_cast<size_t>(std::max<int64_t>(1, (7 * 86400 + interval / 2) / interval));
  }
  rows_ = std::max<size_t>(kHistoryDays, kHistoryWeeks * week_lag_) + 1;
  table_.assign(rows_ * slots_, kMissing);
  for (int i = 0; i < 2; ++i) {
    err_[i].assign(slots_, 0.0f);
    err_n_[i].assign(slots_, 0);
  }
}

Result<std::unique_ptr<Model>> SeasonalMedianModel::Create(const ModelOptions& options) {
  if (options.interval_seconds < 60) {
    return InvalidArgument("model interval must be at least 60 seconds");
  }
  return std::unique_ptr<Model>(new SeasonalMedianModel(options));
}

size_t SeasonalMedianModel::SlotOf(int64_t local_time) const {
  if (slots_ == 1) return 0;
  int64_t in_day = ((local_time % 86400) + 86400) % 86400;
  return static_cast<size_t>(in_day / options_.interval_seconds) % slots_;
}

int64_t SeasonalMedianModel::PeriodOf(int64_t local_time) const {
  return FloorDiv(local_time, options_.interval_seconds <= 86400 ? 86400 : options_.interval_seconds);
}

double SeasonalMedianModel::Decode(uint16_t h) const {
  if ((h & 0x7fffu) == 0) return 0;
  const uint32_t b = (static_cast<uint32_t>(h & 0x8000u) << 16) |
                     ((static_cast<uint32_t>((h >> 10) & 0x1fu) + 112u) << 23) |
                     (static_cast<uint32_t>(h & 0x3ffu) << 13);
  float f = 0;
  std::memcpy(&f, &b, sizeof f);
  return static_cast<double>(f) * unit_;
}

void SeasonalMedianModel::Store(size_t at, double v) {
  if (!shift_set_ && v != 0) {
    // The first value lands near 2^8: room for growth (the scale widens
    // when a value outgrows it) and for values far smaller.
    shift_ = static_cast<int8_t>(std::clamp(std::ilogb(v) - 8, -120, 120));
    shift_set_ = true;
    unit_ = std::ldexp(1.0, shift_);
  }
  uint16_t h = 0;
  if (EncodeHalf(v / unit_, h)) {
    table_[at] = h;
    return;
  }
  // Too large for the current scale: widen it so that v lands near 2^12 and
  // re-encode the table (rare; the smallest old values may become 0).
  const int8_t wider = static_cast<int8_t>(std::clamp(std::ilogb(v) - 12, -120, 120));
  if (wider > shift_) {
    std::vector<double> old(table_.size());
    for (size_t i = 0; i < table_.size(); ++i) old[i] = table_[i] == kMissing ? 0 : Decode(table_[i]);
    shift_ = wider;
    unit_ = std::ldexp(1.0, shift_);
    for (size_t i = 0; i < table_.size(); ++i) {
      if (table_[i] != kMissing && !EncodeHalf(old[i] / unit_, table_[i])) table_[i] = 0x7bff;
    }
  }
  if (!EncodeHalf(v / unit_, h)) h = v > 0 ? 0x7bff : 0xfbff;  // saturate
  table_[at] = h;
}

void SeasonalMedianModel::Advance(int64_t p) {
  if (last_period_ != INT64_MIN) {
    const int64_t n = std::min<int64_t>(p - last_period_, static_cast<int64_t>(rows_));
    const int64_t r = static_cast<int64_t>(rows_);
    for (int64_t q = p - n + 1; q <= p; ++q) {
      const size_t row = static_cast<size_t>(((q % r) + r) % r);
      std::fill_n(table_.begin() + static_cast<std::ptrdiff_t>(row * slots_), slots_, kMissing);
    }
  }
  last_period_ = p;
}

Score SeasonalMedianModel::Observe(const Observation& obs) {
  Score s;
  const int64_t p = PeriodOf(obs.local_time);
  if (last_period_ == INT64_MIN || p > last_period_) Advance(p);
  if (!obs.value || !std::isfinite(*obs.value)) {
    s.reason = "no value for this interval";
    return s;
  }
  if (p < last_period_) {
    s.reason = "older than the newest value: not scored";
    return s;
  }
  const double v = *obs.value;
  s.value = v;
  const size_t slot = SlotOf(obs.local_time);
  const int64_t r = static_cast<int64_t>(rows_);
  auto cell = [&](int64_t back) {
    const int64_t q = p - back;
    return table_[static_cast<size_t>(((q % r) + r) % r) * slots_ + slot];
  };
  double day[kHistoryDays];
  size_t n_day = 0;
  for (int64_t k = 1; k <= kHistoryDays; ++k) {
    const uint16_t h = cell(k);
    if (h != kMissing) day[n_day++] = Decode(h);
  }
  double stored = v;  // what the table keeps: v, winsorised once forecasts start
  if (n_day >= kMinHistory) {
    const double day_med = Median(day, n_day);
    double week[kHistoryWeeks];
    size_t n_week = 0;
    for (int64_t k = 1; k <= kHistoryWeeks; ++k) {
      const uint16_t h = cell(k * static_cast<int64_t>(week_lag_));
      if (h != kMissing) week[n_week++] = Decode(h);
    }
    const bool have_week = n_week >= kMinWeeks;
    const double week_med = have_week ? Median(week, n_week) : day_med;
    // Error scale of a predictor, pooled over the slot and its neighbours
    // (one slot's errors alone are too noisy); 0 when too few errors.
    auto spread_of = [&](int i) {
      if (err_n_[i][slot] < kMinHistory) return 0.0;
      double sum = 0;
      int n = 0;
      for (size_t k : {slots_ - 1, size_t{0}, size_t{1}}) {
        const size_t j = (slot + k) % slots_;
        if (err_n_[i][j] > 0) {
          sum += static_cast<double>(err_[i][j]);
          ++n;
        }
      }
      return kMeanAbsToSigma * sum / n;
    };
    const double day_spread = spread_of(0);
    const double week_spread = spread_of(1);
    // Seasonality is chosen by the data: the weekly predictor (same slot of
    // past weeks) wins only where its errors are smaller than the daily one's.
    const bool use_week = have_week && week_spread > 0 && week_spread < day_spread;
    const double med = use_week ? week_med : day_med;
    double spread = use_week ? week_spread : day_spread;
    if (spread <= 0) {
      for (size_t i = 0; i < n_day; ++i) day[i] = std::fabs(day[i] - day_med);
      spread = 1.4826 * Median(day, n_day);
    }
    const double scale = std::max({spread, 0.02 * std::fabs(med), 1e-9});
    const double z = std::fabs(v - med) / scale;
    // Scores start once both predictors have an error history, so a weekday
    // is never judged by weekends before the weekly pattern is known.
    s.ready = err_n_[1][slot] >= kMinHistory && err_n_[0][slot] >= kMinHistory;
    s.expected = med;
    const double half_band = 4.0 * scale;
    s.lower = med - half_band;
    s.upper = med + half_band;
    s.severity = s.ready ? SeverityFromZ(z, options_.sensitivity) : 0;
    if (obs.event != 0 && obs.event_effect == EventEffect::kSuppress) {
      s.severity *= kSuppressedSeverity;
    }
    s.anomaly = s.severity / 100.0;
    s.direction = v > med ? Direction::kUp : (v < med ? Direction::kDown : Direction::kNone);
    s.explanation = v >= med ? Explanation::kSpike : Explanation::kDip;
    // Errors are clipped so that one anomaly cannot widen a band for long.
    auto learn = [&](int i, double e) {
      uint8_t& n = err_n_[i][slot];
      const double a = 1.0 / std::min<double>(n + 1, kErrWindow);
      const double x = std::min(std::fabs(e), kErrClip * scale);
      float& m = err_[i][slot];
      m = static_cast<float>(static_cast<double>(m) + a * (x - static_cast<double>(m)));
      if (n < 255) ++n;
    };
    // A calendar event is scored against normal behaviour but never learnt
    // as it: neither its errors nor its value enter the history.
    if (obs.event == 0) {
      learn(0, v - day_med);
      if (have_week) learn(1, v - week_med);
    }
    // The same clip keeps anomalies out of the medians: two anomalies in one
    // slot of the week would otherwise move a 4-week median halfway to them.
    stored = med + std::clamp(v - med, -6 * scale, 6 * scale);
  }
  if (!s.ready) {
    s.reason = n_day < kMinHistory ? "warming up: needs 7 past days of this time of day"
                                   : "warming up: needs 4 past weeks of this time of week";
  }
  if (obs.event == 0) Store(static_cast<size_t>(((p % r) + r) % r) * slots_ + slot, stored);
  return s;
}

int64_t SeasonalMedianModel::NeededPeriods() const {
  // Daily errors start after kMinHistory periods, weekly ones once
  // kMinWeeks weeks back exist too; each needs kMinHistory errors.
  return std::max<int64_t>(kMinHistory, kMinWeeks * static_cast<int64_t>(week_lag_)) + kMinHistory;
}

WarmupStatus SeasonalMedianModel::Warmup() const {
  const int64_t needed = NeededPeriods();
  const int64_t weekly_from = needed - kMinHistory;  // periods before weekly errors start
  const int64_t r = static_cast<int64_t>(rows_);
  WarmupStatus w;
  w.needed = needed * static_cast<int64_t>(slots_);
  for (size_t slot = 0; slot < slots_; ++slot) {
    int64_t progress = 0;
    if (err_n_[1][slot] > 0) {
      progress = weekly_from + err_n_[1][slot];
    } else if (err_n_[0][slot] > 0) {
      progress = std::min<int64_t>(kMinHistory + err_n_[0][slot], weekly_from);
    } else if (last_period_ != INT64_MIN) {
      // Values of the slot in the table, up to the kMinHistory that start errors.
      for (int64_t k = 0; k < kHistoryDays && k < r; ++k) {
        const int64_t q = last_period_ - k;
        if (table_[static_cast<size_t>(((q % r) + r) % r) * slots_ + slot] != kMissing) ++progress;
      }
      progress = std::min<int64_t>(progress, kMinHistory);
    }
    w.seen += std::min(progress, needed);
  }
  return w;
}

std::string SeasonalMedianModel::SaveState() const {
  std::string out;
  out.reserve(24 + table_.size() * 2 + slots_ * 10);
  Put<uint8_t>(out, kStateVersion);
  Put<uint32_t>(out, static_cast<uint32_t>(slots_));
  Put<int64_t>(out, last_period_);
  Put<int8_t>(out, shift_);
  Put<uint8_t>(out, shift_set_ ? 1 : 0);
  for (uint16_t h : table_) Put<uint16_t>(out, h);
  for (int i = 0; i < 2; ++i) {
    for (float m : err_[i]) Put<float>(out, m);
    for (uint8_t n : err_n_[i]) Put<uint8_t>(out, n);
  }
  return out;
}

Result<std::unique_ptr<Model>> SeasonalMedianModel::Restore(const ModelOptions& options,
                                                           std::string_view state) {
  auto m = std::unique_ptr<SeasonalMedianModel>(new SeasonalMedianModel(options));
  uint8_t version = 0;
  uint32_t slots = 0;
  if (!Get(state, version) || version != kStateVersion) {
    return DataLoss("model state has an unknown version");
  }
  if (!Get(state, slots) || slots != m->slots_) {
    return DataLoss("model state does not match the detector's frequency");
  }
  uint8_t shift_set = 0;
  if (!Get(state, m->last_period_) || !Get(state, m->shift_) || !Get(state, shift_set) ||
      shift_set > 1) {
    return DataLoss("model state is truncated or corrupt");
  }
  // Periods are subtracted when the model advances: a corrupt one must not
  // overflow there (found by fuzz/model_state_fuzz.cc).
  if ((m->last_period_ != INT64_MIN &&
       (m->last_period_ < -kMaxStateTime || m->last_period_ > kMaxStateTime)) ||
      m->shift_ < -120 || m->shift_ > 120) {
    return DataLoss("model state is corrupt");
  }
  m->shift_set_ = shift_set == 1;
  m->unit_ = std::ldexp(1.0, m->shift_);
  for (uint16_t& h : m->table_) {
    if (!Get(state, h)) return DataLoss("model state is truncated");
  }
  for (int i = 0; i < 2; ++i) {
    for (float& x : m->err_[i]) {
      if (!Get(state, x) || !std::isfinite(x) || x < 0) return DataLoss("model state is corrupt");
    }
    for (uint8_t& n : m->err_n_[i]) {
      if (!Get(state, n)) return DataLoss("model state is truncated");
    }
  }
  if (!state.empty()) return DataLoss("model state has trailing bytes");
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace osprey::detect
