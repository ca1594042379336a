#include "osprey/detect/ratio_noise.h"

#include <algorithm>
#include <cmath>

#include "osprey/detect/state_io.h"

namespace osprey::detect {
namespace {

using internal::AllFinite;
using internal::CountOk;
using internal::Get;
using internal::Put;

constexpr double kPriorK = 1.0;
constexpr double kPriorC = 1e-4;
// Underdispersion is rare in business ratios: k stays at least this.
constexpr double kMinK = 0.2;
// The prior counts as this many residuals.
constexpr double kPriorWeight = 20;
// Memory of the fit, in residuals.
constexpr double kMemory = 500;
// Squared residuals enter the fit clipped at this many variances.
constexpr double kClip = 16;
// Memory of a proportion's factorial-moment sums, in intervals: the
// doubles that show a count's overdispersion are rare (at 0.2 expected
// errors an interval, 5,000 intervals give it within about 0.1).
constexpr double kFactorialMemory = 5000;
constexpr double kFactorialMin = 50;
// The fit's proportion is kept this far from 0 and 1 (a rate of exactly 0
// still has a variance to divide by).
constexpr double kMinRate = 1e-6;
// A proportion becomes a general ratio when values outside [0, 1] reach
// kOutsideMin (decayed counts: three values in a row are 2.99) and more
// than kOutsideShare of the values of about the last kMemory intervals:
// revenue per order at its third value, an error rate never for the few
// intervals of a burst whose errors outnumbered their requests (as a
// warehouse's separately counted columns can): before, one such value made
// the rate a general ratio for good, judged on the delta method's p^2 / n,
// and every later interval without errors scored 50-90. One value alone
// does not decide, also early: an error rate over a few requests can start
// with two errors of one request (measured: a weighted error-rate column of
// the benchmark's sparse setting that decided on its first such value
// scored best F1 0.111 instead of 0.859 on one seed).
constexpr double kOutsideMin = 2.5;
constexpr double kOutsideShare = 0.05;
constexpr char kTag[4] = {'R', 'A', 'T', '4'};
constexpr char kTagV3[4] = {'R', 'A', 'T', '3'};  // without the orientation and factorial sums
constexpr char kTagV2[4] = {'R', 'A', 'T', '2'};  // without the values outside [0, 1]
constexpr char kTagV1[4] = {'R', 'A', 'T', '1'};  // without the typical denominator either

}  // namespace

void RatioNoise::Regressors(double p, double n, bool slack, double& b, double& q) const {
  const double m = std::max(n, 1e-9);
  if (proportion_) {
    const double edge = slack ? 0.5 / (m + 1) : kMinRate;
    const double pc = std::clamp(p, edge, 1 - edge);
    b = pc * (1 - pc) / m;
    // The forecast's error relative to the rarer outcome: a success rate's
    // 1 % error is its failures' 100 %.
    const double rare = std::min(p, 1 - p);
    q = rare * rare;
  } else {
    b = std::max(p * p, 1e-12) / m;
    q = p * p;
  }
}

void RatioNoise::Fit(double& k, double& c) const {
  k = kPriorK;
  c = kPriorC;
  const double mean_bb = sw_ > 0 ? sbb_ / sw_ : 0;
  const double mean_qq = sw_ > 0 ? sqq_ / sw_ : 0;
  if (!(mean_bb > 0) || !(mean_qq > 0)) return;
  // Ridge towards the prior: the normal equations plus kPriorWeight
  // residuals' worth of (k - kPriorK)^2 and (c - kPriorC)^2, each scaled to
  // the average weight of its regressor.
  const double lb = kPriorWeight * mean_bb, lq = kPriorWeight * mean_qq;
  const double a11 = sbb_ + lb, a12 = sbq_, a22 = sqq_ + lq;
  const double r1 = sbr_ + lb * kPriorK, r2 = sqr_ + lq * kPriorC;
  const double det = a11 * a22 - a12 * a12;
  if (det > 0) {
    k = (r1 * a22 - r2 * a12) / det;
    c = (a11 * r2 - a12 * r1) / det;
  }
  // A coefficient at its bound: fit the other alone.
  if (c < 0) {
    c = 0;
    k = r1 / a11;
  } else if (k < kMinK) {
    k = kMinK;
    c = (r2 - a12 * k) / a22;
  }
  // A proportion of whole counts: its count's extra variance, a m^2, is
  // also E[y (y - 1)] / m^2 - 1 (the negative binomial's second factorial
  // moment is m^2 (1 + a)). Where a fraction of an error is expected, the
  // residuals' squares cannot show a (a tenth of the variance at most) and
  // the fit's c wandered between 0 and 1 on Poisson counts; the doubles
  // show it. On the benchmark's 5-minute error counts (a = 0.33 and 0.67 in
  // truth) the fit said 0 on 15 of 16 series, so bursts of noise were
  // judged by a Poisson tail (5 errors where 0.2 are expected: 2e-6 where
  // the truth says 3e-4) and alerted. Used once its sums hold kFactorialMin
  // squared expected counts (the estimate within about 0.2).
  if (proportion_ && fm_norm_ >= kFactorialMin) c = fm_excess_ / fm_norm_;
  k = std::clamp(k, kMinK, 1e6);
  c = std::clamp(c, 0.0, 1.0);
}

double RatioNoise::overdispersion() const {
  double k = 0, c = 0;
  Fit(k, c);
  return k;
}

double RatioNoise::forecast_error() const {
  double k = 0, c = 0;
  Fit(k, c);
  return c;
}

double RatioNoise::Variance(double p, double n) const {
  double b = 0, q = 0, k = 0, c = 0;
  Regressors(p, n, true, b, q);
  Fit(k, c);
  return k * b + c * q + 1e-18;
}

void RatioNoise::CountNoise(double p, double& phi, double& alpha) const {
  double k = 0, c = 0;
  Fit(k, c);
  const double rare = std::min(std::clamp(p, 0.0, 1.0), 1 - std::clamp(p, 0.0, 1.0));
  phi = std::max(k, 1.0) * (1 - rare);
  alpha = c;
}

void RatioNoise::See(double x) {
  used_ = true;
  if (!std::isfinite(x)) return;
  const double keep = 1.0 - 1.0 / kMemory;
  outside_ = keep * outside_ + (x < 0 || x > 1 ? 1.0 : 0.0);
  seen_ = keep * seen_ + 1.0;
  if (outside_ >= kOutsideMin && outside_ > kOutsideShare * seen_) proportion_ = false;
}

bool RatioNoise::decided() const { return seen_ >= kOutsideMin; }

void RatioNoise::Learn(double x, double p, double n) {
  if (!AllFinite(x, p, n) || !(n > 0)) return;
  double b = 0, q = 0, k = 0, c = 0, b_slack = 0, q_slack = 0;
  Regressors(p, n, false, b, q);
  Regressors(p, n, true, b_slack, q_slack);
  Fit(k, c);
  const double var = k * b + c * q + 1e-18;
  // A residual weighs by the inverse variance of its square, judged with
  // the rate kept half a trial from 0 and 1 (as Variance() scores): at a
  // forecast rate near 0 (the first intervals, before the profile knows
  // the rate) the exact variance is near 0, and one error there weighed
  // millions of times a normal interval (measured: k 16,000 for two weeks
  // of a sparse 5-minute error rate, every error burst scored 0).
  const double var_w = k * b_slack + c * q_slack + 1e-18;
  // A proportion moves in steps of one trial, 1/n: a rare single error is
  // the whole of a low rate's variance, so residuals are clipped a step
  // beyond kClip variances, and weighted by the inverse variance of a
  // squared residual, 2 var^2 for Gaussian noise plus step^2 var for a
  // count's rare jumps.
  const double step2 = proportion_ ? 1.0 / (n * n) : 0.0;
  const double r2 = std::min((x - p) * (x - p), kClip * (var + step2));
  const double w = 1.0 / (var_w * (2 * var_w + step2));
  const double keep = 1.0 - 1.0 / std::min<double>(static_cast<double>(n_) + 2, kMemory);
  sbb_ = keep * sbb_ + w * b * b;
  sbq_ = keep * sbq_ + w * b * q;
  sqq_ = keep * sqq_ + w * q * q;
  sbr_ = keep * sbr_ + w * b * r2;
  sqr_ = keep * sqr_ + w * q * r2;
  sw_ = keep * sw_ + 1;
  ++n_;
  if (proportion_) {
    const double rare_p = std::min(p, 1 - p);
    const double y = (rare_p == p ? x : 1 - x) * n;
    const double m = rare_p * n;
    // Only where under one is expected: from there on the residuals' squares
    // show the overdispersion (and the doubles' moment is the noisier).
    if (m > 0 && m < 1 && IsWholeCount(y)) {
      // Clipped as the squared residuals are, kClip variances (and a step)
      // from the forecast.
      const double yc = std::min(std::round(y), m + std::sqrt(kClip * (m + 1)));
      const double fkeep = 1.0 - 1.0 / kFactorialMemory;
      fm_excess_ = fkeep * fm_excess_ + (yc * (yc - 1) - m * m);
      fm_norm_ = fkeep * fm_norm_ + m * m;
    }
  }
}

void RatioNoise::NoteDenominator(double n) {
  if (!std::isfinite(n) || !(n > 0)) return;
  den_n_ = std::min(den_n_ + 1, kMemory);
  den_mean_ += (n - den_mean_) / den_n_;
}

void RatioNoise::Save(std::string& out) const {
  out.append(kTag, sizeof kTag);
  // Bit 0: a proportion; bit 1: its complement is learnt; bit 2: oriented.
  Put<uint8_t>(out,
               static_cast<uint8_t>((proportion_ ? 1 : 0) | (complement_ ? 2 : 0) | (oriented_ ? 4 : 0)));
  for (double v : {sbb_, sbq_, sqq_, sbr_, sqr_, sw_}) Put<double>(out, v);
  Put<int64_t>(out, n_);
  Put<double>(out, den_mean_);
  Put<double>(out, den_n_);
  Put<double>(out, outside_);
  Put<double>(out, seen_);
  Put<double>(out, fm_excess_);
  Put<double>(out, fm_norm_);
}

bool RatioNoise::Restore(std::string_view& in) {
  const std::string_view tag = in.substr(0, sizeof kTag);
  const bool v1 = tag == std::string_view(kTagV1, sizeof kTagV1);
  const bool v2 = tag == std::string_view(kTagV2, sizeof kTagV2);
  const bool v3 = tag == std::string_view(kTagV3, sizeof kTagV3);
  if (!v1 && !v2 && !v3 && tag != std::string_view(kTag, sizeof kTag)) return false;
  in.remove_prefix(sizeof kTag);
  uint8_t flags = 0;
  if (!Get(in, flags) || flags > ((v1 || v2 || v3) ? 1 : 7) || flags == 2 || flags == 3) return false;
  for (double* v : {&sbb_, &sbq_, &sqq_, &sbr_, &sqr_, &sw_}) {
    if (!Get(in, *v) || !std::isfinite(*v) || *v < -1e300) return false;
  }
  if (!Get(in, n_) || !CountOk(n_) || sbb_ < 0 || sqq_ < 0 || sw_ < 0) return false;
  den_mean_ = den_n_ = 0;
  if (!v1 && (!Get(in, den_mean_) || !Get(in, den_n_) || !std::isfinite(den_mean_) || den_mean_ < 0 ||
              !(den_n_ >= 0 && den_n_ <= kMemory))) {
    return false;
  }
  outside_ = seen_ = 0;
  if (!v1 && !v2 &&
      (!Get(in, outside_) || !Get(in, seen_) || !(seen_ >= 0 && seen_ <= kMemory) ||
       !(outside_ >= 0 && outside_ <= seen_))) {
    return false;
  }
  fm_excess_ = fm_norm_ = 0;
  if (!v1 && !v2 && !v3 &&
      (!Get(in, fm_excess_) || !Get(in, fm_norm_) || !std::isfinite(fm_excess_) || !(fm_norm_ >= 0) ||
       !std::isfinite(fm_norm_))) {
    return false;
  }
  proportion_ = (flags & 1) != 0;
  complement_ = (flags & 2) != 0;
  // A state from before the orientation keeps its values as they come.
  oriented_ = (v1 || v2 || v3) || (flags & 4) != 0;
  used_ = true;
  return true;
}

}  // namespace osprey::detect
