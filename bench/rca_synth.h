// A seeded generator of synthetic root-cause cases in the style of the
// RiskLoc paper's S and L sets (shared/benchmarks/rca/riskloc_synth/README.md
// describes the originals): a full cartesian product of dimension values,
// heavy-tailed (Weibull) leaf sizes, a random share of zero leaves, relative
// forecast noise on either side of each leaf, and 1-3 anomalies of 1-3
// elements each, in any layer or only the last. The ratio variant gives every
// leaf a numerator and a denominator (e.g. failures / attempts; the failures
// are counts with Poisson-like noise, so small leaves have very noisy rates)
// and puts each anomaly in the numerator, the denominator or both in opposite
// directions.
// Used to tune and stress the search on cases that were never used for
// reporting; deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/rca/cube.h"

namespace osprey::rca::bench {

struct SynthOptions {
  std::vector<size_t> dims = {10, 12, 10, 8, 5};  // values per dimension (S)
  double zero_rate_max = 0.25;
  double noise_min = 0.0;
  double noise_max = 0.25;
  double severity_min = 0.2;
  double severity_max = 1.0;
  double deviation_max = 0.1;
  int anomalies_min = 1;
  int anomalies_max = 3;
  int elements_min = 1;
  int elements_max = 3;
  bool only_last_layer = false;
  bool ratio = false;  // numerator / denominator leaves
};

// The presets: "S" and "L" as in the RiskLoc paper, "R" a ratio-KPI set on
// 4 dimensions (8 x 10 x 6 x 5) with causes in layers 1-3.
Result<SynthOptions> SynthPreset(const std::string& name);

struct SynthCase {
  Cube cube;
  std::string truth;  // the root-cause set in the benchmark syntax
};

// Case number `index` of the stream seeded by `seed`.
Result<SynthCase> GenerateCase(const SynthOptions& options, uint64_t seed, uint64_t index);

}  // namespace osprey::rca::bench
