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
  std::vector<double> weight;     // max(|a|, |e|); 0 for empty leaves
  std::vector<int8_t> direction;  // +1 abnormal up, -1 abnormal down, 0 normal
  std::vector<int8_t> soft;       // the same at the lenient cutoff used for purity
  double abnormal_up = 0;         // total weight of abnormal-up leaves
  double abnormal_down = 0;
};

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

Leaves ClassifyLeaves(const Cube& cube, const RootCauseOptions& options) {
  const size_t n = cube.num_leaves();
  Leaves leaves;
  leaves.weight.assign(n, 0);
  leaves.direction.assign(n, 0);
  leaves.soft.assign(n, 0);
  std::vector<double> dev(n, 0);
  std::vector<std::pair<double, double>> abs_dev;
  std::vector<std::pair<double, double>> abs_dev_unweighted;
  abs_dev.reserve(n);
  abs_dev_unweighted.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const double a = cube.actual(i);
    const double e = cube.expected(i);
    const double scale = std::abs(a) + std::abs(e);
    if (scale <= 0) continue;
    dev[i] = 2 * (a - e) / scale;
    leaves.weight[i] = std::max(std::abs(a), std::abs(e));
    abs_dev.emplace_back(std::abs(dev[i]), leaves.weight[i]);
    abs_dev_unweighted.emplace_back(std::abs(dev[i]), 1.0);
  }
  // Both medians resist up to half of their measure being abnormal: by weight
  // (many small noisy leaves) or by count (one large anomaly); take the lower.
  const double sigma =
      1.4826 * std::min(WeightedMedian(abs_dev), WeightedMedian(abs_dev_unweighted));
  double cutoff = std::max(options.min_deviation, options.noise_multiplier * sigma);
  double soft_cutoff = options.purity_cutoff_fraction * cutoff;
  const bool own_noise = cube.has_noise();
  if (own_noise) {
    // Each leaf in units of its own noise; the relative floor still applies.
    for (size_t i = 0; i < n; ++i) {
      if (leaves.weight[i] <= 0) continue;
      const double z = (cube.actual(i) - cube.expected(i)) / cube.noise(i);
      dev[i] = std::abs(dev[i]) > options.min_deviation ? z : 0;
    }
    cutoff = options.leaf_noise_multiplier;
    soft_cutoff = options.purity_cutoff_fraction * cutoff;
  }
  for (size_t i = 0; i < n; ++i) {
    if (leaves.weight[i] <= 0) continue;
    leaves.soft[i] = dev[i] > soft_cutoff ? 1 : dev[i] < -soft_cutoff ? -1 : 0;
    if (dev[i] > cutoff) {
      leaves.direction[i] = 1;
      leaves.abnormal_up += leaves.weight[i];
    } else if (dev[i] < -cutoff) {
      leaves.direction[i] = -1;
      leaves.abnormal_down += leaves.weight[i];
    }
  }
  return leaves;
}

// Aggregates of one element of a cuboid.
struct Cell {
  double weight = 0;
  double up = 0;    // abnormal-up weight
  double down = 0;  // abnormal-down weight
  uint32_t count_up = 0;  // number of abnormal-up leaves
  uint32_t count_down = 0;
  double soft_up = 0;  // the same at the lenient cutoff
  double soft_down = 0;
  double actual = 0;
  double expected = 0;
  uint32_t first_leaf = 0;  // a leaf of the element, to recover its codes
  bool used = false;
};

// A candidate root cause: a pure element.
struct Candidate {
  uint32_t mask = 0;  // dimensions fixed
  size_t layer = 0;
  uint32_t first_leaf = 0;
  int8_t direction = 0;
  double abnormal = 0;  // abnormal weight in `direction`
  double purity = 0;
  double actual = 0;
  double expected = 0;
};

// Groups leaves by the values of the dimensions in `dims`: slot_of_leaf[i] is
// the element index of leaf i, and the return value the number of elements.
size_t GroupLeaves(const Cube& cube, const std::vector<size_t>& dims,
                   std::vector<uint32_t>& slot_of_leaf, std::vector<int32_t>& dense) {
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

bool LeafInElement(const Cube& cube, uint32_t mask, uint32_t ref_leaf, size_t leaf) {
  for (size_t d = 0; d < cube.num_dimensions(); ++d) {
    if ((mask & (1u << d)) && cube.code(leaf, d) != cube.code(ref_leaf, d)) return false;
  }
  return true;
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

Result<std::vector<RootCause>> LocateRootCauses(const Cube& cube,
                                                const RootCauseOptions& options) {
  if (cube.num_leaves() == 0) return InvalidArgument("root causes: cube has no leaves");
  auto in_unit = [](double x) { return x >= 0 && x <= 1; };
  if (!in_unit(options.min_purity) || !in_unit(options.min_gain) ||
      !in_unit(options.target_coverage) || !(options.min_deviation >= 0) ||
      !(options.noise_multiplier >= 0) || !(options.purity_cutoff_fraction > 0) ||
      !(options.purity_cutoff_fraction <= 1) || options.max_layer == 0) {
    return InvalidArgument("root causes: option out of range");
  }
  const size_t n = cube.num_leaves();
  const size_t nd = cube.num_dimensions();
  const size_t max_layer = std::min(options.max_layer, nd);
  const Leaves leaves = ClassifyLeaves(cube, options);
  const double abnormal_total = leaves.abnormal_up + leaves.abnormal_down;
  // With each leaf's own noise known, one abnormal leaf is evidence enough.
  const size_t min_leaves = cube.has_noise() ? 1 : options.min_abnormal_leaves;
  std::vector<RootCause> result;
  if (abnormal_total <= 0) return result;

  double total_dev = 0;
  for (size_t i = 0; i < n; ++i) total_dev += cube.actual(i) - cube.expected(i);

  // 1. Candidates: pure elements, layer by layer, none below a pure ancestor.
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
        c.weight += w;
        if (leaves.direction[i] > 0) {
          c.up += w;
          ++c.count_up;
        }
        if (leaves.direction[i] < 0) {
          c.down += w;
          ++c.count_down;
        }
        if (leaves.soft[i] > 0) c.soft_up += w;
        if (leaves.soft[i] < 0) c.soft_down += w;
        c.actual += cube.actual(i);
        c.expected += cube.expected(i);
      }
      for (const Cell& c : cells) {
        if (c.weight <= 0) continue;
        const int8_t dir = c.soft_up >= c.soft_down ? 1 : -1;
        const double abnormal = dir > 0 ? c.up : c.down;
        const double purity = (dir > 0 ? c.soft_up : c.soft_down) / c.weight;
        if (abnormal <= 0 || purity < options.min_purity) continue;
        if ((dir > 0 ? c.count_up : c.count_down) < min_leaves) continue;
        if (abnormal < options.min_gain * abnormal_total) continue;
        // Skip if any proper ancestor is already a candidate.
        bool has_ancestor = false;
        for (uint32_t sub = (mask - 1) & mask; sub != 0 && !has_ancestor;
             sub = (sub - 1) & mask) {
          has_ancestor = candidate_keys.count(ElementKey(cube, sub, c.first_leaf)) > 0;
        }
        if (has_ancestor) continue;
        candidate_keys.insert(ElementKey(cube, mask, c.first_leaf));
        candidates.push_back(
            {mask, layer, c.first_leaf, dir, abnormal, purity, c.actual, c.expected});
      }
    }
  }

  // 2. Greedy cover: most abnormal weight first, coarser first on ties.
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& x, const Candidate& y) {
                     if (x.abnormal != y.abnormal) return x.abnormal > y.abnormal;
                     return x.layer < y.layer;
                   });
  std::vector<uint8_t> covered(n, 0);
  double explained = 0;
  for (const Candidate& cand : candidates) {
    if (result.size() >= options.max_causes) break;
    if (explained >= options.target_coverage * abnormal_total) break;
    const double floor = options.min_gain * abnormal_total;
    if (cand.abnormal < floor) continue;
    double gain = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!covered[i] && leaves.direction[i] == cand.direction &&
          LeafInElement(cube, cand.mask, cand.first_leaf, i)) {
        gain += leaves.weight[i];
      }
    }
    if (gain <= 0 || gain < floor) continue;
    for (size_t i = 0; i < n; ++i) {
      if (LeafInElement(cube, cand.mask, cand.first_leaf, i)) covered[i] = 1;
    }
    explained += gain;
    RootCause rc;
    for (size_t d = 0; d < nd; ++d) {
      if (cand.mask & (1u << d)) {
        rc.element.pairs.push_back({static_cast<uint32_t>(d), cube.code(cand.first_leaf, d)});
      }
    }
    rc.actual = cand.actual;
    rc.expected = cand.expected;
    rc.deviation_share = total_dev != 0 ? 100.0 * (cand.actual - cand.expected) / total_dev : 0;
    rc.purity = cand.purity;
    rc.coverage = gain / abnormal_total;
    rc.score = rc.purity * rc.coverage;
    result.push_back(std::move(rc));
  }
  std::stable_sort(result.begin(), result.end(),
                   [](const RootCause& x, const RootCause& y) { return x.score > y.score; });
  return result;
}

}  // namespace osprey::rca
