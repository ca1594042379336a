#include "osprey/stream/stream.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace osprey::stream {

StreamOptions DefaultStreamOptions() {
  StreamOptions so;
  so.engine = Engine::kNovelty;
  so.alarm_level = 0.6;             // e.g. 5 of 8 recent patterns new, as new in < 1 % of earlier points
  so.suppress_fraction = 0.05;      // quiet for 5 % of the rows seen so far,
  so.suppress_min_rows = 100;       // and at least 100 rows
  so.debounce_rows = 200;           // a burst of sub-alarm rows counts once
  so.ensemble_mode = 3;             // ART confirms: an ArtModel beside the novelty model;
  so.ensemble_art_weight = 0.2;     // the main score moves 20 % of the way to 1
  so.ensemble_confirm_rows = 20;    // within 20 rows of an ART score
  so.ensemble_confirm_level = 0.8;  // >= 0.8
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
  EngineOptions eo;
  eo.interval_seconds = interval;
  eo.engine = options.engine;
  eo.novelty = options.novelty;
  eo.art = options.art;
  OSPREY_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, CreateEngine(eo));
  std::unique_ptr<Model> art;
  if (options.ensemble_mode > 0) {
    EngineOptions ao = eo;
    ao.engine = Engine::kArt;
    OSPREY_ASSIGN_OR_RETURN(art, CreateEngine(ao));
  }
  int64_t since_art = INT64_MAX / 2;  // rows since ART last scored >= the confirm level
  std::vector<StreamScore> out;
  out.reserve(rows.size());
  int64_t prev = INT64_MIN;
  int64_t quiet = 0;  // rows left in the current suppression period
  int64_t seen = 0;
  double quiet_level = 0;  // score of the alarm that started the quiet period
  constexpr int kTailBins = 1000;
  std::vector<int64_t> tail_counts(options.alarm_tail > 0 ? kTailBins + 1 : 0, 0);
  std::vector<int64_t> out_counts(options.output_rarity_weight > 0 ? kTailBins + 1 : 0, 0);
  int64_t out_rows = 0;
  int64_t ready_rows = 0;
  int64_t debounce = 0;      // rows left in the debounce period
  double debounce_peak = 0;  // score that started it
  for (const StreamRow& row : rows) {
    // Repeated or backward timestamps (clock changes in exported data) are
    // treated as the next second, so the model's time always advances.
    int64_t t = prev == INT64_MIN ? row.time : std::max(row.time, prev + 1);
    prev = t;
    StreamScore s;
    s.detail = model->Observe({t, t, row.value});
    s.anomaly = s.detail.ready ? std::clamp(s.detail.anomaly, 0.0, 1.0) : 0.0;
    if (art != nullptr) {
      const Score as = art->Observe({t, t, row.value});
      const double b = as.ready ? std::clamp(as.anomaly, 0.0, 1.0) : 0.0;
      const double w = options.ensemble_art_weight;
      since_art = b >= options.ensemble_confirm_level && as.ready ? 0 : since_art + 1;
      double c = s.anomaly;
      if (options.ensemble_mode == 1) {
        c = std::max(s.anomaly, w * b);
      } else if (options.ensemble_mode == 2) {
        c = 1 - (1 - s.anomaly) * (1 - w * b);
      } else if (options.ensemble_mode == 3 && since_art < options.ensemble_confirm_rows) {
        c = s.anomaly + w * (1 - s.anomaly);
      }
      s.anomaly = std::clamp(c, 0.0, 1.0);
    }
    ++seen;
    if (options.output_rarity_weight > 0 && s.detail.ready) {
      const size_t bin = static_cast<size_t>(std::lround(s.anomaly * kTailBins));
      int64_t ge = 0;
      for (size_t b = bin; b < out_counts.size(); ++b) ge += out_counts[b];
      const double share = (static_cast<double>(ge) + 1) / (static_cast<double>(out_rows) + 1);
      const double rarity = std::min(1.0, -std::log10(share) / options.output_decades);
      ++out_counts[bin];
      ++out_rows;
      s.anomaly = (1 - options.output_rarity_weight) * s.anomaly + options.output_rarity_weight * rarity;
    }
    bool alarm = s.anomaly >= options.alarm_level;
    if (options.alarm_tail > 0 && s.detail.ready) {
      const size_t bin = static_cast<size_t>(std::lround(s.anomaly * kTailBins));
      int64_t ge = 0;
      for (size_t b = bin; b < tail_counts.size(); ++b) ge += tail_counts[b];
      alarm = s.anomaly > 0 &&
              static_cast<double>(ge) + 1 <= options.alarm_tail * static_cast<double>(ready_rows + 1);
      ++tail_counts[bin];
      ++ready_rows;
    } else if (options.alarm_tail > 0) {
      alarm = false;
    }
    const bool stronger = options.pass_stronger && s.anomaly > quiet_level;
    if (quiet > 0 && options.quiet_mode == 1 && alarm) {
      quiet = std::max<int64_t>(options.suppress_min_rows,
                                static_cast<int64_t>(options.suppress_fraction * static_cast<double>(seen)));
      s.anomaly *= options.suppressed_factor;
    } else if (quiet > 0 && !stronger) {
      --quiet;
      s.anomaly *= options.suppressed_factor;
    } else if (alarm && (options.suppress_fraction > 0 || options.suppress_min_rows > 0)) {
      quiet = static_cast<int64_t>(options.suppress_fraction * static_cast<double>(seen));
      quiet = std::max<int64_t>(quiet, options.suppress_min_rows);
      quiet_level = s.anomaly;
    } else if (quiet > 0) {
      --quiet;
    }
    if (options.debounce_rows > 0 && quiet == 0) {
      if (debounce > 0 && s.anomaly <= debounce_peak + options.debounce_margin) {
        --debounce;
        s.anomaly = 0;
      } else if (s.anomaly >= options.debounce_level) {
        debounce = options.debounce_rows;
        debounce_peak = s.anomaly;
      } else if (debounce > 0) {
        --debounce;
      }
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace osprey::stream
