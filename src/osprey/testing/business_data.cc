#include "osprey/testing/business_data.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>

#include "osprey/base/time.h"

namespace osprey::testing {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kDay = 86400;

// xoshiro256** seeded by splitmix64: the same stream on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      s = z ^ (z >> 31);
    }
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // In (0, 1).
  double Uniform() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // In [lo, hi].
  int64_t Int(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Bernoulli(double p) { return Uniform() < p; }
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(Uniform()));
    const double a = 2.0 * kPi * Uniform();
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }
  // Marsaglia-Tsang; shape < 1 by the boost U^(1/shape).
  double Gamma(double shape, double scale) {
    if (shape < 1.0) return Gamma(shape + 1.0, scale) * std::pow(Uniform(), 1.0 / shape);
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = Normal();
      double v = 1.0 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      const double u = Uniform();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v * scale;
    }
  }
  // Inversion for small means, Hoermann's PTRS for large ones.
  int64_t Poisson(double mean) {
    if (mean <= 0) return 0;
    if (mean < 20) {
      const double limit = std::exp(-mean);
      double prod = Uniform();
      int64_t k = 0;
      while (prod > limit) {
        prod *= Uniform();
        ++k;
      }
      return k;
    }
    const double slam = std::sqrt(mean);
    const double loglam = std::log(mean);
    const double b = 0.931 + 2.53 * slam;
    const double a = -0.059 + 0.02483 * b;
    const double invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const double vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const double u = Uniform() - 0.5;
      const double v = Uniform();
      const double us = 0.5 - std::fabs(u);
      const double k = std::floor((2 * a / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return static_cast<int64_t>(k);
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (std::log(v) + std::log(invalpha) - std::log(a / (us * us) + b) <=
          -mean + k * loglam - std::lgamma(k + 1)) {
        return static_cast<int64_t>(k);
      }
    }
  }
  // Gamma-Poisson: mean mu, variance mu + mu^2 / k.
  int64_t NegBinomial(double mu, double k) {
    if (mu <= 0) return 0;
    return Poisson(Gamma(k, mu / k));
  }
  // Successes in n trials at rate p: inversion (each term of the pmf from
  // the one before) on the rarer outcome, whose count is at most n / 2.
  int64_t Binomial(int64_t n, double p) {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (p > 0.5) return n - Binomial(n, 1 - p);
    const double q = 1 - p, ratio = p / q;
    double term = std::exp(static_cast<double>(n) * std::log1p(-p));  // P(0)
    double u = Uniform();
    int64_t k = 0;
    while (u > term && k < n) {
      u -= term;
      ++k;
      term *= ratio * static_cast<double>(n - k + 1) / static_cast<double>(k);
    }
    return k;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

// Local day number (days since 1970-01-01) of a calendar date.
int64_t DayOf(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days(year{y} / month{m} / day{d}).time_since_epoch().count();
}
int YearOf(int64_t day) {
  using namespace std::chrono;
  return static_cast<int>(year_month_day(sys_days(days(day))).year());
}
int DayOfYear(int64_t day) { return static_cast<int>(day - DayOf(YearOf(day), 1, 1)); }

// Anonymous Gregorian computus.
int64_t EasterDay(int y) {
  const int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
  const int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
  return DayOf(y, static_cast<unsigned>(month), static_cast<unsigned>(day));
}
int64_t ThanksgivingDay(int y) {
  const int64_t nov1 = DayOf(y, 11, 1);
  const int offset = (3 - WeekdayOfDay(nov1) + 7) % 7;  // first Thursday
  return nov1 + offset + 21;
}

double Bump(double x, double center, double width) {
  const double z = (x - center) / width;
  return std::exp(-z * z);
}

// The effect of one anomaly on the leaves it touches, at offset i of n
// points: request/order multiplier ramping from mult0 to mult1, exact zeros,
// additive errors, latency multiplier ramp, money multiplier.
struct Effect {
  double mult0 = 1, mult1 = 1;
  bool zero = false;
  double add_errors = 0;
  double lat0 = 1, lat1 = 1;
  double price = 1;
  double Mult(int64_t i, int64_t n) const {
    return mult0 + (mult1 - mult0) * static_cast<double>(i + 1) / static_cast<double>(n);
  }
  double Lat(int64_t i, int64_t n) const {
    return lat0 + (lat1 - lat0) * static_cast<double>(i + 1) / static_cast<double>(n);
  }
};

// Per-leaf state while generating: the normal expectation drivers and the
// accumulated anomaly effects.
struct LeafWork {
  std::vector<double> lam;      // expected count (orders/requests) without anomalies
  std::vector<double> latency;  // ops: expected mean latency without anomalies
  std::vector<bool> row;        // a row exists
  double k = 10;                // count dispersion
  double price_mu = 0, price_sigma = 0, price_m = 0, price_m2 = 0;  // hourly
  double err_p = 0, err_k = 5;                                      // ops: errors per request, dispersion
  bool failed_requests = false;                                     // ops: BusinessParams::failed_requests
  double lat_sigma = 0.5, lat_jitter = 0.03;
  int64_t first = 0;  // first point with rows (late launch)
  // Anomalous effects, accumulated.
  std::vector<double> mult, add_err, lat_mult, price;
  std::vector<bool> zero;
  std::vector<std::pair<int64_t, int64_t>> busy;  // windows taken by anomalies
};

struct Work {
  BusinessParams p;
  Dataset d;
  std::vector<LeafWork> leaves;
  int64_t gap = 0;              // spacing kept between anomalies on one series, points
  std::vector<Effect> effects;  // parallel to d.anomalies
};

double LatencyRel(const LeafWork& w, double lam) {
  return std::sqrt((std::exp(w.lat_sigma * w.lat_sigma) - 1) / std::max(lam, 1.0) +
                   w.lat_jitter * w.lat_jitter);
}

// P(a, x): the regularized lower incomplete gamma function (the Gamma(a, 1)
// distribution function at x), by its series below a + 1 and by the
// continued fraction of its complement above (Lentz's method).
double RegularizedGammaP(double a, double x) {
  if (x <= 0) return 0.0;
  const double log_front = a * std::log(x) - x - std::lgamma(a);
  if (x < a + 1) {
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 1000 && std::fabs(term) > 1e-15 * std::fabs(sum); ++n) {
      term *= x / (a + n);
      sum += term;
    }
    return std::min(1.0, sum * std::exp(log_front));
  }
  constexpr double kTiny = 1e-300;
  double b = x + 1 - a, c = 1 / kTiny, d = 1 / b, h = d;
  for (int i = 1; i < 1000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < 1e-15) break;
  }
  return std::max(0.0, 1.0 - std::exp(log_front) * h);
}

// The rate at which leaf w's requests fail in an interval expecting
// `requests_mu` of them and `add_errors` errors more than usual (an error
// burst): err_p plus the burst's share. Each interval's rate is this times
// G ~ Gamma(err_k, 1 / err_k), at most 1 (a burst on a quiet leaf fails
// every request, never more).
double ErrorRate(const LeafWork& w, double requests_mu, double add_errors) {
  return w.err_p + (requests_mu > 0 ? add_errors / requests_mu : 0.0);
}

// E[min(p G, 1)] and E[min(p G, 1)^2] for G ~ Gamma(k, 1 / k): with X = p G
// ~ Gamma(k, p / k), E[X; X < 1] = p P(k + 1, k / p) and E[X^2; X < 1] =
// p^2 (1 + 1 / k) P(k + 2, k / p).
struct CappedRate {
  double mean = 0;    // E[min(pG, 1)]
  double second = 0;  // E[min(pG, 1)^2]
};
CappedRate CappedRateMoments(double p, double k) {
  CappedRate out;
  if (!(p > 0)) return out;
  const double at_cap = 1.0 - RegularizedGammaP(k, k / p);
  out.mean = p * RegularizedGammaP(k + 1, k / p) + at_cap;
  out.second = p * p * (1 + 1 / k) * RegularizedGammaP(k + 2, k / p) + at_cap;
  return out;
}

// Normal expectation and variance of measure m of leaf w at t.
void NormalMoments(const Dataset& d, const LeafWork& w, int m, int64_t t, double* e, double* v) {
  const double lam = w.lam[static_cast<size_t>(t)];
  if (d.family == "hourly") {
    if (m == 0) {
      *e = lam;
      *v = lam + lam * lam / w.k;
    } else {
      *e = lam * w.price_m;
      *v = lam * w.price_m2 + lam * lam * w.price_m * w.price_m / w.k;
    }
    return;
  }
  if (m == 0) {
    *e = lam;
    *v = lam + lam * lam / w.k;
  } else if ((m == 1 || m == 3) && !w.failed_requests) {
    // Errors drawn around the expected requests, independently of them.
    const double mu = w.err_p * lam;
    if (m == 1) {
      *e = mu;
      *v = mu + mu * mu / w.err_k;
    } else {
      // The error rate, errors E over requests R, drawn independently
      // around err_p lam and lam: to second order in CV(R)^2 = c, E[E/R] =
      // err_p (1 + c) and Var = (Var E (1 + 3 c) + err_p^2 Var R) / lam^2
      // (close where lam is some tens; over a few requests the rate is
      // more skewed).
      const double var_r = lam + lam * lam / w.k;
      const double c = lam > 0 ? var_r / (lam * lam) : 0.0;
      *e = w.err_p * (1 + c);
      *v = lam > 0 ? ((mu + mu * mu / w.err_k) * (1 + 3 * c) + w.err_p * w.err_p * var_r) / (lam * lam) : 0.0;
    }
  } else if (m == 1 || m == 3) {
    // Errors E: each of the R requests fails at a rate q = err_p G, G ~
    // Gamma(err_k, 1 / err_k) per interval (ErrorRateDraw; its cap at 1
    // is far away at these rates). E[q] = p, E[q^2] = p^2 (1 + 1 / k).
    const double p = w.err_p, q2 = p * p * (1 + 1 / w.err_k);
    const double var_r = lam + lam * lam / w.k;
    if (m == 1) {
      *e = lam * p;
      *v = lam * (p - q2) + (var_r + lam * lam) * q2 - lam * lam * p * p;
    } else {
      // The rate E / R where R > 0: mean p, variance E[1 / R] (p - E[q^2])
      // + Var q, with E[1 / R] to second order in CV(R)^2 = c (close where
      // lam is some tens; ObservedRate sums it exactly for the labels).
      const double c = lam > 0 ? var_r / (lam * lam) : 0.0;
      *e = p;
      *v = lam > 0 ? (1 + c) / lam * (p - q2) + (q2 - p * p) : 0.0;
    }
  } else {
    const double l = w.latency[static_cast<size_t>(t)];
    const double rel = LatencyRel(w, lam);
    *e = l;
    *v = l * l * rel * rel;
  }
}

// Expectation of measure m under one anomaly's effect at offset i of n.
double AnomalousMean(const Dataset& d, const LeafWork& w, int m, int64_t t, const Effect& f, int64_t i,
                     int64_t n) {
  const double lam = w.lam[static_cast<size_t>(t)];
  const double mult = f.zero ? 0.0 : f.Mult(i, n);
  if (d.family == "hourly") {
    if (m == 0) return lam * mult;
    return lam * mult * w.price_m * f.price;
  }
  if (m == 0) return lam * mult;
  if (!w.failed_requests) {
    if (m == 1) return f.zero ? 0.0 : w.err_p * lam * mult + f.add_errors;
    if (m == 3) return lam * mult > 0 ? (w.err_p * lam * mult + f.add_errors) / (lam * mult) : w.err_p;
  } else {
    const double rate = CappedRateMoments(ErrorRate(w, lam * mult, f.add_errors), w.err_k).mean;
    if (m == 1) return f.zero || lam * mult <= 0 ? 0.0 : lam * mult * rate;
    if (m == 3) return lam * mult > 0 ? rate : w.err_p;
  }
  return w.latency[static_cast<size_t>(t)] * f.Lat(i, n);
}

// Probabilities of 0, 1, ... under a gamma-Poisson of mean mu and shape k,
// up to where the rest is below 1e-12 of the mass (at most 100,000 terms).
std::vector<double> NegBinomialPmf(double mu, double k) {
  std::vector<double> pmf;
  if (!(mu > 0)) return {1.0};
  const double q = mu / (mu + k);
  double p = std::exp(k * std::log1p(-q));
  double total = 0;
  for (double n = 0; n < 100000; n += 1) {
    pmf.push_back(p);
    total += p;
    if (n > mu && 1.0 - total < 1e-12) break;
    p *= (n + k) / (n + 1) * q;
  }
  return pmf;
}

// The error rate as it is observed: requests R ~ NB(requests_mu,
// requests_k), each failing at the interval's rate q = min(p G, 1) (G ~
// Gamma(errors_k, 1 / errors_k)), the rate E / R existing only where R > 0.
// Exact (summed over R): given R = r, E[E / R] = E[q] and E[(E / R)^2] =
// (E[q] - E[q^2]) / r + E[q^2]. Over a few requests the rate is coarse and
// often absent, which a Gaussian of errors over expected requests does not
// know.
struct RateMoments {
  double present = 0;  // P(R > 0)
  double mean = 0;     // E[rate | R > 0]
  double var = 0;      // Var[rate | R > 0]
};

RateMoments ObservedRate(double requests_mu, double requests_k, double p, double errors_k) {
  const std::vector<double> pr = NegBinomialPmf(requests_mu, requests_k);
  const CappedRate q = CappedRateMoments(p, errors_k);
  RateMoments out;
  double m2 = 0;
  for (size_t r = 1; r < pr.size(); ++r) {
    out.present += pr[r];
    m2 += pr[r] * ((q.mean - q.second) / static_cast<double>(r) + q.second);
  }
  if (out.present <= 0) return out;
  out.mean = q.mean;
  out.var = std::max(0.0, m2 / out.present - out.mean * out.mean);
  return out;
}

// The same where errors E ~ NB(errors_mu, errors_k) and
// requests R ~ NB(requests_mu, requests_k) drawn independently, the rate
// min(E, R) / R existing only where R > 0. Exact (summed over both
// distributions): over a few requests the rate is capped at 1 and often
// absent, which a Gaussian of E / R does not know (it put a burst of four
// errors on a leaf expecting half a request at a rate of 8, labelled).
RateMoments ObservedRateOfIndependentErrors(double requests_mu, double requests_k, double errors_mu,
                                            double errors_k) {
  const std::vector<double> pr = NegBinomialPmf(requests_mu, requests_k);
  const std::vector<double> pe = NegBinomialPmf(errors_mu, errors_k);
  // For each r: E[min(E, r)] = sum_{e<r} e P(e) + r P(E >= r), likewise squared.
  RateMoments out;
  double below = 0, below_e = 0, below_e2 = 0;  // sums over e < r
  double m1 = 0, m2 = 0;
  for (size_t r = 1; r < pr.size(); ++r) {
    const size_t e = r - 1;
    if (e < pe.size()) {
      below += pe[e];
      below_e += pe[e] * static_cast<double>(e);
      below_e2 += pe[e] * static_cast<double>(e) * static_cast<double>(e);
    }
    const double rr = static_cast<double>(r);
    const double at_least = std::max(0.0, 1.0 - below);
    const double c1 = (below_e + rr * at_least) / rr;
    const double c2 = (below_e2 + rr * rr * at_least) / (rr * rr);
    out.present += pr[r];
    m1 += pr[r] * c1;
    m2 += pr[r] * c2;
  }
  if (out.present <= 0) return out;
  out.mean = m1 / out.present;
  out.var = std::max(0.0, m2 / out.present - out.mean * out.mean);
  return out;
}

// |sum of effects| / sqrt(sum of variances) of an anomaly on measure m, over
// the present rows it touches. Latency and the error rate need a row with
// requests: a point's effect counts as often as it is expected to have one,
// whether it has one adds its own variance (an effect seen on one point in
// fifteen is not evidence, however large), and the error rate's moments
// are those of the observed rate (ObservedRate).
double EffectZ(const Work& work, const std::vector<int>& series, int64_t b, int64_t e, const Effect& f,
               int m) {
  double effect = 0, var = 0, normal_total = 0;
  const bool ops = work.d.family == "ops";
  for (int s : series) {
    const LeafWork& w = work.leaves[static_cast<size_t>(s)];
    for (int64_t t = b; t < e; ++t) {
      if (!w.row[static_cast<size_t>(t)]) continue;
      // No requests: no latency and no error rate.
      if (ops && (m == 2 || m == 3) && f.zero) continue;
      const double lam = w.lam[static_cast<size_t>(t)];
      const double mult = f.Mult(t - b, e - b);
      if (ops && m == 3) {
        const RateMoments normal = w.failed_requests
                                       ? ObservedRate(lam, w.k, w.err_p, w.err_k)
                                       : ObservedRateOfIndependentErrors(lam, w.k, w.err_p * lam, w.err_k);
        const RateMoments anomalous =
            w.failed_requests ? ObservedRate(lam * mult, w.k, ErrorRate(w, lam * mult, f.add_errors), w.err_k)
                              : ObservedRateOfIndependentErrors(lam * mult, w.k,
                                                                w.err_p * lam * mult + f.add_errors, w.err_k);
        const double delta = anomalous.mean - normal.mean;
        effect += anomalous.present * delta;
        var += anomalous.present * normal.var + anomalous.present * (1 - anomalous.present) * delta * delta;
        continue;
      }
      double mean = 0, v = 0;
      NormalMoments(work.d, w, m, t, &mean, &v);
      double present = 1;
      if (ops && m == 2) present = 1.0 - std::pow(w.k / (w.k + lam * mult), w.k);  // P(R > 0)
      const double delta = AnomalousMean(work.d, w, m, t, f, t - b, e - b) - mean;
      effect += present * delta;
      var += present * v + present * (1 - present) * delta * delta;
      normal_total += mean;
    }
  }
  if (var <= 0) return effect == 0 ? 0.0 : 1e9;
  const double z = std::fabs(effect) / std::sqrt(var);
  if (!(ops && m == 1 && effect > 0 && work.p.failed_requests)) return z;
  // Errors are rare counts, where a Gaussian z says a burst expecting half
  // an error more than the 0.02 usual (a burst at night, on the few requests
  // there are) exceeds the noise, though it shows as no error at all most
  // of the time. A burst counts as far as its typical total (the median of
  // a Poisson of its expected total) is rare under the normal total's
  // distribution (a negative binomial of its mean and variance): that
  // tail's normal deviate, where it is below the Gaussian z.
  const double burst = normal_total + effect;
  const double median = std::floor(burst + 1.0 / 3.0);
  const double k = var > normal_total ? normal_total * normal_total / (var - normal_total) : 1e9;
  const std::vector<double> pmf = NegBinomialPmf(normal_total, k);
  double below = 0;
  for (size_t x = 0; x < pmf.size() && static_cast<double>(x) < median; ++x) below += pmf[x];
  const double tail = std::max(1.0 - below, 1e-300);
  // The deviate whose upper normal tail is `tail` (bisection).
  double lo = 0, hi = 40;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > tail ? lo : hi) = mid;
  }
  return std::min(z, lo);
}

bool Free(const Work& work, const std::vector<int>& series, int64_t b, int64_t e) {
  for (int s : series) {
    const LeafWork& w = work.leaves[static_cast<size_t>(s)];
    // A series that starts late gets 14 days of its own history first.
    if (w.first > 0 && b < w.first + 14 * kDay / work.d.interval_seconds) return false;
    for (const auto& [ob, oe] : w.busy) {
      if (b < oe + work.gap && ob < e + work.gap) return false;
    }
  }
  return true;
}

// Leaves whose dimension values match every pair of `filter`.
std::vector<int> Matching(const Dataset& d, const std::vector<std::pair<int, std::string>>& filter) {
  std::vector<int> out;
  for (size_t s = 0; s < d.series.size(); ++s) {
    bool ok = true;
    for (const auto& [dim, value] : filter) {
      if (d.series[s].dims[static_cast<size_t>(dim)] != value) ok = false;
    }
    if (ok) out.push_back(static_cast<int>(s));
  }
  return out;
}

// A proposed anomaly: where, how long, what effect, which measure must carry
// it above the noise, and what persists after it (a new normal).
struct Proposal {
  AnomalyKind kind = AnomalyKind::kSpike;
  std::vector<int> series;
  std::vector<std::pair<int, std::string>> root_cause;
  int64_t begin = 0, end = 0;
  Effect effect;
  int primary = 0;           // measure that must be labelled to accept it
  double persist_lam = 1.0;  // multiplier of the expected count after `end`
  double persist_lat = 1.0;  // multiplier of the expected latency after `end`
  double size = 0;
};

// Tries up to 400 proposals from `propose` until one is free and exceeds
// the label threshold on its primary measure; records it.
void Place(Work& work, Rng& rng, int count, const std::function<Proposal(Rng&)>& propose) {
  const int64_t n = static_cast<int64_t>(work.d.points());
  for (int placed = 0; placed < count; ++placed) {
    for (int attempt = 0; attempt < 400; ++attempt) {
      Proposal prop = propose(rng);
      if (prop.begin < work.d.warmup_points || prop.end > n || prop.end <= prop.begin) continue;
      if (!Free(work, prop.series, prop.begin, prop.end)) continue;
      if (EffectZ(work, prop.series, prop.begin, prop.end, prop.effect, prop.primary) < work.p.label_z) {
        continue;
      }
      for (int s : prop.series) {
        LeafWork& w = work.leaves[static_cast<size_t>(s)];
        w.busy.emplace_back(prop.begin, prop.end);
        for (int64_t t = prop.end; t < n; ++t) {
          w.lam[static_cast<size_t>(t)] *= prop.persist_lam;
          if (!w.latency.empty()) w.latency[static_cast<size_t>(t)] *= prop.persist_lat;
        }
      }
      Anomaly a;
      a.kind = prop.kind;
      a.series = prop.series;
      a.begin = prop.begin;
      a.end = prop.end;
      a.root_cause = prop.root_cause;
      a.size = prop.size;
      work.d.anomalies.push_back(std::move(a));
      work.effects.push_back(prop.effect);
      break;
    }
  }
}

Status SetupGrid(Work& work, std::string_view zone_name, int y, unsigned m, unsigned d) {
  OSPREY_ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Load(zone_name));
  Dataset& data = work.d;
  data.zone = std::string(zone_name);
  const int64_t start = ToUnixSeconds(zone.FromLocal(DayOf(y, m, d) * kDay));
  const int64_t n = work.p.days * kDay / data.interval_seconds;
  data.times.resize(static_cast<size_t>(n));
  data.local_times.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const int64_t t = start + k * data.interval_seconds;
    data.times[static_cast<size_t>(k)] = t;
    data.local_times[static_cast<size_t>(k)] = zone.ToLocal(FromUnixSeconds(t));
  }
  data.warmup_points = work.p.warmup_days * kDay / data.interval_seconds;
  return Status::Ok();
}

// Leaves of the cross product of `values`, in row-major order.
void MakeLeaves(Work& work, const std::vector<std::vector<std::string>>& values) {
  size_t total = 1;
  for (const auto& v : values) total *= v.size();
  for (size_t i = 0; i < total; ++i) {
    LeafSeries leaf;
    size_t rest = i;
    leaf.dims.resize(values.size());
    for (size_t dim = values.size(); dim-- > 0;) {
      leaf.dims[dim] = values[dim][rest % values[dim].size()];
      rest /= values[dim].size();
    }
    leaf.measures.resize(work.d.measures.size());
    work.d.series.push_back(std::move(leaf));
  }
  work.leaves.resize(total);
}

// Rows: 1 % (missing_share) absent at random, one ETL gap where every row is
// absent, none before a leaf's first point.
void MakeRows(Work& work, Rng& rng) {
  const int64_t n = static_cast<int64_t>(work.d.points());
  const int64_t gap_len = work.p.etl_gap_hours * 3600 / work.d.interval_seconds;
  const int64_t gap_at = rng.Int(work.d.warmup_points, n - gap_len - 1);
  for (LeafWork& w : work.leaves) {
    w.row.assign(static_cast<size_t>(n), true);
    for (int64_t t = 0; t < n; ++t) {
      const bool absent =
          t < w.first || (t >= gap_at && t < gap_at + gap_len) || rng.Bernoulli(work.p.missing_share);
      if (absent) w.row[static_cast<size_t>(t)] = false;
    }
  }
}

void ApplyEffectsAndLabels(Work& work) {
  const int64_t n = static_cast<int64_t>(work.d.points());
  const size_t measures = work.d.measures.size();
  for (LeafWork& w : work.leaves) {
    w.mult.assign(static_cast<size_t>(n), 1.0);
    w.add_err.assign(static_cast<size_t>(n), 0.0);
    w.lat_mult.assign(static_cast<size_t>(n), 1.0);
    w.price.assign(static_cast<size_t>(n), 1.0);
    w.zero.assign(static_cast<size_t>(n), false);
  }
  for (size_t i = 0; i < work.d.anomalies.size(); ++i) {
    Anomaly& a = work.d.anomalies[i];
    const Effect& f = work.effects[i];
    a.labelled.assign(measures, false);
    a.effect_z.assign(measures, 0.0);
    for (size_t m = 0; m < measures; ++m) {
      a.effect_z[m] = EffectZ(work, a.series, a.begin, a.end, f, static_cast<int>(m));
      a.labelled[m] = a.effect_z[m] >= work.p.label_z;
    }
    for (int s : a.series) {
      LeafWork& w = work.leaves[static_cast<size_t>(s)];
      for (int64_t t = a.begin; t < a.end; ++t) {
        const size_t u = static_cast<size_t>(t);
        w.mult[u] *= f.Mult(t - a.begin, a.end - a.begin);
        w.lat_mult[u] *= f.Lat(t - a.begin, a.end - a.begin);
        w.add_err[u] += f.add_errors;
        w.price[u] *= f.price;
        if (f.zero) w.zero[u] = true;
      }
    }
  }
}

// ---- hourly business ----

const std::vector<std::string> kRegions = {"East", "West", "South", "Central"};
const std::vector<std::string> kChannels = {"store", "web", "mobile"};
const std::vector<std::string> kCategories = {"electronics", "apparel", "home", "grocery", "shoes"};
constexpr int kLateCategory = 4;  // shoes: launched mid-year

struct Holiday {
  const char* name;
  const char* recurrence;
  double factor[3];  // per channel: store, web, mobile
};
const Holiday kHolidays[] = {
    {"New Year's Day", "new_year", {0.3, 0.7, 0.8}},   {"Easter", "easter", {0.5, 0.9, 0.95}},
    {"Thanksgiving", "thanksgiving", {0.4, 0.9, 1.1}}, {"Black Friday", "black_friday", {1.8, 2.5, 2.2}},
    {"Christmas", "christmas", {0.0, 0.5, 0.6}},
};

int64_t HolidayDay(int which, int y) {
  switch (which) {
    case 0: return DayOf(y, 1, 1);
    case 1: return EasterDay(y);
    case 2: return ThanksgivingDay(y);
    case 3: return ThanksgivingDay(y) + 1;
    default: return DayOf(y, 12, 25);
  }
}

double DailyProfile(int channel, double h, const BusinessParams& p) {
  if (channel == 0) {
    if (h < p.store_open_hour || h >= p.store_close_hour) return 0.0;
    return 0.5 + 0.5 * Bump(h, 12, 2.5) + 0.6 * Bump(h, 17.5, 2);
  }
  if (channel == 1) return 0.12 + 0.3 * Bump(h, 12, 3) + 0.9 * Bump(h, 20.5, 2.2);
  return 0.08 + 0.25 * Bump(h, 8, 1.5) + 0.7 * Bump(h, 12.5, 1.5) + 0.9 * Bump(h, 20.5, 1.8);
}

double WeeklyProfile(int channel, int category, int wd) {
  static const double kChannelWeek[3][7] = {{0.9, 0.9, 0.95, 1.0, 1.1, 1.35, 0.75},
                                            {1.0, 1.0, 1.0, 1.0, 0.95, 1.1, 1.2},
                                            {0.9, 0.9, 0.9, 0.95, 1.0, 1.3, 1.35}};
  double f = kChannelWeek[channel][wd];
  if (category == 3 && wd >= 5) f *= 1.2;   // grocery: weekends
  if (category == 0 && wd == 5) f *= 1.15;  // electronics: Saturdays
  if (category == 1 && wd == 6) f *= 1.1;   // apparel: Sundays
  if (category == 2 && wd == 6) f *= 1.15;  // home: Sundays
  if (category == 4 && wd == 5) f *= 1.1;   // shoes: Saturdays
  return f;
}

Status GenerateHourly(Work& work) {
  const BusinessParams& p = work.p;
  Dataset& d = work.d;
  d.interval_seconds = 3600;
  d.dimensions = {"region", "channel", "category"};
  d.measures = {{"orders", MeasureKind::kCount, -1}, {"revenue", MeasureKind::kMoney, -1}};
  OSPREY_RETURN_IF_ERROR(SetupGrid(work, "America/New_York", 2024, 1, 1));
  MakeLeaves(work, {kRegions, kChannels, kCategories});
  work.gap = 24;
  const int64_t n = static_cast<int64_t>(d.points());
  const int64_t first_day = FloorDiv(d.local_times.front(), kDay);
  const int64_t last_day = FloorDiv(d.local_times.back(), kDay);

  // The event calendar and each day's holiday.
  std::vector<int> holiday_of(static_cast<size_t>(last_day - first_day + 1), -1);
  for (int y = YearOf(first_day); y <= YearOf(last_day); ++y) {
    for (int h = 0; h < 5; ++h) {
      const int64_t day = HolidayDay(h, y);
      if (day < first_day || day > last_day) continue;
      holiday_of[static_cast<size_t>(day - first_day)] = h;
      d.events.push_back({std::string(kHolidays[h].name) + " " + std::to_string(y),
                          kHolidays[h].recurrence,
                          day * kDay,
                          (day + 1) * kDay,
                          {},
                          false});
    }
  }

  Rng rng(p.seed * 0x9e3779b97f4a7c15ULL + 1);
  static const double kRegionBase[4] = {1.0, 0.8, 0.6, 0.35};
  static const double kRegionGrowth[4] = {0.12, -0.08, 0.20, 0.0};  // per year
  static const double kChannelBase[3] = {10, 14, 9};
  static const double kCategoryBase[5] = {0.8, 1.0, 0.6, 1.6, 0.5};
  static const double kPriceMedian[5] = {120, 40, 65, 25, 75};
  static const double kPriceSigma[5] = {0.9, 0.6, 0.8, 0.45, 0.5};
  const int64_t launch = std::min<int64_t>(n, static_cast<int64_t>(p.launch_day) * kDay / 3600);
  for (size_t s = 0; s < d.series.size(); ++s) {
    const int region = static_cast<int>(s / 15), channel = static_cast<int>(s / 5 % 3),
              category = static_cast<int>(s % 5);
    LeafWork& w = work.leaves[s];
    w.k = std::exp(rng.Uniform(std::log(p.dispersion_min), std::log(p.dispersion_max)));
    w.price_mu = std::log(kPriceMedian[category]);
    w.price_sigma = kPriceSigma[category];
    w.price_m = std::exp(w.price_mu + 0.5 * w.price_sigma * w.price_sigma);
    w.price_m2 = std::exp(2 * w.price_mu + 2 * w.price_sigma * w.price_sigma);
    w.first = category == kLateCategory ? launch : 0;
    const double base = p.volume * kRegionBase[region] * kChannelBase[channel] * kCategoryBase[category] *
                        std::exp(0.2 * rng.Normal());
    const double growth = kRegionGrowth[region] + 0.03 * rng.Normal();
    w.lam.resize(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
      const int64_t local = d.local_times[static_cast<size_t>(t)];
      const int64_t day = FloorDiv(local, kDay);
      const double hour = static_cast<double>(local - day * kDay) / 3600.0;
      const double years = static_cast<double>(t) / (365.25 * 24);
      double lam = base * DailyProfile(channel, std::floor(hour) + 0.5, p) *
                   WeeklyProfile(channel, category, WeekdayOfDay(day)) *
                   (1 + 0.08 * std::cos(2 * kPi * (DayOfYear(day) - 350) / 365.25)) *
                   std::exp(growth * years);
      const int h = holiday_of[static_cast<size_t>(day - first_day)];
      if (h >= 0) lam *= kHolidays[h].factor[channel];
      w.lam[static_cast<size_t>(t)] = lam;
    }
  }
  MakeRows(work, rng);

  auto leaf = [&](Rng& r) { return static_cast<int>(r.Int(0, static_cast<int64_t>(d.series.size()) - 1)); };
  auto start = [&](Rng& r, int64_t len) { return r.Int(d.warmup_points, n - len - 1); };
  auto single = [&](AnomalyKind kind, int64_t lo, int64_t hi) {
    return [&, kind, lo, hi](Rng& r) {
      Proposal prop;
      prop.kind = kind;
      prop.series = {leaf(r)};
      const int64_t len = r.Int(lo, hi);
      prop.begin = start(r, len);
      prop.end = prop.begin + len;
      return prop;
    };
  };
  // Shifts and drifts first: they change the normal level after them.
  Place(work, rng, p.shifts, [&](Rng& r) {
    Proposal prop = single(AnomalyKind::kShift, 72, 72)(r);
    const double s = r.Uniform(0.25, 0.6);
    prop.size = r.Bernoulli(0.5) ? 1 + s : 1 - s;
    prop.effect.mult0 = prop.effect.mult1 = prop.persist_lam = prop.size;
    return prop;
  });
  Place(work, rng, p.drifts, [&](Rng& r) {
    Proposal prop = single(AnomalyKind::kDrift, 48, 120)(r);
    prop.size = r.Bernoulli(0.5) ? 1 + r.Uniform(0.4, 0.8) : 1 - r.Uniform(0.3, 0.5);
    prop.effect.mult1 = prop.persist_lam = prop.size;
    return prop;
  });
  Place(work, rng, p.spikes, [&](Rng& r) {
    Proposal prop = single(AnomalyKind::kSpike, 1, 3)(r);
    prop.size = prop.effect.mult0 = prop.effect.mult1 = 1 + r.Uniform(1.0, 3.0);
    return prop;
  });
  Place(work, rng, p.dips, [&](Rng& r) {
    Proposal prop = single(AnomalyKind::kDip, 3, 12)(r);
    prop.size = prop.effect.mult0 = prop.effect.mult1 = 1 - r.Uniform(0.5, 0.85);
    return prop;
  });
  Place(work, rng, p.outages, [&](Rng& r) {
    Proposal prop = single(AnomalyKind::kOutage, 2, 8)(r);
    prop.effect.zero = true;
    return prop;
  });
  Place(work, rng, p.glitches, [&](Rng& r) {
    Proposal prop = single(AnomalyKind::kPriceGlitch, 1, 6)(r);
    prop.size = prop.effect.price = r.Bernoulli(0.5) ? 0.1 : 10.0;
    prop.primary = 1;
    return prop;
  });
  Place(work, rng, p.incidents, [&](Rng& r) {
    Proposal prop;
    prop.kind = AnomalyKind::kIncident;
    const int64_t shape = r.Int(0, 2);
    const std::string region = kRegions[static_cast<size_t>(r.Int(0, 3))];
    const std::string channel = kChannels[static_cast<size_t>(r.Int(0, 2))];
    const std::string category = kCategories[static_cast<size_t>(r.Int(0, 4))];
    if (shape == 0) prop.root_cause = {{0, region}};
    if (shape == 1) prop.root_cause = {{0, region}, {1, channel}};
    if (shape == 2) prop.root_cause = {{1, channel}, {2, category}};
    prop.series = Matching(d, prop.root_cause);
    const int64_t len = r.Int(3, 12);
    prop.begin = start(r, len);
    prop.end = prop.begin + len;
    const double s = r.Uniform(p.incident_min, p.incident_max);
    prop.size = prop.effect.mult0 = prop.effect.mult1 = r.Bernoulli(0.8) ? 1 - s : 1 + s;
    return prop;
  });
  ApplyEffectsAndLabels(work);

  for (size_t s = 0; s < d.series.size(); ++s) {
    LeafWork& w = work.leaves[s];
    Rng noise(p.seed * 1000003ULL + s * 7919ULL + 17);
    MeasureData& orders = d.series[s].measures[0];
    MeasureData& revenue = d.series[s].measures[1];
    for (MeasureData* m : {&orders, &revenue}) {
      m->value.resize(static_cast<size_t>(n));
      m->expected.resize(static_cast<size_t>(n));
      m->sd.resize(static_cast<size_t>(n));
    }
    for (int64_t t = 0; t < n; ++t) {
      const size_t u = static_cast<size_t>(t);
      for (int m = 0; m < 2; ++m) {
        double e = 0, v = 0;
        NormalMoments(d, w, m, t, &e, &v);
        d.series[s].measures[static_cast<size_t>(m)].expected[u] = e;
        d.series[s].measures[static_cast<size_t>(m)].sd[u] = std::sqrt(v);
      }
      if (!w.row[u]) continue;
      const int64_t count = w.zero[u] ? 0 : noise.NegBinomial(w.lam[u] * w.mult[u], w.k);
      double money = 0;
      for (int64_t i = 0; i < count; ++i) {
        money += std::exp(w.price_mu + w.price_sigma * noise.Normal());
      }
      orders.value[u] = static_cast<double>(count);
      revenue.value[u] = std::round(money * w.price[u] * 100.0) / 100.0;
    }
  }
  return Status::Ok();
}

// ---- ops KPIs ----

const std::vector<std::string> kServices = {"api", "auth", "billing", "search"};
const std::vector<std::string> kOpsRegions = {"eu-west", "eu-central", "eu-north"};
const std::vector<std::string> kEndpoints = {"read", "write", "list", "health"};

Status GenerateOps(Work& work) {
  const BusinessParams& p = work.p;
  Dataset& d = work.d;
  d.interval_seconds = 300;
  d.dimensions = {"service", "region", "endpoint"};
  d.measures = {{"requests", MeasureKind::kCount, -1},
                {"errors", MeasureKind::kCount, -1},
                {"latency", MeasureKind::kMean, 0},
                {"error_rate", MeasureKind::kRatio, 0, 1}};
  OSPREY_RETURN_IF_ERROR(SetupGrid(work, "Europe/Berlin", 2024, 3, 11));
  MakeLeaves(work, {kServices, kOpsRegions, kEndpoints});
  work.gap = 24;
  const int64_t n = static_cast<int64_t>(d.points());
  const int64_t first_day = FloorDiv(d.local_times.front(), kDay);
  const int64_t last_day = FloorDiv(d.local_times.back(), kDay);

  // Maintenance: each service weekly on its own day, 01:30-03:30 local
  // (search on Sundays, so one window meets the spring DST change).
  static const int kMaintenanceDay[4] = {1, 2, 3, 6};
  for (int64_t day = first_day; day <= last_day; ++day) {
    for (int sv = 0; sv < 4; ++sv) {
      if (WeekdayOfDay(day) != kMaintenanceDay[sv]) continue;
      d.events.push_back(
          {"maintenance " + kServices[static_cast<size_t>(sv)] + " day " + std::to_string(day - first_day),
           "maintenance_" + kServices[static_cast<size_t>(sv)],
           day * kDay + 5400,
           day * kDay + 12600,
           {{0, kServices[static_cast<size_t>(sv)]}},
           true});
    }
  }

  Rng rng(p.seed * 0x9e3779b97f4a7c15ULL + 2);
  static const double kServiceBase[4] = {120, 60, 15, 80};
  static const double kRegionBase[3] = {1.0, 0.7, 0.3};
  static const double kEndpointBase[4] = {1.0, 0.3, 0.5, 0};
  static const double kEndpointLatency[4] = {40, 120, 80, 5};
  static const double kServiceLatency[4] = {1.0, 0.6, 1.8, 1.3};
  for (size_t s = 0; s < d.series.size(); ++s) {
    const int service = static_cast<int>(s / 12), region = static_cast<int>(s / 4 % 3),
              endpoint = static_cast<int>(s % 4);
    LeafWork& w = work.leaves[s];
    w.k = std::exp(rng.Uniform(std::log(p.dispersion_min), std::log(p.dispersion_max)));
    w.err_p = std::exp(rng.Uniform(std::log(0.002), std::log(0.02)));
    w.err_k = p.error_dispersion;
    w.failed_requests = p.failed_requests;
    w.lat_sigma = p.latency_sigma;
    w.lat_jitter = p.latency_jitter;
    const double base = p.volume * kServiceBase[service] * kRegionBase[region] * kEndpointBase[endpoint] *
                        std::exp(0.2 * rng.Normal());
    const double health = p.volume * 12 * kRegionBase[region];  // monitoring probes: flat
    const double lat_base =
        kEndpointLatency[endpoint] * kServiceLatency[service] * std::exp(0.15 * rng.Normal());
    const double weekend = service == 3 ? 0.8 : 0.55;
    w.lam.resize(static_cast<size_t>(n));
    w.latency.resize(static_cast<size_t>(n));
    double peak = 0;
    for (int64_t t = 0; t < n; ++t) {
      const int64_t local = d.local_times[static_cast<size_t>(t)];
      const int64_t day = FloorDiv(local, kDay);
      const double hour = static_cast<double>(local - day * kDay) / 3600.0;
      double lam = endpoint == 3 ? health
                                 : base *
                                       (0.12 + 0.5 * Bump(hour, 11, 2.5) + 0.5 * Bump(hour, 15.5, 2.5) +
                                        0.2 * Bump(hour, 20.5, 2)) *
                                       (WeekdayOfDay(day) >= 5 ? weekend : 1.0);
      const CalendarEvent* ev = nullptr;
      for (const CalendarEvent& e : d.events) {
        if (e.scope[0].second == d.series[s].dims[0] && local >= e.local_start && local < e.local_end)
          ev = &e;
      }
      if (ev != nullptr) lam *= 0.05;
      w.lam[static_cast<size_t>(t)] = lam;
      peak = std::max(peak, lam);
    }
    for (int64_t t = 0; t < n; ++t) {
      w.latency[static_cast<size_t>(t)] =
          lat_base * (1 + 0.6 * w.lam[static_cast<size_t>(t)] / std::max(peak, 1e-9));
    }
  }
  MakeRows(work, rng);

  auto leaf = [&](Rng& r) { return static_cast<int>(r.Int(0, static_cast<int64_t>(d.series.size()) - 1)); };
  auto start = [&](Rng& r, int64_t len) { return r.Int(d.warmup_points, n - len - 1); };
  auto single = [&](AnomalyKind kind, int64_t lo, int64_t hi) {
    return [&, kind, lo, hi](Rng& r) {
      Proposal prop;
      prop.kind = kind;
      prop.series = {leaf(r)};
      const int64_t len = r.Int(lo, hi);
      prop.begin = start(r, len);
      prop.end = prop.begin + len;
      return prop;
    };
  };
  auto service_region = [&](Rng& r, Proposal& prop) {
    prop.root_cause = {{0, kServices[static_cast<size_t>(r.Int(0, 3))]},
                       {1, kOpsRegions[static_cast<size_t>(r.Int(0, 2))]}};
    prop.series = Matching(d, prop.root_cause);
  };
  Place(work, rng, p.shifts, [&](Rng& r) {  // deploys: latency steps up and stays
    Proposal prop = single(AnomalyKind::kShift, 72, 72)(r);
    service_region(r, prop);
    prop.size = prop.effect.lat0 = prop.effect.lat1 = prop.persist_lat = 1 + r.Uniform(0.25, 0.7);
    prop.primary = 2;
    return prop;
  });
  Place(work, rng, p.drifts, [&](Rng& r) {  // memory leaks: latency ramps, then a restart
    Proposal prop = single(AnomalyKind::kDrift, 144, 576)(r);
    service_region(r, prop);
    prop.size = prop.effect.lat1 = 1 + r.Uniform(0.5, 1.2);
    prop.primary = 2;
    return prop;
  });
  int spike_index = 0;
  Place(work, rng, p.spikes, [&](Rng& r) {  // alternately traffic bursts and error bursts
    Proposal prop;
    if (spike_index++ % 2 == 0) {
      prop = single(AnomalyKind::kSpike, 2, 6)(r);
      prop.size = prop.effect.mult0 = prop.effect.mult1 = 1 + r.Uniform(0.8, 2.0);
    } else {
      prop = single(AnomalyKind::kSpike, 3, 12)(r);
      prop.size = prop.effect.add_errors = r.Uniform(4, 15) * std::max(p.volume, 0.3);
      prop.primary = 1;
    }
    return prop;
  });
  Place(work, rng, p.dips, [&](Rng& r) {
    Proposal prop = single(AnomalyKind::kDip, 12, 48)(r);
    prop.size = prop.effect.mult0 = prop.effect.mult1 = 1 - r.Uniform(0.3, 0.6);
    return prop;
  });
  Place(work, rng, p.outages, [&](Rng& r) {
    Proposal prop = single(AnomalyKind::kOutage, 2, 12)(r);
    prop.effect.zero = true;
    return prop;
  });
  Place(work, rng, p.incidents, [&](Rng& r) {  // regional partial outages
    Proposal prop;
    prop.kind = AnomalyKind::kIncident;
    if (r.Bernoulli(0.5)) {
      prop.root_cause = {{1, kOpsRegions[static_cast<size_t>(r.Int(0, 2))]}};
      prop.series = Matching(d, prop.root_cause);
    } else {
      service_region(r, prop);
    }
    const int64_t len = r.Int(3, 24);
    prop.begin = start(r, len);
    prop.end = prop.begin + len;
    prop.size = prop.effect.mult0 = prop.effect.mult1 = 1 - r.Uniform(p.incident_min, p.incident_max);
    return prop;
  });
  ApplyEffectsAndLabels(work);

  for (size_t s = 0; s < d.series.size(); ++s) {
    LeafWork& w = work.leaves[s];
    Rng noise(p.seed * 1000003ULL + s * 7919ULL + 29);
    for (MeasureData& m : d.series[s].measures) {
      m.value.resize(static_cast<size_t>(n));
      m.expected.resize(static_cast<size_t>(n));
      m.sd.resize(static_cast<size_t>(n));
    }
    for (int64_t t = 0; t < n; ++t) {
      const size_t u = static_cast<size_t>(t);
      for (int m = 0; m < 4; ++m) {
        double e = 0, v = 0;
        NormalMoments(d, w, m, t, &e, &v);
        d.series[s].measures[static_cast<size_t>(m)].expected[u] = e;
        d.series[s].measures[static_cast<size_t>(m)].sd[u] = std::sqrt(v);
      }
      if (!w.row[u]) continue;
      const double mu = w.lam[u] * w.mult[u];
      const int64_t requests = w.zero[u] ? 0 : noise.NegBinomial(mu, w.k);
      int64_t errors = 0;
      if (w.failed_requests) {
        // Failed requests: never more than the requests.
        const double rate =
            std::min(1.0, ErrorRate(w, mu, w.add_err[u]) * noise.Gamma(w.err_k, 1.0 / w.err_k));
        errors = noise.Binomial(requests, rate);
      } else {
        // Drawn around the expected requests, so a burst on a quiet leaf
        // can outnumber the requests; a rate is at most 1.
        errors = w.zero[u] ? 0 : noise.NegBinomial(w.err_p * mu + w.add_err[u], w.err_k);
      }
      d.series[s].measures[0].value[u] = static_cast<double>(requests);
      d.series[s].measures[1].value[u] = static_cast<double>(errors);
      if (requests > 0) {
        d.series[s].measures[3].value[u] =
            static_cast<double>(std::min(errors, requests)) / static_cast<double>(requests);
      }
      if (requests > 0) {  // a mean over no requests does not exist
        // A mean over the requests there were: its noise follows their
        // number (the oracle's sd is that of this point's mean).
        const double rel = LatencyRel(w, static_cast<double>(requests));
        d.series[s].measures[2].sd[u] = w.latency[u] * rel;
        const double sigma = std::sqrt(std::log(1 + rel * rel));
        const double lat =
            w.latency[u] * w.lat_mult[u] * std::exp(sigma * noise.Normal() - 0.5 * sigma * sigma);
        d.series[s].measures[2].value[u] = std::round(lat * 100.0) / 100.0;
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view AnomalyKindName(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kSpike: return "spike";
    case AnomalyKind::kDip: return "dip";
    case AnomalyKind::kOutage: return "outage";
    case AnomalyKind::kShift: return "shift";
    case AnomalyKind::kDrift: return "drift";
    case AnomalyKind::kPriceGlitch: return "glitch";
    case AnomalyKind::kIncident: return "incident";
  }
  return "unknown";
}

const CalendarEvent* Dataset::EventAt(size_t s, size_t t) const {
  const int64_t local = local_times[t];
  for (const CalendarEvent& e : events) {
    if (local < e.local_start || local >= e.local_end) continue;
    bool match = true;
    for (const auto& [dim, value] : e.scope) {
      if (series[s].dims[static_cast<size_t>(dim)] != value) match = false;
    }
    if (match) return &e;
  }
  return nullptr;
}

std::vector<std::string> SettingNames(std::string_view family) {
  if (family == "hourly" || family == "ops") return {"base", "noisy", "sparse"};
  return {};
}

Result<BusinessParams> SettingParams(std::string_view family, std::string_view setting, uint64_t seed,
                                     bool quick) {
  BusinessParams p;
  p.family = std::string(family);
  p.setting = std::string(setting);
  p.seed = seed;
  if (family == "hourly") {
    if (setting == "noisy") {
      p.dispersion_min = 2;
      p.dispersion_max = 8;
    } else if (setting == "sparse") {
      p.volume = 0.25;
      p.store_open_hour = 9;
      p.store_close_hour = 20;
      p.dispersion_min = 4;
      p.dispersion_max = 20;
      p.incident_min = 0.15;
      p.incident_max = 0.3;
      p.missing_share = 0.02;
    } else if (setting != "base") {
      return InvalidArgument("unknown hourly setting '" + std::string(setting) + "' (base, noisy, sparse)");
    }
    if (quick) {
      p.days = 112;
      p.launch_day = 70;
      p.spikes = 6, p.dips = 5, p.outages = 3, p.shifts = 2, p.drifts = 2, p.glitches = 3;
      p.incidents = 3;
    }
    return p;
  }
  if (family == "ops") {
    p.days = 35;
    p.warmup_days = 7;
    p.dispersion_min = 50;
    p.dispersion_max = 300;
    p.etl_gap_hours = 1;
    p.incident_min = 0.5;
    p.incident_max = 1.0;
    p.spikes = 10, p.dips = 6, p.outages = 6, p.shifts = 4, p.drifts = 4, p.glitches = 0;
    p.incidents = 6;
    if (setting == "noisy") {
      p.dispersion_min = 10;
      p.dispersion_max = 50;
      p.error_dispersion = 1.5;
      p.latency_sigma = 0.8;
      p.latency_jitter = 0.06;
    } else if (setting == "sparse") {
      p.volume = 0.15;
      p.incident_min = 0.3;
      p.incident_max = 0.6;
      p.missing_share = 0.02;
    } else if (setting != "base") {
      return InvalidArgument("unknown ops setting '" + std::string(setting) + "' (base, noisy, sparse)");
    }
    if (quick) {
      p.days = 14;
      p.spikes = 6, p.dips = 3, p.outages = 3, p.shifts = 2, p.drifts = 2, p.incidents = 3;
    }
    return p;
  }
  return InvalidArgument("unknown family '" + std::string(family) + "' (hourly, ops)");
}

Result<Dataset> GenerateBusinessData(const BusinessParams& params) {
  if (params.days < params.warmup_days + 7) {
    return InvalidArgument("days (" + std::to_string(params.days) + ") must be at least warmup_days + 7");
  }
  if (params.dispersion_min <= 0 || params.dispersion_max < params.dispersion_min) {
    return InvalidArgument("dispersion_min must be > 0 and <= dispersion_max");
  }
  Work work;
  work.p = params;
  work.d.family = params.family;
  work.d.setting = params.setting;
  work.d.seed = params.seed;
  if (params.family == "hourly") {
    OSPREY_RETURN_IF_ERROR(GenerateHourly(work));
  } else if (params.family == "ops") {
    OSPREY_RETURN_IF_ERROR(GenerateOps(work));
  } else {
    return InvalidArgument("unknown family '" + params.family + "' (hourly, ops)");
  }
  return std::move(work.d);
}

}  // namespace osprey::testing
