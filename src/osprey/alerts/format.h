// Alert payload formats: the generic JSON webhook (osprey's own documented
// schema, also what a command destination reads on stdin), Slack incoming
// webhooks, PagerDuty Events API v2 and the Alertmanager webhook. Pure: a
// Message holds everything a payload shows (read from the store by the
// Deliverer) and each formatter turns it into bytes deterministically, so a
// retry sends the same body and docs/alerts.md samples come from this code.
#pragma once

#include <string>
#include <vector>

#include "osprey/config/detector.h"
#include "osprey/store/store.h"

namespace osprey::alerts {

// One anomalous series of the group with its recent history (oldest first).
struct SeriesView {
  store::AnomalyRecord anomaly;
  std::vector<store::PointRecord> recent;
};

struct Message {
  std::string detector;
  std::string detector_description;
  config::Alert alert;
  store::OutboxRecord row;         // kind, idempotency key, incident, created_at
  store::GroupRecord group;        // empty for a no-data message
  std::vector<SeriesView> series;  // most severe first
  // No-data messages (store::IsNoDataKind): how many intervals had no rows,
  // from row.incident_ts on; and when the outage was last seen (no_data) or
  // ended (no_data_resolve), Unix seconds.
  int64_t no_data_intervals = 0;
  int64_t no_data_until = 0;
  // Failing messages (store::IsFailingKind): the detector's last error and
  // consecutive failed runs, from its status when the message is built.
  std::string failing_error;
  int64_t failing_retries = 0;
};

// How many series and how many recent intervals a payload shows.
inline constexpr size_t kMaxSeries = 5;
inline constexpr int64_t kRecentIntervals = 12;

// Links into the web UI (docs/ui.md, "Routes"): the anomaly group,
// {ui_base_url}/#/anomalies/{group_id}, and its incident (every measure of
// the detector that went wrong at the same time for the same root cause),
// {ui_base_url}/#/incidents/{group_id}. A no-data message links to the
// detector's page, {ui_base_url}/#/detectors/{detector}, for both; so does a
// failing message.
std::string GroupUrl(const Message& m);
std::string IncidentUrl(const Message& m);
// PagerDuty/Alertmanager identity of the incident, stable from trigger to
// resolve: osprey/{detector}/{alert}/{measure}/{incident start, ISO-8601};
// for no-data messages osprey/{detector}/{alert}/no_data/{outage start},
// for failing ones osprey/{detector}/{alert}/failing/{first failure}.
std::string DedupKey(const Message& m);

// The generic webhook body (schema in docs/alerts.md), as compact JSON.
std::string WebhookJson(const Message& m);
// Slack incoming-webhook body: text plus Block Kit blocks.
std::string SlackJson(const Message& m);
// PagerDuty Events v2: trigger (also for an update, same dedup_key) or resolve.
std::string PagerDutyJson(const Message& m, const std::string& routing_key);
// Alertmanager webhook (version 4) with one alert, firing or resolved.
std::string AlertmanagerJson(const Message& m);

// The body for m.alert.destination (the webhook body for a command).
std::string FormatPayload(const Message& m, const std::string& routing_key);

}  // namespace osprey::alerts
