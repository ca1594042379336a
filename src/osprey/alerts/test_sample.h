// Test-only: a small state store holding one anomaly group of detector
// "shop" and an outbox row for each alert destination. format_test renders
// it into the docs/alerts/samples/ files; deliver_test sends it over HTTP and
// expects exactly those bytes.
#pragma once

#include <string>

#include "osprey/store/store.h"

namespace osprey::alerts::testing {

inline constexpr int64_t kT0 = 1740960000;  // 2025-03-03T00:00:00Z
inline constexpr int64_t kGroupTs = kT0 + 11 * 3600;
inline constexpr const char* kRoutingKey = "R0UT1NGKEY0000000000000000000000";

inline constexpr const char* kSampleConfig = R"yaml(name: shop
description: Revenue per platform and marketplace
frequency: PT1H
source: {type: sqlite, path: shop.db}
query: select * from t where ts >= {{interval_start}} and ts < {{interval_end}}
dimensions: [platform, marketplace]
measures:
  - {name: revenue, aggregation: SUM}
alerts:
  - {name: hook, destination: webhook, target_env: HOOK_URL, signing_key_env: HOOK_KEY,
     ui_base_url: "https://osprey.example.com", description: Revenue anomalies, timeout: 5}
  - {name: chat, destination: slack, target_env: SLACK_URL, ui_base_url: "https://osprey.example.com"}
  - {name: page, destination: pagerduty, target_env: PD_URL, routing_key_env: PD_KEY,
     ui_base_url: "https://osprey.example.com", description: Page the on-call engineer}
  - {name: am, destination: alertmanager, target_env: AM_URL, ui_base_url: "https://osprey.example.com"}
  - {name: script, destination: command, target_env: ALERT_CMD, ui_base_url: "https://osprey.example.com"}
)yaml";

// Fills `store` and returns the detector id.
inline int64_t FillSampleStore(store::Store& store) {
  const int64_t d = *store.UpsertDetector("shop", kSampleConfig);
  const int64_t leaf = *store.EnsureSeries(d, "revenue", R"({"marketplace":"US","platform":"pc_web"})",
                                           "revenue{platform=pc_web, marketplace=US}");
  const int64_t rollup = *store.EnsureSeries(d, "revenue", R"({"platform":"pc_web"})",
                                             "revenue{platform=pc_web, marketplace=ALL}");
  store::ChunkResult c;
  c.detector_id = d;
  c.first_ts = kT0;
  c.next_watermark = kT0 + 12 * 3600;
  for (int64_t i = 0; i < 12; ++i) {
    const int64_t ts = kT0 + i * 3600;
    const bool last = i == 11;
    c.points.push_back({leaf, ts, last ? 400.0 : 1000.0 + static_cast<double>(i % 3) * 10, 1000.0, 900.0,
                        1100.0, last ? 92.5 : 3.0});
    c.points.push_back({rollup, ts, last ? 2400.0 : 3000.0 + static_cast<double>(i % 2) * 20, 3000.0, 2800.0,
                        3200.0, last ? 71.25 : 2.0});
  }
  c.groups.push_back({0, d, "", "revenue", kGroupTs, kGroupTs + 3600, 92.5, 2,
                      R"({"marketplace":[{"value":"US","share":100.0,"actual":400.0,"expected":1000.0}],)"
                      R"("platform":[{"value":"pc_web","share":100.0,"actual":400.0,"expected":1000.0}]})",
                      R"([{"element":{"marketplace":"US","platform":"pc_web"},"share":100.0,"score":0.97}])",
                      "[]"});
  store::AnomalyRecord a;
  a.series_id = leaf;
  a.ts = kGroupTs;
  a.value = 400;
  a.expected = 1000;
  a.lower = 900;
  a.upper = 1100;
  a.severity = 92.5;
  a.direction = "down";
  a.explanation = "dip";
  c.anomalies.push_back(a);
  a.series_id = rollup;
  a.value = 2400;
  a.expected = 3000;
  a.lower = 2800;
  a.upper = 3200;
  a.severity = 71.25;
  c.anomalies.push_back(a);
  for (const char* alert : {"hook", "chat", "page", "am", "script"}) {
    store::OutboxRecord o;
    o.alert = alert;
    o.kind = "trigger";
    o.measure = "revenue";
    o.group_ts = kGroupTs;
    o.incident_ts = kGroupTs;
    o.severity = 92.5;
    o.created_at = kGroupTs + 3600;
    c.outbox.push_back(o);
  }
  for (const char* alert : {"page", "am"}) {
    store::OutboxRecord o;
    o.alert = alert;
    o.kind = "resolve";
    o.measure = "revenue";
    o.group_ts = kGroupTs;
    o.incident_ts = kGroupTs;
    o.severity = 92.5;
    o.created_at = kGroupTs + 2 * 3600;
    c.outbox.push_back(o);
  }
  if (!store.CommitChunk(c).ok()) return -1;
  return d;
}

// The docs/alerts/samples file of an outbox row.
inline std::string SampleName(const store::OutboxRecord& r) {
  static const std::map<std::string, std::string> kNames = {{"hook", "webhook"},
                                                            {"chat", "slack"},
                                                            {"page", "pagerduty"},
                                                            {"am", "alertmanager"},
                                                            {"script", "command"}};
  std::string name = kNames.at(r.alert);
  if (r.kind == "resolve") name += "-resolve";
  return name;
}

}  // namespace osprey::alerts::testing
