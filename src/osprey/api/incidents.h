// Incidents: the anomalies of all measures of a detector that overlap in
// time and share a root cause. Built from what the state store holds: the
// store keeps, per measure, the run of groups in consecutive intervals (a
// measure incident, GroupRecord::incident_ts) and each group's root-cause
// sets; an incident joins the measure incidents of one detector whose spans
// overlap and whose root-cause sets have an element in common (or that both
// have none: the deviation is spread over many slices in each). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "osprey/store/store.h"

namespace osprey::api {

struct Incident {
  std::string detector;
  int64_t detector_id = 0;
  int64_t start = 0;    // the first interval start of its measure incidents
  int64_t end = 0;      // the last interval end (exclusive)
  double severity = 0;  // the highest of its groups
  // One per measure incident: its most severe group, whose incident_* fields
  // give the measure incident's span. By start, then measure.
  std::vector<store::GroupRecord> heads;
  // The root-cause elements the measure incidents share, as canonical JSON
  // objects ({"platform":"pc_web"}); empty when they have none.
  std::vector<std::string> shared_causes;
};

// Joins measure incidents (the groups of a GroupQuery with incidents_only,
// in any order) into incidents, ordered by start then detector.
std::vector<Incident> BuildIncidents(std::vector<store::GroupRecord> heads);

// The root-cause elements of a group's root_causes JSON, canonical.
std::vector<std::string> RootCauseElements(const std::string& root_causes_json);

}  // namespace osprey::api
