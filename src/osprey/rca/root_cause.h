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
  uint32_t value = 0;      // code in the dimension's dictionary
  double actual = 0;       // sum of the actual values of its leaves
  double expected = 0;     // sum of the expected values of its leaves
  double deviation = 0;    // actual - expected
  double share = 0;        // percent of the total deviation, see Contributions()
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
  double actual = 0;           // sum over the element's leaves
  double expected = 0;         // sum over the element's leaves
  double deviation_share = 0;  // percent of the total deviation: 100 (a - e) / (A - E)
  double purity = 0;           // weighted fraction of the element's leaves that are abnormal
                               // in its direction, in [0, 1]
  double coverage = 0;         // fraction of all abnormal weight that this element explains
                               // and no earlier result did, in [0, 1]
  double score = 0;            // purity * coverage: the explanatory power; results are
                               // ordered by it, highest first
};

struct RootCauseOptions {
  // Deepest layer searched: number of dimensions fixed in an element.
  // Capped at the number of dimensions. Cost grows with the number of
  // cuboids, sum over l <= max_layer of C(dims, l). Default 3.
  size_t max_layer = 3;

  // Noise model. Each leaf's deviation is d = 2 (a - e) / (|a| + |e|), in
  // [-2, 2]. The noise scale sigma is 1.4826 times the weighted median of
  // |d| over leaves with any value. A leaf is abnormal when
  // |d| > max(min_deviation, noise_multiplier * sigma).
  // Lower values find smaller changes but call more noise abnormal.
  double min_deviation = 0.05;
  double noise_multiplier = 5.0;

  // When the cube carries each leaf's own noise scale (Cube::has_noise), a
  // leaf is abnormal when |a - e| > leaf_noise_multiplier * noise and, as
  // above, |d| > min_deviation; purity then uses the same lenient fraction.
  double leaf_noise_multiplier = 4.0;

  // Purity (below) counts a leaf as abnormal already when |d| exceeds this
  // fraction of the cutoff above: inside a real cause most leaves move
  // together, so a lenient test keeps noise from splitting the cause into
  // fragments, while isolated noisy leaves still need the strict cutoff to
  // count as something to explain. In (0, 1].
  double purity_cutoff_fraction = 0.4;

  // An element is a candidate when the weighted share of its leaves that are
  // (leniently) abnormal in one direction is at least min_purity (weights are
  // max(|a|, |e|), so tiny leaves whose change is lost in rounding matter
  // little). Higher values prefer finer elements. In [0, 1].
  double min_purity = 0.95;

  // A candidate needs at least this many (strictly) abnormal leaves: one
  // leaf far out is as likely noise as a cause. Set 1 to report single leaves.
  // Ignored (taken as 1) when the cube carries each leaf's own noise.
  size_t min_abnormal_leaves = 2;

  // A candidate is kept only if the abnormal weight it explains beyond the
  // earlier results is positive and at least min_gain of the total abnormal
  // weight. Guards against reporting isolated noisy leaves. In [0, 1].
  double min_gain = 0.001;

  // The search stops once this fraction of the abnormal weight is explained.
  // Below 1, small co-occurring causes may be left out. In [0, 1].
  double target_coverage = 1.0;

  // At most this many results.
  size_t max_causes = 10;
};

// The smallest set of elements that explains the deviation, most explanatory
// first. Empty when no leaf is abnormal. Among pure candidates an element is
// preferred over any of its descendants (the most succinct explanation).
// Fails with InvalidArgument on a cube without leaves or on options out of
// range.
Result<std::vector<RootCause>> LocateRootCauses(const Cube& cube,
                                                const RootCauseOptions& options = {});

}  // namespace osprey::rca
