#include "osprey/detect/hierarchy.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace osprey::detect {
namespace {

bool IsLeaf(const HierarchyNode& n) {
  return std::find(n.key.begin(), n.key.end(), kRollUp) == n.key.end();
}

// Whether leaf `l` lies below roll-up `a`: equal on every dimension `a`
// does not roll up.
bool Below(const HierarchyNode& l, const HierarchyNode& a) {
  for (size_t j = 0; j < a.key.size(); ++j) {
    if (a.key[j] != kRollUp && a.key[j] != l.key[j]) return false;
  }
  return true;
}

}  // namespace

int ApplyHierarchy(std::vector<HierarchyNode>& nodes, const HierarchyOptions& options) {
  std::vector<size_t> candidates;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const HierarchyNode& n = nodes[i];
    if (n.scored && !IsLeaf(n) && n.severity >= options.min_severity && n.actual != n.expected) {
      candidates.push_back(i);
    }
  }
  if (candidates.empty()) return 0;
  const size_t nd = nodes.front().key.size();
  std::map<std::vector<int32_t>, size_t> index;
  std::vector<std::vector<int32_t>> values(nd);
  for (size_t i = 0; i < nodes.size(); ++i) {
    index.emplace(nodes[i].key, i);
    for (size_t j = 0; j < nd && j < nodes[i].key.size(); ++j) {
      if (nodes[i].key[j] != kRollUp) values[j].push_back(nodes[i].key[j]);
    }
  }
  for (auto& v : values) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  // The largest severity each leaf inherits.
  std::vector<double> inherit(nodes.size(), -1);
  for (size_t ai : candidates) {
    const HierarchyNode& a = nodes[ai];
    if (a.key.size() != nd) continue;
    const double sign = a.actual > a.expected ? 1.0 : -1.0;
    bool broad = true;
    for (size_t j = 0; j < nd && broad; ++j) {
      if (a.key[j] != kRollUp) continue;
      std::vector<int32_t> child = a.key;
      double sum = 0, var = 0, top = -INFINITY, top_var = 0;
      int children = 0, agreeing = 0;
      for (int32_t v : values[j]) {
        child[j] = v;
        auto it = index.find(child);
        if (it == index.end() || !nodes[it->second].scored) continue;
        const HierarchyNode& c = nodes[it->second];
        const double dev = sign * (c.actual - c.expected);
        ++children;
        if (dev > 0) ++agreeing;
        sum += dev;
        var += c.noise * c.noise;
        if (dev > top) {
          top = dev;
          top_var = c.noise * c.noise;
        }
      }
      // Broad: several children, most of them deviating the same way, and
      // without the largest of them the rest still carries a good part of
      // the deviation, significantly.
      const double rest = sum - top, rest_var = var - top_var;
      broad = children >= 2 && 3 * agreeing >= 2 * children && rest_var > 0 &&
              rest >= options.min_rest_share * sum && rest / std::sqrt(rest_var) >= options.broad_z;
    }
    if (!broad) continue;
    for (size_t li = 0; li < nodes.size(); ++li) {
      const HierarchyNode& l = nodes[li];
      if (!l.scored || l.key.size() != nd || !IsLeaf(l) || !Below(l, a)) continue;
      // The leaf must itself lean the same way by some noise units: a
      // systematic error of the expectations (every series a little off at
      // once) looks broad at a large roll-up, but leaves no single leaf out
      // of its noise.
      const double lean = sign * (l.actual - l.expected);
      if (lean <= 0 || (l.noise > 0 && lean < options.min_leaf_z * l.noise)) continue;
      inherit[li] = std::max(inherit[li], a.severity);
    }
  }
  int raised = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (inherit[i] > nodes[i].severity) {
      nodes[i].severity = inherit[i];
      nodes[i].explanation = Explanation::kIncident;
      ++raised;
    }
  }
  return raised;
}

}  // namespace osprey::detect
