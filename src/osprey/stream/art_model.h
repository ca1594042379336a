// ArtModel: a stream engine built on Adaptive Resonance Theory
// (Engine::kArt), after ARTime (Mark Hampton, 2021, the best published
// NAB detector) and fuzzy ART (Carpenter, Grossberg & Rosen, 1991). An
// independent implementation; the steps:
//  - downsampling: every `step` rows become one value, the step's extreme
//    when it lies far from the step mean (so spikes survive), else its mean;
//  - the value is quantised over the running min..max range (never the
//    series' global range) and snapped to the running median when close;
//  - features: the last `window` downsampled values, normalised by the
//    running range, plus (shape) the Haar transform of the same window
//    normalised to its own min..max;
//  - fuzzy ART with complement coding holds categories (hyperboxes in
//    feature space, kept in the series' own units so that a wider running
//    range rescales them instead of invalidating them). The match of a
//    category is feature_similarity^3 * energy_similarity^2, the energy
//    being the match of the newest value alone. Dual vigilance: a match
//    above rho_ub resonates (the box grows to include the input), one above
//    rho_lb founds a new category of a known cluster, and below rho_lb the
//    input is new: that is the anomaly signal, scored by how far below the
//    vigilance it matched;
//  - the vigilance is set after a training phase of `train_steps` steps (a
//    trial run over the training features, least typical first), then
//    adapted to the recent matches, and detections mask the next steps.
// Only values seen so far are used. O(max_categories * window) work per
// step, bounded memory (the least recently used category is replaced when
// max_categories are in use). Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/stream/engine.h"

namespace osprey::stream {

class ArtModel final : public Model {
 public:
  static constexpr uint8_t kStateVersion = 1;
  static constexpr int kMaxWindow = 32;
  static constexpr int kMaxTrain = 1024;
  static constexpr int kMatchBins = 100;

  // Fails with InvalidArgument on parameters out of range.
  static Result<std::unique_ptr<Model>> Create(const EngineOptions& options);
  // Fails with DataLoss on an unknown version or a corrupt/mismatched state.
  static Result<std::unique_ptr<Model>> Restore(const EngineOptions& options, std::string_view state);

  Score Observe(const Observation& obs) override;
  std::string SaveState() const override;

 private:
  struct Core {             // trivially copyable, saved as bytes
    int64_t n = 0;          // values seen
    int64_t steps = 0;      // closed downsampled steps
    int64_t fi = 0;         // feature vectors formed (1-based index of the last)
    double lo = 0, hi = 0;  // running range of the values
    double median = 0;      // running median of the quantised steps (share of the range)
    int32_t pos = 0;        // values in the open step
    double sum = 0, max = 0, min = 0;
    double ds_avg = 0;                        // moving average of step means
    std::array<double, kMaxWindow> recent{};  // quantised steps, series units, oldest first
    double rho_lb = 0, rho_ub = 0;
    double match_sum = 0;  // running mean of the best match (upper vigilance)
    int64_t match_n = 0;
    int64_t last_anomaly = 0, last_rho_update = 0;
    double last_anomaly_match = 0;
    bool mask_after_new = false;
    bool trained = false;
    int64_t calm_steps = 0;              // steps since a new cluster
    double hist_sum = 0, hist_last = 0;  // matches of the detections (last: the latest's minimum)
    int64_t hist_n = 0;
    int32_t sim_pos = 0, diff_pos = 0;
    int32_t categories = 0;
    int64_t stamp = 0;  // learning clock for the least-recently-used replacement
    double last_expected = 0, last_lower = 0, last_upper = 0;
    std::array<int64_t, kMatchBins> match_hist{};  // best matches, by bin of [0, 1]
  };
  struct Match {
    double m = 0, e = 0;
    int best = -1;
    bool new_cluster = false;
  };

  ArtModel(const EngineOptions& options, int step);
  int Dim() const { return dim_; }
  // Builds the feature vector (series units in the value part) from recent.
  void Features(std::vector<double>& f) const;
  // Normalises a feature vector by the current range (value part only).
  void Normalise(const double* f, double* x) const;
  // One fuzzy ART presentation of normalised input x (raw: f) to the
  // categories in `boxes`; learns when `learn`.
  Match Present(const double* f, const double* x, double rho_lb, double rho_ub, std::vector<double>& boxes,
                std::vector<int64_t>& used, int32_t& count, int64_t& stamp) const;
  void AddCategory(const double* f, std::vector<double>& boxes, std::vector<int64_t>& used, int32_t& count,
                   int64_t& stamp) const;
  void Train();
  double Detect(const double* f);

  EngineOptions options_;
  ArtParams p_;
  int step_;
  int dim_;
  int shape_dims_;
  int mask_;
  int64_t trend_;
  Core c_;
  std::vector<double> boxes_;       // max_categories x dim x {low, high}
  std::vector<int64_t> used_;       // last learning stamp per category
  std::vector<double> train_;       // training features (until trained)
  std::vector<double> sim_;         // ring: recent best matches
  std::vector<double> diff_;        // ring: rho_ub - best match
  std::unique_ptr<Model> novelty_;  // blended in when novelty_weight > 0
  std::unique_ptr<Model> coarse_;   // the second scale, when coarse_factor > 1
  std::string reason_;
};

}  // namespace osprey::stream
