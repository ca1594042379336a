// Scores a whole series held in memory with one model, row by row, as a
// stream: the score of row i depends only on rows 0..i. Used by the CLI
// (`osprey score --csv`) and the NAB tool, so both see the same numbers.
// Pure: no IO, no clock. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/stream/engine.h"

namespace osprey::stream {

struct StreamRow {
  int64_t time = 0;  // Unix seconds, increasing (a repeat is taken as +1 s)
  std::optional<double> value;
};

struct StreamOptions {
  // Interval between rows in seconds; 0 infers it from the median spacing of
  // the first rows (at most 64), which are only used for warm-up.
  int64_t interval_seconds = 0;
  Engine engine = Engine::kNovelty;
  NoveltyParams novelty;  // for engine kNovelty
  ArtParams art;          // for engine kArt, and the ART confirmer of ensemble_mode
  // Alarm de-noising: after a row scores >= alarm_level, the next
  // max(suppress_min_rows, suppress_fraction * rows so far) rows have their
  // score multiplied by suppressed_factor, so one event raises one alarm.
  double alarm_level = 0.5;
  double suppress_fraction = 0.0;
  int64_t suppress_min_rows = 0;
  double suppressed_factor = 0.0;
  // During the quiet period, a row scoring above the alarm that started it
  // still alarms (and restarts the period): a stronger event is not hidden.
  bool pass_stronger = false;
  // 1: every row whose raw score is >= alarm_level (re)starts the quiet
  // period, also inside one (CAD OSE's rest period: quiet until the raw
  // scores have stayed below the alarm for the whole period).
  int quiet_mode = 0;
  // > 0: a row alarms (starts the quiet period) when the share of earlier
  // ready rows of this series scoring at least as high is <= alarm_tail,
  // instead of by alarm_level: a per-series calibrated tail level, so the
  // quiet periods do not depend on the scale of the scores.
  double alarm_tail = 0.0;
  // Debounce: outside the quiet period, a row scoring >= debounce_level
  // makes the next debounce_rows rows score 0 unless they score higher (a
  // higher one restarts the debounce), so a burst of sub-alarm rows counts
  // once. 0 rows disables.
  // > 0: the model's score becomes (1 - w) * score + w * rarity, where
  // rarity = min(1, -log10(share of earlier ready rows of this series scoring
  // at least as high) / output_decades): a per-series empirical tail, so one
  // threshold means the same rarity on every series.
  double output_rarity_weight = 0.0;
  double output_decades = 4.0;
  int64_t debounce_rows = 0;
  double debounce_level = 0.5;
  double debounce_margin = 0.0;  // "higher" means above the start + margin
  // Ensemble: ensemble_mode > 0 runs an ART engine (params `art`) beside the
  // main model on the same rows and combines its score b with the main
  // score a before the calibration/suppression steps (w = ensemble_art_weight):
  // 1 max(a, w * b); 2 noisy-or 1 - (1 - a)(1 - w * b); 3 "ART confirms":
  // a + w * (1 - a) when ART scored >= ensemble_confirm_level within the
  // last ensemble_confirm_rows rows (this one included). 0 is off.
  int ensemble_mode = 0;
  double ensemble_art_weight = 0.0;
  int64_t ensemble_confirm_rows = 10;
  double ensemble_confirm_level = 0.5;
};

struct StreamScore {
  double anomaly = 0;  // in [0, 1]: the model's tail-probability-based score
  Score detail;        // the model's full score for the row
};

// The one configuration that `osprey score` and `make nab` use, so the
// published NAB figures are those of the command users run.
StreamOptions DefaultStreamOptions();

// Scores `rows` with a fresh engine of options.engine. Fails with
// InvalidArgument when the engine cannot be created for the interval.
Result<std::vector<StreamScore>> ScoreStream(const std::vector<StreamRow>& rows,
                                             const StreamOptions& options);

}  // namespace osprey::stream
