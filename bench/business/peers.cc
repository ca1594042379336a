#include "business/peers.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace osprey::bench {
namespace {

using testing::Dataset;

constexpr int64_t kDay = 86400;
constexpr double kTinyScale = 1e-9;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

double Median(std::vector<double>& v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) {
    m = 0.5 * (m + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)));
  }
  return m;
}

// Linear-interpolated quantile of sorted values (pandas' default).
double Quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

MeasureScores Empty(const Dataset& d) {
  return MeasureScores(d.series.size(), std::vector<double>(d.points(), kNoScore));
}

int64_t FirstRow(const std::vector<std::optional<double>>& v) {
  for (size_t t = 0; t < v.size(); ++t) {
    if (v[t].has_value()) return static_cast<int64_t>(t);
  }
  return static_cast<int64_t>(v.size());
}

// ---- STL ----

int NextOdd(double x) {
  int n = static_cast<int>(std::ceil(x));
  return n % 2 == 0 ? n + 1 : n;
}

// Loess fit at position x (1-based) from y[left..right] (1-based, inclusive),
// tricube weights times rw (may be null). Returns false when every weight is 0.
bool LoessAt(const double* y, int n, int q, int degree, const double* rw, double x, int left, int right,
             double* out) {
  double h = std::max(x - left, right - x);
  if (q > n) h += std::floor((q - n) / 2.0);
  // One pass: weighted sums give the local constant or linear fit.
  double sw = 0, swj = 0, swjj = 0, swy = 0, swjy = 0;
  for (int j = left; j <= right; ++j) {
    const double r = std::fabs(j - x);
    if (r > 0.999 * h) continue;
    double wj = 1.0;
    if (r > 0.001 * h) {
      const double f = r / h;
      const double g = 1 - f * f * f;
      wj = g * g * g;
    }
    if (rw != nullptr) wj *= rw[j - 1];
    const double yj = y[j - 1];
    sw += wj;
    swj += wj * j;
    swjj += wj * j * j;
    swy += wj * yj;
    swjy += wj * j * yj;
  }
  if (sw <= 0) return false;
  double fit = swy / sw;
  if (degree > 0 && h > 0) {
    const double a = swj / sw;
    const double c = swjj / sw - a * a;
    if (c > 0 && std::sqrt(c) > 0.001 * (n - 1)) {
      const double b = (x - a) / c;
      fit = (swy + b * (swjy - a * swy)) / sw;
    }
  }
  *out = fit;
  return true;
}

void Window(int n, int q, int i, int* left, int* right) {
  if (q >= n) {
    *left = 1;
    *right = n;
    return;
  }
  *left = std::clamp(i - (q - 1) / 2, 1, n - q + 1);
  *right = *left + q - 1;
}

// Loess at every position 1..n, every `jump`-th one computed and the rest
// interpolated linearly.
void LoessSmooth(const double* y, int n, int q, int degree, const double* rw, double* out) {
  if (n <= 0) return;
  if (n < 2) {
    out[0] = y[0];
    return;
  }
  const int jump = std::max(1, (q + 9) / 10);
  int last = 0;
  for (int i = 1;; i += jump) {
    if (i > n) i = n;
    int left = 0, right = 0;
    Window(n, q, i, &left, &right);
    if (!LoessAt(y, n, q, degree, rw, i, left, right, &out[i - 1])) out[i - 1] = y[i - 1];
    if (last > 0) {
      for (int j = last + 1; j < i; ++j) {
        const double f = static_cast<double>(j - last) / (i - last);
        out[j - 1] = out[last - 1] + f * (out[i - 1] - out[last - 1]);
      }
    }
    last = i;
    if (i == n) break;
  }
}

void MovingAverage(const std::vector<double>& x, int len, std::vector<double>* out) {
  const size_t n = x.size() - static_cast<size_t>(len) + 1;
  out->assign(n, 0.0);
  double sum = 0;
  for (int i = 0; i < len; ++i) sum += x[static_cast<size_t>(i)];
  (*out)[0] = sum / len;
  for (size_t i = 1; i < n; ++i) {
    sum += x[i + static_cast<size_t>(len) - 1] - x[i - 1];
    (*out)[i] = sum / len;
  }
}

}  // namespace

void StlDecompose(const std::vector<double>& y, int np, int ns, int inner, int outer,
                  std::vector<double>* seasonal, std::vector<double>* trend) {
  const int n = static_cast<int>(y.size());
  const int nt = NextOdd(1.5 * np / (1 - 1.5 / ns));
  const int nl = NextOdd(np);
  seasonal->assign(static_cast<size_t>(n), 0.0);
  trend->assign(static_cast<size_t>(n), 0.0);
  std::vector<double> rw(static_cast<size_t>(n), 1.0);
  std::vector<double> detrended(static_cast<size_t>(n));
  std::vector<double> cycle(static_cast<size_t>(n + 2 * np), 0.0);
  std::vector<double> sub, subw, fit, ma1, ma2, ma3, low(static_cast<size_t>(n));
  for (int pass = 0; pass <= outer; ++pass) {
    const bool robust = pass > 0;
    for (int it = 0; it < inner; ++it) {
      for (int i = 0; i < n; ++i)
        detrended[static_cast<size_t>(i)] = y[static_cast<size_t>(i)] - (*trend)[static_cast<size_t>(i)];
      // Cycle-subseries smoothing, extended one cycle at each end.
      for (int j = 0; j < np; ++j) {
        sub.clear();
        subw.clear();
        for (int i = j; i < n; i += np) {
          sub.push_back(detrended[static_cast<size_t>(i)]);
          subw.push_back(rw[static_cast<size_t>(i)]);
        }
        const int k = static_cast<int>(sub.size());
        if (k == 0) continue;
        fit.assign(static_cast<size_t>(k + 2), 0.0);
        const double* w = robust ? subw.data() : nullptr;
        for (int pos = 0; pos <= k + 1; ++pos) {
          int left = 0, right = 0;
          Window(k, ns, std::clamp(pos, 1, k), &left, &right);
          double v = 0;
          if (!LoessAt(sub.data(), k, ns, 1, w, pos, left, right, &v)) {
            v = sub[static_cast<size_t>(std::clamp(pos, 1, k) - 1)];
          }
          fit[static_cast<size_t>(pos)] = v;
        }
        for (int pos = 0; pos <= k + 1; ++pos) {
          cycle[static_cast<size_t>(pos * np + j)] = fit[static_cast<size_t>(pos)];
        }
      }
      // Low-pass: moving averages np, np, 3, then loess nl.
      MovingAverage(cycle, np, &ma1);
      MovingAverage(ma1, np, &ma2);
      MovingAverage(ma2, 3, &ma3);
      LoessSmooth(ma3.data(), n, nl, 1, nullptr, low.data());
      for (int i = 0; i < n; ++i) {
        (*seasonal)[static_cast<size_t>(i)] =
            cycle[static_cast<size_t>(np + i)] - low[static_cast<size_t>(i)];
        detrended[static_cast<size_t>(i)] = y[static_cast<size_t>(i)] - (*seasonal)[static_cast<size_t>(i)];
      }
      LoessSmooth(detrended.data(), n, nt, 1, robust ? rw.data() : nullptr, trend->data());
    }
    if (pass == outer) break;
    std::vector<double> r(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const size_t u = static_cast<size_t>(i);
      r[u] = std::fabs(y[u] - (*seasonal)[u] - (*trend)[u]);
    }
    std::vector<double> tmp = r;
    const double h = 6 * Median(tmp);
    for (int i = 0; i < n; ++i) {
      const size_t u = static_cast<size_t>(i);
      if (h <= 0) {
        rw[u] = 1;
      } else if (r[u] <= 0.001 * h) {
        rw[u] = 1;
      } else if (r[u] <= 0.999 * h) {
        const double f = r[u] / h;
        rw[u] = (1 - f * f) * (1 - f * f);
      } else {
        rw[u] = 0;
      }
    }
  }
}

MeasureScores ScoreRobustZ(const Dataset& d, size_t m) {
  MeasureScores out = Empty(d);
  const int64_t slots = kDay / d.interval_seconds;
  const int64_t first_day = FloorDiv(d.local_times.front(), kDay);
  const int64_t days = FloorDiv(d.local_times.back(), kDay) - first_day + 1;
  std::vector<double> table(static_cast<size_t>(days * slots));
  std::vector<double> window;
  for (size_t s = 0; s < d.series.size(); ++s) {
    const auto& values = d.series[s].measures[m].value;
    std::fill(table.begin(), table.end(), kNaN);
    std::vector<size_t> cell(d.points());
    for (size_t t = 0; t < d.points(); ++t) {
      const int64_t local = d.local_times[t];
      const int64_t day = FloorDiv(local, kDay);
      cell[t] = static_cast<size_t>((day - first_day) * slots + (local - day * kDay) / d.interval_seconds);
      if (values[t].has_value()) table[cell[t]] = *values[t];
    }
    for (size_t t = static_cast<size_t>(d.warmup_points); t < d.points(); ++t) {
      if (!values[t].has_value()) continue;
      window.clear();
      for (int64_t back = 1; back <= 14; ++back) {
        const int64_t c = static_cast<int64_t>(cell[t]) - back * slots;
        if (c < 0) break;
        const double v = table[static_cast<size_t>(c)];
        if (!std::isnan(v)) window.push_back(v);
      }
      if (window.size() < 7) continue;
      const double med = Median(window);
      for (double& v : window) v = std::fabs(v - med);
      const double scale = std::max(1.4826 * Median(window), kTinyScale);
      out[s][t] = std::fabs(*values[t] - med) / scale;
    }
  }
  return out;
}

MeasureScores ScoreStl(const Dataset& d, size_t m) {
  MeasureScores out = Empty(d);
  const int64_t per_day = kDay / d.interval_seconds;
  const bool hourly = d.interval_seconds >= 3600;
  const int np = static_cast<int>(hourly ? 7 * per_day : per_day);
  const int64_t window = hourly ? 6 * 7 * per_day : 7 * per_day;
  const int64_t n = static_cast<int64_t>(d.points());
  std::vector<double> y, seasonal, trend, resid;
  for (size_t s = 0; s < d.series.size(); ++s) {
    const auto& values = d.series[s].measures[m].value;
    const int64_t first = FirstRow(values);
    for (int64_t t0 = d.warmup_points; t0 < n; t0 += per_day) {
      const int64_t from = t0 - window;
      if (from < first) continue;  // not yet a full window of its own history
      y.assign(static_cast<size_t>(window), kNaN);
      int present = 0;
      for (int64_t i = 0; i < window; ++i) {
        const auto& v = values[static_cast<size_t>(from + i)];
        if (v.has_value()) {
          y[static_cast<size_t>(i)] = *v;
          ++present;
        }
      }
      if (present < window / 2) continue;
      // Fill holes linearly (ends: nearest value).
      int64_t last = -1;
      for (int64_t i = 0; i <= window; ++i) {
        if (i < window && std::isnan(y[static_cast<size_t>(i)])) continue;
        const double right = i < window ? y[static_cast<size_t>(i)] : y[static_cast<size_t>(last)];
        const double left = last >= 0 ? y[static_cast<size_t>(last)] : right;
        for (int64_t j = last + 1; j < i; ++j) {
          const double f = static_cast<double>(j - last) / static_cast<double>(i - last);
          y[static_cast<size_t>(j)] = last >= 0 ? left + f * (right - left) : right;
        }
        last = i;
      }
      StlDecompose(y, np, 7, 2, 1, &seasonal, &trend);
      resid.clear();
      for (int64_t i = 0; i < window; ++i) {
        if (!values[static_cast<size_t>(from + i)].has_value()) continue;
        const size_t u = static_cast<size_t>(i);
        resid.push_back(std::fabs(y[u] - seasonal[u] - trend[u]));
      }
      const double scale = std::max(1.4826 * Median(resid), kTinyScale);
      const double level = trend.back();
      for (int64_t j = 0; j < per_day && t0 + j < n; ++j) {
        const size_t t = static_cast<size_t>(t0 + j);
        if (!values[t].has_value()) continue;
        const double expected = seasonal[static_cast<size_t>(window - np + j % np)] + level;
        out[s][t] = std::fabs(*values[t] - expected) / scale;
      }
    }
  }
  return out;
}

MeasureScores ScoreSeasonalIqr(const Dataset& d, size_t m) {
  MeasureScores out = Empty(d);
  const int64_t per_day = kDay / d.interval_seconds;
  const int64_t period = d.interval_seconds >= 3600 ? 7 * per_day : per_day;
  const int64_t n = static_cast<int64_t>(d.points());
  for (size_t s = 0; s < d.series.size(); ++s) {
    const auto& values = d.series[s].measures[m].value;
    const int64_t first = FirstRow(values);
    const int64_t train_end = first + d.warmup_points;
    if (train_end >= n) continue;
    std::vector<double> sum(static_cast<size_t>(period), 0.0), count(static_cast<size_t>(period), 0.0);
    for (int64_t t = first; t < train_end; ++t) {
      const auto& v = values[static_cast<size_t>(t)];
      if (!v.has_value()) continue;
      sum[static_cast<size_t>(t % period)] += *v;
      count[static_cast<size_t>(t % period)] += 1;
    }
    std::vector<double> resid;
    for (int64_t t = first; t < train_end; ++t) {
      const auto& v = values[static_cast<size_t>(t)];
      const size_t ph = static_cast<size_t>(t % period);
      if (!v.has_value() || count[ph] == 0) continue;
      resid.push_back(*v - sum[ph] / count[ph]);
    }
    if (resid.size() < 4) continue;
    std::sort(resid.begin(), resid.end());
    const double q1 = Quantile(resid, 0.25), q3 = Quantile(resid, 0.75);
    const double iqr = std::max(q3 - q1, kTinyScale);
    for (int64_t t = std::max(train_end, d.warmup_points); t < n; ++t) {
      const auto& v = values[static_cast<size_t>(t)];
      const size_t ph = static_cast<size_t>(t % period);
      if (!v.has_value() || count[ph] == 0) continue;
      const double r = *v - sum[ph] / count[ph];
      out[s][static_cast<size_t>(t)] = std::max({q1 - r, r - q3, 0.0}) / iqr;
    }
  }
  return out;
}

MeasureScores ScoreOracle(const Dataset& d, size_t m) {
  MeasureScores out = Empty(d);
  for (size_t s = 0; s < d.series.size(); ++s) {
    const testing::MeasureData& md = d.series[s].measures[m];
    for (size_t t = static_cast<size_t>(d.warmup_points); t < d.points(); ++t) {
      if (!md.value[t].has_value()) continue;
      const double diff = std::fabs(*md.value[t] - md.expected[t]);
      out[s][t] = md.sd[t] > 0 ? diff / md.sd[t] : (diff == 0 ? 0.0 : diff / kTinyScale);
    }
  }
  return out;
}

MeasureScores ScoreOracleScan(const Dataset& d, size_t m) {
  // The windows and penalties of osprey's scan (detect/business_model.cc:
  // kScanLengths, kScanPenalty, the per-hour rate penalty).
  static constexpr std::array<size_t, 10> kWindows = {2, 3, 4, 6, 8, 12, 16, 24, 36, 48};
  constexpr double kWindowPenalty = 0.7;
  const double rate_penalty =
      d.interval_seconds < 3600 ? std::log10(3600.0 / static_cast<double>(d.interval_seconds)) : 0.0;
  // Decades of a two-sided standard normal tail.
  auto surprise = [](double z) {
    return -std::log10(std::max(std::erfc(std::min(std::fabs(z), 30.0) / std::sqrt(2.0)), 1e-300));
  };
  MeasureScores out = Empty(d);
  const size_t n = d.points();
  std::vector<double> dev(n + 1, 0.0), var(n + 1, 0.0);  // prefix sums over present points
  for (size_t s = 0; s < d.series.size(); ++s) {
    const testing::MeasureData& md = d.series[s].measures[m];
    for (size_t t = 0; t < n; ++t) {
      const bool has = md.value[t].has_value();
      dev[t + 1] = dev[t] + (has ? *md.value[t] - md.expected[t] : 0.0);
      var[t + 1] = var[t] + (has ? md.sd[t] * md.sd[t] : 0.0);
    }
    for (size_t t = static_cast<size_t>(d.warmup_points); t < n; ++t) {
      if (!md.value[t].has_value()) continue;
      const double diff = *md.value[t] - md.expected[t];
      double best = md.sd[t] > 0 ? surprise(diff / md.sd[t]) : (diff == 0 ? 0.0 : 30.0);
      for (size_t len : kWindows) {
        if (len > t + 1) break;
        const double wd = dev[t + 1] - dev[t + 1 - len], wv = var[t + 1] - var[t + 1 - len];
        if (wv > 0 && wd * diff > 0) best = std::max(best, surprise(wd / std::sqrt(wv)) - kWindowPenalty);
      }
      out[s][t] = std::clamp(10.0 * (best - rate_penalty), 0.0, 100.0);
    }
  }
  return out;
}

std::vector<Peer> Peers() {
  return {{"robust-z 14d", 3.5, &ScoreRobustZ},
          {"STL daily refit", 3.0, &ScoreStl},
          {"ADTK SeasonalAD-like", 3.0, &ScoreSeasonalIqr},
          {"oracle scan", 50.0, &ScoreOracleScan},
          {"oracle z", 3.0, &ScoreOracle}};
}

}  // namespace osprey::bench
