// Per-series anomaly models. A Model sees one series one interval at a time:
// it scores the new value against what it expected, then learns from it, in
// O(1) time and bounded memory. Models are pure (no IO, no clock, fixed seeds)
// and deterministic: the same observations give the same scores, and
// SaveState -> RestoreModel continues with bit-identical scores. A Model is
// not thread-safe; one series belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "osprey/base/status.h"

namespace osprey::detect {

enum class Direction { kNone = 0, kUp, kDown };

// What deviated, in a word a machine can act on.
enum class Explanation { kNone = 0, kSpike, kDip, kLevelShift, kTrendChange, kSeasonalityBreak,
                         kThreshold, kChange };

std::string_view DirectionName(Direction d);
std::string_view ExplanationName(Explanation e);

struct Observation {
  int64_t time = 0;        // interval start, Unix seconds (UTC)
  int64_t local_time = 0;  // the same instant as local wall-clock seconds in the detector's zone
  std::optional<double> value;  // nullopt: no data for this interval
};

struct Score {
  bool ready = false;  // false while the model is still warming up: no severity yet
  // Why the score is not ready ("warming up: 12 of 48 values"); empty when
  // ready. Points at a string owned by the model, valid until the next Observe.
  std::string_view reason;
  double value = 0;
  double expected = 0;
  double lower = 0;  // the band: values inside it are normal
  double upper = 0;
  double severity = 0;  // 0-100, comparable across series
  // In [0, 1]: how unusual the recent behaviour is (1 - a tail probability,
  // rescaled); severity is derived from it. Streams and NAB score with it.
  double anomaly = 0;
  Direction direction = Direction::kNone;
  Explanation explanation = Explanation::kNone;
};

// Which engine CreateModel builds. kDefault is the one that scores best on
// the seed data (today the seasonal median; see bench/nab/LOG.md).
// kNovelty is the stream/NAB engine (novelty of recent value patterns plus a
// windowed likelihood of prediction errors); it is heavier than the others.
enum class ModelKind { kDefault = 0, kSeasonalMedian, kRobustSeasonal, kNovelty };

// Tuning of the kNovelty engine. The defaults are the one configuration
// used for the whole NAB corpus; tests and experiments may change them.
struct NoveltyParams {
  int levels = 5;            // value quantisation levels over the running range
  int max_context = 8;       // longest pattern of recent levels that is checked
  int table_bits = 13;       // 2^bits pattern fingerprints per generation
  double residual_alpha = 0.5;  // learning rate of the short-term prediction
  double scale_alpha = 0.01;    // learning rate of the error scale
  int window = 10;              // short window of the error likelihood
  double long_alpha = 0.002;    // learning rate of the long-run error statistics
  double novelty_weight = 1.0;  // weight of the pattern novelty in the output
  double likelihood_weight = 0.8;  // weight of the error likelihood in the output
  int warmup = 32;              // values before the first ready score
  // Values within chomp * range of the running median are quantised as the
  // median itself, so noise around the usual level forms no new patterns.
  double chomp = 0.0;
  double median_rate = 0.01;  // running median step, as a fraction of the range
  // Weight of the novelty likelihood: the mean novelty of the last `window`
  // points against its long-run distribution (HTM's likelihood on novelty).
  double novelty_likelihood_weight = 0.0;
};


struct ModelOptions {
  int64_t interval_seconds = 3600;  // nominal interval length (frequency)
  // 0-100: higher flags smaller deviations. 50 is the default balance.
  double sensitivity = 50;
  ModelKind kind = ModelKind::kDefault;
  NoveltyParams novelty;  // used by kNovelty only
};

class Model {
 public:
  virtual ~Model() = default;
  // Scores obs.value against the model's expectation, then updates the model
  // with it. A missing value is not scored and only advances time.
  virtual Score Observe(const Observation& obs) = 0;
  // Versioned binary state, for RestoreModel.
  virtual std::string SaveState() const = 0;
};

// The default model for a series.
Result<std::unique_ptr<Model>> CreateModel(const ModelOptions& options);
// Fails with DataLoss when the state is corrupt or of an unknown version.
Result<std::unique_ptr<Model>> RestoreModel(const ModelOptions& options, std::string_view state);

}  // namespace osprey::detect
