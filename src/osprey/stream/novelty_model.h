// NoveltyModel: the stream/NAB engine (Engine::kNovelty). It flags new
// behaviour rather than large residuals, because a benchmark such as NAB
// scores many series with one global threshold and rewards one early alarm
// per event. Three detectors, all calibrated as tail-like scores in [0, 1]:
//  - pattern novelty: each value is quantised into `levels` steps of the
//    running min..max range; the patterns formed by the last 1..max_context
//    levels are looked up in a fingerprint table of patterns seen before.
//    The score is the fraction of those patterns that are new (after the
//    contextual anomaly detector, CAD OSE, of the 2016 NAB competition).
//  - error likelihood: u = log(1 + |error| / scale) of a short-term
//    prediction; the mean of u over the last `window` points is compared with
//    its long-run distribution, and -log10 of the Gaussian tail, / 10, is the
//    score (after HTM's anomaly likelihood).
//  - KNN shape distance, two channels (after KNN CAD): the shape of the
//    last 12 means of 4 values, and of the last 16 two-hour means, against
//    the 256 shapes stored before it; the mean distance to the 3 nearest is
//    scored by its conformal rarity among the series' earlier distances.
// The novelty is calibrated per series by its rarity: the share of earlier
// points whose novelty was at least as high (an empirical tail, so a level
// of novelty that is routine on a noisy series scores lower than on a calm
// one). The output is the larger of the weighted scores; a calm gate halves
// the novelty and KNN scores for 30 values after a point whose raw novelty
// was >= 0.5, unless the new raw novelty is higher. Options in
// NoveltyParams (engine.h) add a coarse (downsampled) channel, hour-of-day
// patterns, a median dead zone and predictive contexts (CAD OSE's counts of
// which level follows each context); they are off by default because they
// did not raise the NAB score (bench/nab/LOG.md).
//
// O(max_context + knn_memory) work per point (one subtraction per stored
// shape: each stored shape's distance over the closed steps is cached when a
// step closes). Memory is bounded: two generations of 2^table_bits 32-bit
// fingerprints (the older is dropped when the newer is half full), about
// 2 * 4 * 2^table_bits bytes (64 KiB at the default 13 bits), plus ~30 KiB
// of stored shapes: much more than the seasonal models, which is why it is
// not the pipeline's default. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/stream/engine.h"

namespace osprey::stream {

class NoveltyModel final : public Model {
 public:
  static constexpr uint8_t kStateVersion = 2;
  static constexpr int kMaxContext = 16;
  static constexpr int kMaxWindow = 64;
  static constexpr int kPredictBins = 32;
  static constexpr int kMaxKnnDim = 32;
  static constexpr int kKnnBins = 96;

  // Fails with InvalidArgument on parameters out of range.
  static Result<std::unique_ptr<Model>> Create(const EngineOptions& options);
  // Fails with DataLoss on an unknown version or a corrupt/mismatched state.
  static Result<std::unique_ptr<Model>> Restore(const EngineOptions& options, std::string_view state);

  Score Observe(const Observation& obs) override;
  std::string SaveState() const override;

 private:
  struct KnnCore {                               // one KNN channel's running state
    std::array<float, kMaxKnnDim> recent{};      // closed step means, newest first
    int64_t steps = 0;                           // closed steps
    int64_t stored = 0;                          // shapes stored in the memory ring
    int32_t pos = 0;                             // values in the open step
    double sum = 0;                              // their sum
    std::array<int64_t, kKnnBins + 1> counts{};  // by log-distance bin
    double held = 0;                             // last score (knn_eval 1)
  };
  struct KnnConf {  // one KNN channel's settings, resolved for the interval
    double weight = 0;
    int dim = 1, step = 1, warm = 0;
  };
  struct Core {  // trivially copyable, saved as bytes
    int64_t n = 0;
    double lo = 0, hi = 0;
    double pred = 0, scale = 0;
    double median = 0;
    std::array<int32_t, kMaxContext> coarse_recent{};  // closed coarse steps, newest first
    int64_t coarse_steps = 0;                          // closed steps
    int32_t coarse_pos = 0;                            // values in the open step
    double coarse_max = 0, coarse_min = 0, coarse_sum = 0;
    double coarse_mean = 0;                                     // running mean of step means
    std::array<int64_t, 2 * kMaxContext + 1> novelty_counts{};  // by fresh-pattern count
    std::array<int64_t, kMaxContext + 1> coarse_counts{};       // the same, coarse channel
    int64_t last_novel = -1;  // index of the last point with novelty >= calm_level
    double last_novelty = 0;  // its novelty
    double win_sum = 0;
    double lt_mean = 0, lt_var = 0;
    int64_t lt_n = 0;
    int64_t cur_count = 0;
    std::array<int32_t, kMaxContext> recent{};  // recent[0] is the newest level
    std::array<float, kMaxWindow> win{};
    int32_t win_pos = 0;
    int32_t win_len = 0;
    std::array<float, kMaxWindow> nwin{};  // novelty window, same positions
    double nwin_sum = 0;
    double nlt_mean = 0, nlt_var = 0;
    std::array<int64_t, kPredictBins + 1> predict_counts{};  // by quantised predictive score
    int64_t pcur_count = 0;
    std::array<KnnCore, 2> knn{};
  };

  explicit NoveltyModel(const EngineOptions& options);
  bool Seen(uint64_t h) const;
  void Insert(uint64_t h);
  uint32_t PCount(uint64_t h) const;  // occurrences of key h in both generations
  void PAdd(uint64_t h);

  EngineOptions options_;
  NoveltyParams p_;
  uint64_t mask_;
  Core c_;
  std::vector<uint32_t> cur_;  // newer generation of fingerprints (0 = empty)
  std::vector<uint32_t> old_;  // older generation
  uint64_t pmask_ = 0;
  std::vector<uint64_t> pcur_;  // predictive counts: fingerprint << 32 | count (0 = empty)
  std::vector<uint64_t> pold_;
  double KnnScore(size_t ch, double x);  // updates channel ch, returns its rarity score
  std::array<KnnConf, 2> knn_conf_{};
  std::array<std::vector<float>, 2> knn_mem_;  // knn_memory shapes of dim values, rings
  // Per stored shape, its squared distance to the current shape over all but
  // the open step (fixed while the step is open; uncentred shapes only).
  std::array<std::vector<float>, 2> knn_part_;
  std::string reason_;
};

}  // namespace osprey::stream
