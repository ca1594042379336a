// Quality floor for LocateRootCauses on the 90 Squeeze B0 cases in
// shared/benchmarks/rca (README there). Skips when the shared folder is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "rca_eval.h"

namespace osprey::rca::bench {
namespace {

// Just below the measured micro F1 (see docs/rca.md), so a regression fails.
constexpr double kMinOverallF1 = 0.99;

TEST(RcaQualityTest, SqueezeB0MicroF1AboveFloor) {
  const std::string dir = std::string(OSPREY_SHARED_DIR) + "/benchmarks/rca/squeeze_B0";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " not present";
  auto results = RunBenchmark(dir, RootCauseOptions{}, nullptr);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  Counts all;
  int cases = 0;
  for (const SettingResult& r : *results) {
    std::cout << r.setting << " F1=" << r.counts.F1() << "\n";
    all.Add(r.counts);
    cases += r.cases;
  }
  EXPECT_EQ(cases, 90);
  std::cout << "overall micro F1=" << all.F1() << "\n";
  EXPECT_GE(all.F1(), kMinOverallF1);
}

}  // namespace
}  // namespace osprey::rca::bench
