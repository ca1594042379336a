// Multi-dimensional root-cause analysis over a Cube of leaves (see cube.h).
//
// Contributions() answers "how much of the total deviation does each
// dimension value explain"; LocateRootCauses() answers "which few elements
// (conjunctions of dimension=value, e.g. {marketplace=jp} or
// {platform=mobile_app, marketplace=de}) explain the anomaly". Both are pure
// functions of their arguments: no IO, no clock, no threads, deterministic
// (ties are broken by dimension and value order). They are safe to call
// concurrently on the same const Cube. The method and its measured quality are
// described in docs/rca.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/rca/cube.h"

namespace osprey::rca {

// The share of one dimension value in the total deviation.
struct ValueContribution {
  uint32_t value = 0;    // code in the dimension's dictionary
  double actual = 0;     // sum of the actual values of its leaves
  double expected = 0;   // sum of the expected values of its leaves
  double deviation = 0;  // actual - expected
  double share = 0;      // percent of the total deviation, see Contributions()
};

struct DimensionContributions {
  size_t dimension = 0;
  std::vector<ValueContribution> values;  // one per value code, in code order
};

// For each dimension, each value's share (%) of the deviation.
//
// Sign handling: the direction of the anomaly is the sign of the total
// deviation sum(actual - expected) (when it is exactly 0, the side with the
// larger absolute sum). A value's share is its deviation in that direction
// divided by the sum of such deviations over the dimension's values, times
// 100; values that moved against the direction get share 0 (their raw
// `deviation` is still reported). Thus the shares of one dimension sum to 100
// whenever any leaf deviates, and are all 0 when no leaf deviates. When values
// move in both directions, a share is "of the movement in the direction of
// the total", which is what a user looking at the anomaly asks about.
// On a ratio cube (Cube::is_ratio) the sums are the numerator's; the
// ratio's own explanation is LocateRootCauses' contribution.
// Fails with InvalidArgument on a cube without leaves.
Result<std::vector<DimensionContributions>> Contributions(const Cube& cube);

// One dimension=value pair of an element.
struct Pair {
  uint32_t dimension = 0;
  uint32_t value = 0;
  bool operator==(const Pair&) const = default;
};

// A conjunction of pairs, sorted by dimension, at most one pair per
// dimension. Omitted dimensions mean "any value".
struct Element {
  std::vector<Pair> pairs;
  bool operator==(const Element&) const = default;
};

// "dim=value&dim=value" in dimension order, as the RCA benchmarks write them.
std::string ElementToString(const Cube& cube, const Element& element);

struct RootCause {
  Element element;
  double actual = 0;           // the element's KPI: the sum over its leaves, or for a ratio
                               // cube SUM(numerator) / SUM(denominator) over its leaves
  double expected = 0;         // the same over the expected values
  int direction = 0;           // +1 the element moved up, -1 down
  double contribution = 0;     // how much the total KPI moved because of this element: the
                               // total minus the total with the element's leaves set to
                               // their expected values (for a sum: actual - expected)
  double deviation_share = 0;  // percent of the total deviation: 100 contribution / (A - E)
  double purity = 0;           // weighted fraction of the element's leaves that moved with
                               // it (beyond half its mean shift), in [0, 1]
  double coverage = 0;         // this element's share of the deviation the whole set
                               // explains, in [0, 1]
  double confidence = 0;       // how sure the search is that the element is a cause and not
                               // noise, in [0, 1]: purity * z^2 / (z^2 + cutoff^2), where z is
                               // the element's mean shift in noise units times the square
                               // root of its effective number of leaves
  double score = 0;            // confidence * coverage: the results are ordered by it
};

struct RootCauseOptions {
  // Deepest layer searched: number of dimensions fixed in an element.
  // Capped at the number of dimensions (the default searches every layer,
  // down to single leaves). Cost grows with the number of cuboids,
  // sum over l <= max_layer of C(dims, l).
  size_t max_layer = Cube::kMaxDimensions;

  // Noise model. Each leaf's deviation is d = (a - e) / max(|a|, |e|), in
  // [-1, 1] (for a ratio cube, of the leaf's ratio). The noise scale sigma is
  // 1.4826 times the median of |d| over leaves with any value (the smaller of
  // the weighted and the unweighted median), at least
  // min_deviation / noise_multiplier. A leaf's score is s = d / sigma, so
  // the cutoff below is noise_multiplier.
  double min_deviation = 0.05;
  double noise_multiplier = 5.0;

  // When the smaller half of the leaves (by size w, below) is noisier than
  // the larger half by more than this factor in variance (counts: small
  // leaves have noisy rates), each leaf's noise scale is
  // sqrt(sigma_r^2 + c / w), fitted to the two upper quarters by size (the
  // smallest leaves are mostly zero counts), instead of one sigma.
  double count_noise_ratio = 2.0;

  // When the cube carries each leaf's own noise scale (Cube::has_noise), a
  // leaf's score is (a - e) / noise instead (0 when |d| <= min_deviation),
  // and the cutoff is leaf_noise_multiplier.
  double leaf_noise_multiplier = 4.0;

  // A single leaf is a candidate when |s| >= cutoff. An element of several
  // leaves is judged on its weighted mean score m (each leaf's score clipped
  // to +-clip_multiple * cutoff, so one extreme leaf cannot carry it): it is
  // a candidate when |m| >= min_shift_fraction * cutoff, |m| * sqrt(n_eff)
  // >= min_z_fraction * cutoff (n_eff = (sum w)^2 / sum w^2, weights w = max(|a|, |e|), for a
  // ratio the denominator's), its purity is high enough (below) and its mean
  // |d| is at least min_deviation.
  double min_shift_fraction = 0.1;
  double min_z_fraction = 1.2;
  double clip_multiple = 2.0;

  // Purity: the weighted share of the element's leaves whose score lies
  // beyond half of m in m's direction. A true cause moves (nearly) all its
  // leaves; its parent mixes them with unmoved siblings. Candidates need
  // purity >= min_purity. In [0, 1].
  double min_purity = 0.95;
  // The same when the count-noise model is in use (count_noise_ratio): the
  // leaves of a true cause then scatter so much that fewer of them pass m/2.
  double count_noise_min_purity = 0.7;

  // A candidate is kept only if the deviation it explains beyond the earlier
  // results is at least min_gain of the largest candidate's, and (for an
  // element of several leaves) its leaves outside the earlier results still
  // pass the z test above. In [0, 1].
  double min_gain = 0.001;

  // At most this many results.
  size_t max_causes = 10;
};

// The smallest set of elements that explains the deviation, most explanatory
// first. Empty when nothing moved beyond noise. Among candidates an element
// is preferred over any of its descendants (the most succinct explanation):
// a child is reported only when its parent does not explain the change.
// Fails with InvalidArgument on a cube without leaves or on options out of
// range.
Result<std::vector<RootCause>> LocateRootCauses(const Cube& cube, const RootCauseOptions& options = {});

}  // namespace osprey::rca
