#include "rca_synth.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

namespace osprey::rca::bench {
namespace {

struct Anomaly {
  std::vector<size_t> dims;                   // sorted
  std::vector<std::vector<uint32_t>> values;  // one value per dim, per element
  double severity = 0;
  double deviation = 0;
  int kind = 0;  // ratio: 0 numerator, 1 denominator, 2 both (opposite ways)
};

bool Matches(const Anomaly& a, const std::vector<uint32_t>& leaf, size_t element) {
  for (size_t k = 0; k < a.dims.size(); ++k) {
    if (leaf[a.dims[k]] != a.values[element][k]) return false;
  }
  return true;
}

}  // namespace

Result<SynthOptions> SynthPreset(const std::string& name) {
  SynthOptions o;
  if (name == "S") return o;
  if (name == "L") {
    o.dims = {10, 24, 10, 15};
    o.noise_max = 0.1;
    o.severity_min = 0.5;
    o.deviation_max = 0;
    o.anomalies_max = 5;
    o.elements_max = 1;
    o.only_last_layer = true;
    return o;
  }
  if (name == "R") {
    o.dims = {8, 10, 6, 5};
    o.anomalies_max = 2;
    o.elements_max = 2;
    o.ratio = true;
    return o;
  }
  return InvalidArgument("unknown synthetic preset '" + name + "' (S, L or R)");
}

Result<SynthCase> GenerateCase(const SynthOptions& o, uint64_t seed, uint64_t index) {
  std::mt19937_64 rng(seed * 1000003ULL + index);
  auto uniform = [&rng](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  auto integer = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const size_t nd = o.dims.size();
  std::vector<std::string> names;
  for (size_t d = 0; d < nd; ++d) names.push_back(std::string(1, static_cast<char>('a' + d)));
  OSPREY_ASSIGN_OR_RETURN(Cube cube, Cube::Create(names));
  for (size_t d = 0; d < nd; ++d) {
    for (size_t v = 1; v <= o.dims[d]; ++v) cube.InternValue(d, names[d] + std::to_string(v));
  }
  const double zero_rate = uniform(0, o.zero_rate_max);
  const double noise = uniform(o.noise_min, o.noise_max);
  // At most 3 layers for the ratio set: its causes are meant to be coarse.
  const int max_level = o.ratio ? std::min<int>(3, static_cast<int>(nd)) : static_cast<int>(nd);

  // Anomalies: distinct cuboids (except in the last layer), no value shared
  // with an earlier anomaly on a shared dimension, distinct elements.
  std::vector<Anomaly> anomalies;
  const int count = integer(o.anomalies_min, o.anomalies_max);
  for (int k = 0; k < count; ++k) {
    Anomaly a;
    for (int attempt = 0; attempt < 100; ++attempt) {
      const size_t level = o.only_last_layer ? nd : static_cast<size_t>(integer(1, max_level));
      std::vector<size_t> all(nd);
      for (size_t d = 0; d < nd; ++d) all[d] = d;
      std::shuffle(all.begin(), all.end(), rng);
      a.dims.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(level));
      std::sort(a.dims.begin(), a.dims.end());
      bool reused = false;
      for (const Anomaly& b : anomalies) reused = reused || (b.dims == a.dims && level < nd);
      if (reused) continue;
      const int elements = integer(o.elements_min, o.elements_max);
      a.values.assign(static_cast<size_t>(elements), std::vector<uint32_t>(level));
      bool ok = true;
      for (size_t j = 0; j < level && ok; ++j) {
        const size_t d = a.dims[j];
        std::vector<uint32_t> allowed;
        for (uint32_t v = 0; v < o.dims[d]; ++v) {
          bool used = false;
          for (const Anomaly& b : anomalies) {
            for (size_t bj = 0; bj < b.dims.size(); ++bj) {
              if (b.dims[bj] != d) continue;
              for (const auto& e : b.values) used = used || e[bj] == v;
            }
          }
          if (!used) allowed.push_back(v);
        }
        if (allowed.empty()) {
          ok = false;
          break;
        }
        for (auto& e : a.values)
          e[j] = allowed[static_cast<size_t>(integer(0, static_cast<int>(allowed.size()) - 1))];
      }
      if (!ok) continue;
      std::set<std::vector<uint32_t>> unique(a.values.begin(), a.values.end());
      if (unique.size() != a.values.size()) continue;
      a.severity = uniform(o.severity_min, o.severity_max) + noise;
      a.deviation = uniform(0, o.deviation_max);
      a.kind = o.ratio ? integer(0, 2) : 0;
      break;
    }
    if (a.values.empty()) return Internal("synthetic case: could not place an anomaly");
    anomalies.push_back(std::move(a));
  }

  // Leaves: the full cartesian product, in mixed-radix order.
  size_t leaves = 1;
  for (size_t v : o.dims) leaves *= v;
  const double alpha = uniform(0.5, 1.0);
  std::weibull_distribution<double> size(alpha, 1.0);
  std::normal_distribution<double> gauss(0, 1);
  struct Leaf {
    std::vector<uint32_t> codes;
    double real, predict, den_real, den_predict;
  };
  std::vector<Leaf> rows(leaves);
  double real_sum = 0;
  double predict_sum = 0;
  for (size_t i = 0; i < leaves; ++i) {
    Leaf& l = rows[i];
    l.codes.assign(nd, 0);
    size_t rest = i;
    for (size_t d = nd; d-- > 0;) {
      l.codes[d] = static_cast<uint32_t>(rest % o.dims[d]);
      rest /= o.dims[d];
    }
    const bool zero = uniform(0, 1) < zero_rate;
    const double base = zero ? 0 : 100 * size(rng);
    // Relative noise on one side of the leaf, as a forecast error would be.
    auto noisy = [&](double truth, double& real, double& predict) {
      const double moved = std::max(0.0, truth * (1 + noise * gauss(rng)));
      if (integer(0, 1) == 0) {
        real = truth;
        predict = moved;
      } else {
        real = moved;
        predict = truth;
      }
    };
    if (o.ratio) {
      // Attempts of the leaf's size; failures at a leaf rate of 2-10 %,
      // forecast as the rate times the forecast attempts, and counted: the
      // actual failures carry count (Poisson-like) noise besides the
      // relative noise, so small leaves have very noisy rates, as real
      // failure ratios do.
      const double rate = uniform(0.02, 0.1);
      noisy(base, l.den_real, l.den_predict);
      l.predict = l.den_predict * rate;
      const double mean = l.den_real * rate;
      l.real = std::max(0.0, std::round(mean * (1 + noise * gauss(rng)) + std::sqrt(mean) * gauss(rng)));
    } else {
      l.den_real = l.den_predict = 0;
      noisy(base, l.real, l.predict);
    }
    real_sum += l.real;
    predict_sum += l.predict;
  }
  const bool up = o.ratio ? integer(0, 1) == 1 : real_sum > predict_sum;
  std::string truth;
  for (const Anomaly& a : anomalies) {
    for (Leaf& l : rows) {
      bool hit = false;
      for (size_t e = 0; e < a.values.size() && !hit; ++e) hit = Matches(a, l.codes, e);
      if (!hit) continue;
      const double r = std::normal_distribution<double>(a.severity, a.deviation)(rng);
      if (!o.ratio) {
        // Noise-free anomaly: real = predict * (1 - r), or the other way round.
        if (up) {
          l.predict = std::max(0.0, l.real * (1 - r));
        } else {
          l.real = std::max(0.0, l.predict * (1 - r));
        }
        continue;
      }
      const double f = std::max(0.0, 1 - r);  // shrink factor, at most 1
      const double g = 1 + r;                 // growth factor
      // The ratio moves `up` or down through the numerator, the denominator
      // or both; the leaf keeps its noise and overlapping anomalies compose.
      if (a.kind == 0) l.real *= up ? g : f;
      if (a.kind == 1) l.den_real *= up ? std::max(0.05, f) : g;
      if (a.kind == 2) {
        l.real *= up ? std::sqrt(g) : std::sqrt(f);
        l.den_real *= up ? std::max(0.05, std::sqrt(f)) : std::sqrt(g);
      }
    }
    for (const auto& e : a.values) {
      std::vector<std::string> pairs;
      for (size_t j = 0; j < a.dims.size(); ++j) {
        pairs.push_back(names[a.dims[j]] + "=" + cube.value_name(a.dims[j], e[j]));
      }
      std::sort(pairs.begin(), pairs.end());
      std::string element;
      for (const auto& p : pairs) element += (element.empty() ? "" : "&") + p;
      truth += (truth.empty() ? "" : ";") + element;
    }
  }
  for (const Leaf& l : rows) {
    if (o.ratio) {
      OSPREY_RETURN_IF_ERROR(cube.AddRatioLeafCodes(l.codes, l.real, l.predict, l.den_real, l.den_predict));
    } else {
      OSPREY_RETURN_IF_ERROR(cube.AddLeafCodes(l.codes, l.real, l.predict));
    }
  }
  return SynthCase{std::move(cube), std::move(truth)};
}

}  // namespace osprey::rca::bench
