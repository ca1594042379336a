#include "osprey/stream/novelty_model.h"
#include "osprey/detect/state_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

namespace osprey::stream {
namespace {

using detect::internal::AllFinite;
using detect::internal::CountOk;
using detect::internal::Get;
using detect::internal::NegLog10Tail;
using detect::internal::Put;

constexpr double kRelScaleFloor = 1e-3;  // error scale floor, relative to the range
constexpr double kMinSdWindow = 0.05;    // floor of the long-run sd of the window mean
constexpr int kLevelSpan = 64;           // levels are clamped to +-kLevelSpan * levels

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Status Validate(const NoveltyParams& p) {
  if (p.levels < 2 || p.levels > 1024) return InvalidArgument("novelty levels must be 2..1024");
  if (p.max_context < 1 || p.max_context > NoveltyModel::kMaxContext) {
    return InvalidArgument("novelty max_context must be 1..16");
  }
  if (p.table_bits < 6 || p.table_bits > 24) return InvalidArgument("novelty table_bits must be 6..24");
  if (p.window < 1 || p.window > NoveltyModel::kMaxWindow) {
    return InvalidArgument("novelty window must be 1..64");
  }
  if (!(p.residual_alpha > 0 && p.residual_alpha <= 1) || !(p.scale_alpha > 0 && p.scale_alpha <= 1) ||
      !(p.long_alpha > 0 && p.long_alpha <= 1)) {
    return InvalidArgument("novelty learning rates must be in (0, 1]");
  }
  if (p.predict_weight > 0 && (p.predict_bits < 6 || p.predict_bits > 24)) {
    return InvalidArgument("novelty predict_bits must be 6..24");
  }
  if ((p.knn_weight > 0 || p.knn2_weight > 0) &&
      (p.knn_dim < 1 || p.knn_dim > NoveltyModel::kMaxKnnDim || p.knn_step < 1 || p.knn_k < 1 ||
       p.knn2_dim < 1 || p.knn2_dim > NoveltyModel::kMaxKnnDim ||
       p.knn_memory < std::max(p.knn_dim, p.knn2_dim) + p.knn_k || p.knn_memory > 65536)) {
    return InvalidArgument("novelty knn options out of range");
  }
  return Status::Ok();
}

}  // namespace

NoveltyModel::NoveltyModel(const EngineOptions& options)
    : options_(options),
      p_(options.novelty),
      mask_((uint64_t{1} << options.novelty.table_bits) - 1),
      cur_(size_t{1} << options.novelty.table_bits, 0),
      old_(size_t{1} << options.novelty.table_bits, 0) {
  if (p_.predict_weight > 0) {
    pmask_ = (uint64_t{1} << p_.predict_bits) - 1;
    pcur_.assign(size_t{1} << p_.predict_bits, 0);
    pold_.assign(size_t{1} << p_.predict_bits, 0);
  }
  const double weights[2] = {p_.knn_weight, p_.knn2_weight};
  const int dims[2] = {p_.knn_dim, p_.knn2_dim};
  const int64_t secs[2] = {p_.knn_step_seconds, p_.knn2_step_seconds};
  const int steps[2] = {p_.knn_step, 1};
  const int warms[2] = {p_.knn_warm, p_.knn2_warm};
  for (size_t ch = 0; ch < 2; ++ch) {
    if (!(weights[ch] > 0)) continue;
    KnnConf& k = knn_conf_[ch];
    k.weight = weights[ch];
    k.dim = dims[ch];
    k.warm = warms[ch];
    k.step = secs[ch] > 0 ? static_cast<int>(std::clamp<int64_t>(
                                secs[ch] / std::max<int64_t>(options.interval_seconds, 1), 1, 1 << 20))
                          : steps[ch];
    knn_mem_[ch].assign(static_cast<size_t>(p_.knn_memory) * static_cast<size_t>(k.dim), 0.0f);
    knn_part_[ch].assign(static_cast<size_t>(p_.knn_memory), 0.0f);
  }
}

Result<std::unique_ptr<Model>> NoveltyModel::Create(const EngineOptions& options) {
  OSPREY_RETURN_IF_ERROR(Validate(options.novelty));
  return std::unique_ptr<Model>(new NoveltyModel(options));
}

bool NoveltyModel::Seen(uint64_t h) const {
  const uint32_t fp = static_cast<uint32_t>(h >> 32) | 1u;
  for (const std::vector<uint32_t>* t : {&cur_, &old_}) {
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      uint32_t v = (*t)[i];
      if (v == 0) break;
      if (v == fp) return true;
    }
  }
  return false;
}

void NoveltyModel::Insert(uint64_t h) {
  const uint32_t fp = static_cast<uint32_t>(h >> 32) | 1u;
  uint64_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    if (cur_[i] == fp) return;
    if (cur_[i] == 0) break;
  }
  cur_[i] = fp;
  if (++c_.cur_count * 2 > static_cast<int64_t>(cur_.size())) {
    std::swap(cur_, old_);
    std::fill(cur_.begin(), cur_.end(), 0u);
    c_.cur_count = 0;
  }
}

uint32_t NoveltyModel::PCount(uint64_t h) const {
  const uint64_t fp = (h >> 32) | 1u;
  uint32_t total = 0;
  for (const std::vector<uint64_t>* t : {&pcur_, &pold_}) {
    for (uint64_t i = h & pmask_;; i = (i + 1) & pmask_) {
      const uint64_t v = (*t)[i];
      if (v == 0) break;
      if ((v >> 32) == fp) {
        total += static_cast<uint32_t>(v);
        break;
      }
    }
  }
  return total;
}

void NoveltyModel::PAdd(uint64_t h) {
  const uint64_t fp = (h >> 32) | 1u;
  uint64_t i = h & pmask_;
  for (;; i = (i + 1) & pmask_) {
    const uint64_t v = pcur_[i];
    if (v == 0) break;
    if ((v >> 32) == fp) {
      if (static_cast<uint32_t>(v) != UINT32_MAX) pcur_[i] = v + 1;
      return;
    }
  }
  pcur_[i] = (fp << 32) | 1u;
  if (++c_.pcur_count * 2 > static_cast<int64_t>(pcur_.size())) {
    std::swap(pcur_, pold_);
    std::fill(pcur_.begin(), pcur_.end(), uint64_t{0});
    c_.pcur_count = 0;
  }
}

double NoveltyModel::KnnScore(size_t ch, double x) {
  const KnnConf& kc = knn_conf_[ch];
  KnnCore& kn = c_.knn[ch];
  const size_t dim = static_cast<size_t>(kc.dim);
  const double kspan = std::max({c_.hi - c_.lo, 1e-9 * std::abs(x), 1e-12});
  kn.sum += x;
  ++kn.pos;
  // The current shape: the open step's mean, then the newest closed steps.
  std::array<float, kMaxKnnDim> shape{};
  shape[0] = static_cast<float>((kn.sum / kn.pos - c_.lo) / kspan);
  for (size_t j = 1; j < dim; ++j) shape[j] = kn.recent[j - 1];
  if (p_.knn_center != 0) {
    float m = 0;
    for (size_t j = 0; j < dim; ++j) m += shape[j];
    m /= static_cast<float>(dim);
    for (size_t j = 0; j < dim; ++j) shape[j] -= m;
  }
  double kscore = p_.knn_eval == 1 ? kn.held : 0.0;
  const int64_t mem = p_.knn_memory;
  const int64_t usable = std::min<int64_t>(kn.stored, mem) - kc.dim;
  const bool closing = kn.pos >= kc.step;
  if (kn.steps >= kc.dim && usable >= std::max(p_.knn_k, kc.warm) && (p_.knn_eval == 0 || closing)) {
    std::array<float, 64> best;
    const size_t k = static_cast<size_t>(std::min(p_.knn_k, 64));
    std::fill(best.begin(), best.begin() + static_cast<long>(k), 1e30f);
    // The usable shapes are ages dim .. dim + usable - 1 back from the newest;
    // walk their ring slots from the oldest without a division per slot.
    int64_t slot = ((kn.stored - kc.dim - usable) % mem + mem) % mem;
    for (int64_t left = usable; left > 0; --left, slot = slot + 1 == mem ? 0 : slot + 1) {
      const float* v = knn_mem_[ch].data() + static_cast<size_t>(slot) * dim;
      const float worst = best[k - 1];
      float d = 0;
      if (p_.knn_center == 0) {
        const float e = v[0] - shape[0];
        d = knn_part_[ch][static_cast<size_t>(slot)] + e * e;
      } else {
        for (size_t j = 0; j < dim && d < worst; ++j) {
          const float e = v[j] - shape[j];
          d += e * e;
        }
      }
      if (d < worst) {
        size_t pos = k - 1;
        while (pos > 0 && best[pos - 1] > d) {
          best[pos] = best[pos - 1];
          --pos;
        }
        best[pos] = d;
      }
    }
    double dist = 0;
    for (size_t j = 0; j < k; ++j) dist += std::sqrt(static_cast<double>(best[j]) / static_cast<double>(dim));
    dist /= static_cast<double>(k);
    if (std::isnan(dist)) dist = 0;  // shapes at the limits of double: no evidence, not a NaN bin
    const double lg = std::log10(std::max(dist, 1e-12));
    const size_t bin = static_cast<size_t>(std::clamp((lg + 5.0) * 16.0, 0.0, static_cast<double>(kKnnBins)));
    int64_t ge = 0, total = 0;
    for (size_t b = 0; b < kn.counts.size(); ++b) {
      total += kn.counts[b];
      if (b >= bin) ge += kn.counts[b];
    }
    const double share = (static_cast<double>(ge) + 1) / (static_cast<double>(total) + 1);
    kscore = std::min(1.0, -std::log10(share) / p_.rarity_decades);
    ++kn.counts[bin];
    kn.held = kscore;
  }
  if (closing) {  // close the step: store the shape, shift
    float* dst = knn_mem_[ch].data() + static_cast<size_t>(kn.stored % mem) * dim;
    std::copy(shape.begin(), shape.begin() + static_cast<long>(dim), dst);
    ++kn.stored;
    std::copy_backward(kn.recent.begin(), kn.recent.end() - 1, kn.recent.end());
    kn.recent[0] = static_cast<float>((kn.sum / kn.pos - c_.lo) / kspan);
    ++kn.steps;
    kn.pos = 0;
    kn.sum = 0;
    if (p_.knn_center == 0) {  // distances over the closed part of the next shapes
      for (size_t slot = 0; slot < static_cast<size_t>(mem); ++slot) {
        const float* v = knn_mem_[ch].data() + slot * dim;
        float d = 0;
        for (size_t j = 1; j < dim; ++j) {
          const float e = v[j] - kn.recent[j - 1];
          d += e * e;
        }
        knn_part_[ch][slot] = d;
      }
    }
  }
  return kscore;
}

Score NoveltyModel::Observe(const Observation& obs) {
  Score s;
  if (!obs.value || !std::isfinite(*obs.value)) {
    s.reason = "no value for this interval";
    return s;
  }
  const double x = *obs.value;
  s.value = x;
  if (c_.n == 0) {
    c_.lo = c_.hi = x;
    c_.pred = x;
    c_.median = x;
  }

  // Pattern novelty over the levels of the running range.
  const double span = std::max({c_.hi - c_.lo, 1e-9 * std::abs(x), 1e-12});
  const double xq = std::abs(x - c_.median) < p_.chomp * span ? c_.median : x;
  double qd = std::floor((xq - c_.lo) / span * p_.levels);
  if (xq > c_.hi && xq <= c_.hi + p_.edge_margin * span) qd = p_.levels;
  if (xq < c_.lo && xq >= c_.lo - p_.edge_margin * span) qd = 0;
  qd = std::clamp(qd, -static_cast<double>(kLevelSpan * p_.levels),
                  static_cast<double>(kLevelSpan * p_.levels));
  std::copy_backward(c_.recent.begin(), c_.recent.end() - 1, c_.recent.end());
  c_.recent[0] = static_cast<int32_t>(qd);
  const int avail = static_cast<int>(std::min<int64_t>(c_.n + 1, p_.max_context));
  int fresh = 0;
  uint64_t h = 0;
  const int64_t day_pos = ((obs.local_time % 86400) + 86400) % 86400;
  const uint64_t hour = static_cast<uint64_t>(day_pos / 3600) + 1;
  for (int len = 1; len <= avail; ++len) {
    h = Mix(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(c_.recent[static_cast<size_t>(len - 1)])) +
                 (static_cast<uint64_t>(len) << 40)));
    if (!Seen(h)) {
      ++fresh;
      Insert(h);
    }
    if (len <= p_.time_contexts) {
      const uint64_t ht = Mix(h ^ (hour << 52));
      if (!Seen(ht)) {
        ++fresh;
        Insert(ht);
      }
    }
  }
  double coarse_novelty = 0;
  if (p_.coarse_step > 0) {
    if (c_.coarse_pos == 0) {
      c_.coarse_max = c_.coarse_min = x;
      c_.coarse_sum = 0;
    }
    c_.coarse_max = std::max(c_.coarse_max, x);
    c_.coarse_min = std::min(c_.coarse_min, x);
    c_.coarse_sum += x;
    ++c_.coarse_pos;
    const double step_mean = c_.coarse_sum / c_.coarse_pos;
    if (c_.coarse_steps == 0 && c_.coarse_pos == 1) c_.coarse_mean = x;
    const double rep = std::abs(c_.coarse_max - c_.coarse_mean) >= std::abs(c_.coarse_min - c_.coarse_mean)
                           ? c_.coarse_max
                           : c_.coarse_min;
    double cq = std::floor((rep - c_.lo) / span * p_.levels);
    cq = std::clamp(cq, -static_cast<double>(kLevelSpan * p_.levels),
                    static_cast<double>(kLevelSpan * p_.levels));
    const bool close = c_.coarse_pos >= p_.coarse_step;
    const int cavail = static_cast<int>(std::min<int64_t>(c_.coarse_steps + 1, p_.max_context));
    int cfresh = 0;
    uint64_t ch = 0x5bd1e995ULL;
    for (int len = 1; len <= cavail; ++len) {
      const int32_t level =
          len == 1 ? static_cast<int32_t>(cq) : c_.coarse_recent[static_cast<size_t>(len - 2)];
      ch = Mix(ch ^ (static_cast<uint64_t>(static_cast<uint32_t>(level)) +
                     (static_cast<uint64_t>(len) << 40) + (uint64_t{1} << 60)));
      if (!Seen(ch)) {
        ++cfresh;
        if (close) Insert(ch);
      }
    }
    coarse_novelty = static_cast<double>(cfresh) / static_cast<double>(p_.max_context);
    if (p_.rarity_weight > 0) {
      const size_t bin = static_cast<size_t>(cfresh);
      int64_t ge = 0, total = 0;
      for (size_t b = 0; b < c_.coarse_counts.size(); ++b) {
        total += c_.coarse_counts[b];
        if (b >= bin) ge += c_.coarse_counts[b];
      }
      const double share = (static_cast<double>(ge) + 1) / (static_cast<double>(total) + 1);
      const double rarity = std::min(1.0, -std::log10(share) / p_.rarity_decades);
      coarse_novelty = (1 - p_.rarity_weight) * coarse_novelty + p_.rarity_weight * rarity;
      if (close) ++c_.coarse_counts[bin];
    }
    coarse_novelty *= p_.coarse_weight;
    if (close) {
      std::copy_backward(c_.coarse_recent.begin(), c_.coarse_recent.end() - 1, c_.coarse_recent.end());
      c_.coarse_recent[0] = static_cast<int32_t>(cq);
      ++c_.coarse_steps;
      c_.coarse_pos = 0;
      c_.coarse_mean = 0.5 * (c_.coarse_mean + step_mean);
    }
  }
  const double raw_novelty =
      static_cast<double>(fresh) / static_cast<double>(p_.max_context + p_.time_contexts);
  double calibrated = raw_novelty;
  if (p_.rarity_weight > 0) {
    const size_t bin = static_cast<size_t>(fresh);
    int64_t ge = 0, total = 0;
    for (size_t b = 0; b < c_.novelty_counts.size(); ++b) {
      total += c_.novelty_counts[b];
      if (b >= bin) ge += c_.novelty_counts[b];
    }
    const double share = (static_cast<double>(ge) + 1) / (static_cast<double>(total) + 1);
    const double rarity = std::min(1.0, -std::log10(share) / p_.rarity_decades);
    calibrated = (1 - p_.rarity_weight) * raw_novelty + p_.rarity_weight * rarity;
    ++c_.novelty_counts[bin];
  }
  double novelty = p_.coarse_step > 0 && p_.coarse_mix == 1 ? 0.5 * (calibrated + coarse_novelty)
                                                            : std::max(calibrated, coarse_novelty);
  if (p_.predict_weight > 0) {
    // Contexts are the previous 1..k levels (recent[1..k]); each counts its
    // occurrences and, paired with the current level, what followed it.
    const int pavail =
        static_cast<int>(std::min<int64_t>({c_.n, p_.max_context, NoveltyModel::kMaxContext - 1}));
    const uint64_t xv = static_cast<uint32_t>(c_.recent[0]);
    uint64_t g = 0x27d4eb2f165667c5ULL;
    int failed = 0, supported = 0;
    double miss = 0;
    for (int k = 1; k <= pavail; ++k) {
      g = Mix(g ^ (static_cast<uint64_t>(static_cast<uint32_t>(c_.recent[static_cast<size_t>(k)])) +
                   (static_cast<uint64_t>(k) << 40) + (uint64_t{2} << 60)));
      const uint64_t pair = Mix(g ^ (xv + (uint64_t{3} << 60)));
      const uint32_t cc = PCount(g);
      const uint32_t pc = PCount(pair);
      if (cc >= static_cast<uint32_t>(p_.predict_support)) {
        ++supported;
        const double share = static_cast<double>(pc) / static_cast<double>(cc);
        if (share < p_.predict_share) ++failed;
        miss += 1 - share;
      } else if (p_.predict_unseen != 0) {
        ++failed;
        miss += 1;
        ++supported;
      }
      PAdd(g);
      PAdd(pair);
    }
    double pscore = p_.predict_mode == 0 ? static_cast<double>(failed) / static_cast<double>(p_.max_context)
                                         : (supported > 0 ? miss / supported : 0.0);
    pscore = std::clamp(pscore, 0.0, 1.0);
    if (p_.rarity_weight > 0) {
      const size_t bin = static_cast<size_t>(std::lround(pscore * kPredictBins));
      int64_t ge = 0, total = 0;
      for (size_t b = 0; b < c_.predict_counts.size(); ++b) {
        total += c_.predict_counts[b];
        if (b >= bin) ge += c_.predict_counts[b];
      }
      const double share = (static_cast<double>(ge) + 1) / (static_cast<double>(total) + 1);
      const double rarity = std::min(1.0, -std::log10(share) / p_.rarity_decades);
      pscore = (1 - p_.rarity_weight) * pscore + p_.rarity_weight * rarity;
      ++c_.predict_counts[bin];
    }
    novelty = p_.predict_mix == 0   ? std::max(novelty, p_.predict_weight * pscore)
              : p_.predict_mix == 1 ? (1 - p_.predict_weight) * novelty + p_.predict_weight * pscore
                                    : 1 - (1 - novelty) * (1 - p_.predict_weight * pscore);
  }
  for (size_t ch = 0; ch < 2; ++ch) {
    const KnnConf& k = knn_conf_[ch];
    if (!(k.weight > 0)) continue;
    const double kscore = KnnScore(ch, x);
    novelty = p_.knn_mix == 0   ? std::max(novelty, k.weight * kscore)
              : p_.knn_mix == 1 ? (1 - k.weight) * novelty + k.weight * kscore
                                : 1 - (1 - novelty) * (1 - k.weight * kscore);
  }
  if (p_.calm_rows > 0) {
    const bool calm = c_.last_novel < 0 || c_.n - c_.last_novel > p_.calm_rows;
    if (!calm && raw_novelty <= c_.last_novelty) novelty *= p_.calm_factor;
    if (raw_novelty >= p_.calm_level) {
      c_.last_novel = c_.n;
      c_.last_novelty = raw_novelty;
    }
  }

  // Error likelihood of a short-term prediction.
  const double err = x - c_.pred;
  const double floor = kRelScaleFloor * span;
  if (c_.n == 0) c_.scale = floor;
  const double scale = std::max(c_.scale, floor);
  const double u = std::log1p(std::abs(err) / scale);
  const size_t w = static_cast<size_t>(p_.window);
  if (c_.win_len == p_.window) {
    c_.win_sum -= c_.win[static_cast<size_t>(c_.win_pos)];
    c_.nwin_sum -= c_.nwin[static_cast<size_t>(c_.win_pos)];
  }
  c_.nwin[static_cast<size_t>(c_.win_pos)] = static_cast<float>(novelty);
  c_.nwin_sum += static_cast<float>(novelty);
  c_.win[static_cast<size_t>(c_.win_pos)] = static_cast<float>(u);
  c_.win_sum += static_cast<float>(u);
  c_.win_pos = static_cast<int32_t>((static_cast<size_t>(c_.win_pos) + 1) % w);
  c_.win_len = std::min(c_.win_len + 1, p_.window);
  const double wmean = c_.win_sum / c_.win_len;
  const double nmean = c_.nwin_sum / c_.win_len;
  double likelihood = 0, nov_likelihood = 0;
  if (c_.lt_n > 0) {
    const double sd = std::max(std::sqrt(c_.lt_var), kMinSdWindow);
    likelihood = std::min(1.0, NegLog10Tail((wmean - c_.lt_mean) / sd) / 10.0);
    const double nsd = std::max(std::sqrt(c_.nlt_var), kMinSdWindow);
    nov_likelihood = std::min(1.0, NegLog10Tail((nmean - c_.nlt_mean) / nsd) / 10.0);
  }
  // Learn.
  if (c_.lt_n == 0) {
    c_.lt_mean = wmean;
    c_.nlt_mean = nmean;
  } else {
    const double a = std::max(p_.long_alpha, 1.0 / static_cast<double>(c_.lt_n + 1));
    const double d = wmean - c_.lt_mean;
    c_.lt_mean += a * d;
    c_.lt_var = (1 - a) * (c_.lt_var + a * d * d);
    const double nd = nmean - c_.nlt_mean;
    c_.nlt_mean += a * nd;
    c_.nlt_var = (1 - a) * (c_.nlt_var + a * nd * nd);
  }
  ++c_.lt_n;
  const double sa = std::max(p_.scale_alpha, 1.0 / static_cast<double>(c_.n + 1));
  c_.scale += sa * (std::abs(err) - c_.scale);
  s.expected = c_.pred;
  s.lower = c_.pred - 4 * scale;
  s.upper = c_.pred + 4 * scale;
  c_.pred += p_.residual_alpha * err;
  c_.median += p_.median_rate * span * (x > c_.median ? 1 : x < c_.median ? -1 : 0);
  c_.lo = std::min(c_.lo, x);
  c_.hi = std::max(c_.hi, x);
  ++c_.n;

  s.ready = c_.n > p_.warmup;
  if (!s.ready) {
    reason_ = "warming up: " + std::to_string(c_.n) + " of " + std::to_string(p_.warmup + 1) + " values";
    s.reason = reason_;
    return s;
  }
  const double nov = p_.novelty_weight * novelty;
  const double lik =
      std::max(p_.likelihood_weight * likelihood, p_.novelty_likelihood_weight * nov_likelihood);
  s.anomaly = std::clamp(std::max(nov, lik), 0.0, 1.0);
  s.severity = 100 * s.anomaly;
  s.direction = err > 0 ? Direction::kUp : err < 0 ? Direction::kDown : Direction::kNone;
  if (s.anomaly > 0) {
    if (nov >= lik) {
      s.explanation = qd < 0 || qd >= p_.levels ? (err >= 0 ? Explanation::kSpike : Explanation::kDip)
                                                : Explanation::kSeasonalityBreak;
    } else {
      s.explanation = c_.win_len > 1 && u < wmean ? Explanation::kLevelShift
                      : err >= 0                  ? Explanation::kSpike
                                                  : Explanation::kDip;
    }
  }
  return s;
}

std::string NoveltyModel::SaveState() const {
  std::string out;
  out.reserve(16 + sizeof(Core) + 8 * cur_.size());
  Put<uint8_t>(out, kStateVersion);
  Put<uint32_t>(out, static_cast<uint32_t>(sizeof(Core)));
  Put<uint32_t>(out, static_cast<uint32_t>(p_.table_bits));
  Put(out, c_);
  out.append(reinterpret_cast<const char*>(cur_.data()), cur_.size() * sizeof(uint32_t));
  out.append(reinterpret_cast<const char*>(old_.data()), old_.size() * sizeof(uint32_t));
  out.append(reinterpret_cast<const char*>(pcur_.data()), pcur_.size() * sizeof(uint64_t));
  out.append(reinterpret_cast<const char*>(pold_.data()), pold_.size() * sizeof(uint64_t));
  for (size_t ch = 0; ch < 2; ++ch) {
    out.append(reinterpret_cast<const char*>(knn_mem_[ch].data()), knn_mem_[ch].size() * sizeof(float));
    out.append(reinterpret_cast<const char*>(knn_part_[ch].data()), knn_part_[ch].size() * sizeof(float));
  }
  return out;
}

Result<std::unique_ptr<Model>> NoveltyModel::Restore(const EngineOptions& options, std::string_view state) {
  OSPREY_RETURN_IF_ERROR(Validate(options.novelty));
  auto m = std::unique_ptr<NoveltyModel>(new NoveltyModel(options));
  uint8_t version = 0;
  uint32_t core = 0, bits = 0;
  if (!Get(state, version) || version != kStateVersion) {
    return DataLoss("model state has an unknown version");
  }
  if (!Get(state, core) || !Get(state, bits) || core != sizeof(Core)) {
    return DataLoss("model state is truncated or corrupt");
  }
  if (bits != static_cast<uint32_t>(options.novelty.table_bits)) {
    return DataLoss("model state does not match the novelty table size");
  }
  if (!Get(state, m->c_)) return DataLoss("model state is truncated");
  // Positions index the windows and counts are subtracted from each other:
  // a corrupt value must not reach Observe (found by fuzz/model_state_fuzz.cc).
  const Core& c = m->c_;
  bool ok = CountOk(c.n) && CountOk(c.coarse_steps) && CountOk(c.lt_n) && c.cur_count >= 0 &&
            c.cur_count <= static_cast<int64_t>(m->cur_.size()) && c.last_novel >= -1 &&
            c.last_novel <= c.n && c.win_pos >= 0 && c.win_pos < m->p_.window && c.win_len >= 0 &&
            c.win_len <= m->p_.window && c.coarse_pos >= 0 &&
            c.coarse_pos <= std::max(m->p_.coarse_step, 0) &&
            AllFinite(c.lo, c.hi, c.pred, c.scale, c.median, c.coarse_max, c.coarse_min, c.coarse_sum,
                      c.coarse_mean, c.last_novelty, c.win_sum, c.lt_mean, c.lt_var, c.nwin_sum, c.nlt_mean,
                      c.nlt_var);
  for (int64_t k : c.novelty_counts) ok = ok && k >= 0 && k <= c.n;
  for (int64_t k : c.coarse_counts) ok = ok && k >= 0 && k <= c.n;
  for (float v : c.win) ok = ok && std::isfinite(v);
  for (float v : c.nwin) ok = ok && std::isfinite(v);
  for (int64_t k : c.predict_counts) ok = ok && k >= 0 && k <= c.n;
  ok = ok && c.pcur_count >= 0 && c.pcur_count <= static_cast<int64_t>(m->pcur_.size());
  for (size_t ch = 0; ch < c.knn.size(); ++ch) {
    const KnnCore& kn = c.knn[ch];
    ok = ok && CountOk(kn.steps) && CountOk(kn.stored) && kn.pos >= 0 &&
         kn.pos < std::max(m->knn_conf_[ch].step, 1) && AllFinite(kn.sum, kn.held);
    for (int64_t k : kn.counts) ok = ok && k >= 0 && k <= c.n;
    for (float v : kn.recent) ok = ok && std::isfinite(v);
  }
  if (!ok) return DataLoss("model state is corrupt");
  const size_t table_bytes = m->cur_.size() * sizeof(uint32_t);
  const size_t ptable_bytes = m->pcur_.size() * sizeof(uint64_t);
  size_t knn_bytes = 0;
  for (size_t ch = 0; ch < 2; ++ch) {
    knn_bytes += (m->knn_mem_[ch].size() + m->knn_part_[ch].size()) * sizeof(float);
  }
  if (state.size() != 2 * table_bytes + 2 * ptable_bytes + knn_bytes) {
    return DataLoss("model state is truncated or too long");
  }
  std::memcpy(m->cur_.data(), state.data(), table_bytes);
  std::memcpy(m->old_.data(), state.data() + table_bytes, table_bytes);
  if (ptable_bytes > 0) {
    std::memcpy(m->pcur_.data(), state.data() + 2 * table_bytes, ptable_bytes);
    std::memcpy(m->pold_.data(), state.data() + 2 * table_bytes + ptable_bytes, ptable_bytes);
  }
  size_t at = 2 * table_bytes + 2 * ptable_bytes;
  for (size_t ch = 0; ch < 2; ++ch) {
    for (std::vector<float>* k : {&m->knn_mem_[ch], &m->knn_part_[ch]}) {
      if (k->empty()) continue;
      std::memcpy(k->data(), state.data() + at, k->size() * sizeof(float));
      at += k->size() * sizeof(float);
      // A NaN shape would make a distance NaN and its histogram bin undefined.
      for (float v : *k) {
        if (!std::isfinite(v)) return DataLoss("model state is corrupt");
      }
    }
  }
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace osprey::stream
