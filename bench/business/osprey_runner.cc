#include "business/osprey_runner.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "osprey/detect/events.h"
#include "osprey/detect/holidays.h"

namespace osprey::bench {

using testing::Dataset;
using testing::MeasureKind;

namespace {
// The pipeline's rule for a SUM or COUNT roll-up with leaves missing
// (app/pipeline.h, kMaxMissingRollupShare and kMissingLeafIntervals; docs/
// configuration.md, "Missing data"), repeated here: this runner feeds the
// model directly and does not link the pipeline.
constexpr double kMaxMissingRollupShare = 0.05;
constexpr int64_t kMissingLeafIntervals = 24;
}  // namespace

std::vector<RollupNode> RollupLattice(const Dataset& d) {
  const unsigned dims = static_cast<unsigned>(d.dimensions.size());
  std::vector<RollupNode> out;
  // Masks by number of fixed dimensions, so the total comes first and the leaves last.
  std::vector<unsigned> masks;
  for (unsigned mask = 0; mask < (1u << dims); ++mask) masks.push_back(mask);
  std::stable_sort(masks.begin(), masks.end(),
                   [](unsigned a, unsigned b) { return __builtin_popcount(a) < __builtin_popcount(b); });
  for (unsigned mask : masks) {
    std::map<std::vector<std::string>, size_t> index;
    for (size_t s = 0; s < d.series.size(); ++s) {
      std::vector<std::string> key(dims);
      for (unsigned i = 0; i < dims; ++i) {
        if (mask & (1u << i)) key[i] = d.series[s].dims[i];
      }
      auto [it, added] = index.emplace(key, out.size());
      if (added) out.push_back({mask, {}, key});
      out[it->second].leaves.push_back(static_cast<int>(s));
    }
  }
  return out;
}

MeasureScores LeafScoresFromHierarchy(const Dataset& d, const std::vector<RollupNode>& nodes,
                                      const MeasureScores& node_scores) {
  MeasureScores leaves(d.series.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n].leaves.size() != 1 || nodes[n].mask + 1 != (1u << d.dimensions.size())) continue;
    leaves[static_cast<size_t>(nodes[n].leaves[0])] = node_scores[n];
  }
  return leaves;
}

Result<std::vector<uint32_t>> BuiltInHolidays(const Dataset& d) {
  std::vector<uint32_t> out(d.points(), 0);
  OSPREY_ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Load(d.zone));
  const std::optional<std::string_view> country = detect::AutoHolidayCountry(zone, d.interval_seconds);
  if (!country) return out;
  const detect::EventCalendar calendar(detect::CountryHolidays(*country), zone);
  for (size_t t = 0; t < out.size(); ++t) {
    const Instant start = FromUnixSeconds(d.times[t]);
    const std::vector<detect::EventOccurrence> overlapping =
        calendar.Overlapping(start, start + std::chrono::seconds(d.interval_seconds));
    const detect::EventOccurrence* o =
        detect::EventCalendar::Choose(overlapping, [](const detect::CalendarEvent&) { return true; });
    if (o != nullptr) out[t] = detect::EventId(o->event->name);
  }
  return out;
}

Result<OspreyScores> ScoreWithOsprey(const Dataset& d, detect::ModelOptions options, bool holidays) {
  options.interval_seconds = d.interval_seconds;
  OspreyScores out;
  out.nodes = RollupLattice(d);
  const size_t n = d.points();
  std::vector<uint32_t> holiday(n, 0);
  if (holidays) {
    OSPREY_ASSIGN_OR_RETURN(holiday, BuiltInHolidays(d));
  }
  // Each leaf's calendar event per point (computed once).
  std::vector<std::vector<const testing::CalendarEvent*>> leaf_event(d.series.size());
  for (size_t s = 0; s < d.series.size(); ++s) {
    leaf_event[s].resize(n);
    for (size_t t = 0; t < n; ++t) leaf_event[s][t] = d.EventAt(s, t);
  }
  std::vector<std::optional<double>> values(n), denominators(n), rows(n);
  std::vector<const testing::CalendarEvent*> events(n);
  // Per leaf and point, the leaf's last value before the point (0: none in
  // the last kMissingLeafIntervals intervals), for the roll-ups' holes.
  std::vector<std::vector<double>> last(d.series.size(), std::vector<double>(n, 0.0));
  for (size_t m = 0; m < d.measures.size(); ++m) {
    const testing::MeasureInfo& info = d.measures[m];
    const bool sum_kind = info.kind == MeasureKind::kCount || info.kind == MeasureKind::kMoney;
    if (sum_kind) {
      for (size_t s = 0; s < d.series.size(); ++s) {
        double value = 0;
        int64_t at = -kMissingLeafIntervals - 1;
        for (size_t t = 0; t < n; ++t) {
          last[s][t] = static_cast<int64_t>(t) - at <= kMissingLeafIntervals ? value : 0.0;
          if (const auto& v = d.series[s].measures[m].value[t]) value = *v, at = static_cast<int64_t>(t);
        }
      }
    }
    MeasureScores scores(out.nodes.size());
    for (size_t k = 0; k < out.nodes.size(); ++k) {
      const RollupNode& node = out.nodes[k];
      for (size_t t = 0; t < n; ++t) {
        double sum = 0, weight = 0, lost = 0;
        bool any = false;
        denominators[t].reset();
        rows[t].reset();
        const testing::CalendarEvent* event = nullptr;
        for (int s : node.leaves) {
          const testing::LeafSeries& leaf = d.series[static_cast<size_t>(s)];
          if (event == nullptr) event = leaf_event[static_cast<size_t>(s)][t];
          if (info.kind == MeasureKind::kRatio) {
            // A ratio of sums: SUM(numerator) / SUM(denominator) over the
            // leaves with both, as the pipeline rolls a ratio measure up.
            const auto& num = leaf.measures[static_cast<size_t>(info.numerator_measure)].value[t];
            const auto& den = leaf.measures[static_cast<size_t>(info.weight_measure)].value[t];
            if (!num.has_value() || !den.has_value()) continue;
            sum += std::min(*num, *den);
            weight += *den;
            any = true;
            continue;
          }
          const auto& v = leaf.measures[m].value[t];
          if (!v.has_value()) {
            if (sum_kind) lost += std::fabs(last[static_cast<size_t>(s)][t]);
            continue;
          }
          if (info.kind == MeasureKind::kMean) {
            const auto& w = leaf.measures[static_cast<size_t>(info.weight_measure)].value[t];
            if (!w.has_value() || *w <= 0) continue;
            sum += *v * *w;
            weight += *w;
          } else {
            sum += *v;
          }
          any = true;
        }
        if (info.kind == MeasureKind::kMean) {
          values[t] = weight > 0 ? std::optional<double>(sum / weight) : std::nullopt;
          if (values[t]) rows[t] = weight;
        } else if (info.kind == MeasureKind::kRatio) {
          values[t] = any && weight > 0 ? std::optional<double>(sum / weight) : std::nullopt;
          if (values[t]) denominators[t] = weight;
        } else {
          // As the pipeline stores a SUM or COUNT roll-up (missing: skip):
          // missing where its missing leaves carried more than
          // kMaxMissingRollupShare of it, else the present leaves' sum.
          values[t] = any && !(lost / (lost + std::fabs(sum)) > kMaxMissingRollupShare)
                          ? std::optional<double>(sum)
                          : std::nullopt;
        }
        events[t] = event;
      }
      scores[k].assign(n, kNoScore);
      size_t first = 0;
      while (first < n && !values[first].has_value()) ++first;  // a late series starts at its first row
      detect::ModelOptions measure_options = options;
      measure_options.mean_of_rows = d.measures[m].kind == testing::MeasureKind::kMean;
      OSPREY_ASSIGN_OR_RETURN(std::unique_ptr<detect::Model> model, detect::CreateModel(measure_options));
      for (size_t t = first; t < n; ++t) {
        detect::Observation obs;
        obs.time = d.times[t];
        obs.local_time = d.local_times[t];
        obs.value = values[t];
        obs.denominator = denominators[t];
        obs.rows = rows[t];
        if (events[t] != nullptr) {
          obs.event = detect::EventId(events[t]->recurrence);
          obs.event_effect =
              events[t]->planned ? detect::EventEffect::kSuppress : detect::EventEffect::kLearn;
        } else if (holiday[t] != 0) {
          obs.event = holiday[t];  // listed events first, as the pipeline chooses
        }
        const detect::Score score = model->Observe(obs);
        if (!values[t].has_value()) continue;
        ++out.points_scored;
        if (score.ready) scores[k][t] = score.severity;
      }
    }
    out.leaf_scores.push_back(LeafScoresFromHierarchy(d, out.nodes, scores));
    out.node_scores.push_back(std::move(scores));
  }
  return out;
}

}  // namespace osprey::bench
