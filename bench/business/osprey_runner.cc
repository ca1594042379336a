#include "business/osprey_runner.h"

#include <algorithm>
#include <map>

namespace osprey::bench {

using testing::Dataset;
using testing::MeasureKind;

std::vector<RollupNode> RollupLattice(const Dataset& d) {
  const unsigned dims = static_cast<unsigned>(d.dimensions.size());
  std::vector<RollupNode> out;
  // Masks by number of fixed dimensions, so the total comes first and the leaves last.
  std::vector<unsigned> masks;
  for (unsigned mask = 0; mask < (1u << dims); ++mask) masks.push_back(mask);
  std::stable_sort(masks.begin(), masks.end(), [](unsigned a, unsigned b) {
    return __builtin_popcount(a) < __builtin_popcount(b);
  });
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
                                      const NodeDetail& detail, bool additive) {
  const unsigned all = (1u << d.dimensions.size()) - 1;
  MeasureScores leaves(d.series.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n].mask != all) continue;
    leaves[static_cast<size_t>(nodes[n].leaves[0])] = detail.severity[n];
  }
  if (!additive || nodes.empty()) return leaves;
  // Dimension values as ids, kRollUp where a node does not fix a dimension.
  std::vector<std::map<std::string, int32_t>> ids(d.dimensions.size());
  std::vector<std::vector<int32_t>> keys(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (size_t i = 0; i < d.dimensions.size(); ++i) {
      if (!(nodes[n].mask & (1u << i))) {
        keys[n].push_back(detect::kRollUp);
        continue;
      }
      auto [it, added] = ids[i].emplace(nodes[n].dims[i], static_cast<int32_t>(ids[i].size()));
      keys[n].push_back(it->second);
    }
  }
  std::vector<detect::HierarchyNode> cube(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n) cube[n].key = keys[n];
  const size_t points = detail.severity.empty() ? 0 : detail.severity[0].size();
  for (size_t t = 0; t < points; ++t) {
    bool any = false;
    for (size_t n = 0; n < nodes.size(); ++n) {
      detect::HierarchyNode& c = cube[n];
      const double sev = detail.severity[n][t];
      c.scored = sev != kNoScore;
      c.severity = c.scored ? sev : 0;
      c.actual = detail.value[n][t];
      c.expected = detail.expected[n][t];
      c.noise = detail.noise[n][t];
      c.explanation = detect::Explanation::kNone;
      any |= c.scored && nodes[n].mask != all && sev >= 50;
    }
    if (!any || detect::ApplyHierarchy(cube) == 0) continue;
    for (size_t n = 0; n < nodes.size(); ++n) {
      if (nodes[n].mask == all && cube[n].explanation == detect::Explanation::kIncident) {
        leaves[static_cast<size_t>(nodes[n].leaves[0])][t] = cube[n].severity;
      }
    }
  }
  return leaves;
}

Result<OspreyScores> ScoreWithOsprey(const Dataset& d, detect::ModelOptions options) {
  options.interval_seconds = d.interval_seconds;
  OspreyScores out;
  out.nodes = RollupLattice(d);
  const size_t n = d.points();
  // Each leaf's calendar event per point (computed once).
  std::vector<std::vector<const testing::CalendarEvent*>> leaf_event(d.series.size());
  for (size_t s = 0; s < d.series.size(); ++s) {
    leaf_event[s].resize(n);
    for (size_t t = 0; t < n; ++t) leaf_event[s][t] = d.EventAt(s, t);
  }
  std::vector<std::optional<double>> values(n);
  std::vector<const testing::CalendarEvent*> events(n);
  for (size_t m = 0; m < d.measures.size(); ++m) {
    const testing::MeasureInfo& info = d.measures[m];
    NodeDetail detail;
    MeasureScores& scores = detail.severity;
    scores.resize(out.nodes.size());
    detail.value.assign(out.nodes.size(), std::vector<double>(n, 0.0));
    detail.expected.assign(out.nodes.size(), std::vector<double>(n, 0.0));
    detail.noise.assign(out.nodes.size(), std::vector<double>(n, 0.0));
    for (size_t k = 0; k < out.nodes.size(); ++k) {
      const RollupNode& node = out.nodes[k];
      for (size_t t = 0; t < n; ++t) {
        double sum = 0, weight = 0;
        bool any = false;
        const testing::CalendarEvent* event = nullptr;
        for (int s : node.leaves) {
          const testing::LeafSeries& leaf = d.series[static_cast<size_t>(s)];
          if (event == nullptr) event = leaf_event[static_cast<size_t>(s)][t];
          const auto& v = leaf.measures[m].value[t];
          if (!v.has_value()) continue;
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
        } else {
          values[t] = any ? std::optional<double>(sum) : std::nullopt;
        }
        events[t] = event;
      }
      scores[k].assign(n, kNoScore);
      size_t first = 0;
      while (first < n && !values[first].has_value()) ++first;  // a late series starts at its first row
      OSPREY_ASSIGN_OR_RETURN(std::unique_ptr<detect::Model> model, detect::CreateModel(options));
      for (size_t t = first; t < n; ++t) {
        detect::Observation obs;
        obs.time = d.times[t];
        obs.local_time = d.local_times[t];
        obs.value = values[t];
        if (events[t] != nullptr) {
          obs.event = detect::EventId(events[t]->recurrence);
          obs.event_effect = events[t]->planned ? detect::EventEffect::kSuppress
                                                : detect::EventEffect::kLearn;
        }
        const detect::Score score = model->Observe(obs);
        if (!values[t].has_value()) continue;
        ++out.points_scored;
        if (!score.ready) continue;
        scores[k][t] = score.severity;
        detail.value[k][t] = *values[t];
        detail.expected[k][t] = score.expected;
        detail.noise[k][t] = score.noise;
      }
    }
    out.leaf_scores.push_back(
        LeafScoresFromHierarchy(d, out.nodes, detail, info.kind != MeasureKind::kMean));
    out.node_scores.push_back(std::move(scores));
  }
  return out;
}

}  // namespace osprey::bench
