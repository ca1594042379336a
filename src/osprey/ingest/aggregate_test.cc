#include "osprey/ingest/aggregate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace osprey::ingest {
namespace {

config::Detector MakeDetector(config::Aggregation agg) {
  config::Detector d;
  d.name = "t";
  d.frequency = *Duration::Parse("PT1H");
  d.dimensions = {"platform", "marketplace"};
  d.measures.resize(1);
  d.measures[0].name = "v";
  d.measures[0].aggregation = agg;
  return d;
}

Instant T0() { return *ParseInstant("2020-10-01T00:00:00Z", TimeZone::Utc()); }

struct Fixture {
  explicit Fixture(config::Detector det)
      : d(std::move(det)),
        grid(*IntervalGrid::Create(d.frequency, d.timezone)),
        catalog(d),
        agg(d, grid, catalog, T0(), T0() + std::chrono::hours(2)) {
    EXPECT_TRUE(agg.OnColumns({"timestamp", "platform", "marketplace", "v"}).ok());
  }
  void Row(std::string ts, std::string p, std::string m, Cell v) {
    texts.push_back(std::move(ts));
    texts.push_back(std::move(p));
    texts.push_back(std::move(m));
    size_t n = texts.size();
    std::vector<Cell> cells = {Cell::Text(texts[n - 3]), Cell::Text(texts[n - 2]), Cell::Text(texts[n - 1]),
                               v};
    EXPECT_TRUE(agg.OnRow(cells).ok());
  }
  // The rows each point of an hour averages (SeriesPoint::rows).
  std::map<std::string, std::optional<double>> Rows(int hour) {
    std::map<std::string, std::optional<double>> out;
    auto& iv = agg.intervals().at(T0() + std::chrono::hours(hour));
    for (const auto& p : RollUp(d, iv, 2)) out[catalog.Label(p.key)] = p.rows;
    return out;
  }
  std::map<std::string, std::optional<double>> Points(int hour) {
    std::map<std::string, std::optional<double>> out;
    auto& iv = agg.intervals().at(T0() + std::chrono::hours(hour));
    for (const auto& p : RollUp(d, iv, 2)) out[catalog.Label(p.key)] = p.value;
    return out;
  }
  config::Detector d;
  IntervalGrid grid;
  SeriesCatalog catalog;
  Aggregator agg;
  std::deque<std::string> texts;
};

void AddStandardRows(Fixture& f) {
  f.Row("2020-10-01 00:10:00", "web", "us", Cell::Integer(10));
  f.Row("2020-10-01 00:20:00", "web", "us", Cell::Real(20));
  f.Row("2020-10-01 00:30:00", "web", "de", Cell::Text("5"));
  f.Row("2020-10-01 00:40:00", "app", "us", Cell::Integer(1));
  f.Row("2020-10-01 00:50:00", "app", "us", Cell::Null());
  f.Row("2020-10-01 01:00:00", "app", "us", Cell::Integer(7));
}

TEST(AggregateTest, Sum) {
  Fixture f(MakeDetector(config::Aggregation::kSum));
  AddStandardRows(f);
  auto p = f.Points(0);
  EXPECT_EQ(p["v{platform=web, marketplace=us}"], 30);
  EXPECT_EQ(p["v{platform=web, marketplace=de}"], 5);
  EXPECT_EQ(p["v{platform=app, marketplace=us}"], 1);
  EXPECT_EQ(p["v{platform=web, marketplace=ALL}"], 35);
  EXPECT_EQ(p["v{platform=ALL, marketplace=us}"], 31);
  EXPECT_EQ(p["v{platform=ALL, marketplace=ALL}"], 36);
  EXPECT_EQ(f.Points(1)["v{platform=app, marketplace=us}"], 7);
}

TEST(AggregateTest, Count) {
  Fixture f(MakeDetector(config::Aggregation::kCount));
  AddStandardRows(f);
  auto p = f.Points(0);
  EXPECT_EQ(p["v{platform=web, marketplace=us}"], 2);
  EXPECT_EQ(p["v{platform=app, marketplace=us}"], 1);  // the NULL is not counted
  EXPECT_EQ(p["v{platform=ALL, marketplace=ALL}"], 4);
}

TEST(AggregateTest, AvgRollsUpFromSumAndCount) {
  Fixture f(MakeDetector(config::Aggregation::kAvg));
  AddStandardRows(f);
  auto p = f.Points(0);
  EXPECT_EQ(p["v{platform=web, marketplace=us}"], 15);
  EXPECT_EQ(p["v{platform=web, marketplace=de}"], 5);
  // (10 + 20 + 5) / 3, not the average of the averages 15 and 5.
  EXPECT_DOUBLE_EQ(*p["v{platform=web, marketplace=ALL}"], 35.0 / 3);
  // Each average says how many rows it is over (the model's noise follows
  // them); the NULL is not a row of the average.
  auto rows = f.Rows(0);
  EXPECT_EQ(rows["v{platform=web, marketplace=us}"], 2);
  EXPECT_EQ(rows["v{platform=app, marketplace=us}"], 1);
  EXPECT_EQ(rows["v{platform=web, marketplace=ALL}"], 3);
  EXPECT_EQ(rows["v{platform=ALL, marketplace=ALL}"], 4);
}

TEST(AggregateTest, OnlyAveragesCarryTheirRows) {
  Fixture f(MakeDetector(config::Aggregation::kSum));
  AddStandardRows(f);
  for (const auto& [label, rows] : f.Rows(0)) EXPECT_FALSE(rows.has_value()) << label;
}

// Rows that are averages themselves (each hour's mean latency and the
// requests it is over): a weighted AVG weighs each row by its requests, in
// leaves and roll-ups, and its point is over the requests, not the rows. A
// row without a positive weight has no value to weigh.
TEST(AggregateTest, WeightedAvgWeighsEachRowByItsWeight) {
  config::Detector d = MakeDetector(config::Aggregation::kAvg);
  d.measures[0].name = "latency";
  d.measures[0].weight = "requests";
  d.measures.push_back({});
  d.measures[1].name = "requests";
  const IntervalGrid grid = *IntervalGrid::Create(d.frequency, d.timezone);
  SeriesCatalog catalog(d);
  Aggregator agg(d, grid, catalog, T0(), T0() + std::chrono::hours(1));
  ASSERT_TRUE(agg.OnColumns({"timestamp", "platform", "marketplace", "latency", "requests"}).ok());
  const std::string ts = "2020-10-01 00:00:00";
  for (const auto& [p, latency, requests] : std::vector<std::tuple<std::string, Cell, Cell>>{
           {"web", Cell::Real(100), Cell::Integer(30)},
           {"web", Cell::Real(200), Cell::Integer(10)},
           {"app", Cell::Real(400), Cell::Integer(2)},
           {"app", Cell::Real(900), Cell::Integer(0)},  // no requests: no latency to weigh
           {"app", Cell::Real(900), Cell::Null()}}) {
    ASSERT_TRUE(agg.OnRow({Cell::Text(ts), Cell::Text(p), Cell::Text("us"), latency, requests}).ok());
  }
  std::map<std::string, std::pair<std::optional<double>, std::optional<double>>> got;  // value, rows
  for (const auto& pt : RollUp(d, agg.intervals().at(T0()), 2))
    got[catalog.Label(pt.key)] = {pt.value, pt.rows};
  EXPECT_DOUBLE_EQ(*got["latency{platform=web, marketplace=us}"].first, (100.0 * 30 + 200 * 10) / 40);
  EXPECT_EQ(got["latency{platform=web, marketplace=us}"].second, 40);
  EXPECT_EQ(got["latency{platform=app, marketplace=us}"].first, 400);
  EXPECT_EQ(got["latency{platform=app, marketplace=us}"].second, 2);
  // The total: every request's latency once, not the mean of the rows (340).
  EXPECT_DOUBLE_EQ(*got["latency{platform=ALL, marketplace=ALL}"].first, (3000.0 + 2000 + 800) / 42);
  EXPECT_EQ(got["latency{platform=ALL, marketplace=ALL}"].second, 42);
  EXPECT_EQ(got["requests{platform=ALL, marketplace=ALL}"].first, 42);
}

// Naive local times in a zone with DST: fall-back's 01:00-01:59 is shown
// twice and spring-forward's 02:00-02:59 never. An hourly detector cannot
// tell which interval such a row belongs to, so it is rejected with the
// reason (both intervals stay missing rather than one holding two hours);
// a daily detector can, so it keeps the row.
TEST(AggregateTest, AmbiguousLocalTimesAreRejectedWhereTheyMeanTwoIntervals) {
  for (const char* frequency : {"PT1H", "P1D"}) {
    config::Detector d = MakeDetector(config::Aggregation::kSum);
    d.frequency = *Duration::Parse(frequency);
    d.timezone = *TimeZone::Load("America/New_York");
    const IntervalGrid grid = *IntervalGrid::Create(d.frequency, d.timezone);
    SeriesCatalog catalog(d);
    const Instant from = *ParseInstant("2024-03-09T00:00:00Z", TimeZone::Utc());
    const Instant to = *ParseInstant("2024-11-05T00:00:00Z", TimeZone::Utc());
    Aggregator agg(d, grid, catalog, from, to);
    ASSERT_TRUE(agg.OnColumns({"timestamp", "platform", "marketplace", "v"}).ok());
    for (const char* ts :
         {"2024-11-03 00:30:00", "2024-11-03 01:30:00", "2024-11-03 01:30:00", "2024-11-03 02:30:00",
          "2024-03-10 01:30:00", "2024-03-10 02:30:00", "2024-03-10 03:30:00"}) {
      ASSERT_TRUE(agg.OnRow({Cell::Text(ts), Cell::Text("web"), Cell::Text("us"), Cell::Integer(1)}).ok());
    }
    DataQuality quality;
    double total = 0;
    for (auto& [start, interval] : agg.intervals()) {
      quality.Merge(interval.quality);
      for (const auto& p : RollUp(d, interval, 2)) {
        if (p.key.values[0] == kAll && p.key.values[1] == kAll && p.value) total += *p.value;
      }
    }
    if (std::string(frequency) == "P1D") {
      EXPECT_EQ(quality.rows_rejected, 0);
      EXPECT_EQ(total, 7);
      continue;
    }
    EXPECT_EQ(quality.rows_rejected, 3);
    EXPECT_EQ(total, 4);
    EXPECT_EQ(quality.rejected_by_reason["ambiguous local time"], 3);
    ASSERT_EQ(quality.examples.size(), 3u);
    EXPECT_EQ(
        quality.examples[0],
        "row 2: ambiguous local time: 2024-11-03 01:30:00 is shown twice in America/New_York (DST ends), and "
        "the two instants are in different intervals; store UTC or an offset and set timestamp.timezone");
    EXPECT_EQ(
        quality.examples[2],
        "row 6: ambiguous local time: 2024-03-10 02:30:00 does not exist in America/New_York (DST starts), "
        "and the two instants are in different intervals; store UTC or an offset and set timestamp.timezone");
  }
}

TEST(AggregateTest, MinAndMax) {
  Fixture fmin(MakeDetector(config::Aggregation::kMin));
  AddStandardRows(fmin);
  EXPECT_EQ(fmin.Points(0)["v{platform=ALL, marketplace=ALL}"], 1);
  EXPECT_EQ(fmin.Points(0)["v{platform=web, marketplace=us}"], 10);
  Fixture fmax(MakeDetector(config::Aggregation::kMax));
  AddStandardRows(fmax);
  EXPECT_EQ(fmax.Points(0)["v{platform=ALL, marketplace=ALL}"], 20);
  EXPECT_EQ(fmax.Points(0)["v{platform=app, marketplace=ALL}"], 1);
}

TEST(AggregateTest, RollupDepthCapsCardinality) {
  auto d = MakeDetector(config::Aggregation::kSum);
  d.rollup_depth = 0;
  Fixture f(d);
  AddStandardRows(f);
  EXPECT_EQ(f.Points(0).size(), 3u);  // leaves only
  d.rollup_depth = 1;
  Fixture g(d);
  AddStandardRows(g);
  auto p = g.Points(0);
  EXPECT_EQ(p.count("v{platform=ALL, marketplace=ALL}"), 0u);
  EXPECT_EQ(p["v{platform=web, marketplace=ALL}"], 35);
}

TEST(AggregateTest, BadRowsAreCountedAndSkipped) {
  Fixture f(MakeDetector(config::Aggregation::kSum));
  f.Row("2020-10-01 00:10:00", "web", "us", Cell::Integer(10));
  f.Row("yesterday", "web", "us", Cell::Integer(10));
  f.Row("2020-10-01 00:10:00", "web", "us", Cell::Text("ten"));
  f.Row("2020-10-05 00:00:00", "web", "us", Cell::Integer(10));
  std::vector<Cell> null_dim = {Cell::Text("2020-10-01 00:10:00"), Cell::Null(), Cell::Text("us"),
                                Cell::Integer(1)};
  ASSERT_TRUE(f.agg.OnRow(null_dim).ok());
  auto& q = f.agg.intervals().at(T0()).quality;
  EXPECT_EQ(q.rows_read, 5);
  EXPECT_EQ(q.rows_rejected, 4);
  EXPECT_EQ(q.rejected_by_reason["bad timestamp"], 1);
  EXPECT_EQ(q.rejected_by_reason["bad measure"], 1);
  EXPECT_EQ(q.rejected_by_reason["timestamp outside the queried range"], 1);
  EXPECT_EQ(q.rejected_by_reason["dimension is NULL"], 1);
  ASSERT_FALSE(q.examples.empty());
  EXPECT_EQ(q.examples[0].rfind("row 2: bad timestamp", 0), 0u) << q.examples[0];
  EXPECT_EQ(f.Points(0)["v{platform=web, marketplace=us}"], 10);
}

// Intern guesses the next value in the order values were first interned:
// whatever the order they come in later (the same, reversed, shuffled, with
// new ones among them), each value keeps its id and ids stay dense.
TEST(AggregateTest, InternGivesEachValueOneIdInAnyOrder) {
  auto d = MakeDetector(config::Aggregation::kSum);
  SeriesCatalog catalog(d);
  constexpr int kValues = 500;
  auto name = [](int i) { return "v" + std::to_string(i); };
  for (int i = 0; i < kValues; ++i) ASSERT_EQ(catalog.Intern(0, name(i)), i);
  std::vector<int> order(kValues);
  for (int i = 0; i < kValues; ++i) order[static_cast<size_t>(i)] = i;
  for (int pass = 0; pass < 4; ++pass) {
    if (pass == 1) std::reverse(order.begin(), order.end());
    if (pass == 3) std::sort(order.begin(), order.end());
    if (pass == 2) {
      uint64_t rng = 7;
      for (size_t i = order.size() - 1; i > 0; --i) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        std::swap(order[i], order[(rng >> 33) % (i + 1)]);
      }
    }
    for (int i : order) {
      ASSERT_EQ(catalog.Intern(0, name(i)), i) << "pass " << pass;
      // The other dimension's ids are its own.
      if (pass == 3 && i % 50 == 0) {
        EXPECT_EQ(catalog.Intern(1, name(i)), i / 50);
      }
    }
  }
  EXPECT_EQ(catalog.Intern(0, "new"), kValues);
  EXPECT_EQ(catalog.Intern(0, name(0)), 0);
  EXPECT_EQ(catalog.Find(0, name(kValues - 1)), kValues - 1);
  EXPECT_EQ(catalog.Value(0, 17), name(17));
}

TEST(AggregateTest, MissingColumnIsAClearError) {
  auto d = MakeDetector(config::Aggregation::kSum);
  auto grid = *IntervalGrid::Create(d.frequency, d.timezone);
  SeriesCatalog catalog(d);
  Aggregator agg(d, grid, catalog, T0(), T0() + std::chrono::hours(1));
  Status s = agg.OnColumns({"timestamp", "platform", "v"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no column 'marketplace'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("timestamp, platform, v"), std::string::npos) << s.message();
}

TEST(AggregateTest, FiltersDropOtherValues) {
  auto d = MakeDetector(config::Aggregation::kSum);
  d.filters = {{"marketplace", {"us"}}};
  Fixture f(d);
  AddStandardRows(f);
  auto p = f.Points(0);
  EXPECT_EQ(p.count("v{platform=web, marketplace=de}"), 0u);
  EXPECT_EQ(p["v{platform=ALL, marketplace=ALL}"], 31);
  EXPECT_EQ(f.agg.intervals().at(T0()).quality.rows_filtered, 1);
}

// A detector on Tokyo time (no DST, so the grid is the plain local hour)
// over a column stored in UTC: naive values are read in the source zone,
// not the detector's.
TEST(AggregateTest, NaiveTimestampsAreReadInTheSourceZone) {
  auto d = MakeDetector(config::Aggregation::kSum);
  d.timezone = *TimeZone::Load("Asia/Tokyo");
  d.timestamp_timezone = TimeZone::Utc();
  Fixture f(d);
  f.Row("2020-10-01 00:10:00", "web", "us", Cell::Integer(10));
  f.Row("2020-10-01 01:59:59", "web", "us", Cell::Integer(7));
  EXPECT_EQ(f.Points(0)["v{platform=web, marketplace=us}"], 10);
  EXPECT_EQ(f.Points(1)["v{platform=web, marketplace=us}"], 7);
  EXPECT_EQ(f.agg.rows_outside_range(), 0);
}

TEST(AggregateTest, SourceZoneDefaultsToTheDetectorZone) {
  auto d = MakeDetector(config::Aggregation::kSum);
  d.timezone = *TimeZone::Load("Asia/Tokyo");
  Fixture f(d);
  f.Row("2020-10-01 09:10:00", "web", "us", Cell::Integer(10));  // 00:10Z
  f.Row("2020-10-01 00:10:00", "web", "us", Cell::Integer(99));  // 2020-09-30T15:10Z
  EXPECT_EQ(f.Points(0)["v{platform=web, marketplace=us}"], 10);
  EXPECT_EQ(f.agg.rows_outside_range(), 1);
}

// A value that carries an offset names its instant whatever the source zone.
TEST(AggregateTest, TimestampsWithAnOffsetAreReadByTheirOffset) {
  auto d = MakeDetector(config::Aggregation::kSum);
  d.timezone = *TimeZone::Load("Asia/Tokyo");
  d.timestamp_timezone = *TimeZone::Load("America/New_York");
  d.timestamp_format = "yyyy-MM-dd HH:mm:ssXXX";
  Fixture f(d);
  f.Row("2020-10-01 00:10:00Z", "web", "us", Cell::Integer(1));
  f.Row("2020-09-30 20:20:00-04:00", "web", "us", Cell::Integer(2));  // 00:20Z
  f.Row("2020-10-01 10:10:00+09:00", "web", "us", Cell::Integer(4));  // 01:10Z
  EXPECT_EQ(f.Points(0)["v{platform=web, marketplace=us}"], 3);
  EXPECT_EQ(f.Points(1)["v{platform=web, marketplace=us}"], 4);

  // iso8601: an offset or Z wins, a naive value is read in the source zone.
  d.timestamp_format = "iso8601";
  Fixture g(d);
  g.Row("2020-10-01T00:10:00Z", "web", "us", Cell::Integer(1));
  g.Row("2020-10-01T10:10:00+09:00", "web", "us", Cell::Integer(4));
  g.Row("2020-09-30T20:30:00", "web", "us", Cell::Integer(2));  // New York (EDT): 00:30Z
  EXPECT_EQ(g.Points(0)["v{platform=web, marketplace=us}"], 3);
  EXPECT_EQ(g.Points(1)["v{platform=web, marketplace=us}"], 4);
  EXPECT_EQ(g.agg.rows_outside_range(), 0);
}

// The flat leaf table: one entry per distinct ids through its growth, the
// same aggregates for the same ids, and the leaves in key order.
TEST(AggregateTest, LeafTableFindsEveryLeafAndSortsThem) {
  LeafTable t(2, 3);
  bool added = false;
  constexpr int32_t kLeaves = 5000;
  for (int32_t i = kLeaves - 1; i >= 0; --i) {
    const int32_t ids[2] = {i % 7, i};
    Aggregate* a = t.Add(ids, &added);
    ASSERT_TRUE(added);
    a[2].Add(i);
  }
  ASSERT_EQ(t.size(), static_cast<size_t>(kLeaves));
  for (int32_t i = 0; i < kLeaves; ++i) {
    const int32_t ids[2] = {i % 7, i};
    Aggregate* a = t.Add(ids, &added);
    EXPECT_FALSE(added);
    EXPECT_EQ(a[2].sum, i);
    EXPECT_EQ(a[0].count, 0);
  }
  EXPECT_EQ(t.size(), static_cast<size_t>(kLeaves));
  const std::vector<uint32_t> order = t.SortedOrder();
  ASSERT_EQ(order.size(), static_cast<size_t>(kLeaves));
  for (size_t k = 1; k < order.size(); ++k) {
    const int32_t* a = t.Ids(order[k - 1]);
    const int32_t* b = t.Ids(order[k]);
    EXPECT_TRUE(a[0] < b[0] || (a[0] == b[0] && a[1] < b[1])) << k;
  }
  t.Release();
  EXPECT_TRUE(t.empty());
  const int32_t ids[2] = {1, 1};
  t.Add(ids, &added);
  EXPECT_TRUE(added);
  // Leaves added in key order (a source's rows in key order) keep it.
  LeafTable sorted(2, 1);
  for (int32_t i = 0; i < 100; ++i) {
    const int32_t key[2] = {i / 10, i % 10};
    sorted.Add(key);
  }
  const std::vector<uint32_t> same = sorted.SortedOrder();
  ASSERT_EQ(same.size(), 100u);
  for (uint32_t k = 0; k < 100; ++k) EXPECT_EQ(same[k], k);
}

// With one dimension the leaves are found by their value id: the same
// through its growth, ids in any order, a negative id among them.
TEST(AggregateTest, LeafTableOfOneDimension) {
  LeafTable t(1, 2);
  bool added = false;
  constexpr int32_t kLeaves = 5000;
  for (int32_t i = kLeaves - 1; i >= -1; i -= 2) {
    Aggregate* a = t.Add(&i, &added);
    ASSERT_TRUE(added) << i;
    a[1].Add(i);
  }
  for (int32_t i = 0; i < kLeaves; i += 2) {
    Aggregate* a = t.Add(&i, &added);
    ASSERT_TRUE(added) << i;
    a[1].Add(i);
  }
  ASSERT_EQ(t.size(), static_cast<size_t>(kLeaves + 1));
  for (int32_t i = -1; i < kLeaves; ++i) {
    Aggregate* a = t.Add(&i, &added);
    EXPECT_FALSE(added) << i;
    EXPECT_EQ(a[1].sum, i);
  }
  EXPECT_EQ(t.size(), static_cast<size_t>(kLeaves + 1));
  const std::vector<uint32_t> order = t.SortedOrder();
  for (size_t k = 0; k < order.size(); ++k) EXPECT_EQ(*t.Ids(order[k]), static_cast<int32_t>(k) - 1);
  t.Release();
  EXPECT_TRUE(t.empty());
  const int32_t id = 7;
  t.Add(&id, &added);
  EXPECT_TRUE(added);
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace
}  // namespace osprey::ingest
