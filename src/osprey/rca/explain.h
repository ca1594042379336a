// Explain stage: contributions and root causes of one anomaly group, from
// the leaf series of its measure in that interval (docs/rca.md). Pure.
//
// A ratio measure (numerator / denominator) is explained in the numerator's
// units: each leaf counts as its actual numerator against the numerator it
// would have had at its expected ratio over its actual denominator
// (expected ratio x actual denominator), with its noise scaled the same way.
// The group's ratio deviation is then the sum of the leaves' deviations over
// the total denominator, so a leaf whose rate fell explains the drop and a
// leaf whose traffic merely moved (at an unchanged rate) does not; what is
// left of a shift in the mix is shared by the leaves that carry it. Each
// element also reports its numerator's and denominator's own deviations
// (RatioSides), which say whether the rate moved through its top or its
// bottom.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/rca/group.h"
#include "osprey/rca/root_cause.h"

namespace osprey::rca {

// One leaf series of the group's measure in the interval.
struct Leaf {
  std::vector<std::string> values;  // one per dimension, in dimension order
  double actual = 0;
  double expected = 0;
  // The forecaster's noise scale (> 0), or 0 when unknown: then 5 % of the
  // expected value is taken.
  double noise = 0;
  // Ratio measures: the leaf's numerator and denominator sums with their
  // own forecasts (numerator.actual / denominator.actual == actual).
  std::optional<RatioSides> ratio;
};

struct Explanation {
  std::vector<DimensionShares> contributions;
  std::vector<CauseElement> root_causes;
  // Sums over the leaves, in the units the cube was built in (the
  // numerator's for a ratio measure).
  double actual = 0;
  double expected = 0;
};

// Explains a group over `dimensions` (at least one) from its leaves. An
// empty explanation when there are no leaves.
Result<Explanation> ExplainGroup(const std::vector<std::string>& dimensions, std::span<const Leaf> leaves,
                                 const RootCauseOptions& options = {});

}  // namespace osprey::rca
