// rca_bench: scores LocateRootCauses on the Squeeze B0 cases shipped in
// shared/benchmarks/rca and prints F1/P/R per setting next to the peer
// scores measured in that folder's README (section 4).
//
//   rca_bench --data ../shared/benchmarks/rca/squeeze_B0 [--verbose]
//             [--max-layer N] [--min-purity X] [--min-gain X]
//             [--min-deviation X] [--noise-multiplier X] [--target-coverage X]
//             [--purity-cutoff-fraction X] [--min-abnormal-leaves N]
//             [--forecast-noise SD]   (stress test: noisier forecasts, seeded)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "rca_eval.h"

namespace {

using osprey::rca::RootCauseOptions;
using osprey::rca::bench::Counts;

// Peer F1 on the shipped 90 cases, from shared/benchmarks/rca/README.md §4.
struct Peers {
  double riskloc, autoroot, hotspot;
};
const std::map<std::string, Peers>& PeerTable() {
  static const std::map<std::string, Peers> kTable = {
      {"B_cuboid_layer_1_n_ele_1", {0.857, 1.000, 1.000}},
      {"B_cuboid_layer_1_n_ele_2", {0.950, 0.974, 0.667}},
      {"B_cuboid_layer_1_n_ele_3", {0.983, 0.929, 0.500}},
      {"B_cuboid_layer_2_n_ele_1", {1.000, 1.000, 1.000}},
      {"B_cuboid_layer_2_n_ele_2", {0.950, 1.000, 0.467}},
      {"B_cuboid_layer_2_n_ele_3", {0.967, 0.815, 0.500}},
      {"B_cuboid_layer_3_n_ele_1", {1.000, 1.000, 0.300}},
      {"B_cuboid_layer_3_n_ele_2", {0.974, 0.947, 0.467}},
      {"B_cuboid_layer_3_n_ele_3", {0.947, 0.776, 0.400}},
      {"all", {0.961, 0.917, 0.556}},
  };
  return kTable;
}

int Usage() {
  std::cerr << "usage: rca_bench --data DIR [--verbose] [--max-layer N] [--min-purity X]\n"
               "       rca_bench --case FILE.csv[.gz]   (one case: prints its root-cause set)\n"
               "       [--min-gain X] [--min-deviation X] [--noise-multiplier X]\n"
               "       [--target-coverage X] [--purity-cutoff-fraction X]\n"
               "       [--min-abnormal-leaves N]"
               "       [--forecast-noise SD]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data;
  std::string case_file;
  std::string synth;
  double synth_seed = 1;
  double synth_cases = 20;
  std::string view_name = "ratio";
  bool verbose = false;
  RootCauseOptions options;
  osprey::rca::bench::StressOptions stress;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](double& out) {
      if (i + 1 >= argc) return false;
      out = std::strtod(argv[++i], nullptr);
      return true;
    };
    double x = 0;
    if (arg == "--data" && i + 1 < argc) {
      data = argv[++i];
    } else if (arg == "--synth" && i + 1 < argc) {
      synth = argv[++i];
    } else if (arg == "--seed" && value(synth_seed)) {
    } else if (arg == "--cases" && value(synth_cases)) {
    } else if (arg == "--view" && i + 1 < argc) {
      view_name = argv[++i];
    } else if (arg == "--case" && i + 1 < argc) {
      case_file = argv[++i];
    } else if (arg == "--verbose") {
      verbose = true;
    } else if (arg == "--max-layer" && value(x)) {
      options.max_layer = static_cast<size_t>(x);
    } else if (arg == "--min-purity" && value(x)) {
      options.min_purity = x;
    } else if (arg == "--min-gain" && value(x)) {
      options.min_gain = x;
    } else if (arg == "--min-deviation" && value(x)) {
      options.min_deviation = x;
    } else if (arg == "--noise-multiplier" && value(x)) {
      options.noise_multiplier = x;
    } else if (arg == "--min-shift-fraction" && value(x)) {
      options.min_shift_fraction = x;
    } else if (arg == "--min-z-fraction" && value(x)) {
      options.min_z_fraction = x;
    } else if (arg == "--clip-multiple" && value(x)) {
      options.clip_multiple = x;
    } else if (arg == "--forecast-noise" && value(x)) {
      stress.forecast_noise_sd = x;
    } else {
      return Usage();
    }
  }
  if (!case_file.empty()) {
    // One case in the benchmark's format: real,predict and one column per dimension.
    auto cube = osprey::rca::bench::LoadCaseFile(case_file);
    if (!cube.ok()) {
      std::cerr << "rca_bench: " << cube.status().ToString() << "\n";
      return 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto causes = osprey::rca::LocateRootCauses(*cube, options);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!causes.ok()) {
      std::cerr << "rca_bench: " << causes.status().ToString() << "\n";
      return 1;
    }
    std::string set;
    for (const auto& c : *causes) {
      if (!set.empty()) set += ";";
      set += osprey::rca::ElementToString(*cube, c.element);
    }
    std::printf("%s\n", set.c_str());
    for (const auto& c : *causes) {
      std::fprintf(stderr, "  %-40s share %6.1f%%  purity %.3f  score %.3f\n",
                   osprey::rca::ElementToString(*cube, c.element).c_str(), c.deviation_share, c.purity,
                   c.score);
    }
    std::fprintf(stderr, "%zu leaves, %.2f ms\n", cube->num_leaves(), ms);
    return 0;
  }
  if (!synth.empty()) {
    using osprey::rca::bench::RatioView;
    const RatioView view = view_name == "numerator"    ? RatioView::kNumerator
                           : view_name == "leaf-ratio" ? RatioView::kLeafRatio
                                                       : RatioView::kRatio;
    auto r = osprey::rca::bench::RunSynthetic(synth, static_cast<uint64_t>(synth_seed),
                                              static_cast<int>(synth_cases), options, view,
                                              verbose ? &std::cout : nullptr);
    if (!r.ok()) {
      std::cerr << "rca_bench: " << r.status().ToString() << "\n";
      return 1;
    }
    std::printf("%s view %s: %d cases F1 %.3f P %.3f R %.3f  %.2f ms/case\n", r->setting.c_str(),
                view_name.c_str(), r->cases, r->counts.F1(), r->counts.Precision(),
                r->counts.Recall(), r->cases > 0 ? r->search_ms / r->cases : 0.0);
    for (const auto& [size, c] : r->by_size) {
      std::printf("  %zu pairs: found %lld of %lld, %lld false\n", size,
                  static_cast<long long>(c.tp), static_cast<long long>(c.tp + c.fn),
                  static_cast<long long>(c.fp));
    }
    return 0;
  }
  if (data.empty()) return Usage();

  auto results = osprey::rca::bench::RunBenchmark(data, options, verbose ? &std::cout : nullptr, stress);
  if (!results.ok()) {
    std::cerr << "rca_bench: " << results.status().ToString() << "\n";
    return 1;
  }
  std::printf("%-26s %5s %6s %6s %6s | %7s %8s %7s | %8s\n", "setting", "cases", "F1", "P", "R",
              "RiskLoc", "AutoRoot", "HotSpot", "ms/case");
  Counts all;
  int cases = 0;
  double ms = 0;
  auto row = [](const std::string& name, int n, const Counts& c, double total_ms) {
    const auto it = PeerTable().find(name);
    const Peers p = it != PeerTable().end() ? it->second : Peers{0, 0, 0};
    const double best = std::max({p.riskloc, p.autoroot, p.hotspot});
    std::printf("%-26s %5d %6.3f %6.3f %6.3f | %7.3f %8.3f %7.3f | %8.2f %s\n", name.c_str(), n,
                c.F1(), c.Precision(), c.Recall(), p.riskloc, p.autoroot, p.hotspot,
                n > 0 ? total_ms / n : 0.0, c.F1() + 1e-9 >= best ? "" : "< best peer");
  };
  for (const auto& r : *results) {
    row(r.setting, r.cases, r.counts, r.search_ms);
    all.Add(r.counts);
    cases += r.cases;
    ms += r.search_ms;
  }
  row("all", cases, all, ms);
  if (stress.forecast_noise_sd > 0) {
    std::printf("(stressed with forecast noise sd %.3f; peer columns are for the unperturbed "
                "data)\n", stress.forecast_noise_sd);
  }
  return 0;
}
