// Soak test of `osprey serve` (`make soak`; not part of `make test`): the
// test build of the binary (osprey_testbin) runs 20 detectors on one demo
// warehouse on an accelerated testing clock for --minutes (default 30). Every
// --outage-every seconds a writer holds the warehouse locked for --outage-for
// seconds (every query fails as Unavailable, the detectors retry with
// backoff); every --restart-every
// seconds serve is stopped — by SIGTERM and by SIGKILL in turn — and started
// again where its clock stood. Every 10 s it prints the server's RSS and open
// file descriptors. At the end one `serve --once` processes what is still
// due, and the program checks:
//  - flat: within each run of the server, RSS and descriptors at its end are
//    within a bound of what they were once the backfill was over, and the
//    last run ends no higher than the first (bounds in the verdict lines);
//  - nothing lost or repeated: every detector has every hourly interval from
//    history_start to its watermark exactly once, all watermarks are equal,
//    and the 20 detectors — killed, restarted and cut off at different points
//    of their work — stored identical points.
// Exit 0 when every check holds, 1 otherwise.
//   osprey_soak [--minutes 30] [--speed 1200] [--restart-every 300]
//               [--outage-every 150] [--outage-for 45] [--keep DIR]
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "osprey/app/demo_data.h"
#include "osprey/connectors/sqlite_source.h"
#include "osprey/store/store.h"
#include "osprey/testing/clock.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"
#include "osprey/testing/process.h"

namespace osprey {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using testing::ScaledClock;

constexpr int kDetectors = 20;

struct Options {
  double minutes = 30;
  double speed = 1200;  // 30 minutes: 25 days of hourly intervals
  int restart_every = 300;
  int outage_every = 150;
  int outage_for = 45;
  std::string keep;  // run in this directory and keep it
};

struct Sample {
  double at_s;  // since the soak started
  int run;      // which start of the server
  int64_t rss_kb;
  int fds;
};

int64_t RssKb(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

int OpenFds(pid_t pid) {
  std::error_code ec;
  int n = 0;
  for (auto it = fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

int Run(const Options& opt) {
  std::optional<testing::TempDir> tmp;
  std::string dir = opt.keep;
  if (dir.empty()) {
    tmp.emplace("osprey_soak_");
    dir = tmp->path().string();
  }
  fs::create_directories(dir + "/conf");
  const double live_days = opt.minutes * 60 * opt.speed / 86400;
  app::DemoOptions demo;
  demo.days = 28 + static_cast<int64_t>(live_days) + 3;
  const std::string warehouse = dir + "/warehouse.db";
  auto w = testing::MakeDemoWarehouse(demo, warehouse);
  if (!w.ok()) {
    std::fprintf(stderr, "soak: %s\n", w.status().ToString().c_str());
    return 1;
  }
  const app::DemoData& data = w->data;
  // 20 copies of examples/ecommerce.yaml, backfilling 28 days.
  for (int i = 1; i <= kDetectors; ++i) {
    std::ifstream in(testing::ExampleDetectorPath());
    std::ofstream out(fmt::format("{}/conf/soak-{:02}.yaml", dir, i));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("name:", 0) == 0) line = fmt::format("name: soak-{:02}", i);
      if (line.rfind("  path:", 0) == 0) line = "  path: " + warehouse;
      if (line.rfind("  connection_env:", 0) == 0) continue;
      out << line << "\n";
      if (line.rfind("offset:", 0) == 0) out << "history_start: " << FormatIso(data.start) << "\n";
    }
  }
  const std::string state = dir + "/state.db";
  const std::vector<std::string> serve = {"serve",  "--config", dir + "/conf", "--state", state,
                                          "--port", "0"};
  std::printf(
      "soak: %d detectors, %.0f minutes at %gx (%.1f days of live intervals after a 28-day backfill), "
      "restart every %d s, outage of %d s every %d s; in %s\n",
      kDetectors, opt.minutes, opt.speed, live_days, opt.restart_every, opt.outage_for, opt.outage_every,
      dir.c_str());
  std::printf("%8s %4s %10s %5s  %s\n", "t_s", "run", "rss_kb", "fds", "event");
  std::fflush(stdout);

  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  Instant clock_at = data.start + hours(24 * 28);
  int run = 0;
  int64_t origin = ScaledClock::WallMillis();
  const std::string log = dir + "/serve.log";
  // The clock continues from `clock_at` at the wall-clock instant `origin`.
  pid_t pid = testing::SpawnTestbin(OSPREY_TESTBIN, {clock_at, opt.speed, origin}, serve, log);
  std::vector<Sample> samples;
  std::vector<double> run_started = {0};
  double next_restart = opt.restart_every, next_outage = opt.outage_every, outage_ends = -1;
  bool kill_next = false;
  std::unique_ptr<connectors::SqliteWriter> lock;  // held during an outage
  int outages = 0, restarts = 0;
  std::string event = "start";
  while (elapsed() < opt.minutes * 60) {
    std::this_thread::sleep_for(std::chrono::seconds(10));
    const double now = elapsed();
    // No outage begins in the last minutes, so the final run sees every source.
    if (outage_ends < 0 && now >= next_outage && now + opt.outage_for + 120 < opt.minutes * 60) {
      lock = std::move(connectors::SqliteWriter::Open(warehouse)).value();
      // Busy while a query reads; the lock is taken between two queries.
      while (!lock->Execute("begin exclusive").ok())
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      outage_ends = now + opt.outage_for;
      next_outage += opt.outage_every;
      ++outages;
      event += " outage-begins";
    } else if (outage_ends >= 0 && now >= outage_ends) {
      (void)lock->Execute("rollback");
      lock.reset();
      outage_ends = -1;
      event += " outage-ends";
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      std::printf("soak: serve exited by itself (status %d); see %s/serve.log\n", status, dir.c_str());
      return 1;
    }
    samples.push_back({now, run, RssKb(pid), OpenFds(pid)});
    std::printf("%8.0f %4d %10lld %5d  %s\n", now, run, static_cast<long long>(samples.back().rss_kb),
                samples.back().fds, event.c_str());
    std::fflush(stdout);
    event.clear();
    if (now >= next_restart && now + 30 < opt.minutes * 60) {
      const int64_t at_ms = ScaledClock::WallMillis();
      kill(pid, kill_next ? SIGKILL : SIGTERM);
      waitpid(pid, &status, 0);
      clock_at = ScaledClock(clock_at, origin, opt.speed).At(at_ms);
      event = kill_next ? "SIGKILL+restart" : "SIGTERM+restart";
      kill_next = !kill_next;
      ++restarts;
      ++run;
      run_started.push_back(now);
      origin = ScaledClock::WallMillis();
      pid = testing::SpawnTestbin(OSPREY_TESTBIN, {clock_at, opt.speed, origin}, serve, log);
      next_restart += opt.restart_every;
    }
  }
  const int64_t end_ms = ScaledClock::WallMillis();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  lock.reset();
  clock_at = ScaledClock(clock_at, origin, opt.speed).At(end_ms);
  // What is due at the final clock, in one scripted run.
  const pid_t once =
      testing::SpawnTestbin(OSPREY_TESTBIN, {clock_at, opt.speed, std::nullopt},
                            {"serve", "--config", dir + "/conf", "--state", state, "--once"}, log);
  waitpid(once, &status, 0);
  std::printf("soak: %d restarts, %d outages; clock at %s; final serve --once exit %d\n", restarts, outages,
              FormatIso(clock_at).c_str(), WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  // Flat: per run, the samples after its first 120 s (the backfill and the
  // first model growth) against the run's last sample.
  std::map<int, std::vector<Sample>> by_run;
  for (const auto& s : samples) by_run[s.run].push_back(s);
  std::vector<int64_t> run_end_rss;
  for (const auto& [r, ss] : by_run) {
    std::vector<Sample> settled;
    for (const auto& s : ss) {
      if (s.at_s - run_started[static_cast<size_t>(r)] >= 120) settled.push_back(s);
    }
    if (settled.size() < 2) continue;
    const Sample& first = settled.front();
    const Sample& last = settled.back();
    const int64_t rss_bound = first.rss_kb + first.rss_kb / 5 + 16 * 1024;
    const int fd_bound = first.fds + 4;
    const bool flat = last.rss_kb <= rss_bound && last.fds <= fd_bound;
    std::printf("run %d: rss %lld -> %lld kB (bound %lld), fds %d -> %d (bound %d) over %.0f s: %s\n", r,
                static_cast<long long>(first.rss_kb), static_cast<long long>(last.rss_kb),
                static_cast<long long>(rss_bound), first.fds, last.fds, fd_bound, last.at_s - first.at_s,
                flat ? "flat" : "GROWS");
    ok = ok && flat;
    run_end_rss.push_back(last.rss_kb);
  }
  if (run_end_rss.size() >= 2) {
    const int64_t bound = run_end_rss.front() + run_end_rss.front() / 5 + 16 * 1024;
    const bool flat = run_end_rss.back() <= bound;
    std::printf("across runs: first run ended at %lld kB, last at %lld kB (bound %lld): %s\n",
                static_cast<long long>(run_end_rss.front()), static_cast<long long>(run_end_rss.back()),
                static_cast<long long>(bound), flat ? "flat" : "GROWS");
    ok = ok && flat;
  } else {
    std::printf("soak: fewer than two runs lasted over 120 s; flatness across runs not measured\n");
    ok = false;
  }

  // Nothing lost or repeated.
  auto store = store::OpenSqliteStore(state);
  if (!store.ok()) {
    std::printf("soak: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::optional<int64_t> common_wm;
  std::vector<std::string> reference;
  for (int i = 1; i <= kDetectors; ++i) {
    const std::string name = fmt::format("soak-{:02}", i);
    auto d = (*store)->GetDetector(name);
    auto wm = d.ok() ? (*store)->GetWatermark(d->id) : Result<std::optional<int64_t>>(d.status());
    if (!wm.ok() || !*wm) {
      std::printf("%s: no watermark\n", name.c_str());
      ok = false;
      continue;
    }
    auto quality = *(*store)->ListQuality(d->id, 0, 1LL << 40);
    int64_t gaps = 0, repeats = 0;
    int64_t expect = ToUnixSeconds(data.start);
    for (const auto& q : quality) {
      if (q.ts < expect) ++repeats;
      if (q.ts > expect) gaps += (q.ts - expect) / 3600;
      expect = q.ts + 3600;
    }
    const int64_t want = (**wm - ToUnixSeconds(data.start)) / 3600;
    std::vector<std::string> points;
    for (const auto& s : *(*store)->ListSeries(d->id)) {
      for (const auto& p : *(*store)->ListPoints(s.id, 0, 1LL << 40)) {
        points.push_back(fmt::format("{} {} {} {} {}", s.label, p.ts, p.value.value_or(-1),
                                     p.expected.value_or(-1), p.severity.value_or(-1)));
      }
    }
    if (i == 1) reference = points;
    const bool same = points == reference;
    const bool good = gaps == 0 && repeats == 0 && static_cast<int64_t>(quality.size()) == want &&
                      (!common_wm || *common_wm == **wm) && same;
    if (!common_wm) common_wm = **wm;
    std::printf("%s: watermark %s, %zu intervals of %lld, %lld missing, %lld repeated, %zu points%s: %s\n",
                name.c_str(), FormatIso(FromUnixSeconds(**wm)).c_str(), quality.size(),
                static_cast<long long>(want), static_cast<long long>(gaps), static_cast<long long>(repeats),
                points.size(), same ? " (same as soak-01)" : " (DIFFER from soak-01)",
                good ? "ok" : "FAILED");
    ok = ok && good;
  }
  std::printf("soak: %s\n", ok ? "passed" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace osprey

int main(int argc, char** argv) {
  osprey::Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--minutes") o.minutes = std::atof(v);
    else if (flag == "--speed") o.speed = std::atof(v);
    else if (flag == "--restart-every") o.restart_every = std::atoi(v);
    else if (flag == "--outage-every") o.outage_every = std::atoi(v);
    else if (flag == "--outage-for") o.outage_for = std::atoi(v);
    else if (flag == "--keep") o.keep = v;
    else {
      std::fprintf(stderr, "osprey_soak: unknown flag %s (see tests/soak.cc)\n", flag.c_str());
      return 2;
    }
  }
  return osprey::Run(o);
}
