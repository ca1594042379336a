// Incidents: the anomalies of all measures of a detector that overlap in
// time and share a root cause. Built from what the state store holds: the
// store keeps, per measure, the run of groups in consecutive intervals (a
// measure incident, GroupRecord::incident_ts) and each group's root-cause
// sets; an incident joins the measure incidents of one detector whose spans
// overlap and whose root-cause sets have an element in common (or that both
// have none: the deviation is spread over many slices in each).
// BuildIncidents is pure; ReadIncidents and IncidentOf read the measure
// incidents they need from a store, a window of time at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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

// An incident's id: its most severe group (the earliest on ties).
int64_t IncidentId(const Incident& i);

// The orders of incident lists. time: by start, latest first, then id
// (highest first); time_asc: the reverse; severity: most severe first, then
// by the start of its most severe measure incident (latest first), then id.
enum class IncidentOrder { kTime, kTimeAsc, kSeverity };

// An incident's place in a list: its sort columns (keyset paging). `start`
// is the incident's start, or in the severity order its most severe
// measure incident's.
struct IncidentKey {
  double severity = 0;
  int64_t start = 0;
  int64_t id = 0;
};
IncidentKey KeyOf(const Incident& i, IncidentOrder order);
// Whether a comes before b in `order`.
bool Before(IncidentOrder order, const IncidentKey& a, const IncidentKey& b);

struct IncidentListQuery {
  std::optional<std::string> detector;
  IncidentOrder order = IncidentOrder::kTime;
  std::optional<IncidentKey> after;  // only incidents after this one in the order
  // Only incidents overlapping [from, to), and with at least min_severity.
  std::optional<int64_t> from, to;
  double min_severity = 0;
  std::function<bool(const Incident&)> keep;  // further filter; unset keeps all
  int64_t limit = 50;
};

// The first q.limit incidents of the list q describes, in its order. An
// incident never spans a gap (a time no measure incident overlaps), so the
// incidents BuildIncidents makes of the measure incidents between two gaps
// are those it makes of all of them there: each step reads the measure
// incidents between two gaps (found with the longest measure incident's
// span), not the whole store.
Result<std::vector<Incident>> ReadIncidents(store::Store& s, const IncidentListQuery& q);

// The incident that holds the measure incident of `group` (any of its groups).
Result<Incident> IncidentOf(store::Store& s, const store::GroupRecord& group);

}  // namespace osprey::api
