// SeasonalMedianModel: the first baseline. For each slot of the day (the
// interval's position in the local day) it keeps the values of the last
// `kHistoryDays` days, and for each slot of the week the values of the last
// `kHistoryWeeks` weeks. Two predictors, the median of the same slot on past
// days and on past weeks, keep their own error histories; the one with the
// smaller robust error spread at that time of day makes the forecast, so
// weekly seasonality is used only where the data has it. The band is a
// multiple of the chosen predictor's error spread. Robust to outliers: once
// forecasts start, values enter the histories winsorised at 6 error scales,
// so even repeated anomalies in one slot barely move the medians (a level
// shift is followed at up to 6 scales per sample). O(history) per point.
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
  static constexpr uint8_t kStateVersion = 3;

  static Result<std::unique_ptr<Model>> Create(const ModelOptions& options);
  static Result<std::unique_ptr<Model>> Restore(const ModelOptions& options, std::string_view state);

  Score Observe(const Observation& obs) override;
  std::string SaveState() const override;

 private:
  explicit SeasonalMedianModel(const ModelOptions& options);
  size_t SlotOf(int64_t local_time) const;
  size_t WeekSlotOf(int64_t local_time) const;

  ModelOptions options_;
  size_t slots_;  // slots per day (1 for daily or longer intervals)
  // history_[slot] is a ring of the last kHistoryDays values of that slot.
  std::vector<std::vector<double>> history_;
  std::vector<uint32_t> next_;  // ring write position per slot
  // week_[slot of week]: ring of the last kHistoryWeeks values of that slot.
  std::vector<std::vector<double>> week_;
  std::vector<uint32_t> week_next_;
  // errors_[slot of day]: ring of the last kHistoryDays errors of the weekly
  // predictor; day_errors_ the same for the daily predictor.
  std::vector<std::vector<double>> errors_;
  std::vector<uint32_t> errors_next_;
  std::vector<std::vector<double>> day_errors_;
  std::vector<uint32_t> day_errors_next_;
};

}  // namespace osprey::detect
