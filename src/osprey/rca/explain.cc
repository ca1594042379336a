#include "osprey/rca/explain.h"

#include <algorithm>
#include <cmath>

#include "osprey/rca/contributions.h"

namespace osprey::rca {

Result<Explanation> ExplainGroup(const std::vector<std::string>& dimensions, std::span<const Leaf> leaves,
                                 const RootCauseOptions& options) {
  Explanation out;
  if (leaves.empty()) return out;
  OSPREY_ASSIGN_OR_RETURN(Cube cube, Cube::Create(dimensions));
  const size_t nd = dimensions.size();
  std::vector<uint32_t> codes(nd);
  for (const Leaf& leaf : leaves) {
    if (leaf.values.size() != nd) {
      return InvalidArgument("a leaf has a value count that differs from the dimensions'");
    }
    for (size_t d = 0; d < nd; ++d) codes[d] = cube.InternValue(d, leaf.values[d]);
    // A ratio leaf in the numerator's units: at its expected ratio, its
    // actual denominator would have carried expected x denominator.
    const double scale = leaf.ratio ? leaf.ratio->denominator_actual : 1.0;
    const double actual = leaf.ratio ? leaf.ratio->numerator_actual : leaf.actual;
    const double expected = leaf.expected * scale;
    double noise = leaf.noise * scale;
    if (!(noise > 0)) noise = std::max(1e-9, 0.05 * std::abs(expected));
    OSPREY_RETURN_IF_ERROR(cube.AddLeafCodes(codes, actual, expected, noise));
    out.actual += actual;
    out.expected += expected;
  }
  OSPREY_ASSIGN_OR_RETURN(out.contributions, ContributionShares(cube));
  OSPREY_ASSIGN_OR_RETURN(std::vector<RootCause> causes, LocateRootCauses(cube, options));
  for (const RootCause& c : causes) {
    CauseElement e;
    for (const Pair& p : c.element.pairs) {
      e.element[cube.dimension_name(p.dimension)] = cube.value_name(p.dimension, p.value);
    }
    e.share = std::round(c.deviation_share * 10) / 10;
    e.score = c.score;
    if (leaves.front().ratio) {
      RatioSides sides;
      sides.numerator = leaves.front().ratio->numerator;
      sides.denominator = leaves.front().ratio->denominator;
      for (size_t i = 0; i < leaves.size(); ++i) {
        const bool inside = std::all_of(c.element.pairs.begin(), c.element.pairs.end(),
                                        [&](const Pair& p) { return cube.code(i, p.dimension) == p.value; });
        if (!inside || !leaves[i].ratio) continue;
        sides.numerator_actual += leaves[i].ratio->numerator_actual;
        sides.numerator_expected += leaves[i].ratio->numerator_expected;
        sides.denominator_actual += leaves[i].ratio->denominator_actual;
        sides.denominator_expected += leaves[i].ratio->denominator_expected;
      }
      e.ratio = sides;
    }
    out.root_causes.push_back(std::move(e));
  }
  return out;
}

}  // namespace osprey::rca
