// nab_score: scores detector outputs with osprey's NAB scorer, or runs
// osprey's detector over the NAB corpus and scores it.
//
//   nab_score --nab DIR --results DIR --detector NAME   score NAB-layout outputs
//   nab_score --nab DIR --osprey [--out DIR]            run osprey, then score
//   ... --osprey --set NAME=VALUE ...                   experiment: override one
//       stream, novelty or art_* option, or the engine (engine=0 novelty,
//       engine=1 ART); not the published configuration
//   ... --cv K                                          also cross-validate
//
// Prints, per profile, the score at the stored threshold (when the detector
// has one in config/thresholds.json) and at the optimised threshold. NAB
// optimises that threshold on the files it scores; --cv K adds a row "cvK":
// the files (sorted by path) are dealt to K folds in turn, each fold is
// scored at the threshold optimised on the other folds, and the held-out
// folds are normalised together (null and perfect detectors over all files).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/nab/nab_runner.h"
#include "bench/nab/nab_scorer.h"

namespace {

// Applies "name=value" to the stream options; false if the name is unknown.
bool SetOption(osprey::stream::StreamOptions& o, const std::string& kv) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos) return false;
  std::string k = kv.substr(0, eq);
  double v = std::strtod(kv.c_str() + eq + 1, nullptr);
  auto& n = o.novelty;
  if (k == "alarm_level") o.alarm_level = v;
  else if (k == "suppress_fraction") o.suppress_fraction = v;
  else if (k == "suppress_min_rows") o.suppress_min_rows = static_cast<int64_t>(v);
  else if (k == "suppressed_factor") o.suppressed_factor = v;
  else if (k == "pass_stronger") o.pass_stronger = v != 0;
  else if (k == "quiet_mode") o.quiet_mode = static_cast<int>(v);
  else if (k == "alarm_tail") o.alarm_tail = v;
  else if (k == "output_rarity_weight") o.output_rarity_weight = v;
  else if (k == "output_decades") o.output_decades = v;
  else if (k == "debounce_rows") o.debounce_rows = static_cast<int64_t>(v);
  else if (k == "debounce_level") o.debounce_level = v;
  else if (k == "debounce_margin") o.debounce_margin = v;
  else if (k == "ensemble_mode") o.ensemble_mode = static_cast<int>(v);
  else if (k == "ensemble_art_weight") o.ensemble_art_weight = v;
  else if (k == "ensemble_confirm_rows") o.ensemble_confirm_rows = static_cast<int64_t>(v);
  else if (k == "ensemble_confirm_level") o.ensemble_confirm_level = v;
  else if (k == "engine") o.engine = static_cast<osprey::stream::Engine>(static_cast<int>(v));
  else if (k == "levels") n.levels = static_cast<int>(v);
  else if (k == "max_context") n.max_context = static_cast<int>(v);
  else if (k == "table_bits") n.table_bits = static_cast<int>(v);
  else if (k == "residual_alpha") n.residual_alpha = v;
  else if (k == "scale_alpha") n.scale_alpha = v;
  else if (k == "window") n.window = static_cast<int>(v);
  else if (k == "long_alpha") n.long_alpha = v;
  else if (k == "novelty_weight") n.novelty_weight = v;
  else if (k == "likelihood_weight") n.likelihood_weight = v;
  else if (k == "warmup") n.warmup = static_cast<int>(v);
  else if (k == "chomp") n.chomp = v;
  else if (k == "rarity_weight") n.rarity_weight = v;
  else if (k == "rarity_decades") n.rarity_decades = v;
  else if (k == "coarse_mix") n.coarse_mix = static_cast<int>(v);
  else if (k == "coarse_step") n.coarse_step = static_cast<int>(v);
  else if (k == "coarse_weight") n.coarse_weight = v;
  else if (k == "time_contexts") n.time_contexts = static_cast<int>(v);
  else if (k == "calm_rows") n.calm_rows = static_cast<int>(v);
  else if (k == "calm_level") n.calm_level = v;
  else if (k == "calm_factor") n.calm_factor = v;
  else if (k == "edge_margin") n.edge_margin = v;
  else if (k == "novelty_likelihood_weight") n.novelty_likelihood_weight = v;
  else if (k == "median_rate") n.median_rate = v;
  else if (k == "predict_weight") n.predict_weight = v;
  else if (k == "predict_support") n.predict_support = static_cast<int>(v);
  else if (k == "predict_share") n.predict_share = v;
  else if (k == "predict_mode") n.predict_mode = static_cast<int>(v);
  else if (k == "predict_mix") n.predict_mix = static_cast<int>(v);
  else if (k == "predict_bits") n.predict_bits = static_cast<int>(v);
  else if (k == "predict_unseen") n.predict_unseen = static_cast<int>(v);
  else if (k == "knn_weight") n.knn_weight = v;
  else if (k == "knn_dim") n.knn_dim = static_cast<int>(v);
  else if (k == "knn_step") n.knn_step = static_cast<int>(v);
  else if (k == "knn_step_seconds") n.knn_step_seconds = static_cast<int64_t>(v);
  else if (k == "knn_k") n.knn_k = static_cast<int>(v);
  else if (k == "knn_memory") n.knn_memory = static_cast<int>(v);
  else if (k == "knn_center") n.knn_center = static_cast<int>(v);
  else if (k == "knn_warm") n.knn_warm = static_cast<int>(v);
  else if (k == "knn2_weight") n.knn2_weight = v;
  else if (k == "knn2_dim") n.knn2_dim = static_cast<int>(v);
  else if (k == "knn2_step_seconds") n.knn2_step_seconds = static_cast<int64_t>(v);
  else if (k == "knn2_warm") n.knn2_warm = static_cast<int>(v);
  else if (k == "knn_mix") n.knn_mix = static_cast<int>(v);
  else if (k == "knn_eval") n.knn_eval = static_cast<int>(v);
  else if (k == "art_step") o.art.step = static_cast<int>(v);
  else if (k == "art_step_seconds") o.art.step_seconds = static_cast<int64_t>(v);
  else if (k == "art_window") o.art.window = static_cast<int>(v);
  else if (k == "art_shape") o.art.shape = v != 0;
  else if (k == "art_train_steps") o.art.train_steps = static_cast<int>(v);
  else if (k == "art_trend_steps") o.art.trend_steps = static_cast<int>(v);
  else if (k == "art_max_categories") o.art.max_categories = static_cast<int>(v);
  else if (k == "art_initial_rho") o.art.initial_rho = v;
  else if (k == "art_rho_cap") o.art.rho_cap = v;
  else if (k == "art_rho_rise") o.art.rho_rise = v;
  else if (k == "art_levels") o.art.levels = static_cast<int>(v);
  else if (k == "art_chomp") o.art.chomp = v;
  else if (k == "art_spike_share") o.art.spike_share = v;
  else if (k == "art_mask_factor") o.art.mask_factor = v;
  else if (k == "art_feature_power") o.art.feature_power = v;
  else if (k == "art_energy_power") o.art.energy_power = v;
  else if (k == "art_energy_weight") o.art.energy_weight = v;
  else if (k == "art_rarity_weight") o.art.rarity_weight = v;
  else if (k == "art_rarity_decades") o.art.rarity_decades = v;
  else if (k == "art_coarse_factor") o.art.coarse_factor = static_cast<int>(v);
  else if (k == "art_coarse_weight") o.art.coarse_weight = v;
  else if (k == "art_novelty_weight") o.art.novelty_weight = v;
  else return false;
  return true;
}

int Fail(const osprey::Status& s) {
  std::fprintf(stderr, "nab_score: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string nab_dir = "../shared/benchmarks/nab", results, detector, out_dir;
  bool run_osprey = false;
  int cv = 0;
  osprey::stream::StreamOptions options = osprey::nab::NabStreamOptions();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--nab") nab_dir = next();
    else if (a == "--results") results = next();
    else if (a == "--detector") detector = next();
    else if (a == "--out") out_dir = next();
    else if (a == "--osprey") run_osprey = true;
    else if (a == "--cv" && i + 1 < argc && std::atoi(argv[i + 1]) >= 2) cv = std::atoi(argv[++i]);
    else if (a == "--set" && i + 1 < argc && SetOption(options, argv[i + 1])) ++i;
    else {
      std::fprintf(stderr,
                   "usage: nab_score --nab DIR (--results DIR --detector NAME | --osprey "
                   "[--out DIR] [--set NAME=VALUE]...) [--cv K (>= 2)]\n");
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
    auto s = osprey::nab::RunOsprey(nab_dir, *labels, out_dir, options);
    if (!s.ok()) return Fail(s.status());
    scores = std::move(*s);
  } else {
    if (results.empty() || detector.empty())
      return Fail(osprey::InvalidArgument("need --results and --detector"));
    auto s = osprey::nab::ReadResultsDir(results, detector, *labels);
    if (!s.ok()) return Fail(s.status());
    scores = std::move(*s);
  }
  std::printf("%-20s %-10s %10s %10s %6s %6s %7s\n", "profile", "mode", "threshold", "score", "TP", "FN",
              "FProws");
  for (const auto& p : *profiles) {
    auto sweep = osprey::nab::Sweep::Build(*labels, scores, p);
    if (!sweep.ok()) return Fail(sweep.status());
    auto stored = osprey::nab::ReadThreshold(nab_dir + "/config/thresholds.json", detector, p.name);
    if (stored.ok()) {
      auto r = sweep->ScoreAt(*stored);
      std::printf("%-20s %-10s %10.6f %10.2f %6lld %6lld %7lld\n", p.name.c_str(), "stored", r.threshold,
                  r.normalised, static_cast<long long>(r.tp), static_cast<long long>(r.fn),
                  static_cast<long long>(r.fp));
    }
    auto r = sweep->Optimise();
    std::printf("%-20s %-10s %10.6f %10.2f %6lld %6lld %7lld\n", p.name.c_str(), "optimised", r.threshold,
                r.normalised, static_cast<long long>(r.tp), static_cast<long long>(r.fn),
                static_cast<long long>(r.fp));
    if (cv > 0) {
      auto c = osprey::nab::CrossValidate(osprey::nab::SplitFolds(*labels, cv), scores, p);
      if (!c.ok()) return Fail(c.status());
      std::string thresholds;
      for (const auto& f : c->folds) {
        thresholds += (thresholds.empty() ? "" : " ") + std::to_string(f.threshold).substr(0, 8);
      }
      const std::string mode = "cv" + std::to_string(cv);
      std::printf("%-20s %-10s %10s %10.2f %6lld %6lld %7lld  fold thresholds %s\n", p.name.c_str(),
                  mode.c_str(), "per fold", c->held_out.normalised, static_cast<long long>(c->held_out.tp),
                  static_cast<long long>(c->held_out.fn), static_cast<long long>(c->held_out.fp),
                  thresholds.c_str());
    }
  }
  return 0;
}
