// Hierarchical evidence: one interval of one additive measure (SUM, COUNT)
// seen as a cube of leaves and roll-ups. A dimension-wide incident (every
// category of region=West down 30 %) can be clear at the roll-up node
// (West, ALL, ALL) while each leaf stays inside its own noise. This stage
// finds anomalous roll-ups whose deviation is *broad* — along every
// rolled-up dimension it is not carried by one child: without its largest
// child the remaining children still carry a good share of the deviation,
// significantly and mostly the same way —
// and lets the leaves below such a node that deviate the same way (by at
// least min_leaf_z of their own noise) inherit its severity (explanation
// kIncident). A single-leaf anomaly makes every
// ancestor deviate, but none broadly, so nothing is inherited from it.
// Pure and deterministic; O(nodes) unless a roll-up is anomalous.
#pragma once

#include <cstdint>
#include <vector>

#include "osprey/detect/model.h"

namespace osprey::detect {

inline constexpr int32_t kRollUp = -1;  // a key value meaning "every value"

struct HierarchyNode {
  // Dimension value ids, kRollUp for a rolled-up dimension. Every node of
  // one call has the same number of dimensions.
  std::vector<int32_t> key;
  bool scored = false;  // the model scored it (a value, and warmed up)
  double actual = 0;
  double expected = 0;
  double noise = 0;  // the model's noise standard deviation at this point
  double severity = 0;
  Explanation explanation = Explanation::kNone;
};

struct HierarchyOptions {
  // Roll-ups at least this severe are candidates for inheritance.
  double min_severity = 50;
  // Without its largest child, the rest must deviate by this many standard
  // deviations (along every rolled-up dimension) for the deviation to count
  // as broad.
  double broad_z = 2.5;
  // ... and carry at least this share of the node's deviation (a broad
  // deviation over n children leaves (n - 1) / n without the largest).
  double min_rest_share = 0.3;
  // A leaf inherits only when it deviates the same way by at least this many
  // of its own noise standard deviations.
  double min_leaf_z = 1.5;
};

// Raises the severity of leaves inside broad anomalous roll-ups (never
// lowers a severity) and sets their explanation to kIncident. Returns the
// number of leaves raised.
int ApplyHierarchy(std::vector<HierarchyNode>& nodes, const HierarchyOptions& options = {});

}  // namespace osprey::detect
