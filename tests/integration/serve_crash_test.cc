// Crash test of `osprey serve`: the real binary runs a backfill and then a
// live schedule on an accelerated testing clock (OSPREY_FAKE_CLOCK_*), and
// is killed with SIGKILL at random moments (fixed seed) — during the
// backfill and during live intervals — and restarted each time. The stored
// points, anomalies and groups must then equal those of an uninterrupted
// run, with every interval present exactly once.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "osprey/app/demo_data.h"
#include "osprey/base/clock.h"
#include "osprey/store/store.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

struct Clock {
  std::string start;
  double speed;
  int64_t origin_ms;
};

// Starts `osprey serve` and returns its pid.
pid_t Spawn(const std::vector<std::string>& args, const Clock& c, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    setenv("OSPREY_FAKE_CLOCK_START", c.start.c_str(), 1);
    setenv("OSPREY_FAKE_CLOCK_SPEED", fmt::format("{}", c.speed).c_str(), 1);
    setenv("OSPREY_FAKE_CLOCK_ORIGIN", fmt::format("{}", c.origin_ms).c_str(), 1);
    std::vector<char*> argv;
    std::string bin = OSPREY_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// Kills `pid` with SIGKILL after `ms` unless it exits first; true if killed.
bool KillAfter(pid_t pid, int ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

int WaitExit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string> Contents(const std::string& path, int64_t* intervals) {
  auto store = std::move(store::OpenSqliteStore(path)).value();
  std::vector<std::string> out;
  store::GroupQuery q;
  q.limit = 1 << 30;
  q.newest_first = false;
  for (const auto& g : *store->ListGroups(q)) {
    out.push_back(fmt::format("G {} {} {:.9f} {} {} {}", g.measure, g.ts, g.severity, g.anomaly_count,
                              g.contributions, g.root_causes));
    for (const auto& a : *store->ListAnomalies(g.id)) {
      out.push_back(fmt::format("A {} {} {:.9f} {:.9f} {:.9f} {}", a.label, a.ts, a.value, a.expected,
                                a.severity, a.direction));
    }
  }
  auto d = *store->GetDetector("ecommerce");
  for (const auto& s : *store->ListSeries(d.id)) {
    for (const auto& p : *store->ListPoints(s.id, 0, 1LL << 40)) {
      out.push_back(fmt::format("P {} {} {} {} {}", s.label, p.ts, p.value.value_or(-1),
                                p.expected.value_or(-1), p.severity.value_or(-1)));
    }
  }
  auto quality = *store->ListQuality(d.id, 0, 1LL << 40);
  for (size_t i = 1; i < quality.size(); ++i) {
    EXPECT_EQ(quality[i].ts - quality[i - 1].ts, 3600) << path << ": interval lost or repeated";
  }
  *intervals = static_cast<int64_t>(quality.size());
  return out;
}

TEST(ServeCrash, SigkillAtRandomMomentsLosesAndRepeatsNothing) {
  const testing::TempDir tmp("osprey_crash_");
  const fs::path& dir = tmp.path();
  fs::create_directories(dir / "conf");
  app::DemoOptions o;
  o.days = 42;
  auto w = testing::MakeDemoWarehouse(o, tmp.File("warehouse.db"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  const app::DemoData& data = w->data;
  {
    std::ifstream in(testing::ExampleDetectorPath());
    std::ofstream out(dir / "conf" / "ecommerce.yaml");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("  path:", 0) == 0) line = "  path: " + (dir / "warehouse.db").string();
      if (line.rfind("  connection_env:", 0) == 0) continue;
      out << line << "\n";
      if (line.rfind("offset:", 0) == 0) {
        out << "history_start: " << FormatIso(data.start) << "\nbackfill_chunk: 12\n";
      }
    }
  }
  // Backfill 30 days, then 10 days of live hourly intervals.
  const Instant start = data.start + hours(24 * 30);
  const Instant until = data.start + hours(24 * 40);
  const double live_speed = 100000;  // 10 days in under 9 s
  auto args = [&](const std::string& state) {
    return std::vector<std::string>{"serve", "--config", (dir / "conf").string(), "--state",
                                    (dir / state).string(), "--until", FormatIso(until)};
  };
  const std::string log = (dir / "serve.log").string();

  // The uninterrupted run.
  {
    Clock c{FormatIso(start), live_speed, ScaledClock::WallMillis()};
    ASSERT_EQ(WaitExit(Spawn(args("ref.db"), c, log)), 0);
  }

  std::mt19937 rng(20261129);
  int backfill_kills = 0, live_kills = 0, mid_backfill_kills = 0;
  const std::string state = (dir / "state.db").string();
  auto watermark_and_live = [&]() -> std::pair<int64_t, int64_t> {
    auto s = store::OpenSqliteStore(state);
    if (!s.ok()) return {0, 0};
    auto rows = (*s)->ListDetectorStatus();
    if (!rows.ok() || rows->empty()) return {0, 0};
    auto wm = (*s)->GetWatermark((*rows)[0].detector_id);
    return {wm.ok() && *wm ? **wm : 0, (*rows)[0].live_from.value_or(0)};
  };
  // Backfill: the clock barely moves, kills come 5-150 ms after each start.
  {
    Clock c{FormatIso(start), 1, ScaledClock::WallMillis()};
    for (int i = 0; i < 60 && backfill_kills < 12; ++i) {
      auto [wm, live] = watermark_and_live();
      if (wm != 0 && live != 0 && wm >= live) break;  // backfill done
      const int ms = std::uniform_int_distribution<int>(5, 150)(rng);
      if (KillAfter(Spawn(args("state.db"), c, log), ms)) {
        ++backfill_kills;
        auto [wm2, live2] = watermark_and_live();
        if (wm2 > ToUnixSeconds(data.start) && (live2 == 0 || wm2 < live2)) ++mid_backfill_kills;
        std::printf("backfill kill after %d ms: watermark %s\n", ms,
                    wm2 ? FormatIso(FromUnixSeconds(wm2)).c_str() : "none");
      }
    }
  }
  // Live: the accelerated clock runs on across restarts (same origin).
  {
    Clock c{FormatIso(start), live_speed, ScaledClock::WallMillis()};
    for (int i = 0; i < 60 && live_kills < 12; ++i) {
      const int ms = std::uniform_int_distribution<int>(50, 400)(rng);
      if (KillAfter(Spawn(args("state.db"), c, log), ms)) {
        auto [wm2, live2] = watermark_and_live();
        // A kill before the watermark reaches live_from hit the backfill.
        ++(wm2 < live2 ? backfill_kills : live_kills);
        std::printf("%s kill after %d ms: watermark %s (live from %s)\n",
                    wm2 < live2 ? "backfill" : "live", ms,
                    FormatIso(FromUnixSeconds(wm2)).c_str(), FormatIso(FromUnixSeconds(live2)).c_str());
      }
    }
    ASSERT_EQ(WaitExit(Spawn(args("state.db"), c, log)), 0);
  }
  std::printf("kills survived: %d during backfill, %d during live intervals\n", backfill_kills, live_kills);
  EXPECT_GE(backfill_kills, 8);
  EXPECT_GE(mid_backfill_kills, 4) << "kills should land while the backfill is part-way";
  EXPECT_GE(live_kills, 10);
  EXPECT_GE(backfill_kills + live_kills, 20);

  int64_t ref_intervals = 0, intervals = 0;
  const auto ref = Contents((dir / "ref.db").string(), &ref_intervals);
  const auto got = Contents(state, &intervals);
  EXPECT_EQ(ref_intervals, 24 * 40 - 1);
  EXPECT_EQ(intervals, ref_intervals);
  ASSERT_EQ(got.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(got[i], ref[i]) << i;
}

}  // namespace
}  // namespace osprey
