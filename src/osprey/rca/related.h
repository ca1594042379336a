// Related-measures stage: for each group of an interval, the other
// measures' groups over the same slice and how they relate (docs/rca.md,
// "Related measures"). Pure.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "osprey/rca/group.h"

namespace osprey::rca {

// What relating needs to know of one group.
struct GroupFacts {
  uint32_t measure = 0;  // position in the detector's measures (drivers first)
  int64_t incident_ts = 0;
  double actual = 0, expected = 0;                         // sums over the measure's leaves
  std::vector<std::map<std::string, std::string>> causes;  // root-cause elements
};

// Whether two root-cause sets point at the same slice: an element of one
// equals, contains or is contained in an element of the other. Groups
// without root causes (no dimensions, or none found) share every slice.
bool SameSlice(const std::vector<std::map<std::string, std::string>>& a,
               const std::vector<std::map<std::string, std::string>>& b);

// For each of `groups`, the others over the same slice, in their order.
// `measure_names` names the measures by position.
std::vector<std::vector<RelatedMeasure>> RelateMeasures(std::span<const GroupFacts> groups,
                                                        const std::vector<std::string>& measure_names);

}  // namespace osprey::rca
