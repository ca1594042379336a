// rca_bench: scores LocateRootCauses on the RCA benchmarks in
// shared/benchmarks/rca and prints F1/P/R per set next to the peer scores
// measured there (README section 4 of each set), with the search's CPU time
// per case.
//
//   rca_bench --all DIR          every set: DIR/squeeze_B0, DIR/riskloc_synth
//                                (S and L) and the generated ratio set
//   rca_bench --data DIR         the settings under one folder
//   rca_bench --synth S|L|R [--seed N] [--cases N] [--view ratio|numerator|leaf-ratio]
//                                generated cases (for tuning: not the reported seeds)
//   rca_bench --case FILE.csv[.gz]   one case: prints its root-cause set
//   options: [--verbose] [--max-layer N] [--min-purity X] [--min-gain X]
//            [--min-deviation X] [--noise-multiplier X] [--min-shift-fraction X]
//            [--min-z-fraction X] [--clip-multiple X]
//            [--forecast-noise SD]   (stress test: noisier forecasts, seeded)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <string>

#include "osprey/cli/rca_input.h"
#include "rca_eval.h"

namespace {

using osprey::rca::RootCauseOptions;
using osprey::rca::bench::Counts;
using osprey::rca::bench::RatioView;
using osprey::rca::bench::SettingResult;

constexpr double kNone = -1;  // peer not measured on the set

// Peer F1 from shared/benchmarks/rca/README.md §4 (B0, 90 shipped cases) and
// shared/benchmarks/rca/riskloc_synth/README.md §4 (S, L), default parameters.
struct Peers {
  double riskloc, autoroot, third;  // third: HotSpot on B0, Adtributor on S and L
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
      {"B0 all", {0.961, 0.917, 0.556}},
      {"S", {0.507, 0.466, 0.056}},
      {"L", {0.701, 0.550, 0.000}},
  };
  return kTable;
}

// The generated ratio set that is reported: a seed never used for tuning.
constexpr uint64_t kRatioSeed = 2026;
constexpr int kRatioCases = 100;

int Usage() {
  std::cerr << "usage: rca_bench --all DIR | --data DIR | --synth S|L|R [--seed N] [--cases N]\n"
               "                 [--view ratio|numerator|leaf-ratio] | --case FILE.csv[.gz]\n"
               "       [--verbose] [--max-layer N] [--min-purity X] [--min-gain X]\n"
               "       [--min-deviation X] [--noise-multiplier X] [--min-shift-fraction X]\n"
               "       [--min-z-fraction X] [--clip-multiple X] [--forecast-noise SD]\n";
  return 2;
}

std::string Figure(double x) {
  if (x < 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3f", x);
  return buf;
}

void Header(const char* third) {
  std::printf("%-26s %5s %6s %6s %6s | %7s %8s %10s | %8s\n", "set", "cases", "F1", "P", "R", "RiskLoc",
              "AutoRoot", third, "ms/case");
}

void Row(const std::string& name, int n, const Counts& c, double total_ms) {
  const auto it = PeerTable().find(name);
  const Peers p = it != PeerTable().end() ? it->second : Peers{kNone, kNone, kNone};
  const double best = std::max({p.riskloc, p.autoroot, p.third});
  std::printf("%-26s %5d %6.3f %6.3f %6.3f | %7s %8s %10s | %8.2f %s\n", name.c_str(), n, c.F1(),
              c.Precision(), c.Recall(), Figure(p.riskloc).c_str(), Figure(p.autoroot).c_str(),
              Figure(p.third).c_str(), n > 0 ? total_ms / n : 0.0,
              best < 0 || c.F1() + 1e-9 >= best ? "" : "< best peer");
}

void BySize(const SettingResult& r) {
  for (const auto& [size, c] : r.by_size) {
    std::printf("    %zu-attribute elements: found %lld of %lld, %lld false\n", size,
                static_cast<long long>(c.tp), static_cast<long long>(c.tp + c.fn),
                static_cast<long long>(c.fp));
  }
}

// Prints one folder's settings; B0's nine settings also get a micro total.
bool Folder(const std::string& dir, const RootCauseOptions& options, std::ostream* log,
            const osprey::rca::bench::StressOptions& stress, const char* third) {
  auto results = osprey::rca::bench::RunBenchmark(dir, options, log, stress);
  if (!results.ok()) {
    std::cerr << "rca_bench: " << results.status().ToString() << "\n";
    return false;
  }
  Header(third);
  Counts all;
  int cases = 0;
  double ms = 0;
  for (const auto& r : *results) {
    Row(r.setting, r.cases, r.counts, r.search_ms);
    if (results->size() <= 2) BySize(r);
    all.Add(r.counts);
    cases += r.cases;
    ms += r.search_ms;
  }
  if (results->size() > 2) Row("B0 all", cases, all, ms);
  return true;
}

bool RatioSet(uint64_t seed, int cases, const RootCauseOptions& options, std::ostream* log) {
  std::printf("%-34s %5s %6s %6s %6s | %8s\n", "ratio set R (generated)", "cases", "F1", "P", "R", "ms/case");
  const std::pair<RatioView, const char*> views[] = {
      {RatioView::kRatio, "osprey, ratio leaves"},
      {RatioView::kLeafRatio, "baseline: leaf ratio as the value"},
      {RatioView::kNumerator, "baseline: numerator alone"}};
  for (const auto& [view, name] : views) {
    auto r = osprey::rca::bench::RunSynthetic("R", seed, cases, options, view,
                                              view == RatioView::kRatio ? log : nullptr);
    if (!r.ok()) {
      std::cerr << "rca_bench: " << r.status().ToString() << "\n";
      return false;
    }
    std::printf("%-34s %5d %6.3f %6.3f %6.3f | %8.2f\n", name, r->cases, r->counts.F1(),
                r->counts.Precision(), r->counts.Recall(), r->cases > 0 ? r->search_ms / r->cases : 0.0);
    if (view == RatioView::kRatio) BySize(*r);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string all_dir;
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
    if (arg == "--all" && i + 1 < argc) {
      all_dir = argv[++i];
    } else if (arg == "--data" && i + 1 < argc) {
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
    } else if (arg == "--count-noise-min-purity" && value(x)) {
      options.count_noise_min_purity = x;
    } else if (arg == "--count-noise-ratio" && value(x)) {
      options.count_noise_ratio = x;
    } else if (arg == "--clip-multiple" && value(x)) {
      options.clip_multiple = x;
    } else if (arg == "--forecast-noise" && value(x)) {
      stress.forecast_noise_sd = x;
    } else {
      return Usage();
    }
  }
  std::ostream* log = verbose ? &std::cout : nullptr;
  if (!case_file.empty()) {
    // One case, read as `osprey rca --csv FILE` reads it.
    auto cube = osprey::rca::bench::LoadCaseFile(case_file);
    if (!cube.ok()) {
      std::cerr << "rca_bench: " << cube.status().ToString() << "\n";
      return 1;
    }
    timespec t0{};
    timespec t1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    auto causes = osprey::rca::LocateRootCauses(*cube, options);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    const double ms = 1e3 * static_cast<double>(t1.tv_sec - t0.tv_sec) +
                      1e-6 * static_cast<double>(t1.tv_nsec - t0.tv_nsec);
    if (!causes.ok()) {
      std::cerr << "rca_bench: " << causes.status().ToString() << "\n";
      return 1;
    }
    std::printf("%s\n", osprey::cli::RcaSetString(*cube, *causes).c_str());
    for (const auto& c : *causes) {
      std::fprintf(stderr, "  %-40s share %6.1f%%  purity %.3f  confidence %.3f  score %.3f\n",
                   osprey::cli::RcaElementString(*cube, c.element).c_str(), c.deviation_share, c.purity,
                   c.confidence, c.score);
    }
    std::fprintf(stderr, "%zu leaves, %.2f ms CPU\n", cube->num_leaves(), ms);
    return 0;
  }
  if (!synth.empty()) {
    const RatioView view = view_name == "numerator"    ? RatioView::kNumerator
                           : view_name == "leaf-ratio" ? RatioView::kLeafRatio
                                                       : RatioView::kRatio;
    auto r = osprey::rca::bench::RunSynthetic(synth, static_cast<uint64_t>(synth_seed),
                                              static_cast<int>(synth_cases), options, view, log);
    if (!r.ok()) {
      std::cerr << "rca_bench: " << r.status().ToString() << "\n";
      return 1;
    }
    std::printf("%s view %s: %d cases F1 %.3f P %.3f R %.3f  %.2f ms/case\n", r->setting.c_str(),
                view_name.c_str(), r->cases, r->counts.F1(), r->counts.Precision(), r->counts.Recall(),
                r->cases > 0 ? r->search_ms / r->cases : 0.0);
    BySize(*r);
    return 0;
  }
  if (!all_dir.empty()) {
    std::printf("Squeeze B0 (90 shipped cases; third peer column: HotSpot)\n");
    if (!Folder(all_dir + "/squeeze_B0", options, log, stress, "HotSpot")) return 1;
    std::printf("\nRiskLoc synthetic S and L (shipped cases; third peer column: Adtributor)\n");
    if (!Folder(all_dir + "/riskloc_synth", options, log, stress, "Adtributor")) return 1;
    std::printf("\n");
    if (!RatioSet(kRatioSeed, kRatioCases, options, log)) return 1;
    std::printf(
        "\nms/case: CPU time of the search alone, one thread (reading the file excluded), "
        "as the peers' figures are CPU times.\n");
    return 0;
  }
  if (data.empty()) return Usage();
  if (!Folder(data, options, log, stress, "3rd peer")) return 1;
  if (stress.forecast_noise_sd > 0) {
    std::printf("(stressed with forecast noise sd %.3f; peer columns are for the unperturbed data)\n",
                stress.forecast_noise_sd);
  }
  return 0;
}
