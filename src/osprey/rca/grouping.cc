#include "osprey/rca/grouping.h"

#include <algorithm>

namespace osprey::rca {

std::vector<Group> GroupAnomalies(std::span<const PointScore> points, size_t measures, double min_severity) {
  std::vector<Group> out;
  for (uint32_t m = 0; m < measures; ++m) {
    Group g;
    g.measure = m;
    for (size_t i = 0; i < points.size(); ++i) {
      const PointScore& p = points[i];
      if (p.measure != m || !p.ready || !p.has_value || p.severity < min_severity) continue;
      g.members.push_back(i);
      g.severity = std::max(g.severity, p.severity);
    }
    if (!g.members.empty()) out.push_back(std::move(g));
  }
  return out;
}

int64_t IncidentStart(const std::optional<LastGroup>& last, int64_t prev_ts, int64_t ts) {
  return last && last->ts == prev_ts ? last->incident_ts : ts;
}

}  // namespace osprey::rca
