#include "osprey/rca/related.h"

#include <algorithm>
#include <cmath>

#include "osprey/base/time.h"

namespace osprey::rca {

bool SameSlice(const std::vector<std::map<std::string, std::string>>& a,
               const std::vector<std::map<std::string, std::string>>& b) {
  if (a.empty() || b.empty()) return true;
  auto within = [](const std::map<std::string, std::string>& x, const std::map<std::string, std::string>& y) {
    for (const auto& [k, v] : x) {
      auto it = y.find(k);
      if (it == y.end() || it->second != v) return false;
    }
    return true;
  };
  for (const auto& x : a) {
    for (const auto& y : b) {
      if (within(x, y) || within(y, x)) return true;
    }
  }
  return false;
}

std::vector<std::vector<RelatedMeasure>> RelateMeasures(std::span<const GroupFacts> groups,
                                                        const std::vector<std::string>& measure_names) {
  std::vector<std::vector<RelatedMeasure>> out(groups.size());
  auto deviation = [](const GroupFacts& g) {
    return g.expected != 0 ? (g.actual - g.expected) / std::abs(g.expected) : 0.0;
  };
  for (size_t i = 0; i < groups.size(); ++i) {
    const GroupFacts& a = groups[i];
    const double dev_a = deviation(a);
    for (size_t j = 0; j < groups.size(); ++j) {
      const GroupFacts& b = groups[j];
      if (i == j || !SameSlice(a.causes, b.causes)) continue;
      const double dev_b = deviation(b);
      std::string relation;
      if (b.incident_ts < a.incident_ts) {
        relation = "cause";  // b's incident began first
      } else if (b.incident_ts > a.incident_ts) {
        relation = "effect";
      } else if (dev_a * dev_b > 0 &&
                 std::abs(dev_a - dev_b) <= 0.25 * std::max(std::abs(dev_a), std::abs(dev_b))) {
        // Same start, same relative move: their ratio held, so one carried
        // the other; the detector lists driving measures first.
        relation = b.measure < a.measure ? "cause" : "effect";
      } else {
        relation = "co-occurring";
      }
      out[i].push_back({measure_names.at(b.measure), relation, std::round(dev_b * 1000) / 10,
                        FormatIso(FromUnixSeconds(b.incident_ts))});
    }
  }
  return out;
}

}  // namespace osprey::rca
