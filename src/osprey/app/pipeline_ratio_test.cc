// Ratio measures in the pipeline (docs/configuration.md, "Ratio measures"):
// conversion = orders / views over region x channel. Every series' value is
// SUM(orders) / SUM(views) of that series (never an average of ratios), a
// leaf without views has no conversion (missing, not 0), and when orders
// fall in one region while its views hold, the conversion series are
// flagged and the root cause names that region, with the orders' and views'
// own changes beside it.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "osprey/app/pipeline.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/source.h"
#include "osprey/connectors/sqlite_source.h"
#include "osprey/rca/codec.h"
#include "osprey/testing/files.h"

namespace osprey::app {
namespace {

constexpr int64_t kStart = 1735689600;  // 2025-01-01T00:00:00Z
constexpr int64_t kDays = 36;
int64_t At(int64_t day, int64_t hour) { return kStart + (day * 24 + hour) * 3600; }

// Orders in west convert at 2 % instead of 5 % from day 33 10:00 to 16:00;
// its views are unchanged.
const int64_t kDropFrom = At(33, 10);
const int64_t kDropTo = At(33, 16);
// north/app has no views at all in this hour: its conversion is missing.
const int64_t kNoViews = At(34, 3);

const char* const kRegions[] = {"east", "west", "north", "south"};
const char* const kChannels[] = {"web", "app"};

class RatioPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    warehouse_ = dir_.File("w.db");
    auto db = connectors::SqliteWriter::Open(warehouse_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)
                    ->Execute("create table t(ts text not null, region text not null, channel text not "
                              "null, views real, orders real)")
                    .ok());
    TimestampFormat f = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss");
    std::mt19937_64 rng(20250101);
    std::vector<std::vector<Cell>> rows;
    // Cells view their text: the strings live as long as the rows.
    std::vector<std::string> stamps;
    stamps.reserve(kDays * 24);
    for (int64_t i = 0; i < kDays * 24; ++i) {
      const int64_t ts = kStart + i * 3600;
      stamps.push_back(f.Format(FromUnixSeconds(ts), TimeZone::Utc()));
      const std::string& stamp = stamps.back();
      const double daily = 1 + 0.6 * std::sin(2 * 3.14159265358979 * static_cast<double>(i % 24 - 6) / 24);
      for (size_t r = 0; r < 4; ++r) {
        for (size_t c = 0; c < 2; ++c) {
          const double mean = 400.0 * daily * (1 + 0.5 * static_cast<double>(r)) * (c == 0 ? 1.0 : 0.6);
          double views = static_cast<double>(std::poisson_distribution<long>(mean)(rng));
          if (ts == kNoViews && r == 2 && c == 1) views = 0;
          const bool drop = r == 1 && ts >= kDropFrom && ts < kDropTo;
          const double rate = drop ? 0.02 : 0.05;
          const double orders =
              static_cast<double>(std::binomial_distribution<long>(static_cast<long>(views), rate)(rng));
          views_[ts] += views;
          orders_[ts] += orders;
          rows.push_back({Cell::Text(stamp), Cell::Text(kRegions[r]), Cell::Text(kChannels[c]),
                          Cell::Real(views), Cell::Real(orders)});
        }
      }
    }
    ASSERT_TRUE((*db)->InsertRows("insert into t values (?, ?, ?, ?, ?)", rows).ok());
    db->reset();  // closes the warehouse: the rows are committed
    text_ = fmt::format(
        "name: shop\nfrequency: PT1H\nsource: {{type: sqlite, path: {}}}\n"
        "query: select ts as timestamp, region, channel, views, orders from t where ts >= "
        "{{{{interval_start}}}} and ts < {{{{interval_end}}}}\n"
        "dimensions: [region, channel]\n"
        "measures:\n"
        "  - {{name: conversion, ratio: {{numerator: orders, denominator: views}}}}\n"
        "  - {{name: views, aggregation: SUM}}\n"
        "  - {{name: orders, aggregation: SUM}}\n",
        warehouse_);
    auto d = config::LoadDetector(text_, "shop.yaml");
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    detector_ = *d;
    store_ = std::move(store::OpenSqliteStore(dir_.File("state.db"))).value();
    auto source = *connectors::OpenSource(detector_);
    auto runner = DetectorRunner::Create(detector_, text_, *store_, *source);
    ASSERT_TRUE(runner.ok()) << runner.status().ToString();
    RunOptions o;
    o.chunk_intervals = 48;
    Status s = (*runner)->Run(FromUnixSeconds(kStart), FromUnixSeconds(At(kDays, 0)), o, &stats_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::optional<store::PointRecord> PointAt(const std::string& measure, const std::string& dims, int64_t ts) {
    auto detector = *store_->GetDetector("shop");
    for (const auto& s : *store_->ListSeries(detector.id)) {
      if (s.measure != measure || s.dims != dims) continue;
      auto points = *store_->ListPoints(s.id, ts, ts + 1);
      if (!points.empty()) return points[0];
    }
    return std::nullopt;
  }

  std::vector<store::GroupRecord> Groups(const std::string& measure, int64_t from, int64_t to) {
    store::GroupQuery q;
    q.detector = "shop";
    q.measure = measure;
    q.since = from;
    q.until = to;
    q.limit = 1000;
    q.newest_first = false;
    return *store_->ListGroups(q);
  }

  testing::TempDir dir_{"osprey_ratio_"};
  std::string warehouse_, text_;
  config::Detector detector_;
  std::unique_ptr<store::Store> store_;
  RunStats stats_;
  std::map<int64_t, double> views_, orders_;
};

TEST_F(RatioPipelineTest, RollUpIsTheRatioOfSumsAndNoViewsIsMissing) {
  for (int64_t ts : {At(20, 0), At(33, 12), kNoViews}) {
    auto total = PointAt("conversion", "{}", ts);
    ASSERT_TRUE(total && total->value) << ts;
    EXPECT_DOUBLE_EQ(*total->value, orders_[ts] / views_[ts]) << ts;
  }
  auto empty = PointAt("conversion", R"({"region":"north","channel":"app"})", kNoViews);
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->value.has_value()) << "a leaf without views has no conversion, not 0";
  auto views = PointAt("views", R"({"region":"north","channel":"app"})", kNoViews);
  ASSERT_TRUE(views && views->value);
  EXPECT_EQ(*views->value, 0);
}

TEST_F(RatioPipelineTest, ConversionDropIsFlaggedAndTheRootCauseNamesTheRegion) {
  const auto groups = Groups("conversion", kDropFrom, kDropTo);
  std::printf("conversion groups in the drop: %zu of %lld hours\n", groups.size(),
              static_cast<long long>((kDropTo - kDropFrom) / 3600));
  // West converts at 2 % on ~1,500 views an hour where 5 % is expected:
  // about 4.4 binomial standard deviations in the first hour, which is
  // severity ~48; the sustained evidence of the following hours is more.
  ASSERT_GE(groups.size(), 4u);
  int named = 0;
  for (const auto& g : groups) {
    auto causes = rca::DecodeRootCauses(g.root_causes);
    ASSERT_TRUE(causes.ok()) << g.root_causes;
    if (causes->empty()) continue;
    std::printf("  %s: %s share %.1f %s\n", FormatIso(FromUnixSeconds(g.ts)).c_str(),
                rca::ElementText(causes->front()).c_str(), causes->front().share,
                causes->front().ratio ? rca::RatioSidesText(*causes->front().ratio).c_str() : "");
    if (causes->size() == 1 &&
        causes->front().element == std::map<std::string, std::string>{{"region", "west"}}) {
      ++named;
      // Explained through its sides: the orders fell, the views held.
      ASSERT_TRUE(causes->front().ratio.has_value());
      const rca::RatioSides& s = *causes->front().ratio;
      EXPECT_EQ(s.numerator, "orders");
      EXPECT_LT(s.numerator_actual, 0.7 * s.numerator_expected);
      EXPECT_NEAR(s.denominator_actual / s.denominator_expected, 1.0, 0.15);
    }
  }
  // The first four hours name west alone. Later hours of the drop are
  // flagged too since proportions are judged as counts (sustained evidence:
  // 6 of 6 hours, was 4), and there the root-cause search does not always
  // name a slice (an empty set, never a wrong one).
  EXPECT_GE(named, 4);
  for (const auto& g : groups) {
    auto causes = rca::DecodeRootCauses(g.root_causes);
    ASSERT_TRUE(causes.ok());
    for (const auto& c : *causes) {
      EXPECT_EQ(c.element, (std::map<std::string, std::string>{{"region", "west"}})) << g.root_causes;
    }
  }
  // Outside the drop, conversion is quiet: at most a few groups in 30 days
  // of scored history (binomial noise at these volumes is small, and the
  // model knows it from the views).
  const auto before = Groups("conversion", At(8, 0), At(33, 0));
  std::printf("conversion groups on days 8-32: %zu\n", before.size());
  EXPECT_LE(before.size(), 6u);
}

}  // namespace
}  // namespace osprey::app
