#include "osprey/api/views.h"

#include <fmt/format.h>

#include <cstdlib>

#include "osprey/api/json_text.h"

namespace osprey::api {

using nlohmann::json;

namespace {
std::string Iso(int64_t ts) { return FormatIso(FromUnixSeconds(ts)); }

// Stored JSON text, or `fallback` when it is empty or does not parse (rows
// written before a field was filled).
json Parsed(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

// The fields a rules block sets (unset ones are left out).
json RulesJson(const config::Rules& r) {
  json out = json::object();
  if (r.min) out["min"] = *r.min;
  if (r.max) out["max"] = *r.max;
  if (r.change_percent) out["change_percent"] = *r.change_percent;
  if (r.change_intervals) out["change_intervals"] = *r.change_intervals;
  if (r.direction) out["direction"] = config::RuleDirectionName(*r.direction);
  if (r.sensitivity) out["sensitivity"] = *r.sensitivity;
  if (r.combine) out["combine"] = config::RuleCombineName(*r.combine);
  return out;
}

// Stored JSON text as it is, or `fallback` when it is empty or not one JSON
// value (rows written before a field was filled): what Parsed reads.
void AppendStored(std::string& out, const std::string& text, std::string_view fallback) {
  out += IsJsonValue(text) ? TrimJsonSpace(text) : fallback;
}

void AppendIso(std::string& out, int64_t ts) { AppendJsonString(out, Iso(ts)); }

}  // namespace

void AppendGroupJson(std::string& out, const store::GroupRecord& g) {
  // The members in the order dump() writes an object's: by name.
  out += "{\"anomaly_count\":";
  AppendJsonInt(out, g.anomaly_count);
  out += ",\"contributions\":";
  AppendStored(out, g.contributions, "{}");
  out += ",\"detector\":";
  AppendJsonString(out, g.detector);
  out += ",\"id\":";
  AppendJsonInt(out, g.id);
  // A group read without its incident's figures is an incident of its own.
  const bool incident = g.incident_intervals != 0;
  out += ",\"incident\":{\"end\":";
  AppendIso(out, g.incident_end_ts != 0 ? g.incident_end_ts : g.end_ts);
  out += ",\"intervals\":";
  AppendJsonInt(out, incident ? g.incident_intervals : 1);
  out += ",\"severity\":";
  AppendJsonNumber(out, incident ? g.incident_severity : g.severity);
  out += ",\"start\":";
  AppendIso(out, g.incident_ts != 0 ? g.incident_ts : g.ts);
  out += "},\"interval_end\":";
  AppendIso(out, g.end_ts);
  out += ",\"interval_start\":";
  AppendIso(out, g.ts);
  out += ",\"measure\":";
  AppendJsonString(out, g.measure);
  out += ",\"related\":";
  AppendStored(out, g.related, "[]");
  out += ",\"root_causes\":";
  AppendStored(out, g.root_causes, "[]");
  out += ",\"severity\":";
  AppendJsonNumber(out, g.severity);
  out += "}";
}

json GroupJson(const store::GroupRecord& g) {
  std::string text;
  AppendGroupJson(text, g);
  return json::parse(text);
}

std::string GroupCursor(std::string_view order, const store::GroupRecord& g) {
  return fmt::format("{}:{}:{}:{}", order, g.ts, g.severity, g.id);
}

store::GroupKey GroupCursorKey(const std::vector<std::string>& fields) {
  return {std::strtoll(fields.at(0).c_str(), nullptr, 10), std::strtod(fields.at(1).c_str(), nullptr),
          std::strtoll(fields.at(2).c_str(), nullptr, 10)};
}

std::string OutboxCursor(int64_t id) { return fmt::format("id:{}", id); }

json AnomalyJson(const store::AnomalyRecord& a) {
  return {{"id", a.id},
          {"series_id", a.series_id},
          {"series", a.label},
          {"measure", a.measure},
          {"dimensions", Parsed(a.dims, json::object())},
          {"interval_start", Iso(a.ts)},
          {"value", a.value},
          {"expected", a.expected},
          {"lower", a.lower},
          {"upper", a.upper},
          {"severity", a.severity},
          {"direction", a.direction},
          {"explanation", a.explanation}};
}

json DetectorJson(const store::DetectorRecord& r, const config::Detector* d,
                  std::optional<int64_t> watermark) {
  json out = {{"name", r.name},
              {"active", r.active},
              {"managed_by", store::ManagedBy(r)},
              {"file", store::ManagedBy(r) == "file" ? json(store::ManagingFile(r)) : json(nullptr)},
              {"watermark", watermark ? json(Iso(*watermark)) : json(nullptr)}};
  if (d) {
    json measures = json::array();
    for (const auto& m : d->measures) {
      json measure = {{"name", m.name}, {"aggregation", config::AggregationName(m.aggregation)}};
      if (m.ratio) {
        // SUM(numerator) / SUM(denominator) per series: no aggregation of its own.
        measure["aggregation"] = "ratio";
        measure["ratio"] = {{"numerator", m.ratio->numerator}, {"denominator", m.ratio->denominator}};
      }
      if (m.weight) measure["weight"] = *m.weight;  // a weighted AVG: SUM(value x weight) / SUM(weight)
      if (m.sensitivity) measure["sensitivity"] = *m.sensitivity;
      measure["missing"] = config::MissingPolicyName(m.missing);
      if (!m.rules.Empty()) measure["rules"] = RulesJson(m.rules);
      measures.push_back(std::move(measure));
    }
    out["description"] = d->description;
    out["frequency"] = d->frequency.ToString();
    out["offset_seconds"] = d->offset_seconds;
    out["timezone"] = d->timezone.name();
    out["source_timezone"] = config::SourceZone(*d).name();
    out["source_type"] = config::SourceTypeName(d->source.type);
    out["measures"] = measures;
    out["dimensions"] = d->dimensions;
    out["sensitivity"] = d->sensitivity;
    out["min_severity"] = d->min_severity;
    out["rules"] = RulesJson(d->rules);
    out["alerts"] = d->alerts.size();
    out["history_start"] = d->history_start ? json(FormatIso(*d->history_start)) : json(nullptr);
  }
  return out;
}

json FeedbackJson(const store::FeedbackRecord& f) {
  return {{"id", f.id},           {"group_id", f.group_id},      {"series_id", f.series_id},
          {"series", f.label},    {"interval_start", Iso(f.ts)}, {"direction", f.direction},
          {"value", f.value},     {"expected", f.expected},      {"relevant", f.relevant},
          {"comment", f.comment}, {"author", f.author},          {"created_at", Iso(f.created_at)}};
}

json QualityJson(const store::DataQualityRecord& q) {
  return {{"interval_start", Iso(q.ts)},
          {"rows_read", q.rows_read},
          {"rows_rejected", q.rows_rejected},
          {"rows_filtered", q.rows_filtered},
          {"series_seen", q.series_seen},
          {"series_missing", q.series_missing},
          {"details", Parsed(q.details, json::object())}};
}

json HealthJson(const std::vector<store::DataQualityRecord>& rows) {
  json out = {{"data", rows.empty() ? "unknown" : "ok"},
              {"no_data_intervals", 0},
              {"no_data_since", nullptr},
              {"warmup", nullptr}};
  int64_t run = 0;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    json details = Parsed(it->details, json::object());
    if (!details.is_object() || !details.value("no_data", false)) break;
    ++run;
    out["no_data_since"] = Iso(it->ts);
  }
  if (run > 0) {
    out["data"] = "no data";
    out["no_data_intervals"] = run;
  }
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    json details = Parsed(it->details, json::object());
    if (!details.is_object() || !details.contains("warmup") || !details["warmup"].is_object()) continue;
    json w = details["warmup"];
    const int64_t warming = w.value("series_warming", int64_t{0});
    out["warmup"] = {{"ready", warming == 0},
                     {"seen", w.value("seen", int64_t{0})},
                     {"needed", w.value("needed", int64_t{0})},
                     {"series_warming", warming},
                     {"series", w.value("series", int64_t{0})}};
    break;
  }
  return out;
}

Result<json> DetectorHealth(store::Store& s, int64_t detector_id, std::optional<int64_t> watermark) {
  if (!watermark) return HealthJson({});
  OSPREY_ASSIGN_OR_RETURN(auto rows, s.ListQuality(detector_id, *watermark - 7 * 86400, *watermark));
  return HealthJson(rows);
}

std::string HealthText(const json& health) {
  std::string out;
  if (health.value("data", "") == "no data") {
    out = fmt::format("no data for {} intervals since {}", health["no_data_intervals"].get<int64_t>(),
                      health["no_data_since"].get<std::string>());
  }
  const json& w = health["warmup"];
  if (w.is_object() && !w["ready"].get<bool>()) {
    if (!out.empty()) out += "; ";
    out += fmt::format("warming up: {} of {} intervals ({} of {} series; only rules fire meanwhile)",
                       w["seen"].get<int64_t>(), w["needed"].get<int64_t>(),
                       w["series_warming"].get<int64_t>(), w["series"].get<int64_t>());
  }
  return out.empty() ? health.value("data", "unknown") : out;
}

json TokenJson(const store::TokenRecord& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"role", t.role},
          {"created_at", Iso(t.created_at)},
          {"revoked_at", t.revoked_at ? json(Iso(*t.revoked_at)) : json(nullptr)}};
}

json OutboxJson(const store::OutboxRecord& r) {
  return {{"id", r.id},
          {"detector", r.detector},
          {"alert", r.alert},
          {"kind", r.kind},
          {"measure", r.measure},
          {"group_id", r.group_id},
          {"interval_start", Iso(r.group_ts)},
          {"incident_start", Iso(r.incident_ts != 0 ? r.incident_ts : r.group_ts)},
          {"severity", r.severity},
          {"idempotency_key", r.idempotency_key},
          {"status", r.status},
          {"attempts", r.attempts},
          {"next_attempt_at", r.status == "pending" ? json(Iso(r.next_attempt_at)) : json(nullptr)},
          {"last_error", r.last_error},
          {"created_at", Iso(r.created_at)},
          {"delivered_at", IsoOrNull(r.delivered_at)}};
}

json SilenceJson(const store::SilenceRecord& s, int64_t now) {
  json matchers = json::parse(s.matchers, nullptr, false);
  if (!matchers.is_object()) matchers = json::object();
  return {{"id", s.id},
          {"detector", s.detector.empty() ? json(nullptr) : json(s.detector)},
          {"measure", s.measure.empty() ? json(nullptr) : json(s.measure)},
          {"matchers", matchers},
          {"starts_at", Iso(s.starts_at)},
          {"ends_at", Iso(s.ends_at)},
          {"state", now >= s.ends_at    ? "expired"
                    : now < s.starts_at ? "pending"
                                        : "active"},
          {"comment", s.comment},
          {"created_by", s.created_by},
          {"created_at", Iso(s.created_at)}};
}

json IsoOrNull(std::optional<int64_t> ts) { return ts ? json(Iso(*ts)) : json(nullptr); }

}  // namespace osprey::api
