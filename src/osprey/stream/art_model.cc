#include "osprey/stream/art_model.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <numeric>

#include "osprey/detect/state_io.h"
#include "osprey/stream/novelty_model.h"

namespace osprey::stream {
namespace {

using detect::internal::AllFinite;
using detect::internal::CountOk;
using detect::internal::Get;
using detect::internal::kMaxStateCount;
using detect::internal::Put;

constexpr double kMedianRate = 0.02;  // running median step per downsampled value, share of the range

Status Validate(const ArtParams& p) {
  if (p.step < 0 || p.step > 1000) return InvalidArgument("art step must be 0..1000");
  if (p.step == 0 && p.step_seconds < 1) return InvalidArgument("art step_seconds must be positive");
  if (p.window < 2 || p.window > ArtModel::kMaxWindow) return InvalidArgument("art window must be 2..32");
  if (p.train_steps < 4 || p.train_steps > ArtModel::kMaxTrain) {
    return InvalidArgument("art train_steps must be 4..1024");
  }
  if (p.trend_steps < 0 || p.trend_steps > ArtModel::kMaxTrain) {
    return InvalidArgument("art trend_steps must be 0..1024");
  }
  if (p.coarse_factor < 0 || p.coarse_factor > 100)
    return InvalidArgument("art coarse_factor must be 0..100");
  if (p.max_categories < 2 || p.max_categories > 65536) {
    return InvalidArgument("art max_categories must be 2..65536");
  }
  if (p.levels < 2 || p.levels > 100000) return InvalidArgument("art levels must be 2..100000");
  if (!(p.initial_rho > 0 && p.initial_rho < 1) || !(p.rho_cap > 0 && p.rho_cap <= 1)) {
    return InvalidArgument("art vigilance must be in (0, 1)");
  }
  if (!(p.mask_factor >= 0) || !(p.feature_power > 0) || !(p.energy_power >= 0)) {
    return InvalidArgument("art powers and mask must be non-negative");
  }
  return Status::Ok();
}

// The options of the second, coarser scale.
EngineOptions CoarseOptions(const EngineOptions& o, int step) {
  EngineOptions c = o;
  c.art.step = step * o.art.coarse_factor;
  c.art.coarse_factor = 0;
  c.art.novelty_weight = 0;
  return c;
}

int StepFor(const EngineOptions& o) {
  if (o.art.step > 0) return o.art.step;
  const int64_t interval = std::max<int64_t>(o.interval_seconds, 1);
  const double s = std::round(static_cast<double>(o.art.step_seconds) / static_cast<double>(interval));
  return static_cast<int>(std::clamp(s, 1.0, 1000.0));
}

// In-place Haar transform: [approximation, coarsest detail, ..., finest
// details], halving while the length is even.
void Haar(std::vector<double>& v, size_t n) {
  std::vector<double> tmp(n);
  size_t len = n;
  while (len >= 2 && len % 2 == 0) {
    const size_t h = len / 2;
    for (size_t k = 0; k < h; ++k) {
      tmp[k] = (v[2 * k] + v[2 * k + 1]) * M_SQRT1_2;
      tmp[h + k] = (v[2 * k] - v[2 * k + 1]) * M_SQRT1_2;
    }
    std::copy(tmp.begin(), tmp.begin() + static_cast<long>(len), v.begin());
    len = h;
  }
}

void MinMax(double* v, size_t n) {
  const auto [mn, mx] = std::minmax_element(v, v + n);
  const double lo = *mn, span = *mx - *mn;
  for (size_t i = 0; i < n; ++i) v[i] = span > 0 ? (v[i] - lo) / span : 0.0;
}

}  // namespace

ArtModel::ArtModel(const EngineOptions& options, int step)
    : options_(options),
      p_(options.art),
      step_(step),
      dim_(options.art.shape ? 2 * options.art.window : options.art.window),
      shape_dims_(options.art.shape ? options.art.window : 0),
      mask_(static_cast<int>(std::lround(options.art.window * options.art.mask_factor))),
      trend_(options.art.trend_steps > 0 ? options.art.trend_steps : options.art.train_steps),
      sim_(static_cast<size_t>(trend_ / 2 + 1), 1.0),
      diff_(static_cast<size_t>(trend_ + 1), 0.0) {
  boxes_.reserve(static_cast<size_t>(p_.max_categories) * static_cast<size_t>(dim_) * 2);
}

Result<std::unique_ptr<Model>> ArtModel::Create(const EngineOptions& options) {
  OSPREY_RETURN_IF_ERROR(Validate(options.art));
  auto m = std::unique_ptr<ArtModel>(new ArtModel(options, StepFor(options)));
  if (options.art.novelty_weight > 0) {
    OSPREY_ASSIGN_OR_RETURN(m->novelty_, NoveltyModel::Create(options));
  }
  if (options.art.coarse_factor > 1) {
    OSPREY_ASSIGN_OR_RETURN(m->coarse_, Create(CoarseOptions(options, m->step_)));
  }
  return std::unique_ptr<Model>(std::move(m));
}

void ArtModel::Features(std::vector<double>& f) const {
  const size_t w = static_cast<size_t>(p_.window);
  f.assign(static_cast<size_t>(dim_), 0.0);
  const size_t first = static_cast<size_t>(kMaxWindow) - w;
  for (size_t k = 0; k < w; ++k) f[static_cast<size_t>(shape_dims_) + k] = c_.recent[first + k];
  if (shape_dims_ > 0) {
    std::vector<double> s(c_.recent.begin() + static_cast<long>(first), c_.recent.end());
    MinMax(s.data(), w);
    Haar(s, w);
    MinMax(s.data(), w);
    std::copy(s.begin(), s.end(), f.begin());
  }
}

void ArtModel::Normalise(const double* f, double* x) const {
  const double span = c_.hi - c_.lo;
  for (int d = 0; d < dim_; ++d) {
    if (d < shape_dims_) {
      x[d] = f[d];
    } else {
      x[d] = span > 0 ? std::clamp((f[d] - c_.lo) / span, 0.0, 1.0) : 0.0;
    }
  }
}

void ArtModel::AddCategory(const double* f, std::vector<double>& boxes, std::vector<int64_t>& used,
                           int32_t& count, int64_t& stamp) const {
  const size_t d2 = 2 * static_cast<size_t>(dim_);
  size_t j;
  if (count < p_.max_categories) {
    j = static_cast<size_t>(count++);
    boxes.resize(static_cast<size_t>(count) * d2);
    used.resize(static_cast<size_t>(count));
  } else {
    j = static_cast<size_t>(std::min_element(used.begin(), used.end()) - used.begin());
  }
  for (size_t d = 0; d < static_cast<size_t>(dim_); ++d) {
    boxes[j * d2 + 2 * d] = f[d];
    boxes[j * d2 + 2 * d + 1] = f[d];
  }
  used[j] = ++stamp;
}

ArtModel::Match ArtModel::Present(const double* f, const double* x, double rho_lb, double rho_ub,
                                  std::vector<double>& boxes, std::vector<int64_t>& used, int32_t& count,
                                  int64_t& stamp) const {
  Match r;
  if (count == 0) {
    AddCategory(f, boxes, used, count, stamp);
    return r;
  }
  const size_t d2 = 2 * static_cast<size_t>(dim_);
  const double span = c_.hi - c_.lo;
  const auto norm = [&](int d, double v) {
    if (d < shape_dims_) return v;
    return span > 0 ? std::clamp((v - c_.lo) / span, 0.0, 1.0) : 0.0;
  };
  std::vector<double> ms(static_cast<size_t>(count));
  const int e = dim_ - 1;  // the newest value
  for (size_t j = 0; j < static_cast<size_t>(count); ++j) {
    const double* b = &boxes[j * d2];
    // Complement-coded fuzzy ART: |x ^ w| = sum(min(x,u) + 1 - max(x,v)),
    // |w| = sum(u + 1 - v) for the box [u, v].
    double num = 0, den = 0, en = 0, ed = 0;
    for (int d = 0; d < dim_; ++d) {
      const double u = norm(d, b[2 * d]), v = norm(d, b[2 * d + 1]);
      const double a = std::min(x[d], u) + 1 - std::max(x[d], v);
      const double w = u + 1 - v;
      num += a;
      den += w;
      if (d == e) {
        en = a;
        ed = w;
      }
    }
    const double fs = num / std::max(den, 1e-3);
    const double es = en / std::max(ed, 1e-3);
    const double m = std::pow(fs, p_.feature_power) * std::pow(es, p_.energy_power);
    ms[j] = m;
    if (r.best < 0 || m > r.m) {
      r.best = static_cast<int>(j);
      r.m = m;
      r.e = es;
    }
  }
  if (r.m >= rho_ub) {
    // Resonance: every category above the upper vigilance learns (fast
    // commit: its box grows to include the input).
    for (size_t j = 0; j < static_cast<size_t>(count); ++j) {
      if (ms[j] < rho_ub) continue;
      double* b = &boxes[j * d2];
      for (int d = 0; d < dim_; ++d) {
        b[2 * d] = std::min(b[2 * d], f[d]);
        b[2 * d + 1] = std::max(b[2 * d + 1], f[d]);
      }
      used[j] = ++stamp;
    }
  } else {
    r.new_cluster = r.m < rho_lb;
    AddCategory(f, boxes, used, count, stamp);
  }
  return r;
}

void ArtModel::Train() {
  // The first vigilance: a trial run at initial_rho over the training
  // features, least typical (lowest summed cosine similarity) first; the
  // mean best match of its second half becomes both vigilances.
  const size_t n = train_.size() / static_cast<size_t>(dim_);
  const size_t dim = static_cast<size_t>(dim_);
  std::vector<double> xs(train_.size());
  for (size_t i = 0; i < n; ++i) Normalise(&train_[i * dim], &xs[i * dim]);
  std::vector<double> norms(n), sums(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    double s = 0;
    for (size_t d = 0; d < dim; ++d) s += xs[i * dim + d] * xs[i * dim + d];
    norms[i] = std::sqrt(s);
  }
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < i; ++j) {
      double sim;
      if (norms[i] == 0 || norms[j] == 0) {
        sim = 1 - (norms[i] == 0 ? norms[j] : norms[i]);
      } else {
        double dot = 0;
        for (size_t d = 0; d < dim; ++d) dot += xs[i * dim + d] * xs[j * dim + d];
        sim = dot / (norms[i] * norms[j]);
      }
      sums[i] += sim;
      sums[j] += sim;
    }
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sums[a] < sums[b]; });
  std::vector<double> boxes;
  std::vector<int64_t> used;
  int32_t count = 0;
  int64_t stamp = 0;
  double tail = 0;
  size_t tail_n = 0;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order[k];
    Match m =
        Present(&train_[i * dim], &xs[i * dim], p_.initial_rho, p_.initial_rho, boxes, used, count, stamp);
    if (k >= n / 2) {
      tail += m.m;
      ++tail_n;
    }
  }
  const double rho = tail_n > 0 ? tail / static_cast<double>(tail_n) : p_.initial_rho;
  c_.rho_lb = c_.rho_ub = rho;
  c_.trained = true;
  // Then the training features, in order, through the detector (no alarms).
  std::vector<double> f(train_);
  train_.clear();
  train_.shrink_to_fit();
  for (size_t i = 0; i < n; ++i) {
    const int64_t saved_fi = c_.fi;
    c_.fi = static_cast<int64_t>(i) + 1;
    Detect(&f[i * dim]);
    c_.fi = saved_fi;
  }
}

double ArtModel::Detect(const double* f) {
  const int64_t i = c_.fi;
  const int64_t tw = p_.train_steps;
  const bool rho_after_anomaly = i - c_.last_anomaly == mask_;
  const bool rho_for_trend = i - c_.last_rho_update >= trend_ / 2;
  const bool mask_after_anomaly = i - c_.last_anomaly <= mask_;
  if (i > tw + mask_ && c_.mask_after_new && c_.calm_steps >= mask_) c_.mask_after_new = false;
  std::vector<double> x(static_cast<size_t>(dim_));
  Normalise(f, x.data());
  Match m = Present(f, x.data(), c_.rho_lb, c_.rho_ub, boxes_, used_, c_.categories, c_.stamp);
  // Values near the limits of double (or a degenerate range) can make the
  // match NaN; such an input matches nothing rather than indexing the
  // histogram with NaN.
  if (!std::isfinite(m.m)) m.m = 0;
  if (m.best >= 0) {
    const size_t d2 = 2 * static_cast<size_t>(dim_);
    const double* b = &boxes_[static_cast<size_t>(m.best) * d2 + 2 * static_cast<size_t>(dim_ - 1)];
    c_.last_lower = b[0];
    c_.last_upper = b[1];
    c_.last_expected = 0.5 * (b[0] + b[1]);
  }
  c_.calm_steps = m.new_cluster ? 0 : c_.calm_steps + 1;
  const size_t bin = static_cast<size_t>(std::clamp(m.m * kMatchBins, 0.0, kMatchBins - 1.0));
  c_.match_sum += m.m;
  ++c_.match_n;
  sim_[static_cast<size_t>(c_.sim_pos)] = m.m;
  c_.sim_pos = static_cast<int32_t>((static_cast<size_t>(c_.sim_pos) + 1) % sim_.size());
  diff_[static_cast<size_t>(c_.diff_pos)] = c_.rho_ub - m.m;
  c_.diff_pos = static_cast<int32_t>((static_cast<size_t>(c_.diff_pos) + 1) % diff_.size());
  if (i - c_.last_anomaly < mask_ && c_.hist_n > 0 && m.m < c_.hist_last) {
    c_.hist_sum += m.m - c_.hist_last;
    c_.hist_last = m.m;
  }
  const bool masking = c_.mask_after_new || mask_after_anomaly;
  const bool below_last = m.m < c_.last_anomaly_match * (mask_after_anomaly ? 0.9 : 0.7);
  double anomaly = 0;
  if (i > tw && m.new_cluster && (!masking || below_last)) {
    // Confidence: how far below both vigilances the best match fell, plus
    // the mismatch of the newest value.
    const double a = std::min(0.999, m.m);
    const double ub = (c_.rho_ub - a) / (1 - a);
    const double lb = (c_.rho_lb - a) / (1 - a);
    anomaly = std::clamp(0.35 * ub + 0.65 * lb + p_.energy_weight * (1 - m.e), 0.0, 1.0);
    if (p_.rarity_weight > 0) {
      int64_t le = 0, total = 0;
      for (size_t b = 0; b < c_.match_hist.size(); ++b) {
        total += c_.match_hist[b];
        if (b <= bin) le += c_.match_hist[b];
      }
      const double share = (static_cast<double>(le) + 1) / (static_cast<double>(total) + 1);
      const double rarity = std::min(1.0, -std::log10(share) / p_.rarity_decades);
      anomaly = (1 - p_.rarity_weight) * anomaly + p_.rarity_weight * rarity;
    }
    c_.hist_sum += m.m;
    c_.hist_last = m.m;
    ++c_.hist_n;
    c_.last_anomaly_match = m.m;
    c_.last_anomaly = i;
  }
  ++c_.match_hist[bin];
  c_.mask_after_new = c_.mask_after_new || m.new_cluster;
  if (i > tw && (rho_after_anomaly || rho_for_trend)) {
    // Vigilance adaptation: the upper bound follows the mean match; the
    // lower rises towards the worst recent match when matches are good and
    // falls by the typical recent shortfall otherwise, never below the mean
    // match of past detections.
    const double min_sim = *std::min_element(sim_.begin(), sim_.end());
    const double new_ub = std::min(p_.rho_cap, c_.match_sum / static_cast<double>(c_.match_n));
    double new_lb;
    if (c_.rho_lb <= min_sim) {
      new_lb = c_.rho_lb + (min_sim - c_.rho_lb) * p_.rho_rise;
    } else {
      double decr = 0;
      if (i > tw + trend_) {
        double s = 0;
        int k = 0;
        for (double d : diff_) {
          if (d > 0.05) {
            s += std::min(0.37, d);
            ++k;
          }
        }
        if (k > 0) decr = s / k;
      }
      decr = std::max(0.01, decr);
      new_lb = c_.rho_lb - decr / 2;
      if (c_.hist_n > 0) new_lb = std::max(c_.hist_sum / static_cast<double>(c_.hist_n), new_lb);
    }
    c_.rho_lb = std::min(new_ub, new_lb);
    c_.rho_ub = new_ub;
    c_.last_rho_update = i;
    c_.mask_after_new = true;
  }
  return anomaly;
}

Score ArtModel::Observe(const Observation& obs) {
  Score nov, coarse;
  if (novelty_) nov = novelty_->Observe(obs);
  if (coarse_) coarse = coarse_->Observe(obs);
  Score s;
  if (!obs.value || !std::isfinite(*obs.value)) {
    s.reason = "no value for this interval";
    return s;
  }
  const double x = *obs.value;
  s.value = x;
  if (c_.n == 0) c_.lo = c_.hi = x;
  c_.lo = std::min(c_.lo, x);
  c_.hi = std::max(c_.hi, x);
  ++c_.n;
  if (c_.pos == 0) {
    c_.max = c_.min = x;
    c_.sum = 0;
  }
  c_.max = std::max(c_.max, x);
  c_.min = std::min(c_.min, x);
  c_.sum += x;
  ++c_.pos;
  double art = 0;
  if (c_.pos >= step_) {
    // Close the step: its extreme (the one farther from the moving average
    // of step means) when that is a real spike, else its mean.
    const double mean = c_.sum / c_.pos;
    c_.pos = 0;
    if (c_.steps == 0) c_.ds_avg = mean;
    c_.ds_avg = 0.5 * (c_.ds_avg + mean);
    double ds = std::abs(c_.max - c_.ds_avg) < std::abs(c_.min - c_.ds_avg) ? c_.min : c_.max;
    if (std::abs(ds - mean) < p_.spike_share * std::abs(mean)) ds = mean;
    const double span = c_.hi - c_.lo;
    double q = span > 0 ? std::round((ds - c_.lo) / span * p_.levels) / p_.levels : 0.0;
    if (c_.steps == 0) c_.median = q;
    c_.median += kMedianRate * (q > c_.median ? 1 : q < c_.median ? -1 : 0);
    if (std::abs(q - c_.median) < p_.chomp) q = c_.median;
    ++c_.steps;
    std::copy(c_.recent.begin() + 1, c_.recent.end(), c_.recent.begin());
    c_.recent[kMaxWindow - 1] = c_.lo + q * span;
    if (c_.steps >= p_.window) {
      std::vector<double> f;
      Features(f);
      ++c_.fi;
      if (!c_.trained) {
        train_.insert(train_.end(), f.begin(), f.end());
        if (c_.fi >= p_.train_steps) Train();
      } else {
        art = Detect(f.data());
      }
    }
  }
  s.expected = c_.trained ? c_.last_expected : x;
  s.lower = c_.trained ? c_.last_lower : x;
  s.upper = c_.trained ? c_.last_upper : x;
  s.ready = c_.trained;
  if (!s.ready) {
    const int64_t need = static_cast<int64_t>(p_.window + p_.train_steps - 1) * step_;
    reason_ = "warming up: " + std::to_string(c_.n) + " of " + std::to_string(need) + " values";
    s.reason = reason_;
    return s;
  }
  if (coarse.ready) art = std::max(art, p_.coarse_weight * coarse.anomaly);
  const double blend = nov.ready ? p_.novelty_weight * nov.anomaly : 0.0;
  s.anomaly = std::clamp(std::max(art, blend), 0.0, 1.0);
  s.severity = 100 * s.anomaly;
  s.direction = x > s.upper ? Direction::kUp : x < s.lower ? Direction::kDown : Direction::kNone;
  if (s.anomaly > 0) {
    s.explanation = art >= blend ? (s.direction == Direction::kNone ? Explanation::kSeasonalityBreak
                                    : s.direction == Direction::kUp ? Explanation::kSpike
                                                                    : Explanation::kDip)
                                 : nov.explanation;
  }
  return s;
}

std::string ArtModel::SaveState() const {
  std::string out;
  Put<uint8_t>(out, kStateVersion);
  Put<uint32_t>(out, static_cast<uint32_t>(sizeof(Core)));
  Put<uint32_t>(out, static_cast<uint32_t>(dim_));
  Put<uint32_t>(out, static_cast<uint32_t>(step_));
  Put(out, c_);
  const auto put_vec = [&out](const auto& v) {
    Put<uint64_t>(out, v.size());
    out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0]));
  };
  put_vec(boxes_);
  put_vec(used_);
  put_vec(train_);
  put_vec(sim_);
  put_vec(diff_);
  const std::string coarse = coarse_ ? coarse_->SaveState() : std::string();
  Put<uint64_t>(out, coarse.size());
  out.append(coarse);
  const std::string nov = novelty_ ? novelty_->SaveState() : std::string();
  Put<uint64_t>(out, nov.size());
  out.append(nov);
  return out;
}

Result<std::unique_ptr<Model>> ArtModel::Restore(const EngineOptions& options, std::string_view state) {
  OSPREY_RETURN_IF_ERROR(Validate(options.art));
  auto m = std::unique_ptr<ArtModel>(new ArtModel(options, StepFor(options)));
  uint8_t version = 0;
  uint32_t core = 0, dim = 0, step = 0;
  if (!Get(state, version) || version != kStateVersion) {
    return DataLoss("model state has an unknown version");
  }
  if (!Get(state, core) || !Get(state, dim) || !Get(state, step) || core != sizeof(Core)) {
    return DataLoss("model state is truncated or corrupt");
  }
  if (dim != static_cast<uint32_t>(m->dim_) || step != static_cast<uint32_t>(m->step_)) {
    return DataLoss("model state does not match the art window or step");
  }
  // The bool members must hold 0 or 1 before they are read as bools.
  if (state.size() >= sizeof(Core)) {
    for (size_t off : {offsetof(Core, mask_after_new), offsetof(Core, trained)}) {
      if (static_cast<unsigned char>(state[off]) > 1) return DataLoss("model state is corrupt");
    }
  }
  if (!Get(state, m->c_)) return DataLoss("model state is truncated");
  // Counts are incremented and subtracted, statistics feed every later score,
  // and a NaN match would index the histogram: a corrupt state stops here
  // (fuzz/model_state_fuzz.cc).
  {
    const Core& c = m->c_;
    const auto time_ok = [](int64_t t) { return t >= -kMaxStateCount && t <= kMaxStateCount; };
    bool ok =
        CountOk(c.n) && CountOk(c.steps) && CountOk(c.fi) && CountOk(c.match_n) && CountOk(c.calm_steps) &&
        CountOk(c.hist_n) && CountOk(c.stamp) && time_ok(c.last_anomaly) && time_ok(c.last_rho_update) &&
        c.pos >= 0 && c.pos < m->step_ &&
        AllFinite(c.lo, c.hi, c.median, c.sum, c.max, c.min, c.ds_avg, c.rho_lb, c.rho_ub, c.match_sum,
                  c.last_anomaly_match, c.hist_sum, c.hist_last, c.last_expected, c.last_lower, c.last_upper);
    for (double v : c.recent) ok = ok && std::isfinite(v);
    for (int64_t k : c.match_hist) ok = ok && CountOk(k);
    if (!ok) return DataLoss("model state is corrupt");
  }
  const auto get_vec = [&state](auto& v, size_t max, size_t exact) {
    uint64_t n = 0;
    if (!Get(state, n) || n > max || (exact > 0 && n != exact)) return false;
    const size_t bytes = static_cast<size_t>(n) * sizeof(v[0]);
    if (state.size() < bytes) return false;
    v.resize(static_cast<size_t>(n));
    if (bytes > 0) std::memcpy(v.data(), state.data(), bytes);  // data() may be null when empty
    state.remove_prefix(bytes);
    return true;
  };
  const size_t cats = static_cast<size_t>(options.art.max_categories);
  const size_t d2 = 2 * static_cast<size_t>(m->dim_);
  if (m->c_.categories < 0 || static_cast<size_t>(m->c_.categories) > cats ||
      !get_vec(m->boxes_, cats * d2, static_cast<size_t>(m->c_.categories) * d2) ||
      !get_vec(m->used_, cats, static_cast<size_t>(m->c_.categories)) ||
      !get_vec(m->train_, static_cast<size_t>(kMaxTrain) * static_cast<size_t>(m->dim_), 0) ||
      !get_vec(m->sim_, m->sim_.size(), m->sim_.size()) ||
      !get_vec(m->diff_, m->diff_.size(), m->diff_.size())) {
    return DataLoss("model state is truncated or corrupt");
  }
  const auto finite = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
  };
  if (!finite(m->boxes_) || !finite(m->train_) || !finite(m->sim_) || !finite(m->diff_) ||
      !std::all_of(m->used_.begin(), m->used_.end(), [](int64_t u) { return CountOk(u); })) {
    return DataLoss("model state is corrupt");
  }
  if (m->c_.sim_pos < 0 || static_cast<size_t>(m->c_.sim_pos) >= m->sim_.size() || m->c_.diff_pos < 0 ||
      static_cast<size_t>(m->c_.diff_pos) >= m->diff_.size() || m->c_.pos < 0 || m->c_.pos >= m->step_) {
    return DataLoss("model state is corrupt");
  }
  uint64_t coarse = 0;
  if (!Get(state, coarse) || coarse > state.size()) return DataLoss("model state is truncated");
  if (options.art.coarse_factor > 1) {
    OSPREY_ASSIGN_OR_RETURN(m->coarse_, Restore(CoarseOptions(options, m->step_), state.substr(0, coarse)));
  } else if (coarse != 0) {
    return DataLoss("model state has a second scale the options do not use");
  }
  state.remove_prefix(static_cast<size_t>(coarse));
  uint64_t nov = 0;
  if (!Get(state, nov) || nov != state.size()) return DataLoss("model state is truncated or too long");
  if (options.art.novelty_weight > 0) {
    OSPREY_ASSIGN_OR_RETURN(m->novelty_, NoveltyModel::Restore(options, state));
  } else if (nov != 0) {
    return DataLoss("model state has a novelty part the options do not use");
  }
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace osprey::stream
