#include "osprey/detect/stream.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace osprey::detect {

StreamOptions DefaultStreamOptions() {
  StreamOptions so;
  // The ART engine (bench/nab/LOG.md, "ART engine"): it masks the steps
  // after a detection itself, so the stream adds no alarm suppression
  // (suppression on top of it lowered the NAB score).
  so.kind = ModelKind::kArt;
  return so;
}

Result<std::vector<StreamScore>> ScoreStream(const std::vector<StreamRow>& rows,
                                             const StreamOptions& options) {
  int64_t interval = options.interval_seconds;
  if (interval <= 0) {
    std::vector<int64_t> gaps;
    for (size_t i = 1; i < rows.size() && i <= 64; ++i) {
      if (rows[i].time > rows[i - 1].time) gaps.push_back(rows[i].time - rows[i - 1].time);
    }
    if (gaps.empty()) {
      interval = 3600;
    } else {
      std::nth_element(gaps.begin(), gaps.begin() + static_cast<long>(gaps.size() / 2), gaps.end());
      interval = gaps[gaps.size() / 2];
    }
  }
  interval = std::max<int64_t>(interval, 60);
  ModelOptions mo;
  mo.interval_seconds = interval;
  mo.sensitivity = options.sensitivity;
  mo.kind = options.kind;
  mo.novelty = options.novelty;
  mo.art = options.art;
  OSPREY_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, CreateModel(mo));
  std::vector<StreamScore> out;
  out.reserve(rows.size());
  int64_t prev = INT64_MIN;
  int64_t quiet = 0;  // rows left in the current suppression period
  int64_t seen = 0;
  double quiet_level = 0;  // score of the alarm that started the quiet period
  for (const StreamRow& row : rows) {
    // Repeated or backward timestamps (clock changes in exported data) are
    // treated as the next second, so the model's time always advances.
    int64_t t = prev == INT64_MIN ? row.time : std::max(row.time, prev + 1);
    prev = t;
    StreamScore s;
    s.detail = model->Observe({t, t, row.value});
    s.anomaly = s.detail.ready ? std::clamp(s.detail.anomaly, 0.0, 1.0) : 0.0;
    ++seen;
    const bool stronger = options.pass_stronger && s.anomaly > quiet_level;
    if (quiet > 0 && !stronger) {
      --quiet;
      s.anomaly *= options.suppressed_factor;
    } else if (s.anomaly >= options.alarm_level &&
               (options.suppress_fraction > 0 || options.suppress_min_rows > 0)) {
      quiet = static_cast<int64_t>(options.suppress_fraction * static_cast<double>(seen));
      quiet = std::max<int64_t>(quiet, options.suppress_min_rows);
      quiet_level = s.anomaly;
    } else if (quiet > 0) {
      --quiet;
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace osprey::detect
