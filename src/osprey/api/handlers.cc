// The /api/v1 resources: detectors, anomaly groups with their series and
// feedback, alerts, data quality and status. Each handler validates its
// input and returns a Reply or a Status that server.cc turns into
// problem+json.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "osprey/alerts/deliver.h"
#include "osprey/api/incidents.h"
#include "osprey/api/internal.h"
#include "osprey/api/json_text.h"
#include "osprey/api/parse.h"
#include "osprey/api/reply_cache.h"
#include "osprey/api/views.h"
#include "osprey/app/backtest.h"
#include "osprey/app/daemon.h"
#include "osprey/app/detector_admin.h"
#include "osprey/app/feedback.h"
#include "osprey/app/silences.h"
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
// relative to the server's working directory. LoadRegistered puts the
// version the daemon's registry runs in its place.
struct LoadedDetector {
  store::DetectorRecord record;
  std::optional<config::Detector> detector;  // unset when the stored text no longer parses
  std::optional<int64_t> watermark;
  std::shared_ptr<const app::DetectorSet> set;          // the registry's set, when there is a registry
  const app::RegisteredDetector* registered = nullptr;  // its entry in `set`, when it has one
};

Result<LoadedDetector> Load(store::Store& s, const std::string& name) {
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord rec, s.GetDetector(name));
  LoadedDetector out;
  out.record = rec;
  auto d = config::LoadDetector(rec.config, fmt::format("detector '{}'", name));
  if (d.ok()) out.detector = std::move(d).value();
  OSPREY_ASSIGN_OR_RETURN(out.watermark, s.GetWatermark(rec.id));
  return out;
}

// `name` as the daemon's registry has it: the configuration that runs (for a
// file of --config, with its relative paths resolved against the file's
// directory) and the error of a newer version that does not load. Without a
// registry, or for a detector the registry does not hold, as stored. `set`:
// the registry's set to read (default: the current one).
Result<LoadedDetector> LoadRegistered(Context& c, const std::string& name,
                                      std::shared_ptr<const app::DetectorSet> set = nullptr) {
  if (!c.options.registry) return Load(c.store, name);
  if (!set) set = c.options.registry->Snapshot();
  const app::RegisteredDetector* registered = set->Find(name);
  LoadedDetector l;
  if (registered && registered->running) {
    // Parsed once by the registry, not on every request.
    OSPREY_ASSIGN_OR_RETURN(l.record, c.store.GetDetector(name));
    l.record.config = registered->running->text;
    l.detector = registered->running->detector;
    OSPREY_ASSIGN_OR_RETURN(l.watermark, c.store.GetWatermark(l.record.id));
  } else {
    OSPREY_ASSIGN_OR_RETURN(l, Load(c.store, name));
  }
  l.set = std::move(set);
  l.registered = registered;
  return l;
}

// After the API changed a detector: the registry takes it in before the
// reply, so the reply, the next read and the scheduler agree.
void RefreshRegistry(Context& c) {
  if (c.options.registry) c.options.registry->Refresh(c.store, false);
}

json Describe(const LoadedDetector& l, bool with_config) {
  json j = DetectorJson(l.record, l.detector ? &*l.detector : nullptr, l.watermark);
  if (with_config) j["config"] = l.record.config;
  j["scheduled"] = l.registered != nullptr && l.registered->running.has_value();
  if (l.registered && !l.registered->load_error.empty()) {
    j["config_error"] = l.registered->load_error;
  } else if (!l.detector) {
    j["config_error"] = "the stored configuration no longer loads";
  }
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
  return FailedPrecondition(
      fmt::format("detector '{}' is defined by the file {} of osprey serve --config; {} that file instead",
                  r.name, store::ManagingFile(r), verb));
}

Result<Reply> ListDetectors(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(auto records, c.store.ListDetectors());
  json list = json::array();
  // One set for the whole list, so it shows one moment of the registry.
  auto set = c.options.registry ? c.options.registry->Snapshot() : nullptr;
  for (const auto& r : records) {
    OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, LoadRegistered(c, r.name, set));
    list.push_back(Describe(l, false));
    OSPREY_ASSIGN_OR_RETURN(list.back()["health"], DetectorHealth(c.store, r.id, l.watermark));
  }
  json broken = json::array();
  if (set) {
    for (const auto& f : set->broken_files) broken.push_back({{"file", f.path}, {"error", f.error}});
  }
  return Json({{"detectors", list}, {"broken_files", broken}});
}

Result<Reply> CreateDetector(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(config::Detector d, DetectorFromBody(c));
  if (c.store.GetDetector(d.name).ok()) {
    return AlreadyExists(
        fmt::format("a detector named '{}' exists; PUT /api/v1/detectors/{} updates it", d.name, d.name));
  }
  OSPREY_RETURN_IF_ERROR(app::SaveApiDetector(c.store, d.name, c.req.body));
  RefreshRegistry(c);
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, LoadRegistered(c, d.name));
  Reply r = Json(Describe(l, true), 201);
  r.location = "/api/v1/detectors/" + d.name;
  return r;
}

Result<Reply> GetDetector(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, LoadRegistered(c, c.path["name"]));
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
        "the body names detector '{}' but the URL names '{}'; a detector cannot be renamed", d.name, name));
  }
  // From now on the API manages it, so `osprey serve` runs it.
  OSPREY_RETURN_IF_ERROR(app::SaveApiDetector(c.store, name, c.req.body));
  RefreshRegistry(c);
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, LoadRegistered(c, name));
  return Json(Describe(l, true));
}

Result<Reply> DeleteDetector(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord existing, c.store.GetDetector(c.path["name"]));
  OSPREY_RETURN_IF_ERROR(RefuseFileManaged(existing, "remove"));
  OSPREY_RETURN_IF_ERROR(app::RemoveDetector(c.store, c.path["name"]));
  RefreshRegistry(c);
  Reply r;
  r.status = 204;
  return r;
}

Handler SetActive(bool active) {
  return [active](Context& c) -> Result<Reply> {
    OSPREY_RETURN_IF_ERROR(app::ActivateDetector(c.store, c.path["name"], active));
    OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, LoadRegistered(c, c.path["name"]));
    return Json(Describe(l, false));
  };
}

Result<Reply> Backtest(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, LoadRegistered(c, c.path["name"]));
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
  return Json(
      {{"detector", d.name},
       {"from", FormatIso(*from)},
       {"to", FormatIso(to)},
       {"intervals", stats.intervals},
       {"rows_read", stats.rows_read},
       {"rows_rejected", stats.rows_rejected},
       {"points", stats.points},
       {"anomalies", stats.anomalies},
       {"groups", stats.groups},
       {"anomaly_groups", fmt::format("/api/v1/anomaly-groups?detector={}&from={}&to={}", d.name,
                                      PercentEncode(FormatIso(*from)), PercentEncode(FormatIso(to)))}});
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
               {"totals",
                {{"intervals", rows.size()},
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
    return FailedPrecondition(
        fmt::format("the stored configuration of detector '{}' no longer loads", l.record.name));
  }
  config::Detector d = *l.detector;
  if (store::ManagedBy(l.record) == "file") {
    config::ResolveRelativePaths(d,
                                 std::filesystem::path(store::ManagingFile(l.record)).parent_path().string());
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
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, LoadRegistered(c, c.path["name"]));
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

// A detector file checked without storing it: 200 with {"valid": true, the
// detector's summary} or {"valid": false, "error": "request body:3: ..."}.
// For the UI's editor, which checks as one types.
Result<Reply> ValidateDetector(Context& c) {
  auto d = DetectorFromBody(c);
  if (!d.ok()) {
    if (d.status().code() != StatusCode::kInvalidArgument) return d.status();
    return Json({{"valid", false}, {"error", d.status().message()}});
  }
  store::DetectorRecord r;
  r.name = d->name;
  json out = DetectorJson(r, &*d, std::nullopt);
  out.erase("managed_by");
  out.erase("file");
  out.erase("watermark");
  out.erase("active");
  auto existing = c.store.GetDetector(d->name);
  return Json({{"valid", true},
               {"exists", existing.ok()},
               {"file_managed", existing.ok() && store::ManagedBy(*existing) == "file"},
               {"detector", out}});
}

constexpr int64_t kMaxPreviewGroups = 200;

// Backtests a detector file that is not stored (or the edited text of one
// that is) over the `days` days before `to`, into a throw-away in-memory
// store, and returns what it would have flagged. Nothing is stored.
Result<Reply> PreviewDetector(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(config::Detector d, DetectorFromBody(c));
  OSPREY_ASSIGN_OR_RETURN(auto days, IntQuery(c, "days", 1, 366));
  OSPREY_ASSIGN_OR_RETURN(auto to_param, TimeQuery(c, "to"));
  int64_t to = to_param ? *to_param : ToUnixSeconds(c.clock.Now());
  if (!to_param) {
    // An edit of a stored detector previews up to where it has run.
    if (auto existing = c.store.GetDetector(d.name); existing.ok()) {
      OSPREY_ASSIGN_OR_RETURN(auto wm, c.store.GetWatermark(existing->id));
      if (wm) to = *wm;
    }
  }
  const int64_t from = to - days.value_or(14) * 86400;
  const int64_t intervals = (to - from) / d.frequency.NominalSeconds();
  if (intervals > c.options.max_backtest_intervals) {
    return InvalidArgument(
        fmt::format("{} days hold {} intervals; a preview runs at most {} (choose fewer days)",
                    days.value_or(14), intervals, c.options.max_backtest_intervals));
  }
  app::BacktestRequest r;
  r.detector = d;
  r.config_text = c.req.body;
  r.from = FromUnixSeconds(from);
  r.to = FromUnixSeconds(to);
  r.now = c.clock.Now();
  app::RunStats stats;
  OSPREY_ASSIGN_OR_RETURN(auto scratch, app::PreviewBacktest(r, &stats));
  store::GroupQuery q;
  q.detector = d.name;
  q.incidents_only = true;
  q.by_severity = true;
  q.limit = kMaxPreviewGroups;
  OSPREY_ASSIGN_OR_RETURN(int64_t total, scratch->CountGroups(q));
  OSPREY_ASSIGN_OR_RETURN(auto groups, scratch->ListGroups(q));
  json list = json::array();
  for (const auto& g : groups) list.push_back(GroupJson(g));
  return Json({{"detector", d.name},
               {"from", FormatIso(FromUnixSeconds(from))},
               {"to", FormatIso(FromUnixSeconds(to))},
               {"intervals", stats.intervals},
               {"rows_read", stats.rows_read},
               {"rows_rejected", stats.rows_rejected},
               {"no_data_intervals", stats.no_data_intervals},
               {"anomalies", stats.anomalies},
               {"groups", stats.groups},
               {"incidents", total},
               {"flagged", list}});
}

// ------------------------------------------------------------------ series explorer

constexpr int64_t kMaxSeriesList = 200;
constexpr int64_t kMaxExplorePoints = 20000;

// The detector's series for the explorer's pickers: filter by measure, and
// by `q`, words that must all appear in the label (type-ahead).
Result<Reply> ListDetectorSeries(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord d, c.store.GetDetector(c.path["name"]));
  OSPREY_ASSIGN_OR_RETURN(auto limit, IntQuery(c, "limit", 1, kMaxSeriesList));
  auto measure = StringQuery(c, "measure");
  std::string q = StringQuery(c, "q").value_or("");
  std::vector<std::string> words;
  for (size_t i = 0; i < q.size();) {
    size_t j = q.find(' ', i);
    if (j == std::string::npos) j = q.size();
    if (j > i) {
      std::string w = q.substr(i, j - i);
      for (auto& ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      words.push_back(w);
    }
    i = j + 1;
  }
  OSPREY_ASSIGN_OR_RETURN(auto all, c.store.ListSeries(d.id));
  std::vector<const store::SeriesRecord*> hits;
  for (const auto& s : all) {
    if (measure && s.measure != *measure) continue;
    std::string label = s.label;
    for (auto& ch : label) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool ok = std::all_of(words.begin(), words.end(),
                          [&](const std::string& w) { return label.find(w) != std::string::npos; });
    if (ok) hits.push_back(&s);
  }
  // Roll-ups first (fewer dimensions set), then by label.
  std::stable_sort(hits.begin(), hits.end(), [](const auto* a, const auto* b) {
    auto set = [](const std::string& dims) { return std::count(dims.begin(), dims.end(), ':'); };
    if (set(a->dims) != set(b->dims)) return set(a->dims) < set(b->dims);
    return a->label < b->label;
  });
  const size_t n = std::min(hits.size(), static_cast<size_t>(limit.value_or(50)));
  json list = json::array();
  for (size_t i = 0; i < n; ++i) {
    const json dims = json::parse(hits[i]->dims.empty() ? "{}" : hits[i]->dims, nullptr, false);
    list.push_back({{"id", hits[i]->id},
                    {"measure", hits[i]->measure},
                    {"label", hits[i]->label},
                    {"dimensions", dims.is_discarded() ? json::object() : dims},
                    {"rollup", hits[i]->dims == "{}" || hits[i]->dims.empty()}});
  }
  return Json({{"detector", d.name}, {"total", hits.size()}, {"series", list}});
}

// A chart's columns, one entry per interval: timestamps, actual, expected,
// lower, upper, severity (null where missing) and anomalous (a severity of
// at least the threshold). The series explorer and the group chart.
struct ChartColumns {
  json ts = json::array(), actual = json::array(), expected = json::array(), lower = json::array(),
       upper = json::array(), severity = json::array(), anomalous = json::array();

  void Add(const store::PointRecord& p, double threshold) {
    auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
    ts.push_back(p.ts);
    actual.push_back(opt(p.value));
    expected.push_back(opt(p.expected));
    lower.push_back(opt(p.lower));
    upper.push_back(opt(p.upper));
    severity.push_back(opt(p.severity));
    anomalous.push_back(p.severity && *p.severity >= threshold);
  }
  // An interval without a stored point: a gap (null), never a zero.
  void AddGap(int64_t t) {
    ts.push_back(t);
    for (json* col : {&actual, &expected, &lower, &upper, &severity}) col->push_back(nullptr);
    anomalous.push_back(false);
  }
  // The columns as members of `out`.
  void MoveInto(json& out) {
    out["timestamps"] = std::move(ts);
    out["actual"] = std::move(actual);
    out["expected"] = std::move(expected);
    out["lower"] = std::move(lower);
    out["upper"] = std::move(upper);
    out["severity"] = std::move(severity);
    out["anomalous"] = std::move(anomalous);
  }
};

// One series over [from, to): columnar points with band and severity, the
// anomalous intervals, and the calendar events whose scope holds it.
Result<Reply> SeriesPoints(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, c.path["name"]));
  OSPREY_ASSIGN_OR_RETURN(int64_t sid, PathId(c, "id"));
  OSPREY_ASSIGN_OR_RETURN(auto all, c.store.ListSeries(l.record.id));
  auto rec = std::find_if(all.begin(), all.end(), [&](const auto& s) { return s.id == sid; });
  if (rec == all.end()) return NotFound(fmt::format("detector '{}' has no series {}", l.record.name, sid));
  OSPREY_ASSIGN_OR_RETURN(auto from_q, TimeQuery(c, "from"));
  OSPREY_ASSIGN_OR_RETURN(auto to_q, TimeQuery(c, "to"));
  const int64_t step = l.detector ? l.detector->frequency.NominalSeconds() : 3600;
  const int64_t to = to_q ? *to_q : (l.watermark ? *l.watermark : ToUnixSeconds(c.clock.Now()));
  const int64_t from = from_q ? *from_q : to - 7 * 86400;
  if (from >= to) return InvalidArgument("'from' must be before 'to'");
  if ((to - from) / step > kMaxExplorePoints) {
    return InvalidArgument(
        fmt::format("the range holds more than {} intervals; choose a shorter one", kMaxExplorePoints));
  }
  const double threshold = l.detector ? l.detector->min_severity : 50;
  OSPREY_ASSIGN_OR_RETURN(auto points, c.store.ListPoints(sid, from, to));
  ChartColumns columns;
  // A missing interval between stored points is a gap (null), never a zero:
  // every interval start of the detector's grid in the range is listed.
  std::vector<int64_t> grid;
  if (l.detector && !points.empty()) {
    if (auto g = IntervalGrid::Create(l.detector->frequency, l.detector->timezone); g.ok()) {
      for (Instant t : g->Starts(FromUnixSeconds(points.front().ts), FromUnixSeconds(points.back().ts))) {
        grid.push_back(ToUnixSeconds(t));
      }
    }
  }
  size_t next_grid = 0;
  for (const auto& p : points) {
    for (; next_grid < grid.size() && grid[next_grid] <= p.ts; ++next_grid) {
      if (grid[next_grid] != p.ts) columns.AddGap(grid[next_grid]);
    }
    columns.Add(p, threshold);
  }
  json events = json::array();
  const json dims = json::parse(rec->dims.empty() ? "{}" : rec->dims, nullptr, false);
  if (auto cal = CalendarOf(l); cal.ok() && dims.is_object()) {
    for (const auto& o : cal->Overlapping(FromUnixSeconds(from), FromUnixSeconds(to))) {
      if (!SeriesInScope(*o.event, *l.detector, dims)) continue;
      events.push_back({{"name", o.event->name},
                        {"start", ToUnixSeconds(o.start)},
                        {"end", ToUnixSeconds(o.end)},
                        {"effect", std::string(detect::EventEffectName(o.event->effect))}});
    }
  }
  json out = {{"detector", l.record.name},
              {"series_id", sid},
              {"measure", rec->measure},
              {"label", rec->label},
              {"dimensions", dims.is_discarded() ? json::object() : dims},
              {"timezone", l.detector ? l.detector->timezone.name() : "UTC"},
              {"interval_seconds", step},
              {"from", FormatIso(FromUnixSeconds(from))},
              {"to", FormatIso(FromUnixSeconds(to))},
              {"severity_threshold", threshold},
              {"events", events}};
  columns.MoveInto(out);
  return Json(std::move(out));
}

// ------------------------------------------------------------------ anomaly groups

// ------------------------------------------------------------------ paging

// Every list pages the same way (docs/api.md, "Paging"): `limit` items (1 to
// kMaxPageSize, default 50) after `cursor`, the position of the previous
// page's last item in the list's order, which the `next` link carries. A page
// is read from the index of its order after that position (keyset paging),
// so a deep page costs what the first one does.
struct Page {
  int64_t limit = 50;
  std::optional<std::vector<std::string>> cursor;  // its fields (ParseCursor)
};

// `order` names the list's order (the sort) and `types` its cursor's fields.
Result<Page> PageQuery(const Context& c, std::string_view order, std::string_view types) {
  Page p;
  OSPREY_ASSIGN_OR_RETURN(auto limit, IntQuery(c, "limit", 1, kMaxPageSize));
  p.limit = limit.value_or(50);
  if (auto cursor = StringQuery(c, "cursor")) {
    OSPREY_ASSIGN_OR_RETURN(p.cursor, ParseCursor(*cursor, order, types));
  }
  return p;
}

// Totals are counted up to this many items: a count reads as many index
// entries as it counts.
constexpr int64_t kMaxTotal = 1000;

json TotalJson(int64_t counted) { return counted > kMaxTotal ? json(nullptr) : json(counted); }

// The reply of a list: `key` the page's items (read with limit + 1 to learn
// whether more follow; the extra one is dropped here), `total` (null: more
// than kMaxTotal), and `next`, the URL of the next page with the request's
// other parameters (null on the last page), and its `next_cursor`. The reply
// is written as text, as dump() writes the same object: `count` items, the
// i-th appended by `append_item(out, i)`. `cursor_of(i)` is the cursor after
// the i-th item.
Reply PageReply(const Context& c, std::string_view path, std::string_view key, const Page& p, size_t count,
                const std::function<void(std::string&, size_t)>& append_item, const json& total,
                const std::function<std::string(size_t)>& cursor_of) {
  size_t shown = count;
  json next = nullptr, next_cursor = nullptr;
  if (static_cast<int64_t>(count) > p.limit) {
    shown = static_cast<size_t>(p.limit);
    next_cursor = cursor_of(shown - 1);
    std::string url = fmt::format("{}?", path);
    for (const auto& [k, v] : c.req.params) {
      if (k != "cursor") url += fmt::format("{}={}&", PercentEncode(k), PercentEncode(v));
    }
    url += "cursor=" + PercentEncode(next_cursor.get<std::string>());
    if (!c.req.has_param("limit")) url += fmt::format("&limit={}", p.limit);
    next = url;
  }
  // The members by name, as dump() orders them; the items among them.
  const std::map<std::string_view, std::string> members = {{"limit", std::to_string(p.limit)},
                                                           {"next", next.dump()},
                                                           {"next_cursor", next_cursor.dump()},
                                                           {"total", total.dump()}};
  Reply r;
  r.content_type = "application/json";
  std::string& out = r.text;
  out = "{";
  auto name = [&](std::string_view n) {
    if (out.size() > 1) out += ',';
    AppendJsonString(out, n);
    out += ':';
  };
  bool items_written = false;
  auto items = [&] {
    name(key);
    out += '[';
    for (size_t i = 0; i < shown; ++i) {
      if (i > 0) out += ',';
      append_item(out, i);
    }
    out += ']';
    items_written = true;
  };
  for (const auto& [n, text] : members) {
    if (!items_written && key < n) items();
    name(n);
    out += text;
  }
  if (!items_written) items();
  out += '}';
  return r;
}

// A cursor: the order, then the fields; numbers as they round-trip.
std::string CursorOf(std::string_view order, std::initializer_list<std::string> fields) {
  std::string out(order);
  for (const auto& f : fields) out += ":" + f;
  return out;
}
int64_t CursorInt(const std::string& field) { return std::strtoll(field.c_str(), nullptr, 10); }
double CursorNumber(const std::string& field) { return std::strtod(field.c_str(), nullptr); }

Result<Reply> ListGroupsPage(Context& c) {
  store::GroupQuery q;
  q.detector = StringQuery(c, "detector");
  q.measure = StringQuery(c, "measure");
  OSPREY_ASSIGN_OR_RETURN(auto min_severity, NumberQuery(c, "min_severity", 0, 100));
  q.min_severity = min_severity.value_or(0);
  OSPREY_ASSIGN_OR_RETURN(q.since, TimeQuery(c, "from"));
  OSPREY_ASSIGN_OR_RETURN(q.until, TimeQuery(c, "to"));
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
  // The cursor: the last group's ts, severity and id.
  OSPREY_ASSIGN_OR_RETURN(Page page, PageQuery(c, sort, kGroupCursorTypes));
  if (page.cursor) q.after = GroupCursorKey(*page.cursor);
  if (q.detector) OSPREY_RETURN_IF_ERROR(c.store.GetDetector(*q.detector));
  q.count_at_most = kMaxTotal + 1;
  OSPREY_ASSIGN_OR_RETURN(int64_t total, c.store.CountGroups(q));
  q.limit = page.limit + 1;
  OSPREY_ASSIGN_OR_RETURN(auto groups, c.store.ListGroups(q));
  return PageReply(
      c, "/api/v1/anomaly-groups", "anomaly_groups", page, groups.size(),
      [&](std::string& out, size_t i) { AppendGroupJson(out, groups[i]); }, TotalJson(total),
      [&](size_t i) { return GroupCursor(sort, groups[i]); });
}

// The anomaly list, the page most often asked for again unchanged: kept
// while the store is (PageCache), by its parameters.
Result<Reply> ListGroups(Context& c) {
  auto compute = [&]() -> Result<std::string> {
    OSPREY_ASSIGN_OR_RETURN(Reply r, ListGroupsPage(c));
    return std::move(r.text);
  };
  Reply r;
  if (c.page_cache) {
    std::string key = c.req.path + '?';
    for (const auto& [k, v] : c.req.params) key += fmt::format("{}={}&", PercentEncode(k), PercentEncode(v));
    OSPREY_ASSIGN_OR_RETURN(r.text, c.page_cache->Get(key, StoreStamp(c.options.state_path), compute));
  } else {
    OSPREY_ASSIGN_OR_RETURN(r.text, compute());
  }
  r.content_type = "application/json";
  return r;
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
    ChartColumns columns;
    for (const auto& p : points) columns.Add(p, threshold);
    const json dims = json::parse(rec->dims.empty() ? "{}" : rec->dims, nullptr, false);
    json events = json::array();
    for (const detect::EventOccurrence& o : occurrences) {
      if (!dims.is_object() || !SeriesInScope(*o.event, *loaded->detector, dims)) continue;
      events.push_back({{"name", o.event->name},
                        {"start", ToUnixSeconds(o.start)},
                        {"end", ToUnixSeconds(o.end)},
                        {"effect", std::string(detect::EventEffectName(o.event->effect))}});
    }
    json one = {{"series_id", sid}, {"label", rec->label},         {"dimensions", dims},
                {"events", events}, {"rollup", rec->dims == "{}"}, {"in_group", affected}};
    columns.MoveInto(one);
    series.push_back(std::move(one));
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

// ------------------------------------------------------------------ incidents

int64_t HeadStart(const store::GroupRecord& g) { return g.incident_ts != 0 ? g.incident_ts : g.ts; }
int64_t HeadEnd(const store::GroupRecord& g) { return g.incident_end_ts != 0 ? g.incident_end_ts : g.end_ts; }

// The groups of one measure incident, oldest first.
Result<std::vector<store::GroupRecord>> MeasureIncidentGroups(Context& c, const Incident& i,
                                                              const store::GroupRecord& head) {
  store::GroupQuery q;
  q.detector = i.detector;
  q.measure = head.measure;
  q.since = HeadStart(head);
  q.until = HeadEnd(head);
  q.newest_first = false;
  q.limit = int64_t{1} << 40;
  OSPREY_ASSIGN_OR_RETURN(auto groups, c.store.ListGroups(q));
  std::erase_if(groups, [&](const auto& g) { return g.incident_ts != head.incident_ts; });
  return groups;
}

// open: its last anomalous interval is the detector's last processed one.
std::string IncidentState(const Incident& i, std::optional<int64_t> watermark) {
  return watermark && i.end >= *watermark ? "open" : "resolved";
}

json IncidentJson(const Incident& i, int64_t id, std::optional<int64_t> watermark) {
  json measures = json::array();
  int64_t anomalies = 0;
  const store::GroupRecord* top = &i.heads.front();
  for (const auto& h : i.heads) {
    if (h.severity > top->severity) top = &h;
    anomalies += h.anomaly_count;
    measures.push_back({{"measure", h.measure},
                        {"group_id", h.id},
                        {"start", FormatIso(FromUnixSeconds(HeadStart(h)))},
                        {"end", FormatIso(FromUnixSeconds(HeadEnd(h)))},
                        {"intervals", h.incident_intervals != 0 ? h.incident_intervals : 1},
                        {"severity", h.incident_intervals != 0 ? h.incident_severity : h.severity}});
  }
  json shared = json::array();
  for (const auto& e : i.shared_causes) shared.push_back(json::parse(e));
  json top_causes = json::parse(top->root_causes, nullptr, false);
  return {{"id", id},
          {"detector", i.detector},
          {"start", FormatIso(FromUnixSeconds(i.start))},
          {"end", FormatIso(FromUnixSeconds(i.end))},
          {"severity", i.severity},
          {"state", IncidentState(i, watermark)},
          {"measures", measures},
          {"anomaly_count", anomalies},
          {"shared_root_causes", shared},
          {"root_causes", top_causes.is_discarded() ? json::array() : top_causes}};
}

Result<Reply> ListIncidents(Context& c) {
  IncidentListQuery q;
  q.detector = StringQuery(c, "detector");
  if (q.detector) OSPREY_RETURN_IF_ERROR(c.store.GetDetector(*q.detector));
  OSPREY_ASSIGN_OR_RETURN(auto min_severity, NumberQuery(c, "min_severity", 0, 100));
  q.min_severity = min_severity.value_or(0);
  OSPREY_ASSIGN_OR_RETURN(q.from, TimeQuery(c, "from"));
  OSPREY_ASSIGN_OR_RETURN(q.to, TimeQuery(c, "to"));
  auto state = StringQuery(c, "state");
  if (state && *state != "open" && *state != "resolved") {
    return InvalidArgument(fmt::format("state '{}' is not one of open, resolved", *state));
  }
  const std::string sort = StringQuery(c, "sort").value_or("time");
  if (sort == "time") {
    q.order = IncidentOrder::kTime;
  } else if (sort == "time_asc") {
    q.order = IncidentOrder::kTimeAsc;
  } else if (sort == "severity") {
    q.order = IncidentOrder::kSeverity;
  } else {
    return InvalidArgument(fmt::format("sort '{}' is not one of time, time_asc, severity", sort));
  }
  // The cursor: the last incident's severity, start and id.
  OSPREY_ASSIGN_OR_RETURN(Page page, PageQuery(c, sort, "nii"));
  std::map<int64_t, std::optional<int64_t>> watermarks;
  Status failed;
  auto watermark = [&](int64_t detector_id) -> std::optional<int64_t> {
    auto it = watermarks.find(detector_id);
    if (it != watermarks.end()) return it->second;
    auto wm = c.store.GetWatermark(detector_id);
    if (!wm.ok()) failed = wm.status();
    return watermarks[detector_id] = wm.ok() ? *wm : std::nullopt;
  };
  if (state) {
    q.keep = [&](const Incident& i) { return IncidentState(i, watermark(i.detector_id)) == *state; };
  }
  // Incidents are built as they are read, so they are not counted beyond
  // the page: the total is known when the first page holds them all.
  if (page.cursor) {
    const auto& f = *page.cursor;
    q.after = IncidentKey{CursorNumber(f[0]), CursorInt(f[1]), CursorInt(f[2])};
  }
  q.limit = page.limit + 1;
  OSPREY_ASSIGN_OR_RETURN(auto incidents, ReadIncidents(c.store, q));
  const bool all = !page.cursor && static_cast<int64_t>(incidents.size()) <= page.limit;
  const json total = all ? json(incidents.size()) : json(nullptr);
  json list = json::array();
  for (const Incident& i : incidents)
    list.push_back(IncidentJson(i, IncidentId(i), watermark(i.detector_id)));
  OSPREY_RETURN_IF_ERROR(failed);
  return PageReply(
      c, "/api/v1/incidents", "incidents", page, list.size(),
      [&](std::string& out, size_t k) { out += list[k].dump(); }, total,
      [&](size_t k) {
        const IncidentKey key = KeyOf(incidents[k], q.order);
        return CursorOf(sort,
                        {fmt::format("{}", key.severity), std::to_string(key.start), std::to_string(key.id)});
      });
}

// The incident that holds group `group_id` (any of its groups).
struct FoundIncident {
  Incident incident;
  int64_t id = 0;
};

Result<FoundIncident> FindIncident(Context& c, int64_t group_id) {
  OSPREY_ASSIGN_OR_RETURN(store::GroupRecord g, c.store.GetGroup(group_id));
  OSPREY_ASSIGN_OR_RETURN(Incident i, IncidentOf(c.store, g));
  const int64_t id = IncidentId(i);
  return FoundIncident{std::move(i), id};
}

Result<Reply> GetIncident(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(int64_t gid, PathId(c, "id"));
  OSPREY_ASSIGN_OR_RETURN(FoundIncident f, FindIncident(c, gid));
  const Incident& i = f.incident;
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, i.detector));
  json out = IncidentJson(i, f.id, l.watermark);
  out["requested_group_id"] = gid;
  out["timezone"] = l.detector ? l.detector->timezone.name() : "UTC";
  out["interval_seconds"] = l.detector ? l.detector->frequency.NominalSeconds() : 3600;
  json feedback = json::array();
  json details = json::array();
  for (const auto& h : i.heads) {
    OSPREY_ASSIGN_OR_RETURN(auto groups, MeasureIncidentGroups(c, i, h));
    json gl = json::array();
    for (const auto& g : groups) {
      gl.push_back({{"id", g.id},
                    {"interval_start", FormatIso(FromUnixSeconds(g.ts))},
                    {"interval_end", FormatIso(FromUnixSeconds(g.end_ts))},
                    {"severity", g.severity},
                    {"anomaly_count", g.anomaly_count}});
      OSPREY_ASSIGN_OR_RETURN(auto fb, c.store.ListGroupFeedback(g.id));
      for (const auto& x : fb) feedback.push_back(FeedbackJson(x));
    }
    json head = GroupJson(h);
    head["groups"] = gl;
    details.push_back(std::move(head));
  }
  out["measure_details"] = details;
  out["feedback"] = feedback;
  json events = json::array();
  if (auto cal = CalendarOf(l); cal.ok()) {
    for (const detect::EventOccurrence& o :
         cal->Overlapping(FromUnixSeconds(i.start), FromUnixSeconds(i.end))) {
      json scope = json::object();
      for (const detect::EventScope& sc : o.event->scope) scope[sc.name] = sc.value;
      events.push_back({{"name", o.event->name},
                        {"start", FormatIso(o.start)},
                        {"end", FormatIso(o.end)},
                        {"effect", std::string(detect::EventEffectName(o.event->effect))},
                        {"dimensions", scope}});
    }
  }
  out["events"] = events;
  return Json(out);
}

// One verdict for the whole incident: for every anomaly of every group.
Result<Reply> PutIncidentFeedback(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(int64_t gid, PathId(c, "id"));
  OSPREY_ASSIGN_OR_RETURN(FeedbackBody body, ParseFeedbackBody(c.req.body));
  if (body.series_id) {
    return InvalidArgument(
        "an incident's feedback covers all of its anomalies; give 'series_id' on "
        "PUT /api/v1/anomaly-groups/{id}/feedback instead");
  }
  OSPREY_ASSIGN_OR_RETURN(FoundIncident f, FindIncident(c, gid));
  int64_t stored = 0;
  for (const auto& h : f.incident.heads) {
    OSPREY_ASSIGN_OR_RETURN(auto groups, MeasureIncidentGroups(c, f.incident, h));
    for (const auto& g : groups) {
      app::FeedbackRequest r;
      r.group_id = g.id;
      r.relevant = body.relevant;
      r.comment = body.comment;
      r.author = c.principal ? c.principal->name : "";
      r.now = c.clock.Now();
      OSPREY_ASSIGN_OR_RETURN(auto records, app::RecordFeedback(c.store, r));
      stored += static_cast<int64_t>(records.size());
    }
  }
  return Json({{"incident_id", f.id}, {"relevant", body.relevant}, {"anomalies", stored}});
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
                      {"on", config::AlertTypes(a)},
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
  store::OutboxQuery q;
  q.detector = only;
  q.status = StringQuery(c, "status");
  if (q.status && *q.status != "pending" && *q.status != "delivered" && *q.status != "dead" &&
      *q.status != "silenced") {
    return InvalidArgument(
        fmt::format("status '{}' is not one of pending, delivered, dead, silenced", *q.status));
  }
  // Newest first; the cursor: the last message's id.
  OSPREY_ASSIGN_OR_RETURN(Page page, PageQuery(c, "id", "i"));
  if (page.cursor) q.after_id = CursorInt((*page.cursor)[0]);
  q.newest_first = true;
  q.count_at_most = kMaxTotal + 1;
  OSPREY_ASSIGN_OR_RETURN(int64_t total, c.store.CountOutbox(q));
  q.limit = page.limit + 1;
  OSPREY_ASSIGN_OR_RETURN(auto rows, c.store.ListOutbox(q));
  json list = json::array();
  for (const auto& o : rows) list.push_back(OutboxJson(o));
  return PageReply(
      c, "/api/v1/alerts/deliveries", "deliveries", page, list.size(),
      [&](std::string& out, size_t i) { out += list[i].dump(); }, TotalJson(total),
      [&](size_t i) { return OutboxCursor(rows[i].id); });
}

Result<Reply> ResendDelivery(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(int64_t id, PathId(c, "id"));
  OSPREY_ASSIGN_OR_RETURN(store::OutboxRecord r, alerts::Resend(c.store, id, c.clock.Now()));
  return Json(OutboxJson(r));
}

// Sends a test message through one alert rule now, with the server's
// environment (where its URLs and keys come from, as for delivery).
Result<Reply> SendTestMessage(Context& c) {
  const json body = json::parse(c.req.body, nullptr, false);
  if (!body.is_object() || !body.contains("detector") || !body["detector"].is_string() ||
      !body.contains("alert") || !body["alert"].is_string() || body.size() != 2) {
    return InvalidArgument(R"(send {"detector": "...", "alert": "..."})");
  }
  OSPREY_ASSIGN_OR_RETURN(LoadedDetector l, Load(c.store, body["detector"].get<std::string>()));
  if (!l.detector) return FailedPrecondition("the detector's stored configuration does not load");
  auto transport = alerts::NewSystemTransport();
  alerts::Deliverer deliverer(c.store, *transport);
  const std::string alert = body["alert"].get<std::string>();
  Status sent = deliverer.SendTest(*l.detector, alert, c.clock.Now());
  if (sent.code() == StatusCode::kNotFound) return sent;
  return Json({{"detector", l.record.name},
               {"alert", alert},
               {"delivered", sent.ok()},
               {"error", sent.ok() ? json(nullptr) : json(sent.message())}});
}

// ------------------------------------------------------------------ silences

Result<Reply> ListSilences(Context& c) {
  auto state = StringQuery(c, "state");
  if (state && *state != "active" && *state != "pending" && *state != "expired") {
    return InvalidArgument(fmt::format("state '{}' is not one of active, pending, expired", *state));
  }
  auto only = StringQuery(c, "detector");
  const int64_t now = ToUnixSeconds(c.clock.Now());
  OSPREY_ASSIGN_OR_RETURN(auto records, c.store.ListSilences());
  json list = json::array();
  for (const auto& s : records) {
    if (only && s.detector != *only) continue;
    json j = SilenceJson(s, now);
    if (state && j["state"] != *state) continue;
    list.push_back(std::move(j));
  }
  return Json({{"silences", list}, {"time", FormatIso(c.clock.Now())}});
}

Result<Reply> CreateSilence(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(SilenceBody body, ParseSilenceBody(c.req.body));
  const int64_t now = ToUnixSeconds(c.clock.Now());
  store::SilenceRecord s;
  s.detector = body.detector;
  s.measure = body.measure;
  s.matchers = body.matchers;
  s.starts_at = body.starts_at.value_or(now);
  s.ends_at = body.ends_at ? *body.ends_at : s.starts_at + *body.duration_seconds;
  s.comment = body.comment;
  s.created_by = c.principal ? c.principal->name : "";
  OSPREY_ASSIGN_OR_RETURN(s, app::AddSilence(c.store, s, c.clock.Now()));
  Reply r = Json(SilenceJson(s, now), 201);
  r.location = fmt::format("/api/v1/silences/{}", s.id);
  return r;
}

Result<Reply> ExpireSilence(Context& c) {
  OSPREY_ASSIGN_OR_RETURN(int64_t id, PathId(c, "id"));
  OSPREY_RETURN_IF_ERROR(app::ExpireSilenceNow(c.store, id, c.clock.Now()));
  OSPREY_ASSIGN_OR_RETURN(auto records, c.store.ListSilences());
  for (const auto& s : records) {
    if (s.id == id) return Json(SilenceJson(s, ToUnixSeconds(c.clock.Now())));
  }
  return NotFound(fmt::format("no silence {}", id));
}

// GET /api/v1/status without its "time": the costly part, which the server
// reuses for a moment (reply_cache.h).
Result<json> StatusBody(Context& c, const app::DetectorSet* set) {
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
    std::string state = store::DetectorState(r, st);
    // A detector of a file or of the API that this daemon's registry does
    // not run (its file was removed, or no version of it loads): its last
    // status row no longer says what happens.
    const app::RegisteredDetector* reg = set ? set->Find(r.name) : nullptr;
    const bool scheduled = reg && reg->running;
    if (set && !scheduled && r.active && store::ManagedBy(r) != "backtest") state = "not scheduled";
    const bool failing = state == "failing";
    detectors.push_back(
        {{"name", r.name},
         {"active", r.active},
         {"state", state},
         {"scheduled", scheduled},
         {"watermark", IsoOrNull(wm)},
         {"last_run", st ? IsoOrNull(st->last_run_at) : json(nullptr)},
         {"next_run", st && state != "not scheduled" ? IsoOrNull(st->next_run_at) : json(nullptr)},
         {"next_retry", st && failing ? IsoOrNull(st->next_run_at) : json(nullptr)},
         {"last_error", st ? json(st->last_error) : json("")},
         {"retries", st ? st->retries : 0}});
    OSPREY_ASSIGN_OR_RETURN(detectors.back()["health"], DetectorHealth(c.store, r.id, wm));
  }
  return json({{"version", OSPREY_VERSION},
               {"schema_version", store::CurrentSchemaVersion()},
               {"alerts",
                {{"pending", t.alerts_pending},
                 {"delivered", t.alerts_delivered},
                 {"dead", t.alerts_dead},
                 {"silenced", t.alerts_silenced}}},
               {"detectors", detectors},
               {"active_detectors", active},
               {"anomaly_groups", t.groups},
               {"anomalies", t.anomalies},
               {"intervals_processed", t.intervals}});
}

Result<Reply> GetStatus(Context& c) {
  // Keyed by the registry's detector set: a reloaded registry shows at once.
  std::shared_ptr<const app::DetectorSet> set = c.options.registry ? c.options.registry->Snapshot() : nullptr;
  auto compute = [&] { return StatusBody(c, set.get()); };
  OSPREY_ASSIGN_OR_RETURN(json body, c.status_cache
                                         ? c.status_cache->Get(set, StoreStamp(c.options.state_path), compute)
                                         : compute());
  body["time"] = FormatIso(c.clock.Now());
  return Json(std::move(body));
}

}  // namespace

// ------------------------------------------------------------------ input helpers

Result<int64_t> PathId(const Context& c, const std::string& name) {
  auto it = c.path.find(name);
  return ParsePathId(name, it == c.path.end() ? "" : it->second);
}

Result<std::optional<int64_t>> IntQuery(const Context& c, const std::string& name, int64_t min, int64_t max) {
  if (!c.req.has_param(name.c_str())) return std::optional<int64_t>();
  OSPREY_ASSIGN_OR_RETURN(int64_t x, ParseIntParam(name, c.req.get_param_value(name.c_str()), min, max));
  return std::optional<int64_t>(x);
}

Result<std::optional<double>> NumberQuery(const Context& c, const std::string& name, double min, double max) {
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
  add("POST", "/api/v1/detector-files/validate", true, {}, ValidateDetector);
  add("POST", "/api/v1/detector-files/preview", true, {"days", "to"}, PreviewDetector);
  add("GET", "/api/v1/detectors/{name}/series", false, {"measure", "q", "limit"}, ListDetectorSeries);
  add("GET", "/api/v1/detectors/{name}/series/{id}", false, {"from", "to"}, SeriesPoints);
  add("GET", "/api/v1/anomaly-groups", false,
      {"detector", "measure", "min_severity", "from", "to", "sort", "limit", "cursor"}, ListGroups);
  add("GET", "/api/v1/anomaly-groups/{id}", false, {}, GetGroup);
  add("GET", "/api/v1/anomaly-groups/{id}/series", false, {"before", "after"}, GroupSeries);
  add("GET", "/api/v1/anomaly-groups/{id}/feedback", false, {}, GetFeedback);
  add("PUT", "/api/v1/anomaly-groups/{id}/feedback", true, {}, PutFeedback);
  add("GET", "/api/v1/incidents", false,
      {"detector", "min_severity", "from", "to", "state", "sort", "limit", "cursor"}, ListIncidents);
  add("GET", "/api/v1/incidents/{id}", false, {}, GetIncident);
  add("PUT", "/api/v1/incidents/{id}/feedback", true, {}, PutIncidentFeedback);
  add("GET", "/api/v1/alerts", false, {"detector"}, ListAlerts);
  add("GET", "/api/v1/alerts/deliveries", false, {"detector", "status", "limit", "cursor"}, ListDeliveries);
  add("POST", "/api/v1/alerts/deliveries/{id}/resend", true, {}, ResendDelivery);
  add("POST", "/api/v1/alerts/test", true, {}, SendTestMessage);
  add("GET", "/api/v1/silences", false, {"state", "detector"}, ListSilences);
  add("POST", "/api/v1/silences", true, {}, CreateSilence);
  add("DELETE", "/api/v1/silences/{id}", true, {}, ExpireSilence);
}

}  // namespace osprey::api::internal
