// RatioNoise: how much a ratio series (a ratio measure's SUM(numerator) /
// SUM(denominator), docs/configuration.md "Ratio measures") varies around
// its expectation, given the interval's denominator. The BusinessModel
// forecasts the ratio like any series; this says how far from the forecast a
// value may fall: a conversion rate over 20 views is far noisier than the
// same rate over 20,000.
//
//   Var(x) = k * base(p, n) + c * p^2
//
// p is the expected ratio and n the denominator. For a proportion (every
// value seen in [0, 1]) base = p (1 - p) / n, the binomial variance, and k
// is its overdispersion (beta-binomial; 1 for independent trials). For any
// other ratio (revenue per order) base = p^2 / n, the delta-method variance
// of a ratio of sums over n units whose per-unit ratio has a coefficient of
// variation sqrt(k). c is the relative error of the forecast itself, which
// dominates when n is large. k and c are learnt per series by a weighted
// least-squares fit of squared residuals, shrunk towards k = 1, c = 1e-4
// while there are few of them.
//
// Pure and deterministic; not thread-safe (one per series, in its model).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace osprey::detect {

class RatioNoise {
 public:
  // The variance of the ratio at expectation p over denominator n (> 0).
  double Variance(double p, double n) const;
  // Learns from a value x of the ratio where p was expected over n.
  void Learn(double x, double p, double n);
  // Notes a value seen (learnt or not): a value outside [0, 1] makes the
  // series a general ratio for good.
  void See(double x);

  bool proportion() const { return proportion_; }
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
  // The fit's two regressors at (p, n).
  void Regressors(double p, double n, double& b, double& q) const;
  // The fitted k and c.
  void Fit(double& k, double& c) const;

  bool used_ = false;
  bool proportion_ = true;
  // Decayed weighted sums of the normal equations of r^2 ~ k b + c q, and
  // their decayed weight.
  double sbb_ = 0, sbq_ = 0, sqq_ = 0, sbr_ = 0, sqr_ = 0, sw_ = 0;
  int64_t n_ = 0;
};

}  // namespace osprey::detect
