// The REST API over real HTTP: a server on a free loopback port, over a
// state store filled by backtesting the example detector on a generated
// 60-day warehouse.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <set>

#include "osprey/api/auth.h"
#include "osprey/api/server.h"
#include "osprey/app/backtest.h"
#include "osprey/config/loader.h"
#include "osprey/testing/clock.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey::api {
namespace {

using nlohmann::json;

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("osprey_api_");
    state_ = new std::string(dir_->File("state.db"));
    app::DemoOptions o;
    o.days = 60;
    o.clean_days = 21;
    o.harder = false;  // the original warehouse: exact row counts and figures
    auto w = testing::MakeDemoWarehouse(o, dir_->File("warehouse.db"));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    const app::DemoData& data = w->data;
    config_ = new std::string(config::DetectorToYaml(w->detector));
    auto store = std::move(store::OpenSqliteStore(*state_)).value();
    auto stats = testing::Backtest(*config::LoadDetector(*config_, "test"), *store, data.start,
                                   data.end, *config_);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    ASSERT_GT(stats->groups, 10);
    admin_ = new std::string(*GenerateToken());
    viewer_ = new std::string(*GenerateToken());
    ASSERT_TRUE(store->CreateToken({0, "admin-test", "admin", HashToken(*admin_), 1, std::nullopt}).ok());
    ASSERT_TRUE(store->CreateToken({0, "viewer-test", "viewer", HashToken(*viewer_), 1, std::nullopt}).ok());
    clock_ = new testing::FakeClock(data.end);
    ServerOptions so;
    so.port = 0;
    so.state_path = *state_;
    so.max_body_bytes = 64 * 1024;
    so.threads = 4;
    so.max_backtest_intervals = 500;
    auto server = Server::Create(so, *clock_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value().release();
    ASSERT_TRUE(server_->Start().ok());
  }
  static void TearDownTestSuite() {
    if (server_) server_->Stop();
    delete server_;
    delete clock_;
    delete dir_;
  }

  struct Response {
    int status = 0;
    std::string content_type;
    std::string body;
    json j;
    httplib::Headers headers;
  };

  static Response Call(const std::string& method, const std::string& path, const std::string* token,
                       const std::string& body = "", const std::string& type = "application/json") {
    httplib::Client cli("127.0.0.1", server_->port());
    httplib::Headers h;
    if (token) h.emplace("Authorization", "Bearer " + *token);
    auto r = method == "GET"    ? cli.Get(path, h)
             : method == "POST" ? cli.Post(path, h, body, type)
             : method == "PUT"  ? cli.Put(path, h, body, type)
                                : cli.Delete(path, h);
    Response out;
    if (!r) return out;
    out.status = r->status;
    out.content_type = r->get_header_value("Content-Type");
    out.body = r->body;
    out.headers = r->headers;
    out.j = json::parse(r->body, nullptr, false);
    return out;
  }
  static Response Get(const std::string& path, const std::string* token) { return Call("GET", path, token); }

  static void ExpectProblem(const Response& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json") << r.body;
    ASSERT_TRUE(r.j.is_object()) << r.body;
    EXPECT_EQ(r.j.value("status", 0), status);
    EXPECT_TRUE(r.j.contains("type") && r.j.contains("title") && r.j.contains("detail")) << r.body;
  }

  static int64_t FirstGroupId() {
    auto r = Get("/api/v1/anomaly-groups?sort=severity&limit=1", admin_);
    return r.j["anomaly_groups"][0]["id"].get<int64_t>();
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline std::string* state_ = nullptr;
  static inline std::string* config_ = nullptr;
  static inline std::string* admin_ = nullptr;
  static inline std::string* viewer_ = nullptr;
  static inline testing::FakeClock* clock_ = nullptr;
  static inline Server* server_ = nullptr;
};

TEST_F(ApiTest, HealthzIsPublicEverythingElseNeedsAToken) {
  auto h = Get("/healthz", nullptr);
  EXPECT_EQ(h.status, 200);
  for (const char* path : {"/api/v1/status", "/api/v1/anomaly-groups", "/api/v1/detectors", "/metrics",
                           "/api/openapi.json", "/api/v1/alerts"}) {
    auto r = Get(path, nullptr);
    ExpectProblem(r, 401);
    EXPECT_EQ(r.headers.find("WWW-Authenticate")->second.rfind("Bearer", 0), 0u);
  }
  std::string wrong = "osp_" + std::string(64, '0');
  ExpectProblem(Get("/api/v1/status", &wrong), 401);
  EXPECT_EQ(Get("/api/v1/status", viewer_).status, 200);
  // The UI's static files carry no data and load before login.
  auto index = Get("/", nullptr);
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("<html"), std::string::npos);
}

TEST_F(ApiTest, ViewersReadAdminsAlsoWrite) {
  ExpectProblem(Call("POST", "/api/v1/detectors", viewer_, *config_, "application/yaml"), 403);
  ExpectProblem(Call("POST", "/api/v1/detectors/ecommerce/deactivate", viewer_), 403);
  ExpectProblem(Call("PUT", "/api/v1/anomaly-groups/1/feedback", viewer_, R"({"relevant":true})"), 403);
  ExpectProblem(Call("DELETE", "/api/v1/detectors/ecommerce", viewer_), 403);
  EXPECT_EQ(Get("/api/v1/detectors/ecommerce", viewer_).status, 200);
}

TEST_F(ApiTest, DetectorLifecycleWithFileValidation) {
  std::string yaml = *config_;
  yaml.replace(yaml.find("name: ecommerce"), 15, "name: shop2");
  auto bad = Call("POST", "/api/v1/detectors", admin_, "name: x\nfrequency: PT1S\n", "application/yaml");
  ExpectProblem(bad, 400);
  EXPECT_NE(bad.j["detail"].get<std::string>().find("request body:"), std::string::npos) << bad.body;
  ExpectProblem(Call("POST", "/api/v1/detectors", admin_, ""), 400);

  auto created = Call("POST", "/api/v1/detectors", admin_, yaml, "application/yaml");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.j["name"], "shop2");
  EXPECT_EQ(created.headers.find("Location")->second, "/api/v1/detectors/shop2");
  ExpectProblem(Call("POST", "/api/v1/detectors", admin_, yaml, "application/yaml"), 409);
  ExpectProblem(Call("PUT", "/api/v1/detectors/shop2", admin_, *config_, "application/yaml"), 400);
  EXPECT_EQ(Call("PUT", "/api/v1/detectors/shop2", admin_, yaml, "application/yaml").status, 200);
  // Rules go through the same loader: shown when set, rejected when wrong.
  std::string with_rules = yaml;
  const std::string revenue = "- {name: revenue, aggregation: SUM}";
  with_rules.replace(with_rules.find(revenue), revenue.size(),
                     "- {name: revenue, aggregation: SUM, rules: {min: 0, combine: rules_only}}");
  with_rules += "rules: {max: 5000, direction: up}\n";
  auto put = Call("PUT", "/api/v1/detectors/shop2", admin_, with_rules, "application/yaml");
  ASSERT_EQ(put.status, 200) << put.body;
  auto shown = Get("/api/v1/detectors/shop2", viewer_);
  EXPECT_EQ(shown.j["rules"], json::parse(R"({"max": 5000.0, "direction": "up"})")) << shown.body;
  EXPECT_EQ(shown.j["measures"][1]["rules"], json::parse(R"({"min": 0.0, "combine": "rules_only"})"));
  EXPECT_FALSE(shown.j["measures"][0].contains("rules"));
  auto wrong = Call("PUT", "/api/v1/detectors/shop2", admin_, yaml + "rules: {direction: sideways}\n",
                    "application/yaml");
  ExpectProblem(wrong, 400);
  EXPECT_NE(wrong.j["detail"].get<std::string>().find("rules.direction"), std::string::npos) << wrong.body;
  EXPECT_EQ(Call("PUT", "/api/v1/detectors/shop2", admin_, yaml, "application/yaml").status, 200);
  EXPECT_EQ(Get("/api/v1/detectors/shop2", viewer_).j["rules"], json::object());

  auto off = Call("POST", "/api/v1/detectors/shop2/deactivate", admin_);
  EXPECT_EQ(off.status, 200);
  EXPECT_EQ(off.j["active"], false);
  EXPECT_EQ(Call("POST", "/api/v1/detectors/shop2/activate", admin_).j["active"], true);
  auto list = Get("/api/v1/detectors", viewer_);
  EXPECT_EQ(list.j["detectors"].size(), 2u);

  EXPECT_EQ(Call("DELETE", "/api/v1/detectors/shop2", admin_).status, 204);
  ExpectProblem(Get("/api/v1/detectors/shop2", admin_), 404);
  ExpectProblem(Call("DELETE", "/api/v1/detectors/shop2", admin_), 404);
}

// timestamp.timezone goes through the loader like every field: shown as the
// detector's source_timezone (the detector's own zone when unset), an
// unknown zone rejected naming the field.
TEST_F(ApiTest, DetectorSourceTimezoneIsShownAndValidated) {
  std::string yaml = *config_;
  yaml.replace(yaml.find("name: ecommerce"), 15, "name: shop3");
  auto created = Call("POST", "/api/v1/detectors", admin_, yaml, "application/yaml");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.j["source_timezone"], created.j["timezone"]) << created.body;
  const std::string format = "format: \"yyyy-MM-dd HH:mm:ss\"";
  const size_t at = yaml.find(format);
  ASSERT_NE(at, std::string::npos) << yaml;
  std::string utc = yaml, mars = yaml;
  utc.insert(at + format.size(), ", timezone: Asia/Tokyo");
  mars.insert(at + format.size(), ", timezone: Mars/Olympus_Mons");
  auto put = Call("PUT", "/api/v1/detectors/shop3", admin_, utc, "application/yaml");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Get("/api/v1/detectors/shop3", viewer_).j["source_timezone"], "Asia/Tokyo");
  auto wrong = Call("PUT", "/api/v1/detectors/shop3", admin_, mars, "application/yaml");
  ExpectProblem(wrong, 400);
  EXPECT_NE(wrong.j["detail"].get<std::string>().find("timestamp.timezone"), std::string::npos)
      << wrong.body;
  EXPECT_EQ(Call("DELETE", "/api/v1/detectors/shop3", admin_).status, 204);
}

TEST_F(ApiTest, StatusAndDetectorsShowDataHealthAndWarmup) {
  // 60 days of full data: past the model's 28-day warm-up, rows up to the end.
  auto status = Get("/api/v1/status", viewer_);
  ASSERT_EQ(status.status, 200) << status.body;
  const json* health = nullptr;
  for (const auto& d : status.j["detectors"]) {
    if (d["name"] == "ecommerce") health = &d["health"];
  }
  ASSERT_NE(health, nullptr) << status.body;
  EXPECT_EQ((*health)["data"], "ok");
  EXPECT_EQ((*health)["no_data_intervals"], 0);
  ASSERT_TRUE((*health)["warmup"].is_object()) << health->dump();
  EXPECT_EQ((*health)["warmup"]["ready"], true);
  EXPECT_EQ((*health)["warmup"]["series_warming"], 0);
  EXPECT_GT((*health)["warmup"]["series"].get<int64_t>(), 0);
  auto one = Get("/api/v1/detectors/ecommerce", viewer_);
  EXPECT_EQ(one.j["health"], *health);
  EXPECT_EQ(one.j["measures"][0]["missing"], "skip");
}

TEST_F(ApiTest, AnomalyGroupsArePaginatedAndFiltered) {
  auto first = Get("/api/v1/anomaly-groups?limit=7&detector=ecommerce", viewer_);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_TRUE(first.j.is_object()) << first.body;
  int64_t total = first.j["total"].get<int64_t>();
  ASSERT_GT(total, 7);
  std::set<int64_t> ids;
  std::string next = first.j["next"].get<std::string>();
  for (const auto& g : first.j["anomaly_groups"]) ids.insert(g["id"].get<int64_t>());
  int pages = 1;
  while (!next.empty() && pages < 100) {
    auto page = Get(next, viewer_);
    ASSERT_EQ(page.status, 200) << next << " " << page.body;
    for (const auto& g : page.j["anomaly_groups"]) ids.insert(g["id"].get<int64_t>());
    next = page.j["next"].is_null() ? "" : page.j["next"].get<std::string>();
    ++pages;
  }
  EXPECT_EQ(static_cast<int64_t>(ids.size()), total);

  auto severe = Get("/api/v1/anomaly-groups?sort=severity&min_severity=70&limit=500", viewer_);
  double last = 101;
  for (const auto& g : severe.j["anomaly_groups"]) {
    double s = g["severity"].get<double>();
    EXPECT_GE(s, 70);
    EXPECT_LE(s, last);
    last = s;
  }
  auto views = Get("/api/v1/anomaly-groups?measure=views&from=2025-01-20&to=2025-02-10T00:00:00Z", viewer_);
  ASSERT_EQ(views.status, 200) << views.body;
  for (const auto& g : views.j["anomaly_groups"]) EXPECT_EQ(g["measure"], "views");

  for (const char* bad : {"limit=0", "limit=abc", "limit=100000", "min_severity=101", "from=yesterday",
                          "sort=random", "offset=-1", "colour=red"}) {
    ExpectProblem(Get(std::string("/api/v1/anomaly-groups?") + bad, viewer_), 400);
  }
  ExpectProblem(Get("/api/v1/anomaly-groups?detector=nope", viewer_), 404);
}

TEST_F(ApiTest, GroupDetailSeriesAndFeedback) {
  int64_t id = FirstGroupId();
  auto g = Get("/api/v1/anomaly-groups/" + std::to_string(id), viewer_);
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_TRUE(g.j["contributions"].is_object());
  EXPECT_TRUE(g.j["root_causes"].is_array());
  EXPECT_TRUE(g.j["related"].is_array());
  EXPECT_FALSE(g.j["anomalies"].empty());

  auto s = Get("/api/v1/anomaly-groups/" + std::to_string(id) + "/series?before=24&after=12", viewer_);
  ASSERT_EQ(s.status, 200) << s.body;
  ASSERT_FALSE(s.j["series"].empty());
  EXPECT_TRUE(s.j["series"][0]["rollup"].get<bool>());
  size_t n = s.j["series"][0]["timestamps"].size();
  EXPECT_GT(n, 20u);
  EXPECT_EQ(s.j["series"][0]["expected"].size(), n);

  ExpectProblem(Get("/api/v1/anomaly-groups/abc", viewer_), 400);
  ExpectProblem(Get("/api/v1/anomaly-groups/99999999", viewer_), 404);

  std::string path = "/api/v1/anomaly-groups/" + std::to_string(id) + "/feedback";
  ExpectProblem(Call("PUT", path, admin_, "not json"), 400);
  ExpectProblem(Call("PUT", path, admin_, R"({"relevant":"no"})"), 400);
  ExpectProblem(Call("PUT", path, admin_, R"({"comment":"x"})"), 400);
  ExpectProblem(Call("PUT", path, admin_, R"({"relevant":false,"extra":1})"), 400);
  ExpectProblem(Call("PUT", path, admin_, R"({"relevant":false,"series_id":123456789})"), 400);
  auto put = Call("PUT", path, admin_, R"({"relevant":false,"comment":"planned sale"})");
  ASSERT_EQ(put.status, 200) << put.body;
  auto got = Get(path, viewer_);
  // One verdict per anomaly of the group, each with the anomaly it judged.
  auto detail = Get("/api/v1/anomaly-groups/" + std::to_string(id), viewer_);
  ASSERT_EQ(got.j["feedback"].size(), detail.j["anomalies"].size());
  for (const auto& f : got.j["feedback"]) {
    EXPECT_EQ(f["relevant"], false);
    EXPECT_EQ(f["author"], "admin-test");
    EXPECT_EQ(f["comment"], "planned sale");
    EXPECT_FALSE(f["series"].get<std::string>().empty());
  }
}

TEST_F(ApiTest, BodiesAreBounded) {
  std::string big(100 * 1024, 'x');
  ExpectProblem(Call("POST", "/api/v1/detectors", admin_, big, "application/yaml"), 413);
  ExpectProblem(Get("/api/v1/no-such-thing", admin_), 404);
}

TEST_F(ApiTest, BacktestOverARange) {
  auto ok = Call("POST", "/api/v1/detectors/ecommerce/backtest", admin_,
                 R"({"from":"2025-02-20T00:00:00Z","to":"2025-02-22T00:00:00Z"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.j["intervals"], 48);
  ExpectProblem(Call("POST", "/api/v1/detectors/ecommerce/backtest", admin_,
                     R"({"from":"2025-01-01T00:00:00Z","to":"2025-02-22T00:00:00Z"})"),
                400);
  ExpectProblem(Call("POST", "/api/v1/detectors/ecommerce/backtest", admin_, R"({"from":"soon"})"), 400);
  ExpectProblem(Call("POST", "/api/v1/detectors/nope/backtest", admin_, "{}"), 404);
}

TEST_F(ApiTest, AlertsQualityStatusAndMetrics) {
  auto alerts = Get("/api/v1/alerts", viewer_);
  ASSERT_EQ(alerts.status, 200);
  ASSERT_EQ(alerts.j["alerts"].size(), 1u);
  EXPECT_EQ(alerts.j["alerts"][0]["name"], "oncall");
  auto deliveries = Get("/api/v1/alerts/deliveries", viewer_);
  EXPECT_TRUE(deliveries.j["deliveries"].is_array());
  EXPECT_EQ(deliveries.j["total"], 0);

  auto q = Get("/api/v1/detectors/ecommerce/data-quality?limit=24", viewer_);
  ASSERT_EQ(q.status, 200) << q.body;
  EXPECT_EQ(q.j["intervals"].size(), 24u);
  EXPECT_GT(q.j["intervals"][0]["rows_read"].get<int64_t>(), 0);

  auto st = Get("/api/v1/status", viewer_);
  EXPECT_EQ(st.j["detectors"][0]["name"], "ecommerce");

  auto m = Get("/metrics", viewer_);
  ASSERT_EQ(m.status, 200);
  for (const char* needle : {"osprey_detectors ", "osprey_intervals_processed ", "osprey_rows_read ",
                             "osprey_rows_rejected ", "osprey_anomalies ", "osprey_alert_deliveries_total 0",
                             "osprey_http_requests_total{method=\"GET\",route=\"/api/v1/status\",code=\"200\"}",
                             "osprey_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/status\""}) {
    EXPECT_NE(m.body.find(needle), std::string::npos) << needle;
  }
}

TEST_F(ApiTest, EventsAreListedAndShadedOnTheSeriesInTheirScope) {
  const int64_t id = FirstGroupId();
  const std::string series_path = "/api/v1/anomaly-groups/" + std::to_string(id) + "/series";
  auto before = Get(series_path, viewer_);
  ASSERT_EQ(before.status, 200) << before.body;
  for (const auto& s : before.j["series"]) EXPECT_TRUE(s["events"].empty());
  const int64_t start = before.j["group_start"].get<int64_t>();
  const std::string from = FormatIso(FromUnixSeconds(start - 3600));
  const std::string to = FormatIso(FromUnixSeconds(start + 3600));
  // A sale scoped to a marketplace no series has: only roll-ups over
  // marketplace contain it.
  std::string yaml = *config_ + "events:\n  - {name: Sale, start: \"" + from + "\", end: \"" + to +
                     "\", dimensions: {marketplace: zz}, effect: suppress}\n"
                     "  - {name: Christmas, date: \"12-25\"}\n";
  ASSERT_EQ(Call("PUT", "/api/v1/detectors/ecommerce", admin_, yaml, "application/yaml").status, 200);
  auto with = Get(series_path, viewer_);
  ASSERT_EQ(with.status, 200) << with.body;
  int shaded = 0;
  for (const auto& s : with.j["series"]) {
    const bool rolls_up = !s["dimensions"].contains("marketplace");
    ASSERT_EQ(s["events"].size(), rolls_up ? 1u : 0u) << s["label"];
    if (!rolls_up) continue;
    ++shaded;
    EXPECT_EQ(s["events"][0]["name"], "Sale");
    EXPECT_EQ(s["events"][0]["start"], start - 3600);
    EXPECT_EQ(s["events"][0]["end"], start + 3600);
    EXPECT_EQ(s["events"][0]["effect"], "suppress");
  }
  EXPECT_GE(shaded, 1);  // the measure's total is charted first

  auto listed = Get("/api/v1/detectors/ecommerce/events?from=2024-12-01&to=2025-01-01", viewer_);
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.j["events"].size(), 1u) << listed.body;
  EXPECT_EQ(listed.j["events"][0]["name"], "Christmas");
  EXPECT_EQ(listed.j["events"][0]["start"], "2024-12-25T00:00:00Z");
  EXPECT_EQ(listed.j["events"][0]["end"], "2024-12-26T00:00:00Z");
  EXPECT_EQ(listed.j["events"][0]["effect"], "learn");
  auto sale = Get("/api/v1/detectors/ecommerce/events?from=" + from + "&to=" + to, viewer_);
  ASSERT_EQ(sale.j["events"].size(), 1u) << sale.body;
  EXPECT_EQ(sale.j["events"][0]["dimensions"], json::parse(R"({"marketplace": "zz"})"));
  ExpectProblem(Get("/api/v1/detectors/ecommerce/events?from=2025-01-01&to=2024-12-01", viewer_), 400);
  ExpectProblem(Get("/api/v1/detectors/ecommerce/events?from=1900-01-01&to=2025-01-01", viewer_), 400);
  ExpectProblem(Get("/api/v1/detectors/nope/events", viewer_), 404);
  ASSERT_EQ(Call("PUT", "/api/v1/detectors/ecommerce", admin_, *config_, "application/yaml").status, 200);
}

// The OpenAPI document and the route table must agree both ways.
TEST_F(ApiTest, OpenApiDocumentMatchesTheRoutes) {
  auto doc = Get("/api/openapi.json", viewer_);
  ASSERT_EQ(doc.status, 200);
  ASSERT_TRUE(doc.j.is_object()) << "openapi.json does not parse";
  EXPECT_EQ(doc.j["openapi"].get<std::string>().substr(0, 2), "3.");
  std::set<std::string> documented, served;
  for (auto p = doc.j["paths"].begin(); p != doc.j["paths"].end(); ++p) {
    for (auto m = p.value().begin(); m != p.value().end(); ++m) {
      if (m.key() == "parameters") continue;
      std::string method = m.key();
      for (auto& ch : method) ch = static_cast<char>(std::toupper(ch));
      documented.insert(method + " " + p.key());
      bool is_public = m.value().contains("security") && m.value()["security"].empty();
      for (const auto& r : server_->routes()) {
        if (r.method == method && r.path == p.key()) {
          EXPECT_EQ(is_public, r.public_route) << method << " " << p.key() << ": security";
        }
      }
    }
  }
  for (const auto& r : server_->routes()) served.insert(r.method + " " + r.path);
  for (const auto& s : served) EXPECT_TRUE(documented.count(s)) << s << " is served but not documented";
  for (const auto& d : documented) EXPECT_TRUE(served.count(d)) << d << " is documented but not served";
}

}  // namespace
}  // namespace osprey::api
