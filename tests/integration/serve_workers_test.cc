// Several `osprey serve` workers on one real (throw-away) PostgreSQL state
// store share four detectors under leases. One worker is killed with SIGKILL
// once it is observed part-way through a detector's backfill; the others
// must take its detectors over, and the stored groups, anomalies, points and
// data-quality intervals of every detector must equal those of a single
// worker (`serve --once`) on another database, with every interval present
// exactly once. All workers run on the same testing clock (speed 1, half an
// hour before the next interval is due), so the due work is fixed.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "osprey/app/demo_data.h"
#include "osprey/base/clock.h"
#include "osprey/store/store.h"
#include "osprey/testing/clock.h"
#include "osprey/testing/db_servers.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"
#include "osprey/testing/process.h"
#include "osprey/testing/wait.h"

namespace osprey {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

constexpr int kDetectors = 4;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Everything a detector stored, in a comparable form; `intervals` counts its
// data-quality rows, which must be one per hour with none repeated.
std::vector<std::string> Contents(store::Store& store, const std::string& detector, int64_t* intervals) {
  std::vector<std::string> out;
  store::GroupQuery q;
  q.detector = detector;
  q.limit = 1 << 30;
  q.newest_first = false;
  for (const auto& g : *store.ListGroups(q)) {
    out.push_back(fmt::format("G {} {} {:.9f} {} {} {}", g.measure, g.ts, g.severity, g.anomaly_count,
                              g.contributions, g.root_causes));
    for (const auto& a : *store.ListAnomalies(g.id)) {
      out.push_back(fmt::format("A {} {} {:.9f} {:.9f} {:.9f} {}", a.label, a.ts, a.value, a.expected,
                                a.severity, a.direction));
    }
  }
  auto d = *store.GetDetector(detector);
  for (const auto& s : *store.ListSeries(d.id)) {
    for (const auto& p : *store.ListPoints(s.id, 0, 1LL << 40)) {
      out.push_back(fmt::format("P {} {} {} {} {}", s.label, p.ts, p.value.value_or(-1),
                                p.expected.value_or(-1), p.severity.value_or(-1)));
    }
  }
  auto quality = *store.ListQuality(d.id, 0, 1LL << 40);
  for (size_t i = 1; i < quality.size(); ++i) {
    EXPECT_EQ(quality[i].ts - quality[i - 1].ts, 3600) << detector << ": interval lost or repeated";
  }
  *intervals = static_cast<int64_t>(quality.size());
  return out;
}

TEST(ServeWorkers, ThreeWorkersOneKilledGiveTheSingleWorkersResult) {
  auto pg = testing::PostgresServer::Start();
  if (!pg.ok() && pg.status().code() == StatusCode::kFailedPrecondition) {
    GTEST_SKIP() << pg.status().message();
  }
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  ASSERT_TRUE((*pg)->Execute("create database solo owner osprey", "postgres").ok());
  ASSERT_TRUE((*pg)->Execute("create database multi owner osprey", "postgres").ok());
  const std::string single_url = (*pg)->Url("solo"), multi_url = (*pg)->Url("multi");

  const testing::TempDir tmp("osprey_workers_");
  const fs::path& dir = tmp.path();
  fs::create_directories(dir / "conf");
  app::DemoOptions o;
  o.days = 14;
  auto w = testing::MakeDemoWarehouse(o, tmp.File("warehouse.db"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  const app::DemoData& data = w->data;
  std::vector<std::string> names;
  for (int i = 0; i < kDetectors; ++i) {
    names.push_back(fmt::format("shop{}", i));
    std::ifstream in(testing::ExampleDetectorPath());
    std::ofstream out(dir / "conf" / (names.back() + ".yaml"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("name:", 0) == 0) line = "name: " + names.back();
      if (line.rfind("  path:", 0) == 0) line = "  path: " + (dir / "warehouse.db").string();
      if (line.rfind("  connection_env:", 0) == 0) continue;
      out << line << "\n";
      if (line.rfind("offset:", 0) == 0) {
        out << "history_start: " << FormatIso(data.start) << "\nbackfill_chunk: 12\n";
      }
    }
  }
  // Half an hour past an interval's end: nothing new falls due during the run.
  const testing::TestingClockFlags clock{data.start + hours(24 * 10) + std::chrono::minutes(30), 1,
                                         testing::ScaledClock::WallMillis()};
  const std::string conf = (dir / "conf").string();

  // One worker.
  ASSERT_EQ(testing::ExitCode(testing::SpawnTestbin(
                OSPREY_TESTBIN, clock, {"serve", "--once", "--config", conf, "--state", single_url},
                (dir / "single.log").string())),
            0)
      << ReadAll(dir / "single.log");
  auto single = store::OpenPostgresStore(single_url);
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  std::map<std::string, int64_t> final_watermark;
  for (const auto& n : names) {
    auto d = (*single)->GetDetector(n);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    final_watermark[n] = (*single)->GetWatermark(d->id)->value_or(0);
    ASSERT_GT(final_watermark[n], ToUnixSeconds(data.start) + 86400 * 9);
  }

  // Three workers on one database.
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i) {
    pids.push_back(testing::SpawnTestbin(OSPREY_TESTBIN, clock,
                                         {"serve", "--port", "0", "--config", conf, "--state", multi_url,
                                          "--worker", fmt::format("w{}", i), "--lease", "5"},
                                         (dir / fmt::format("w{}.log", i)).string()));
  }
  // Opening migrates the schema, which the workers are doing too: retried
  // until it opens (a stall of five minutes fails the test).
  auto multi = store::OpenPostgresStore(multi_url);
  testing::PollWhileProgressing(
      [&] { return multi.ok() || (multi = store::OpenPostgresStore(multi_url)).ok(); }, [] { return 0; },
      std::chrono::milliseconds(100), std::chrono::minutes(5));
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  store::Store& m = **multi;
  auto watermark = [&](const std::string& name) -> int64_t {
    auto d = m.GetDetector(name);
    if (!d.ok()) return 0;
    auto wm = m.GetWatermark(d->id);
    return wm.ok() && *wm ? **wm : 0;
  };
  // Observed progress: the sum of the watermarks, and whether all are done.
  auto progress = [&] {
    int64_t sum = 0;
    for (const auto& n : names) sum += watermark(n);
    return sum;
  };
  auto all_done = [&] {
    for (const auto& n : names) {
      if (watermark(n) != final_watermark[n]) return false;
    }
    return true;
  };

  // Kill the holder of a detector that is part-way through its backfill.
  std::string victim, victim_detector;
  std::set<std::string> victims_detectors;
  // Checked every 5 ms while the watermarks move; ends when the backfills
  // are past the window (or stop moving for five minutes).
  auto find_victim = [&] {
    auto leases = m.ListLeases();
    if (leases.ok()) {
      for (const auto& l : *leases) {
        if (!l.held || l.detector.empty()) continue;
        const int64_t wm = watermark(l.detector);
        if (wm > ToUnixSeconds(data.start) + 86400 && wm < final_watermark[l.detector] - 86400 * 2) {
          victim = l.worker;
          victim_detector = l.detector;
          break;
        }
      }
      if (!victim.empty()) {
        for (const auto& l : *leases) {
          if (l.held && l.worker == victim && !l.detector.empty()) victims_detectors.insert(l.detector);
        }
      }
    }
    return !victim.empty() || all_done();
  };
  testing::PollWhileProgressing(find_victim, progress, std::chrono::milliseconds(5), std::chrono::minutes(5));
  ASSERT_FALSE(victim.empty()) << "no detector was seen part-way through its backfill";
  const int index = victim[1] - '0';
  const int64_t killed_at_watermark = watermark(victim_detector);
  kill(pids[static_cast<size_t>(index)], SIGKILL);
  waitpid(pids[static_cast<size_t>(index)], nullptr, 0);
  std::printf("killed %s while it held %zu detectors; %s at %s of %s\n", victim.c_str(),
              victims_detectors.size(), victim_detector.c_str(),
              FormatIso(FromUnixSeconds(killed_at_watermark)).c_str(),
              FormatIso(FromUnixSeconds(final_watermark[victim_detector])).c_str());

  // The others finish everything, the victim's detectors included.
  // A stall of five minutes (no watermark moves) fails the test.
  const bool done = testing::PollWhileProgressing(all_done, progress, std::chrono::milliseconds(100),
                                                  std::chrono::minutes(5));
  std::string logs;
  for (int i = 0; i < 3; ++i) logs += ReadAll(dir / fmt::format("w{}.log", i));
  ASSERT_TRUE(done) << logs;
  auto leases = m.ListLeases();
  ASSERT_TRUE(leases.ok()) << leases.status().ToString();
  for (const auto& l : *leases) {
    if (victims_detectors.count(l.detector)) {
      EXPECT_TRUE(l.held && l.worker != victim) << l.detector << " held by " << l.worker;
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (i == index) continue;
    kill(pids[static_cast<size_t>(i)], SIGTERM);
    EXPECT_EQ(testing::ExitCode(pids[static_cast<size_t>(i)]), 0) << logs;
  }

  int64_t total = 0;
  for (const auto& n : names) {
    int64_t want_intervals = 0, got_intervals = 0;
    const auto want = Contents(**single, n, &want_intervals);
    const auto got = Contents(m, n, &got_intervals);
    EXPECT_EQ(got_intervals, want_intervals) << n;
    EXPECT_TRUE(got == want) << n << ": " << got.size() << " stored rows vs " << want.size();
    total += static_cast<int64_t>(want.size());
  }
  std::printf("%d detectors, %lld stored rows compared\n", kDetectors, static_cast<long long>(total));
}

}  // namespace
}  // namespace osprey
