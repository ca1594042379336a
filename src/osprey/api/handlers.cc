// The /api/v1 resources: detectors, anomaly groups with their series and
// feedback, alerts, data quality and status. Each handler validates its
// input and returns a Reply or a Status that server.cc turns into
// problem+json.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "osprey/api/internal.h"
#include "osprey/api/parse.h"
#include "osprey/api/views.h"
#include "osprey/app/backtest.h"
#include "osprey/app/detector_admin.h"
#include "osprey/app/feedback.h"
#include "osprey/config/loader.h"

namespace osprey::api::internal {
namespace {

constexpr int64_t kMaxPageSize = 500;
constexpr size_t kMaxChartSeries = 8;

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == ':') {
      out += static_cast<char>(ch);
    } else {
      out += fmt::format("%{:02X}", ch);
    }
  }
  return out;
}

Reply Json(json body, int status = 200) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The stored configuration of `name`, parsed. Relative source paths are taken
// relative to the server's working directory.
struct LoadedDetector {
  store::DetectorRecord record;
  std::optional<config::Detector> detector;  // unset when the stored text no longer parses
  std::optional<int64_t> watermark;
};

Result<LoadedDetector> Load(store::Store& s, const std::string& name) {
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord rec, s.GetDetector(name));
  LoadedDetector out{rec, std::nullopt, std::nullopt};
  auto d = config::LoadDetector(rec.config, fmt::format("detector '{}'", name));
  if (d.ok()) out.detector = std::move(d).value();
  OSPREY_ASSIGN_OR_RETURN(out.watermark, s.GetWatermark(rec.id));
  return out;
}

json Describe(const LoadedDetector& l, bool with_config) {
  json j = DetectorJson(l.record, l.detector ? &*l.detector : nullptr, l.watermark);
  if (with_config) j["config"] = l.record.config;
  if (!l.detector) j["config_error"] = "the stored configuration no longer loads";
  return j;
}

// Reads and validates a detector file from the request body.
Result<config::Detector> DetectorFromBody(const Context& c) {
  if (c.req.body.empty()) {
    return InvalidArgument("send the detector configuration (YAML or JSON) as the request body");
  }
  return config::LoadDetector(c.req.body, "request body");
}

// ------------------------------------------------------------------ detectors

// A detector defined by a file of `osprey serve --config` is changed by
// editing the file: an API change would be overwritten on the next reload.
Status RefuseFileManaged(const store::DetectorRecord& r, std::string_view verb) {
  if (store::ManagedBy(r) != "file") return Status::Ok();
  return FailedPrecondition(fmt::format(
      "detector '{}' is defined by the file {} of osprey serve --config; {} that file instead", r.name,
      store::ManagingFile(r), verb));
}

Result<Reply> ListDetectors(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(auto records, c.store.ListDetectors());
  json list = json::array();
  for (const auto& r : records) {
    OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, r.name));
    list.push_back(Describe(l, false));
    OSPREY_ASSIGN_OR_RETURN(list.back()["health"], DetectorHealth(c.store, r.id, l.watermark));
  }
  return Json({{"detectors", list}});
}

Result<Reply> CreateDetector(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(config::Detector d, DetectorFromBody(c));
  if (c.store.GetDetector(d.name).ok()) {
    return AlreadyExists(fmt::format("a detector named '{}' exists; PUT /api/v1/detectors/{} updates it",
                                     d.name, d.name));
  }
  OSPREY_RETURN_IF_ERROR(app::SaveApiDetector(c.store, d.name, c.req.body));
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, d.name));
  Reply r = Json(Describe(l, true), 201);
  r.location = "/api/v1/detectors/" + d.name;
  return r;
}

Result<Reply> GetDetector(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, c.path["name"]));
  json j = Describe(l, true);
  OSPREY_ASSIGN_OR_RETURN(j["health"], DetectorHealth(c.store, l.record.id, l.watermark));
  return Json(j);
}

Result<Reply> UpdateDetector(Context& c) {
  const std::string& name = c.path["name"];
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord existing, c.store.GetDetector(name));
  OSPREY_RETURN_IF_ERROR(RefuseFileManaged(existing, "edit"));
  OSPREY_ASSIGN_OR_RETURN(config::Detector d, DetectorFromBody(c));
  if (d.name != name) {
    return InvalidArgument(fmt::format(
        "the body names detector '{}' but the URL names '{}'; a detector cannot be renamed", d.name,
        name));
  }
  // From now on the API manages it, so `osprey serve` runs it.
  OSPREY_RETURN_IF_ERROR(app::SaveApiDetector(c.store, name, c.req.body));
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, name));
  return Json(Describe(l, true));
}

Result<Reply> DeleteDetector(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord existing, c.store.GetDetector(c.path["name"]));
  OSPREY_RETURN_IF_ERROR(RefuseFileManaged(existing, "remove"));
  OSPREY_RETURN_IF_ERROR(app::RemoveDetector(c.store, c.path["name"]));
  Reply r;
  r.status = 204;
  return r;
}

Handler SetActive(bool active) {
  return [active](Context& c) -> Result<Reply> {
    OSPREY_RETURN_IF_ERROR(app::ActivateDetector(c.store, c.path["name"], active));
    OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, c.path["name"]));
    return Json(Describe(l, false));
  };
}

Result<Reply> Backtest(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, c.path["name"]));
  if (!l.detector) return FailedPrecondition("the detector's stored configuration does not load");
  const config::Detector& d = *l.detector;
  OSPREY_ASSIGN_OR_RETURN(BacktestBody body, ParseBacktestBody(c.req.body, d.timezone));
  app::BacktestRequest r;
  r.detector = d;
  r.config_text = l.record.config;
  r.from = body.from;
  r.to = body.to;
  r.now = c.clock.Now();
  std::optional<Instant> from = r.from ? r.from : d.history_start;
  if (!from) return InvalidArgument("give 'from' (the detector has no history_start)");
  Instant to = r.to ? *r.to : r.now;
  if (*from >= to) return InvalidArgument("'from' must be before 'to'");
  const int64_t intervals = (ToUnixSeconds(to) - ToUnixSeconds(*from)) / d.frequency.NominalSeconds();
  if (intervals > c.options.max_backtest_intervals) {
    return InvalidArgument(fmt::format(
        "the range holds {} intervals; this server runs at most {} per request (use 'osprey backtest' "
        "for longer ranges)",
        intervals, c.options.max_backtest_intervals));
  }
  OSPREY_ASSIGN_OR_RETURN(app::RunStats stats, app::RunBacktest(r, c.store));
  return Json({{"detector", d.name},
               {"from", FormatIso(*from)},
               {"to", FormatIso(to)},
               {"intervals", stats.intervals},
               {"rows_read", stats.rows_read},
               {"rows_rejected", stats.rows_rejected},
               {"points", stats.points},
               {"anomalies", stats.anomalies},
               {"groups", stats.groups},
               {"anomaly_groups", fmt::format("/api/v1/anomaly-groups?detector={}&from={}&to={}",
                                              d.name, PercentEncode(FormatIso(*from)),
                                              PercentEncode(FormatIso(to)))}});
}

Result<Reply> DataQuality(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, c.path["name"]));
  OSPREY_ASSIGN_OR_RETURN(auto from, TimeQuery(c, "from"));
  OSPREY_ASSIGN_OR_RETURN(auto to, TimeQuery(c, "to"));
  OSPREY_ASSIGN_OR_RETURN(auto limit, IntQuery(c, "limit", 1, 10000));
  const int64_t step = l.detector ? l.detector->frequency.NominalSeconds() : 3600;
  int64_t end = to ? *to : (l.watermark ? *l.watermark : ToUnixSeconds(c.clock.Now()));
  int64_t begin = from ? *from : end - 168 * step;
  if (begin >= end) return InvalidArgument("'from' must be before 'to'");
  OSPREY_ASSIGN_OR_RETURN(auto rows, c.store.ListQuality(l.record.id, begin, end));
  const size_t max = static_cast<size_t>(limit.value_or(2000));
  bool truncated = rows.size() > max;
  if (truncated) rows.erase(rows.begin(), rows.end() - static_cast<std::ptrdiff_t>(max));
  json list = json::array();
  int64_t read = 0, rejected = 0, missing = 0;
  for (const auto& q : rows) {
    list.push_back(QualityJson(q));
    read += q.rows_read;
    rejected += q.rows_rejected;
    missing += q.series_missing;
  }
  return Json({{"detector", l.record.name},
               {"from", FormatIso(FromUnixSeconds(begin))},
               {"to", FormatIso(FromUnixSeconds(end))},
               {"truncated", truncated},
               {"totals", {{"intervals", rows.size()},
                           {"rows_read", read},
                           {"rows_rejected", rejected},
                           {"series_missing", missing}}},
               {"intervals", list}});
}

// ------------------------------------------------------------------ events

constexpr int64_t kMaxEventRangeSeconds = 100LL * 366 * 86400;

// The detector's event calendar. A detector of `osprey serve --config` reads
// its events file relative to its own file, as serve does.
Result<detect::EventCalendar> CalendarOf(const LoadedDetector& l) {
  if (!l.detector) {
    return FailedPrecondition(fmt::format("the stored configuration of detector '{}' no longer loads",
                                          l.record.name));
  }
  config::Detector d = *l.detector;
  if (store::ManagedBy(l.record) == "file") {
    config::ResolveRelativePaths(
        d, std::filesystem::path(store::ManagingFile(l.record)).parent_path().string());
  }
  OSPREY_ASSIGN_OR_RETURN(std::vector<detect::CalendarEvent> events, config::LoadEvents(d));
  return detect::EventCalendar(std::move(events), d.timezone);
}

// Whether a stored series (its dimensions as JSON, absent = ALL) is in the
// event's scope.
bool SeriesInScope(const detect::CalendarEvent& e, const config::Detector& d, const json& dims) {
  return detect::InScope(e, [&](size_t i) -> std::optional<std::string_view> {
    auto it = dims.find(d.dimensions[i]);
    if (it == dims.end() || !it->is_string()) return std::nullopt;
    return it->get_ref<const std::string&>();
  });
}

Result<Reply> DetectorEvents(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, c.path["name"]));
  OSPREY_ASSIGN_OR_RETURN(auto from, TimeQuery(c, "from"));
  OSPREY_ASSIGN_OR_RETURN(auto to, TimeQuery(c, "to"));
  const int64_t end = to ? *to : (l.watermark ? *l.watermark : ToUnixSeconds(c.clock.Now()));
  const int64_t begin = from ? *from : end - 365 * 86400;
  if (begin >= end) return InvalidArgument("'from' must be before 'to'");
  if (end - begin > kMaxEventRangeSeconds) {
    return InvalidArgument("the range from 'from' to 'to' may span at most 100 years");
  }
  OSPREY_ASSIGN_OR_RETURN(detect::EventCalendar calendar, CalendarOf(l));
  json list = json::array();
  for (const detect::EventOccurrence& o :
       calendar.Overlapping(FromUnixSeconds(begin), FromUnixSeconds(end))) {
    json scope = json::object();
    for (const detect::EventScope& sc : o.event->scope) scope[sc.name] = sc.value;
    list.push_back({{"name", o.event->name},
                    {"start", FormatIso(o.start)},
                    {"end", FormatIso(o.end)},
                    {"effect", std::string(detect::EventEffectName(o.event->effect))},
                    {"dimensions", scope}});
  }
  return Json({{"detector", l.record.name},
               {"from", FormatIso(FromUnixSeconds(begin))},
               {"to", FormatIso(FromUnixSeconds(end))},
               {"events", list}});
}

// ------------------------------------------------------------------ anomaly groups

// The URL of the page after [offset, offset + limit) of `total` items, with
// the request's other query parameters; null on the last page.
json NextPage(const Context& c, std::string_view path, int64_t offset, int64_t limit, int64_t total) {
  if (offset + limit >= total) return nullptr;
  std::string url = fmt::format("{}?", path);
  for (const auto& [k, v] : c.req.params) {
    if (k == "offset") continue;
    url += fmt::format("{}={}&", PercentEncode(k), PercentEncode(v));
  }
  url += fmt::format("offset={}", offset + limit);
  if (!c.req.has_param("limit")) url += fmt::format("&limit={}", limit);
  return url;
}

Result<Reply> ListGroups(Context& c) {
  store::GroupQuery q;
  q.detector = StringQuery(c, "detector");
  q.measure = StringQuery(c, "measure");
  OSPREY_ASSIGN_OR_RETURN(auto min_severity, NumberQuery(c, "min_severity", 0, 100));
  q.min_severity = min_severity.value_or(0);
  OSPREY_ASSIGN_OR_RETURN(q.since, TimeQuery(c, "from"));
  OSPREY_ASSIGN_OR_RETURN(q.until, TimeQuery(c, "to"));
  OSPREY_ASSIGN_OR_RETURN(auto limit, IntQuery(c, "limit", 1, kMaxPageSize));
  OSPREY_ASSIGN_OR_RETURN(auto offset, IntQuery(c, "offset", 0, int64_t{1} << 40));
  q.limit = limit.value_or(50);
  q.offset = offset.value_or(0);
  std::string sort = StringQuery(c, "sort").value_or("time");
  if (sort == "time") {
    q.newest_first = true;
  } else if (sort == "time_asc") {
    q.newest_first = false;
  } else if (sort == "severity") {
    q.by_severity = true;
  } else {
    return InvalidArgument(fmt::format("sort '{}' is not one of time, time_asc, severity", sort));
  }
  if (q.detector) OSPREY_RETURN_IF_ERROR(c.store.GetDetector(*q.detector));
  OSPREY_ASSIGN_OR_RETURN(int64_t total, c.store.CountGroups(q));
  OSPREY_ASSIGN_OR_RETURN(auto groups, c.store.ListGroups(q));
  json list = json::array();
  for (const auto& g : groups) list.push_back(GroupJson(g));
  return Json({{"anomaly_groups", list},
               {"total", total},
               {"limit", q.limit},
               {"offset", q.offset},
               {"next", NextPage(c, "/api/v1/anomaly-groups", q.offset, q.limit, total)}});
}

Result<Reply> GetGroup(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(int64_t id, PathId(c, "id"));
  OSPREY_ASSIGN_OR_RETURN(store::GroupRecord g, c.store.GetGroup(id));
  OSPREY_ASSIGN_OR_RETURN(auto members, c.store.ListAnomalies(id));
  OSPREY_ASSIGN_OR_RETURN(auto feedback, c.store.ListGroupFeedback(id));
  json out = GroupJson(g);
  out["anomalies"] = json::array();
  for (const auto& a : members) out["anomalies"].push_back(AnomalyJson(a));
  out["feedback"] = json::array();
  for (const auto& f : feedback) out["feedback"].push_back(FeedbackJson(f));
  return Json(out);
}

Result<Reply> GroupSeries(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(int64_t id, PathId(c, "id"));
  OSPREY_ASSIGN_OR_RETURN(auto before, IntQuery(c, "before", 0, 2000));
  OSPREY_ASSIGN_OR_RETURN(auto after, IntQuery(c, "after", 0, 2000));
  OSPREY_ASSIGN_OR_RETURN(store::GroupRecord g, c.store.GetGroup(id));
  OSPREY_ASSIGN_OR_RETURN(auto members, c.store.ListAnomalies(id));
  OSPREY_ASSIGN_OR_RETURN(auto all_series, c.store.ListSeries(g.detector_id));
  double threshold = 50;
  auto loaded = Load(c.store, g.detector);
  if (loaded.ok() && loaded->detector) threshold = loaded->detector->min_severity;
  const int64_t step = std::max<int64_t>(g.end_ts - g.ts, 60);
  const int64_t from = g.ts - before.value_or(48) * step;
  const int64_t to = g.end_ts + after.value_or(24) * step;
  // Calendar events in the charted range, for shading; a calendar that does
  // not load leaves the charts without them.
  std::optional<detect::EventCalendar> calendar;
  std::vector<detect::EventOccurrence> occurrences;
  if (loaded.ok() && loaded->detector) {
    if (auto cal = CalendarOf(*loaded); cal.ok()) {
      calendar.emplace(std::move(cal).value());
      occurrences = calendar->Overlapping(FromUnixSeconds(from), FromUnixSeconds(to));
    }
  }

  // The roll-up of the measure first, then the affected series, most severe first.
  std::vector<std::pair<int64_t, bool>> chosen;  // series id, in the group
  std::set<int64_t> in_group;
  for (const auto& a : members) in_group.insert(a.series_id);
  for (const auto& s : all_series) {
    if (s.measure == g.measure && s.dims == "{}") chosen.push_back({s.id, in_group.count(s.id) > 0});
  }
  for (const auto& a : members) {
    if (chosen.size() >= kMaxChartSeries) break;
    bool seen = std::any_of(chosen.begin(), chosen.end(), [&](auto& p) { return p.first == a.series_id; });
    if (!seen) chosen.push_back({a.series_id, true});
  }
  json series = json::array();
  for (const auto& [sid, affected] : chosen) {
    auto rec = std::find_if(all_series.begin(), all_series.end(), [&](auto& s) { return s.id == sid; });
    if (rec == all_series.end()) continue;
    OSPREY_ASSIGN_OR_RETURN(auto points, c.store.ListPoints(sid, from, to));
    json ts = json::array(), actual = json::array(), expected = json::array(), lower = json::array(),
         upper = json::array(), severity = json::array(), anomalous = json::array();
    auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
    for (const auto& p : points) {
      ts.push_back(p.ts);
      actual.push_back(opt(p.value));
      expected.push_back(opt(p.expected));
      lower.push_back(opt(p.lower));
      upper.push_back(opt(p.upper));
      severity.push_back(opt(p.severity));
      anomalous.push_back(p.severity && *p.severity >= threshold);
    }
    const json dims = json::parse(rec->dims.empty() ? "{}" : rec->dims, nullptr, false);
    json events = json::array();
    for (const detect::EventOccurrence& o : occurrences) {
      if (!dims.is_object() || !SeriesInScope(*o.event, *loaded->detector, dims)) continue;
      events.push_back({{"name", o.event->name},
                        {"start", ToUnixSeconds(o.start)},
                        {"end", ToUnixSeconds(o.end)},
                        {"effect", std::string(detect::EventEffectName(o.event->effect))}});
    }
    series.push_back({{"series_id", sid},
                      {"label", rec->label},
                      {"dimensions", dims},
                      {"events", events},
                      {"rollup", rec->dims == "{}"},
                      {"in_group", affected},
                      {"timestamps", ts},
                      {"actual", actual},
                      {"expected", expected},
                      {"lower", lower},
                      {"upper", upper},
                      {"severity", severity},
                      {"anomalous", anomalous}});
  }
  return Json({{"group_id", g.id},
               {"measure", g.measure},
               {"interval_seconds", step},
               {"group_start", g.ts},
               {"group_end", g.end_ts},
               {"from", FormatIso(FromUnixSeconds(from))},
               {"to", FormatIso(FromUnixSeconds(to))},
               {"severity_threshold", threshold},
               {"series", series}});
}

Result<Reply> GetFeedback(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(int64_t id, PathId(c, "id"));
  OSPREY_RETURN_IF_ERROR(c.store.GetGroup(id));
  OSPREY_ASSIGN_OR_RETURN(auto feedback, c.store.ListGroupFeedback(id));
  json list = json::array();
  for (const auto& f : feedback) list.push_back(FeedbackJson(f));
  return Json({{"group_id", id}, {"feedback", list}});
}

Result<Reply> PutFeedback(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(int64_t id, PathId(c, "id"));
  OSPREY_ASSIGN_OR_RETURN(FeedbackBody body, ParseFeedbackBody(c.req.body));
  app::FeedbackRequest f;
  f.group_id = id;
  f.relevant = body.relevant;
  f.series_id = body.series_id;
  f.comment = std::move(body.comment);
  OSPREY_RETURN_IF_ERROR(c.store.GetGroup(id));
  f.author = c.principal ? c.principal->name : "";
  f.now = c.clock.Now();
  auto stored = app::RecordFeedback(c.store, f);
  if (!stored.ok()) {
    // The group exists (checked above): a missing series is the caller's mistake.
    if (stored.status().code() == StatusCode::kNotFound) return InvalidArgument(stored.status().message());
    return stored.status();
  }
  return GetFeedback(c);
}

// ------------------------------------------------------------------ alerts, status

Result<Reply> ListAlerts(Context& c) {
  auto only = StringQuery(c, "detector");
  if (only) OSPREY_RETURN_IF_ERROR(c.store.GetDetector(*only));
  OSPREY_ASSIGN_OR_RETURN(auto records, c.store.ListDetectors());
  json list = json::array();
  for (const auto& r : records) {
    if (only && r.name != *only) continue;
    auto d = config::LoadDetector(r.config, r.name);
    if (!d.ok()) continue;
    for (const auto& a : d->alerts) {
      json filter = json::object();
      for (const auto& [k, v] : a.dimension_filter) filter[k] = v;
      list.push_back({{"detector", r.name},
                      {"name", a.name},
                      {"destination", config::AlertDestinationName(a.destination)},
                      {"min_severity", a.min_severity},
                      {"measures", a.measures},
                      {"dimension_filter", filter},
                      {"description", a.description},
                      {"active", r.active}});
    }
  }
  return Json({{"alerts", list}});
}

Result<Reply> ListDeliveries(Context& c) {
  auto only = StringQuery(c, "detector");
  if (only) OSPREY_RETURN_IF_ERROR(c.store.GetDetector(*only));
  OSPREY_ASSIGN_OR_RETURN(auto limit, IntQuery(c, "limit", 1, kMaxPageSize));
  OSPREY_ASSIGN_OR_RETURN(auto offset, IntQuery(c, "offset", 0, int64_t{1} << 40));
  store::OutboxQuery q;
  q.detector = only;
  q.status = StringQuery(c, "status");
  if (q.status && *q.status != "pending" && *q.status != "delivered" && *q.status != "dead") {
    return InvalidArgument(fmt::format("status '{}' is not one of pending, delivered, dead", *q.status));
  }
  q.limit = limit.value_or(50);
  q.offset = offset.value_or(0);
  q.newest_first = true;
  OSPREY_ASSIGN_OR_RETURN(int64_t total, c.store.CountOutbox(q));
  OSPREY_ASSIGN_OR_RETURN(auto rows, c.store.ListOutbox(q));
  json list = json::array();
  for (const auto& o : rows) list.push_back(OutboxJson(o));
  return Json({{"deliveries", list},
               {"total", total},
               {"limit", q.limit},
               {"offset", q.offset},
               {"next", NextPage(c, "/api/v1/alerts/deliveries", q.offset, q.limit, total)}});
}

Result<Reply> GetStatus(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(auto records, c.store.ListDetectors());
  OSPREY_ASSIGN_OR_RETURN(store::StoreTotals t, c.store.Totals());
  OSPREY_ASSIGN_OR_RETURN(auto statuses, c.store.ListDetectorStatus());
  json detectors = json::array();
  int64_t active = 0;
  for (const auto& r : records) {
    OSPREY_ASSIGN_OR_RETURN(auto wm, c.store.GetWatermark(r.id));
    active += r.active ? 1 : 0;
    const store::DetectorStatusRecord* st = nullptr;
    for (const auto& s : statuses) {
      if (s.detector_id == r.id) st = &s;
    }
    detectors.push_back({{"name", r.name},
                         {"active", r.active},
                         {"state", store::DetectorState(r, st)},
                         {"watermark", IsoOrNull(wm)},
                         {"last_run", st ? IsoOrNull(st->last_run_at) : json(nullptr)},
                         {"next_run", st ? IsoOrNull(st->next_run_at) : json(nullptr)},
                         {"last_error", st ? json(st->last_error) : json("")},
                         {"retries", st ? st->retries : 0}});
    OSPREY_ASSIGN_OR_RETURN(detectors.back()["health"], DetectorHealth(c.store, r.id, wm));
  }
  return Json({{"version", OSPREY_VERSION},
               {"time", FormatIso(c.clock.Now())},
               {"schema_version", store::CurrentSchemaVersion()},
               {"alerts", {{"pending", t.alerts_pending}, {"delivered", t.alerts_delivered}, {"dead", t.alerts_dead}}},
               {"detectors", detectors},
               {"active_detectors", active},
               {"anomaly_groups", t.groups},
               {"anomalies", t.anomalies},
               {"intervals_processed", t.intervals}});
}

}  // namespace

// ------------------------------------------------------------------ input helpers

Result<int64_t> PathId(const Context& c, const std::string& name) {
  auto it = c.path.find(name);
  return ParsePathId(name, it == c.path.end() ? "" : it->second);
}

Result<std::optional<int64_t>> IntQuery(const Context& c, const std::string& name, int64_t min,
                                        int64_t max) {
  if (!c.req.has_param(name.c_str())) return std::optional<int64_t>();
  OSPREY_ASSIGN_OR_RETURN(int64_t x, ParseIntParam(name, c.req.get_param_value(name.c_str()), min, max));
  return std::optional<int64_t>(x);
}

Result<std::optional<double>> NumberQuery(const Context& c, const std::string& name, double min,
                                          double max) {
  if (!c.req.has_param(name.c_str())) return std::optional<double>();
  OSPREY_ASSIGN_OR_RETURN(double x, ParseNumberParam(name, c.req.get_param_value(name.c_str()), min, max));
  return std::optional<double>(x);
}

Result<std::optional<int64_t>> TimeQuery(const Context& c, const std::string& name) {
  if (!c.req.has_param(name.c_str())) return std::optional<int64_t>();
  OSPREY_ASSIGN_OR_RETURN(int64_t t, ParseTimeParam(name, c.req.get_param_value(name.c_str())));
  return std::optional<int64_t>(t);
}

std::optional<std::string> StringQuery(const Context& c, const std::string& name) {
  if (!c.req.has_param(name.c_str())) return std::nullopt;
  return c.req.get_param_value(name.c_str());
}

void AddResourceRoutes(std::vector<Route>& routes) {
  auto add = [&](std::string method, std::string path, bool write, std::vector<std::string> query,
                 Handler h) {
    routes.push_back({{std::move(method), std::move(path), false, write}, std::move(query), std::move(h)});
  };
  add("GET", "/api/v1/status", false, {}, GetStatus);
  add("GET", "/api/v1/detectors", false, {}, ListDetectors);
  add("POST", "/api/v1/detectors", true, {}, CreateDetector);
  add("GET", "/api/v1/detectors/{name}", false, {}, GetDetector);
  add("PUT", "/api/v1/detectors/{name}", true, {}, UpdateDetector);
  add("DELETE", "/api/v1/detectors/{name}", true, {}, DeleteDetector);
  add("POST", "/api/v1/detectors/{name}/activate", true, {}, SetActive(true));
  add("POST", "/api/v1/detectors/{name}/deactivate", true, {}, SetActive(false));
  add("POST", "/api/v1/detectors/{name}/backtest", true, {}, Backtest);
  add("GET", "/api/v1/detectors/{name}/data-quality", false, {"from", "to", "limit"}, DataQuality);
  add("GET", "/api/v1/detectors/{name}/events", false, {"from", "to"}, DetectorEvents);
  add("GET", "/api/v1/anomaly-groups", false,
      {"detector", "measure", "min_severity", "from", "to", "sort", "limit", "offset"}, ListGroups);
  add("GET", "/api/v1/anomaly-groups/{id}", false, {}, GetGroup);
  add("GET", "/api/v1/anomaly-groups/{id}/series", false, {"before", "after"}, GroupSeries);
  add("GET", "/api/v1/anomaly-groups/{id}/feedback", false, {}, GetFeedback);
  add("PUT", "/api/v1/anomaly-groups/{id}/feedback", true, {}, PutFeedback);
  add("GET", "/api/v1/alerts", false, {"detector"}, ListAlerts);
  add("GET", "/api/v1/alerts/deliveries", false, {"detector", "status", "limit", "offset"}, ListDeliveries);
}

}  // namespace osprey::api::internal
