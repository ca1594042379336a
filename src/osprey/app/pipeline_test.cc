// End-to-end tests of the pipeline on a small generated warehouse: the real
// SQLite source, ingest, models, grouping and state store.
#include "osprey/app/pipeline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "osprey/app/backtest.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/sqlite_source.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey::app {
namespace {

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DemoOptions o;
    o.days = 77;
    o.harder = false;  // the original warehouse: exact row counts and figures
    auto w = testing::MakeDemoWarehouse(o, dir_.File("warehouse.db"));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    data_ = std::move(w->data);
    detector_ = std::move(w->detector);
    store_ = std::move(store::OpenSqliteStore(dir_.File("state.db"))).value();
  }
  void TearDown() override { store_.reset(); }

  Result<RunStats> Backtest(Instant from, Instant to) {
    return testing::Backtest(detector_, *store_, from, to);
  }

  std::vector<std::string> Snapshot() {
    // Everything the run stored that a user can see, as text.
    std::vector<std::string> out;
    auto groups =
        *store_->ListGroups({std::nullopt, std::nullopt, 0, std::nullopt, std::nullopt, 1 << 30, 0, false});
    for (const auto& g : groups) {
      out.push_back(
          fmt::format("G {} {} {:.6f} {} {}", g.measure, g.ts, g.severity, g.contributions, g.root_causes));
      for (const auto& a : *store_->ListAnomalies(g.id)) {
        out.push_back(fmt::format("A {} {} {:.6f} {:.6f}", a.label, a.ts, a.value, a.expected));
      }
    }
    auto detector = *store_->GetDetector(detector_.name);
    for (const auto& s : *store_->ListSeries(detector.id)) {
      for (const auto& p : *store_->ListPoints(s.id, 0, 1LL << 40)) {
        out.push_back(
            fmt::format("P {} {} {} {}", s.label, p.ts, p.value.value_or(-1), p.expected.value_or(-1)));
      }
    }
    return out;
  }

  testing::TempDir dir_{"osprey_pipeline_"};
  DemoData data_;
  config::Detector detector_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(PipelineTest, FindsInjectedAnomaliesWithPrecisionAndRecallAboveFloors) {
  auto stats = Backtest(data_.start, data_.end);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->intervals, 77 * 24);
  EXPECT_EQ(stats->rows_read, 77 * 24 * 21);
  EXPECT_EQ(stats->rows_rejected, 0);
  auto ev = *Evaluate(*store_, detector_.name, data_.events, 3600, detector_.min_severity);
  ASSERT_GT(ev.events, 5);
  std::printf("events %d found %d groups %d true %d precision %.3f recall %.3f\n", ev.events, ev.events_found,
              ev.groups, ev.groups_true, ev.precision(), ev.recall());
  // Reached on this 11-week warehouse: recall 11/13, precision 25/30 incidents.
  EXPECT_GE(ev.recall(), 0.80);
  EXPECT_GE(ev.precision(), 0.75);
}

TEST_F(PipelineTest, RerunningAnIntervalIsIdempotent) {
  Instant mid = data_.start + std::chrono::hours(24 * 60);
  ASSERT_TRUE(Backtest(data_.start, data_.end).ok());
  auto first = Snapshot();
  ASSERT_FALSE(first.empty());
  // Replaying the whole range gives exactly the same stored results.
  ASSERT_TRUE(Backtest(data_.start, data_.end).ok());
  EXPECT_EQ(Snapshot(), first);
  // Re-running one chunk on top of stored state replaces, never duplicates.
  auto source = *connectors::OpenSource(detector_);
  auto runner = *DetectorRunner::Create(detector_, "test", *store_, *source);
  RunOptions o;
  o.chunk_intervals = 1;
  ASSERT_TRUE(runner->Run(mid, mid + std::chrono::hours(1), o, nullptr).ok());
  auto again = *store_->ListGroups({std::nullopt, std::nullopt, 0, mid.time_since_epoch().count(),
                                    ToUnixSeconds(mid) + 3600, 100, 0, true});
  std::set<std::string> measures;
  for (const auto& g : again) EXPECT_TRUE(measures.insert(g.measure).second) << "duplicate group";
}

TEST_F(PipelineTest, ChunkedAndIntervalByIntervalRunsAgree) {
  Instant stop = data_.start + std::chrono::hours(24 * 30);
  ASSERT_TRUE(Backtest(data_.start, stop).ok());
  auto chunked = Snapshot();
  // The same range, one interval per query and transaction, resuming from the
  // stored watermark and model state after every interval.
  ASSERT_TRUE(store_->ResetFrom(store_->GetDetector(detector_.name)->id, ToUnixSeconds(data_.start)).ok());
  auto source = *connectors::OpenSource(detector_);
  for (Instant t = data_.start; t < stop; t += std::chrono::hours(1)) {
    auto runner = *DetectorRunner::Create(detector_, "test", *store_, *source);
    RunOptions o;
    o.chunk_intervals = 1;
    ASSERT_TRUE(runner->Run(t, t + std::chrono::hours(1), o, nullptr).ok());
  }
  EXPECT_EQ(Snapshot(), chunked);
}

// A chunk ends with a UTC day where one is near (DetectorRunner::ChunkEnd),
// so that a day's points are written as one block, once.
TEST_F(PipelineTest, ChunksEndWithAUtcDayWhereOneIsNear) {
  ASSERT_EQ(ToUnixSeconds(data_.start) % 86400, 0);
  auto source = *connectors::OpenSource(detector_);
  auto runner = *DetectorRunner::Create(detector_, "test", *store_, *source);
  std::vector<int64_t> ends;  // each chunk's end, in hours from the start
  RunOptions o;
  o.progress = [&](Instant next, const RunStats&) {
    ends.push_back((ToUnixSeconds(next) - ToUnixSeconds(data_.start)) / 3600);
  };
  auto run = [&](int64_t chunk, int64_t from, int64_t to) {
    ends.clear();
    o.chunk_intervals = chunk;
    EXPECT_TRUE(
        runner->Run(data_.start + std::chrono::hours(from), data_.start + std::chrono::hours(to), o, nullptr)
            .ok());
    return ends;
  };
  // A new detector's first chunk is one interval; then each day's end is
  // within a third of 20 intervals.
  EXPECT_EQ(run(20, 0, 72), (std::vector<int64_t>{1, 24, 48, 72}));
  // No day's end in the second half of 10 intervals or a third after them
  // (82, 92, 102); at 112 the range's end.
  EXPECT_EQ(run(10, 72, 120), (std::vector<int64_t>{82, 92, 102, 112, 120}));
  // A day's end in the second half of 30 intervals.
  EXPECT_EQ(run(30, 120, 168), (std::vector<int64_t>{144, 168}));
  // Live runs, an interval at a time.
  EXPECT_EQ(run(1, 168, 171), (std::vector<int64_t>{169, 170, 171}));
}

TEST_F(PipelineTest, PagedRunnersStoreExactlyWhatRunnersWithEveryModelInMemoryDo) {
  // Dimensions, roll-ups and several measures: the paged runner (models
  // read, scored and written back a block at a time in each commit) stores
  // the same points, groups, anomalies and model states.
  Instant stop = data_.start + std::chrono::hours(24 * 30);
  auto source = *connectors::OpenSource(detector_);
  RunOptions o;
  o.chunk_intervals = 100;
  {
    auto runner = *DetectorRunner::Create(detector_, "test", *store_, *source);
    ASSERT_FALSE(runner->paged());
    ASSERT_TRUE(runner->Run(data_.start, stop, o, nullptr).ok());
  }
  const auto resident = Snapshot();
  const int64_t id = store_->GetDetector(detector_.name)->id;
  const auto states = *store_->LoadModelStates(id);
  ASSERT_GT(states.size(), 8u);
  // One block of series, and blocks of 3 and 1 series (the next block's
  // states read while one is scored, the helper thread ahead by a block).
  for (size_t block : {kPagedBlock, size_t{3}, size_t{1}}) {
    SCOPED_TRACE(::testing::Message() << "blocks of " << block << " series");
    ASSERT_TRUE(store_->ResetFrom(id, ToUnixSeconds(data_.start)).ok());
    {
      auto runner = *DetectorRunner::Create(detector_, "test", *store_, *source, {}, 0, block);
      ASSERT_TRUE(runner->paged());
      ASSERT_TRUE(runner->Run(data_.start, data_.start + std::chrono::hours(24 * 10), o, nullptr).ok());
    }
    {
      // A new runner: reads the states the last one wrote.
      auto runner = *DetectorRunner::Create(detector_, "test", *store_, *source, {}, 0, block);
      ASSERT_TRUE(runner->paged());
      ASSERT_TRUE(runner->Run(data_.start + std::chrono::hours(24 * 10), stop, o, nullptr).ok());
    }
    EXPECT_EQ(Snapshot(), resident);
    EXPECT_EQ(*store_->LoadModelStates(id), states);
  }
}

// Start-up reads the dimensions osprey writes without a JSON document, and
// gives up on anything else (then parsed as JSON): what it reads is what
// the JSON says.
TEST(ReadFlatDimsTest, ReadsWhatTheJsonSaysOrGivesUp) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  for (const std::string text :
       {R"({})", R"({"item":"i0000001"})", R"({"platform":"pc_web","marketplace":"DE"})", R"({"a":""})",
        R"({"b":"x","a":"y","c":"z"})", R"({"a b":"x y"})"}) {
    SCOPED_TRACE(text);
    ASSERT_TRUE(internal::ReadFlatDims(text, &pairs));
    const nlohmann::json j = nlohmann::json::parse(text);
    std::vector<std::pair<std::string, std::string>> want;
    for (auto it = j.begin(); it != j.end(); ++it) want.emplace_back(it.key(), it.value().get<std::string>());
    ASSERT_EQ(pairs.size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(pairs[k].first, want[k].first);
      EXPECT_EQ(pairs[k].second, want[k].second);
    }
  }
  for (const std::string text :
       {R"({"a":"x","a":"y"})", R"({"a":"\"q\""})", R"({"a":"caf\u00e9"})", "{\"a\":\"caf\xc3\xa9\"}",
        R"({"a":1})", R"({"a":null})", R"({"a":"x",})", R"({"a":"x"} )", R"( {"a":"x"})", R"({"a" : "x"})",
        R"({"a":"x")", R"({"a":"x)", R"({)", "", R"([])"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(internal::ReadFlatDims(text, &pairs));
  }
}

// The detector's source, failing from its `fail_at`-th query on (counted
// from 1; 0 never fails): a run stopped between two chunks.
class StoppingSource : public connectors::Source {
 public:
  StoppingSource(connectors::Source& source, int fail_at) : source_(source), fail_at_(fail_at) {}
  Status Query(const connectors::QueryRange& range, connectors::RowHandler& handler) override {
    if (fail_at_ > 0 && ++queries_ >= fail_at_) return Unavailable("the source went away");
    return source_.Query(range, handler);
  }

 private:
  connectors::Source& source_;
  int fail_at_;
  int queries_ = 0;
};

TEST_F(PipelineTest, ARunWithoutAlertsSavesModelStatesAndTheWatermarkOnlyWithItsLastChunk) {
  const Instant stop = data_.start + std::chrono::hours(24 * 10);
  auto source = *connectors::OpenSource(detector_);
  auto runner = *DetectorRunner::Create(detector_, "test", *store_, *source);
  const int64_t id = store_->GetDetector(detector_.name)->id;
  RunOptions o;
  o.chunk_intervals = 24;
  o.resume_point_series_points = kResumePointSeriesPoints;             // what RunBacktest asks
  std::vector<std::pair<std::optional<int64_t>, size_t>> after_chunk;  // watermark, model states
  o.progress = [&](Instant, const RunStats&) {
    after_chunk.emplace_back(*store_->GetWatermark(id), store_->LoadModelStates(id)->size());
  };
  ASSERT_TRUE(runner->Run(data_.start, stop, o, nullptr).ok());
  ASSERT_GE(after_chunk.size(), 10u);
  for (size_t i = 0; i + 1 < after_chunk.size(); ++i) {
    EXPECT_EQ(after_chunk[i].first, std::nullopt) << "chunk " << i;
    EXPECT_EQ(after_chunk[i].second, 0u) << "chunk " << i;
  }
  EXPECT_EQ(after_chunk.back().first, ToUnixSeconds(stop));
  EXPECT_EQ(after_chunk.back().second, store_->ListSeries(id)->size());
  // Runs with alerts (live), and runs that do not ask (serve's backfill),
  // make every chunk a resume point.
  for (bool alerts : {true, false}) {
    after_chunk.clear();
    const Instant from = alerts ? stop : stop + std::chrono::hours(48);
    o.alerts_enabled = alerts;
    if (!alerts) o.resume_point_series_points = 0;
    ASSERT_TRUE(runner->Run(from, from + std::chrono::hours(48), o, nullptr).ok());
    ASSERT_EQ(after_chunk.size(), 2u);
    EXPECT_EQ(after_chunk[0].first, ToUnixSeconds(from + std::chrono::hours(24))) << alerts;
  }
}

TEST_F(PipelineTest, ARunThatStopsAtTheDataEndAfterAChunkThatWasNoResumePointSavesOne) {
  auto source = *connectors::OpenSource(detector_);
  auto runner = *DetectorRunner::Create(detector_, "test", *store_, *source);
  const int64_t id = store_->GetDetector(detector_.name)->id;
  RunOptions o;
  o.chunk_intervals = 24;
  const Instant day = data_.start + std::chrono::hours(24);
  ASSERT_TRUE(runner->Run(data_.start, day, o, nullptr).ok());  // the series, a day
  // Day-long chunks from `day` end where the data does: the chunk after the
  // last one has no rows and commits nothing, so the run saves its resume
  // point by itself.
  o.resume_point_series_points = kResumePointSeriesPoints;
  o.stop_at_data_end = true;
  int chunks = 0;
  o.progress = [&](Instant, const RunStats&) {
    ++chunks;
    EXPECT_EQ(*store_->GetWatermark(id), ToUnixSeconds(day));
  };
  RunStats stats;
  ASSERT_TRUE(runner->Run(day, data_.end + std::chrono::hours(24 * 10), o, &stats).ok());
  EXPECT_EQ(chunks, 76);
  EXPECT_EQ(stats.data_end, data_.end);
  EXPECT_EQ(*store_->GetWatermark(id), ToUnixSeconds(data_.end));
  EXPECT_EQ(store_->LoadModelStates(id)->size(), store_->ListSeries(id)->size());
}

TEST_F(PipelineTest, ARunStoppedBetweenResumePointsIsRedoneFromTheLastOneWithTheSameResults) {
  const Instant mid = data_.start + std::chrono::hours(24 * 5);
  const Instant stop = data_.start + std::chrono::hours(24 * 20);
  RunOptions o;
  o.chunk_intervals = 24;
  o.resume_point_series_points = kResumePointSeriesPoints;
  auto run = [&](Instant from, Instant to, int fail_at) {
    auto source = *connectors::OpenSource(detector_);
    StoppingSource stopping(*source, fail_at);
    auto runner = *DetectorRunner::Create(detector_, "test", *store_, stopping);
    return runner->Run(from, to, o, nullptr);
  };
  ASSERT_TRUE(run(data_.start, stop, 0).ok());
  const int64_t id = store_->GetDetector(detector_.name)->id;
  const auto whole = Snapshot();
  const auto whole_states = *store_->LoadModelStates(id);
  ASSERT_EQ(whole_states.size(), store_->ListSeries(id)->size());

  ASSERT_TRUE(store_->ResetFrom(id, ToUnixSeconds(data_.start)).ok());
  ASSERT_TRUE(run(data_.start, mid, 0).ok());  // a resume point at `mid`
  const auto mid_states = *store_->LoadModelStates(id);
  // Stopped after eight more chunks were written: their results are stored,
  // but the watermark and the model states are still those of `mid`.
  Status stopped = run(mid, stop, 9);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(*store_->GetWatermark(id), ToUnixSeconds(mid));
  EXPECT_EQ(*store_->LoadModelStates(id), mid_states);
  EXPECT_FALSE(store_
                   ->ListPoints(store_->ListSeries(id)->front().id, ToUnixSeconds(mid) + 24 * 3600 * 7,
                                ToUnixSeconds(mid) + 24 * 3600 * 8)
                   ->empty());
  // Resuming from the watermark rewrites those chunks with the same results.
  ASSERT_TRUE(run(FromUnixSeconds(**store_->GetWatermark(id)), stop, 0).ok());
  EXPECT_EQ(Snapshot(), whole);
  EXPECT_EQ(*store_->LoadModelStates(id), whole_states);
  EXPECT_EQ(*store_->GetWatermark(id), ToUnixSeconds(stop));
}

TEST_F(PipelineTest, IncidentsSpanConsecutiveIntervalsAndMeasuresAreRelated) {
  ASSERT_TRUE(Backtest(data_.start, data_.end).ok());
  store::GroupQuery q;
  q.limit = 1 << 30;
  q.newest_first = false;
  auto groups = *store_->ListGroups(q);
  ASSERT_FALSE(groups.empty());
  std::map<std::pair<std::string, int64_t>, const store::GroupRecord*> by_key;
  for (const auto& g : groups) by_key[{g.measure, g.ts}] = &g;
  int continued = 0, revenue_caused_by_views = 0;
  for (const auto& g : groups) {
    auto prev = by_key.find({g.measure, g.ts - 3600});
    if (prev != by_key.end()) {
      EXPECT_EQ(g.incident_ts, prev->second->incident_ts) << g.id;
      ++continued;
    } else {
      EXPECT_EQ(g.incident_ts, g.ts) << g.id;
    }
    EXPECT_GE(g.incident_end_ts, g.end_ts);
    EXPECT_GE(g.incident_severity, g.severity);
    if (g.measure == "revenue" &&
        g.related.find(R"("measure":"views","relation":"cause")") != std::string::npos) {
      ++revenue_caused_by_views;
    }
  }
  EXPECT_GT(continued, 0);  // the level shifts last hours
  // Views events drive revenue (revenue = views x revenue per view).
  EXPECT_GT(revenue_caused_by_views, 0);
  // One row per incident when asked.
  q.incidents_only = true;
  auto incidents = *store_->ListGroups(q);
  EXPECT_EQ(static_cast<int>(incidents.size()), static_cast<int>(groups.size()) - continued);
}

TEST_F(PipelineTest, SourceErrorsNameTheDetectorAndRange) {
  detector_.query = "select * from no_such_table where ts >= {{interval_start}} and ts < {{interval_end}}";
  auto stats = Backtest(data_.start, data_.end);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("ecommerce"), std::string::npos) << stats.status().message();
  EXPECT_NE(stats.status().message().find("no such table"), std::string::npos);
}

// Feedback on generated data: one hourly series with a daily cycle and four
// one-hour events: a spike (judged), the same spike again, a spike 2.5 times
// as large, and a dip of the first one's size.
class FeedbackTest : public ::testing::Test {
 protected:
  static constexpr int64_t kStart = 1735689600;  // 2025-01-01T00:00:00Z
  static constexpr int64_t kDays = 40;
  static int64_t At(int64_t day, int64_t hour) { return kStart + (day * 24 + hour) * 3600; }

  void SetUp() override {
    const std::string warehouse = dir_.File("w.db");
    ASSERT_TRUE(testing::WriteHourlyWarehouse(warehouse, kStart, kDays, {"v"}, [](int64_t ts, double v) {
                  if (ts == At(30, 10) || ts == At(33, 10)) v += 600;
                  if (ts == At(36, 10)) v += 1500;
                  if (ts == At(38, 10)) v -= 600;
                  return v;
                }).ok());
    config_ = fmt::format(
        "name: fb\nfrequency: PT1H\nsource: {{type: sqlite, path: {}}}\n"
        "query: select ts as timestamp, v from t where ts >= {{{{interval_start}}}} and ts < "
        "{{{{interval_end}}}}\n"
        "measures: [{{name: v, aggregation: SUM}}]\n"
        "alerts:\n  - {{name: hook, target_env: HOOK_URL, min_severity: 70}}\n",
        warehouse);
    auto d = config::LoadDetector(config_, "fb.yaml");
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    detector_ = *d;
  }
  // Runs [from, to) live (alerts on) and returns the interval starts of the
  // triggers queued.
  std::set<int64_t> RunLive(store::Store& store, int64_t from, int64_t to) {
    auto source = *connectors::OpenSource(detector_);
    auto runner = *DetectorRunner::Create(detector_, config_, store, *source);
    RunOptions o;
    o.alerts_enabled = true;
    o.chunk_intervals = 24;
    RunStats stats;
    Status s = runner->Run(FromUnixSeconds(from), FromUnixSeconds(to), o, &stats);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::printf("run %lld..%lld: %lld intervals, %lld rows, %lld points, %lld anomalies, %lld alerts\n",
                static_cast<long long>(from), static_cast<long long>(to),
                static_cast<long long>(stats.intervals), static_cast<long long>(stats.rows_read),
                static_cast<long long>(stats.points), static_cast<long long>(stats.anomalies),
                static_cast<long long>(stats.alerts));
    std::set<int64_t> out;
    for (const auto& r : *store.ListOutbox({})) {
      if (r.kind == "trigger" && r.group_ts >= from && r.group_ts < to) out.insert(r.group_ts);
    }
    return out;
  }

  // Trains on 30 days without alerts, runs to just after the first spike,
  // records `relevant` on it, then runs the rest; returns the triggers after.
  std::set<int64_t> Scenario(bool relevant, const std::string& name) {
    auto store = std::move(store::OpenSqliteStore(dir_.File(name + ".db"))).value();
    auto source = *connectors::OpenSource(detector_);
    auto runner = *DetectorRunner::Create(detector_, config_, *store, *source);
    RunOptions backfill;  // alerts off
    EXPECT_TRUE(runner->Run(FromUnixSeconds(kStart), FromUnixSeconds(At(30, 0)), backfill, nullptr).ok());
    EXPECT_TRUE(store->ListOutbox({})->empty()) << "backfill raised alerts";
    std::set<int64_t> first = RunLive(*store, At(30, 0), At(30, 12));
    EXPECT_EQ(first, std::set<int64_t>{At(30, 10)}) << "the first spike alerts";
    auto groups =
        *store->ListGroups({std::string("fb"), std::nullopt, 0, At(30, 10), At(30, 11), 10, 0, true});
    EXPECT_EQ(groups.size(), 1u);
    if (groups.empty()) return {};
    for (const auto& a : *store->ListAnomalies(groups[0].id)) {
      store::FeedbackRecord f;
      f.detector_id = groups[0].detector_id;
      f.group_id = groups[0].id;
      f.series_id = a.series_id;
      f.ts = a.ts;
      f.relevant = relevant;
      f.direction = a.direction;
      f.value = a.value;
      f.expected = a.expected;
      EXPECT_TRUE(store->AddFeedback(f).ok());
    }
    return RunLive(*store, At(30, 12), At(kDays, 0));
  }

  testing::TempDir dir_{"osprey_feedback_"};
  std::string config_;
  config::Detector detector_;
};

TEST_F(FeedbackTest, NotRelevantSilencesTheRepeatButNotALargerOrDifferentAnomaly) {
  const std::set<int64_t> after = Scenario(false, "not_relevant");
  EXPECT_EQ(after.count(At(33, 10)), 0u) << "the dismissed pattern alerted again";
  EXPECT_EQ(after.count(At(36, 10)), 1u) << "a larger spike must still alert";
  EXPECT_EQ(after.count(At(38, 10)), 1u) << "a dip must still alert";
}

TEST_F(FeedbackTest, RelevantKeepsTheRepeatAlerting) {
  const std::set<int64_t> after = Scenario(true, "relevant");
  EXPECT_EQ(after.count(At(33, 10)), 1u);
  EXPECT_EQ(after.count(At(36, 10)), 1u);
  EXPECT_EQ(after.count(At(38, 10)), 1u);
}

}  // namespace
}  // namespace osprey::app
