#include "osprey/detect/seasonal_median.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace osprey::detect {
namespace {

double Median(std::vector<double>& v) {
  size_t n = v.size();
  std::nth_element(v.begin(), v.begin() + n / 2, v.end());
  double hi = v[n / 2];
  if (n % 2 == 1) return hi;
  double lo = *std::max_element(v.begin(), v.begin() + n / 2);
  return (lo + hi) / 2;
}

// Severity 0-100 from a robust z-score. The mapping is monotone and the same
// for every series, so one threshold means the same everywhere; sensitivity
// 50 leaves it as is, higher values shift it up.
double SeverityFromZ(double z, double sensitivity) {
  double shift = (sensitivity - 50.0) / 25.0;  // +-2 z units at the extremes
  double excess = std::max(0.0, z + shift - 2.0);
  return 100.0 * (1.0 - std::exp(-excess / 4.0));
}

void PushRing(std::vector<double>& ring, uint32_t& next, size_t cap, double v) {
  if (ring.size() < cap) {
    ring.push_back(v);
  } else {
    ring[next] = v;
    next = static_cast<uint32_t>((next + 1) % cap);
  }
}

template <typename T>
void Put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

template <typename T>
bool Get(std::string_view& in, T& v) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(&v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

}  // namespace

SeasonalMedianModel::SeasonalMedianModel(const ModelOptions& options) : options_(options) {
  int64_t per_day = 86400 / std::max<int64_t>(options.interval_seconds, 1);
  slots_ = static_cast<size_t>(std::max<int64_t>(per_day, 1));
  history_.resize(slots_);
  next_.assign(slots_, 0);
  week_.resize(slots_ * 7);
  week_next_.assign(slots_ * 7, 0);
  errors_.resize(slots_);
  errors_next_.assign(slots_, 0);
  day_errors_.resize(slots_);
  day_errors_next_.assign(slots_, 0);
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

size_t SeasonalMedianModel::WeekSlotOf(int64_t local_time) const {
  // 1970-01-05 was a Monday.
  int64_t days = (local_time - 4 * 86400) / 86400;
  if (local_time < 4 * 86400 && (local_time - 4 * 86400) % 86400 != 0) --days;
  size_t dow = static_cast<size_t>(((days % 7) + 7) % 7);
  return dow * slots_ + SlotOf(local_time);
}

Score SeasonalMedianModel::Observe(const Observation& obs) {
  Score s;
  if (!obs.value) {
    s.reason = "no value for this interval";
    return s;
  }
  double v = *obs.value;
  s.value = v;
  size_t slot = SlotOf(obs.local_time);
  size_t wslot = WeekSlotOf(obs.local_time);
  std::vector<double>& h = history_[slot];
  std::vector<double>& w = week_[wslot];
  double stored = v;  // what the histories keep: v, winsorised once forecasts start
  if (h.size() >= kMinHistory) {
    std::vector<double> tmp = h;
    const double day_med = Median(tmp);
    const bool have_week = w.size() >= kMinWeeks;
    double week_med = day_med;
    if (have_week) {
      tmp = w;
      week_med = Median(tmp);
    }
    // Robust spread of a predictor's past errors, pooled over the slot and
    // its neighbours (14 values alone are too noisy); 0 when too few.
    auto spread_of = [&](const std::vector<std::vector<double>>& errors) {
      if (errors[slot].size() < kMinHistory) return 0.0;
      tmp.clear();
      for (size_t k : {slots_ - 1, size_t{0}, size_t{1}}) {
        for (double x : errors[(slot + k) % slots_]) tmp.push_back(std::fabs(x));
      }
      return 1.4826 * Median(tmp);
    };
    const double day_spread = spread_of(day_errors_);
    const double week_spread = spread_of(errors_);
    // Seasonality is chosen by the data: the weekly predictor (same slot of
    // past weeks) wins only where its errors are smaller than the daily one's.
    const bool use_week = have_week && week_spread > 0 && week_spread < day_spread;
    const double med = use_week ? week_med : day_med;
    double spread = use_week ? week_spread : day_spread;
    if (spread <= 0) {
      tmp = h;
      for (double& x : tmp) x = std::fabs(x - day_med);
      spread = 1.4826 * Median(tmp);
    }
    double scale = std::max({spread, 0.02 * std::fabs(med), 1e-9});
    double z = std::fabs(v - med) / scale;
    // Scores start once both predictors have an error history, so a weekday
    // is never judged by weekends before the weekly pattern is known.
    s.ready = errors_[slot].size() >= kMinHistory && day_errors_[slot].size() >= kMinHistory;
    s.expected = med;
    double half_band = 4.0 * scale;
    s.lower = med - half_band;
    s.upper = med + half_band;
    s.severity = s.ready ? SeverityFromZ(z, options_.sensitivity) : 0;
    s.anomaly = s.severity / 100.0;
    s.direction = v > med ? Direction::kUp : (v < med ? Direction::kDown : Direction::kNone);
    s.explanation = v >= med ? Explanation::kSpike : Explanation::kDip;
    // Errors are clipped so that one anomaly cannot widen a band for long.
    PushRing(day_errors_[slot], day_errors_next_[slot], kHistoryDays,
             std::clamp(v - day_med, -6 * scale, 6 * scale));
    if (have_week) {
      PushRing(errors_[slot], errors_next_[slot], kHistoryDays,
               std::clamp(v - week_med, -6 * scale, 6 * scale));
    }
    // The same clip keeps anomalies out of the medians: two anomalies in one
    // slot of the week would otherwise move a 4-week median halfway to them.
    stored = med + std::clamp(v - med, -6 * scale, 6 * scale);
  }
  if (!s.ready) {
    s.reason = h.size() < kMinHistory ? "warming up: needs 7 past days of this time of day"
                                      : "warming up: needs 4 past weeks of this time of week";
  }
  PushRing(h, next_[slot], kHistoryDays, stored);
  PushRing(w, week_next_[wslot], kHistoryWeeks, stored);
  return s;
}

std::string SeasonalMedianModel::SaveState() const {
  std::string out;
  Put<uint8_t>(out, kStateVersion);
  Put<uint32_t>(out, static_cast<uint32_t>(slots_));
  auto put_rings = [&](const std::vector<std::vector<double>>& rings,
                       const std::vector<uint32_t>& next) {
    for (size_t i = 0; i < rings.size(); ++i) {
      Put<uint32_t>(out, static_cast<uint32_t>(rings[i].size()));
      Put<uint32_t>(out, next[i]);
      for (double x : rings[i]) Put<double>(out, x);
    }
  };
  put_rings(history_, next_);
  put_rings(week_, week_next_);
  put_rings(errors_, errors_next_);
  put_rings(day_errors_, day_errors_next_);
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
  auto get_rings = [&](std::vector<std::vector<double>>& rings, std::vector<uint32_t>& nexts,
                       uint32_t cap) {
    for (size_t i = 0; i < rings.size(); ++i) {
      uint32_t n = 0, next = 0;
      if (!Get(state, n) || !Get(state, next) || n > cap || next >= cap) return false;
      rings[i].resize(n);
      nexts[i] = next;
      for (uint32_t k = 0; k < n; ++k) {
        if (!Get(state, rings[i][k])) return false;
      }
    }
    return true;
  };
  if (!get_rings(m->history_, m->next_, kHistoryDays) ||
      !get_rings(m->week_, m->week_next_, kHistoryWeeks) ||
      !get_rings(m->errors_, m->errors_next_, kHistoryDays) ||
      !get_rings(m->day_errors_, m->day_errors_next_, kHistoryDays)) {
    return DataLoss("model state is truncated or corrupt");
  }
  if (!state.empty()) return DataLoss("model state has trailing bytes");
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace osprey::detect
