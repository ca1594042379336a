// SeasonalMedianModel: the pipeline's default model. For each slot of the day
// (the interval's position in the local day) it keeps the values of the last
// `kHistoryDays` days, and for each slot of the week the values of the last
// `kHistoryWeeks` weeks. Two predictors, the median of the same slot on past
// days and on past weeks, keep their own error scales; the one with the
// smaller error scale around that time of day makes the forecast, so weekly
// seasonality is used only where the data has it. The band is a multiple of
// the chosen predictor's error scale. Robust to outliers: once forecasts
// start, values enter the history winsorised at 6 error scales, so even
// repeated anomalies in one slot barely move the medians (a level shift is
// followed at up to 6 scales per sample).
//
// Compact and O(1) per point: the history is one table of 16-bit floats,
// one row per day (29 rows: four weeks back plus today), so the weekly
// values are the daily table read 7, 14, 21 and 28 rows back; missing
// intervals are holes in it. Values are stored relative to a per-series
// power of two (about 0.02% precision, rescaled when a value outgrows it).
// The error scale of each predictor is a per-slot moving mean of clipped
// absolute errors. An hourly series needs about 1.6 KiB of state.
// Not thread-safe; one instance per series.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/detect/model.h"

namespace osprey::detect {

class SeasonalMedianModel final : public Model {
 public:
  static constexpr int kHistoryDays = 14;
  static constexpr int kMinHistory = 7;  // values per slot before scoring starts
  static constexpr int kHistoryWeeks = 4;
  static constexpr int kMinWeeks = 3;
  // Version 4: 16-bit day table and moving error scales (versions <= 3 are
  // not converted: Restore returns DataLoss and the pipeline retrains).
  static constexpr uint8_t kStateVersion = 4;

  static Result<std::unique_ptr<Model>> Create(const ModelOptions& options);
  // Fails with DataLoss on an unknown version or a corrupt/mismatched state.
  static Result<std::unique_ptr<Model>> Restore(const ModelOptions& options, std::string_view state);

  Score Observe(const Observation& obs) override;
  std::string SaveState() const override;
  // In intervals: a slot scores once both predictors have kMinHistory errors,
  // i.e. after NeededPeriods() periods (28 days for PT1M..P1D, 14 weeks for
  // P1W); `needed` is that many periods of every slot, `seen` sums each
  // slot's progress towards it, so a series with gaps warms up later.
  WarmupStatus Warmup() const override;
  // Periods (days, or intervals above a day) of one slot before it scores.
  int64_t NeededPeriods() const;

 private:
  explicit SeasonalMedianModel(const ModelOptions& options);
  size_t SlotOf(int64_t local_time) const;
  int64_t PeriodOf(int64_t local_time) const;
  double Decode(uint16_t h) const;
  // Stores v at cell `at`, widening the series' scale first when needed.
  void Store(size_t at, double v);
  // Marks the rows of periods after last_period_ up to p as missing.
  void Advance(int64_t p);

  ModelOptions options_;
  size_t slots_;        // slots per period (1 for daily or longer intervals)
  size_t week_lag_;     // rows between a value and the same slot one week back
  size_t rows_;         // rows of the table: kHistoryWeeks weeks back plus the current one
  int64_t last_period_ = INT64_MIN;  // period of the newest row; INT64_MIN before any value
  int8_t shift_ = 0;    // values are stored as half floats of v * 2^-shift
  bool shift_set_ = false;
  double unit_ = 1;     // 2^shift
  // table_[row * slots_ + slot]: 16-bit float, kMissing where no value.
  std::vector<uint16_t> table_;
  // Per slot of day, for the daily (0) and weekly (1) predictor: moving mean
  // of absolute errors (clipped) and how many errors it has seen (<= 255).
  std::vector<float> err_[2];
  std::vector<uint8_t> err_n_[2];
};

}  // namespace osprey::detect
