// The typed results of the grouping stages (docs/architecture.md, "Grouping
// stages"): what one anomaly group of a measure is explained by. The stages
// (grouping.h, contributions.h, explain.h, related.h) return these; codec.h
// turns them into the JSON the store and the API keep, and back.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace osprey::rca {

// One dimension value's share of a group's deviation (contributions.h).
struct ValueShare {
  std::string value;
  double share = 0;  // percent, rounded to 0.1; a dimension's shares sum to 100.0
  double actual = 0;
  double expected = 0;
};

// The values of one dimension with a share above 0, largest first.
struct DimensionShares {
  std::string dimension;
  std::vector<ValueShare> values;
};

// A ratio measure's two sides summed over a root-cause element's leaves:
// which one moved says why the ratio did.
struct RatioSides {
  std::string numerator, denominator;  // the sides' measure names
  double numerator_actual = 0, numerator_expected = 0;
  double denominator_actual = 0, denominator_expected = 0;
};

// "orders -42.0 %, views +0.3 %": how each side moved against its forecast.
std::string RatioSidesText(const RatioSides& sides);

// One root-cause element: dimension -> value (an empty map is the whole
// measure).
struct CauseElement {
  std::map<std::string, std::string> element;
  double share = 0;                 // percent of the group's deviation, rounded to 0.1
  double score = 0;                 // explanatory power in [0, 1] (rca::RootCause::score)
  std::optional<RatioSides> ratio;  // set for a ratio measure
};

// Another measure with a group in the same interval over the same slice.
struct RelatedMeasure {
  std::string measure;
  std::string relation;        // cause | effect | co-occurring
  double deviation_pct = 0;    // that group's relative deviation, rounded to 0.1
  std::string incident_start;  // ISO-8601 UTC ("2024-03-01T10:00:00Z")
};

}  // namespace osprey::rca
