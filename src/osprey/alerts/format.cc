#include "osprey/alerts/format.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "osprey/base/time.h"
#include "osprey/rca/codec.h"

namespace osprey::alerts {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

std::string Iso(int64_t ts) { return FormatIso(FromUnixSeconds(ts)); }

double Round(double v, double scale) { return std::round(v * scale) / scale; }

ordered_json ParseOr(const std::string& text, ordered_json fallback) {
  ordered_json j = ordered_json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

bool NoData(const Message& m) { return store::IsNoDataKind(m.row.kind); }
bool Failing(const Message& m) { return store::IsFailingKind(m.row.kind); }
// About the detector, not a group: links to the detector's page.
bool AboutDetector(const Message& m) { return NoData(m) || Failing(m) || m.row.kind == "test"; }
bool Resolve(const Message& m) {
  return m.row.kind == "resolve" || m.row.kind == "no_data_resolve" || m.row.kind == "failing_resolve";
}
// A test message (Deliverer::SendTest): no group either.
bool Test(const Message& m) { return m.row.kind == "test"; }

std::string Title(const Message& m) {
  const std::string& k = m.row.kind;
  if (k == "test") {
    return fmt::format("[osprey] Test message from detector {}, alert {}: this destination works", m.detector,
                       m.alert.name);
  }
  if (k == "no_data") {
    return fmt::format("[osprey] No data: {} returned no rows for {} intervals since {}", m.detector,
                       m.no_data_intervals, Iso(m.row.incident_ts));
  }
  if (k == "no_data_resolve") {
    return fmt::format("[osprey] Data is back: {} returned rows again at {} after {} intervals without data",
                       m.detector, Iso(m.no_data_until), m.no_data_intervals);
  }
  if (k == "failing") {
    return fmt::format("[osprey] Detector failing: {} has failed since {}{}{}", m.detector,
                       Iso(m.row.incident_ts), m.failing_error.empty() ? "" : ": ", m.failing_error);
  }
  if (k == "failing_resolve") {
    return fmt::format("[osprey] Detector recovered: {} ran again at {} after failing since {}", m.detector,
                       Iso(m.row.created_at), Iso(m.row.incident_ts));
  }
  if (k == "resolve") {
    return fmt::format("[osprey] Resolved: {} / {} is back to normal", m.detector, m.group.measure);
  }
  return fmt::format("[osprey] {}{} / {}: anomaly of severity {:.0f}", k == "update" ? "Worse: " : "",
                     m.detector, m.group.measure, m.row.severity);
}

// "platform=pc_web & marketplace=US" for the most important root cause.
std::string TopCause(const Message& m) {
  auto rc = rca::DecodeRootCauses(m.group.root_causes);
  if (!rc.ok() || rc->empty() || rc->front().element.empty()) return "";
  std::string out = rca::ElementText(rc->front(), " & ");
  // A ratio measure: which side moved.
  if (rc->front().ratio) out += " — " + rca::RatioSidesText(*rc->front().ratio);
  return out;
}

std::string Summary(const Message& m) {
  std::string s = Title(m);
  if (AboutDetector(m)) return s;
  std::string cause = TopCause(m);
  if (!cause.empty() && m.row.kind != "resolve") s += fmt::format(" (root cause: {})", cause);
  return s;
}

// The fields every message about the detector (no group) starts with.
ordered_json DetectorMessageJson(const Message& m) {
  return {{"schema", "osprey.alert.v1"},
          {"event", m.row.kind},
          {"idempotency_key", m.row.idempotency_key},
          {"dedup_key", DedupKey(m)},
          {"detector", m.detector},
          {"alert", m.alert.name},
          {"description", m.alert.description}};
}

// The generic body of a no-data message (schema in docs/alerts.md).
ordered_json NoDataJson(const Message& m) {
  ordered_json j = DetectorMessageJson(m);
  j["no_data_since"] = Iso(m.row.incident_ts);
  j["no_data_intervals"] = m.no_data_intervals;
  j[m.row.kind == "no_data" ? "last_checked" : "data_returned"] = Iso(m.no_data_until);
  j["url"] = GroupUrl(m);
  j["summary"] = Summary(m);
  return j;
}

// The generic body of a failing message (schema in docs/alerts.md).
ordered_json FailingJson(const Message& m) {
  ordered_json j = DetectorMessageJson(m);
  j["failing_since"] = Iso(m.row.incident_ts);
  if (m.row.kind == "failing") {
    j["last_error"] = m.failing_error;
    j["failed_runs"] = m.failing_retries;
  } else {
    j["recovered_at"] = Iso(m.row.created_at);
  }
  j["url"] = GroupUrl(m);
  j["summary"] = Summary(m);
  return j;
}

ordered_json SeriesJson(const SeriesView& v) {
  const store::AnomalyRecord& a = v.anomaly;
  ordered_json recent = ordered_json::array();
  for (const store::PointRecord& p : v.recent) {
    ordered_json r = {{"interval_start", Iso(p.ts)}};
    r["actual"] = p.value ? ordered_json(*p.value) : ordered_json(nullptr);
    r["expected"] = p.expected ? ordered_json(*p.expected) : ordered_json(nullptr);
    r["lower"] = p.lower ? ordered_json(*p.lower) : ordered_json(nullptr);
    r["upper"] = p.upper ? ordered_json(*p.upper) : ordered_json(nullptr);
    recent.push_back(std::move(r));
  }
  return {{"series", a.label},
          {"dimensions", ParseOr(a.dims, ordered_json::object())},
          {"actual", a.value},
          {"expected", a.expected},
          {"lower", a.lower},
          {"upper", a.upper},
          {"severity", Round(a.severity, 10)},
          {"direction", a.direction},
          {"explanation", a.explanation},
          {"recent", std::move(recent)}};
}

std::string PagerDutySeverity(double severity) {
  if (severity >= 90) return "critical";
  if (severity >= 70) return "error";
  if (severity >= 50) return "warning";
  return "info";
}

}  // namespace

std::string GroupUrl(const Message& m) {
  if (AboutDetector(m)) return fmt::format("{}/#/detectors/{}", m.alert.ui_base_url, m.detector);
  return fmt::format("{}/#/anomalies/{}", m.alert.ui_base_url, m.group.id);
}

std::string IncidentUrl(const Message& m) {
  if (AboutDetector(m)) return GroupUrl(m);
  return fmt::format("{}/#/incidents/{}", m.alert.ui_base_url, m.group.id);
}

std::string DedupKey(const Message& m) {
  if (NoData(m)) {
    return fmt::format("osprey/{}/{}/no_data/{}", m.detector, m.alert.name, Iso(m.row.incident_ts));
  }
  if (Failing(m)) {
    return fmt::format("osprey/{}/{}/failing/{}", m.detector, m.alert.name, Iso(m.row.incident_ts));
  }
  return fmt::format("osprey/{}/{}/{}/{}", m.detector, m.alert.name, m.group.measure, Iso(m.row.incident_ts));
}

std::string WebhookJson(const Message& m) {
  if (NoData(m)) return NoDataJson(m).dump();
  if (Failing(m)) return FailingJson(m).dump();
  if (Test(m)) {
    return ordered_json{{"schema", "osprey.alert.v1"},
                        {"event", "test"},
                        {"idempotency_key", m.row.idempotency_key},
                        {"detector", m.detector},
                        {"alert", m.alert.name},
                        {"description", m.alert.description},
                        {"sent_at", Iso(m.row.created_at)},
                        {"url", GroupUrl(m)},
                        {"summary", Summary(m)}}
        .dump();
  }
  ordered_json series = ordered_json::array();
  for (const SeriesView& v : m.series) series.push_back(SeriesJson(v));
  ordered_json j = {{"schema", "osprey.alert.v1"},
                    {"event", m.row.kind},
                    {"idempotency_key", m.row.idempotency_key},
                    {"dedup_key", DedupKey(m)},
                    {"detector", m.detector},
                    {"alert", m.alert.name},
                    {"description", m.alert.description},
                    {"group_id", m.group.id},
                    {"measure", m.group.measure},
                    {"interval_start", Iso(m.group.ts)},
                    {"interval_end", Iso(m.group.end_ts)},
                    {"incident_start", Iso(m.row.incident_ts)},
                    {"severity", Round(m.row.severity, 10)},
                    {"group_severity", Round(m.group.severity, 10)},
                    {"anomaly_count", m.group.anomaly_count},
                    {"contributions", ParseOr(m.group.contributions, ordered_json::object())},
                    {"root_causes", ParseOr(m.group.root_causes, ordered_json::array())},
                    {"series", std::move(series)},
                    {"url", GroupUrl(m)},
                    {"incident_url", IncidentUrl(m)},
                    {"summary", Summary(m)}};
  return j.dump();
}

std::string SlackJson(const Message& m) {
  std::string lines = fmt::format("*{}*\n", Title(m));
  if (m.row.kind == "no_data") {
    lines +=
        "The feed stopped: this is missing data, not a fall to zero. Nothing is scored until rows return.\n";
  } else if (m.row.kind == "no_data_resolve") {
    lines += fmt::format("No rows from {} to {}.\n", Iso(m.row.incident_ts), Iso(m.no_data_until));
  } else if (m.row.kind == "failing") {
    lines += fmt::format(
        "Its scheduled runs fail ({} so far) and are retried with backoff; nothing is scored "
        "until one succeeds.\n",
        m.failing_retries);
  } else if (m.row.kind == "failing_resolve") {
    lines += "Runs succeed again; the intervals it missed are processed.\n";
  } else if (Test(m)) {
    lines += "Sent from osprey to check this destination; nothing is wrong.\n";
  } else if (m.row.kind != "resolve") {
    lines += fmt::format("Interval {} to {}, {} anomalous series.\n", Iso(m.group.ts), Iso(m.group.end_ts),
                         m.group.anomaly_count);
    std::string cause = TopCause(m);
    if (!cause.empty()) lines += fmt::format("Root cause: `{}`\n", cause);
    for (const SeriesView& v : m.series) {
      // A rule's anomaly can lie inside the model's band: say which rule.
      const std::string& why = v.anomaly.explanation;
      const std::string rule = why == "threshold" || why == "change"
                                   ? fmt::format(", {} rule ({})", why, v.anomaly.direction)
                                   : std::string();
      lines += fmt::format("• `{}`: {:.6g} (expected {:.6g}, band {:.6g} to {:.6g}), severity {:.0f}{}\n",
                           v.anomaly.label, v.anomaly.value, v.anomaly.expected, v.anomaly.lower,
                           v.anomaly.upper, v.anomaly.severity, rule);
    }
  } else {
    lines += fmt::format("The incident that started at {} has ended.\n", Iso(m.row.incident_ts));
  }
  ordered_json j = {
      {"text", Summary(m)},
      {"blocks",
       ordered_json::array(
           {ordered_json{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", lines}}}},
            ordered_json{{"type", "context"},
                         {"elements",
                          ordered_json::array({ordered_json{
                              {"type", "mrkdwn"},
                              {"text", AboutDetector(m)
                                           ? fmt::format("<{}|Open in osprey> · detector `{}` · alert `{}`",
                                                         GroupUrl(m), m.detector, m.alert.name)
                                           : fmt::format("<{}|Open in osprey> · <{}|Incident> · "
                                                         "detector `{}` · alert `{}`",
                                                         GroupUrl(m), IncidentUrl(m), m.detector,
                                                         m.alert.name)}}})}}})}};
  return j.dump();
}

std::string PagerDutyJson(const Message& m, const std::string& routing_key) {
  const bool resolve = Resolve(m);
  ordered_json j = {{"routing_key", routing_key},
                    {"event_action", resolve ? "resolve" : "trigger"},
                    {"dedup_key", DedupKey(m)}};
  if (Test(m)) {
    j["payload"] = {{"summary", Summary(m)}, {"source", fmt::format("osprey/{}", m.detector)},
                    {"severity", "info"},    {"timestamp", Iso(m.row.created_at)},
                    {"group", m.detector},   {"class", "test"}};
    j["client"] = "osprey";
    j["client_url"] = GroupUrl(m);
  } else if (!resolve && Failing(m)) {
    j["payload"] = {{"summary", Summary(m)},
                    {"source", fmt::format("osprey/{}", m.detector)},
                    {"severity", "error"},
                    {"timestamp", Iso(m.row.created_at)},
                    {"group", m.detector},
                    {"class", "failing"},
                    {"custom_details", FailingJson(m)}};
    j["client"] = "osprey";
    j["client_url"] = GroupUrl(m);
  } else if (!resolve && NoData(m)) {
    j["payload"] = {{"summary", Summary(m)},
                    {"source", fmt::format("osprey/{}", m.detector)},
                    {"severity", "warning"},
                    {"timestamp", Iso(m.no_data_until)},
                    {"group", m.detector},
                    {"class", "no_data"},
                    {"custom_details", NoDataJson(m)}};
    j["client"] = "osprey";
    j["client_url"] = GroupUrl(m);
  } else if (!resolve) {
    ordered_json details = {{"group_id", m.group.id},
                            {"measure", m.group.measure},
                            {"interval_start", Iso(m.group.ts)},
                            {"interval_end", Iso(m.group.end_ts)},
                            {"severity", Round(m.row.severity, 10)},
                            {"anomaly_count", m.group.anomaly_count},
                            {"root_causes", ParseOr(m.group.root_causes, ordered_json::array())},
                            {"idempotency_key", m.row.idempotency_key}};
    j["payload"] = {{"summary", Summary(m)},
                    {"source", fmt::format("osprey/{}", m.detector)},
                    {"severity", PagerDutySeverity(m.row.severity)},
                    {"timestamp", Iso(m.group.end_ts)},
                    {"component", m.group.measure},
                    {"group", m.detector},
                    {"class", m.series.empty() ? std::string("anomaly") : m.series[0].anomaly.explanation},
                    {"custom_details", std::move(details)}};
    j["client"] = "osprey";
    j["client_url"] = GroupUrl(m);
    j["links"] = ordered_json::array({{{"href", GroupUrl(m)}, {"text", "Anomaly group in osprey"}},
                                      {{"href", IncidentUrl(m)}, {"text", "Incident in osprey"}}});
  }
  return j.dump();
}

std::string AlertmanagerJson(const Message& m) {
  const bool resolve = Resolve(m);
  const std::string status = resolve ? "resolved" : "firing";
  ordered_json labels = {{"alertname", m.alert.name},
                         {"detector", m.detector},
                         {"measure", NoData(m)    ? std::string("no_data")
                                     : Failing(m) ? std::string("failing")
                                     : Test(m)    ? std::string("test")
                                                  : m.group.measure},
                         {"severity", Failing(m)  ? std::string("error")
                                      : NoData(m) ? std::string("warning")
                                      : Test(m)   ? std::string("info")
                                                  : PagerDutySeverity(m.row.severity)}};
  ordered_json annotations = {{"summary", Summary(m)},
                              {"description", m.alert.description},
                              {"osprey_severity", fmt::format("{:.1f}", m.row.severity)},
                              {"group_id", std::to_string(m.group.id)},
                              {"idempotency_key", m.row.idempotency_key}};
  if (!AboutDetector(m)) annotations["incident_url"] = IncidentUrl(m);
  const int64_t ends = NoData(m) ? m.no_data_until : Failing(m) ? m.row.created_at : m.group.end_ts;
  // A test message is over as it is sent.
  const bool over = resolve || Test(m);
  ordered_json alert = {{"status", status},
                        {"labels", labels},
                        {"annotations", annotations},
                        {"startsAt", Iso(m.row.incident_ts)},
                        {"endsAt", over ? Iso(ends) : "0001-01-01T00:00:00Z"},
                        {"generatorURL", GroupUrl(m)},
                        {"fingerprint", DedupKey(m)}};
  ordered_json j = {{"version", "4"},
                    {"groupKey", DedupKey(m)},
                    {"truncatedAlerts", 0},
                    {"status", status},
                    {"receiver", m.alert.name},
                    {"groupLabels", {{"alertname", m.alert.name}}},
                    {"commonLabels", labels},
                    {"commonAnnotations", annotations},
                    {"externalURL", m.alert.ui_base_url},
                    {"alerts", ordered_json::array({alert})}};
  return j.dump();
}

std::string FormatPayload(const Message& m, const std::string& routing_key) {
  switch (m.alert.destination) {
    case config::AlertDestination::kSlack: return SlackJson(m);
    case config::AlertDestination::kPagerDuty: return PagerDutyJson(m, routing_key);
    case config::AlertDestination::kAlertmanager: return AlertmanagerJson(m);
    case config::AlertDestination::kWebhook:
    case config::AlertDestination::kCommand: return WebhookJson(m);
  }
  return WebhookJson(m);
}

}  // namespace osprey::alerts
