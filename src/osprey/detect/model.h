// Per-series anomaly models: the Model interface, and the factory of the
// pipeline's models (the stream engines of stream/ implement the same
// interface). A Model sees one series one interval at a time: it scores the
// new value against what it expected, then learns from it, in O(1) time and
// bounded memory. Models are pure (no IO, no clock, fixed seeds) and
// deterministic: the same observations give the same scores, and SaveState
// then restoring (RestoreModel) continues with bit-identical scores. A Model
// is not thread-safe; one series belongs to one thread at a time.
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
// kSpike/kDip: the point alone; kSustained: a deviation consistent over
// several intervals; kLevelShift: a sustained deviation the model then
// adopted as the new level.
enum class Explanation {
  kNone = 0,
  kSpike,
  kDip,
  kLevelShift,
  kTrendChange,
  kSeasonalityBreak,
  kThreshold,
  kChange,
  kSustained
};

std::string_view DirectionName(Direction d);
std::string_view ExplanationName(Explanation e);

// How a calendar event (a holiday, a promotion) acts on a series' model.
// kLearn: the model keeps event intervals out of its normal baseline and,
// once it has seen the same event before, expects its learnt effect.
// kSuppress: also kept out of the baseline; anomalies in it are damped.
enum class EventEffect { kLearn = 0, kSuppress };

struct Observation {
  int64_t time = 0;             // interval start, Unix seconds (UTC)
  int64_t local_time = 0;       // the same instant as local wall-clock seconds in the detector's zone
  std::optional<double> value;  // nullopt: no data for this interval
  // The calendar event this interval belongs to for this series: 0 for none,
  // else a stable id of the event's name (EventId), so each recurring event
  // (every year's Thanksgiving) is learnt apart from normal behaviour.
  uint32_t event = 0;
  EventEffect event_effect = EventEffect::kLearn;
  // For a ratio measure's series: the interval's denominator (the sum the
  // value was divided by), which says how much noise to expect. For a
  // weighted average (mean_of_rows with `weight`): the sum of the weights,
  // as `rows` too; the model judges it as a ratio while it is a proportion.
  // Unset for other measures.
  std::optional<double> denominator = std::nullopt;
  // For an average over rows (ModelOptions::mean_of_rows): how many rows the
  // interval's value averages, which says how much noise to expect (a mean
  // of two requests' latencies is far noisier than one of two hundred).
  // Unset for other measures, or when not known.
  std::optional<double> rows = std::nullopt;
};

// The stable, non-zero id of an event name (FNV-1a, 0 mapped to 1).
uint32_t EventId(std::string_view name);

// How far a model is from scoring: `seen` of `needed` intervals of history.
// needed == 0 or seen >= needed means ready.
struct WarmupStatus {
  int64_t seen = 0;
  int64_t needed = 0;
  bool ready() const { return seen >= needed; }
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
  double noise = 0;     // the model's noise standard deviation at this point (0: unknown)
  // In [0, 1]: how unusual the recent behaviour is (1 - a tail probability,
  // rescaled); severity is derived from it. Streams and NAB score with it.
  double anomaly = 0;
  Direction direction = Direction::kNone;
  Explanation explanation = Explanation::kNone;
};

// Which model CreateModel builds. kDefault is the pipeline's default model
// (detect/business_model.h), the one `backtest`, `serve` and the demo run.
// The stream engines of `osprey score` and NAB are not pipeline models; they
// live in stream/ (stream::CreateEngine).
enum class ModelKind { kDefault = 0 };

struct ModelOptions {
  int64_t interval_seconds = 3600;  // nominal interval length (frequency)
  // 0-100: higher flags smaller deviations. 50 is the default balance.
  double sensitivity = 50;
  // The measure is an average over rows (AVG): its noise follows how many
  // rows there are, which varies with the time of day, more than its own
  // level; the model then learns the noise per time of day.
  bool mean_of_rows = false;
  ModelKind kind = ModelKind::kDefault;

  bool operator==(const ModelOptions&) const = default;
};

class Model {
 public:
  virtual ~Model() = default;
  // Scores obs.value against the model's expectation, then updates the model
  // with it. A missing value is not scored and only advances time.
  virtual Score Observe(const Observation& obs) = 0;
  // Versioned binary state, for RestoreModel.
  virtual std::string SaveState() const = 0;
  // The same bytes as SaveState into *out, replacing its contents and
  // reusing its capacity (a caller saving many models keeps one buffer).
  virtual void SaveStateInto(std::string* out) const { *out = SaveState(); }
  // Warm-up progress, for status displays. The default says ready.
  virtual WarmupStatus Warmup() const { return {}; }
};

// A new model of options.kind for one series.
Result<std::unique_ptr<Model>> CreateModel(const ModelOptions& options);
// Fails with DataLoss when the state is corrupt or of an unknown version.
Result<std::unique_ptr<Model>> RestoreModel(const ModelOptions& options, std::string_view state);
// RestoreModel into *model: when it holds a model of options.kind made
// with the same options, that model is reset and restored in place, reusing
// its memory (a caller restoring many states one after the other keeps one
// model); else a new one replaces it. Either way the model then scores
// bit-identically to RestoreModel's. On failure (as RestoreModel's) *model
// is null.
Status RestoreModelInto(const ModelOptions& options, std::string_view state, std::unique_ptr<Model>* model);

}  // namespace osprey::detect
