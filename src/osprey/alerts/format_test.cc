// The payload of every format, checked byte for byte against the samples
// that docs/alerts.md shows (docs/alerts/samples/*.json, pretty-printed).
// Run with OSPREY_UPDATE_DOCS=1 to rewrite the samples and the doc after an
// intended format change; review the diff.
#include "osprey/alerts/format.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "osprey/alerts/deliver.h"
#include "osprey/alerts/test_sample.h"
#include "osprey/testing/files.h"

namespace osprey::alerts {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

class NoTransport final : public Transport {
 public:
  Result<HttpResponse> Post(const HttpRequest&) override { return Unavailable("no network in this test"); }
  Result<int> RunCommand(const CommandRequest&) override { return Unavailable("no commands in this test"); }
};

TEST(FormatTest, EveryFormatMatchesItsDocumentedSample) {
  const osprey::testing::TempDir dir("osprey_format_");
  auto store = std::move(store::OpenSqliteStore(dir.File("state.db"))).value();
  ASSERT_GT(testing::FillSampleStore(*store), 0);
  NoTransport transport;
  Deliverer deliverer(*store, transport);
  const fs::path samples = fs::path(OSPREY_SOURCE_DIR) / "docs" / "alerts" / "samples";
  const fs::path doc = fs::path(OSPREY_SOURCE_DIR) / "docs" / "alerts.md";
  const bool update = std::getenv("OSPREY_UPDATE_DOCS") != nullptr;
  std::string doc_text = osprey::testing::ReadFile(doc).value_or("");
  int checked = 0;
  for (const auto& row : *store->ListOutbox({})) {
    auto m = deliverer.BuildMessage(row);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const std::string body = FormatPayload(*m, testing::kRoutingKey);
    const ordered_json parsed = ordered_json::parse(body);
    EXPECT_EQ(parsed.dump(), body) << "bodies are compact JSON";
    const std::string pretty = parsed.dump(2) + "\n";
    const std::string name = testing::SampleName(row);
    const fs::path file = samples / (name + ".json");
    const std::string begin = "<!-- sample " + name + " -->\n```json\n";
    const std::string end = "```\n<!-- /sample -->";
    if (update) {
      fs::create_directories(samples);
      std::ofstream(file) << pretty;
      const size_t b = doc_text.find(begin);
      ASSERT_NE(b, std::string::npos) << "docs/alerts.md lacks the marker for " << name;
      const size_t e = doc_text.find(end, b);
      ASSERT_NE(e, std::string::npos);
      doc_text.replace(b + begin.size(), e - b - begin.size(), pretty);
    }
    EXPECT_EQ(osprey::testing::ReadFile(file).value_or(""), pretty)
        << "payload of " << name << " changed; see the file comment";
    EXPECT_NE(doc_text.find(begin + pretty + end), std::string::npos)
        << "docs/alerts.md does not show the current " << name << " sample";
    ++checked;
  }
  if (update) std::ofstream(doc) << doc_text;
  EXPECT_EQ(checked, 7);
  store.reset();
}

TEST(FormatTest, SlackNamesTheRuleBehindARuleAnomaly) {
  const fs::path db =
      fs::temp_directory_path() / ("osprey_format_rule_" + std::to_string(::getpid()) + ".db");
  fs::remove(db);
  auto store = std::move(store::OpenSqliteStore(db.string())).value();
  ASSERT_GT(testing::FillSampleStore(*store), 0);
  NoTransport transport;
  Deliverer deliverer(*store, transport);
  int checked = 0;
  for (const auto& row : *store->ListOutbox({})) {
    if (row.alert != "chat" || row.kind == "resolve") continue;
    auto m = deliverer.BuildMessage(row);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_FALSE(m->series.empty());
    EXPECT_EQ(SlackJson(*m).find(" rule ("), std::string::npos) << "a model anomaly names no rule";
    m->series[0].anomaly.explanation = "threshold";
    m->series[0].anomaly.direction = "up";
    EXPECT_NE(SlackJson(*m).find("severity 92, threshold rule (up)"), std::string::npos) << SlackJson(*m);
    m->series[0].anomaly.explanation = "change";
    EXPECT_NE(SlackJson(*m).find(", change rule (up)"), std::string::npos);
    ++checked;
  }
  EXPECT_GT(checked, 0);
  store.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix);
}

// A ratio measure's root cause names how its numerator and denominator
// moved.
TEST(FormatTest, ARatioRootCauseNamesItsSidesChanges) {
  const fs::path db =
      fs::temp_directory_path() / ("osprey_format_ratio_" + std::to_string(::getpid()) + ".db");
  fs::remove(db);
  auto store = std::move(store::OpenSqliteStore(db.string())).value();
  ASSERT_GT(testing::FillSampleStore(*store), 0);
  NoTransport transport;
  Deliverer deliverer(*store, transport);
  int checked = 0;
  for (const auto& row : *store->ListOutbox({})) {
    if (row.alert != "chat" || row.kind == "resolve") continue;
    auto m = deliverer.BuildMessage(row);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    m->group.root_causes =
        R"([{"element": {"region": "west"}, "share": 97.5, "score": 0.9, "ratio": {"numerator": "orders",)"
        R"( "denominator": "views", "numerator_actual": 33, "numerator_expected": 76,)"
        R"( "denominator_actual": 1503, "denominator_expected": 1510}}])";
    const std::string slack = SlackJson(*m);
    EXPECT_NE(slack.find("root cause: region=west — orders -56.6 %, views -0.5 %"), std::string::npos)
        << slack;
    ++checked;
  }
  EXPECT_GT(checked, 0);
  store.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix);
}

// No-data messages: no group behind them, the outage in their text, and the
// webhook bodies shown in docs/alerts.md ("No data").
TEST(FormatTest, NoDataMessagesNameTheOutage) {
  const osprey::testing::TempDir dir("osprey_format_nodata_");
  auto store = std::move(store::OpenSqliteStore(dir.File("state.db"))).value();
  const int64_t d = *store->UpsertDetector("shop", testing::kSampleConfig);
  store::ChunkResult c;
  c.detector_id = d;
  c.first_ts = testing::kT0;
  c.next_watermark = testing::kT0 + 24 * 3600;
  const int64_t outage = testing::kT0 + 13 * 3600;  // no rows in 13:00-18:00
  for (const char* alert : {"hook", "chat", "page", "am"}) {
    store::OutboxRecord o;
    o.alert = alert;
    o.kind = "no_data";
    o.group_ts = outage + 2 * 3600;  // raised in the third empty interval (no_data_after: 3)
    o.incident_ts = outage;
    o.created_at = outage + 3 * 3600;
    c.outbox.push_back(o);
    o.kind = "no_data_resolve";
    o.group_ts = outage + 5 * 3600;  // rows again at 18:00
    o.created_at = outage + 6 * 3600;
    c.outbox.push_back(o);
  }
  ASSERT_TRUE(store->CommitChunk(c).ok());
  ASSERT_TRUE(store->CommitChunk(c).ok()) << "committing the same messages again is a no-op";
  NoTransport transport;
  Deliverer deliverer(*store, transport);
  const auto rows = *store->ListOutbox({});
  ASSERT_EQ(rows.size(), 8u);
  const fs::path samples = fs::path(OSPREY_SOURCE_DIR) / "docs" / "alerts" / "samples";
  const fs::path doc = fs::path(OSPREY_SOURCE_DIR) / "docs" / "alerts.md";
  const bool update = std::getenv("OSPREY_UPDATE_DOCS") != nullptr;
  std::string doc_text = osprey::testing::ReadFile(doc).value_or("");
  for (const auto& row : rows) {
    SCOPED_TRACE(row.alert + " " + row.kind);
    EXPECT_EQ(row.group_id, 0);
    EXPECT_EQ(row.incident_ts, outage);
    auto m = deliverer.BuildMessage(row);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const bool resolve = row.kind == "no_data_resolve";
    EXPECT_EQ(row.idempotency_key,
              fmt::format("nodata.{}.{}.{}{}", d, row.alert, outage, resolve ? ".resolved" : ""));
    EXPECT_EQ(m->no_data_intervals, resolve ? 5 : 3);
    const std::string body = FormatPayload(*m, testing::kRoutingKey);
    const ordered_json j = ordered_json::parse(body);
    if (row.alert == "hook" || row.alert == "chat") {
      const std::string text = resolve ? "returned rows again at 2025-03-03T18:00:00Z after 5 intervals"
                                       : "returned no rows for 3 intervals since 2025-03-03T13:00:00Z";
      EXPECT_NE(body.find(text), std::string::npos) << body;
    }
    if (row.alert == "page") {
      EXPECT_EQ(j["event_action"], resolve ? "resolve" : "trigger");
      EXPECT_EQ(j["dedup_key"], "osprey/shop/page/no_data/2025-03-03T13:00:00Z");
    }
    if (row.alert == "am") {
      EXPECT_EQ(j["status"], resolve ? "resolved" : "firing");
    }
    if (row.alert != "hook") continue;
    const std::string name = resolve ? "webhook-no_data_resolve" : "webhook-no_data";
    const std::string pretty = j.dump(2) + "\n";
    const std::string begin = "<!-- sample " + name + " -->\n```json\n";
    const std::string end = "```\n<!-- /sample -->";
    if (update) {
      std::ofstream(samples / (name + ".json")) << pretty;
      const size_t b = doc_text.find(begin);
      ASSERT_NE(b, std::string::npos) << "docs/alerts.md lacks the marker for " << name;
      const size_t e = doc_text.find(end, b);
      ASSERT_NE(e, std::string::npos);
      doc_text.replace(b + begin.size(), e - b - begin.size(), pretty);
    }
    EXPECT_EQ(osprey::testing::ReadFile(samples / (name + ".json")).value_or(""), pretty);
    EXPECT_NE(doc_text.find(begin + pretty + end), std::string::npos)
        << "docs/alerts.md does not show the current " << name << " sample";
  }
  if (update) std::ofstream(doc) << doc_text;
  store.reset();
}

TEST(FormatTest, FailingMessagesNameTheErrorAndLinkToTheDetector) {
  const osprey::testing::TempDir dir("osprey_format_failing_");
  auto store = std::move(store::OpenSqliteStore(dir.File("state.db"))).value();
  const int64_t d = *store->UpsertDetector("shop", testing::kSampleConfig);
  const int64_t since = testing::kT0 + 13 * 3600;
  store::DetectorStatusRecord status;
  status.detector_id = d;
  status.state = "failing";
  status.last_error = "warehouse: connection refused";
  status.retries = 3;
  ASSERT_TRUE(store->PutDetectorStatus(status).ok());
  for (const char* alert : {"hook", "chat", "page", "am"}) {
    store::OutboxRecord o;
    o.detector_id = d;
    o.alert = alert;
    o.kind = "failing";
    o.incident_ts = since;
    o.created_at = since;
    EXPECT_TRUE(*store->QueueDetectorMessage(o));
    EXPECT_FALSE(*store->QueueDetectorMessage(o)) << "queued once";
    o.kind = "failing_resolve";
    o.created_at = since + 3600;
    EXPECT_TRUE(*store->QueueDetectorMessage(o));
  }
  store::OutboxRecord bad;
  bad.detector_id = d;
  bad.kind = "trigger";
  EXPECT_EQ(store->QueueDetectorMessage(bad).status().code(), StatusCode::kInvalidArgument);
  NoTransport transport;
  Deliverer deliverer(*store, transport);
  const auto rows = *store->ListOutbox({});
  ASSERT_EQ(rows.size(), 8u);
  for (const auto& row : rows) {
    SCOPED_TRACE(row.alert + " " + row.kind);
    const bool resolve = row.kind == "failing_resolve";
    EXPECT_EQ(row.group_id, 0);
    EXPECT_EQ(row.idempotency_key,
              fmt::format("failing.{}.{}.{}{}", d, row.alert, since, resolve ? ".resolved" : ""));
    auto m = deliverer.BuildMessage(row);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const std::string body = FormatPayload(*m, testing::kRoutingKey);
    const ordered_json j = ordered_json::parse(body);
    if (row.alert == "hook") {
      EXPECT_EQ(j["event"], row.kind);
      EXPECT_EQ(j["failing_since"], "2025-03-03T13:00:00Z");
      EXPECT_EQ(j["url"], "https://osprey.example.com/#/detectors/shop");
      if (resolve) {
        EXPECT_EQ(j["recovered_at"], "2025-03-03T14:00:00Z");
      } else {
        EXPECT_EQ(j["last_error"], "warehouse: connection refused");
        EXPECT_EQ(j["failed_runs"], 3);
      }
    }
    if (row.alert == "chat" && !resolve) {
      EXPECT_NE(body.find("has failed since 2025-03-03T13:00:00Z: warehouse: connection refused"),
                std::string::npos)
          << body;
    }
    if (row.alert == "page") {
      EXPECT_EQ(j["event_action"], resolve ? "resolve" : "trigger");
      EXPECT_EQ(j["dedup_key"], "osprey/shop/page/failing/2025-03-03T13:00:00Z");
    }
    if (row.alert == "am") {
      EXPECT_EQ(j["status"], resolve ? "resolved" : "firing");
      EXPECT_EQ(j["alerts"][0]["labels"]["measure"], "failing");
    }
  }
}

}  // namespace
}  // namespace osprey::alerts
