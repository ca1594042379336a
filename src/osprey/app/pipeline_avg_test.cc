// Averages in the pipeline: an AVG measure's point carries how many rows it
// averages (ingest::SeriesPoint::rows), and the model judges the point by
// them (detect::Observation::rows). Requests arrive at random, so hours of
// the same time of day have two requests or eighty: the band of an hour of
// few requests must be wider than that of an hour of many.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "osprey/config/loader.h"
#include "osprey/connectors/sqlite_source.h"
#include "osprey/store/store.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey::app {
namespace {

constexpr int64_t kStart = 1735689600;  // 2025-01-01T00:00:00Z
constexpr int64_t kDays = 35;

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// The relative band of the scored hours of the last three weeks of an
// `api` detector's region `eu`, split by the hour's number of requests: the
// median with <= 4 requests over the median with >= 30.
double BandRatio(store::Store& store, const std::map<int64_t, int64_t>& requests) {
  std::vector<double> few, many;
  auto d = *store.GetDetector("api");
  for (const auto& series : *store.ListSeries(d.id)) {
    if (series.dims != R"({"region":"eu"})" || series.measure != "latency") continue;
    for (const auto& p : *store.ListPoints(series.id, kStart + 14 * 86400, kStart + kDays * 86400)) {
      if (!p.expected || !p.upper || !p.lower || *p.expected <= 0) continue;
      const double width = (*p.upper - *p.lower) / *p.expected;
      const int64_t n = requests.at(p.ts);
      if (n <= 4) few.push_back(width);
      if (n >= 30) many.push_back(width);
    }
  }
  const double ratio = Median(few) / Median(many);
  std::printf("relative band: %zu hours with <= 4 requests %.2f, %zu with >= 30 %.2f (ratio %.2f)\n",
              few.size(), Median(few), many.size(), Median(many), ratio);
  EXPECT_GE(few.size(), 20u);
  EXPECT_GE(many.size(), 20u);
  return ratio;
}

// Each request's latency: lognormal, mean 100 ms. About 12 requests an
// hour, but some hours 2 and some 80. Calls row(ts, n, latencies) per hour.
void Requests(const std::function<void(int64_t, int64_t, const std::vector<double>&)>& hour) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  const double sigma = 0.8;
  for (int64_t i = 0; i < kDays * 24; ++i) {
    const double lambda = 12 * std::exp(normal(rng));
    const int64_t n = std::max<long>(1, std::poisson_distribution<long>(lambda)(rng));
    std::vector<double> latencies;
    for (int64_t k = 0; k < n; ++k)
      latencies.push_back(100 * std::exp(sigma * normal(rng) - sigma * sigma / 2));
    hour(kStart + i * 3600, n, latencies);
  }
}

TEST(AvgPipelineTest, AnAverageIsJudgedByTheRowsItIsOver) {
  testing::TempDir dir("osprey_avg_");
  const std::string warehouse = dir.File("w.db");
  std::map<int64_t, int64_t> requests;  // rows per hour
  {
    auto db = connectors::SqliteWriter::Open(warehouse);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Execute("create table t(ts text not null, region text not null, latency real)").ok());
    TimestampFormat f = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss");
    std::vector<std::string> stamps;
    stamps.reserve(kDays * 24 * 200);
    std::vector<std::vector<Cell>> rows;
    Requests([&](int64_t ts, int64_t n, const std::vector<double>& latencies) {
      requests[ts] = n;
      for (int64_t k = 0; k < n; ++k) {
        stamps.push_back(f.Format(FromUnixSeconds(ts + k * 3600 / n), TimeZone::Utc()));
        rows.push_back(
            {Cell::Text(stamps.back()), Cell::Text("eu"), Cell::Real(latencies[static_cast<size_t>(k)])});
      }
    });
    ASSERT_TRUE((*db)->InsertRows("insert into t values (?, ?, ?)", rows).ok());
  }
  const std::string text = fmt::format(
      "name: api\nfrequency: PT1H\nsource: {{type: sqlite, path: {}}}\n"
      "query: select ts as timestamp, region, latency from t where ts >= "
      "{{{{interval_start}}}} and ts < {{{{interval_end}}}}\n"
      "dimensions: [region]\n"
      "measures:\n"
      "  - {{name: latency, aggregation: AVG}}\n",
      warehouse);
  auto detector = config::LoadDetector(text, "api.yaml");
  ASSERT_TRUE(detector.ok()) << detector.status().ToString();
  auto store = std::move(store::OpenSqliteStore(dir.File("state.db"))).value();
  auto run = testing::Backtest(*detector, *store, FromUnixSeconds(kStart),
                               FromUnixSeconds(kStart + kDays * 86400), text);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  // The sd of a mean of n rows goes as 1 / sqrt(n): sqrt(30 / 4) = 2.7 at
  // the edges of the two groups. Judged by time of day alone, both groups
  // would have the same band.
  EXPECT_GE(BandRatio(*store, requests), 2.0);
}

// The same requests in a table that holds each hour's mean latency and its
// number of requests (one row per hour and region, as pre-aggregated
// tables do): with `weight: requests` the average is judged by the
// requests it is over, as if the rows were there. A plain AVG over such
// rows sees one row an hour (band ratio about 1).
TEST(AvgPipelineTest, AWeightedAverageIsJudgedByItsWeight) {
  testing::TempDir dir("osprey_avg_");
  const std::string warehouse = dir.File("w.db");
  std::map<int64_t, int64_t> requests;
  {
    auto db = connectors::SqliteWriter::Open(warehouse);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)
                    ->Execute("create table t(ts integer not null, region text not null, latency real, "
                              "requests integer)")
                    .ok());
    std::vector<std::vector<Cell>> rows;
    Requests([&](int64_t ts, int64_t n, const std::vector<double>& latencies) {
      requests[ts] = n;
      double sum = 0;
      for (double l : latencies) sum += l;
      rows.push_back(
          {Cell::Integer(ts), Cell::Text("eu"), Cell::Real(sum / static_cast<double>(n)), Cell::Integer(n)});
    });
    ASSERT_TRUE((*db)->InsertRows("insert into t values (?, ?, ?, ?)", rows).ok());
  }
  double ratio[2] = {0, 0};
  for (int weighted = 0; weighted < 2; ++weighted) {
    const std::string text = fmt::format(
        "name: api\nfrequency: PT1H\nsource: {{type: sqlite, path: {}}}\n"
        "query: select * from t where ts >= {{{{interval_start}}}} and ts < {{{{interval_end}}}}\n"
        "timestamp: {{column: ts, format: epoch}}\n"
        "dimensions: [region]\n"
        "measures:\n"
        "  - {{name: latency, aggregation: AVG{}}}\n"
        "  - {{name: requests, aggregation: SUM}}\n",
        warehouse, weighted ? ", weight: requests" : "");
    auto detector = config::LoadDetector(text, "api.yaml");
    ASSERT_TRUE(detector.ok()) << detector.status().ToString();
    auto store = std::move(store::OpenSqliteStore(dir.File(fmt::format("state{}.db", weighted)))).value();
    auto run = testing::Backtest(*detector, *store, FromUnixSeconds(kStart),
                                 FromUnixSeconds(kStart + kDays * 86400), text);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    ratio[weighted] = BandRatio(*store, requests);
  }
  EXPECT_GE(ratio[1], 2.0);
  EXPECT_LT(ratio[0], 1.5);
}

}  // namespace
}  // namespace osprey::app
