#include "osprey/cli/commands.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "osprey/alerts/deliver.h"
#include "osprey/api/auth.h"
#include "osprey/api/parse.h"
#include "osprey/api/views.h"
#include "osprey/app/backtest.h"
#include "osprey/app/detect_config.h"
#include "osprey/app/explain.h"
#include "osprey/app/feedback.h"
#include "osprey/base/clock.h"
#include "osprey/base/csv.h"
#include "osprey/base/log.h"
#include "osprey/cli/rca.h"
#include "osprey/cli/serve.h"
#include "osprey/config/l4m_import.h"
#include "osprey/config/loader.h"
#include "osprey/rca/codec.h"
#include "osprey/store/csv_export.h"
#include "osprey/store/store.h"
#include "osprey/stream/stream.h"

namespace osprey::cli {
namespace {

using nlohmann::json;

const OptionSpec kStateOption{"state", 0, "PATH|URL",
                              "state store: a SQLite file, or PostgreSQL as postgres://user:pw@host/db or "
                              "\"host=... dbname=...\"; default $OSPREY_STATE or ./osprey-state.db"};
const OptionSpec kJsonOption{"json", 0, "", "print JSON instead of a table"};

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("{}: cannot read the file", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

using api::AnomalyJson;
using api::GroupJson;

Result<std::optional<Instant>> OptionalInstant(const Args& args, const std::string& name,
                                               const TimeZone& zone) {
  auto v = args.Get(name);
  if (!v) return std::optional<Instant>();
  auto t = ParseInstant(*v, zone);
  if (!t.ok()) return InvalidArgument(fmt::format("--{}: {}", name, t.status().message()));
  return std::optional<Instant>(*t);
}

// A listing's page (docs/api.md, "Paging", as the API reads its lists): at
// most --limit items (1 to kMaxListLimit, default 50) after the position
// --after names, read from the index of the list's order. A usage error is
// printed as `command: ...`.
constexpr int64_t kMaxListLimit = 10000;

struct ListPage {
  int64_t limit = 50;
  std::optional<std::vector<std::string>> after;  // the cursor's fields
};

std::optional<ListPage> ListPageOf(const Args& args, const char* command, std::string_view order,
                                   std::string_view types) {
  ListPage p;
  if (auto limit = args.Get("limit")) {
    char* end = nullptr;
    errno = 0;
    p.limit = std::strtoll(limit->c_str(), &end, 10);
    if (limit->empty() || *end != '\0' || errno != 0 || p.limit < 1 || p.limit > kMaxListLimit) {
      std::fprintf(stderr, "%s: --limit is a whole number from 1 to %lld\n", command,
                   static_cast<long long>(kMaxListLimit));
      return std::nullopt;
    }
  }
  if (auto after = args.Get("after")) {
    auto fields = api::ParseCursor(*after, order, types);
    if (!fields.ok()) {
      std::fprintf(stderr,
                   "%s: --after '%s' is not a position in this list (sorted by %s); give the cursor the "
                   "previous page printed, with the same --sort\n",
                   command, after->c_str(), std::string(order).c_str());
      return std::nullopt;
    }
    p.after = std::move(fields).value();
  }
  return p;
}

// After a page of `shown` items read with limit + 1: where the next page
// starts, when more follow. In a table on stdout; beside --json output (an
// array, unchanged) on stderr.
void PrintNextPage(const Args& args, const std::string& cursor) {
  if (args.Has("json")) {
    std::fprintf(stderr, "next page: --after %s\n", cursor.c_str());
  } else {
    std::cout << fmt::format("\nNext page: --after {}\n", cursor);
  }
}

// ------------------------------------------------------------------ validate

int RunValidate(const Args& args) {
  int code = kExitOk;
  for (const auto& path : args.positional()) {
    auto d = config::LoadDetectorFile(path);
    if (!d.ok()) {
      std::fprintf(stderr, "%s\n", d.status().message().c_str());
      code = kExitConfig;
    } else {
      size_t with_rules = 0;  // measures with a rules setting, their own or the detector's
      for (size_t m = 0; m < d->measures.size(); ++m) {
        if (!config::EffectiveRules(*d, m).Empty()) ++with_rules;
      }
      const std::string rules = with_rules == 0 ? "" : fmt::format(", rules on {} of them", with_rules);
      const std::optional<std::string_view> country = config::HolidayCountry(*d);
      const std::string holidays =
          country ? fmt::format("holidays of {}{}", *country,
                                d->holidays == "auto" ? fmt::format(" (auto, {})", d->timezone.name()) : "")
                  : "no built-in holidays";
      std::printf("%s: ok (detector '%s', %s, %zu measures%s, %zu dimensions, %s)\n", path.c_str(),
                  d->name.c_str(), d->frequency.ToString().c_str(), d->measures.size(), rules.c_str(),
                  d->dimensions.size(), holidays.c_str());
      if (args.Has("explain")) std::printf("%s", app::ExplainSource(*d).c_str());
    }
  }
  return code;
}

// ------------------------------------------------------------------ backtest

int RunBacktestCommand(const Args& args) {
  auto path = args.Get("config");
  if (!path) {
    std::fprintf(stderr, "osprey backtest: give the detector file with -c FILE\n");
    return kExitUsage;
  }
  auto d = config::LoadDetectorFile(*path);
  if (!d.ok()) return Fail(d.status(), true);
  auto text = ReadFile(*path);
  if (!text.ok()) return Fail(text.status(), true);
  app::BacktestRequest r;
  r.detector = *d;
  r.config_text = *text;
  auto from = OptionalInstant(args, "from", d->timezone);
  auto to = OptionalInstant(args, "to", d->timezone);
  if (!from.ok() || !to.ok()) {
    std::fprintf(stderr, "osprey backtest: %s\n", (!from.ok() ? from : to).status().message().c_str());
    return kExitUsage;
  }
  r.from = *from;
  r.to = *to;
  SystemClock clock;
  r.now = clock.Now();
  r.show_progress = !args.Has("json") && !args.Has("quiet");
  r.alerts_enabled = args.Has("alerts");
  if (auto c = args.Get("chunk")) r.chunk_intervals = std::atoll(c->c_str());
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  auto stats = app::RunBacktest(r, **store);
  if (!stats.ok()) return Fail(stats.status());
  store::GroupQuery q;
  q.detector = d->name;
  q.limit = std::atoll(args.GetOr("limit", "50").c_str());
  q.min_severity = std::atof(args.GetOr("min-severity", "0").c_str());
  if (r.from) q.since = ToUnixSeconds(*r.from);
  if (r.to) q.until = ToUnixSeconds(*r.to);
  q.incidents_only = true;
  auto groups = (*store)->ListGroups(q);
  if (!groups.ok()) return Fail(groups.status());
  if (args.Has("json")) {
    json out = {{"detector", d->name},
                {"intervals", stats->intervals},
                {"rows_read", stats->rows_read},
                {"rows_rejected", stats->rows_rejected},
                {"points", stats->points},
                {"points_missing", stats->points_missing},
                {"no_data_intervals", stats->no_data_intervals},
                {"data_end", stats->data_end ? json(FormatIso(*stats->data_end)) : json(nullptr)},
                {"anomalies", stats->anomalies},
                {"groups", stats->groups},
                {"anomaly_groups", json::array()}};
    for (const auto& g : *groups) out["anomaly_groups"].push_back(GroupJson(g));
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << fmt::format(
        "Backtest of '{}': {} intervals, {} rows read ({} rejected), {} points scored, {} anomalies "
        "in {} groups.\n",
        d->name, stats->intervals, stats->rows_read, stats->rows_rejected, stats->points, stats->anomalies,
        stats->groups);
    if (stats->points_missing > 0 || stats->no_data_intervals > 0) {
      std::cout << fmt::format(
          "{} points missing (stored as missing, not scored); {} intervals without "
          "any row (no data).\n",
          stats->points_missing, stats->no_data_intervals);
    }
    if (stats->data_end) {
      std::cout << fmt::format("The source has no rows from {} on: stopped there.\n",
                               FormatIso(*stats->data_end));
    }
    std::cout << "\n";
    app::PrintGroupTable(*groups, std::cout);
  }
  return kExitOk;
}

// ------------------------------------------------------------------ anomalies

int RunAnomaliesList(const Args& args) {
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  store::GroupQuery q;
  q.detector = args.Get("detector");
  q.measure = args.Get("measure");
  q.min_severity = std::atof(args.GetOr("min-severity", "0").c_str());
  const std::string sort = args.GetOr("sort", "time");
  if (sort != "time" && sort != "time-asc" && sort != "severity") {
    std::fprintf(stderr, "osprey anomalies list: --sort is time, time-asc or severity\n");
    return kExitUsage;
  }
  // The cursor names the order as the API does.
  const std::string order = sort == "time-asc" ? "time_asc" : sort;
  auto page = ListPageOf(args, "osprey anomalies list", order, api::kGroupCursorTypes);
  if (!page) return kExitUsage;
  q.limit = page->limit + 1;
  if (page->after) q.after = api::GroupCursorKey(*page->after);
  q.newest_first = sort != "time-asc";
  q.by_severity = sort == "severity";
  q.incidents_only = !args.Has("per-interval");
  auto since = OptionalInstant(args, "since", TimeZone::Utc());
  if (!since.ok()) {
    std::fprintf(stderr, "osprey anomalies list: %s\n", since.status().message().c_str());
    return kExitUsage;
  }
  if (*since) q.since = ToUnixSeconds(**since);
  auto groups = (*store)->ListGroups(q);
  if (!groups.ok()) return Fail(groups.status());
  const bool more = static_cast<int64_t>(groups->size()) > page->limit;
  if (more) groups->resize(static_cast<size_t>(page->limit));
  if (args.Has("json")) {
    json out = json::array();
    for (const auto& g : *groups) out.push_back(GroupJson(g));
    std::cout << out.dump(2) << "\n";
  } else if (groups->empty()) {
    std::cout << "No anomaly groups match.\n";
  } else {
    app::PrintGroupTable(*groups, std::cout);
  }
  if (more) PrintNextPage(args, api::GroupCursor(order, groups->back()));
  return kExitOk;
}

int RunAnomaliesShow(const Args& args) {
  char* end = nullptr;
  const std::string& id_text = args.positional()[0];
  long long id = std::strtoll(id_text.c_str(), &end, 10);
  if (end == id_text.c_str() || *end != '\0') {
    std::fprintf(stderr, "osprey anomalies show: '%s' is not a group id\n", id_text.c_str());
    return kExitUsage;
  }
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  auto g = (*store)->GetGroup(id);
  if (!g.ok()) return Fail(g.status());
  auto members = (*store)->ListAnomalies(id);
  if (!members.ok()) return Fail(members.status());
  if (args.Has("json")) {
    json out = GroupJson(*g);
    out["anomalies"] = json::array();
    for (const auto& a : *members) out["anomalies"].push_back(AnomalyJson(a));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("Anomaly group {} of detector '{}'\n", g->id, g->detector);
  std::cout << fmt::format("  measure   {}\n  interval  [{}, {})\n  severity  {:.1f}\n", g->measure,
                           FormatIso(FromUnixSeconds(g->ts)), FormatIso(FromUnixSeconds(g->end_ts)),
                           g->severity);
  std::cout << fmt::format(
      "  incident  [{}, {}), {} interval(s), severity {:.1f}\n", FormatIso(FromUnixSeconds(g->incident_ts)),
      FormatIso(FromUnixSeconds(g->incident_end_ts)), g->incident_intervals, g->incident_severity);
  auto rc = rca::DecodeRootCauses(g->root_causes);
  if (rc.ok() && !rc->empty()) {
    std::cout << "\nRoot causes:\n";
    for (const rca::CauseElement& c : *rc) {
      std::cout << fmt::format("  {:<40} {:>6.1f}% of the deviation{}\n", rca::ElementText(c, " & "), c.share,
                               c.ratio ? " (" + rca::RatioSidesText(*c.ratio) + ")" : "");
    }
  }
  auto contributions = rca::DecodeContributions(g->contributions);
  if (contributions.ok() && !contributions->empty()) {
    std::cout << "\nContributions:\n";
    for (const rca::DimensionShares& d : *contributions) {
      for (const rca::ValueShare& v : d.values) {
        std::cout << fmt::format("  {:<14} {:<14} {:>6.1f}%  (actual {:.1f}, expected {:.1f})\n", d.dimension,
                                 v.value, v.share, v.actual, v.expected);
      }
    }
  }
  auto related = rca::DecodeRelated(g->related);
  if (related.ok() && !related->empty()) {
    std::cout << "\nRelated measures:\n";
    for (const rca::RelatedMeasure& r : *related) {
      std::cout << fmt::format("  {:<14} {:<13} {:>+7.1f}%  (incident from {})\n", r.measure, r.relation,
                               r.deviation_pct, r.incident_start);
    }
  }
  std::cout << fmt::format("\nAnomalies ({}):\n", members->size());
  std::cout << fmt::format("  {:<50} {:>12} {:>12} {:>25} {:>8}  {}\n", "series", "actual", "expected",
                           "band", "severity", "what");
  for (const auto& a : *members) {
    std::cout << fmt::format("  {:<50} {:>12.2f} {:>12.2f} {:>25} {:>8.1f}  {} {}\n", a.label, a.value,
                             a.expected, fmt::format("[{:.1f}, {:.1f}]", a.lower, a.upper), a.severity,
                             a.direction, a.explanation);
  }
  return kExitOk;
}

int RunAnomaliesExport(const Args& args) {
  auto usage = [](const std::string& why) {
    std::fprintf(stderr, "osprey anomalies export: %s\n", why.c_str());
    return kExitUsage;
  };
  if (!args.Has("csv")) return usage("--csv is required (the only export format)");
  store::CsvExportOptions o;
  o.detector = args.Get("detector");
  o.leaves_only = args.Has("leaves-only");
  const std::string severity = args.GetOr("min-severity", "0");
  char* end = nullptr;
  o.min_severity = std::strtod(severity.c_str(), &end);
  if (severity.empty() || *end != '\0' || !(o.min_severity >= 0 && o.min_severity <= 100)) {
    return usage(fmt::format("--min-severity: '{}' is not a number from 0 to 100", severity));
  }
  for (const char* name : {"from", "to"}) {
    auto t = OptionalInstant(args, name, TimeZone::Utc());
    if (!t.ok()) return usage(t.status().message());
    if (*t) (std::string(name) == "from" ? o.since : o.until) = ToUnixSeconds(**t);
  }
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  std::FILE* out = stdout;
  const auto path = args.Get("output");
  if (path) {
    out = std::fopen(path->c_str(), "wb");
    if (out == nullptr) return Fail(Unavailable(fmt::format("{}: cannot write", *path)));
  }
  auto rows = store::ExportScoredPointsCsv(**store, o, out);
  if (path && std::fclose(out) != 0 && rows.ok()) {
    rows = Unavailable(fmt::format("{}: cannot write", *path));
  }
  if (!rows.ok()) return Fail(rows.status());
  if (path)
    std::fprintf(stderr, "osprey anomalies export: %lld rows written to %s\n", static_cast<long long>(*rows),
                 path->c_str());
  return kExitOk;
}

// ------------------------------------------------------------------ demo

int RunDemoCommand(const Args& args) {
  app::DemoRequest r;
  r.config_path = args.GetOr("config", "examples/ecommerce.yaml");
  r.dir = args.GetOr("dir", "osprey-demo");
  if (auto seed = args.Get("seed"))
    r.data.seed = static_cast<uint32_t>(std::strtoul(seed->c_str(), nullptr, 10));
  if (auto days = args.Get("days")) {
    r.data.days = std::atoll(days->c_str());
    if (r.data.days < r.data.clean_days + 14) {
      std::fprintf(stderr, "osprey demo: --days must be at least %lld\n",
                   static_cast<long long>(r.data.clean_days + 14));
      return kExitUsage;
    }
  }
  auto ev = app::RunDemo(r, std::cout);
  if (!ev.ok()) {
    bool config_error = ev.status().message().rfind(r.config_path, 0) == 0;
    return Fail(ev.status(), config_error);
  }
  return kExitOk;
}

// ------------------------------------------------------------------ import-l4m

int RunImportL4m(const Args& args) {
  const std::string& path = args.positional()[0];
  auto text = ReadFile(path);
  if (!text.ok()) return Fail(text.status(), true);
  auto imported = config::ImportL4mParams(*text, path);
  if (!imported.ok()) return Fail(imported.status(), true);
  std::string yaml = "# Imported from " + path + " by osprey import-l4m.\n";
  for (const auto& w : imported->warnings) yaml += "# NOTE: " + w + "\n";
  yaml += config::DetectorToYaml(imported->detector);
  for (const auto& w : imported->warnings) std::fprintf(stderr, "osprey import-l4m: note: %s\n", w.c_str());
  if (auto out = args.Get("output")) {
    std::ofstream f(*out, std::ios::trunc);
    f << yaml;
    if (!f) return Fail(Unavailable(fmt::format("{}: cannot write the file", *out)));
    std::fprintf(stderr, "osprey import-l4m: wrote %s; check it with 'osprey validate %s'\n", out->c_str(),
                 out->c_str());
  } else {
    std::cout << yaml;
  }
  return kExitOk;
}

// ------------------------------------------------------------------ score

int RunScore(const Args& args) {
  auto csv = args.Get("csv");
  if (!csv) {
    std::fprintf(stderr, "osprey score: give the input with --csv FILE\n");
    return kExitUsage;
  }
  std::string ts_col = args.GetOr("timestamp", "timestamp");
  std::string value_col = args.GetOr("value", "value");
  stream::StreamOptions options = stream::DefaultStreamOptions();
  if (auto f = args.Get("frequency")) {
    auto d = Duration::Parse(*f);
    if (!d.ok()) {
      std::fprintf(stderr, "osprey score: --frequency: %s\n", d.status().message().c_str());
      return kExitUsage;
    }
    options.interval_seconds = d->NominalSeconds();
  }
  std::vector<TimestampFormat> formats;
  if (auto f = args.Get("format")) {
    auto tf = TimestampFormat::Parse(*f);
    if (!tf.ok()) {
      std::fprintf(stderr, "osprey score: --format: %s\n", tf.status().message().c_str());
      return kExitUsage;
    }
    formats.push_back(*tf);
  } else {
    for (const char* pattern : {"yyyy-MM-dd HH:mm:ss", "iso8601", "epoch"}) {
      formats.push_back(*TimestampFormat::Parse(pattern));
    }
  }
  std::ifstream in(*csv);
  if (!in) return Fail(NotFound(fmt::format("{}: cannot read the file", *csv)));
  CsvReader reader(in, *csv);
  std::vector<std::string> header, fields;
  auto got = reader.Next(header);
  if (!got.ok()) return Fail(got.status());
  if (!*got) return Fail(InvalidArgument(fmt::format("{}: the file is empty", *csv)));
  auto column = [&](const std::string& name) -> int {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  int tc = column(ts_col), vc = column(value_col);
  if (tc < 0 || vc < 0) {
    return Fail(InvalidArgument(
        fmt::format("{}:1: no column '{}' in the header", *csv, tc < 0 ? ts_col : value_col)));
  }
  std::vector<std::vector<std::string>> records;
  std::vector<stream::StreamRow> rows;
  while (true) {
    auto more = reader.Next(fields);
    if (!more.ok()) return Fail(more.status());
    if (!*more) break;
    if (fields.size() != header.size()) {
      return Fail(InvalidArgument(fmt::format("{}:{}: {} fields where the header has {}", *csv, reader.line(),
                                              fields.size(), header.size())));
    }
    const std::string& t = fields[static_cast<size_t>(tc)];
    std::optional<Instant> when;
    for (const auto& format : formats) {
      auto parsed = format.ParseValue(t, TimeZone::Utc());
      if (parsed.ok()) {
        when = *parsed;
        break;
      }
    }
    if (!when) {
      return Fail(
          InvalidArgument(fmt::format("{}:{}: field '{}': '{}' is not a timestamp{}", *csv, reader.line(),
                                      ts_col, t, args.Has("format") ? "" : " (give --format)")));
    }
    stream::StreamRow row{ToUnixSeconds(*when), std::nullopt};
    const std::string& v = fields[static_cast<size_t>(vc)];
    if (!v.empty()) {
      char* end = nullptr;
      double x = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0') {
        return Fail(InvalidArgument(
            fmt::format("{}:{}: field '{}': '{}' is not a number", *csv, reader.line(), value_col, v)));
      }
      row.value = x;
    }
    rows.push_back(row);
    records.push_back(fields);
  }
  auto scores = stream::ScoreStream(rows, options);
  if (!scores.ok()) return Fail(scores.status());
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (auto o = args.Get("output")) {
    file.open(*o, std::ios::trunc);
    if (!file) return Fail(Unavailable(fmt::format("{}: cannot write the file", *o)));
    out = &file;
  }
  auto quote = [](const std::string& f) {
    if (f.find_first_of(",\"\n") == std::string::npos) return f;
    std::string q = "\"";
    for (char c : f) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  for (const auto& h : header) *out << quote(h) << ",";
  *out << "anomaly_score\n";
  for (size_t i = 0; i < records.size(); ++i) {
    for (const auto& f : records[i]) *out << quote(f) << ",";
    *out << fmt::format("{:.6f}\n", (*scores)[i].anomaly);
  }
  return kExitOk;
}

// ------------------------------------------------------------------ alerts

int RunAlertsLog(const Args& args) {
  store::OutboxQuery q;
  q.detector = args.Get("detector");
  q.status = args.Get("status");
  if (q.status && *q.status != "pending" && *q.status != "delivered" && *q.status != "dead" &&
      *q.status != "silenced") {
    std::fprintf(stderr, "osprey alerts log: --status is pending, delivered, dead or silenced\n");
    return kExitUsage;
  }
  auto page = ListPageOf(args, "osprey alerts log", "id", "i");
  if (!page) return kExitUsage;
  q.limit = page->limit + 1;
  if (page->after) q.after_id = std::strtoll(page->after->at(0).c_str(), nullptr, 10);
  q.newest_first = true;
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  auto rows = (*store)->ListOutbox(q);
  if (!rows.ok()) return Fail(rows.status());
  const bool more = static_cast<int64_t>(rows->size()) > page->limit;
  if (more) rows->resize(static_cast<size_t>(page->limit));
  const std::string next = more ? api::OutboxCursor(rows->back().id) : "";
  if (args.Has("json")) {
    json out = json::array();
    for (const auto& r : *rows) out.push_back(api::OutboxJson(r));
    std::cout << out.dump(2) << "\n";
    if (more) PrintNextPage(args, next);
    return kExitOk;
  }
  if (rows->empty()) {
    std::cout << "No alert messages match.\n";
    return kExitOk;
  }
  std::cout << fmt::format("{:>6}  {:<14} {:<12} {:<8} {:<10} {:>6} {:<20} {:<9} {:>4}  {}\n", "id",
                           "detector", "alert", "kind", "measure", "group", "interval", "status", "try",
                           "last error / delivered");
  for (const auto& r : *rows) {
    std::string note = r.status == "delivered" && r.delivered_at ? FormatIso(FromUnixSeconds(*r.delivered_at))
                                                                 : r.last_error;
    if (r.status == "pending" && r.attempts > 0) {
      note += fmt::format(" (next try {})", FormatIso(FromUnixSeconds(r.next_attempt_at)));
    }
    std::cout << fmt::format("{:>6}  {:<14} {:<12} {:<8} {:<10} {:>6} {:<20} {:<9} {:>4}  {}\n", r.id,
                             r.detector, r.alert, r.kind, r.measure, r.group_id,
                             FormatIso(FromUnixSeconds(r.group_ts)), r.status, r.attempts, note);
  }
  if (more) PrintNextPage(args, next);
  return kExitOk;
}

// ------------------------------------------------------------------ token

int RunTokenCreate(const Args& args) {
  const std::string role_name = args.GetOr("role", "");
  auto role = api::ParseRole(role_name);
  if (!role) {
    std::fprintf(stderr, "osprey token create: give --role admin or --role viewer\n");
    return kExitUsage;
  }
  std::string name = args.GetOr("name", role_name);
  if (name.empty() || name.size() > 100) {
    std::fprintf(stderr, "osprey token create: --name must have 1 to 100 characters\n");
    return kExitUsage;
  }
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  auto token = api::GenerateToken();
  if (!token.ok()) return Fail(token.status());
  SystemClock clock;
  store::TokenRecord t;
  t.name = name;
  t.role = std::string(api::RoleName(*role));
  t.hash = api::HashToken(*token);
  t.created_at = ToUnixSeconds(clock.Now());
  auto id = (*store)->CreateToken(t);
  if (!id.ok()) return Fail(id.status());
  std::fprintf(stderr, "Created %s token %lld '%s'. It is shown once; store it now.\n", t.role.c_str(),
               static_cast<long long>(*id), name.c_str());
  std::printf("%s\n", token->c_str());
  return kExitOk;
}

int RunTokenList(const Args& args) {
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  auto tokens = (*store)->ListTokens();
  if (!tokens.ok()) return Fail(tokens.status());
  if (args.Has("json")) {
    json out = json::array();
    for (const auto& t : *tokens) out.push_back(api::TokenJson(t));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{:>4}  {:<24}  {:<6}  {:<20}  {}\n", "id", "name", "role", "created", "revoked");
  for (const auto& t : *tokens) {
    std::cout << fmt::format("{:>4}  {:<24}  {:<6}  {:<20}  {}\n", t.id, t.name, t.role,
                             FormatIso(FromUnixSeconds(t.created_at)),
                             t.revoked_at ? FormatIso(FromUnixSeconds(*t.revoked_at)) : "-");
  }
  return kExitOk;
}

int RunAlertsDeliver(const Args& args) {
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  auto transport = alerts::NewSystemTransport();
  alerts::Deliverer deliverer(**store, *transport);
  SystemClock clock;
  alerts::DeliveryStats stats;
  Status s = deliverer.DeliverDue(clock.Now(), &stats);
  if (!s.ok()) return Fail(s);
  std::cout << fmt::format("{} delivered, {} to retry, {} dead-lettered, {} silenced, {} waiting.\n",
                           stats.delivered, stats.retried, stats.dead, stats.silenced, stats.waiting);
  return kExitOk;
}

// ------------------------------------------------------------------ feedback

int RunFeedback(const Args& args) {
  const bool relevant = args.Has("relevant");
  if (relevant == args.Has("not-relevant")) {
    std::fprintf(stderr, "osprey feedback: give exactly one of --relevant and --not-relevant\n");
    return kExitUsage;
  }
  char* end = nullptr;
  const std::string& id_text = args.positional()[0];
  const long long group_id = std::strtoll(id_text.c_str(), &end, 10);
  if (end == id_text.c_str() || *end != '\0') {
    std::fprintf(stderr, "osprey feedback: '%s' is not a group id\n", id_text.c_str());
    return kExitUsage;
  }
  std::optional<long long> series;
  if (auto s = args.Get("series")) {
    series = std::strtoll(s->c_str(), &end, 10);
    if (end == s->c_str() || *end != '\0') {
      std::fprintf(stderr, "osprey feedback: --series '%s' is not a series id\n", s->c_str());
      return kExitUsage;
    }
  }
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  SystemClock clock;
  app::FeedbackRequest request;
  request.group_id = group_id;
  if (series) request.series_id = *series;
  request.relevant = relevant;
  request.now = clock.Now();
  auto stored = app::RecordFeedback(**store, request);
  if (!stored.ok()) return Fail(stored.status());
  for (const auto& f : *stored) {
    std::cout << fmt::format("Marked {} at {} as {}.\n", f.label, FormatIso(FromUnixSeconds(f.ts)),
                             relevant ? "relevant" : "not relevant");
  }
  return kExitOk;
}

int RunTokenRevoke(const Args& args) {
  const std::string& text = args.positional()[0];
  char* end = nullptr;
  long long id = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0') {
    std::fprintf(stderr, "osprey token revoke: '%s' is not a token id (see 'osprey token list')\n",
                 text.c_str());
    return kExitUsage;
  }
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  SystemClock clock;
  Status s = (*store)->RevokeToken(id, ToUnixSeconds(clock.Now()));
  if (!s.ok()) return Fail(s);
  std::printf("Revoked token %lld.\n", id);
  return kExitOk;
}

int RunDetectConfig(const Args& args) {
  app::DetectConfigRequest req;
  const std::string type = args.GetOr("source", "");
  std::optional<config::SourceType> t = config::ParseSourceType(type);
  if (!t) {
    return Fail(
        InvalidArgument(fmt::format("--source: expected sqlite, postgres, mysql or csv, got \"{}\"", type)),
        true);
  }
  req.type = *t;
  req.path = args.GetOr("path", "");
  req.connection_env = args.GetOr("connection-env", "");
  req.query = args.GetOr("query", "");
  req.name = args.GetOr("name", "my-detector");
  if (auto n = args.Get("sample")) req.sample_rows = std::max<int64_t>(1, std::atoll(n->c_str()));
  if (req.path.empty() && req.connection_env.empty()) {
    return Fail(InvalidArgument("give --path or --connection-env"), true);
  }
  if (req.query.empty() && req.type != config::SourceType::kCsv) {
    return Fail(InvalidArgument("give --query (the SQL to sample)"), true);
  }
  auto r = app::SampleAndPropose(req);
  if (!r.ok()) return Fail(r.status(), r.status().code() == StatusCode::kInvalidArgument);
  for (const std::string& note : r->notes) std::fprintf(stderr, "detect-config: %s\n", note.c_str());
  if (!req.query.empty() && (req.query.find("{{interval_start}}") == std::string::npos ||
                             req.query.find("{{interval_end}}") == std::string::npos)) {
    std::fprintf(stderr,
                 "detect-config: add \"where <timestamp> >= {{interval_start}} and "
                 "<timestamp> < {{interval_end}}\" to the query before using the file\n");
  }
  const std::string yaml = app::ProposalYaml(*r) + "\n";
  if (auto out = args.Get("output")) {
    std::ofstream f(*out);
    f << yaml;
    if (!f) return Fail(Unavailable(fmt::format("{}: cannot write", *out)), false);
  } else {
    std::fputs(yaml.c_str(), stdout);
  }
  return 0;
}

}  // namespace

int Fail(const Status& status, bool config_error) {
  std::fprintf(stderr, "osprey: %s\n", RedactSecrets(status.message()).c_str());
  return config_error ? kExitConfig : kExitFailure;
}

std::string StatePath(const Args& args) {
  if (auto s = args.Get("state")) return *s;
  if (const char* e = std::getenv("OSPREY_STATE"); e && *e) return e;
  return "osprey-state.db";
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {{"demo",
        "Build a sample e-commerce warehouse in SQLite, run the example detector over it, and "
        "score what it finds against the injected ground truth.",
        "osprey demo [--config FILE] [--dir DIR] [--seed N] [--days N]",
        "Writes DIR/warehouse.db (tables platform, marketplace, ecommerce), DIR/ground_truth.csv "
        "and DIR/state.db, replacing earlier copies. The detector's source is pointed at the new "
        "warehouse.",
        {{"config", 'c', "FILE", "detector file (default examples/ecommerce.yaml)"},
         {"dir", 'd', "DIR", "output directory (default ./osprey-demo)"},
         {"seed", 0, "N", "generator seed (default 20201001)"},
         {"days", 0, "N", "days of hourly data (default 182)"}},
        0,
        0},
       RunDemoCommand},
      {{"validate",
        "Check detector files and report every problem with file:line.",
        "osprey validate [--explain] FILE [FILE...]",
        "Exit code 78 when a file is invalid. --explain prints the SQL osprey runs: with "
        "push-down, the detector's query wrapped in the per-interval GROUP BY "
        "(docs/sources.md, \"Push-down aggregation\").",
        {{"explain", 0, "", "print the query osprey runs and whether it aggregates in the database"}},
        1,
        1 << 20},
       RunValidate},
      {{"backtest",
        "Replay the pipeline over a past range and print the anomaly groups it raises.",
        "osprey backtest -c FILE [--from TIME] [--to TIME] [--state PATH|URL] [--json]",
        "TIME is a date or date-time (2020-10-01, 2020-10-01T12:00, ...Z or with an offset), in "
        "the detector's time zone unless it has an offset. --from defaults to the detector's "
        "history_start, --to to now. Results in the range are replaced in the state store, so "
        "'osprey anomalies list' shows them afterwards.",
        {{"config", 'c', "FILE", "detector file"},
         {"from", 0, "TIME", "first interval to replay (default: history_start)"},
         {"to", 0, "TIME",
          "end of the range, exclusive (default: now, and the run stops after the last interval "
          "the source has rows for)"},
         {"min-severity", 0, "N", "only print groups at least this severe (0-100)"},
         {"limit", 0, "N", "print at most N groups (default 50)"},
         {"chunk", 0, "N", "intervals per query and transaction (default 168)"},
         {"alerts", 0, "", "evaluate alert rules over the range and queue their messages"},
         {"quiet", 'q', "", "no progress lines"},
         kStateOption,
         kJsonOption},
        0,
        0},
       RunBacktestCommand},
      {{"anomalies list",
        "List anomalies: one line per incident (a measure's groups over consecutive intervals), "
        "newest first.",
        "osprey anomalies list [--detector NAME] [--min-severity N] [--since TIME] [--limit N] "
        "[--after CURSOR] [--json]",
        "A page of at most --limit lines. When more follow, the last line says where the next page "
        "starts: 'Next page: --after CURSOR' (with --json, on stderr); give the same options and that "
        "--after for the next page. The cursor is the API's next_cursor of the same sort.",
        {{"detector", 0, "NAME", "only this detector"},
         {"measure", 0, "NAME", "only this measure"},
         {"min-severity", 0, "N", "only groups at least this severe (0-100)"},
         {"since", 0, "TIME", "only groups from this time on (UTC unless an offset is given)"},
         {"sort", 0, "ORDER", "time (newest first, default), time-asc or severity"},
         {"per-interval", 0, "", "one line per interval's group instead of per incident"},
         {"limit", 0, "N", "at most N groups (1-10000, default 50)"},
         {"after", 0, "CURSOR", "the page after this position (printed by the previous page)"},
         kStateOption,
         kJsonOption},
        0,
        0},
       RunAnomaliesList},
      {{"anomalies export",
        "Export every scored series-interval as CSV, for analysis and threshold studies.",
        "osprey anomalies export --csv [--detector NAME] [--from TIME] [--to TIME] "
        "[--min-severity S] [--leaves-only] [-o FILE]",
        "One row per scored point with severity >= S (default 0: every scored point): "
        "timestamp (interval start, ISO-8601 UTC), one column per dimension in the detector's "
        "order, measure, value, expected, lower, upper, severity. An empty dimension cell means "
        "the series is a roll-up over that dimension. Missing points and points scored while "
        "the model warmed up are not rows. Without --detector and with several detectors, a "
        "detector column comes first and the dimension columns are the union of theirs (empty "
        "where a detector has no such dimension). Rows come detector by detector, series by "
        "series, each in time order; memory stays constant however many rows there are. RFC 4180 "
        "quoting, CRLF line ends. value is exact; for closed UTC days the store keeps expected, "
        "lower and upper to 1/8192 of the day's largest magnitude and severity to 0.01 "
        "(docs/state-store.md, \"Compact points\"); anomaly lists keep full precision.",
        {{"csv", 0, "", "write CSV (required; the only format)"},
         {"detector", 0, "NAME", "only this detector"},
         {"from", 0, "TIME", "intervals starting at or after TIME (UTC unless an offset is given)"},
         {"to", 0, "TIME", "intervals starting before TIME (UTC unless an offset is given)"},
         {"min-severity", 0, "S", "only points at least this severe (0-100, default 0)"},
         {"leaves-only", 0, "", "leave out roll-up series"},
         {"output", 'o', "FILE", "write here instead of stdout"},
         kStateOption},
        0,
        0},
       RunAnomaliesExport},
      {{"anomalies show",
        "Show one anomaly group: root causes, contributions and its anomalies.",
        "osprey anomalies show GROUP_ID [--json]",
        "",
        {kStateOption, kJsonOption},
        1,
        1},
       RunAnomaliesShow},
      {{"alerts log",
        "List alert messages of the outbox: pending, delivered, dead-lettered and silenced.",
        "osprey alerts log [--detector NAME] [--status pending|delivered|dead|silenced] [--limit N] "
        "[--after CURSOR] [--json]",
        "Newest first. A dead-lettered message gave up after its alert's max_attempts, or on a "
        "client error (HTTP 4xx other than 408 and 429); last_error says why. A page of at most "
        "--limit messages; when more follow, the last line says 'Next page: --after CURSOR' (with "
        "--json, on stderr).",
        {{"detector", 0, "NAME", "only this detector"},
         {"status", 0, "STATUS", "pending, delivered, dead or silenced"},
         {"limit", 0, "N", "at most N messages (1-10000, default 50)"},
         {"after", 0, "CURSOR", "the page after this position (printed by the previous page)"},
         kStateOption,
         kJsonOption},
        0,
        0},
       RunAlertsLog},
      {{"alerts deliver",
        "Deliver the alert messages that are due now, once.",
        "osprey alerts deliver [--state PATH|URL]",
        "Failed messages are retried later with exponential backoff; run again (the daemon "
        "does this in a loop). URLs and keys are read from the environment variables and files "
        "the alerts name.",
        {kStateOption},
        0,
        0},
       RunAlertsDeliver},
      {{"feedback",
        "Mark the anomalies of a group as relevant or not relevant.",
        "osprey feedback GROUP_ID [--series ID] --relevant|--not-relevant",
        "Takes effect on the next interval the detector processes: a later deviation of the same "
        "series in the same direction and within +-30 % of the same size gets a quarter of its "
        "severity after --not-relevant, and is left alone after --relevant (see docs/alerts.md).",
        {{"series", 0, "ID", "only this series of the group (default: all its anomalies)"},
         {"relevant", 0, "", "the anomaly matters; keep alerting on such deviations"},
         {"not-relevant", 0, "", "the anomaly does not matter; damp similar deviations"},
         kStateOption},
        1,
        1},
       RunFeedback},
      {{"import-l4m",
        "Convert an Amazon Lookout for Metrics params.json into an osprey detector file.",
        "osprey import-l4m PARAMS.json [-o FILE]",
        "Prints the detector as YAML (or writes it with -o). What could not be carried over (S3 "
        "paths, IAM roles, Lambda ARNs, secret names) is listed on stderr and as comments in the "
        "file; the generated query is a template to edit.",
        {{"output", 'o', "FILE", "write the detector file here instead of stdout"}},
        1,
        1},
       RunImportL4m},
      RcaCommand(),
      {{"score",
        "Score a CSV time series online and append an anomaly_score column in [0, 1].",
        "osprey score --csv FILE [--timestamp COL] [--value COL] [--frequency D] [-o FILE]",
        "Each row's score uses only that row and the rows before it, as in live detection. The "
        "configuration is the one 'make nab' measures. Timestamps are tried as "
        "'yyyy-MM-dd HH:mm:ss', ISO-8601 and epoch seconds unless --format is given; an empty "
        "value is a missing interval.",
        {{"csv", 0, "FILE", "input CSV with a header row"},
         {"timestamp", 0, "COL", "timestamp column (default 'timestamp')"},
         {"value", 0, "COL", "value column (default 'value')"},
         {"format", 0, "PATTERN", "timestamp format, e.g. 'yyyy-MM-dd HH:mm:ss' or epoch"},
         {"frequency", 0, "D", "ISO-8601 interval between rows; default: inferred"},
         {"output", 'o', "FILE", "write here instead of stdout"}},
        0,
        0},
       RunScore},
      {{"serve",
        "Run every detector on its schedule and serve the REST API and the web UI.",
        "osprey serve [--config DIR] [--bind ADDR] [--port N] [--state PATH|URL] [--once | --until TIME] "
        "[--worker NAME] [--lease SECONDS]",
        "Detector files in DIR (*.yaml, *.yml, *.json) are validated, registered and scheduled; "
        "they are re-read on SIGHUP and when a file changes (a broken file is reported and the "
        "previous version keeps running). Detectors created or updated through the REST API run "
        "too, with or without --config; a file owns the detector it names. A detector's first run "
        "backfills from history_start "
        "without alerts; then each interval is processed at its end + offset (or on its cron "
        "schedule), missed intervals are caught up in order, and failed reads are retried with "
        "backoff (see 'osprey status'). --once and --until run the schedule without the API and "
        "exit (78 if a detector file is broken). Runs until SIGINT or SIGTERM otherwise. Any number "
        "of serve processes may share one PostgreSQL state store: each runs its share of the "
        "detectors under leases (a detector with 'shards: N' is split between them, series by "
        "series), and a worker that dies has its detectors taken over (see "
        "docs/scheduling.md, \"Several workers\"). The API "
        "needs a token: 'osprey token create'. See docs/scheduling.md and docs/api.md.",
        {{"config", 'c', "DIR", "schedule the detector files in this directory"},
         {"bind", 0, "ADDR", "address to listen on (default 127.0.0.1)"},
         {"port", 'p', "N", "TCP port (default 8080; 0 picks a free one)"},
         {"threads", 0, "N", "worker threads (default 8)"},
         {"web-dir", 0, "DIR", "serve the UI from DIR instead of the embedded copy"},
         {"no-access-log", 0, "",
          "do not log each API request on stderr (logged by default: method, "
          "path, status, bytes, duration, token name)"},
         {"once", 0, "", "process what is due now, then exit"},
         {"until", 0, "TIME",
          "run the schedule until the clock reaches TIME (UTC unless an offset), then exit"},
         {"worker", 0, "NAME",
          "with a PostgreSQL state store: the name this worker holds its leases under (default host:pid)"},
         {"lease", 0, "SECONDS",
          "with a PostgreSQL state store: how long a lease lasts without renewal (default 30)"},
         kStateOption},
        0,
        0},
       RunServeCommand},
      {{"status",
        "Show each detector's schedule state, watermark, runs, errors and data quality.",
        "osprey status [--state PATH] [--json]",
        "State is backfilling, active, failing (last error and retries shown, next run is the "
        "retry: Unavailable and timeouts are retried with backoff, other errors once an hour or "
        "when the detector changes) or paused. The data-quality figures are those of the "
        "last processed interval: rows read, rejected (by reason), filtered, series seen and "
        "series missing. The data line says 'no data for N intervals since T' while the newest "
        "intervals' queries returned no rows, and 'warming up: S of N intervals (W of M series)' "
        "while models still learn (only rules fire meanwhile); otherwise 'ok'. With several "
        "workers on a PostgreSQL store, the worker holding each detector's lease is shown, and "
        "for a detector split into shards each shard's watermark and worker.",
        {kStateOption, kJsonOption},
        0,
        0},
       RunStatusCommand},
      {{"token create",
        "Create an API token and print it once.",
        "osprey token create --role admin|viewer [--name NAME]",
        "Only the token's SHA-256 is stored. Viewers read; admins also create, change and delete.",
        {{"role", 0, "ROLE", "admin or viewer"},
         {"name", 0, "NAME", "a label for people (default: the role)"},
         kStateOption},
        0,
        0},
       RunTokenCreate},
      {{"token list",
        "List API tokens (never the secrets).",
        "osprey token list [--json]",
        "",
        {kStateOption, kJsonOption},
        0,
        0},
       RunTokenList},
      {{"token revoke",
        "Revoke an API token by id; servers stop accepting it within seconds.",
        "osprey token revoke ID",
        "",
        {kStateOption},
        1,
        1},
       RunTokenRevoke},
      {{"detect-config",
        "Sample a query and propose a detector file.",
        "osprey detect-config --source TYPE (--connection-env VAR | --path P) --query SQL "
        "[--name NAME] [--sample N] [-o FILE]",
        "Runs the query (bound over 1970..2100 when it has the {{interval_start}} and "
        "{{interval_end}} placeholders; stops after --sample rows, default 10000) and guesses "
        "the timestamp column and format (naive values get timestamp.timezone: UTC, to be set "
        "to the zone the column is stored in; values with an offset need none), the frequency "
        "(median spacing of distinct "
        "timestamps), dimensions (text columns with few distinct values) and measures (numeric "
        "columns: SUM, or AVG where the name reads as an average, such as latency_ms or error_rate, "
        "weighted by the one measure named as a count of requests, calls or events when there is "
        "one; with that count, each count of errors, failures or timeouts also gets a ratio "
        "measure such as error_rate = errors / requests). For csv, --path is the directory and "
        "--query is not used. What was "
        "decided is printed on stderr; the detector YAML on stdout.",
        {{"source", 0, "TYPE", "sqlite, postgres, mysql or csv"},
         {"connection-env", 0, "VAR", "environment variable holding the connection"},
         {"path", 0, "P", "sqlite file or csv directory"},
         {"query", 0, "SQL", "the query to sample"},
         {"name", 0, "NAME", "detector name (default my-detector)"},
         {"sample", 0, "N", "rows to sample (default 10000)"},
         {"output", 'o', "FILE", "write the detector file here instead of stdout"}},
        0,
        0},
       RunDetectConfig},
  };
  return kCommands;
}

}  // namespace osprey::cli
