#include "osprey/rca/root_cause.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

namespace osprey::rca {
namespace {

// Leaf-level view used by the search: flat arrays, one entry per leaf.
struct Leaves {
  std::vector<double> weight;  // max(|a|, |e|) (ratio: of the denominator); 0 for empty leaves
  std::vector<double> dev;     // d = (a - e) / max(|a|, |e|) (ratio: of the leaf's ratio)
  std::vector<double> score;   // d in noise units, clipped to +-clip
  double cutoff = 0;           // score a single leaf needs
  double count_noise = 0;      // c: a leaf of size w has noise sqrt(sigma_r^2 + c / w)
  double clip = 0;
};

// The combined evidence an element of several leaves needs. Where each
// leaf's own noise is known (the pipeline's cubes, in noise units), no more
// than one of its leaves would need (the cutoff): asking more made a
// region whose two leaves fell by 4.1 and 1.8 of their noise (together 4.4)
// lose to its one leaf that crossed 4 — the finer element, where the
// coarser explains the deviation.
double ElementZMin(const Cube& cube, const RootCauseOptions& options, double cutoff) {
  return (cube.has_noise() ? 1.0 : options.min_z_fraction) * cutoff;
}

double WeightedMedian(std::vector<std::pair<double, double>>& values_weights) {
  if (values_weights.empty()) return 0;
  std::sort(values_weights.begin(), values_weights.end());
  double total = 0;
  for (const auto& [v, w] : values_weights) total += w;
  double acc = 0;
  for (const auto& [v, w] : values_weights) {
    acc += w;
    if (acc >= total / 2) return v;
  }
  return values_weights.back().first;
}

// The leaf's value (or ratio) pair and its size; false for an empty leaf.
bool LeafValues(const Cube& cube, size_t i, double& a, double& e, double& weight) {
  a = cube.actual(i);
  e = cube.expected(i);
  if (cube.is_ratio()) {
    const double da = cube.denominator_actual(i);
    const double de = cube.denominator_expected(i);
    // A leaf without a denominator on either side has no ratio to compare.
    if (!(da > 0) || !(de > 0)) return false;
    a /= da;
    e /= de;
    weight = std::max(da, de);
    return std::abs(a) + std::abs(e) > 0 || weight > 0;
  }
  weight = std::max(std::abs(a), std::abs(e));
  return weight > 0;
}

Leaves ClassifyLeaves(const Cube& cube, const RootCauseOptions& options) {
  const size_t n = cube.num_leaves();
  Leaves leaves;
  leaves.weight.assign(n, 0);
  leaves.dev.assign(n, 0);
  leaves.score.assign(n, 0);
  std::vector<std::pair<double, double>> abs_dev;
  std::vector<std::pair<double, double>> abs_dev_unweighted;
  abs_dev.reserve(n);
  abs_dev_unweighted.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    double a = 0;
    double e = 0;
    double w = 0;
    if (!LeafValues(cube, i, a, e, w)) continue;
    const double scale = std::max(std::abs(a), std::abs(e));
    leaves.dev[i] = scale > 0 ? (a - e) / scale : 0;
    leaves.weight[i] = w;
    abs_dev.emplace_back(std::abs(leaves.dev[i]), w);
    abs_dev_unweighted.emplace_back(std::abs(leaves.dev[i]), 1.0);
  }
  // Both medians resist up to half of their measure being abnormal: by weight
  // (many small noisy leaves) or by count (one large anomaly); take the lower.
  double sigma = std::max(options.min_deviation / options.noise_multiplier,
                          1.4826 * std::min(WeightedMedian(abs_dev), WeightedMedian(abs_dev_unweighted)));
  // Noise that shrinks with the leaf's size (counts: a leaf of 20 attempts
  // has a far noisier failure rate than one of 20,000): when the smaller half
  // of the leaves is clearly noisier than the larger half, each leaf's noise
  // is sqrt(sigma_r^2 + c / w), a relative part and a count part, fitted to
  // the two halves' medians of |d|.
  leaves.count_noise = 0;
  double relative_var = sigma * sigma;
  const bool own_noise = cube.has_noise();
  if (!own_noise && abs_dev.size() >= 8) {
    std::vector<std::pair<double, double>> by_size;
    by_size.reserve(abs_dev.size());
    for (const auto& [d, w] : abs_dev) by_size.emplace_back(w, d);
    std::sort(by_size.begin(), by_size.end());
    const size_t half = by_size.size() / 2;
    auto median_of = [&by_size](size_t from, size_t to, bool size) {
      std::vector<double> v;
      for (size_t k = from; k < to; ++k) v.push_back(size ? by_size[k].first : by_size[k].second);
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
      return v[v.size() / 2];
    };
    const double w_small = median_of(0, half, true);
    const double w_big = median_of(half, by_size.size(), true);
    const double var_small = std::pow(1.4826 * median_of(0, half, false), 2);
    const double var_big = std::pow(1.4826 * median_of(half, by_size.size(), false), 2);
    if (w_small > 0 && w_big > 2 * w_small && var_small > options.count_noise_ratio * var_big) {
      // Fit on the two upper quarters: the smallest leaves' rates are
      // dominated by zero counts (|d| = 1), which would inflate c.
      const size_t q3 = half + (by_size.size() - half) / 2;
      const double w3 = median_of(half, q3, true);
      const double w4 = median_of(q3, by_size.size(), true);
      const double var3 = std::pow(1.4826 * median_of(half, q3, false), 2);
      const double var4 = std::pow(1.4826 * median_of(q3, by_size.size(), false), 2);
      const bool fit_upper = w4 > 1.5 * w3 && var3 > var4;
      const double wa = fit_upper ? w3 : w_small;
      const double wb = fit_upper ? w4 : w_big;
      const double va = fit_upper ? var3 : var_small;
      const double vb = fit_upper ? var4 : var_big;
      leaves.count_noise = (va - vb) / (1 / wa - 1 / wb);
      const double floor = std::pow(options.min_deviation / options.noise_multiplier, 2);
      relative_var = std::max(floor, vb - leaves.count_noise / wb);
    }
  }
  auto leaf_sigma = [&](double w) {
    return leaves.count_noise > 0 ? std::sqrt(relative_var + leaves.count_noise / w) : sigma;
  };
  leaves.cutoff = own_noise ? options.leaf_noise_multiplier : options.noise_multiplier;
  leaves.clip = options.clip_multiple * leaves.cutoff;
  for (size_t i = 0; i < n; ++i) {
    if (leaves.weight[i] <= 0) continue;
    double s = leaves.dev[i] / leaf_sigma(leaves.weight[i]);
    if (own_noise) {
      // Each leaf in units of its own noise; the relative floor still applies.
      s = std::abs(leaves.dev[i]) > options.min_deviation
              ? (cube.actual(i) - cube.expected(i)) / cube.noise(i)
              : 0;
    }
    leaves.score[i] = std::clamp(s, -leaves.clip, leaves.clip);
  }
  return leaves;
}

// Sums of one element of a cuboid.
struct Cell {
  uint32_t count = 0;         // leaves with any value
  double weight = 0;          // sum of w
  double weight_sq = 0;       // sum of w^2
  double weighted_score = 0;  // sum of w * score
  double weighted_dev = 0;    // sum of w * d
  double pure_weight = 0;     // weight of leaves that moved with the element
  uint32_t first_leaf = 0;    // a leaf of the element, to recover its codes
  bool used = false;
};

// The value sums of an element (of its numerators and denominators).
struct Sums {
  double num_actual = 0;
  double num_expected = 0;
  double den_actual = 0;  // ratio cube only
  double den_expected = 0;
};

// A candidate root cause.
struct Candidate {
  uint32_t mask = 0;  // dimensions fixed
  size_t layer = 0;
  uint32_t first_leaf = 0;
  int8_t direction = 0;
  double mass = 0;  // sum of w * score in `direction` over its leaves moving that way
  double purity = 0;
  double confidence = 0;
  Sums sums;  // filled for the cover
};

// The KPI of a set of leaves from its sums.
double Kpi(bool ratio, double num, double den) {
  if (!ratio) return num;
  return den != 0 ? num / den : 0;
}

// Groups leaves by the values of the dimensions in `dims`: slot_of_leaf[i] is
// the element index of leaf i, and the return value the number of elements.
size_t GroupLeaves(const Cube& cube, const std::vector<size_t>& dims, std::vector<uint32_t>& slot_of_leaf,
                   std::vector<int32_t>& dense) {
  const size_t n = cube.num_leaves();
  const size_t nd = cube.num_dimensions();
  const std::vector<uint32_t>& codes = cube.codes();
  slot_of_leaf.resize(n);
  // Mixed-radix key when the cuboid is small enough for a dense table.
  double product = 1;
  for (size_t d : dims) product *= static_cast<double>(std::max<size_t>(1, cube.num_values(d)));
  size_t count = 0;
  if (product <= static_cast<double>(std::max<size_t>(4 * n, 1 << 16))) {
    dense.assign(static_cast<size_t>(product), -1);
    for (size_t i = 0; i < n; ++i) {
      size_t key = 0;
      for (size_t d : dims) key = key * cube.num_values(d) + codes[i * nd + d];
      if (dense[key] < 0) dense[key] = static_cast<int32_t>(count++);
      slot_of_leaf[i] = static_cast<uint32_t>(dense[key]);
    }
    return count;
  }
  std::unordered_map<std::string, uint32_t> slots;
  std::string key;
  for (size_t i = 0; i < n; ++i) {
    key.clear();
    for (size_t d : dims) {
      const uint32_t c = codes[i * nd + d];
      key.append(reinterpret_cast<const char*>(&c), sizeof(c));
    }
    auto [it, inserted] = slots.emplace(key, static_cast<uint32_t>(count));
    if (inserted) ++count;
    slot_of_leaf[i] = it->second;
  }
  return count;
}

// Identity of an element: its mask and its codes on the fixed dimensions.
std::string ElementKey(const Cube& cube, uint32_t mask, uint32_t leaf) {
  std::string key;
  key.append(reinterpret_cast<const char*>(&mask), sizeof(mask));
  for (size_t d = 0; d < cube.num_dimensions(); ++d) {
    if (mask & (1u << d)) {
      const uint32_t c = cube.code(leaf, d);
      key.append(reinterpret_cast<const char*>(&c), sizeof(c));
    }
  }
  return key;
}

}  // namespace

std::string ElementToString(const Cube& cube, const Element& element) {
  std::string s;
  for (const Pair& p : element.pairs) {
    if (!s.empty()) s += '&';
    s += cube.dimension_name(p.dimension);
    s += '=';
    s += cube.value_name(p.dimension, p.value);
  }
  return s;
}

Result<std::vector<DimensionContributions>> Contributions(const Cube& cube) {
  if (cube.num_leaves() == 0) return InvalidArgument("contributions: cube has no leaves");
  double pos = 0;
  double neg = 0;
  for (size_t i = 0; i < cube.num_leaves(); ++i) {
    const double d = cube.actual(i) - cube.expected(i);
    (d > 0 ? pos : neg) += d;
  }
  const double total = pos + neg;
  const double sign = total > 0 ? 1.0 : total < 0 ? -1.0 : (pos >= -neg ? 1.0 : -1.0);
  std::vector<DimensionContributions> out(cube.num_dimensions());
  for (size_t d = 0; d < cube.num_dimensions(); ++d) {
    DimensionContributions& dc = out[d];
    dc.dimension = d;
    dc.values.resize(cube.num_values(d));
    for (size_t v = 0; v < dc.values.size(); ++v) dc.values[v].value = static_cast<uint32_t>(v);
    for (size_t i = 0; i < cube.num_leaves(); ++i) {
      ValueContribution& vc = dc.values[cube.code(i, d)];
      vc.actual += cube.actual(i);
      vc.expected += cube.expected(i);
    }
    double directed_sum = 0;
    for (ValueContribution& vc : dc.values) {
      vc.deviation = vc.actual - vc.expected;
      directed_sum += std::max(0.0, sign * vc.deviation);
    }
    if (directed_sum > 0) {
      for (ValueContribution& vc : dc.values) {
        vc.share = 100.0 * std::max(0.0, sign * vc.deviation) / directed_sum;
      }
    }
  }
  return out;
}

Result<std::vector<RootCause>> LocateRootCauses(const Cube& cube, const RootCauseOptions& options) {
  if (cube.num_leaves() == 0) return InvalidArgument("root causes: cube has no leaves");
  auto in_unit = [](double x) { return x >= 0 && x <= 1; };
  if (!in_unit(options.min_purity) || !in_unit(options.count_noise_min_purity) ||
      !in_unit(options.min_gain) || !(options.min_deviation >= 0) || !(options.noise_multiplier > 0) ||
      !(options.leaf_noise_multiplier > 0) || !(options.min_shift_fraction >= 0) ||
      !(options.min_z_fraction > 0) || !(options.clip_multiple >= 1) || options.max_layer == 0) {
    return InvalidArgument("root causes: option out of range");
  }
  const size_t n = cube.num_leaves();
  const size_t nd = cube.num_dimensions();
  const bool ratio = cube.is_ratio();
  const size_t max_layer = std::min(options.max_layer, nd);
  const Leaves leaves = ClassifyLeaves(cube, options);
  const double cutoff = leaves.cutoff;
  std::vector<RootCause> result;

  Sums total;
  for (size_t i = 0; i < n; ++i) {
    total.num_actual += cube.actual(i);
    total.num_expected += cube.expected(i);
    if (ratio) {
      total.den_actual += cube.denominator_actual(i);
      total.den_expected += cube.denominator_expected(i);
    }
  }
  const double total_actual = Kpi(ratio, total.num_actual, total.den_actual);
  const double total_dev = total_actual - Kpi(ratio, total.num_expected, total.den_expected);
  // How much the total moved because of the leaves summed in `c`.
  auto contribution = [&](const Sums& c) {
    if (!ratio) return c.num_actual - c.num_expected;
    return total_actual - Kpi(true, total.num_actual - c.num_actual + c.num_expected,
                              total.den_actual - c.den_actual + c.den_expected);
  };

  // 1. Candidates, layer by layer, none below a candidate ancestor.
  std::vector<Candidate> candidates;
  std::unordered_set<std::string> candidate_keys;
  std::vector<uint32_t> slot_of_leaf;
  std::vector<int32_t> dense;
  std::vector<Cell> cells;
  std::vector<size_t> dims;
  for (size_t layer = 1; layer <= max_layer; ++layer) {
    for (uint32_t mask = 1; mask < (1u << nd); ++mask) {
      if (static_cast<size_t>(std::popcount(mask)) != layer) continue;
      dims.clear();
      for (size_t d = 0; d < nd; ++d) {
        if (mask & (1u << d)) dims.push_back(d);
      }
      const size_t count = GroupLeaves(cube, dims, slot_of_leaf, dense);
      cells.assign(count, Cell{});
      for (size_t i = 0; i < n; ++i) {
        Cell& c = cells[slot_of_leaf[i]];
        if (!c.used) {
          c.used = true;
          c.first_leaf = static_cast<uint32_t>(i);
        }
        const double w = leaves.weight[i];
        if (w <= 0) continue;
        ++c.count;
        c.weight += w;
        c.weight_sq += w * w;
        c.weighted_score += w * leaves.score[i];
        c.weighted_dev += w * leaves.dev[i];
      }
      // Purity needs the element's mean shift: a second pass.
      for (size_t i = 0; i < n; ++i) {
        const double w = leaves.weight[i];
        if (w <= 0) continue;
        Cell& c = cells[slot_of_leaf[i]];
        const double m = c.weighted_score / c.weight;
        if (m == 0) continue;
        if ((m > 0 ? leaves.score[i] : -leaves.score[i]) > std::abs(m) / 2) {
          c.pure_weight += w;
        }
      }
      for (const Cell& c : cells) {
        if (c.count == 0) continue;
        const double m = c.weighted_score / c.weight;
        const double shift = std::abs(m);
        const double purity = c.pure_weight / c.weight;
        const double n_eff = c.weight * c.weight / c.weight_sq;
        const double z = shift * std::sqrt(n_eff);
        if (c.count == 1) {
          if (shift < cutoff) continue;
        } else {
          if (shift < options.min_shift_fraction * cutoff || z < ElementZMin(cube, options, cutoff)) continue;
          if (purity < (leaves.count_noise > 0 ? options.count_noise_min_purity : options.min_purity)) {
            continue;
          }
        }
        if (std::abs(c.weighted_dev / c.weight) < options.min_deviation) continue;
        // Skip if any proper ancestor is already a candidate.
        bool has_ancestor = false;
        for (uint32_t sub = (mask - 1) & mask; sub != 0 && !has_ancestor; sub = (sub - 1) & mask) {
          has_ancestor = candidate_keys.count(ElementKey(cube, sub, c.first_leaf)) > 0;
        }
        if (has_ancestor) continue;
        candidate_keys.insert(ElementKey(cube, mask, c.first_leaf));
        Candidate cand;
        cand.mask = mask;
        cand.layer = layer;
        cand.first_leaf = c.first_leaf;
        cand.direction = m > 0 ? 1 : -1;
        cand.mass = shift * c.weight;
        cand.purity = c.count == 1 ? 1.0 : purity;
        cand.confidence = cand.purity * z * z / (z * z + cutoff * cutoff);
        candidates.push_back(cand);
      }
    }
  }
  if (candidates.empty()) return result;

  // 2. Greedy cover: most moved mass first, coarser first on ties. A
  // candidate that mostly repeats accepted ones (it overlaps them in another
  // cuboid) adds too little and is dropped.
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) {
    if (x.mass != y.mass) return x.mass > y.mass;
    return x.layer < y.layer;
  });
  // The leaves of each candidate, one grouping pass per cuboid that has any.
  std::vector<std::vector<uint32_t>> members(candidates.size());
  {
    std::unordered_map<uint32_t, std::vector<size_t>> by_mask;
    for (size_t k = 0; k < candidates.size(); ++k) by_mask[candidates[k].mask].push_back(k);
    std::vector<int64_t> candidate_of_slot;
    for (const auto& [mask, ks] : by_mask) {
      dims.clear();
      for (size_t d = 0; d < nd; ++d) {
        if (mask & (1u << d)) dims.push_back(d);
      }
      const size_t count = GroupLeaves(cube, dims, slot_of_leaf, dense);
      candidate_of_slot.assign(count, -1);
      for (size_t k : ks) {
        candidate_of_slot[slot_of_leaf[candidates[k].first_leaf]] = static_cast<int64_t>(k);
      }
      for (size_t i = 0; i < n; ++i) {
        const int64_t k = candidate_of_slot[slot_of_leaf[i]];
        if (k < 0) continue;
        members[static_cast<size_t>(k)].push_back(static_cast<uint32_t>(i));
        Sums& sums = candidates[static_cast<size_t>(k)].sums;
        sums.num_actual += cube.actual(i);
        sums.num_expected += cube.expected(i);
        if (ratio) {
          sums.den_actual += cube.denominator_actual(i);
          sums.den_expected += cube.denominator_expected(i);
        }
      }
    }
  }
  const double floor = options.min_gain * candidates.front().mass;
  std::vector<uint8_t> covered(n, 0);
  std::vector<double> gains;
  for (size_t k = 0; k < candidates.size(); ++k) {
    const Candidate& cand = candidates[k];
    if (result.size() >= options.max_causes) break;
    // The evidence must hold on the leaves no earlier result explains: an
    // element that is pure only through an accepted cause's leaves is that
    // cause's shadow.
    double gain = 0;
    double w_new = 0;
    double w2_new = 0;
    double s_new = 0;
    for (uint32_t i : members[k]) {
      if (covered[i]) continue;
      const double w = leaves.weight[i];
      gain += w * std::max(0.0, cand.direction * leaves.score[i]);
      w_new += w;
      w2_new += w * w;
      s_new += w * cand.direction * leaves.score[i];
    }
    if (gain <= 0 || gain < floor) continue;
    if (members[k].size() > 1 && w2_new > 0) {
      const double z_new = s_new / w_new * std::sqrt(w_new * w_new / w2_new);
      if (z_new < ElementZMin(cube, options, cutoff)) continue;
    }
    for (uint32_t i : members[k]) covered[i] = 1;
    RootCause rc;
    for (size_t d = 0; d < nd; ++d) {
      if (cand.mask & (1u << d)) {
        rc.element.pairs.push_back({static_cast<uint32_t>(d), cube.code(cand.first_leaf, d)});
      }
    }
    rc.actual = Kpi(ratio, cand.sums.num_actual, cand.sums.den_actual);
    rc.expected = Kpi(ratio, cand.sums.num_expected, cand.sums.den_expected);
    rc.direction = cand.direction;
    rc.contribution = contribution(cand.sums);
    rc.deviation_share = total_dev != 0 ? 100.0 * rc.contribution / total_dev : 0;
    rc.purity = cand.purity;
    rc.confidence = cand.confidence;
    gains.push_back(gain);
    result.push_back(std::move(rc));
  }
  double gain_sum = 0;
  for (double g : gains) gain_sum += g;
  for (size_t k = 0; k < result.size(); ++k) {
    result[k].coverage = gain_sum > 0 ? gains[k] / gain_sum : 0;
    result[k].score = result[k].confidence * result[k].coverage;
  }
  std::stable_sort(result.begin(), result.end(),
                   [](const RootCause& x, const RootCause& y) { return x.score > y.score; });
  return result;
}

}  // namespace osprey::rca
