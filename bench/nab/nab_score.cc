// nab_score: scores detector outputs with osprey's NAB scorer, or runs
// osprey's detector over the NAB corpus and scores it.
//
//   nab_score --nab DIR --results DIR --detector NAME   score NAB-layout outputs
//   nab_score --nab DIR --osprey [--out DIR]            run osprey, then score
//
// Prints, per profile, the score at the stored threshold (when the detector
// has one in config/thresholds.json) and at the optimised threshold.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/nab/nab_runner.h"
#include "bench/nab/nab_scorer.h"

namespace {

int Fail(const osprey::Status& s) {
  std::fprintf(stderr, "nab_score: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string nab_dir = "../shared/benchmarks/nab", results, detector, out_dir;
  bool run_osprey = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--nab") nab_dir = next();
    else if (a == "--results") results = next();
    else if (a == "--detector") detector = next();
    else if (a == "--out") out_dir = next();
    else if (a == "--osprey") run_osprey = true;
    else {
      std::fprintf(stderr,
                   "usage: nab_score --nab DIR (--results DIR --detector NAME | --osprey "
                   "[--out DIR])\n");
      return 2;
    }
  }
  auto labels = osprey::nab::ReadLabels(nab_dir + "/labels/combined_windows.json");
  if (!labels.ok()) return Fail(labels.status());
  auto profiles = osprey::nab::ReadProfiles(nab_dir + "/config/profiles.json");
  if (!profiles.ok()) return Fail(profiles.status());

  osprey::nab::CorpusScores scores;
  if (run_osprey) {
    detector = "osprey";
    auto s = osprey::nab::RunOsprey(nab_dir, *labels, out_dir);
    if (!s.ok()) return Fail(s.status());
    scores = std::move(*s);
  } else {
    if (results.empty() || detector.empty()) return Fail(osprey::InvalidArgument("need --results and --detector"));
    auto s = osprey::nab::ReadResultsDir(results, detector, *labels);
    if (!s.ok()) return Fail(s.status());
    scores = std::move(*s);
  }
  std::printf("%-20s %-10s %10s %10s %6s %6s %7s\n", "profile", "mode", "threshold", "score",
              "TP", "FN", "FProws");
  for (const auto& p : *profiles) {
    auto sweep = osprey::nab::Sweep::Build(*labels, scores, p);
    if (!sweep.ok()) return Fail(sweep.status());
    auto stored = osprey::nab::ReadThreshold(nab_dir + "/config/thresholds.json", detector, p.name);
    if (stored.ok()) {
      auto r = sweep->ScoreAt(*stored);
      std::printf("%-20s %-10s %10.6f %10.2f %6lld %6lld %7lld\n", p.name.c_str(), "stored",
                  r.threshold, r.normalised, static_cast<long long>(r.tp),
                  static_cast<long long>(r.fn), static_cast<long long>(r.fp));
    }
    auto r = sweep->Optimise();
    std::printf("%-20s %-10s %10.6f %10.2f %6lld %6lld %7lld\n", p.name.c_str(), "optimised",
                r.threshold, r.normalised, static_cast<long long>(r.tp),
                static_cast<long long>(r.fn), static_cast<long long>(r.fp));
  }
  return 0;
}
