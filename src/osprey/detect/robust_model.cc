#include "osprey/detect/robust_model.h"
#include "osprey/detect/state_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace osprey::detect {
namespace {

using internal::Get;
using internal::Put;
using internal::AllFinite;
using internal::CountOk;
using internal::kMaxStateTime;
using internal::NegLog10Tail;
constexpr double kPointWeight = 0.5;  // weight of the point tail vs the window tail (log p)
constexpr double kMinSdU = 0.25;      // floor of the long-run sd of u = log(1 + |z|)
constexpr double kMinSdWindow = 0.1;  // floor of the long-run sd of u's window mean
constexpr double kRelFloor = 0.005;   // scale floor, relative to the mean |value|


constexpr double kLevelAlpha = 0.03;    // level learning rate
constexpr double kTrendBeta = 0.05;     // trend learning rate, relative to the level's
constexpr double kTrendDamping = 0.98;  // trend fades without support
constexpr double kScaleAlpha = 0.02;    // robust scale learning rate
constexpr double kHuber = 3.0;          // residuals are clipped at this many sigmas
constexpr double kOutlierZ = 3.5;       // a residual this big starts/extends an outlier run
constexpr int kShiftRun = 6;            // a run this long is a level shift
constexpr int kMaxRun = kShiftRun;      // a run ends when it is this long
constexpr double kErrAlpha = 0.01;      // seasonality comparison learning rate
constexpr double kSeasonGain = 0.85;    // a profile must cut the error by 15 % to be used
constexpr double kSeasonAlpha = 0.25;  // seasonal learning rate per cycle
constexpr double kLongAlpha = 0.002;    // long-run surprise statistics learning rate
constexpr int64_t kWarmup = 48;         // values before the model scores
constexpr double kMadToSigma = 1.2533;  // sigma / mean absolute deviation, Gaussian
constexpr double kLog10Half = 10.0;     // -log10(p) mapped to anomaly 0.5

double ClampAbs(double v, double limit) { return std::clamp(v, -limit, limit); }


}  // namespace

RobustSeasonalModel::RobustSeasonalModel(const ModelOptions& options) : options_(options) {
  const int64_t interval = std::max<int64_t>(options.interval_seconds, 60);
  // Daily bins at the data's resolution down to 5 minutes; weekly bins at
  // least an hour long, so memory stays bounded for fine frequencies.
  day_bin_ = std::max<int64_t>(interval, 300);
  if (86400 % day_bin_ != 0) day_bin_ = 86400;
  week_bin_ = std::max<int64_t>(interval, 3600);
  if (86400 % week_bin_ != 0) week_bin_ = 86400;
  if (interval < 86400) day_.assign(static_cast<size_t>(86400 / day_bin_), 0.0f);
  if (interval < 7 * 86400) week_.assign(static_cast<size_t>(7 * 86400 / week_bin_), 0.0f);
  per_day_ = 86400.0 / static_cast<double>(interval);
}

Result<std::unique_ptr<Model>> RobustSeasonalModel::Create(const ModelOptions& options) {
  if (options.interval_seconds < 60) {
    return InvalidArgument("model interval must be at least 60 seconds");
  }
  return std::unique_ptr<Model>(new RobustSeasonalModel(options));
}

size_t RobustSeasonalModel::DayBin(int64_t t) const {
  int64_t in_day = ((t % 86400) + 86400) % 86400;
  return static_cast<size_t>(in_day / day_bin_);
}

size_t RobustSeasonalModel::WeekBin(int64_t t) const {
  // Unix day 0 was a Thursday; bins start on Monday 00:00.
  const int64_t week = 7 * 86400;
  int64_t in_week = (((t + 3 * 86400) % week) + week) % week;
  return static_cast<size_t>(in_week / week_bin_);
}

Score RobustSeasonalModel::Observe(const Observation& obs) {
  Score s;
  if (!obs.value || !std::isfinite(*obs.value)) return s;
  const double x = *obs.value;
  s.value = x;
  if (x != std::floor(x)) c_.integer_only = 0;
  if (c_.n == 0) {
    c_.level = x;
    c_.abs_mean = std::fabs(x);
    c_.n = 1;
    c_.last_time = obs.time;
    return s;
  }
  const size_t db = day_.empty() ? 0 : DayBin(obs.local_time);
  const size_t wb = week_.empty() ? 0 : WeekBin(obs.local_time);
  const double sd = day_.empty() ? 0.0 : day_[db];
  const double sw = week_.empty() ? 0.0 : week_[wb];
  const double seasonal = c_.season == 1 ? sd : (c_.season == 2 ? sw : 0.0);
  const double base = c_.level + c_.trend;
  const double expected = base + seasonal;
  const double r = x - expected;

  // Robust scale with floors: relative to the magnitude, and half a unit
  // for integer counts (Poisson-like sparse series).
  double floor = std::max(kRelFloor * c_.abs_mean, 1e-12);
  if (c_.integer_only) floor = std::max(floor, 0.5 / kMadToSigma);
  const double sigma = kMadToSigma * std::max(c_.scale, floor);
  const double z = r / sigma;

  // Windowed likelihood of recent residual sizes.
  // Surprise u = log(1 + |z|), calibrated against its own long-run
  // distribution, so heavy-tailed and quantised series score alike.
  const double u = std::log1p(std::min(std::fabs(z), 1e6));
  const float uf = static_cast<float>(u);
  c_.win_sum += static_cast<double>(uf) - static_cast<double>(c_.win[static_cast<size_t>(c_.win_pos)]);
  c_.win[static_cast<size_t>(c_.win_pos)] = uf;
  c_.win_pos = (c_.win_pos + 1) % kWindow;
  const double win_mean = std::max(0.0, c_.win_sum) / kWindow;

  const bool ready = c_.n >= kWarmup;
  double point_logp = 0, win_logp = 0;
  if (c_.lt_n > 16) {
    const double sd_pt = std::max(std::sqrt(c_.pt_var), kMinSdU);
    point_logp = kPointWeight * std::max(0.0, NegLog10Tail((u - c_.pt_mean) / sd_pt));
    const double sd_lt = std::max(std::sqrt(c_.lt_var), kMinSdWindow);
    win_logp = std::max(0.0, NegLog10Tail((win_mean - c_.lt_mean) / sd_lt));
  }
  const double logp = std::max(point_logp, win_logp);

  // Outlier runs: level shifts and trend changes.
  const int sign = r > 0 ? 1 : -1;
  bool shifted = false;
  if (std::fabs(z) >= kOutlierZ) {
    if (c_.run_len > 0 && sign == c_.run_sign) {
      ++c_.run_len;
      c_.run_sum += r;
      if (std::fabs(r) > c_.prev_abs_r) ++c_.run_growing;
    } else {
      c_.run_len = 1;
      c_.run_sign = sign;
      c_.run_sum = r;
      c_.run_growing = 0;
    }
  } else {
    c_.run_len = 0;
    c_.run_sum = 0;
    c_.run_growing = 0;
  }
  c_.prev_abs_r = std::fabs(r);

  if (ready) {
    s.ready = true;
    s.expected = expected;
    const double half_band = 3.0 * sigma;
    s.lower = expected - half_band;
    s.upper = expected + half_band;
    s.anomaly = logp / (logp + kLog10Half);
    // Severity: p = 1e-3 -> 0, p = 1e-9 -> 100, linear in log p in between.
    double shift = (options_.sensitivity - 50.0) / 25.0;
    s.severity = std::clamp((logp + shift - 3.0) / 6.0 * 100.0, 0.0, 100.0);
    s.direction = r > 0 ? Direction::kUp : (r < 0 ? Direction::kDown : Direction::kNone);
    if (c_.run_len >= kShiftRun - 1) {
      s.explanation = 2 * c_.run_growing >= c_.run_len ? Explanation::kTrendChange
                                                       : Explanation::kLevelShift;
    } else if (seasonal != 0 && std::fabs(x - base) < 2.0 * sigma && std::fabs(z) >= 3.0) {
      s.explanation = Explanation::kSeasonalityBreak;
    } else if (std::fabs(z) >= 2.0 || win_logp > point_logp) {
      s.explanation = r >= 0 ? Explanation::kSpike : Explanation::kDip;
    }
  }

  // Learn. Long-run window statistics first (from the pre-update state).
  if (c_.n >= kWindow) {
    const double a = std::max(kLongAlpha, 1.0 / static_cast<double>(c_.lt_n + 1));
    // Outliers enter the long-run statistics clipped, so one anomaly does
    // not teach the model that anomalies are normal.
    const double d = std::min(win_mean, c_.lt_mean + 4 * std::sqrt(std::max(c_.lt_var, 1e-4))) -
                     c_.lt_mean;
    c_.lt_mean += a * d;
    c_.lt_var = (1 - a) * (c_.lt_var + a * d * d);
    const double dp = std::min(u, c_.pt_mean + 4 * std::sqrt(std::max(c_.pt_var, 1e-4))) -
                      c_.pt_mean;
    c_.pt_mean += a * dp;
    c_.pt_var = (1 - a) * (c_.pt_var + a * dp * dp);
    ++c_.lt_n;
  }
  if (c_.run_len >= kShiftRun) {
    // A level shift: jump to the run's mean and forget the trend.
    c_.level += c_.run_sum / c_.run_len;
    c_.trend = 0;
    c_.run_len = 0;
    c_.run_sum = 0;
    c_.run_growing = 0;
    shifted = true;
  }
  const double huber = kHuber * sigma;
  const double rc = ClampAbs(r, huber);
  if (!shifted) {
    c_.level = c_.level + c_.trend + kLevelAlpha * rc;
    c_.trend = kTrendDamping * c_.trend + kLevelAlpha * kTrendBeta * rc;
  }
  // Seasonal profiles learn what the level does not explain.
  // Per-visit learning rate: an average over the first cycles, then EW.
  const double days = static_cast<double>(c_.n) / per_day_;
  if (!day_.empty()) {
    const double a = std::max(kSeasonAlpha, 1.0 / (std::floor(days) + 1.0));
    double e = ClampAbs(x - c_.level - sd, huber);
    day_[db] = static_cast<float>(sd + a * e);
  }
  if (!week_.empty()) {
    const double visits_per_week = static_cast<double>(week_bin_) /
                                   static_cast<double>(std::max<int64_t>(options_.interval_seconds, 60));
    const double a = std::max(kSeasonAlpha / visits_per_week,
                              1.0 / ((std::floor(days / 7.0) + 1.0) * visits_per_week));
    double e = ClampAbs(x - c_.level - sw, huber);
    week_[wb] = static_cast<float>(sw + a * e);
  }
  // Which seasonality forecasts best (errors of the pre-update forecasts).
  const double cap = 6 * sigma;
  c_.err_none += kErrAlpha * (std::min(std::fabs(x - base), cap) - c_.err_none);
  c_.err_day += kErrAlpha * (std::min(std::fabs(x - base - sd), cap) - c_.err_day);
  c_.err_week += kErrAlpha * (std::min(std::fabs(x - base - sw), cap) - c_.err_week);
  const int64_t seen = c_.n;
  const double per_day = per_day_;
  int season = 0;
  double best = c_.err_none;
  if (!day_.empty() && static_cast<double>(seen) >= 2 * per_day &&
      c_.err_day < kSeasonGain * best) {
    season = 1;
    best = c_.err_day;
  }
  if (!week_.empty() && static_cast<double>(seen) >= 21 * per_day &&
      c_.err_week < kSeasonGain * best) {
    season = 2;
  }
  c_.season = season;
  // Scale learns from clipped residuals, so a spike inflates it little.
  c_.scale += kScaleAlpha * (std::min(std::fabs(r), huber) - c_.scale);
  c_.abs_mean += kScaleAlpha * (std::fabs(x) - c_.abs_mean);
  c_.last_time = obs.time;
  ++c_.n;
  return s;
}

std::string RobustSeasonalModel::SaveState() const {
  std::string out;
  Put<uint8_t>(out, kStateVersion);
  Put<uint32_t>(out, static_cast<uint32_t>(sizeof(Core)));
  Put<uint32_t>(out, static_cast<uint32_t>(day_.size()));
  Put<uint32_t>(out, static_cast<uint32_t>(week_.size()));
  Put(out, c_);
  for (float v : day_) Put(out, v);
  for (float v : week_) Put(out, v);
  return out;
}

Result<std::unique_ptr<Model>> RobustSeasonalModel::Restore(const ModelOptions& options,
                                                           std::string_view state) {
  if (options.interval_seconds < 60) {
    return InvalidArgument("model interval must be at least 60 seconds");
  }
  auto m = std::unique_ptr<RobustSeasonalModel>(new RobustSeasonalModel(options));
  uint8_t version = 0;
  uint32_t core = 0, day = 0, week = 0;
  if (!Get(state, version) || version != kStateVersion) {
    return DataLoss("model state has an unknown version");
  }
  if (!Get(state, core) || !Get(state, day) || !Get(state, week) || core != sizeof(Core)) {
    return DataLoss("model state is truncated or corrupt");
  }
  if (day != m->day_.size() || week != m->week_.size()) {
    return DataLoss("model state does not match the detector's frequency");
  }
  if (!Get(state, m->c_)) return DataLoss("model state is truncated");
  for (float& v : m->day_) {
    if (!Get(state, v)) return DataLoss("model state is truncated");
  }
  for (float& v : m->week_) {
    if (!Get(state, v)) return DataLoss("model state is truncated");
  }
  if (!state.empty()) return DataLoss("model state has trailing bytes");
  // Counts are incremented and subtracted, statistics feed every score: a
  // corrupt value must not reach Observe (found by fuzz/model_state_fuzz.cc).
  const Core& c = m->c_;
  bool ok = c.season >= 0 && c.season <= 2 && c.win_pos >= 0 && c.win_pos < kWindow &&
            CountOk(c.n) && CountOk(c.lt_n) && c.run_len >= 0 && c.run_len <= kMaxRun &&
            c.run_growing >= 0 && c.run_growing <= c.run_len && c.run_sign >= -1 &&
            c.run_sign <= 1 && (c.integer_only == 0 || c.integer_only == 1) &&
            c.last_time >= -kMaxStateTime && c.last_time <= kMaxStateTime &&
            AllFinite(c.level, c.trend, c.scale, c.abs_mean, c.err_none, c.err_day, c.err_week,
                      c.lt_mean, c.lt_var, c.pt_mean, c.pt_var, c.win_sum, c.run_sum,
                      c.prev_abs_r);
  for (float v : c.win) ok = ok && std::isfinite(v);
  for (float v : m->day_) ok = ok && std::isfinite(v);
  for (float v : m->week_) ok = ok && std::isfinite(v);
  if (!ok) return DataLoss("model state is corrupt");
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace osprey::detect
