// Several `osprey serve` workers on one real (throw-away) PostgreSQL state
// store share four detectors under leases. One worker is killed with SIGKILL
// once it is observed part-way through a detector's backfill; the others
// must take its detectors over, and the stored groups, anomalies, points and
// data-quality intervals of every detector must equal those of a single
// worker (`serve --once`) on another database, with every interval present
// exactly once. All workers run on the same testing clock (speed 1, half an
// hour before the next interval is due), so the due work is fixed.
// The second test does the same with one detector split into shards
// (`shards: 4`): the workers share its shards, one is killed part-way, and
// the result is again the single worker's.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
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

// Stored rows compared as sets (series ids, and so the order of points and
// of a group's anomalies, depend on which shard created a series first): the
// same rows, none twice; the first differences are shown.
void ExpectSameRows(std::vector<std::string> got, std::vector<std::string> want) {
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(std::adjacent_find(got.begin(), got.end()), got.end()) << "a row stored twice";
  EXPECT_TRUE(got == want) << got.size() << " stored rows vs " << want.size();
  for (size_t i = 0, shown = 0; i < std::max(got.size(), want.size()) && shown < 5; ++i) {
    const std::string a = i < got.size() ? got[i] : "", b = i < want.size() ? want[i] : "";
    if (a != b) {
      ADD_FAILURE() << "got  " << a << "\nwant " << b;
      ++shown;
    }
  }
}

// A throw-away PostgreSQL with two databases: `solo` for one worker's run,
// `multi` for the workers'.
class ServeWorkers : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::PostgresServer::Start();
    if (!pg.ok() && pg.status().code() == StatusCode::kFailedPrecondition) {
      GTEST_SKIP() << pg.status().message();
    }
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = *std::move(pg);
    ASSERT_TRUE(pg_->Execute("create database solo owner osprey", "postgres").ok());
    ASSERT_TRUE(pg_->Execute("create database multi owner osprey", "postgres").ok());
    single_url = pg_->Url("solo");
    multi_url = pg_->Url("multi");
  }

  // Three workers w0, w1, w2 on `multi`, with five-second leases.
  std::vector<pid_t> StartWorkers(const testing::TestingClockFlags& clock, const std::string& conf,
                                  const fs::path& dir) const {
    std::vector<pid_t> pids;
    for (int i = 0; i < 3; ++i) {
      pids.push_back(testing::SpawnTestbin(OSPREY_TESTBIN, clock,
                                           {"serve", "--port", "0", "--config", conf, "--state", multi_url,
                                            "--worker", fmt::format("w{}", i), "--lease", "5"},
                                           (dir / fmt::format("w{}.log", i)).string()));
    }
    return pids;
  }

  // Opening migrates the schema, which the workers are doing too: retried
  // until it opens (a stall of five minutes fails the test).
  Result<std::unique_ptr<store::Store>> OpenMulti() const {
    auto multi = store::OpenPostgresStore(multi_url);
    testing::PollWhileProgressing(
        [&] { return multi.ok() || (multi = store::OpenPostgresStore(multi_url)).ok(); }, [] { return 0; },
        std::chrono::milliseconds(100), std::chrono::minutes(5));
    return multi;
  }

  std::unique_ptr<testing::PostgresServer> pg_;
  std::string single_url, multi_url;
};

TEST_F(ServeWorkers, ThreeWorkersOneKilledGiveTheSingleWorkersResult) {
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
  const std::vector<pid_t> pids = StartWorkers(clock, conf, dir);
  auto multi = OpenMulti();
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

// A sharded detector: three workers share its four shard leases; the one
// holding shard 0 (which also groups the shards' scores) is killed once the
// detector is observed part-way through its backfill. The others take its
// leases over and finish, and everything stored equals the single worker's
// run of the whole detector. Series ids depend on which shard created a
// series first, so rows are compared by label, sorted.
TEST_F(ServeWorkers, ShardedDetectorKilledCoordinatorGivesTheSingleWorkersResult) {
  const testing::TempDir tmp("osprey_shards_");
  const fs::path& dir = tmp.path();
  fs::create_directories(dir / "conf");
  fs::create_directories(dir / "whole");
  app::DemoOptions o;
  o.days = 14;
  o.clean_days = 2;  // anomalies from the third day on, so there is something to group
  auto w = testing::MakeDemoWarehouse(o, tmp.File("warehouse.db"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  const app::DemoData& data = w->data;
  constexpr int kShards = 4;
  const std::string name = "big";
  {
    // The rules example: a change rule (history per series) and roll-ups
    // of SUM measures (whose missing leaves are read across shards).
    std::ifstream in(fs::path(testing::ExampleDetectorPath()).parent_path() / "ecommerce-rules.yaml");
    // The same detector twice: split into shards, and whole (no `shards`).
    std::ofstream out(dir / "conf" / "big.yaml"), whole(dir / "whole" / "big.yaml");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("name:", 0) == 0) line = "name: " + name;
      if (line.rfind("  path:", 0) == 0) line = "  path: " + (dir / "warehouse.db").string();
      if (line.rfind("  connection_env:", 0) == 0) continue;
      if (line.rfind("min_severity:", 0) == 0) line = "min_severity: 30";  // more to group
      out << line << "\n";
      whole << line << "\n";
      if (line.rfind("offset:", 0) == 0) {
        out << "history_start: " << FormatIso(data.start) << "\nbackfill_chunk: 12\nshards: " << kShards
            << "\n";
        whole << "history_start: " << FormatIso(data.start) << "\nbackfill_chunk: 12\n";
      }
    }
  }
  const testing::TestingClockFlags clock{data.start + hours(24 * 10) + std::chrono::minutes(30), 1,
                                         testing::ScaledClock::WallMillis()};
  const std::string conf = (dir / "conf").string();

  // One process runs the detector whole.
  ASSERT_EQ(testing::ExitCode(testing::SpawnTestbin(
                OSPREY_TESTBIN, clock,
                {"serve", "--once", "--config", (dir / "whole").string(), "--state", single_url},
                (dir / "single.log").string())),
            0)
      << ReadAll(dir / "single.log");
  auto single = store::OpenPostgresStore(single_url);
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  auto single_detector = (*single)->GetDetector(name);
  ASSERT_TRUE(single_detector.ok()) << single_detector.status().ToString();
  const int64_t final_watermark = (*single)->GetWatermark(single_detector->id)->value_or(0);
  ASSERT_GT(final_watermark, ToUnixSeconds(data.start) + 86400 * 9) << ReadAll(dir / "single.log");
  EXPECT_TRUE((*single)->ShardWatermarks(single_detector->id)->empty()) << "a detector without shards";

  const std::vector<pid_t> pids = StartWorkers(clock, conf, dir);
  auto multi = OpenMulti();
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  store::Store& m = **multi;
  auto detector_id = [&]() -> int64_t {
    auto d = m.GetDetector(name);
    return d.ok() ? d->id : 0;
  };
  auto watermark = [&]() -> int64_t {
    auto wm = m.GetWatermark(detector_id());
    return wm.ok() && *wm ? **wm : 0;
  };
  auto shard_marks = [&] {
    auto marks = m.ShardWatermarks(detector_id());
    return marks.ok() ? *marks : std::map<int64_t, int64_t>{};
  };
  // Observed progress: the detector's watermark and its shards'.
  auto progress = [&] {
    int64_t sum = watermark();
    for (const auto& [shard, next] : shard_marks()) sum += next;
    return sum;
  };
  auto all_done = [&] {
    const auto marks = shard_marks();
    if (watermark() != final_watermark || marks.size() != kShards) return false;
    for (const auto& [shard, next] : marks) {
      if (next != final_watermark) return false;
    }
    return true;
  };

  // Kill the worker holding shard 0 once the detector is part-way through.
  std::string victim;
  std::set<int64_t> victims_shards;
  auto find_victim = [&] {
    auto leases = m.ListLeases();
    const int64_t wm = watermark();
    if (leases.ok() && wm > ToUnixSeconds(data.start) + 86400 && wm < final_watermark - 86400 * 2) {
      for (const auto& l : *leases) {
        if (l.held && l.detector == name && l.shard == 0) victim = l.worker;
      }
      for (const auto& l : *leases) {
        if (l.held && l.detector == name && l.worker == victim) victims_shards.insert(l.shard);
      }
    }
    return !victim.empty() || all_done();
  };
  testing::PollWhileProgressing(find_victim, progress, std::chrono::milliseconds(5), std::chrono::minutes(5));
  std::string logs;
  for (int i = 0; i < 3; ++i) logs += ReadAll(dir / fmt::format("w{}.log", i));
  ASSERT_FALSE(victim.empty()) << "the detector was not seen part-way through its backfill\n" << logs;
  const int index = victim[1] - '0';
  const int64_t killed_at = watermark();
  kill(pids[static_cast<size_t>(index)], SIGKILL);
  waitpid(pids[static_cast<size_t>(index)], nullptr, 0);
  std::printf("killed %s while it held shards", victim.c_str());
  for (int64_t s : victims_shards) std::printf(" %lld", static_cast<long long>(s));
  std::printf(" of %s at %s of %s\n", name.c_str(), FormatIso(FromUnixSeconds(killed_at)).c_str(),
              FormatIso(FromUnixSeconds(final_watermark)).c_str());

  const bool done = testing::PollWhileProgressing(all_done, progress, std::chrono::milliseconds(100),
                                                  std::chrono::minutes(5));
  logs.clear();
  for (int i = 0; i < 3; ++i) logs += ReadAll(dir / fmt::format("w{}.log", i));
  ASSERT_TRUE(done) << logs;

  // `osprey status --json` shows every shard done and held by a live worker.
  ASSERT_EQ(
      testing::ExitCode(testing::SpawnTestbin(
          OSPREY_TESTBIN, clock, {"status", "--json", "--state", multi_url}, (dir / "status.json").string())),
      0)
      << ReadAll(dir / "status.json");
  // The file also holds the testing clock's banner line before the JSON.
  const std::string status_text = ReadAll(dir / "status.json");
  const nlohmann::json status = nlohmann::json::parse(
      status_text.substr(std::min(status_text.find('['), status_text.size())), nullptr, false);
  ASSERT_TRUE(status.is_array() && status.size() == 1) << ReadAll(dir / "status.json");
  ASSERT_TRUE(status[0].contains("shards")) << status.dump();
  ASSERT_EQ(status[0]["shards"].size(), static_cast<size_t>(kShards)) << status.dump();
  for (const auto& sh : status[0]["shards"]) {
    EXPECT_EQ(sh["watermark"], FormatIso(FromUnixSeconds(final_watermark))) << sh.dump();
    ASSERT_FALSE(sh["lease"].is_null()) << sh.dump();
    EXPECT_NE(sh["lease"]["worker"], victim) << sh.dump();
  }
  EXPECT_EQ(status[0]["lease"], status[0]["shards"][0]["lease"]);
  for (int i = 0; i < 3; ++i) {
    if (i == index) continue;
    kill(pids[static_cast<size_t>(i)], SIGTERM);
    EXPECT_EQ(testing::ExitCode(pids[static_cast<size_t>(i)]), 0) << logs;
  }

  // The coordinator consumed every shard's scores.
  auto left = m.LoadShardScores(detector_id(), 0, 1LL << 40);
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_TRUE(left->empty()) << left->size() << " intervals' shard scores left";

  int64_t want_intervals = 0, got_intervals = 0;
  const auto want = Contents(**single, name, &want_intervals);
  const auto got = Contents(m, name, &got_intervals);
  EXPECT_EQ(got_intervals, want_intervals);
  ExpectSameRows(got, want);
  const auto rows_of = [&](char kind) {
    return std::count_if(want.begin(), want.end(), [&](const std::string& r) { return r[0] == kind; });
  };
  EXPECT_GT(rows_of('G'), 0) << "nothing was grouped: the test would not see the coordinator's work";
  std::printf("%s: %d shards, %zu stored rows compared (%td groups, %td anomalies), %lld intervals\n",
              name.c_str(), kShards, want.size(), rows_of('G'), rows_of('A'),
              static_cast<long long>(want_intervals));
}

// Changing `shards` of a detector with history: one `serve --once` runs it
// whole for five days, the next in three shards for three more, the last in
// two shards for two more. Each switch happens where every shard's
// watermark is the detector's, so the result equals a whole run of the ten
// days.
TEST_F(ServeWorkers, ChangingShardsKeepsTheWholeRunsResult) {
  const testing::TempDir tmp("osprey_reshard_");
  const fs::path& dir = tmp.path();
  app::DemoOptions o;
  o.days = 14;
  o.clean_days = 2;
  auto w = testing::MakeDemoWarehouse(o, tmp.File("warehouse.db"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  const app::DemoData& data = w->data;
  const std::string name = "big";
  // The rules example as `name`, in a directory of its own per shard count.
  auto write_config = [&](int shards) {
    const fs::path conf = dir / fmt::format("shards{}", shards);
    fs::create_directories(conf);
    std::ifstream in(fs::path(testing::ExampleDetectorPath()).parent_path() / "ecommerce-rules.yaml");
    std::ofstream out(conf / "big.yaml");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("name:", 0) == 0) line = "name: " + name;
      if (line.rfind("  path:", 0) == 0) line = "  path: " + (dir / "warehouse.db").string();
      if (line.rfind("  connection_env:", 0) == 0) continue;
      if (line.rfind("min_severity:", 0) == 0) line = "min_severity: 30";
      out << line << "\n";
      if (line.rfind("offset:", 0) == 0) {
        out << "history_start: " << FormatIso(data.start) << "\nbackfill_chunk: 12\n";
        if (shards > 1) out << "shards: " << shards << "\n";
      }
    }
    return conf.string();
  };
  auto serve_once = [&](int shards, int days, const std::string& url) {
    const testing::TestingClockFlags clock{data.start + hours(24 * days) + std::chrono::minutes(30), 1,
                                           testing::ScaledClock::WallMillis()};
    const std::string log = (dir / fmt::format("{}_{}.log", shards, days)).string();
    // One worker name throughout: a process that just ended still counts as
    // a live worker for a lease period, and would halve the next one's share.
    const int code = testing::ExitCode(testing::SpawnTestbin(
        OSPREY_TESTBIN, clock,
        {"serve", "--once", "--config", write_config(shards), "--state", url, "--worker", "one"}, log));
    EXPECT_EQ(code, 0) << ReadAll(log);
    return ReadAll(log);
  };
  serve_once(1, 10, single_url);
  serve_once(1, 5, multi_url);
  const std::string three = serve_once(3, 8, multi_url);
  const std::string last = serve_once(2, 10, multi_url);
  EXPECT_NE(last.find("now in 2 shard(s)"), std::string::npos) << three << last;

  auto single = store::OpenPostgresStore(single_url);
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  auto multi = store::OpenPostgresStore(multi_url);
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  const int64_t id = (*multi)->GetDetector(name)->id;
  const int64_t final_watermark = (*single)->GetWatermark((*single)->GetDetector(name)->id)->value_or(0);
  ASSERT_GT(final_watermark, ToUnixSeconds(data.start) + 86400 * 9);
  EXPECT_EQ((*multi)->GetWatermark(id)->value_or(0), final_watermark);
  const auto marks = (*multi)->ShardWatermarks(id);
  ASSERT_TRUE(marks.ok()) << marks.status().ToString();
  EXPECT_EQ(marks->size(), 2u) << "the three-shard watermarks are dropped";
  for (const auto& [shard, next] : *marks) EXPECT_EQ(next, final_watermark) << "shard " << shard;

  int64_t want_intervals = 0, got_intervals = 0;
  const auto want = Contents(**single, name, &want_intervals);
  const auto got = Contents(**multi, name, &got_intervals);
  EXPECT_EQ(got_intervals, want_intervals);
  ExpectSameRows(got, want);
  std::printf("%s: whole, 3 shards, 2 shards: %zu stored rows compared, %lld intervals\n", name.c_str(),
              want.size(), static_cast<long long>(want_intervals));
}

}  // namespace
}  // namespace osprey
