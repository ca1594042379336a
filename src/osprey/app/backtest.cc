#include "osprey/app/backtest.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "osprey/config/loader.h"
#include "osprey/connectors/source.h"
#include "osprey/rca/codec.h"

namespace osprey::app {
namespace {

using nlohmann::json;

std::string TopContributors(const std::string& contributions_json, size_t per_dimension) {
  auto dims = rca::DecodeContributions(contributions_json);
  if (!dims.ok()) return "";
  std::string out;
  for (const rca::DimensionShares& d : *dims) {
    for (size_t n = 0; n < d.values.size() && n < per_dimension; ++n) {
      if (!out.empty()) out += ", ";
      out += fmt::format("{}={} {:.0f}%", d.dimension, d.values[n].value, d.values[n].share);
    }
  }
  return out;
}

std::string RootCauseText(const std::string& root_causes_json) {
  auto causes = rca::DecodeRootCauses(root_causes_json);
  if (!causes.ok()) return "";
  std::string out;
  for (const rca::CauseElement& c : *causes) {
    if (!out.empty()) out += "; ";
    out += rca::ElementText(c);
  }
  return out;
}

}  // namespace

Result<RunStats> RunBacktest(const BacktestRequest& r, store::Store& store) {
  const config::Detector& d = r.detector;
  std::optional<Instant> from = r.from ? r.from : d.history_start;
  if (!from) {
    return InvalidArgument(fmt::format(
        "detector '{}': say where the backtest starts: give --from or set history_start", d.name));
  }
  OSPREY_ASSIGN_OR_RETURN(IntervalGrid grid, IntervalGrid::Create(d.frequency, d.timezone));
  Instant to = r.to ? *r.to : grid.Floor(r.now);
  if (*from >= to) {
    return InvalidArgument(
        fmt::format("backtest range is empty: from {} is not before to {}", FormatIso(*from), FormatIso(to)));
  }
  OSPREY_ASSIGN_OR_RETURN(auto source, connectors::OpenSource(d));
  OSPREY_ASSIGN_OR_RETURN(auto runner, DetectorRunner::Create(d, r.config_text, store, *source));
  OSPREY_RETURN_IF_ERROR(runner->ResetFrom(grid.Floor(*from)));
  RunOptions options;
  options.alerts_enabled = r.alerts_enabled;
  options.chunk_intervals = r.chunk_intervals;
  // The run starts with ResetFrom: the models' states are saved with its
  // last chunk (or every kResumePointSeriesPoints), not with every chunk.
  options.resume_point_series_points = kResumePointSeriesPoints;
  // Without an end, the run stops after the last interval the source has
  // rows for: intervals after it are not data, and nothing is scored there.
  options.stop_at_data_end = !r.to;
  const int64_t total = static_cast<int64_t>(grid.Starts(*from, to).size());
  if (r.show_progress) {
    options.progress = [&](Instant next, const RunStats& s) {
      std::fprintf(stderr, "backtest %s: %lld/%lld intervals, %lld rows, %lld anomaly groups (next %s)\n",
                   d.name.c_str(), static_cast<long long>(s.intervals), static_cast<long long>(total),
                   static_cast<long long>(s.rows_read), static_cast<long long>(s.groups),
                   FormatIso(next).c_str());
    };
  }
  RunStats stats;
  OSPREY_RETURN_IF_ERROR(runner->Run(*from, to, options, &stats));
  return stats;
}

Result<Evaluation> Evaluate(store::Store& store, const std::string& detector,
                            const std::vector<DemoEvent>& events, int64_t interval_seconds,
                            double min_severity) {
  store::GroupQuery q;
  q.detector = detector;
  q.min_severity = min_severity;
  q.limit = 1 << 30;
  q.newest_first = false;
  OSPREY_ASSIGN_OR_RETURN(auto groups, store.ListGroups(q));
  Evaluation ev;
  ev.events = static_cast<int>(events.size());
  std::vector<bool> found(events.size(), false);
  // Incidents (measure, first interval) and the events each one found.
  std::map<std::pair<std::string, int64_t>, std::set<size_t>> incidents;
  for (const auto& g : groups) {
    OSPREY_ASSIGN_OR_RETURN(auto members, store.ListAnomalies(g.id));
    auto& matched = incidents[{g.measure, g.incident_ts}];
    for (size_t i = 0; i < events.size(); ++i) {
      const DemoEvent& e = events[i];
      if (g.ts < ToUnixSeconds(e.start) || g.ts >= ToUnixSeconds(e.end) + interval_seconds) continue;
      if (g.measure != e.measure && e.measure != "views") continue;
      bool in_slice = false;
      for (const auto& a : members) {
        if (a.severity < min_severity) continue;
        json dims = json::parse(a.dims, nullptr, false);
        bool ok = dims.is_object();
        for (const auto& [k, v] : e.scope) {
          // A series is in the slice when it matches each scoped dimension or
          // rolls it up.
          if (ok && dims.contains(k) && dims[k] != v) ok = false;
        }
        if (ok) {
          in_slice = true;
          break;
        }
      }
      if (in_slice) {
        matched.insert(i);
        found[i] = true;
      }
    }
  }
  ev.groups = static_cast<int>(incidents.size());
  for (const auto& [key, matched] : incidents) {
    if (!matched.empty()) ++ev.groups_true;
  }
  // Root causes of whole-platform / whole-marketplace events: found as ONE
  // incident of the event's measure whose root-cause set is that slice.
  q.incidents_only = true;
  OSPREY_ASSIGN_OR_RETURN(auto reps, store.ListGroups(q));
  std::map<std::pair<std::string, int64_t>, std::string> rep_causes;
  for (const auto& g : reps) rep_causes[{g.measure, g.incident_ts}] = g.root_causes;
  for (size_t i = 0; i < events.size(); ++i) {
    const DemoEvent& e = events[i];
    // Injected anomalies only: holidays and missing rows are labelled too,
    // but are not anomalies with a root cause to find.
    if (e.scope.size() != 1 || e.kind == "holiday" || e.kind == "missing_rows") continue;
    ++ev.slice_events;
    std::vector<std::pair<std::string, int64_t>> hits;
    for (const auto& [key, matched] : incidents) {
      if (key.first == e.measure && matched.count(i)) hits.push_back(key);
    }
    if (hits.size() != 1) continue;
    auto rc = rca::DecodeRootCauses(rep_causes[hits[0]]);
    if (rc.ok() && rc->size() == 1 && (*rc)[0].element.size() == 1) {
      const auto& [dim, value] = *e.scope.begin();
      auto it = (*rc)[0].element.find(dim);
      if (it != (*rc)[0].element.end() && it->second == value) ++ev.slice_events_exact;
    }
  }
  for (size_t i = 0; i < events.size(); ++i) {
    KindScore& k = ev.by_kind[events[i].kind];
    ++k.events;
    if (found[i]) {
      ++k.found;
      ++ev.events_found;
    } else {
      ev.missed.push_back(events[i].id);
    }
  }
  return ev;
}

void PrintGroupTable(const std::vector<store::GroupRecord>& groups, std::ostream& out) {
  // One row per group; its incident (the run of consecutive intervals with a
  // group of that measure) is shown as start and length.
  out << fmt::format("{:>6}  {:<20}  {:>5}  {:<10}  {:>8}  {:>9}  {:<44}  {}\n", "group", "incident start",
                     "hours", "measure", "severity", "anomalies", "top contributors", "root cause");
  for (const auto& g : groups) {
    int64_t start = g.incident_ts != 0 ? g.incident_ts : g.ts;
    int64_t end = g.incident_end_ts != 0 ? g.incident_end_ts : g.end_ts;
    out << fmt::format("{:>6}  {:<20}  {:>5.0f}  {:<10}  {:>8.1f}  {:>9}  {:<44}  {}\n", g.id,
                       FormatIso(FromUnixSeconds(start)), static_cast<double>(end - start) / 3600.0,
                       g.measure, g.incident_intervals != 0 ? g.incident_severity : g.severity,
                       g.anomaly_count, TopContributors(g.contributions, 1), RootCauseText(g.root_causes));
  }
}

Result<Evaluation> RunDemo(const DemoRequest& r, std::ostream& out) {
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  std::filesystem::create_directories(r.dir, ec);
  if (ec) return Unavailable(fmt::format("cannot create '{}': {}", r.dir, ec.message()));
  const std::string warehouse = (std::filesystem::path(r.dir) / "warehouse.db").string();
  const std::string truth = (std::filesystem::path(r.dir) / "ground_truth.csv").string();
  const std::string state = (std::filesystem::path(r.dir) / "state.db").string();

  DemoData data = GenerateDemoData(r.data);
  OSPREY_RETURN_IF_ERROR(WriteDemoWarehouse(data, warehouse));
  OSPREY_RETURN_IF_ERROR(WriteGroundTruth(data, truth));
  out << fmt::format(
      "Sample warehouse: {} ({} rows in ecommerce, {} platforms x {} marketplaces, {} to {})\n", warehouse,
      data.rows.size(), data.platforms.size(), data.marketplaces.size(), FormatIso(data.start),
      FormatIso(data.end));
  out << fmt::format("Ground truth:     {} ({} injected anomalies)\n", truth, data.events.size());

  OSPREY_ASSIGN_OR_RETURN(config::Detector d, config::LoadDetectorFile(r.config_path));
  std::ifstream in(r.config_path);
  std::stringstream text;
  text << in.rdbuf();
  // The detector reads the warehouse the demo just built.
  d.source.type = config::SourceType::kSqlite;
  d.source.path = warehouse;
  if (!d.source.connection_env.empty()) ::setenv(d.source.connection_env.c_str(), warehouse.c_str(), 1);

  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(state + suffix, ec);
  OSPREY_ASSIGN_OR_RETURN(auto store, store::OpenSqliteStore(state));
  BacktestRequest b;
  b.detector = d;
  b.config_text = text.str();
  b.from = data.start;
  b.to = data.end;
  b.now = data.end;
  auto t1 = std::chrono::steady_clock::now();
  OSPREY_ASSIGN_OR_RETURN(RunStats stats, RunBacktest(b, *store));
  auto t2 = std::chrono::steady_clock::now();
  out << fmt::format(
      "Detector '{}' ({}): {} intervals, {} rows read, {} rejected, {} series points scored, "
      "{} anomalies in {} groups, in {:.2f} s\n",
      d.name, r.config_path, stats.intervals, stats.rows_read, stats.rows_rejected, stats.points,
      stats.anomalies, stats.groups, std::chrono::duration<double>(t2 - t1).count());
  out << fmt::format("State store:      {}\n\n", state);

  store::GroupQuery q;
  q.detector = d.name;
  q.limit = r.max_groups_shown;
  q.newest_first = true;
  q.incidents_only = true;
  OSPREY_ASSIGN_OR_RETURN(auto groups, store->ListGroups(q));
  out << fmt::format("Most recent incidents (of {} anomaly groups):\n", stats.groups);
  PrintGroupTable(groups, out);

  // Missing rows are missing data, not anomalies: they are stored as
  // missing and never scored, so they are checked apart (none flagged).
  std::vector<DemoEvent> flaggable, gaps;
  for (const DemoEvent& e : data.events) (e.kind == "missing_rows" ? gaps : flaggable).push_back(e);
  OSPREY_ASSIGN_OR_RETURN(Evaluation ev,
                          Evaluate(*store, d.name, flaggable, d.frequency.NominalSeconds(), d.min_severity));
  out << fmt::format(
      "\nAgainst the ground truth: precision {:.3f} ({}/{} incidents belong to an injected anomaly), "
      "recall {:.3f} ({}/{} anomalies found), F1 {:.3f}\n",
      ev.precision(), ev.groups_true, ev.groups, ev.recall(), ev.events_found, ev.events, ev.f1());
  out << fmt::format(
      "Root cause: {}/{} whole-platform or whole-marketplace anomalies reported as one incident "
      "whose root-cause set is exactly that slice\n",
      ev.slice_events_exact, ev.slice_events);
  for (const auto& [kind, k] : ev.by_kind) {
    out << fmt::format("  {:<12} {}/{} found\n", kind, k.found, k.events);
  }
  if (!gaps.empty()) {
    OSPREY_ASSIGN_OR_RETURN(Evaluation g,
                            Evaluate(*store, d.name, gaps, d.frequency.NominalSeconds(), d.min_severity));
    out << fmt::format("  missing rows {}/{} gaps flagged (missing data is never scored: 0 is right)\n",
                       g.events_found, g.events);
  }
  out << "By alert threshold (groups at least this severe):\n";
  for (double threshold : {60.0, 70.0, 80.0, 90.0}) {
    if (threshold < d.min_severity) continue;
    OSPREY_ASSIGN_OR_RETURN(Evaluation at,
                            Evaluate(*store, d.name, flaggable, d.frequency.NominalSeconds(), threshold));
    out << fmt::format("  severity >= {:.0f}: precision {:.3f}, recall {:.3f}, F1 {:.3f}\n", threshold,
                       at.precision(), at.recall(), at.f1());
  }
  out << fmt::format("Demo finished in {:.2f} s.\n",
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return ev;
}

}  // namespace osprey::app
