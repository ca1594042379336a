// RatioNoise: how much a ratio series (a ratio measure's SUM(numerator) /
// SUM(denominator), docs/configuration.md "Ratio measures") varies around
// its expectation, given the interval's denominator. The BusinessModel
// forecasts the ratio like any series; this says how far from the forecast a
// value may fall: a conversion rate over 20 views is far noisier than the
// same rate over 20,000.
//
//   Var(x) = k * base(p, n) + c * r^2
//
// p is the expected ratio and n the denominator. For a proportion (every
// value seen in [0, 1]) base = p (1 - p) / n, the binomial variance, and k
// is its overdispersion (beta-binomial; 1 for independent trials). For any
// other ratio (revenue per order) base = p^2 / n, the delta-method variance
// of a ratio of sums over n units whose per-unit ratio has a coefficient of
// variation sqrt(k). c is the relative error of the forecast itself, which
// dominates when n is large: relative to r = p for a ratio, and to the
// rarer outcome r = min(p, 1 - p) for a proportion (a success rate's
// forecast is as good as that of its failures). k and c are learnt per
// series by a weighted least-squares fit of squared residuals, shrunk
// towards k = 1, c = 1e-4 while there are few of them. For a proportion the fit sees the binomial
// variance as it is: the Gaussian judgement's slack (Variance) put into the
// regressor made b six times the binomial variance over two requests at a
// 1.6 % error rate, the fit answered with k at its floor, and two errors out
// of two requests were judged ten times less surprising than they are.
//
// Pure and deterministic; not thread-safe (one per series, in its model).
#pragma once

#include <algorithm>
#include <cmath>

#include <cstdint>
#include <string>
#include <string_view>

namespace osprey::detect {

// Whether a proportion's numerator (rate times denominator) is a whole
// count, up to the rounding of the division: a proportion of whole counts
// is judged, and its overdispersion learnt, as the count of its rarer
// outcome.
inline bool IsWholeCount(double y) { return std::fabs(y - std::round(y)) < 1e-6 * std::max(1.0, y); }

class RatioNoise {
 public:
  // The variance of the ratio at expectation p over denominator n (> 0),
  // for judging it as a Gaussian on its own scale: a proportion's rate is
  // taken to be at least half a trial from 0 and 1, so that a rate of
  // exactly 0 or 1 still has noise.
  double Variance(double p, double n) const;
  // For a proportion of whole counts expected at p, the count of its rarer
  // outcome (probability r = min(p, 1 - p)) over n trials as a scaled
  // negative binomial: variance phi (r n) + alpha (r n)^2, phi = k (1 - r)
  // with k at least 1 (binomial; fewer would make one error a flood), and
  // alpha = c, the forecast's relative error (relative to r). Not k
  // as a negative binomial's alpha: over a mean of half an error, 12 % of
  // extra variance as alpha is 0.2, a tail that judged eight errors where
  // 0.5 were expected at 1e-5 instead of 1e-7.
  void CountNoise(double p, double& phi, double& alpha) const;
  // Learns from a value x of the ratio where p was expected over n (See it
  // as well).
  void Learn(double x, double p, double n);
  // Notes a value seen (learnt or not), once per interval: values outside
  // [0, 1], when they are more than a few and more than a small share of
  // the recent ones, make the series a general ratio for good.
  void See(double x);

  // Notes an interval's denominator (> 0; others are ignored).
  void NoteDenominator(double n);
  // The series' typical denominator: a decayed mean over about as many
  // intervals as the fit remembers; 0 until one is noted.
  double typical_denominator() const { return den_mean_; }

  bool proportion() const { return proportion_; }
  // Which outcome of a proportion the model learns: the values as they come,
  // or their complement (1 - x) where most trials succeed, so that the
  // rarer outcome (a success rate's failures) is what the seasonal profile
  // multiplies. Decided once (BusinessModel::Observe); a state from before
  // the choice existed keeps the values as they come.
  bool complement() const { return complement_; }
  bool oriented() const { return oriented_; }
  void Orient(bool complement) {
    complement_ = complement;
    oriented_ = true;
  }
  // Whether enough values were seen for proportion() to say what the series
  // is (a value or two cannot make it a general ratio).
  bool decided() const;
  double overdispersion() const;  // k
  double forecast_error() const;  // c
  // Whether anything was seen: a series that never had a denominator saves
  // no ratio state.
  bool used() const { return used_; }

  // Appends the state (a tagged block) / reads it back from the front of
  // `in`; false when the block is corrupt.
  void Save(std::string& out) const;
  bool Restore(std::string_view& in);

 private:
  // The fit's two regressors at (p, n); `slack`: a proportion's rate at
  // least half a trial from 0 and 1 (Variance), else as it is (the fit).
  void Regressors(double p, double n, bool slack, double& b, double& q) const;
  // The fitted k and c.
  void Fit(double& k, double& c) const;

  bool used_ = false;
  bool proportion_ = true;
  bool complement_ = false;
  bool oriented_ = false;
  // Decayed weighted sums of the normal equations of r^2 ~ k b + c q, and
  // their decayed weight.
  double sbb_ = 0, sbq_ = 0, sqq_ = 0, sbr_ = 0, sqr_ = 0, sw_ = 0;
  int64_t n_ = 0;
  // The typical denominator and how many intervals it has seen (capped at
  // the memory). Not in states of the first layout ("RAT1"): those start
  // it again.
  double den_mean_ = 0, den_n_ = 0;
  // Decayed counts (over about as many intervals as the fit remembers) of
  // the values outside [0, 1] and of all values seen. Not in states before
  // "RAT3": those start them again.
  double outside_ = 0, seen_ = 0;
  // A proportion's overdispersion from its second factorial moment: decayed
  // sums of y (y - 1) - m^2 and of m^2 (y the rarer outcome's count, m its
  // forecast), over about kFactorialMemory intervals.
  double fm_excess_ = 0, fm_norm_ = 0;
};

}  // namespace osprey::detect
