#include "osprey/config/l4m_import.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "osprey/config/loader.h"
#include "osprey/testing/files.h"

namespace osprey::config {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> ReadShared(const std::string& relative) {
  return osprey::testing::ReadFile(fs::path(OSPREY_SHARED_DIR) / relative);
}

bool HasWarning(const ImportResult& r, std::string_view text) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

std::string AllWarnings(const ImportResult& r) {
  std::string out;
  for (const std::string& w : r.warnings) out += "  " + w + "\n";
  return out;
}

// The imported detector must be a valid detector file once written out.
void ExpectRoundTrips(const Detector& d) {
  const std::string yaml = DetectorToYaml(d);
  Result<Detector> back = LoadDetector(yaml, "imported.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  EXPECT_EQ(back->name, d.name);
  EXPECT_EQ(back->query, d.query);
  EXPECT_EQ(back->frequency, d.frequency);
  EXPECT_EQ(back->offset_seconds, d.offset_seconds);
  EXPECT_EQ(back->source.type, d.source.type);
  EXPECT_EQ(back->source.connection_env, d.source.connection_env);
  EXPECT_EQ(back->dimensions, d.dimensions);
  ASSERT_EQ(back->measures.size(), d.measures.size());
  ASSERT_EQ(back->alerts.size(), d.alerts.size());
  for (size_t i = 0; i < d.alerts.size(); ++i) {
    EXPECT_EQ(back->alerts[i].min_severity, d.alerts[i].min_severity);
  }
}

TEST(L4mImportTest, CustomConnectorParams) {
  std::optional<std::string> text = ReadShared("seed-data/custom-connector/params.json");
  if (!text) GTEST_SKIP() << "no shared seed data at " << OSPREY_SHARED_DIR;
  Result<ImportResult> r = ImportL4mParams(*text, "custom-connector/params.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Detector& d = r->detector;
  EXPECT_EQ(d.name, "l4m-custom-connector-detector");
  EXPECT_EQ(d.description, "A quick sample config of how to use L4M.");
  EXPECT_EQ(d.frequency.seconds, 3600);
  EXPECT_EQ(d.offset_seconds, 300);
  EXPECT_EQ(d.timestamp_column, "timestamp");
  EXPECT_EQ(d.timestamp_format, "yyyy-MM-dd HH:mm:ss");
  EXPECT_EQ(d.dimensions, (std::vector<std::string>{"platform", "marketplace"}));
  ASSERT_EQ(d.measures.size(), 2u);
  EXPECT_EQ(d.measures[0].name, "views");
  EXPECT_EQ(d.measures[0].aggregation, Aggregation::kSum);
  EXPECT_EQ(d.measures[1].name, "revenue");
  EXPECT_EQ(d.source.type, SourceType::kPostgres);
  EXPECT_EQ(d.source.connection_env, "OSPREY_L4M_CUSTOM_CONNECTOR_DETECTOR_DSN");
  EXPECT_NE(d.query.find("timestamp >= {{interval_start}}"), std::string::npos) << d.query;
  EXPECT_NE(d.query.find("timestamp < {{interval_end}}"), std::string::npos) << d.query;
  ASSERT_EQ(d.alerts.size(), 1u);
  EXPECT_EQ(d.alerts[0].name, "alerter");
  EXPECT_EQ(d.alerts[0].min_severity, 1);
  EXPECT_EQ(d.alerts[0].destination, AlertDestination::kWebhook);
  EXPECT_EQ(d.alerts[0].target_env, "OSPREY_ALERT_WEBHOOK_URL");
  EXPECT_EQ(d.alerts[0].description, "Exports anomalies into s3 for visualization");
  EXPECT_EQ(d.origin, "custom-connector/params.json");

  const std::string all = AllWarnings(*r);
  EXPECT_TRUE(HasWarning(*r, "redshift")) << all;
  EXPECT_TRUE(HasWarning(*r, "secret_name \"redshift-l4mintegration\"")) << all;
  EXPECT_TRUE(HasWarning(*r, "connection_env")) << all;
  EXPECT_TRUE(HasWarning(*r, "s3://id-ml-ops2-inputbucket-18vaudty8qtec")) << all;
  EXPECT_TRUE(HasWarning(*r, "RoleArn")) << all;
  EXPECT_TRUE(HasWarning(*r, "unusually low")) << all;
  EXPECT_TRUE(HasWarning(*r, "edit query")) << all;
  ExpectRoundTrips(d);
}

TEST(L4mImportTest, WorkshopParams) {
  std::optional<std::string> text = ReadShared("seed-data/ri2021-workshop/params.json");
  if (!text) GTEST_SKIP() << "no shared seed data at " << OSPREY_SHARED_DIR;
  Result<ImportResult> r = ImportL4mParams(*text, "ri2021-workshop/params.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Detector& d = r->detector;
  const std::string all = AllWarnings(*r);
  EXPECT_EQ(d.name, "lookout-for-metrics-workshop-backtesting");
  EXPECT_TRUE(HasWarning(*r, "no detector_name")) << all;
  EXPECT_EQ(d.frequency.seconds, 3600);
  EXPECT_EQ(d.offset_seconds, 0);
  EXPECT_EQ(d.source.type, SourceType::kCsv);
  EXPECT_FALSE(d.source.connection_env.empty());
  EXPECT_TRUE(HasWarning(*r, "no database_type")) << all;
  EXPECT_TRUE(HasWarning(*r, "S3SourceConfig.HistoricalDataPathList")) << all;
  ASSERT_EQ(d.measures.size(), 2u);
  ASSERT_EQ(d.alerts.size(), 1u);
  EXPECT_EQ(d.alerts[0].name, "alertexporter");
  ExpectRoundTrips(d);
}

TEST(L4mImportTest, DatabaseSourceGivesTableAndNoUnknownWarnings) {
  Result<ImportResult> r = ImportL4mParams(R"({
      "detector_name": "Orders Hourly",
      "detector_frequency": "PT10M",
      "database_type": "postgresql",
      "timestamp_column": {"ColumnName": "ts", "ColumnFormat": "yyyy-MM-dd'T'HH:mm:ssXXX"},
      "metrics_set": [{"MetricName": "orders", "AggregationFunction": "avg"}],
      "metric_source": {"RDSSourceConfig": {"TableName": "orders", "DatabaseName": "shop"}},
      "alert_threshold": 80,
      "surprise": 1})",
                                           "p.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Detector& d = r->detector;
  EXPECT_EQ(d.name, "orders-hourly");
  EXPECT_TRUE(HasWarning(*r, "changed to \"orders-hourly\"")) << AllWarnings(*r);
  EXPECT_TRUE(HasWarning(*r, "surprise: not a Lookout for Metrics setting")) << AllWarnings(*r);
  EXPECT_FALSE(HasWarning(*r, "unusually low"));
  EXPECT_NE(d.query.find("select * from orders\nwhere ts >= {{interval_start}}"), std::string::npos)
      << d.query;
  EXPECT_EQ(d.timestamp_format, "yyyy-MM-dd'T'HH:mm:ssXXX");
  EXPECT_EQ(d.measures[0].aggregation, Aggregation::kAvg);
  EXPECT_EQ(d.alerts[0].min_severity, 80);
  ExpectRoundTrips(d);
}

// L4M's Timezone is the zone the data was recorded in: it becomes the
// detector's timezone and so the source zone of naive timestamps.
TEST(L4mImportTest, TimezoneIsTheSourceZone) {
  Result<ImportResult> r = ImportL4mParams(R"({
      "detector_name": "orders",
      "detector_frequency": "PT1H",
      "timezone": "America/New_York",
      "timestamp_column": {"ColumnName": "ts", "ColumnFormat": "yyyy-MM-dd HH:mm:ss"},
      "metrics_set": [{"MetricName": "orders", "AggregationFunction": "sum"}]})",
                                           "p.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->detector.timezone.name(), "America/New_York");
  EXPECT_FALSE(r->detector.timestamp_timezone.has_value());
  EXPECT_EQ(SourceZone(r->detector).name(), "America/New_York");
  ExpectRoundTrips(r->detector);
}

TEST(L4mImportTest, Errors) {
  struct Case {
    const char* json;
    const char* expect;
  };
  const Case cases[] = {
      {"{\"detector_frequency\": \"PT1H\",\n \"metrics_set\": [", "p.json:2: not valid JSON"},
      {"[1, 2]", "p.json: params: expected a JSON object"},
      {R"({"metrics_set": [{"MetricName": "x"}]})", "p.json: detector_frequency: missing"},
      {R"({"detector_frequency": "hourly", "metrics_set": [{"MetricName": "x"}]})",
       "p.json: detector_frequency: 'hourly' is not an ISO-8601 duration"},
      {R"({"detector_frequency": "PT1H"})", "p.json: metrics_set: missing or empty"},
      {R"({"detector_frequency": "PT1H", "metrics_set": [{"MetricName": 5}]})",
       "p.json: metrics_set[0].MetricName: expected a string, got 5"},
      {R"({"detector_frequency": "PT1H",
           "metrics_set": [{"MetricName": "x", "AggregationFunction": "P99"}]})",
       "p.json: metrics_set[0].AggregationFunction: unknown aggregation \"P99\""},
      {R"({"detector_frequency": "PT1H", "dimension_list": "x",
           "metrics_set": [{"MetricName": "y"}]})",
       "p.json: dimension_list: expected a list"},
      {R"({"detector_frequency": "PT1H", "dimension_list": ["x"],
           "metrics_set": [{"MetricName": "x"}]})",
       "p.json: metrics_set[0]: \"x\" is both a metric and a dimension"},
      {R"({"detector_frequency": "PT1H", "offset": -5, "metrics_set": [{"MetricName": "x"}]})",
       "p.json: offset: expected a whole number of seconds >= 0"},
      {R"({"detector_frequency": "PT1H", "alert_threshold": 250,
           "metrics_set": [{"MetricName": "x"}]})",
       "p.json: alert_threshold: expected a severity from 0 to 100"},
      // Escaped as an exception before (fuzz/l4m_import_fuzz.cc).
      {R"({"offset": 1E400})", "p.json: not valid JSON"},
      // LoadDetector refuses control characters, so the import does too.
      {R"({"detector_frequency": "PT1H", "alert_name": "a", "alert_description": "a\u007fb",
           "metrics_set": [{"MetricName": "x"}]})",
       "p.json: alert_description: control character 0x7f at position 2"},
  };
  for (const Case& c : cases) {
    Result<ImportResult> r = ImportL4mParams(c.json, "p.json");
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind(c.expect, 0), 0u)
        << "message: " << r.status().message() << "\nexpected prefix: " << c.expect;
  }
}

}  // namespace
}  // namespace osprey::config
