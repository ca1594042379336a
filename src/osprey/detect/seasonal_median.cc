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

Score SeasonalMedianModel::Observe(const Observation& obs) {
  Score s;
  if (!obs.value) return s;
  double v = *obs.value;
  s.value = v;
  size_t slot = SlotOf(obs.local_time);
  std::vector<double>& h = history_[slot];
  if (h.size() >= kMinHistory) {
    std::vector<double> tmp = h;
    double med = Median(tmp);
    for (double& x : tmp) x = std::fabs(x - med);
    double mad = Median(tmp);
    double scale = std::max({1.4826 * mad, 0.02 * std::fabs(med), 1e-9});
    double z = std::fabs(v - med) / scale;
    s.ready = true;
    s.expected = med;
    double half_band = 4.0 * scale;
    s.lower = med - half_band;
    s.upper = med + half_band;
    s.severity = SeverityFromZ(z, options_.sensitivity);
    s.anomaly = s.severity / 100.0;
    s.direction = v > med ? Direction::kUp : (v < med ? Direction::kDown : Direction::kNone);
    s.explanation = v >= med ? Explanation::kSpike : Explanation::kDip;
  }
  if (h.size() < kHistoryDays) {
    h.push_back(v);
  } else {
    h[next_[slot]] = v;
    next_[slot] = (next_[slot] + 1) % kHistoryDays;
  }
  return s;
}

std::string SeasonalMedianModel::SaveState() const {
  std::string out;
  Put<uint8_t>(out, kStateVersion);
  Put<uint32_t>(out, static_cast<uint32_t>(slots_));
  for (size_t i = 0; i < slots_; ++i) {
    Put<uint32_t>(out, static_cast<uint32_t>(history_[i].size()));
    Put<uint32_t>(out, next_[i]);
    for (double x : history_[i]) Put<double>(out, x);
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
  for (size_t i = 0; i < slots; ++i) {
    uint32_t n = 0, next = 0;
    if (!Get(state, n) || !Get(state, next) || n > kHistoryDays || next >= kHistoryDays) {
      return DataLoss("model state is truncated or corrupt");
    }
    m->history_[i].resize(n);
    m->next_[i] = next;
    for (uint32_t k = 0; k < n; ++k) {
      if (!Get(state, m->history_[i][k])) return DataLoss("model state is truncated");
    }
  }
  if (!state.empty()) return DataLoss("model state has trailing bytes");
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace osprey::detect
