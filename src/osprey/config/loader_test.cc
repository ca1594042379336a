#include "osprey/config/loader.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include "osprey/detect/holidays.h"

namespace osprey::config {
namespace {

namespace fs = std::filesystem;

const fs::path kCasesDir = fs::path(OSPREY_SOURCE_DIR) / "tests" / "config-cases";

// Every field set, none to its default.
constexpr char kFullYaml[] = R"(# a full detector
name: ecommerce
description: "Views and revenue: per platform"
frequency: PT10M
timezone: Europe/Berlin
offset: 300
history_start: 2020-10-01
source:
  type: postgres
  connection_file: /run/secrets/warehouse.json
  connection_env: OSPREY_DSN
  query_timeout: 60
query: |
  select ts, views, revenue, platform, marketplace from e
  where ts >= {{interval_start}} and ts < {{interval_end}}
timestamp: {column: ts, format: "yyyy-MM-dd'T'HH:mm:ss", timezone: UTC}
dimensions: [platform, marketplace]
measures:
  - {name: views, aggregation: COUNT, sensitivity: 60, rules: {max: 1000000, combine: max}}
  - {name: revenue, aggregation: avg, rules: {min: 0, direction: both}}
filters:
  - {dimension: marketplace, values: [us, uk]}
rollup_depth: 1
sensitivity: 72.5
min_severity: 40
rules:
  min: -5.5
  change_percent: 30
  change_intervals: 24
  direction: down
  sensitivity: 70
  combine: both
alerts:
  - name: oncall
    destination: PagerDuty
    target_env: OSPREY_PD_KEY
    min_severity: 80
    measures: [revenue]
    dimensions: {marketplace: [us], platform: [web, app]}
    description: wake someone up
  - name: chat
    destination: slack
    target_env: OSPREY_SLACK_URL
)";

constexpr char kFullJson[] = R"({
  "name": "ecommerce",
  "description": "Views and revenue: per platform",
  "frequency": "PT10M",
  "timezone": "Europe/Berlin",
  "offset": 300,
  "history_start": "2020-10-01",
  "source": {"type": "postgres", "connection_file": "/run/secrets/warehouse.json", "connection_env": "OSPREY_DSN",
             "query_timeout": 60},
  "query": "select ts, views, revenue, platform, marketplace from e\nwhere ts >= {{interval_start}} and ts < {{interval_end}}\n",
  "timestamp": {"column": "ts", "format": "yyyy-MM-dd'T'HH:mm:ss", "timezone": "UTC"},
  "dimensions": ["platform", "marketplace"],
  "measures": [{"name": "views", "aggregation": "COUNT", "sensitivity": 60,
                "rules": {"max": 1000000, "combine": "max"}},
               {"name": "revenue", "aggregation": "avg", "rules": {"min": 0, "direction": "both"}}],
  "filters": [{"dimension": "marketplace", "values": ["us", "uk"]}],
  "rollup_depth": 1,
  "sensitivity": 72.5,
  "min_severity": 40,
  "rules": {"min": -5.5, "change_percent": 30, "change_intervals": 24, "direction": "down",
            "sensitivity": 70, "combine": "both"},
  "alerts": [
    {"name": "oncall", "destination": "PagerDuty", "target_env": "OSPREY_PD_KEY",
     "min_severity": 80, "measures": ["revenue"],
     "dimensions": {"marketplace": ["us"], "platform": ["web", "app"]},
     "description": "wake someone up"},
    {"name": "chat", "destination": "slack", "target_env": "OSPREY_SLACK_URL"}
  ]
})";

void ExpectSameRules(const Rules& a, const Rules& b) {
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.max, b.max);
  EXPECT_EQ(a.change_percent, b.change_percent);
  EXPECT_EQ(a.change_intervals, b.change_intervals);
  EXPECT_EQ(a.direction, b.direction);
  EXPECT_EQ(a.sensitivity, b.sensitivity);
  EXPECT_EQ(a.combine, b.combine);
}

void ExpectSameDetector(const Detector& a, const Detector& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.frequency, b.frequency);
  EXPECT_EQ(a.timezone.name(), b.timezone.name());
  EXPECT_EQ(a.offset_seconds, b.offset_seconds);
  EXPECT_EQ(a.source.type, b.source.type);
  EXPECT_EQ(a.source.path, b.source.path);
  EXPECT_EQ(a.source.connection_file, b.source.connection_file);
  EXPECT_EQ(a.source.csv.layout, b.source.csv.layout);
  EXPECT_EQ(a.source.csv.delimiter, b.source.csv.delimiter);
  EXPECT_EQ(a.source.csv.header, b.source.csv.header);
  EXPECT_EQ(a.source.connection_env, b.source.connection_env);
  EXPECT_EQ(a.source.query_timeout_seconds, b.source.query_timeout_seconds);
  EXPECT_EQ(a.query, b.query);
  EXPECT_EQ(a.timestamp_column, b.timestamp_column);
  EXPECT_EQ(a.timestamp_format, b.timestamp_format);
  ASSERT_EQ(a.timestamp_timezone.has_value(), b.timestamp_timezone.has_value());
  if (a.timestamp_timezone) {
    EXPECT_EQ(a.timestamp_timezone->name(), b.timestamp_timezone->name());
  }
  EXPECT_EQ(a.dimensions, b.dimensions);
  ASSERT_EQ(a.measures.size(), b.measures.size());
  for (size_t i = 0; i < a.measures.size(); ++i) {
    EXPECT_EQ(a.measures[i].name, b.measures[i].name);
    EXPECT_EQ(a.measures[i].aggregation, b.measures[i].aggregation);
    EXPECT_EQ(a.measures[i].sensitivity, b.measures[i].sensitivity);
    ExpectSameRules(a.measures[i].rules, b.measures[i].rules);
  }
  ExpectSameRules(a.rules, b.rules);
  ASSERT_EQ(a.filters.size(), b.filters.size());
  for (size_t i = 0; i < a.filters.size(); ++i) {
    EXPECT_EQ(a.filters[i].dimension, b.filters[i].dimension);
    EXPECT_EQ(a.filters[i].values, b.filters[i].values);
  }
  EXPECT_EQ(a.rollup_depth, b.rollup_depth);
  EXPECT_EQ(a.history_start, b.history_start);
  EXPECT_EQ(a.sensitivity, b.sensitivity);
  EXPECT_EQ(a.min_severity, b.min_severity);
  ASSERT_EQ(a.alerts.size(), b.alerts.size());
  for (size_t i = 0; i < a.alerts.size(); ++i) {
    EXPECT_EQ(a.alerts[i].name, b.alerts[i].name);
    EXPECT_EQ(a.alerts[i].destination, b.alerts[i].destination);
    EXPECT_EQ(a.alerts[i].min_severity, b.alerts[i].min_severity);
    EXPECT_EQ(a.alerts[i].measures, b.alerts[i].measures);
    EXPECT_EQ(a.alerts[i].dimension_filter, b.alerts[i].dimension_filter);
    EXPECT_EQ(a.alerts[i].target_env, b.alerts[i].target_env);
    EXPECT_EQ(a.alerts[i].description, b.alerts[i].description);
  }
}

TEST(LoaderTest, FullFileLoadsEveryField) {
  Result<Detector> r = LoadDetector(kFullYaml, "full.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Detector& d = *r;
  EXPECT_EQ(d.name, "ecommerce");
  EXPECT_EQ(d.description, "Views and revenue: per platform");
  EXPECT_EQ(d.frequency.seconds, 600);
  EXPECT_EQ(d.timezone.name(), "Europe/Berlin");
  EXPECT_EQ(d.offset_seconds, 300);
  ASSERT_TRUE(d.history_start.has_value());
  EXPECT_EQ(FormatIso(*d.history_start), "2020-09-30T22:00:00Z");  // midnight in Berlin (CEST)
  EXPECT_EQ(d.source.type, SourceType::kPostgres);
  EXPECT_EQ(d.source.connection_file, "/run/secrets/warehouse.json");
  EXPECT_EQ(d.source.connection_env, "OSPREY_DSN");
  EXPECT_EQ(d.source.query_timeout_seconds, 60);
  EXPECT_EQ(d.query,
            "select ts, views, revenue, platform, marketplace from e\n"
            "where ts >= {{interval_start}} and ts < {{interval_end}}\n");
  EXPECT_EQ(d.timestamp_column, "ts");
  EXPECT_EQ(d.timestamp_format, "yyyy-MM-dd'T'HH:mm:ss");
  // The column is stored in UTC while the detector runs on Berlin time.
  ASSERT_TRUE(d.timestamp_timezone.has_value());
  EXPECT_EQ(d.timestamp_timezone->name(), "UTC");
  EXPECT_EQ(SourceZone(d).name(), "UTC");
  EXPECT_EQ(d.dimensions, (std::vector<std::string>{"platform", "marketplace"}));
  ASSERT_EQ(d.measures.size(), 2u);
  EXPECT_EQ(d.measures[0].name, "views");
  EXPECT_EQ(d.measures[0].aggregation, Aggregation::kCount);
  EXPECT_EQ(d.measures[1].name, "revenue");
  EXPECT_EQ(d.measures[1].aggregation, Aggregation::kAvg);
  EXPECT_EQ(d.measures[0].sensitivity, 60);
  EXPECT_FALSE(d.measures[1].sensitivity.has_value());
  EXPECT_EQ(d.measures[0].rules.max, 1000000);
  EXPECT_EQ(d.measures[0].rules.combine, RuleCombine::kMax);
  EXPECT_FALSE(d.measures[0].rules.min.has_value());
  EXPECT_EQ(d.measures[1].rules.min, 0);
  EXPECT_EQ(d.measures[1].rules.direction, RuleDirection::kBoth);
  EXPECT_EQ(d.rules.min, -5.5);
  EXPECT_FALSE(d.rules.max.has_value());
  EXPECT_EQ(d.rules.change_percent, 30);
  EXPECT_EQ(d.rules.change_intervals, 24);
  EXPECT_EQ(d.rules.direction, RuleDirection::kDown);
  EXPECT_EQ(d.rules.sensitivity, 70);
  EXPECT_EQ(d.rules.combine, RuleCombine::kBoth);
  ASSERT_EQ(d.filters.size(), 1u);
  EXPECT_EQ(d.filters[0].dimension, "marketplace");
  EXPECT_EQ(d.filters[0].values, (std::vector<std::string>{"us", "uk"}));
  EXPECT_EQ(d.rollup_depth, 1);
  EXPECT_EQ(d.sensitivity, 72.5);
  EXPECT_EQ(d.min_severity, 40);
  ASSERT_EQ(d.alerts.size(), 2u);
  const Alert& a = d.alerts[0];
  EXPECT_EQ(a.name, "oncall");
  EXPECT_EQ(a.destination, AlertDestination::kPagerDuty);
  EXPECT_EQ(a.target_env, "OSPREY_PD_KEY");
  EXPECT_EQ(a.min_severity, 80);
  EXPECT_EQ(a.measures, (std::vector<std::string>{"revenue"}));
  EXPECT_EQ(a.dimension_filter.at("marketplace"), (std::vector<std::string>{"us"}));
  EXPECT_EQ(a.dimension_filter.at("platform"), (std::vector<std::string>{"web", "app"}));
  EXPECT_EQ(a.description, "wake someone up");
  EXPECT_EQ(d.alerts[1].destination, AlertDestination::kSlack);
  EXPECT_EQ(d.alerts[1].min_severity, 70);  // default
  EXPECT_TRUE(d.alerts[1].measures.empty());
  EXPECT_EQ(d.origin, "full.yaml");
}

TEST(LoaderTest, MinimalFileGetsDefaults) {
  Result<Detector> r = LoadDetector(
      "name: m\nfrequency: P1D\nsource: {path: x.db}\n"
      "query: select * from t where d >= {{interval_start}} and d < {{interval_end}}\n"
      "measures: [{name: n}]\n",
      "min.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->timezone.name(), "UTC");
  EXPECT_EQ(r->offset_seconds, 0);
  EXPECT_FALSE(r->history_start.has_value());
  EXPECT_EQ(r->source.type, SourceType::kSqlite);
  EXPECT_EQ(r->source.query_timeout_seconds, 300);
  EXPECT_EQ(r->timestamp_column, "timestamp");
  EXPECT_EQ(r->timestamp_format, "yyyy-MM-dd HH:mm:ss");
  EXPECT_FALSE(r->timestamp_timezone.has_value());
  EXPECT_EQ(SourceZone(*r).name(), "UTC");  // the detector's zone
  EXPECT_TRUE(r->dimensions.empty());
  EXPECT_EQ(r->measures[0].aggregation, Aggregation::kSum);
  EXPECT_EQ(r->rollup_depth, -1);
  EXPECT_EQ(r->sensitivity, 50);
  EXPECT_EQ(r->min_severity, 50);
  EXPECT_TRUE(r->rules.Empty());
  EXPECT_TRUE(r->measures[0].rules.Empty());
  EXPECT_FALSE(r->measures[0].sensitivity.has_value());
  EXPECT_TRUE(r->alerts.empty());
  // No rules block is written back for a detector without rules.
  EXPECT_EQ(DetectorToYaml(*r).find("rules"), std::string::npos);
}

TEST(LoaderTest, JsonLoadsLikeYaml) {
  Result<Detector> yaml = LoadDetector(kFullYaml, "full.yaml");
  Result<Detector> json = LoadDetector(kFullJson, "full.json");
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  ExpectSameDetector(*yaml, *json);
}

TEST(LoaderTest, RoundTripsThroughYaml) {
  Result<Detector> d = LoadDetector(kFullYaml, "full.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const std::string yaml = DetectorToYaml(*d);
  Result<Detector> back = LoadDetector(yaml, "emitted.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  ExpectSameDetector(*d, *back);
}

TEST(LoaderTest, ShardsLoadAndRoundTrip) {
  std::string text = kFullYaml;
  text += "shards: 8\n";
  Result<Detector> d = LoadDetector(text, "sharded.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->shards, 8);
  Result<Detector> back = LoadDetector(DetectorToYaml(*d), "emitted.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->shards, 8);
  Result<Detector> plain = LoadDetector(kFullYaml, "full.yaml");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->shards, 1);
  EXPECT_EQ(DetectorToYaml(*plain).find("shards"), std::string::npos);
}

TEST(LoaderTest, RoundTripsAwkwardStrings) {
  Detector d;
  d.name = "0-odd_name";
  d.description = "null";
  d.frequency = *Duration::Parse("PT5M");
  d.source.path = "dir with spaces/a: b.db";
  d.query = "select '#' as x\n  from t where a >= {{interval_start}}\nand a < {{interval_end}}";
  d.timestamp_format = "epoch";
  d.dimensions = {"123", "true", "- dash", "ünïcode"};
  d.measures.resize(2);
  d.measures[0].name = "x";
  d.measures[0].aggregation = Aggregation::kMax;
  d.measures[1].name = "~";
  d.measures[1].aggregation = Aggregation::kMin;
  d.filters = {{"true", {"yes", "no", " spaced ", "'quoted'"}}};
  d.sensitivity = 0.1 + 0.2;
  d.history_start = FromUnixSeconds(1601510400);
  Alert a;
  a.name = "a";
  a.destination = AlertDestination::kCommand;
  a.min_severity = 33.3;
  a.measures = {"x"};
  a.dimension_filter = {{"123", {"1"}}};
  a.target_env = "CMD";
  d.alerts = {a};
  const std::string yaml = DetectorToYaml(d);
  Result<Detector> back = LoadDetector(yaml, "emitted.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  ExpectSameDetector(d, *back);
}

TEST(LoaderTest, ExampleEcommerceLoads) {
  const fs::path file = fs::path(OSPREY_SOURCE_DIR) / "examples" / "ecommerce.yaml";
  Result<Detector> r = LoadDetectorFile(file.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Detector& d = *r;
  EXPECT_EQ(d.name, "ecommerce");
  EXPECT_EQ(d.frequency.seconds, 3600);
  EXPECT_EQ(d.offset_seconds, 300);
  EXPECT_EQ(d.timezone.name(), "UTC");
  EXPECT_EQ(d.source.type, SourceType::kSqlite);
  // Relative paths are resolved against the file's directory.
  EXPECT_EQ(fs::path(d.source.path),
            (file.parent_path() / "../build/release/demo/warehouse.db").lexically_normal());
  EXPECT_EQ(d.source.connection_env, "OSPREY_DEMO_WAREHOUSE");
  EXPECT_NE(d.query.find("join marketplace m on e.marketplace = m.id"), std::string::npos);
  EXPECT_EQ(d.dimensions, (std::vector<std::string>{"platform", "marketplace"}));
  ASSERT_EQ(d.measures.size(), 2u);
  EXPECT_EQ(d.measures[0].name, "views");
  EXPECT_EQ(d.measures[1].name, "revenue");
  EXPECT_EQ(d.measures[1].aggregation, Aggregation::kSum);
  ASSERT_EQ(d.alerts.size(), 1u);
  EXPECT_EQ(d.alerts[0].destination, AlertDestination::kWebhook);
  EXPECT_EQ(d.alerts[0].min_severity, 70);
  EXPECT_EQ(d.alerts[0].target_env, "OSPREY_ALERT_WEBHOOK_URL");
  EXPECT_EQ(d.origin, file.string());
}

TEST(LoaderTest, ExampleWithRulesLoads) {
  Result<Detector> d = LoadDetectorFile(std::string(OSPREY_SOURCE_DIR) + "/examples/ecommerce-rules.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const Rules views = EffectiveRules(*d, 0);
  EXPECT_EQ(views.change_percent, 60);
  EXPECT_EQ(views.change_intervals, 24);
  EXPECT_EQ(views.direction, RuleDirection::kDown);
  EXPECT_FALSE(views.min.has_value());
  const Rules revenue = EffectiveRules(*d, 1);
  EXPECT_EQ(revenue.min, 0);
  EXPECT_EQ(revenue.change_percent, 60);
  EXPECT_EQ(ModelSensitivity(*d, 1), 60);
}

TEST(LoaderTest, LoadDetectorKeepsRelativePath) {
  Result<Detector> r = LoadDetector(
      "name: m\nfrequency: PT1H\nsource: {path: data/x.db}\n"
      "query: q {{interval_start}} {{interval_end}}\nmeasures: [{name: n}]\n",
      "text");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.path, "data/x.db");
}

TEST(LoaderTest, MissingFileIsNotFound) {
  Result<Detector> r = LoadDetectorFile("/nonexistent/detector.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message().rfind("/nonexistent/detector.yaml:", 0), 0u);
}

TEST(LoaderTest, OriginNamesTextInMessages) {
  Result<Detector> r = LoadDetector("name: x\nnmae: y\n", "api:detector");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("api:detector:2: nmae: unknown key", 0), 0u) << r.status().message();
}

TEST(LoaderTest, OddInputsFailCleanly) {
  const char* inputs[] = {
      "",
      "   \n# only a comment\n",
      "42",
      "[1, 2, 3]",
      "{a: 1}: x",
      "name: &a shop\nfrequency: *a\n",
      "name: *undefined\n",
      "name: !!binary aGVsbG8=\nfrequency: PT1H\n",
      "<<: {name: shop}\n",
      "name: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
      "name: \"unterminated\n",
      "\t- tab indented\n",
      "{\"name\": \"shop\", \"name\": 1",
      "name: shop\nmeasures:\n  - ~\n",
      "name: shop\nfrequency: PT1H\nsource: {path: x}\nquery: \"{{interval_start}}{{interval_end}}\"\n"
      "measures: [{name: v}]\nalerts: [{name: a, target_env: E, dimensions: {? [x] : [y]}}]\n",
      // yaml-cpp's LoadAll never returned on these (fuzz/config_loader_fuzz.cc).
      ",",
      ", aggregation: SUM}\nname: shop\n",
  };
  for (const char* text : inputs) {
    Result<Detector> r = LoadDetector(text, "odd.yaml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(r.status().message().rfind("odd.yaml:", 0), 0u) << r.status().message();
  }
}

TEST(LoaderTest, ControlCharactersInStringsAreRejected) {
  // A NUL in the query did not survive DetectorToYaml (found by fuzz/config_loader_fuzz.cc).
  Result<Detector> r = LoadDetector(
      "name: m\nfrequency: P1D\nsource: {path: x.db}\n"
      "query: \"select * from t\\x01\\0 where d >= {{interval_start}} and d < {{interval_end}}\"\n"
      "measures: [{name: n}]\n",
      "ctl.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("ctl.yaml:4: query: control character 0x01", 0), 0u)
      << r.status().message();
}

TEST(NamesTest, ParseIsCaseInsensitiveInverseOfName) {
  for (auto a :
       {Aggregation::kSum, Aggregation::kAvg, Aggregation::kCount, Aggregation::kMin, Aggregation::kMax}) {
    EXPECT_EQ(ParseAggregation(AggregationName(a)), a);
  }
  EXPECT_EQ(ParseAggregation("sum"), Aggregation::kSum);
  EXPECT_EQ(ParseAggregation("Avg"), Aggregation::kAvg);
  EXPECT_FALSE(ParseAggregation("median").has_value());
  EXPECT_EQ(ParseSourceType("SQLite"), SourceType::kSqlite);
  EXPECT_EQ(ParseSourceType("csv"), SourceType::kCsv);
  EXPECT_FALSE(ParseSourceType("postgresql").has_value());
  EXPECT_EQ(ParseAlertDestination("pagerduty"), AlertDestination::kPagerDuty);
  EXPECT_EQ(ParseAlertDestination("Alertmanager"), AlertDestination::kAlertmanager);
  EXPECT_EQ(ParseRuleDirection("UP"), RuleDirection::kUp);
  EXPECT_EQ(ParseRuleCombine("Rules_Only"), RuleCombine::kRulesOnly);
  EXPECT_EQ(RuleCombineName(RuleCombine::kModelOnly), "model_only");
  EXPECT_FALSE(ParseRuleCombine("min").has_value());
  EXPECT_EQ(RuleDirectionName(RuleDirection::kBoth), "both");
}

// Each file in tests/config-cases/ is one broken detector; its header says
// where and what the error is (see the README there).
std::vector<std::string> CaseFiles() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kCasesDir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".yaml" || ext == ".json") out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ConfigCaseTest : public testing::TestWithParam<std::string> {};

TEST_P(ConfigCaseTest, FailsWithExpectedMessage) {
  const fs::path file = kCasesDir / GetParam();
  std::ifstream in(file);
  ASSERT_TRUE(in) << file;
  std::string expect;
  std::vector<std::string> also;
  for (std::string line; std::getline(in, line) && line.rfind("# ", 0) == 0;) {
    if (line.rfind("# expect: ", 0) == 0) expect = line.substr(10);
    if (line.rfind("# also: ", 0) == 0) also.push_back(line.substr(8));
  }
  ASSERT_FALSE(expect.empty()) << file << " has no '# expect: ' line";
  Result<Detector> r = LoadDetectorFile(file.string());
  ASSERT_FALSE(r.ok()) << file << " loaded without error";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string& message = r.status().message();
  EXPECT_EQ(message.rfind(file.string() + ":" + expect, 0), 0u)
      << "message: " << message << "\nexpected prefix: " << file.string() << ":" << expect;
  for (const std::string& text : also) {
    EXPECT_NE(message.find(text), std::string::npos)
        << "message: " << message << "\nexpected to contain: " << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, ConfigCaseTest, testing::ValuesIn(CaseFiles()),
                         [](const testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ConfigCaseFiles, Exist) { EXPECT_GE(CaseFiles().size(), 40u) << kCasesDir; }

}  // namespace
}  // namespace osprey::config

namespace osprey::config {
namespace {

TEST(LoaderTest, RatioMeasuresLoadAndRoundTrip) {
  // A side may be listed after its ratio; COUNT is additive too.
  Result<Detector> d = LoadDetector(
      "name: m\nfrequency: PT1H\nsource: {path: x.db}\n"
      "query: select * from t where d >= {{interval_start}} and d < {{interval_end}}\n"
      "dimensions: [region]\n"
      "measures:\n"
      "  - {name: conversion, ratio: {numerator: orders, denominator: views}, sensitivity: 60}\n"
      "  - {name: orders, aggregation: COUNT}\n"
      "  - {name: views, aggregation: SUM}\n",
      "ratio.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE(d->measures[0].ratio.has_value());
  EXPECT_EQ(d->measures[0].ratio->numerator, "orders");
  EXPECT_EQ(d->measures[0].ratio->denominator, "views");
  EXPECT_FALSE(d->measures[1].ratio.has_value());
  EXPECT_EQ(FindMeasure(*d, "views"), 2u);
  EXPECT_FALSE(FindMeasure(*d, "visits").has_value());
  const std::string yaml = DetectorToYaml(*d);
  Result<Detector> back = LoadDetector(yaml, "emitted.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  ASSERT_TRUE(back->measures[0].ratio.has_value());
  EXPECT_EQ(back->measures[0].ratio->numerator, "orders");
  EXPECT_EQ(back->measures[0].ratio->denominator, "views");
  EXPECT_EQ(back->measures[0].sensitivity, 60);
}

TEST(LoaderTest, WeightedAveragesLoadAndRoundTrip) {
  Result<Detector> d = LoadDetector(
      "name: m\nfrequency: PT5M\nsource: {path: x.db}\n"
      "query: select * from t where d >= {{interval_start}} and d < {{interval_end}}\n"
      "measures:\n"
      "  - {name: latency, aggregation: AVG, weight: requests}\n"
      "  - {name: requests, aggregation: SUM}\n",
      "weight.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->measures[0].weight, "requests");
  EXPECT_FALSE(d->measures[1].weight.has_value());
  const std::string yaml = DetectorToYaml(*d);
  Result<Detector> back = LoadDetector(yaml, "emitted.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  EXPECT_EQ(back->measures[0].weight, "requests");
  EXPECT_EQ(back->measures[0].aggregation, Aggregation::kAvg);
}

TEST(LoaderTest, MeasureRulesOverrideTheDetectorsFieldByField) {
  Result<Detector> d = LoadDetector(
      "name: m\nfrequency: PT1H\nsource: {path: x.db}\n"
      "query: select * from t where d >= {{interval_start}} and d < {{interval_end}}\n"
      "measures:\n"
      "  - {name: a}\n"
      "  - {name: b, sensitivity: 80, rules: {max: 50, direction: both, combine: rules_only}}\n"
      "sensitivity: 40\n"
      "rules: {min: 10, max: 100, direction: up, sensitivity: 90}\n",
      "override.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const Rules a = EffectiveRules(*d, 0);
  EXPECT_EQ(a.min, 10);
  EXPECT_EQ(a.max, 100);
  EXPECT_EQ(a.direction, RuleDirection::kUp);
  EXPECT_EQ(a.sensitivity, 90);
  EXPECT_FALSE(a.combine.has_value());
  const Rules b = EffectiveRules(*d, 1);
  EXPECT_EQ(b.min, 10);  // kept from the detector
  EXPECT_EQ(b.max, 50);  // the measure's
  EXPECT_EQ(b.direction, RuleDirection::kBoth);
  EXPECT_EQ(b.sensitivity, 90);
  EXPECT_EQ(b.combine, RuleCombine::kRulesOnly);
  EXPECT_EQ(ModelSensitivity(*d, 0), 40);
  EXPECT_EQ(ModelSensitivity(*d, 1), 80);
}

TEST(LoaderTest, AlertRuleFieldsLoadAndRoundTrip) {
  Result<Detector> d = LoadDetector(
      "name: m\nfrequency: PT1H\nsource: {path: x.db}\n"
      "query: select * from t where d >= {{interval_start}} and d < {{interval_end}}\n"
      "measures: [{name: n}]\n"
      "alerts:\n"
      "  - name: page\n"
      "    destination: pagerduty\n"
      "    target_env: PD_URL\n"
      "    routing_key_file: /run/secrets/pd\n"
      "    min_duration: 3\n"
      "    cooldown: 3600\n"
      "    renotify_margin: 15\n"
      "    send_resolved: false\n"
      "    signing_key_env: HOOK_KEY\n"
      "    ui_base_url: https://osprey.example.com/\n"
      "    max_attempts: 4\n"
      "    timeout: 20\n"
      "  - name: hook\n"
      "    target_file: /run/secrets/hook_url\n",
      "rules.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const Alert& a = d->alerts[0];
  EXPECT_EQ(a.routing_key_file, "/run/secrets/pd");
  EXPECT_EQ(a.min_duration, 3);
  EXPECT_EQ(a.cooldown_seconds, 3600);
  EXPECT_EQ(a.renotify_margin, 15);
  EXPECT_FALSE(a.send_resolved);
  EXPECT_EQ(a.signing_key_env, "HOOK_KEY");
  EXPECT_EQ(a.ui_base_url, "https://osprey.example.com");
  EXPECT_EQ(a.max_attempts, 4);
  EXPECT_EQ(a.timeout_seconds, 20);
  const Alert& b = d->alerts[1];
  EXPECT_EQ(b.target_env, "");
  EXPECT_EQ(b.target_file, "/run/secrets/hook_url");
  EXPECT_EQ(b.min_duration, 1);
  EXPECT_EQ(b.cooldown_seconds, 0);
  EXPECT_EQ(b.renotify_margin, 10);
  EXPECT_TRUE(b.send_resolved);
  EXPECT_EQ(b.ui_base_url, "http://localhost:8080");
  EXPECT_EQ(b.max_attempts, 8);
  EXPECT_EQ(b.timeout_seconds, 10);

  Result<Detector> back = LoadDetector(DetectorToYaml(*d), "emitted.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->alerts.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Alert& x = d->alerts[i];
    const Alert& y = back->alerts[i];
    EXPECT_EQ(x.target_env, y.target_env);
    EXPECT_EQ(x.target_file, y.target_file);
    EXPECT_EQ(x.min_duration, y.min_duration);
    EXPECT_EQ(x.cooldown_seconds, y.cooldown_seconds);
    EXPECT_EQ(x.renotify_margin, y.renotify_margin);
    EXPECT_EQ(x.send_resolved, y.send_resolved);
    EXPECT_EQ(x.signing_key_env, y.signing_key_env);
    EXPECT_EQ(x.routing_key_file, y.routing_key_file);
    EXPECT_EQ(x.ui_base_url, y.ui_base_url);
    EXPECT_EQ(x.max_attempts, y.max_attempts);
    EXPECT_EQ(x.timeout_seconds, y.timeout_seconds);
  }
}

}  // namespace
}  // namespace osprey::config

namespace osprey::config {
namespace {

// The US-retail calendar of docs/configuration.md ("events").
constexpr char kRetailYaml[] = R"(name: shop
frequency: PT1H
timezone: America/New_York
source: {type: sqlite, path: shop.db}
query: select * from t where ts >= {{interval_start}} and ts < {{interval_end}}
dimensions: [region, channel]
measures:
  - {name: revenue}
events:
  - {name: Thanksgiving, month: 11, weekday: thursday, nth: 4}
  - {name: Black Friday, month: 11, weekday: thursday, nth: 4, offset_days: 1}
  - {name: Cyber Monday, month: 11, weekday: thursday, nth: 4, offset_days: 4, dimensions: {channel: web}}
  - {name: Christmas, date: "12-24", days: 2, effect: suppress}
  - {name: New Year, date: "01-01"}
  - {name: Easter, easter: 0}
  - {name: Good Friday, easter: -2, hours: 6}
  - {name: Store move, start: 2024-03-04, end: "2024-03-06 12:00", dimensions: {region: West}}
)";

std::vector<std::string> Expand(const std::vector<detect::CalendarEvent>& events, const TimeZone& zone,
                                const std::string& from, const std::string& to) {
  detect::EventCalendar cal(events, zone);
  std::vector<std::string> out;
  for (const auto& o : cal.Overlapping(*ParseInstant(from, zone), *ParseInstant(to, zone))) {
    out.push_back(o.event->name + " " + FormatIso(o.start) + " " + FormatIso(o.end));
  }
  return out;
}

TEST(EventsConfigTest, TheRetailCalendarLoadsAndLandsOnItsDates) {
  Result<Detector> d = LoadDetector(kRetailYaml, "shop.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->events.size(), 8u);
  EXPECT_EQ(d->events[2].scope.size(), 1u);
  EXPECT_EQ(d->events[2].scope[0].dimension, 1u);  // channel
  EXPECT_EQ(d->events[3].effect, detect::EventEffect::kSuppress);
  EXPECT_EQ(Expand(d->events, d->timezone, "2024-01-01", "2025-01-02"),
            (std::vector<std::string>{
                "New Year 2024-01-01T05:00:00Z 2024-01-02T05:00:00Z",
                "Store move 2024-03-04T05:00:00Z 2024-03-06T17:00:00Z",
                "Good Friday 2024-03-29T04:00:00Z 2024-03-29T10:00:00Z",
                "Easter 2024-03-31T04:00:00Z 2024-04-01T04:00:00Z",
                "Thanksgiving 2024-11-28T05:00:00Z 2024-11-29T05:00:00Z",
                "Black Friday 2024-11-29T05:00:00Z 2024-11-30T05:00:00Z",
                "Cyber Monday 2024-12-02T05:00:00Z 2024-12-03T05:00:00Z",
                "Christmas 2024-12-24T05:00:00Z 2024-12-26T05:00:00Z",
                "New Year 2025-01-01T05:00:00Z 2025-01-02T05:00:00Z",
            }));
}

TEST(EventsConfigTest, InlineEventsRoundTripThroughYaml) {
  Result<Detector> d = LoadDetector(kRetailYaml, "shop.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const std::string yaml = DetectorToYaml(*d);
  Result<Detector> back = LoadDetector(yaml, "emitted.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  EXPECT_EQ(DetectorToYaml(*back), yaml);
  EXPECT_EQ(Expand(back->events, back->timezone, "2020-01-01", "2031-01-01"),
            Expand(d->events, d->timezone, "2020-01-01", "2031-01-01"));
}

TEST(EventsConfigTest, AnEventsFileIsReadRelativeToTheDetectorFile) {
  // (osprey::testing::TempDir's namespace would hide gtest's in this file.)
  std::string tmpl = (fs::temp_directory_path() / "osprey_events_XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  struct Dir {
    fs::path p;
    ~Dir() { fs::remove_all(p); }
    const fs::path& path() const { return p; }
    std::string File(const std::string& name) const { return (p / name).string(); }
  } dir{tmpl};
  fs::create_directories(dir.path() / "cal");
  {
    std::ofstream(dir.File("cal/holidays.csv"))
        << "\xEF\xBB\xBFname, start ,end,dimensions,Effect\r\n"
           "Thanksgiving,2024-11-28,2024-11-29,,\r\n"
           "\"Sale, West\",2024-11-29T06:00,2024-11-29T18:00Z,region=West&channel=web,suppress\r\n"
           "\r\n";
    std::ofstream(dir.File("shop.yaml"))
        << std::string(kRetailYaml).substr(0, std::string(kRetailYaml).find("events:"))
        << "events: cal/holidays.csv\n";
  }
  Result<Detector> d = LoadDetectorFile(dir.File("shop.yaml"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->events.empty());
  EXPECT_EQ(d->events_file, (dir.path() / "cal/holidays.csv").string());
  Result<std::vector<detect::CalendarEvent>> events = LoadEvents(*d);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  // The file's events, then the built-in holidays of the zone's country.
  ASSERT_EQ(events->size(), 2u + detect::CountryHolidays("US").size());
  EXPECT_EQ((*events)[2].name, "New Year's Day");
  const detect::CalendarEvent& sale = (*events)[1];
  EXPECT_EQ(sale.name, "Sale, West");
  EXPECT_EQ(FormatIso(sale.start), "2024-11-29T11:00:00Z");  // local 06:00
  EXPECT_EQ(FormatIso(sale.end), "2024-11-29T18:00:00Z");    // an explicit offset wins
  ASSERT_EQ(sale.scope.size(), 2u);
  EXPECT_EQ(sale.scope[0].dimension, 0u);
  EXPECT_EQ(sale.scope[1].value, "web");
  EXPECT_EQ(sale.effect, detect::EventEffect::kSuppress);
  EXPECT_EQ((*events)[0].effect, detect::EventEffect::kLearn);
  // The emitted detector names the file, not its events.
  EXPECT_NE(DetectorToYaml(*d).find("events: " + d->events_file), std::string::npos);

  // A file broken after loading fails where the events are read, naming it.
  std::ofstream(dir.File("cal/holidays.csv")) << "name,start,end\nX,2024-01-02,\n";
  Result<std::vector<detect::CalendarEvent>> broken = LoadEvents(*d);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message().rfind(d->events_file + ":2: column 3 (end):", 0), 0u)
      << broken.status().message();
}

// `holidays` adds a built-in calendar after the listed events (which win a
// day both cover): by default the zone's country's, for hourly data.
TEST(EventsConfigTest, BuiltInHolidaysFollowTheListedEvents) {
  auto load = [](const std::string& extra) {
    Result<Detector> d = LoadDetector(std::string(kRetailYaml) + extra, "shop.yaml");
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : Detector{};
  };
  const Detector automatic = load("");
  EXPECT_EQ(automatic.holidays, "auto");
  EXPECT_EQ(HolidayCountry(automatic), "US");
  Result<std::vector<detect::CalendarEvent>> events = LoadEvents(automatic);
  ASSERT_TRUE(events.ok());
  const std::vector<detect::CalendarEvent> us = detect::CountryHolidays("US");
  ASSERT_EQ(events->size(), 8u + us.size());
  EXPECT_EQ((*events)[0].name, "Thanksgiving");
  for (size_t i = 0; i < us.size(); ++i) EXPECT_EQ((*events)[8 + i].name, us[i].name);
  EXPECT_EQ(DetectorToYaml(automatic).find("holidays"), std::string::npos);

  const Detector off = load("holidays: none\n");
  EXPECT_EQ(HolidayCountry(off), std::nullopt);
  EXPECT_EQ(LoadEvents(off)->size(), 8u);

  const Detector british = load("holidays: gb\n");
  EXPECT_EQ(british.holidays, "GB");
  EXPECT_EQ(LoadEvents(british)->size(), 8u + detect::CountryHolidays("GB").size());
  Result<Detector> again = LoadDetector(DetectorToYaml(british), "again");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->holidays, "GB");

  // Sub-hourly data (systems' metrics) takes no calendar unless one is named.
  std::string five = kRetailYaml;
  five.replace(five.find("PT1H"), 4, "PT5M");
  Result<Detector> fast = LoadDetector(five, "fast.yaml");
  ASSERT_TRUE(fast.ok());
  EXPECT_EQ(HolidayCountry(*fast), std::nullopt);
  fast = LoadDetector(five + "holidays: US\n", "fast.yaml");
  ASSERT_TRUE(fast.ok());
  EXPECT_EQ(HolidayCountry(*fast), "US");

  Result<Detector> bad = LoadDetector(std::string(kRetailYaml) + "holidays: [US]\n", "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.yaml:18: holidays: expected a string"), std::string::npos)
      << bad.status().message();
}

TEST(EventsConfigTest, EventsWithoutAFileAreCheckedOnlyWhenRead) {
  // LoadDetector (text, e.g. from the API) cannot know the file's directory.
  std::string yaml = kRetailYaml;
  yaml = yaml.substr(0, yaml.find("events:")) + "events: nowhere.csv\n";
  Result<Detector> d = LoadDetector(yaml, "api");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Result<std::vector<detect::CalendarEvent>> events = LoadEvents(*d);
  EXPECT_EQ(events.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace osprey::config

namespace osprey::config {
namespace {

// `validate` and the API list every error of a file, not only the first;
// each line names its own line and field, and nothing is reported twice.
TEST(LoaderTest, ReportsEveryErrorItFinds) {
  constexpr char kBroken[] = R"(name: Bad Name
frequency: PT1X
sensitivty: 50
source: {type: sqlite, path: w.db}
query: select * from t where ts >= {{interval_start}} and ts < {{interval_end}}
dimensions: [platform]
measures:
  - {name: views}
min_severity: 150
alerts:
  - {name: oncall, destination: pager, target_env: X}
)";
  auto d = LoadDetector(kBroken, "broken.yaml");
  ASSERT_FALSE(d.ok());
  const std::string& m = d.status().message();
  std::vector<std::string> lines;
  std::istringstream in(m);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u) << m;
  EXPECT_EQ(lines[0].rfind("broken.yaml:3: sensitivty: unknown key", 0), 0u) << m;
  EXPECT_EQ(lines[1].rfind("broken.yaml:1: name: invalid detector name", 0), 0u) << m;
  EXPECT_EQ(lines[2].rfind("broken.yaml:2: frequency:", 0), 0u) << m;
  EXPECT_EQ(lines[3].rfind("broken.yaml:9: min_severity:", 0), 0u) << m;
  EXPECT_EQ(lines[4].rfind("broken.yaml:11: alerts[0].destination: unknown destination", 0), 0u) << m;

  // A file with one error still reports exactly that one.
  auto one = LoadDetector("name: x\nfrequency: PT1H\n", "one.yaml");
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.status().message().find('\n'), std::string::npos) << one.status().message();
}

}  // namespace
}  // namespace osprey::config
