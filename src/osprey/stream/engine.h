// The stream engines' shared vocabulary: which engine, its tuning and the
// factory. The engines (novelty, ART) score one series row by row, as
// `osprey score --csv` and the NAB runner do (stream.h); they implement
// detect::Model but are not pipeline models: they flag new behaviour for a
// benchmark that scores every series with one global threshold, and their
// state is far larger than the pipeline's models'. Pure: no IO, no clock.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "osprey/base/status.h"
#include "osprey/detect/model.h"

namespace osprey::stream {

// The engines are detect::Models, seen through the same interface.
using detect::Direction;
using detect::Explanation;
using detect::Model;
using detect::Observation;
using detect::Score;

// Which engine CreateEngine builds. kNovelty (novelty_model.h) is the main
// engine of DefaultStreamOptions; kArt (art_model.h), Adaptive Resonance
// Theory after ARTime, is its confirmer there and an engine of its own.
enum class Engine { kNovelty = 0, kArt };

// Tuning of the novelty engine (stream/novelty_model.h). The defaults are
// the one configuration used for the whole NAB corpus; tests and experiments
// may change them.
struct NoveltyParams {
  int levels = 6;                  // value quantisation levels over the running range
  int max_context = 8;             // longest pattern of recent levels that is checked
  int table_bits = 13;             // 2^bits pattern fingerprints per generation
  double residual_alpha = 0.5;     // learning rate of the short-term prediction
  double scale_alpha = 0.01;       // learning rate of the error scale
  int window = 10;                 // short window of the error likelihood
  double long_alpha = 0.002;       // learning rate of the long-run error statistics
  double novelty_weight = 1.0;     // weight of the pattern novelty in the output
  double likelihood_weight = 0.6;  // weight of the error likelihood in the output
  int warmup = 32;                 // values before the first ready score
  // Values within chomp * range of the running median are quantised as the
  // median itself, so noise around the usual level forms no new patterns.
  double chomp = 0.0;
  double median_rate = 0.01;  // running median step, as a fraction of the range
  // Weight of the novelty likelihood: the mean novelty of the last `window`
  // points against its long-run distribution (HTM's likelihood on novelty).
  double novelty_likelihood_weight = 0.0;
  // A value beyond the running range by less than edge_margin * range is
  // quantised as the edge level: noise that creeps past the old extremes
  // forms no new pattern, a real excursion does.
  double edge_margin = 0.0;
  // Calm gate (after ARTime's masking): pattern novelty counts in full only
  // when no point of the last calm_rows had novelty >= calm_level, or when
  // it exceeds the novelty of the last such point; otherwise it is scaled by
  // calm_factor. 0 rows disables the gate.
  // Patterns of the last 1..time_contexts levels are also checked together
  // with the hour of the (local) day, so a value usual at noon but new at
  // night is novel. 0 disables; series without a daily cycle learn every
  // hour after a day.
  int time_contexts = 0;
  // Coarse channel: the same pattern novelty over steps of coarse_step
  // values (each step represented by its extreme when that deviates more
  // from the running step mean than the other extreme: spikes survive).
  // The open step is scored at every value; its
  // patterns are learnt when it closes. 0 disables.
  int coarse_step = 0;
  double coarse_weight = 1.0;
  // 0: novelty is the larger of fine and coarse; 1: their mean (agreement).
  int coarse_mix = 0;
  // Rarity calibration: novelty becomes (1 - w) * novelty + w * rarity, where
  // rarity = min(1, -log10(share of earlier points with novelty >= this) /
  // rarity_decades). 0 disables.
  double rarity_weight = 0.5;
  double rarity_decades = 4.0;
  int calm_rows = 30;
  double calm_level = 0.5;
  double calm_factor = 0.5;
  // Predictive contexts (after CAD OSE's left/right semi-contexts): each
  // context of the previous 1..max_context levels counts which level followed
  // it. A supported context (seen >= predict_support times) fails to predict
  // the current level when that level followed it in less than predict_share
  // of its occurrences. predict_mode 0: score = failed contexts / max_context;
  // 1: mean over supported contexts of 1 - P(level | context). The score gets
  // the same rarity calibration as the novelty, then is combined with it:
  // predict_mix 0 takes the larger of novelty and predict_weight * score, 1
  // mixes (1 - w) * novelty + w * score, 2 is the noisy-or
  // 1 - (1 - novelty)(1 - w * score). predict_weight 0 (the default: with the
  // KNN channels on it no longer raised the NAB score) disables it and
  // allocates no count table.
  double predict_weight = 0.0;
  int predict_support = 2;
  double predict_share = 0.05;
  int predict_mode = 0;
  int predict_mix = 0;
  int predict_bits = 14;   // 2^bits (fingerprint, count) pairs per generation
  int predict_unseen = 0;  // 1: an unsupported context counts as failed
  // KNN shape distance (after KNN CAD): the shape of the last knn_dim step
  // means (steps of knn_step values, in units of the running range; with
  // knn_center 1 minus the shape's own mean) against the knn_memory shapes
  // stored before it (the newest knn_dim overlapping ones skipped); the
  // distance is the mean RMS distance to the knn_k nearest. Its score is a
  // conformal rarity: min(1, -log10(share of earlier points whose distance
  // was at least as large) / rarity_decades); distances are neither scored
  // nor counted before knn_warm stored shapes are usable, so warm-up
  // distances do not dilute the calibration. Combined like the predictive
  // score (knn_mix 0: max, 1: weighted mean, 2: noisy-or). knn_weight 0
  // disables. Default: 12 steps of 4 values (48 values of shape).
  double knn_weight = 1.0;
  int knn_dim = 12;
  int knn_step = 4;
  int64_t knn_step_seconds = 0;  // > 0: steps of this many seconds (>= 1 value) instead
  int knn_k = 3;
  int knn_memory = 256;
  int knn_center = 0;
  int knn_warm = 120;
  int knn_mix = 0;
  // 0: distances at every value (the open step as the newest element);
  // 1: only when a step closes, the score held until the next close (cost / step).
  int knn_eval = 0;
  // A second KNN channel (shares knn_k, knn_memory, knn_center, knn_mix,
  // knn_eval) for long shapes: by default 16 steps of 2 hours (32 hours), so
  // a day whose pattern breaks is far from every earlier day. It needs
  // knn2_warm + knn2_dim closed steps (~18 days) before it scores. 0 weight
  // disables.
  double knn2_weight = 0.8;
  int knn2_dim = 16;
  int64_t knn2_step_seconds = 7200;
  int knn2_warm = 200;
};

// Tuning of the ART engine (stream/art_model.h). The defaults are the one
// configuration used for the whole NAB corpus.
struct ArtParams {
  // Rows per downsampled step: step_seconds / interval, at least 1 (a step is
  // about the same wall-clock time on every series). step > 0 overrides it.
  int step = 0;
  int64_t step_seconds = 1500;
  int window = 6;        // downsampled values in a feature vector (2..32)
  bool shape = true;     // add the Haar transform of the locally normalised window
  int train_steps = 32;  // steps learnt before the first ready score (sets the vigilance)
  // Steps of the vigilance adaptation: the upper vigilance is revised every
  // trend_steps / 2 steps from the matches of the last trend_steps. 0: train_steps.
  int trend_steps = 64;
  int max_categories = 256;  // bounded memory: the least recently used category is replaced
  double initial_rho = 0.8;  // vigilance of the trial run that picks the first vigilance
  double rho_cap = 0.97;     // ceiling of the upper vigilance
  double rho_rise = 0.19;    // share of the gap the lower vigilance closes when matches improve
  int levels = 80;           // quantisation of downsampled values over the running range
  double chomp = 0.075;      // values this close (share of the range) to the running median are the median
  double spike_share = 0.1;  // a step's extreme stands for it only when it is this far from the step mean
  double mask_factor = 1.5;  // steps of masking after a detection, as a multiple of window
  double feature_power = 3;  // match = feature_similarity^feature_power * energy_similarity^energy_power
  double energy_power = 2;
  double energy_weight = 1.5;  // weight of the newest value's mismatch in the confidence
  // Rarity calibration: a detection's confidence becomes
  // (1 - w) * confidence + w * min(1, -log10(share of earlier steps whose best
  // match was at most as good) / rarity_decades). 0 disables.
  double rarity_weight = 0.0;
  double rarity_decades = 3.0;
  // Second scale: an ART engine with steps coarse_factor times longer runs
  // alongside; anomaly = max(fine, coarse_weight * coarse). 0 or 1 disables.
  int coarse_factor = 0;
  double coarse_weight = 1.0;
  // Novelty engine blended in: anomaly = max(art, novelty_weight * novelty).
  double novelty_weight = 0.0;
};

struct EngineOptions {
  int64_t interval_seconds = 3600;  // nominal interval between rows
  Engine engine = Engine::kNovelty;
  NoveltyParams novelty;  // used by kNovelty (and by kArt when art.novelty_weight > 0)
  ArtParams art;          // used by kArt only
};

// A new engine of options.engine. InvalidArgument on parameters out of range.
Result<std::unique_ptr<Model>> CreateEngine(const EngineOptions& options);
// Fails with DataLoss when the state is corrupt, of an unknown version or
// saved with other parameters.
Result<std::unique_ptr<Model>> RestoreEngine(const EngineOptions& options, std::string_view state);

}  // namespace osprey::stream
