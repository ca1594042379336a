// Grouping stage: which scored points of an interval are anomalies, one
// group per measure, and which incident each group continues (docs/rca.md).
// Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace osprey::rca {

// What grouping needs of one scored point.
struct PointScore {
  uint32_t measure = 0;
  bool has_value = false;
  bool ready = false;  // the score has a severity
  double severity = 0;
};

// One measure's anomalies of the interval.
struct Group {
  uint32_t measure = 0;
  std::vector<size_t> members;  // indices into the points, in their order
  double severity = 0;          // the largest member severity
};

// The groups of an interval, in measure order: a measure has one when some
// point of it with a value and a ready score is at least `min_severity`.
std::vector<Group> GroupAnomalies(std::span<const PointScore> points, size_t measures, double min_severity);

// A measure's latest group: its interval and the start of its incident.
struct LastGroup {
  int64_t ts = 0;
  int64_t incident_ts = 0;
};

// The incident a group at `ts` belongs to: the last group's when that was
// in the interval right before (`prev_ts`), else a new one starting at ts.
int64_t IncidentStart(const std::optional<LastGroup>& last, int64_t prev_ts, int64_t ts);

}  // namespace osprey::rca
