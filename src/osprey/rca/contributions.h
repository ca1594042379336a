// Contributions stage: each dimension value's share of a group's deviation,
// as shown to users (docs/rca.md, "Contribution shares").
#pragma once

#include <vector>

#include "osprey/base/status.h"
#include "osprey/rca/cube.h"
#include "osprey/rca/group.h"

namespace osprey::rca {

// For each dimension of `cube`, the values with a share above 0 (largest
// first, ties in value order), from Contributions() (root_cause.h). Shares
// are rounded to 0.1 by largest remainder, so those of one dimension sum to
// exactly 100.0 (or are all absent when no leaf deviates). Fails on a cube
// without leaves.
Result<std::vector<DimensionShares>> ContributionShares(const Cube& cube);

// Rounds `shares` (percent, summing to 100 or to 0) to tenths whose sum is
// the rounded sum of the inputs: each gets its floor, and the tenths left
// over go to the largest remainders (the earlier index on ties).
std::vector<double> RoundShares(const std::vector<double>& shares);

}  // namespace osprey::rca
