// Update+score throughput of each model kind on an hourly series with a
// weekly cycle, against a plain read pass over the same data; reports
// points/s, the ratio to the read pass and the bytes of saved state.
// Targets for the default model (arg 0): >= 2 M points/s and <= 2 KiB
// (state_bytes, the saved state of one series).
// Arg 0: the pipeline's default model (detect::CreateModel); 1: the novelty
// and 2: the ART stream engine (stream::CreateEngine, as `osprey score` and
// NAB run them).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "osprey/detect/model.h"
#include "osprey/stream/engine.h"

namespace {

std::vector<double> Series(size_t n) {
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0, 5);
  std::vector<double> v(n);
  for (size_t h = 0; h < n; ++h) {
    v[h] = 200 + 80 * std::sin(2 * M_PI * static_cast<double>(h % 24) / 24.0) - ((h / 24) % 7 >= 5 ? 60 : 0) +
           noise(rng);
  }
  return v;
}

const std::vector<double>& Data() {
  static const std::vector<double> kData = Series(1 << 16);
  return kData;
}

double ReadOnce(const std::vector<double>& v) {
  double sum = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    osprey::detect::Observation o{static_cast<int64_t>(i) * 3600, static_cast<int64_t>(i) * 3600, v[i]};
    sum += *o.value + static_cast<double>(o.time & 1);
  }
  return sum;
}

// Seconds per point of a read pass, best of a few runs.
double ReadSecondsPerPoint() {
  const auto& v = Data();
  double best = 1e9;
  for (int r = 0; r < 20; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(ReadOnce(v));
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
    best = std::min(best, d.count() / static_cast<double>(v.size()));
  }
  return best;
}

void BM_ReadPass(benchmark::State& state) {
  const auto& v = Data();
  for (auto _ : state) {
    double sum = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      osprey::detect::Observation o{static_cast<int64_t>(i) * 3600, static_cast<int64_t>(i) * 3600, v[i]};
      sum += *o.value + static_cast<double>(o.time & 1);
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["points/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * v.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReadPass);

void BM_ObserveHourlyWeekly(benchmark::State& state) {
  const auto& v = Data();
  size_t bytes = 0;
  const double read_spp = ReadSecondsPerPoint();
  double model_spp = 1e9;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<osprey::detect::Model> model;
    if (state.range(0) == 0) {
      osprey::detect::ModelOptions options;
      options.interval_seconds = 3600;
      model = *osprey::detect::CreateModel(options);
    } else {
      osprey::stream::EngineOptions options;
      options.interval_seconds = 3600;
      options.engine = state.range(0) == 1 ? osprey::stream::Engine::kNovelty : osprey::stream::Engine::kArt;
      model = *osprey::stream::CreateEngine(options);
    }
    double sum = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      auto s = model->Observe({static_cast<int64_t>(i) * 3600, static_cast<int64_t>(i) * 3600, v[i]});
      sum += s.anomaly;
    }
    benchmark::DoNotOptimize(sum);
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
    model_spp = std::min(model_spp, d.count() / static_cast<double>(v.size()));
    state.PauseTiming();
    bytes = model->SaveState().size();
    state.ResumeTiming();
  }
  state.counters["points/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * v.size()), benchmark::Counter::kIsRate);
  state.counters["state_bytes"] = static_cast<double>(bytes);
  state.counters["ratio_to_read"] = model_spp / read_spp;
}
BENCHMARK(BM_ObserveHourlyWeekly)->Arg(0)->Arg(1)->Arg(2);

}  // namespace

BENCHMARK_MAIN();
