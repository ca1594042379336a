// Crash test of `osprey serve`: the test build of the binary
// (osprey_testbin) runs a backfill and then a live schedule on an
// accelerated testing clock, and is killed with SIGKILL as soon as its
// committed progress (the watermark in the state store) reaches a target
// drawn at random (fixed seed) — during the backfill and during live
// intervals — and restarted each time. The stored points, anomalies and
// groups must then equal those of an uninterrupted run, with every interval
// present exactly once. Kill moments come from observed progress, never from
// wall-clock delays, so a loaded machine changes nothing but the run time.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "osprey/app/demo_data.h"
#include "osprey/store/store.h"
#include "osprey/testing/clock.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"
#include "osprey/testing/process.h"
#include "osprey/testing/wait.h"

namespace osprey {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using testing::ScaledClock;

// SIGKILLs `pid` and reaps it.
void KillNow(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
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
      // Chunks of two intervals: a kill lands a few commits after the
      // watermark it waited for, so the chunk sets how far past its target
      // the backfill gets. With 12 a fast backfill ran days past each target
      // and the 30 days held 6 kills instead of the 8 the test needs.
      if (line.rfind("offset:", 0) == 0) {
        out << "history_start: " << FormatIso(data.start) << "\nbackfill_chunk: 2\n";
      }
    }
  }
  // Backfill 30 days, then 10 days of live hourly intervals.
  const Instant start = data.start + hours(24 * 30);
  const Instant until = data.start + hours(24 * 40);
  const double live_speed = 100000;  // 10 days in under 9 s
  auto args = [&](const std::string& state) {
    return std::vector<std::string>{
        "serve",   "--config",      (dir / "conf").string(), "--state", (dir / state).string(),
        "--until", FormatIso(until)};
  };
  const std::string log = (dir / "serve.log").string();
  // `serve ... --state STATE` on a testing clock that reads `at` at
  // wall-clock `origin` and runs `speed` times faster.
  auto spawn = [&](const std::string& state, Instant at, double speed, int64_t origin) {
    return testing::SpawnTestbin(OSPREY_TESTBIN, {at, speed, origin}, args(state), log);
  };

  // The uninterrupted run.
  ASSERT_EQ(testing::ExitCode(spawn("ref.db", start, live_speed, ScaledClock::WallMillis())), 0);

  std::mt19937 rng(20261129);
  int backfill_kills = 0, live_kills = 0, mid_backfill_kills = 0;
  const std::string state = (dir / "state.db").string();
  // Created (and migrated) here, so that this connection only ever reads
  // while the server writes.
  auto store = std::move(store::OpenSqliteStore(state)).value();
  // The detector's watermark and live_from (0 before the first commit).
  auto progress = [&]() -> std::pair<int64_t, int64_t> {
    auto rows = store->ListDetectorStatus();
    if (!rows.ok() || rows->empty()) return {0, 0};
    auto wm = store->GetWatermark((*rows)[0].detector_id);
    return {wm.ok() && *wm ? **wm : 0, (*rows)[0].live_from.value_or(0)};
  };
  // Backfill: the clock barely moves. Each run is killed once the watermark
  // has moved 1-48 hours past where the last run left it, while at least a
  // day of backfill remains.
  {
    const int64_t origin = ScaledClock::WallMillis();
    const int64_t last_target = ToUnixSeconds(start) - 24 * 3600;
    for (int i = 0; i < 40 && backfill_kills < 12; ++i) {
      const auto [wm, live] = progress();
      const int64_t from = wm != 0 ? wm : ToUnixSeconds(data.start);
      const int64_t target = from + 3600 * std::uniform_int_distribution<int64_t>(1, 48)(rng);
      if (target > last_target) break;
      const pid_t pid = spawn("state.db", start, 1, origin);
      const bool reached = testing::WaitForWrites(pid, dir.string(), "state.db", [&] {
        const auto [wm_now, live_now] = progress();
        return wm_now >= target || (live_now != 0 && wm_now >= live_now);
      });
      ASSERT_TRUE(reached) << "serve exited during the backfill (exit " << testing::ExitCode(pid) << ")";
      KillNow(pid);
      ++backfill_kills;
      const auto [wm2, live2] = progress();
      if (live2 == 0 || wm2 < live2) ++mid_backfill_kills;
      std::printf("backfill kill at watermark %s (target %s)\n", FormatIso(FromUnixSeconds(wm2)).c_str(),
                  FormatIso(FromUnixSeconds(target)).c_str());
    }
  }
  // Live: the accelerated clock stands still while no server runs, so each
  // restart continues the timeline where the killed run left it. Each run is
  // killed once the watermark has moved 2-12 hours past the backfill's end
  // or where the last run left it.
  Instant clock_at = start;
  for (int i = 0; i < 40 && live_kills < 12; ++i) {
    const auto [wm, live] = progress();
    const int64_t target = std::max(wm, live) + 3600 * std::uniform_int_distribution<int64_t>(2, 12)(rng);
    if (target >= ToUnixSeconds(until) - 3600) break;
    const int64_t origin = ScaledClock::WallMillis();
    const pid_t pid = spawn("state.db", clock_at, live_speed, origin);
    const bool reached =
        testing::WaitForWrites(pid, dir.string(), "state.db", [&] { return progress().first >= target; });
    const int64_t killed_ms = ScaledClock::WallMillis();
    if (!reached) {
      ASSERT_EQ(testing::ExitCode(pid), 0);
      break;
    }
    KillNow(pid);
    clock_at = ScaledClock(clock_at, origin, live_speed).At(killed_ms);
    const auto [wm2, live2] = progress();
    // A kill before the watermark reaches live_from hit the backfill.
    ++(wm2 < live2 ? backfill_kills : live_kills);
    std::printf("%s kill at watermark %s (target %s, live from %s)\n", wm2 < live2 ? "backfill" : "live",
                FormatIso(FromUnixSeconds(wm2)).c_str(), FormatIso(FromUnixSeconds(target)).c_str(),
                FormatIso(FromUnixSeconds(live2)).c_str());
  }
  ASSERT_EQ(testing::ExitCode(spawn("state.db", clock_at, live_speed, ScaledClock::WallMillis())), 0);
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
