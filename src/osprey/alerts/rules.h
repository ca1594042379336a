// Alert rule evaluation: decides, interval by interval, which anomaly groups
// become messages (trigger, update, resolve) for one alert rule. Pure: the
// caller passes the interval's groups and the rule's memory (IncidentState per
// measure) and gets back the events; nothing here reads a clock or does IO, so
// backfill, backtest and live runs evaluate the same way. Not thread-safe per
// state map; distinct maps may be used from distinct threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/config/detector.h"

namespace osprey::alerts {

// One anomaly of a group as the rules see it: its series' dimension values
// (roll-up dimensions absent) and its severity.
struct AnomalyView {
  std::map<std::string, std::string> dims;
  double severity = 0;
};

// One anomaly group of the interval being evaluated.
struct GroupView {
  std::string measure;
  int64_t ts = 0;  // interval start
  double severity = 0;
  std::vector<AnomalyView> anomalies;
};

// The rule's memory for one (alert, measure): the incident in progress.
struct IncidentState {
  int64_t streak = 0;         // consecutive intervals with a matching group
  int64_t incident_ts = 0;    // first interval of the streak
  int64_t last_group_ts = 0;  // interval of the latest matching group
  bool open = false;          // a trigger went out and no resolve yet
  double notified_severity = 0;
  std::optional<int64_t> notified_at;  // interval end of the last trigger/update

  std::string ToJson() const;
  // DataLoss on text that is not a state this build wrote.
  static Result<IncidentState> FromJson(const std::string& text);
  bool operator==(const IncidentState&) const = default;
};

// kNoData / kNoDataResolve: the detector's query returned no rows for
// no_data_after intervals (a feed outage), and rows are back. Messages about
// the detector's data, not about a group.
enum class EventKind { kTrigger, kUpdate, kResolve, kNoData, kNoDataResolve };
// trigger | update | resolve | no_data | no_data_resolve
std::string_view EventKindName(EventKind k);

// The key under which an alert's no-data state is kept among its per-measure
// states (no measure has an empty name).
inline constexpr const char* kNoDataStateKey = "";

struct AlertEvent {
  EventKind kind = EventKind::kTrigger;
  std::string measure;
  int64_t group_ts = 0;     // the group the message is about (for a resolve: the last one)
  int64_t incident_ts = 0;  // first interval of the incident
  double severity = 0;
};

// The group's severity as `alert` sees it, or nullopt when the group does not
// match the rule. With a dimension filter, only the group's anomalies whose
// series has, for every filtered dimension, one of the listed values count,
// and the severity is the highest of theirs; without one it is the group's.
// The result must also reach alert.min_severity to match.
std::optional<double> MatchSeverity(const config::Alert& alert, const GroupView& group);

// Evaluates `alert` for the interval [ts, end_ts) whose groups are `groups`
// (at most one per measure), updating `states` (keyed by measure) and
// returning the messages to send, in order. `measures` are the detector's
// measures. With `emit` false (backfill without alerts) the streaks are kept
// up to date but nothing opens and nothing is returned. The rules:
//  - a measure's streak grows while each interval has a matching group and
//    drops to 0 on the first interval without one;
//  - trigger: streak >= min_duration, no open incident, and no notification
//    of this alert and measure within cooldown_seconds before end_ts;
//  - update: an open incident whose severity rose by at least renotify_margin
//    over the last notified severity, outside the cooldown;
//  - resolve: an open incident with no matching group (if send_resolved).
// The no-data rule of `alert` (alert.no_data_after > 0) for [ts, end_ts):
// `no_data` says the detector's query returned no rows in it. state.streak
// counts consecutive such intervals and state.incident_ts is the first of
// them. A kNoData event (group_ts = ts) goes out when the streak reaches
// no_data_after, once per outage; a kNoDataResolve event in the first
// interval with rows after one went out (if send_resolved). With `emit`
// false the streak is kept but nothing opens or is returned.
std::vector<AlertEvent> EvaluateNoData(const config::Alert& alert, int64_t ts, bool no_data,
                                       IncidentState& state, bool emit);

std::vector<AlertEvent> EvaluateInterval(const config::Alert& alert, const std::vector<std::string>& measures,
                                         int64_t ts, int64_t end_ts, const std::vector<GroupView>& groups,
                                         std::map<std::string, IncidentState>& states, bool emit);

}  // namespace osprey::alerts
