#include "osprey/rca/contributions.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "osprey/rca/root_cause.h"

namespace osprey::rca {

std::vector<double> RoundShares(const std::vector<double>& shares) {
  // In tenths: floors, then the rest by largest remainder.
  double total = 0;
  std::vector<int64_t> tenths(shares.size());
  std::vector<double> rest(shares.size());
  int64_t floors = 0;
  for (size_t i = 0; i < shares.size(); ++i) {
    const double t = std::max(0.0, shares[i]) * 10;
    total += t;
    tenths[i] = static_cast<int64_t>(std::floor(t));
    rest[i] = t - static_cast<double>(tenths[i]);
    floors += tenths[i];
  }
  int64_t left = static_cast<int64_t>(std::llround(total)) - floors;
  std::vector<size_t> order(shares.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rest[a] > rest[b]; });
  for (size_t i = 0; i < order.size() && left > 0; ++i, --left) ++tenths[order[i]];
  std::vector<double> out(shares.size());
  for (size_t i = 0; i < shares.size(); ++i) out[i] = static_cast<double>(tenths[i]) / 10;
  return out;
}

Result<std::vector<DimensionShares>> ContributionShares(const Cube& cube) {
  OSPREY_ASSIGN_OR_RETURN(std::vector<DimensionContributions> dims, Contributions(cube));
  std::vector<DimensionShares> out;
  for (const DimensionContributions& dc : dims) {
    std::vector<double> raw;
    for (const ValueContribution& v : dc.values) raw.push_back(v.share);
    const std::vector<double> rounded = RoundShares(raw);
    DimensionShares d;
    d.dimension = cube.dimension_name(dc.dimension);
    for (size_t i = 0; i < dc.values.size(); ++i) {
      if (rounded[i] <= 0) continue;
      const ValueContribution& v = dc.values[i];
      d.values.push_back({cube.value_name(dc.dimension, v.value), rounded[i], v.actual, v.expected});
    }
    std::stable_sort(d.values.begin(), d.values.end(),
                     [](const ValueShare& a, const ValueShare& b) { return a.share > b.share; });
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace osprey::rca
