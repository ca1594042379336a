// The scheduler on a generated warehouse with a testing::FakeClock: backfill, hourly
// live runs, catch-up after an outage, retries with backoff on a failing
// source, and restatement without duplicate alerts. Nothing sleeps.
#include "osprey/app/scheduler.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <map>
#include <set>

#include "osprey/app/demo_data.h"
#include "osprey/testing/clock.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey::app {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// Fails every query with `code` while `failing` is set; otherwise passes
// through to the real source.
class FlakySource final : public connectors::Source {
 public:
  FlakySource(std::unique_ptr<connectors::Source> inner, std::atomic<int>* failing, int* queries)
      : inner_(std::move(inner)), failing_(failing), queries_(queries) {}
  Status Query(const connectors::QueryRange& range, RowHandler& handler) override {
    ++*queries_;
    if (failing_->load() == 1) return Unavailable("warehouse: connection refused");
    if (failing_->load() == 2) return DeadlineExceeded("warehouse: query timed out");
    if (failing_->load() == 3) return InvalidArgument("warehouse: no such column");
    return inner_->Query(range, handler);
  }

 private:
  std::unique_ptr<connectors::Source> inner_;
  std::atomic<int>* failing_;
  int* queries_;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DemoOptions o;
    o.days = 42;
    auto w = testing::MakeDemoWarehouse(o, dir_.File("warehouse.db"));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    data_ = std::move(w->data);
    warehouse_ = w->path;
    detector_ = std::move(w->detector);
    detector_.history_start = data_.start;
  }

  std::unique_ptr<store::Store> OpenStore(const std::string& name) {
    return std::move(store::OpenSqliteStore(dir_.File(name))).value();
  }

  SourceFactory Sources() {
    return [this](const config::Detector& d) -> Result<std::unique_ptr<connectors::Source>> {
      OSPREY_ASSIGN_OR_RETURN(auto inner, connectors::OpenSource(d));
      return std::unique_ptr<connectors::Source>(
          std::make_unique<FlakySource>(std::move(inner), &failing_, &queries_));
    };
  }

  std::vector<LoadedDetector> Detectors() {
    return {LoadedDetector{detector_, fmt::format("text {}", detector_.restatement_window), ""}};
  }

  // Points, anomalies and groups as text, in a stable order.
  static std::vector<std::string> Contents(store::Store& s, const std::string& name) {
    std::vector<std::string> out;
    store::GroupQuery q;
    q.limit = 1 << 30;
    q.newest_first = false;
    for (const auto& g : *s.ListGroups(q)) {
      out.push_back(fmt::format("G {} {} {:.6f} {}", g.measure, g.ts, g.severity, g.contributions));
      for (const auto& a : *s.ListAnomalies(g.id)) {
        out.push_back(fmt::format("A {} {} {:.6f} {:.6f}", a.label, a.ts, a.value, a.severity));
      }
    }
    auto d = *s.GetDetector(name);
    for (const auto& series : *s.ListSeries(d.id)) {
      for (const auto& p : *s.ListPoints(series.id, 0, 1LL << 40)) {
        out.push_back(
            fmt::format("P {} {} {} {}", series.label, p.ts, p.value.value_or(-1), p.severity.value_or(-1)));
      }
    }
    return out;
  }

  static store::DetectorStatusRecord StatusOf(store::Store& s) {
    auto rows = *s.ListDetectorStatus();
    EXPECT_EQ(rows.size(), 1u);
    return rows.empty() ? store::DetectorStatusRecord{} : rows[0];
  }

  void UpdateWarehouse(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(warehouse_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }

  testing::TempDir dir_{"osprey_scheduler_"};
  DemoData data_;
  std::string warehouse_;
  config::Detector detector_;
  std::atomic<int> failing_{0};
  int queries_ = 0;
};

TEST_F(SchedulerTest, CatchesUpAfterThreeDayOutageInOrder) {
  // Reference: one uninterrupted run, ticking every hour.
  const Instant first = data_.start + hours(24 * 30) + minutes(5);
  const Instant last = data_.start + hours(24 * 36) + minutes(5);
  auto ref = OpenStore("ref.db");
  {
    Scheduler s(*ref, Sources(), nullptr);
    ASSERT_TRUE(s.SetDetectors(Detectors()).ok());
    for (Instant t = first; t <= last; t += hours(1)) ASSERT_TRUE(s.Tick(t).ok());
  }
  // With an outage: hourly for five days, nothing for three, then one tick.
  auto st = OpenStore("state.db");
  testing::FakeClock clock(first);
  {
    Scheduler s(*st, Sources(), nullptr);
    ASSERT_TRUE(s.SetDetectors(Detectors()).ok());
    ASSERT_TRUE(s.Tick(clock.Now()).ok());
    EXPECT_EQ(StatusOf(*st).state, "active");
    EXPECT_EQ(StatusOf(*st).live_from, ToUnixSeconds(data_.start + hours(24 * 30)));
    for (int h = 0; h < 24 * 2; ++h) {
      clock.Advance(hours(1));
      ASSERT_TRUE(s.Tick(clock.Now()).ok());
    }
  }
  clock.Advance(hours(24 * 3));  // down
  auto wm_before = *st->GetWatermark(StatusOf(*st).detector_id);
  {
    Scheduler s(*st, Sources(), nullptr);  // a restarted daemon
    ASSERT_TRUE(s.SetDetectors(Detectors()).ok());
    ASSERT_TRUE(s.Tick(clock.Now()).ok());
    auto wm = *st->GetWatermark(StatusOf(*st).detector_id);
    EXPECT_EQ(*wm - *wm_before, 72 * 3600) << "three days of hourly intervals caught up";
    while (clock.Now() < last) {
      clock.Advance(hours(1));
      ASSERT_TRUE(s.Tick(clock.Now()).ok());
    }
  }
  // Every interval once, in order: one data-quality row per hour, no gap.
  const int64_t id = StatusOf(*st).detector_id;
  auto q = *st->ListQuality(id, 0, 1LL << 40);
  ASSERT_FALSE(q.empty());
  for (size_t i = 1; i < q.size(); ++i) ASSERT_EQ(q[i].ts - q[i - 1].ts, 3600) << i;
  EXPECT_EQ(q.front().ts, ToUnixSeconds(data_.start));
  EXPECT_EQ(Contents(*st, detector_.name), Contents(*ref, detector_.name));
  EXPECT_EQ(StatusOf(*st).state, "active");
}

TEST_F(SchedulerTest, RetriesAFailingSourceWithBackoff) {
  auto st = OpenStore("state.db");
  Scheduler s(*st, Sources(), nullptr);
  ASSERT_TRUE(s.SetDetectors(Detectors()).ok());
  Instant now = data_.start + hours(24 * 30) + minutes(5);
  ASSERT_TRUE(s.Tick(now).ok());
  const int64_t id = StatusOf(*st).detector_id;
  const int64_t wm0 = **st->GetWatermark(id);

  failing_ = 1;
  now += hours(1);
  ASSERT_TRUE(s.Tick(now).ok());  // one detector's failure is not the scheduler's
  auto status = StatusOf(*st);
  EXPECT_EQ(status.state, "failing");
  EXPECT_EQ(status.retries, 1);
  EXPECT_NE(status.last_error.find("connection refused"), std::string::npos);
  EXPECT_EQ(status.next_run_at, ToUnixSeconds(now + seconds(30)));
  EXPECT_EQ(status.pending_ts, wm0);
  EXPECT_EQ(**st->GetWatermark(id), wm0) << "the failed interval stays pending";

  const int before = queries_;
  ASSERT_TRUE(s.Tick(now + seconds(10)).ok());
  EXPECT_EQ(queries_, before) << "no retry before the backoff";
  failing_ = 2;
  ASSERT_TRUE(s.Tick(now + seconds(30)).ok());
  status = StatusOf(*st);
  EXPECT_EQ(status.retries, 2);
  EXPECT_EQ(status.next_run_at, ToUnixSeconds(now + seconds(30 + 60)));
  EXPECT_EQ(s.NextWakeup(), now + seconds(90));

  // Healed after three hours: every pending interval is processed.
  failing_ = 0;
  now += hours(3);
  ASSERT_TRUE(s.Tick(now).ok());
  status = StatusOf(*st);
  EXPECT_EQ(status.state, "active");
  EXPECT_EQ(status.retries, 0);
  EXPECT_EQ(status.last_error, "");
  EXPECT_EQ(**st->GetWatermark(id), wm0 + 4 * 3600);

  // Another error is retried after an hour (its next retry shows in the
  // status), or at once when the configuration changes.
  failing_ = 3;
  now += hours(1);
  ASSERT_TRUE(s.Tick(now).ok());
  EXPECT_EQ(StatusOf(*st).state, "failing");
  EXPECT_EQ(StatusOf(*st).next_run_at, ToUnixSeconds(now + hours(1)));
  EXPECT_EQ(s.NextWakeup(), now + hours(1));
  int q0 = queries_;
  ASSERT_TRUE(s.Tick(now + minutes(59)).ok());
  EXPECT_EQ(queries_, q0) << "no retry before the hour";
  ASSERT_TRUE(s.Tick(now + hours(1)).ok());
  EXPECT_GT(queries_, q0) << "retried after the hour";
  EXPECT_EQ(StatusOf(*st).retries, 2);
  EXPECT_EQ(StatusOf(*st).next_run_at, ToUnixSeconds(now + hours(2)));
  failing_ = 0;
  q0 = queries_;
  ASSERT_TRUE(s.Tick(now + hours(1) + minutes(30)).ok());
  EXPECT_EQ(queries_, q0);
  detector_.description = "fixed";
  auto fixed = Detectors();
  fixed[0].text = "fixed text";
  ASSERT_TRUE(s.SetDetectors(fixed).ok());
  ASSERT_TRUE(s.Tick(now + hours(1) + minutes(30)).ok());
  EXPECT_EQ(StatusOf(*st).state, "active");
  EXPECT_EQ(**st->GetWatermark(id), wm0 + 6 * 3600);
}

// An alert with `on: [failing]` is raised once when the detector's runs
// start failing (not at every retry) and resolved when it runs again, also
// by a restarted scheduler; it says nothing about anomalies.
TEST_F(SchedulerTest, FailingAlertIsRaisedOnceAndResolvedWhenTheDetectorRunsAgain) {
  config::Alert a;
  a.name = "ops";
  a.target_env = "OPS_URL";
  a.on_anomaly = false;
  a.on_failing = true;
  detector_.alerts = {a};
  auto st = OpenStore("state.db");
  auto rows = [&] { return *st->ListOutbox({}); };
  Instant now = data_.start + hours(24 * 30) + minutes(5);
  {
    Scheduler s(*st, Sources(), nullptr);
    ASSERT_TRUE(s.SetDetectors(Detectors()).ok());
    ASSERT_TRUE(s.Tick(now).ok());
    ASSERT_TRUE(s.Tick(now + hours(1)).ok());
    EXPECT_TRUE(rows().empty()) << "runs that succeed raise nothing; anomalies are not this alert's";
    failing_ = 1;
    now += hours(2);
    ASSERT_TRUE(s.Tick(now).ok());
    ASSERT_EQ(rows().size(), 1u);
    EXPECT_EQ(rows()[0].kind, "failing");
    EXPECT_EQ(rows()[0].alert, "ops");
    EXPECT_EQ(rows()[0].incident_ts, ToUnixSeconds(now));
    EXPECT_EQ(rows()[0].idempotency_key,
              fmt::format("failing.{}.ops.{}", StatusOf(*st).detector_id, ToUnixSeconds(now)));
    failing_ = 2;
    ASSERT_TRUE(s.Tick(now + seconds(30)).ok());
    ASSERT_TRUE(s.Tick(now + seconds(90)).ok());
    EXPECT_EQ(StatusOf(*st).retries, 3);
    EXPECT_EQ(rows().size(), 1u) << "retries raise no new message";
  }
  // A restarted daemon whose detector then runs again resolves it.
  failing_ = 0;
  Scheduler s(*st, Sources(), nullptr);
  ASSERT_TRUE(s.SetDetectors(Detectors()).ok());
  ASSERT_TRUE(s.Tick(now + hours(1)).ok());
  EXPECT_EQ(StatusOf(*st).state, "active");
  auto after = rows();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[1].kind, "failing_resolve");
  EXPECT_EQ(after[1].incident_ts, ToUnixSeconds(now));
  EXPECT_EQ(after[1].created_at, ToUnixSeconds(now + hours(1)));
  EXPECT_EQ(after[1].idempotency_key, after[0].idempotency_key + ".resolved");
  ASSERT_TRUE(s.Tick(now + hours(2)).ok());
  EXPECT_EQ(rows().size(), 2u);
  // The next outage is a new failure.
  failing_ = 1;
  ASSERT_TRUE(s.Tick(now + hours(3)).ok());
  ASSERT_EQ(rows().size(), 3u);
  EXPECT_EQ(rows()[2].kind, "failing");
  EXPECT_EQ(rows()[2].incident_ts, ToUnixSeconds(now + hours(3)));
}

TEST_F(SchedulerTest, RestatementSendsNoAlertTwice) {
  const Instant first = data_.start + hours(24 * 31) + minutes(5);
  const Instant last = data_.start + hours(24 * 34) + minutes(5);
  auto run = [&](const std::string& name, int64_t window, bool restate) {
    detector_.restatement_window = window;
    auto st = OpenStore(name);
    Scheduler s(*st, Sources(), nullptr);
    EXPECT_TRUE(s.SetDetectors(Detectors()).ok());
    for (Instant t = first; t <= last; t += hours(1)) {
      EXPECT_TRUE(s.Tick(t).ok());
      if (restate && t == first + hours(24)) {
        // Late data: an interval already processed, two hours back, changes.
        const Instant late = t - minutes(5) - hours(2);
        UpdateWarehouse(
            fmt::format("update ecommerce set views = views * 50, revenue = revenue * 50 "
                        "where ts = '{}'",
                        FormatIso(late).substr(0, 19).replace(10, 1, " ")));
      }
    }
    return st;
  };
  auto plain = run("plain.db", 0, false);
  auto restated = run("restated.db", 3, false);
  // Unchanged data: re-scoring the window changes nothing and sends nothing.
  EXPECT_EQ(Contents(*restated, detector_.name), Contents(*plain, detector_.name));
  auto outbox = [](store::Store& s) {
    std::vector<std::string> out;
    for (const auto& o : *s.ListOutbox({})) out.push_back(o.idempotency_key + " " + o.kind);
    return out;
  };
  const auto plain_outbox = outbox(*plain);
  ASSERT_FALSE(plain_outbox.empty()) << "the demo's anomalies should raise alerts";
  EXPECT_EQ(outbox(*restated), plain_outbox);

  // Changed data: the restated interval is re-scored (a big spike now) and
  // raises at most one message per group; the earlier ones are not repeated.
  auto changed = run("changed.db", 3, true);
  auto keys = outbox(*changed);
  std::set<std::string> unique(keys.begin(), keys.end());
  EXPECT_EQ(unique.size(), keys.size());
  const Instant late = first - minutes(5) + hours(24) - hours(2);
  store::GroupQuery q;
  q.since = ToUnixSeconds(late);
  q.until = ToUnixSeconds(late + hours(1));
  q.limit = 100;
  auto groups = *changed->ListGroups(q);
  ASSERT_FALSE(groups.empty()) << "the late spike was not re-scored";
  EXPECT_GT(groups[0].severity, 70);
  // At most one trigger or update per group and alert.
  std::map<int64_t, int> raised;
  for (const auto& o : *changed->ListOutbox({})) {
    if (o.kind != "resolve") {
      EXPECT_EQ(++raised[o.group_id], 1) << o.idempotency_key;
    }
  }
}

}  // namespace
}  // namespace osprey::app
