// scale_bench: how osprey's end-to-end path (source query, aggregation, model,
// state store) scales with the number of series. For each size it builds its
// own SQLite warehouse (one dimension `item` with N values, one SUM measure,
// hourly rows, a few injected spikes), then, each in a child process so that
// peak RSS is that run's own:
//   backtest  `osprey backtest` over H hours into a fresh SQLite state
//             (wall time, series-points/s, CPU seconds, peak RSS);
//   live      one more interval in a fresh process, as `osprey serve --once`
//             does it: open the state, load every series and model, process
//             the interval with alerts on, commit (start-up and interval
//             seconds, peak RSS).
// Then the state's size on disk over the points it holds (bytes per stored
// point): the whole file, everything included (model states, anomalies ...),
// and the point tables alone (`points` and `point_blocks`, from SQLite's
// dbstat). Orders are counts, so the warehouse holds whole orders; --doubles
// keeps the generator's full-precision noise instead (every value an
// arbitrary double, which the store keeps exactly and cannot pack as
// tightly). Prints figures; not a timed test.
//
// Last, the list queries of the API and CLI (group and incident pages, a
// group's anomalies, a 90-day chart) against a state of N anomalies: p50 and
// p99 ms.
//
//   scale_bench [--sizes 1000x168,10000x168] [--lists N] [--full] [--doubles] [--dir DIR] [--keep]
//               [--live-only]
//
// --keep: leave the warehouse, the state and a copy of the state as the
// backtest left it in DIR. --live-only (implies --keep): measure only the
// live interval again, on a copy of that kept backtest state (the same
// sizes and DIR as the run with --keep).
// --lists: anomalies in the list state (default 100k; 1M with --full; 0 skips).
// --sizes: comma-separated SERIESxHOURS. Default: 1k and 10k series over one
// week and 100k over one day (a few minutes). --full: 1k, 10k and 100k over
// one week and 1M over six hours (the figures of issue 16; tens of minutes).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sqlite3.h>

#include "bench/measure.h"
#include "osprey/app/backtest.h"
#include "osprey/app/pipeline.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/source.h"
#include "osprey/connectors/sqlite_source.h"
#include "osprey/store/store.h"

using namespace osprey;

namespace {

constexpr int64_t kStart = 1704067200;  // 2024-01-01T00:00:00Z

struct Size {
  int64_t series = 0;
  int64_t hours = 0;
};

// What a child process reports back through a pipe.
struct ChildFigures {
  double seconds = 0;        // the timed part
  double setup_seconds = 0;  // live: opening the state and loading the models
  int64_t points = 0;        // series points processed (scored + missing)
  int ok = 0;
};

struct ChildRun {
  ChildFigures figures;
  double wall = 0;  // the whole child, seen from the parent
  double cpu = 0;   // user + system
  long peak_rss_kb = 0;
};

// Runs `fn` in a child process; its figures come back through a pipe.
ChildRun RunChild(const std::function<ChildFigures()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    ChildFigures f = fn();
    if (write(fds[1], &f, sizeof f) != static_cast<ssize_t>(sizeof f)) _exit(3);
    _exit(f.ok ? 0 : 1);
  }
  close(fds[1]);
  ChildRun r;
  if (read(fds[0], &r.figures, sizeof r.figures) != static_cast<ssize_t>(sizeof r.figures)) {
    r.figures.ok = 0;
  }
  close(fds[0]);
  int status = 0;
  rusage u{};
  wait4(pid, &status, 0, &u);
  r.wall = bench::Seconds(start);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  r.cpu = secs(u.ru_utime) + secs(u.ru_stime);
  r.peak_rss_kb = u.ru_maxrss;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) r.figures.ok = 0;
  return r;
}

std::string ItemName(int64_t i) { return fmt::format("i{:07d}", i); }

// Whole orders (counts), or the generator's arbitrary doubles (--doubles).
bool g_doubles = false;

// hours + 1 hours of rows: the last hour is the live interval.
Status BuildWarehouse(const std::string& path, Size size) {
  OSPREY_ASSIGN_OR_RETURN(auto db, connectors::SqliteWriter::Open(path));
  OSPREY_RETURN_IF_ERROR(
      db->Execute("pragma journal_mode=off; pragma synchronous=off; "
                  "create table t(ts integer not null, item text not null, orders real)"));
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(size.series));
  for (int64_t i = 0; i < size.series; ++i) names.push_back(ItemName(i));
  uint64_t rng = 0x9e3779b97f4a7c15ULL;
  std::vector<std::vector<Cell>> rows;
  for (int64_t h = 0; h <= size.hours; ++h) {
    rows.clear();
    rows.reserve(static_cast<size_t>(size.series));
    const int64_t ts = kStart + h * 3600;
    const double daily = 1 + 0.4 * std::sin(2 * M_PI * static_cast<double>(h % 24) / 24);
    for (int64_t i = 0; i < size.series; ++i) {
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      const double noise = (static_cast<double>(rng >> 11) / 9007199254740992.0 - 0.5) * 0.2;
      double v = (50 + static_cast<double>(i % 97)) * daily * (1 + noise);
      // One series in 1,000 spikes once, late enough for its model to score.
      if (i % 1000 == 7 && h == size.hours * 3 / 4) v *= 5;
      if (!g_doubles) v = std::round(v);
      rows.push_back({Cell::Integer(ts), Cell::Text(names[static_cast<size_t>(i)]), Cell::Real(v)});
    }
    OSPREY_RETURN_IF_ERROR(db->InsertRows("insert into t values (?, ?, ?)", rows));
  }
  return db->Execute("create index t_by_ts on t(ts)");
}

std::string DetectorText(const std::string& warehouse) {
  return fmt::format(
      "name: scale\nfrequency: PT1H\ntimezone: UTC\n"
      "source: {{type: sqlite, path: {}}}\n"
      "query: select ts, item, orders from t where ts >= {{{{interval_start}}}} and ts < "
      "{{{{interval_end}}}}\n"
      "timestamp: {{column: ts, format: epoch}}\n"
      "dimensions: [item]\n"
      "measures: [{{name: orders, aggregation: SUM}}]\n",
      warehouse);
}

ChildFigures Backtest(const std::string& text, const std::string& state, Size size) {
  ChildFigures f;
  auto d = config::LoadDetector(text, "scale.yaml");
  auto st = store::OpenSqliteStore(state);
  if (!d.ok() || !st.ok()) {
    std::fprintf(stderr, "scale_bench: %s\n", (d.ok() ? st.status() : d.status()).ToString().c_str());
    return f;
  }
  app::BacktestRequest r;
  r.detector = *d;
  r.config_text = text;
  r.from = FromUnixSeconds(kStart);
  r.to = FromUnixSeconds(kStart + size.hours * 3600);
  const auto start = std::chrono::steady_clock::now();
  auto stats = app::RunBacktest(r, **st);
  f.seconds = bench::Seconds(start);
  if (!stats.ok()) {
    std::fprintf(stderr, "scale_bench: backtest: %s\n", stats.status().ToString().c_str());
    return f;
  }
  f.points = stats->points + stats->points_missing;
  f.ok = 1;
  return f;
}

ChildFigures Live(const std::string& text, const std::string& state, Size size) {
  ChildFigures f;
  const auto start = std::chrono::steady_clock::now();
  auto d = config::LoadDetector(text, "scale.yaml");
  if (!d.ok()) return f;
  auto st = store::OpenSqliteStore(state);
  if (!st.ok()) return f;
  auto source = connectors::OpenSource(*d);
  if (!source.ok()) return f;
  auto runner = app::DetectorRunner::Create(*d, text, **st, **source);
  if (!runner.ok()) {
    std::fprintf(stderr, "scale_bench: live: %s\n", runner.status().ToString().c_str());
    return f;
  }
  f.setup_seconds = bench::Seconds(start);
  const auto interval = std::chrono::steady_clock::now();
  app::RunOptions o;
  o.chunk_intervals = 1;
  o.alerts_enabled = true;
  app::RunStats stats;
  const int64_t ts = kStart + size.hours * 3600;
  Status s = (*runner)->Run(FromUnixSeconds(ts), FromUnixSeconds(ts + 3600), o, &stats);
  f.seconds = bench::Seconds(interval);
  if (!s.ok()) {
    std::fprintf(stderr, "scale_bench: live: %s\n", s.ToString().c_str());
    return f;
  }
  f.points = stats.points + stats.points_missing;
  f.ok = 1;
  return f;
}

int64_t FileBytes(const std::string& path) {
  int64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto n = std::filesystem::file_size(path + suffix, ec);
    if (!ec) total += static_cast<int64_t>(n);
  }
  return total;
}

// Bytes of the point tables (`points`, `point_blocks` where present) in the
// SQLite file at `path`; -1 when SQLite has no dbstat.
int64_t PointTableBytes(const std::string& path) {
  sqlite3* db = nullptr;
  int64_t bytes = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "select sum(pgsize) from dbstat where name in ('points', 'point_blocks')", -1,
                           &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      bytes = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return bytes;
}

int RunSize(Size size, const std::string& dir, bool keep, bool live_only) {
  const std::string base = fmt::format("{}/scale_{}x{}", dir, size.series, size.hours);
  const std::string warehouse = base + "_warehouse.db", state = base + "_state.db";
  auto cleanup = [&] {
    for (const std::string& p : {warehouse, state, base + "_backtest_state.db"}) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p + suffix);
    }
  };
  // The state as the backtest left it (--keep), for --live-only.
  const std::string backtest_state = base + "_backtest_state.db";
  const std::string text = DetectorText(warehouse);
  double pts = 0;
  if (live_only) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(state + suffix, ec);
    if (!std::filesystem::copy_file(backtest_state, state, ec) || !std::filesystem::exists(warehouse)) {
      std::fprintf(stderr, "scale_bench: --live-only wants %s and %s from a run with --keep\n",
                   warehouse.c_str(), backtest_state.c_str());
      return 1;
    }
    sync();  // the copy's writes are not the live interval's
    std::printf("%lld series x %lld hours: the kept backtest's state\n", static_cast<long long>(size.series),
                static_cast<long long>(size.hours));
    pts = static_cast<double>(size.series * size.hours);
  } else {
    cleanup();
    auto t0 = std::chrono::steady_clock::now();
    if (Status s = BuildWarehouse(warehouse, size); !s.ok()) {
      std::fprintf(stderr, "scale_bench: warehouse: %s\n", s.ToString().c_str());
      return 1;
    }
    std::printf("%lld series x %lld hours: warehouse built in %.1f s\n", static_cast<long long>(size.series),
                static_cast<long long>(size.hours), bench::Seconds(t0));
    std::fflush(stdout);
    ChildRun bt = RunChild([&] { return Backtest(text, state, size); });
    if (!bt.figures.ok) {
      std::fprintf(stderr, "scale_bench: the backtest failed\n");
      return 1;
    }
    pts = static_cast<double>(bt.figures.points);
    std::printf(
        "  backtest: %.1f s wall (%.1f s in the run), %lld series points, %.0f k series-points/s "
        "wall, %.0f k/s per CPU second (%.1f CPU s), peak RSS %ld MiB\n",
        bt.wall, bt.figures.seconds, static_cast<long long>(bt.figures.points),
        pts / bt.figures.seconds / 1e3, pts / bt.cpu / 1e3, bt.cpu, bt.peak_rss_kb / 1024);
    std::fflush(stdout);
    if (keep) {
      // Fold the WAL into the file, then keep a copy for --live-only.
      auto st = store::OpenSqliteStore(state);
      if (st.ok()) st->reset();
      std::error_code ec;
      std::filesystem::copy_file(state, backtest_state, std::filesystem::copy_options::overwrite_existing,
                                 ec);
    }
  }
  ChildRun live = RunChild([&] { return Live(text, state, size); });
  if (!live.figures.ok) {
    std::fprintf(stderr, "scale_bench: the live interval failed\n");
    return 1;
  }
  std::printf(
      "  live interval: %.2f s (start-up %.2f s loading the state, then %.2f s for the "
      "interval's %lld series points; %.2f CPU s in all), peak RSS %ld MiB\n",
      live.figures.setup_seconds + live.figures.seconds, live.figures.setup_seconds, live.figures.seconds,
      static_cast<long long>(live.figures.points), live.cpu, live.peak_rss_kb / 1024);
  {
    // Fold the WAL into the file so the size is the state's.
    auto st = store::OpenSqliteStore(state);
    if (st.ok()) st->reset();
  }
  const int64_t bytes = FileBytes(state);
  const double stored = pts + static_cast<double>(live.figures.points);
  const int64_t point_bytes = PointTableBytes(state);
  std::printf(
      "  state: %.1f MB for %.0f stored points = %.1f bytes per point (whole file); point tables %.1f MB = "
      "%.2f bytes per point (%s values)\n",
      static_cast<double>(bytes) / 1e6, stored, static_cast<double>(bytes) / stored,
      static_cast<double>(point_bytes) / 1e6, static_cast<double>(point_bytes) / stored,
      g_doubles ? "arbitrary double" : "whole-number");
  std::fflush(stdout);
  if (!keep) cleanup();
  return 0;
}

// Milliseconds per call of `fn`, `n` calls: p50 and p99.
std::pair<double, double> Percentiles(int n, const std::function<bool(int)>& fn) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (!fn(i)) return {-1, -1};
    ms.push_back(bench::Seconds(start) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

// The store's list queries with `anomalies` anomalies: 25 per group, two
// measures every hour; measure "a" is ONE incident over every hour (the
// worst case for incident figures), "b" an incident every three hours. A
// few series also get hourly points for a 90-day chart. Prints p50/p99 ms
// of the queries the API and CLI run for one page.
int RunLists(int64_t anomalies, const std::string& dir, bool keep) {
  const std::string state = fmt::format("{}/scale_lists_{}.db", dir, anomalies);
  auto cleanup = [&] {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(state + suffix);
  };
  cleanup();
  auto opened = store::OpenSqliteStore(state);
  if (!opened.ok()) return 1;
  store::Store& st = **opened;
  const int64_t d = *st.UpsertDetector("lists", "name: lists");
  constexpr int kPerGroup = 25, kSeries = 100;
  std::vector<int64_t> ids;
  for (int i = 0; i < kSeries; ++i) {
    const std::string measure = i % 2 == 0 ? "a" : "b";
    ids.push_back(*st.EnsureSeries(d, measure, fmt::format(R"({{"item":"i{}"}})", i),
                                   fmt::format("{}{{item=i{}}}", measure, i)));
  }
  const int64_t hours = anomalies / (2 * kPerGroup);
  const auto build = std::chrono::steady_clock::now();
  for (int64_t h0 = 0; h0 < hours; h0 += 168) {
    store::ChunkResult c;
    c.detector_id = d;
    c.first_ts = kStart + h0 * 3600;
    const int64_t h1 = std::min(hours, h0 + 168);
    c.next_watermark = kStart + h1 * 3600;
    for (int64_t h = h0; h < h1; ++h) {
      const int64_t ts = kStart + h * 3600;
      for (int m = 0; m < 2; ++m) {
        store::GroupRecord g;
        g.measure = m == 0 ? "a" : "b";
        g.ts = ts;
        g.end_ts = ts + 3600;
        g.severity = 50 + static_cast<double>((h * 7 + m * 13) % 50);
        g.anomaly_count = kPerGroup;
        g.contributions = "{}";
        g.root_causes = "[]";
        g.related = "[]";
        g.incident_ts = m == 0 ? kStart : kStart + (h / 3) * 3 * 3600;
        const int64_t index = static_cast<int64_t>(c.groups.size());
        c.groups.push_back(g);
        for (int k = 0; k < kPerGroup; ++k) {
          store::AnomalyRecord a;
          a.series_id = ids[static_cast<size_t>((k * 2 + m) % kSeries)];
          a.ts = ts;
          a.value = 10;
          a.expected = 5;
          a.lower = 4;
          a.upper = 6;
          a.severity = g.severity;
          a.direction = "up";
          a.explanation = "spike";
          a.group_index = index;
          c.anomalies.push_back(a);
        }
      }
      for (int64_t id : ids) {
        const double v = 100 + static_cast<double>(h % 24);
        c.points.push_back({id, ts, v, v, v - 5, v + 5, 10.0});
      }
    }
    if (Status s = st.CommitChunk(c); !s.ok()) {
      std::fprintf(stderr, "scale_bench: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  const auto totals = *st.Totals();
  std::printf("lists: %lld anomalies in %lld groups, %lld hours; state built in %.1f s\n",
              static_cast<long long>(totals.anomalies), static_cast<long long>(totals.groups),
              static_cast<long long>(hours), bench::Seconds(build));
  uint64_t rng = 42;
  auto offset = [&](int64_t total) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int64_t>((rng >> 33) % static_cast<uint64_t>(std::max<int64_t>(total - 50, 1)));
  };
  auto page = [&](const char* what, store::GroupQuery q, bool deep) {
    q.limit = 50;
    const int64_t total = *st.CountGroups(q);
    auto [p50, p99] = Percentiles(200, [&](int i) {
      q.offset = deep ? offset(total) : (i % 5) * 50;
      return st.CountGroups(q).ok() && st.ListGroups(q).ok();
    });
    std::printf("  %-58s p50 %7.2f ms  p99 %7.2f ms\n", what, p50, p99);
  };
  store::GroupQuery q;
  q.incidents_only = true;
  page("incidents, newest first, pages 1-5 (count + page)", q, false);
  page("incidents, newest first, any page", q, true);
  q.by_severity = true;
  page("incidents, most severe first, pages 1-5", q, false);
  q = {};
  page("groups, newest first, pages 1-5", q, false);
  page("groups, newest first, any page", q, true);
  q.by_severity = true;
  page("groups, most severe first, pages 1-5", q, false);
  q = {};
  q.measure = "a";
  q.since = kStart + hours / 2 * 3600;
  page("groups of one measure from a time on, pages 1-5", q, false);
  auto groups = *st.ListGroups(store::GroupQuery{});
  auto [a50, a99] = Percentiles(
      200, [&](int i) { return st.ListAnomalies(groups[static_cast<size_t>(i) % groups.size()].id).ok(); });
  std::printf("  %-58s p50 %7.2f ms  p99 %7.2f ms\n", "one group's anomalies", a50, a99);
  const int64_t end = kStart + hours * 3600;
  auto [c50, c99] = Percentiles(200, [&](int i) {
    auto points = st.ListPoints(ids[static_cast<size_t>(i) % ids.size()], end - 90 * 86400, end);
    return points.ok() && !points->empty();
  });
  std::printf("  %-58s p50 %7.2f ms  p99 %7.2f ms\n", "90-day chart of one series (ListPoints)", c50, c99);
  opened->reset();
  if (!keep) cleanup();
  return 0;
}

bool ParseSizes(const std::string& arg, std::vector<Size>* out) {
  size_t pos = 0;
  while (pos < arg.size()) {
    size_t comma = arg.find(',', pos);
    if (comma == std::string::npos) comma = arg.size();
    const std::string item = arg.substr(pos, comma - pos);
    long long s = 0, h = 0;
    if (std::sscanf(item.c_str(), "%lldx%lld", &s, &h) != 2 || s <= 0 || h <= 0) return false;
    out->push_back({s, h});
    pos = comma + 1;
  }
  return !out->empty();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Size> sizes;
  std::string dir = std::filesystem::temp_directory_path().string();
  bool keep = false, full = false, live_only = false;
  int64_t lists = -1;  // anomalies in the list benchmark's state; -1: default
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--sizes" && i + 1 < argc) {
      if (!ParseSizes(argv[++i], &sizes)) {
        std::fprintf(stderr, "scale_bench: --sizes wants SERIESxHOURS[,...], e.g. 1000x168\n");
        return 2;
      }
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--lists" && i + 1 < argc) {
      lists = std::atoll(argv[++i]);
    } else if (a == "--full") {
      full = true;
    } else if (a == "--keep") {
      keep = true;
    } else if (a == "--live-only") {
      live_only = keep = true;
    } else if (a == "--doubles") {
      g_doubles = true;
    } else {
      std::fprintf(
          stderr,
          "usage: scale_bench [--sizes SERIESxHOURS,...] [--lists N] [--full] [--doubles] [--dir DIR] "
          "[--keep] [--live-only]\n");
      return 2;
    }
  }
  if (sizes.empty()) {
    sizes = full ? std::vector<Size>{{1000, 168}, {10000, 168}, {100000, 168}, {1000000, 6}}
                 : std::vector<Size>{{1000, 168}, {10000, 168}, {100000, 24}};
  }
  for (Size s : sizes) {
    if (int rc = RunSize(s, dir, keep, live_only); rc != 0) return rc;
  }
  if (lists < 0) lists = full ? 1000000 : 100000;
  return lists > 0 ? RunLists(lists, dir, keep) : 0;
}
