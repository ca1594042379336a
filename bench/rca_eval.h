// Loader and scorer for the multi-dimensional RCA benchmarks in
// shared/benchmarks/rca (see its README): reads the gzip case files and the
// ground truth, runs LocateRootCauses per case and scores exact-element
// precision/recall/F1, micro-averaged as in the Squeeze and RiskLoc
// evaluation scripts. This is tooling, not part of the pure rca library: it
// reads files and measures wall time. Not thread-safe across calls that share
// an output stream.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/rca/cube.h"
#include "osprey/rca/root_cause.h"

namespace osprey::rca::bench {

// Reads a case file the way `osprey rca` does (cli::LoadRcaCsv: gzip or
// plain CSV, quoted fields, columns real, predict or expected, and one column
// per dimension, in any order).
Result<Cube> LoadCaseFile(const std::string& path);

// An element in canonical form: its "k=v" pairs sorted and joined with '&'.
std::string CanonicalElement(const std::string& element);
// Splits "e1;e2" into canonical elements, dropping duplicates and blanks.
std::set<std::string> ParseElementSet(const std::string& set);

struct Counts {
  int64_t tp = 0;
  int64_t fp = 0;
  int64_t fn = 0;
  void Add(const Counts& o) {
    tp += o.tp;
    fp += o.fp;
    fn += o.fn;
  }
  double Precision() const {
    return tp + fp > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0;
  }
  double Recall() const { return tp + fn > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0; }
  double F1() const {
    const int64_t den = 2 * tp + fp + fn;
    return den > 0 ? 2.0 * static_cast<double>(tp) / static_cast<double>(den) : 0;
  }
};

// Exact-set comparison of one case.
Counts ScoreCase(const std::set<std::string>& predicted, const std::set<std::string>& truth);

struct SettingResult {
  std::string setting;  // e.g. B_cuboid_layer_2_n_ele_3
  Counts counts;
  // By number of pairs in an element: tp and fn of true elements of that
  // size, fp of predicted elements of that size.
  std::map<size_t, Counts> by_size;
  int cases = 0;
  double search_ms = 0;  // total LocateRootCauses CPU time (this thread) over the cases
};

// Stress knobs for robustness checks beyond the shipped data.
struct StressOptions {
  // When > 0, each leaf's expected value is multiplied by (1 + N(0, sd)),
  // seeded per case, as a noisier forecast would be (like Squeeze's B1-B4).
  double forecast_noise_sd = 0;
};

// Runs every <setting>/<timestamp>.csv.gz under `dir` whose timestamp appears
// in <setting>/injection_info.csv. Settings are sorted by name. When `log` is
// not null, writes one line per case (prediction, truth, counts). Fails with
// NotFound if `dir` has no setting, or the error of a file that fails to load.
Result<std::vector<SettingResult>> RunBenchmark(const std::string& dir, const RootCauseOptions& options,
                                                std::ostream* log, const StressOptions& stress = {});

// How a ratio cube is handed to the search: as a ratio (numerator and
// denominator), or as the baselines a method without ratio support would
// see: the numerator alone, or each leaf's ratio as if it were additive.
enum class RatioView { kRatio, kNumerator, kLeafRatio };

// Cube `view` of a ratio cube (a copy of `cube` for kRatio or an additive cube).
Result<Cube> ViewOf(const Cube& cube, RatioView view);

// Scores `cases` synthetic cases of `preset` (see rca_synth.h) from `seed`.
Result<SettingResult> RunSynthetic(const std::string& preset, uint64_t seed, int cases,
                                   const RootCauseOptions& options, RatioView view, std::ostream* log);

}  // namespace osprey::rca::bench
