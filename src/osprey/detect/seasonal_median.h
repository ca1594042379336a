// SeasonalMedianModel: the first baseline. For each slot of the day (the
// interval's position in the local day) it keeps the values of the last
// `kHistoryDays` days and expects their median; the band is a multiple of
// their median absolute deviation. Robust to outliers (a spike moves a median
// little), seasonal by time of day, O(history) per point.
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
  static constexpr uint8_t kStateVersion = 1;

  static Result<std::unique_ptr<Model>> Create(const ModelOptions& options);
  static Result<std::unique_ptr<Model>> Restore(const ModelOptions& options, std::string_view state);

  Score Observe(const Observation& obs) override;
  std::string SaveState() const override;

 private:
  explicit SeasonalMedianModel(const ModelOptions& options);
  size_t SlotOf(int64_t local_time) const;

  ModelOptions options_;
  size_t slots_;  // slots per day (1 for daily or longer intervals)
  // history_[slot] is a ring of the last kHistoryDays values of that slot.
  std::vector<std::vector<double>> history_;
  std::vector<uint32_t> next_;  // ring write position per slot
};

}  // namespace osprey::detect
