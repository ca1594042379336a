#include "osprey/alerts/rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace osprey::alerts {

using nlohmann::json;

std::string_view EventKindName(EventKind k) {
  switch (k) {
    case EventKind::kTrigger: return "trigger";
    case EventKind::kUpdate: return "update";
    case EventKind::kResolve: return "resolve";
    case EventKind::kNoData: return "no_data";
    case EventKind::kNoDataResolve: return "no_data_resolve";
  }
  return "trigger";
}

std::vector<AlertEvent> EvaluateNoData(const config::Alert& alert, int64_t ts, bool no_data,
                                       IncidentState& state, bool emit) {
  std::vector<AlertEvent> out;
  if (alert.no_data_after <= 0) return out;
  if (!no_data) {
    if (state.open && emit && alert.send_resolved) {
      out.push_back({EventKind::kNoDataResolve, "", ts, state.incident_ts, 0});
    }
    state.streak = 0;
    state.open = false;
    return out;
  }
  if (state.streak == 0) state.incident_ts = ts;
  state.streak += 1;
  state.last_group_ts = ts;
  if (!emit) {
    state.open = false;
    return out;
  }
  if (!state.open && state.streak >= alert.no_data_after) {
    out.push_back({EventKind::kNoData, "", ts, state.incident_ts, 0});
    state.open = true;
  }
  return out;
}

std::string IncidentState::ToJson() const {
  json j = {{"v", 1},
            {"streak", streak},
            {"incident_ts", incident_ts},
            {"last_group_ts", last_group_ts},
            {"open", open},
            {"notified_severity", notified_severity}};
  if (notified_at) j["notified_at"] = *notified_at;
  return j.dump();
}

Result<IncidentState> IncidentState::FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("v", 0) != 1) {
    return DataLoss(fmt::format("alert state is not a version-1 state: {}", text.substr(0, 80)));
  }
  try {
    IncidentState s;
    s.streak = j.at("streak").get<int64_t>();
    s.incident_ts = j.at("incident_ts").get<int64_t>();
    s.last_group_ts = j.at("last_group_ts").get<int64_t>();
    s.open = j.at("open").get<bool>();
    s.notified_severity = j.at("notified_severity").get<double>();
    if (j.contains("notified_at")) s.notified_at = j.at("notified_at").get<int64_t>();
    return s;
  } catch (const json::exception& e) {
    return DataLoss(fmt::format("alert state is corrupt: {}", e.what()));
  }
}

std::optional<double> MatchSeverity(const config::Alert& alert, const GroupView& group) {
  if (!alert.measures.empty() &&
      std::find(alert.measures.begin(), alert.measures.end(), group.measure) == alert.measures.end()) {
    return std::nullopt;
  }
  double severity = group.severity;
  if (!alert.dimension_filter.empty()) {
    std::optional<double> best;
    for (const AnomalyView& a : group.anomalies) {
      bool ok = true;
      for (const auto& [dim, values] : alert.dimension_filter) {
        auto it = a.dims.find(dim);
        if (it == a.dims.end() || std::find(values.begin(), values.end(), it->second) == values.end()) {
          ok = false;
          break;
        }
      }
      if (ok) best = std::max(best.value_or(0.0), a.severity);
    }
    if (!best) return std::nullopt;
    severity = *best;
  }
  if (severity < alert.min_severity) return std::nullopt;
  return severity;
}

std::vector<AlertEvent> EvaluateInterval(const config::Alert& alert, const std::vector<std::string>& measures,
                                         int64_t ts, int64_t end_ts, const std::vector<GroupView>& groups,
                                         std::map<std::string, IncidentState>& states, bool emit) {
  std::vector<AlertEvent> out;
  for (const std::string& measure : measures) {
    if (!alert.measures.empty() &&
        std::find(alert.measures.begin(), alert.measures.end(), measure) == alert.measures.end()) {
      continue;
    }
    std::optional<double> severity;
    for (const GroupView& g : groups) {
      if (g.measure == measure) severity = MatchSeverity(alert, g);
    }
    auto found = states.find(measure);
    if (found == states.end()) {
      if (!severity) continue;  // nothing to remember
      found = states.emplace(measure, IncidentState{}).first;
    }
    IncidentState& s = found->second;
    if (!severity) {
      if (s.open && emit && alert.send_resolved) {
        out.push_back({EventKind::kResolve, measure, s.last_group_ts, s.incident_ts, s.notified_severity});
      }
      s.streak = 0;
      s.open = false;
      continue;
    }
    if (s.streak == 0) s.incident_ts = ts;
    s.streak += 1;
    s.last_group_ts = ts;
    if (!emit) {
      s.open = false;
      continue;
    }
    const bool cooling = s.notified_at && end_ts - *s.notified_at < alert.cooldown_seconds;
    if (!s.open) {
      if (s.streak >= alert.min_duration && !cooling) {
        out.push_back({EventKind::kTrigger, measure, ts, s.incident_ts, *severity});
        s.open = true;
        s.notified_severity = *severity;
        s.notified_at = end_ts;
      }
    } else if (*severity >= s.notified_severity + alert.renotify_margin && !cooling) {
      out.push_back({EventKind::kUpdate, measure, ts, s.incident_ts, *severity});
      s.notified_severity = *severity;
      s.notified_at = end_ts;
    }
  }
  return out;
}

}  // namespace osprey::alerts
