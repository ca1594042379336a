#include "business/metric.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace osprey::bench {
namespace {

using testing::Anomaly;
using testing::Dataset;

constexpr int64_t kDay = 86400;

bool Flag(double score, double threshold) { return !std::isnan(score) && score >= threshold; }

// Per series, the points covered by an injected anomaly or by the hour after
// it: flags there are neither hits nor false alarms.
std::vector<std::vector<bool>> Excused(const Dataset& d) {
  const int64_t slack = std::max<int64_t>(1, 3600 / d.interval_seconds);
  const int64_t n = static_cast<int64_t>(d.points());
  std::vector<std::vector<bool>> out(d.series.size(), std::vector<bool>(d.points(), false));
  for (const Anomaly& a : d.anomalies) {
    for (int s : a.series) {
      for (int64_t t = a.begin; t < std::min(n, a.end + slack); ++t) {
        out[static_cast<size_t>(s)][static_cast<size_t>(t)] = true;
      }
    }
  }
  return out;
}

// The day block of a point: false-alarm runs end at block boundaries, so a
// false alarm that stays open counts once per day.
int64_t Block(const Dataset& d, size_t t) {
  return (static_cast<int64_t>(t) - d.warmup_points) / (kDay / d.interval_seconds);
}

double EventMax(const Dataset& d, size_t m, const MeasureScores& scores, const Anomaly& a) {
  double best = kNoScore;
  for (int s : a.series) {
    const auto& values = d.series[static_cast<size_t>(s)].measures[m].value;
    for (int64_t t = std::max(a.begin, d.warmup_points); t < a.end; ++t) {
      const size_t u = static_cast<size_t>(t);
      const double v = scores[static_cast<size_t>(s)][u];
      if (!values[u].has_value() || std::isnan(v)) continue;
      best = std::max(best, v);
    }
  }
  return best;
}

double Weeks(const Dataset& d) {
  return static_cast<double>(static_cast<int64_t>(d.points()) - d.warmup_points) *
         static_cast<double>(d.interval_seconds) / (7.0 * kDay);
}

void Finish(const Dataset& d, EventCounts* c) {
  const int fn = c->events - c->found;
  const int denom = 2 * c->found + c->false_runs + fn;
  c->f1 = denom == 0 ? 0.0 : 2.0 * c->found / denom;
  c->false_runs_per_series_week =
      c->false_runs / (static_cast<double>(d.series.size()) * std::max(Weeks(d), 1e-9));
}

}  // namespace

EventCounts EvaluateAt(const Dataset& d, size_t m, const MeasureScores& scores, double threshold) {
  EventCounts c;
  c.threshold = threshold;
  for (const Anomaly& a : d.anomalies) {
    if (!a.labelled[m]) continue;
    const size_t k = static_cast<size_t>(a.kind);
    ++c.events;
    ++c.events_by_kind[k];
    if (Flag(EventMax(d, m, scores, a), threshold)) {
      ++c.found;
      ++c.found_by_kind[k];
    }
  }
  const auto excused = Excused(d);
  for (size_t s = 0; s < d.series.size(); ++s) {
    const auto& values = d.series[s].measures[m].value;
    bool in_run = false;
    int64_t run_block = 0;
    for (size_t t = static_cast<size_t>(d.warmup_points); t < d.points(); ++t) {
      if (!values[t].has_value()) continue;  // missing: neither a flag nor a break
      if (!excused[s][t] && Flag(scores[s][t], threshold)) {
        if (!in_run || Block(d, t) != run_block) ++c.false_runs;
        in_run = true;
        run_block = Block(d, t);
      } else {
        in_run = false;
      }
    }
  }
  Finish(d, &c);
  return c;
}

std::vector<double> CleanFlagsPerHour(const Dataset& d, size_t m, const MeasureScores& scores,
                                      const std::vector<double>& thresholds) {
  std::vector<int64_t> flags(thresholds.size(), 0);
  int64_t points = 0;
  const auto excused = Excused(d);
  for (size_t s = 0; s < d.series.size(); ++s) {
    const auto& values = d.series[s].measures[m].value;
    for (size_t t = static_cast<size_t>(d.warmup_points); t < d.points(); ++t) {
      if (!values[t].has_value() || excused[s][t]) continue;
      const double v = scores[s][t];
      if (std::isnan(v) || v == kNoScore) continue;
      ++points;
      for (size_t k = 0; k < thresholds.size(); ++k) flags[k] += Flag(v, thresholds[k]);
    }
  }
  const double hours = static_cast<double>(points) * static_cast<double>(d.interval_seconds) / 3600.0;
  std::vector<double> out;
  for (int64_t f : flags) out.push_back(hours > 0 ? static_cast<double>(f) / hours : 0.0);
  return out;
}

EventCounts EvaluateBest(const Dataset& d, size_t m, const MeasureScores& scores) {
  // Every count is a sum of steps 1[threshold <= x] with weights (dTP, dFP):
  // an event steps at its highest score; the false runs of a series are the
  // flagged free points minus the flagged adjacent pairs of free points in
  // one day block (a pair is flagged when its smaller score is).
  struct Step {
    double x;
    int tp;
    int fp;
  };
  std::vector<Step> steps;
  int events = 0;
  for (const Anomaly& a : d.anomalies) {
    if (!a.labelled[m]) continue;
    ++events;
    const double x = EventMax(d, m, scores, a);
    if (x > kNoScore) steps.push_back({x, 1, 0});
  }
  const auto excused = Excused(d);
  for (size_t s = 0; s < d.series.size(); ++s) {
    const auto& values = d.series[s].measures[m].value;
    bool prev_free = false;
    double prev = kNoScore;
    int64_t prev_block = 0;
    for (size_t t = static_cast<size_t>(d.warmup_points); t < d.points(); ++t) {
      if (!values[t].has_value()) continue;
      double v = scores[s][t];
      if (std::isnan(v)) v = kNoScore;
      const bool free = !excused[s][t];
      if (free && v > kNoScore) {
        steps.push_back({v, 0, 1});
        if (prev_free && prev_block == Block(d, t) && prev > kNoScore) {
          steps.push_back({std::min(prev, v), 0, -1});
        }
      }
      prev_free = free;
      prev = v;
      prev_block = Block(d, t);
    }
  }
  std::sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.x > b.x; });
  double best_f1 = -1, best_x = std::numeric_limits<double>::infinity();
  int tp = 0, fp = 0;
  for (size_t i = 0; i < steps.size();) {
    const double x = steps[i].x;
    for (; i < steps.size() && steps[i].x == x; ++i) {
      tp += steps[i].tp;
      fp += steps[i].fp;
    }
    if (!std::isfinite(x)) continue;     // not a usable threshold
    const int denom = tp + events + fp;  // 2TP + FP + FN
    const double f1 = denom == 0 ? 0.0 : 2.0 * tp / denom;
    if (f1 > best_f1) {
      best_f1 = f1;
      best_x = x;
    }
  }
  return EvaluateAt(d, m, scores, best_x);
}

NodeIncidentCounts EvaluateIncidentsAtNodes(const Dataset& d, size_t m, const std::vector<RollupNode>& nodes,
                                            const MeasureScores& node_scores, double threshold) {
  NodeIncidentCounts out;
  const size_t n = d.points();
  const auto start = static_cast<size_t>(std::max<int64_t>(0, d.warmup_points));
  for (const Anomaly& a : d.anomalies) {
    if (a.kind != testing::AnomalyKind::kIncident || a.root_cause.empty() || m >= a.labelled.size() ||
        !a.labelled[m]) {
      continue;
    }
    ++out.incidents;
    unsigned mask = 0;
    for (const auto& [dim, value] : a.root_cause) mask |= 1u << dim;
    for (size_t k = 0; k < nodes.size() && k < node_scores.size(); ++k) {
      const RollupNode& node = nodes[k];
      bool match = node.mask == mask;
      for (const auto& [dim, value] : a.root_cause) {
        match = match && static_cast<size_t>(dim) < node.dims.size() &&
                node.dims[static_cast<size_t>(dim)] == value;
      }
      if (!match) continue;
      bool found = false;
      for (int64_t t = std::max<int64_t>(a.begin, d.warmup_points);
           t < std::min<int64_t>(a.end, static_cast<int64_t>(n)); ++t) {
        found = found || Flag(node_scores[k][static_cast<size_t>(t)], threshold);
      }
      out.found += found ? 1 : 0;
      break;
    }
  }
  const std::vector<std::vector<bool>> excused = Excused(d);
  const unsigned leaf_mask = (1u << d.dimensions.size()) - 1;
  for (size_t k = 0; k < nodes.size() && k < node_scores.size(); ++k) {
    if (nodes[k].mask == leaf_mask) continue;
    for (size_t t = start; t < n && t < node_scores[k].size(); ++t) {
      const double score = node_scores[k][t];
      if (score == kNoScore || std::isnan(score)) continue;
      bool clean = true;
      for (int leaf : nodes[k].leaves) clean = clean && !excused[static_cast<size_t>(leaf)][t];
      if (!clean) continue;
      out.clean_node_hours += static_cast<double>(d.interval_seconds) / 3600.0;
      out.clean_flags += score >= threshold ? 1 : 0;
    }
  }
  return out;
}

}  // namespace osprey::bench
