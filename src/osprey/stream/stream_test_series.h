// Test-only: the series and options the stream-engine tests (novelty, ART)
// share: a noisy daily cycle at 5-minute steps, the model options for one
// engine, and an observation at row i.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "osprey/stream/engine.h"

namespace osprey::stream::testing {

// n values of 100 + 30 sin(2 pi i / period) plus N(0, 2) noise from `seed`.
inline std::vector<double> Periodic(int n, uint32_t seed, int period) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 2);
  std::vector<double> v;
  for (int i = 0; i < n; ++i) {
    v.push_back(100 + 30 * std::sin(2 * M_PI * (i % period) / static_cast<double>(period)) + noise(rng));
  }
  return v;
}

// Default options of `engine` at 5-minute intervals.
inline EngineOptions StreamOptionsFor(Engine engine) {
  EngineOptions o;
  o.interval_seconds = 300;
  o.engine = engine;
  return o;
}

// Row i of a 5-minute series (UTC, so local time is the same).
inline Observation Obs(int i, std::optional<double> v) { return {i * 300LL, i * 300LL, v}; }

}  // namespace osprey::stream::testing
