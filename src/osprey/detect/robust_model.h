// RobustSeasonalModel: osprey's default per-series engine. A damped Holt
// level + trend, plus daily and weekly seasonal profiles learned at an
// hourly (or coarser) resolution, of which it uses the one that forecasts
// best (or none). Updates are Huber-clipped so an anomaly barely moves the
// baseline; a run of same-sign outliers is taken as a level shift and the
// level jumps to it. Each point is scored by two tail probabilities: the
// point's own residual against a robust scale, and the recent mean of
// residual sizes against its long-run distribution (a windowed likelihood,
// after HTM's anomaly likelihood). The smaller probability gives `anomaly`
// and severity, so both mean the same on every series.
//
// O(1) work per point; state is a fixed struct plus two float profiles
// (24 + 168 values for hourly data): about 1 KiB. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/detect/model.h"

namespace osprey::detect {

class RobustSeasonalModel final : public Model {
 public:
  static constexpr uint8_t kStateVersion = 1;
  static constexpr int kWindow = 8;  // points in the short likelihood window

  static Result<std::unique_ptr<Model>> Create(const ModelOptions& options);
  // Fails with DataLoss on an unknown version or a corrupt/mismatched state.
  static Result<std::unique_ptr<Model>> Restore(const ModelOptions& options,
                                                std::string_view state);

  Score Observe(const Observation& obs) override;
  std::string SaveState() const override;

 private:
  // Everything but the profiles; trivially copyable, saved as bytes.
  struct Core {
    int64_t n = 0;           // values seen
    int64_t last_time = 0;   // time of the last value
    double level = 0;
    double trend = 0;
    double scale = 0;        // EW mean absolute residual
    double abs_mean = 0;     // EW mean |value|, for the scale floor
    double err_none = 0, err_day = 0, err_week = 0;  // EW |residual| per seasonality
    double lt_mean = 0, lt_var = 0;  // long-run mean/var of the window mean of u
    double pt_mean = 0, pt_var = 0;  // long-run mean/var of u = log(1 + |z|)
    double win_sum = 0;
    double run_sum = 0;      // residual sum of the current outlier run
    double prev_abs_r = 0;
    std::array<float, kWindow> win{};
    int32_t win_pos = 0;
    int32_t run_len = 0;     // consecutive same-sign outliers (sign in run_sign)
    int32_t run_sign = 0;
    int32_t run_growing = 0;  // of them, how many grew in size
    int32_t season = 0;      // 0 none, 1 daily, 2 weekly
    int32_t integer_only = 1;  // all values so far are integers
    int64_t lt_n = 0;
  };

  explicit RobustSeasonalModel(const ModelOptions& options);
  size_t DayBin(int64_t local_time) const;
  size_t WeekBin(int64_t local_time) const;

  ModelOptions options_;
  int64_t day_bin_;   // daily profile bin length, seconds
  int64_t week_bin_;  // weekly profile bin length, seconds
  double per_day_;    // intervals per day
  Core c_;
  std::vector<float> day_;   // daily profile (empty: interval >= 1 day)
  std::vector<float> week_;  // weekly profile (empty: interval >= 1 week)
};

}  // namespace osprey::detect
