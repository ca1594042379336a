#include "osprey/app/detect_config.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "osprey/config/loader.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey::app {
namespace {

TEST(DetectConfigTest, ProposesTheExampleDetectorFromTheDemoWarehouse) {
  testing::TempDir dir("osprey_detect_config_");
  DemoOptions o;
  o.days = 7;
  auto w = testing::MakeDemoWarehouse(o, dir.File("w.db"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  DetectConfigRequest req;
  req.type = config::SourceType::kSqlite;
  req.path = w->path;
  req.query =
      "select e.ts as timestamp, e.views, e.revenue, p.name as platform, m.name as marketplace "
      "from ecommerce e join platform p on e.platform = p.id join marketplace m on "
      "e.marketplace = m.id where e.ts >= {{interval_start}} and e.ts < {{interval_end}}";
  req.name = "shop";
  req.sample_rows = 2000;
  auto r = SampleAndPropose(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const config::Detector& d = r->detector;
  EXPECT_EQ(d.timestamp_column, "timestamp");
  EXPECT_EQ(d.timestamp_format, "yyyy-MM-dd HH:mm:ss");
  EXPECT_EQ(d.frequency.ToString(), "PT1H");
  EXPECT_EQ(d.dimensions, (std::vector<std::string>{"platform", "marketplace"}));
  ASSERT_EQ(d.measures.size(), 2u);
  EXPECT_EQ(d.measures[0].name, "views");
  EXPECT_EQ(d.measures[1].name, "revenue");
  // The proposal is a valid detector file.
  auto back = config::LoadDetector(config::DetectorToYaml(d), "proposed.yaml");
  EXPECT_TRUE(back.ok()) << back.status().ToString();
}

Sample Make(std::vector<std::string> columns, std::vector<std::vector<std::string>> rows) {
  Sample s;
  s.columns = std::move(columns);
  for (auto& r : rows) {
    std::vector<Sample::Value> row;
    for (auto& x : r) row.push_back({x == "NULL", false, x});
    s.rows.push_back(std::move(row));
  }
  return s;
}

TEST(DetectConfigTest, EpochSecondsFiveMinutesAndHighCardinalityText) {
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < 300; ++i) {
    rows.push_back({std::to_string(1700000000 + (i / 3) * 300), i % 2 ? "eu" : "us",
                    "order-" + std::to_string(i), std::to_string(i * 1.5), "NULL"});
  }
  DetectConfigRequest req;
  req.type = config::SourceType::kCsv;
  req.path = "/data";
  auto r = ProposeFromSample(Make({"when", "region", "order_id", "amount", "empty"}, rows), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->detector.timestamp_column, "when");
  EXPECT_EQ(r->detector.timestamp_format, "epoch");
  EXPECT_EQ(r->detector.frequency.ToString(), "PT5M");
  EXPECT_EQ(r->detector.dimensions, (std::vector<std::string>{"region"}));
  ASSERT_EQ(r->detector.measures.size(), 1u);
  EXPECT_EQ(r->detector.measures[0].name, "amount");
  EXPECT_TRUE(r->detector.query.empty());
}

// A pre-aggregated operations table: latency and the error rate read as
// averages (their names), weighted by the one count measure; errors and
// requests are summed.
TEST(DetectConfigTest, AveragesByTheirNamesWeightedByTheCount) {
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < 300; ++i) {
    rows.push_back({std::to_string(1700000000 + (i / 3) * 300), i % 3 ? "eu" : "us",
                    std::to_string(40 + i % 7), std::to_string(i % 5), std::to_string(80.5 + i % 11),
                    std::to_string(0.01 * (i % 3))});
  }
  DetectConfigRequest req;
  req.type = config::SourceType::kCsv;
  req.path = "/data";
  auto r = ProposeFromSample(
      Make({"ts", "region", "requests", "error_count", "p95LatencyMs", "error_rate"}, rows), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->detector.measures.size(), 4u);
  using config::Aggregation;
  EXPECT_EQ(r->detector.measures[0].aggregation, Aggregation::kSum);
  EXPECT_EQ(r->detector.measures[1].aggregation, Aggregation::kSum);
  EXPECT_EQ(r->detector.measures[2].aggregation, Aggregation::kAvg);
  EXPECT_EQ(r->detector.measures[2].weight, "requests");
  EXPECT_EQ(r->detector.measures[3].aggregation, Aggregation::kAvg);
  EXPECT_EQ(r->detector.measures[3].weight, "requests");
  // The proposal loads as it is.
  auto back = config::LoadDetector(ProposalYaml(*r), "proposal.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->measures[2].weight, "requests");
  // Without a count measure the averages are plain AVG.
  for (auto& row : rows) row.erase(row.begin() + 2);
  r = ProposeFromSample(Make({"ts", "region", "error_count", "latency", "error_rate"}, rows), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->detector.measures[1].aggregation, Aggregation::kAvg);
  EXPECT_FALSE(r->detector.measures[1].weight.has_value());
}

// A count of failures beside the one count of events is proposed as a
// rate too: a ratio measure (errors over requests in every roll-up, each
// point judged by its requests), named after the failures.
TEST(DetectConfigTest, FailureCountsGetARatioOverTheCountOfEvents) {
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < 300; ++i) {
    rows.push_back({std::to_string(1700000000 + (i / 3) * 300), i % 3 ? "eu" : "us",
                    std::to_string(40 + i % 7), std::to_string(i % 5), std::to_string(i % 2),
                    std::to_string(80.5 + i % 11)});
  }
  DetectConfigRequest req;
  req.type = config::SourceType::kCsv;
  req.path = "/data";
  auto r = ProposeFromSample(Make({"ts", "region", "requests", "errors", "timeoutCount", "latency_ms"}, rows),
                             req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->detector.measures.size(), 6u);
  const config::Measure& error_rate = r->detector.measures[4];
  EXPECT_EQ(error_rate.name, "error_rate");
  ASSERT_TRUE(error_rate.ratio.has_value());
  EXPECT_EQ(error_rate.ratio->numerator, "errors");
  EXPECT_EQ(error_rate.ratio->denominator, "requests");
  EXPECT_EQ(r->detector.measures[5].name, "timeout_rate");
  bool noted = false;
  for (const auto& n : r->notes)
    noted = noted || n.find("error_rate = errors / requests") != std::string::npos;
  EXPECT_TRUE(noted);
  // The proposal loads as it is.
  auto back = config::LoadDetector(ProposalYaml(*r), "proposal.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->measures[4].ratio.has_value());
  EXPECT_EQ(back->measures[4].ratio->denominator, "requests");
  // No count of events (or two of them): no rate, as its denominator is not known.
  r = ProposeFromSample(Make({"ts", "region", "calls", "errors", "sessions", "latency_ms"}, rows), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& m : r->detector.measures) EXPECT_FALSE(m.ratio.has_value()) << m.name;
}

TEST(DetectConfigTest, DailyIsoDatesAndFailures) {
  auto r = ProposeFromSample(
      Make({"day", "n"}, {{"2025-01-01", "1"}, {"2025-01-02", "2"}, {"2025-01-04", "3"}}), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->detector.timestamp_format, "yyyy-MM-dd");
  EXPECT_EQ(r->detector.frequency.ToString(), "P1D");
  auto none = ProposeFromSample(Make({"a", "b"}, {{"x", "1"}}), {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("a, b"), std::string::npos);
  EXPECT_FALSE(ProposeFromSample(Make({"a"}, {}), {}).ok());
}

// Naive values get an explicit timestamp.timezone (UTC) with a comment saying
// what it means; values with an offset (or epochs) get none.
TEST(DetectConfigTest, ProposesATimestampZoneForNaiveValuesOnly) {
  std::vector<std::vector<std::string>> naive, offset;
  for (int h = 0; h < 48; ++h) {
    naive.push_back({fmt::format("2024-03-{:02} {:02}:00:00", 9 + h / 24, h % 24), "1"});
    offset.push_back({fmt::format("2024-03-{:02}T{:02}:00:00Z", 9 + h / 24, h % 24), "1"});
  }
  DetectConfigRequest req;
  req.type = config::SourceType::kCsv;
  req.path = "/data";
  auto r = ProposeFromSample(Make({"ts", "n"}, naive), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->detector.timestamp_timezone.has_value());
  EXPECT_EQ(r->detector.timestamp_timezone->name(), "UTC");
  const std::string yaml = ProposalYaml(*r);
  const size_t comment = yaml.find("# timestamp.timezone: the zone the column's values are read in");
  ASSERT_NE(comment, std::string::npos) << yaml;
  EXPECT_LT(comment, yaml.find("timestamp: {"));
  EXPECT_NE(yaml.find("timezone: UTC}"), std::string::npos) << yaml;
  auto back = config::LoadDetector(yaml, "proposed.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  ASSERT_TRUE(back->timestamp_timezone.has_value());
  EXPECT_EQ(back->timestamp_timezone->name(), "UTC");

  auto o = ProposeFromSample(Make({"ts", "n"}, offset), req);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->detector.timestamp_format, "yyyy-MM-dd'T'HH:mm:ssXXX");
  EXPECT_FALSE(o->detector.timestamp_timezone.has_value());
  EXPECT_EQ(ProposalYaml(*o).find("# timestamp.timezone"), std::string::npos);
  std::vector<std::vector<std::string>> epochs;
  for (int i = 0; i < 48; ++i) epochs.push_back({std::to_string(1710000000 + i * 3600), "1"});
  auto e = ProposeFromSample(Make({"ts", "n"}, epochs), req);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->detector.timestamp_format, "epoch");
  EXPECT_FALSE(e->detector.timestamp_timezone.has_value());
}

}  // namespace
}  // namespace osprey::app
