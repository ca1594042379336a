// The JSON shapes of osprey's resources, shared by the REST API and the
// CLI's --json output so both say the same thing the same way. Includes
// nlohmann/json: include it only from .cc files.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/config/detector.h"
#include "osprey/store/store.h"

namespace osprey::api {

// An anomaly group: id, detector, measure, interval_start/end (ISO-8601 UTC),
// severity, anomaly_count, contributions, root_causes, related, incident.
nlohmann::json GroupJson(const store::GroupRecord& g);
// GroupJson(g).dump() appended to `out`, written directly: the stored
// contributions, root causes and related measures are copied in as they are
// (when they are JSON), not parsed and written again. For the lists.
void AppendGroupJson(std::string& out, const store::GroupRecord& g);
// Group list cursors (docs/api.md, "Paging"), the same for the API's
// next_cursor and `osprey anomalies list --after`: "ORDER:TS:SEVERITY:ID",
// the position after group `g` in the list sorted by ORDER (time, time_asc or
// severity). ParseCursor (parse.h) reads one with kGroupCursorTypes;
// GroupCursorKey turns its fields into the store's key.
inline constexpr std::string_view kGroupCursorTypes = "ini";
std::string GroupCursor(std::string_view order, const store::GroupRecord& g);
store::GroupKey GroupCursorKey(const std::vector<std::string>& fields);
// The alert outbox's cursor, newest first: "id:ID" (ParseCursor with order
// "id" and types "i"; the field is the id).
std::string OutboxCursor(int64_t id);
// One anomaly of a group: series label, dimensions, value, expected, band,
// severity, direction, explanation.
nlohmann::json AnomalyJson(const store::AnomalyRecord& a);
// A detector summary; `detector` is its parsed configuration when it parses.
nlohmann::json DetectorJson(const store::DetectorRecord& r, const config::Detector* detector,
                            std::optional<int64_t> watermark);
nlohmann::json FeedbackJson(const store::FeedbackRecord& f);
nlohmann::json QualityJson(const store::DataQualityRecord& q);
nlohmann::json TokenJson(const store::TokenRecord& t);
// One alert message of the outbox: kind, alert, group, status, attempts,
// next_attempt_at, last_error, delivered_at (ISO-8601 UTC or null).
nlohmann::json OutboxJson(const store::OutboxRecord& r);
// A silence: id, detector, measure (null when it matches any), matchers,
// starts_at, ends_at, created_at (ISO-8601 UTC), comment, created_by, and
// state at `now`: "pending" (not started), "active" or "expired".
nlohmann::json SilenceJson(const store::SilenceRecord& s, int64_t now);
// A detector's data health from its data-quality rows (oldest first):
// {"data": "ok" | "no data" | "unknown", "no_data_intervals": trailing
// intervals whose query returned no rows, "no_data_since": the first of them
// (ISO-8601 or null), "warmup": {"ready", "seen", "needed", "series_warming",
// "series"} of the latest row that recorded it, or null}. seen/needed are in
// intervals, of the least advanced series.
nlohmann::json HealthJson(const std::vector<store::DataQualityRecord>& rows);
// HealthJson of the detector's last 7 days of rows before its watermark.
Result<nlohmann::json> DetectorHealth(store::Store& s, int64_t detector_id, std::optional<int64_t> watermark);
// The health for people: "no data for 4 intervals since ...; warming up: 310
// of 672 intervals (3 of 40 series; only rules fire meanwhile)", or "ok".
std::string HealthText(const nlohmann::json& health);
// A Unix-seconds instant as ISO-8601 UTC, or null.
nlohmann::json IsoOrNull(std::optional<int64_t> ts);

}  // namespace osprey::api
