// End-to-end tests of the pipeline on a small generated warehouse: the real
// SQLite source, ingest, models, grouping and state store.
#include "osprey/app/pipeline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "osprey/app/backtest.h"
#include "osprey/config/loader.h"

namespace osprey::app {
namespace {

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("osprey_pipeline_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    DemoOptions o;
    o.days = 77;
    data_ = GenerateDemoData(o);
    warehouse_ = (dir_ / "warehouse.db").string();
    ASSERT_TRUE(WriteDemoWarehouse(data_, warehouse_).ok());
    auto d = config::LoadDetectorFile(std::string(OSPREY_SOURCE_DIR) + "/examples/ecommerce.yaml");
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    detector_ = *d;
    detector_.source.path = warehouse_;
    detector_.source.connection_env.clear();
    store_ = std::move(store::OpenSqliteStore((dir_ / "state.db").string())).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Result<RunStats> Backtest(Instant from, Instant to) {
    BacktestRequest r;
    r.detector = detector_;
    r.config_text = "test";
    r.from = from;
    r.to = to;
    r.now = to;
    return RunBacktest(r, *store_);
  }

  std::vector<std::string> Snapshot() {
    // Everything the run stored that a user can see, as text.
    std::vector<std::string> out;
    auto groups = *store_->ListGroups({std::nullopt, std::nullopt, 0, std::nullopt, std::nullopt,
                                       1 << 30, 0, false});
    for (const auto& g : groups) {
      out.push_back(fmt::format("G {} {} {:.6f} {} {}", g.measure, g.ts, g.severity, g.contributions,
                                g.root_causes));
      for (const auto& a : *store_->ListAnomalies(g.id)) {
        out.push_back(fmt::format("A {} {} {:.6f} {:.6f}", a.label, a.ts, a.value, a.expected));
      }
    }
    auto detector = *store_->GetDetector(detector_.name);
    for (const auto& s : *store_->ListSeries(detector.id)) {
      for (const auto& p : *store_->ListPoints(s.id, 0, 1LL << 40)) {
        out.push_back(fmt::format("P {} {} {} {}", s.label, p.ts, p.value.value_or(-1),
                                  p.expected.value_or(-1)));
      }
    }
    return out;
  }

  std::filesystem::path dir_;
  DemoData data_;
  std::string warehouse_;
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
  std::printf("events %d found %d groups %d true %d precision %.3f recall %.3f\n", ev.events,
              ev.events_found, ev.groups, ev.groups_true, ev.precision(), ev.recall());
  EXPECT_GE(ev.recall(), 0.85);
  EXPECT_GE(ev.precision(), 0.70);
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

TEST_F(PipelineTest, SourceErrorsNameTheDetectorAndRange) {
  detector_.query = "select * from no_such_table where ts >= {{interval_start}} and ts < {{interval_end}}";
  auto stats = Backtest(data_.start, data_.end);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("ecommerce"), std::string::npos) << stats.status().message();
  EXPECT_NE(stats.status().message().find("no such table"), std::string::npos);
}

}  // namespace
}  // namespace osprey::app
