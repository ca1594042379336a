#include "osprey/detect/hierarchy.h"

#include <gtest/gtest.h>

#include <random>

namespace osprey::detect {
namespace {

// A 3 x 4 cube (region x category) with every roll-up: leaves expect 100
// with noise 10; roll-ups are sums. `effect(r, c)` is the leaf's relative
// change; `severity` is set on the nodes by a crude z rule so the test
// exercises only the hierarchy logic.
std::vector<HierarchyNode> Cube(double (*effect)(int, int), uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 10);
  double leaf[3][4];
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 4; ++c) leaf[r][c] = 100 * (1 + effect(r, c)) + noise(rng);
  }
  std::vector<HierarchyNode> nodes;
  for (int r = -1; r < 3; ++r) {
    for (int c = -1; c < 4; ++c) {
      HierarchyNode n;
      n.key = {r, c};
      n.scored = true;
      int count = 0;
      for (int rr = 0; rr < 3; ++rr) {
        for (int cc = 0; cc < 4; ++cc) {
          if ((r == -1 || r == rr) && (c == -1 || c == cc)) {
            n.actual += leaf[rr][cc];
            ++count;
          }
        }
      }
      n.expected = 100.0 * count;
      n.noise = 10.0 * std::sqrt(static_cast<double>(count));
      const double z = std::fabs(n.actual - n.expected) / n.noise;
      n.severity = z >= 4 ? 80 : z * 10;
      nodes.push_back(n);
    }
  }
  return nodes;
}

const HierarchyNode& At(const std::vector<HierarchyNode>& nodes, int r, int c) {
  for (const auto& n : nodes) {
    if (n.key[0] == r && n.key[1] == c) return n;
  }
  throw std::runtime_error("no node");
}

TEST(HierarchyTest, RegionWideDipIsInheritedByItsLeavesOnly) {
  // Every category of region 1 down 30 %: 3 noise units per leaf, 6 at
  // the region's roll-up.
  auto nodes = Cube([](int r, int) { return r == 1 ? -0.3 : 0.0; }, 1);
  ASSERT_GE(At(nodes, 1, -1).severity, 50);
  ApplyHierarchy(nodes);
  int raised = 0;
  for (int c = 0; c < 4; ++c) {
    const auto& leaf = At(nodes, 1, c);
    if (leaf.explanation == Explanation::kIncident) {
      ++raised;
      EXPECT_EQ(leaf.severity, At(nodes, 1, -1).severity);
    }
  }
  EXPECT_GE(raised, 3);
  for (int r : {0, 2}) {
    for (int c = 0; c < 4; ++c) EXPECT_NE(At(nodes, r, c).explanation, Explanation::kIncident);
  }
}

TEST(HierarchyTest, SingleLeafSpikeRaisesNothing) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto nodes = Cube([](int r, int c) { return r == 2 && c == 3 ? 3.0 : 0.0; }, seed);
    ASSERT_GE(At(nodes, -1, -1).severity, 50);  // the spike shows at the top
    EXPECT_EQ(ApplyHierarchy(nodes), 0) << "seed " << seed;
  }
}

TEST(HierarchyTest, NeverLowersASeverity) {
  auto nodes = Cube([](int r, int c) { return r == 0 && c == 0 ? 2.0 : (r == 1 ? -0.2 : 0.0); }, 3);
  const double before = At(nodes, 0, 0).severity;
  ApplyHierarchy(nodes);
  EXPECT_EQ(At(nodes, 0, 0).severity, before);
}

TEST(HierarchyTest, QuietCubeIsUntouched) {
  auto nodes = Cube([](int, int) { return 0.0; }, 4);
  for (auto& n : nodes) n.severity = std::min(n.severity, 40.0);
  EXPECT_EQ(ApplyHierarchy(nodes), 0);
}

}  // namespace
}  // namespace osprey::detect
