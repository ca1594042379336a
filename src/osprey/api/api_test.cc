// The REST API over real HTTP: a server on a free loopback port, over a
// state store filled by backtesting the example detector on a generated
// 60-day warehouse.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "osprey/api/auth.h"
#include "osprey/api/server.h"
#include "osprey/api/views_reference.h"
#include "osprey/app/backtest.h"
#include "osprey/config/loader.h"
#include "osprey/testing/clock.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"
#include "osprey/testing/long_fields.h"

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
    auto stats =
        testing::Backtest(*config::LoadDetector(*config_, "test"), *store, data.start, data.end, *config_);
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
    so.access_log = false;
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
  EXPECT_NE(wrong.j["detail"].get<std::string>().find("timestamp.timezone"), std::string::npos) << wrong.body;
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

TEST_F(ApiTest, IncidentsJoinTheMeasuresOfADetectorAndArePagedOnTheServer) {
  ExpectProblem(Get("/api/v1/incidents", nullptr), 401);
  // Incidents are counted only when the first page holds them all.
  auto first = Get("/api/v1/incidents?limit=500", viewer_);
  ASSERT_EQ(first.status, 200) << first.body;
  const int64_t total = first.j["total"].get<int64_t>();
  ASSERT_GT(total, 5);
  EXPECT_EQ(static_cast<int64_t>(first.j["incidents"].size()), total);
  EXPECT_TRUE(first.j["next"].is_null());
  EXPECT_TRUE(Get("/api/v1/incidents?limit=5", viewer_).j["total"].is_null());
  // Fewer incidents than measure incidents: some join several measures.
  auto groups = Get("/api/v1/anomaly-groups?limit=1", viewer_);
  EXPECT_LT(total, groups.j["total"].get<int64_t>());
  std::set<int64_t> ids;
  int multi = 0;
  std::string next = "/api/v1/incidents?limit=5";
  std::string last_start = "9999";
  for (int pages = 0; !next.empty() && pages < 1000; ++pages) {
    auto page = Get(next, viewer_);
    ASSERT_EQ(page.status, 200) << next << " " << page.body;
    for (const auto& i : page.j["incidents"]) {
      EXPECT_TRUE(ids.insert(i["id"].get<int64_t>()).second) << "repeated " << i.dump();
      const std::string start = i["start"].get<std::string>();
      EXPECT_LE(start, last_start) << "newest first";
      last_start = start;
      EXPECT_LT(start, i["end"].get<std::string>());
      double max_severity = 0;
      std::set<std::string> measures;
      for (const auto& m : i["measures"]) {
        max_severity = std::max(max_severity, m["severity"].get<double>());
        measures.insert(m["measure"].get<std::string>());
        // Every measure incident lies inside the incident's span.
        EXPECT_GE(m["start"].get<std::string>(), start);
        EXPECT_LE(m["end"].get<std::string>(), i["end"].get<std::string>());
      }
      EXPECT_DOUBLE_EQ(i["severity"].get<double>(), max_severity);
      EXPECT_TRUE(i["state"] == "open" || i["state"] == "resolved") << i.dump();
      if (i["measures"].size() > 1) {
        ++multi;
        // Joined measures overlap and share a root cause (or none has one).
        EXPECT_TRUE(!i["shared_root_causes"].empty() || i["root_causes"].empty()) << i.dump();
      }
    }
    next = page.j["next"].is_null() ? "" : page.j["next"].get<std::string>();
  }
  EXPECT_EQ(static_cast<int64_t>(ids.size()), total);
  EXPECT_GT(multi, 0) << "no incident joins views and revenue";

  // Any group of an incident opens the same incident.
  auto list = Get("/api/v1/incidents?limit=500", viewer_);
  json joined;
  for (const auto& i : list.j["incidents"]) {
    if (i["measures"].size() > 1) joined = i;
  }
  ASSERT_TRUE(joined.is_object());
  int64_t anomalies = 0;
  for (const auto& m : joined["measures"]) {
    auto one = Get("/api/v1/incidents/" + std::to_string(m["group_id"].get<int64_t>()), viewer_);
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(one.j["id"], joined["id"]);
    EXPECT_EQ(one.j["requested_group_id"], m["group_id"]);
    ASSERT_EQ(one.j["measure_details"].size(), joined["measures"].size());
    EXPECT_TRUE(one.j["events"].is_array());
    anomalies = 0;
    for (const auto& d : one.j["measure_details"]) {
      EXPECT_TRUE(d["contributions"].is_object());
      ASSERT_FALSE(d["groups"].empty());
      for (const auto& g : d["groups"]) anomalies += g["anomaly_count"].get<int64_t>();
    }
  }

  // Filters.
  auto severe = Get("/api/v1/incidents?min_severity=90&sort=severity&limit=500", viewer_);
  ASSERT_EQ(severe.status, 200);
  double last = 101;
  for (const auto& i : severe.j["incidents"]) {
    EXPECT_GE(i["severity"].get<double>(), 90);
    EXPECT_LE(i["severity"].get<double>(), last);
    last = i["severity"].get<double>();
  }
  auto window = Get("/api/v1/incidents?from=2025-02-01&to=2025-02-08&limit=500", viewer_);
  ASSERT_EQ(window.status, 200);
  EXPECT_GT(window.j["total"].get<int64_t>(), 0);
  for (const auto& i : window.j["incidents"]) {
    EXPECT_GT(i["end"].get<std::string>(), "2025-02-01T00:00:00Z");
    EXPECT_LT(i["start"].get<std::string>(), "2025-02-08T00:00:00Z");
  }
  auto resolved = Get("/api/v1/incidents?state=resolved&limit=500", viewer_);
  auto open = Get("/api/v1/incidents?state=open&limit=500", viewer_);
  EXPECT_EQ(resolved.j["total"].get<int64_t>() + open.j["total"].get<int64_t>(), total);
  for (const char* bad :
       {"limit=0", "state=closed", "sort=random", "min_severity=-1", "from=soon", "colour=red"}) {
    ExpectProblem(Get(std::string("/api/v1/incidents?") + bad, viewer_), 400);
  }
  ExpectProblem(Get("/api/v1/incidents?detector=nope", viewer_), 404);
  ExpectProblem(Get("/api/v1/incidents/abc", viewer_), 400);
  ExpectProblem(Get("/api/v1/incidents/99999999", viewer_), 404);

  // Feedback for the whole incident: one verdict per anomaly of every group.
  const std::string fb = "/api/v1/incidents/" + std::to_string(joined["id"].get<int64_t>()) + "/feedback";
  ExpectProblem(Call("PUT", fb, viewer_, R"({"relevant":true})"), 403);
  ExpectProblem(Call("PUT", fb, admin_, "not json"), 400);
  ExpectProblem(Call("PUT", fb, admin_, R"({"relevant":true,"series_id":1})"), 400);
  auto put = Call("PUT", fb, admin_, R"({"relevant":true,"comment":"one outage"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.j["anomalies"].get<int64_t>(), anomalies);
  for (const auto& m : joined["measures"]) {
    auto got =
        Get("/api/v1/anomaly-groups/" + std::to_string(m["group_id"].get<int64_t>()) + "/feedback", viewer_);
    ASSERT_FALSE(got.j["feedback"].empty());
    EXPECT_EQ(got.j["feedback"].back()["comment"], "one outage");
  }
}

TEST_F(ApiTest, EveryListPagesByCursorInTheOrderOfOnePage) {
  // Follows `next` from `next`; the ids of every page, in order.
  auto walk = [&](std::string next, const char* key) {
    std::vector<int64_t> ids;
    for (int pages = 0; !next.empty() && pages < 2000; ++pages) {
      auto page = Get(next, viewer_);
      EXPECT_EQ(page.status, 200) << next << " " << page.body;
      if (page.status != 200) break;
      for (const auto& i : page.j[key]) ids.push_back(i["id"].get<int64_t>());
      next = page.j["next"].is_null() ? "" : page.j["next"].get<std::string>();
      EXPECT_EQ(next.empty(), page.j["next_cursor"].is_null());
    }
    return ids;
  };
  for (const char* list : {"/api/v1/anomaly-groups", "/api/v1/incidents"}) {
    const char* key = std::string(list) == "/api/v1/incidents" ? "incidents" : "anomaly_groups";
    for (const char* filters : {"sort=time", "sort=time_asc", "sort=severity",
                                "sort=severity&min_severity=80", "sort=time&from=2025-01-20&to=2025-02-10"}) {
      SCOPED_TRACE(::testing::Message() << list << "?" << filters);
      auto all = Get(fmt::format("{}?{}&limit=500", list, filters), viewer_);
      ASSERT_EQ(all.status, 200) << all.body;
      ASSERT_TRUE(all.j["next"].is_null()) << "the test state fits one page";
      std::vector<int64_t> expected;
      for (const auto& i : all.j[key]) expected.push_back(i["id"].get<int64_t>());
      ASSERT_FALSE(expected.empty());
      for (int limit : {1, 3, 7}) {
        EXPECT_EQ(walk(fmt::format("{}?{}&limit={}", list, filters, limit), key), expected) << limit;
      }
    }
  }
  // Bad paging parameters: a 400 naming the parameter.
  auto first = Get("/api/v1/anomaly-groups?limit=2", viewer_);
  const std::string cursor = first.j["next_cursor"].get<std::string>();
  for (const std::string& bad :
       {std::string("/api/v1/anomaly-groups?cursor=nonsense"), std::string("/api/v1/anomaly-groups?cursor="),
        "/api/v1/anomaly-groups?sort=severity&cursor=" + cursor,
        std::string("/api/v1/incidents?cursor=time:1:2"), std::string("/api/v1/incidents?cursor=time:x:1:2"),
        std::string("/api/v1/alerts/deliveries?cursor=id:-"),
        std::string("/api/v1/alerts/deliveries?cursor=time:1:2:3")}) {
    auto r = Get(bad, viewer_);
    ExpectProblem(r, 400);
    EXPECT_NE(r.body.find("'cursor'"), std::string::npos) << bad << " " << r.body;
  }
  for (const char* list : {"/api/v1/anomaly-groups", "/api/v1/incidents", "/api/v1/alerts/deliveries"}) {
    auto r = Get(std::string(list) + "?offset=50", viewer_);
    ExpectProblem(r, 400);
    EXPECT_NE(r.body.find("'offset'"), std::string::npos) << r.body;
    auto l = Get(std::string(list) + "?limit=501", viewer_);
    ExpectProblem(l, 400);
    EXPECT_NE(l.body.find("'limit'"), std::string::npos) << l.body;
  }
}

// The anomaly-group list is written as text; each page reads byte for byte
// as the tree of its groups (read from the store, stored JSON parsed) dumped.
TEST_F(ApiTest, AnomalyGroupPagesAreTheirGroupsTreesDumped) {
  const int64_t with_feedback = FirstGroupId();
  ASSERT_EQ(Call("PUT", "/api/v1/anomaly-groups/" + std::to_string(with_feedback) + "/feedback", admin_,
                 R"({"relevant":true,"comment":"seen \u00fc"})")
                .status,
            200);
  auto store = std::move(store::OpenSqliteStore(*state_)).value();
  int pages = 0;
  for (std::string next : {"/api/v1/anomaly-groups?limit=50", "/api/v1/anomaly-groups?sort=severity&limit=7",
                           "/api/v1/anomaly-groups?sort=time_asc&min_severity=60&limit=500",
                           "/api/v1/anomaly-groups?detector=ecommerce&measure=revenue&limit=3"}) {
    for (int page = 0; page < 3 && !next.empty(); ++page, ++pages) {
      SCOPED_TRACE(next);
      auto r = Get(next, viewer_);
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.content_type, "application/json");
      json tree = {{"anomaly_groups", json::array()},
                   {"limit", r.j["limit"]},
                   {"next", r.j["next"]},
                   {"next_cursor", r.j["next_cursor"]},
                   {"total", r.j["total"]}};
      for (const auto& item : r.j["anomaly_groups"]) {
        auto g = store->GetGroup(item["id"].get<int64_t>());
        ASSERT_TRUE(g.ok()) << g.status().ToString();
        tree["anomaly_groups"].push_back(reference::GroupTree(*g));
      }
      ASSERT_FALSE(tree["anomaly_groups"].empty());
      EXPECT_EQ(r.body, tree.dump());
      next = r.j["next"].is_null() ? "" : r.j["next"].get<std::string>();
    }
  }
  EXPECT_GE(pages, 8);
}

TEST_F(ApiTest, DetectorFilesAreValidatedAndPreviewedWithoutStoringThem) {
  const std::string yaml = "application/yaml";
  auto ok = Call("POST", "/api/v1/detector-files/validate", admin_, *config_, yaml);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.j["valid"], true);
  EXPECT_EQ(ok.j["exists"], true);
  EXPECT_EQ(ok.j["detector"]["name"], "ecommerce");
  auto bad = Call("POST", "/api/v1/detector-files/validate", admin_, *config_ + "bogus_field: 1\n", yaml);
  ASSERT_EQ(bad.status, 200) << bad.body;
  EXPECT_EQ(bad.j["valid"], false);
  EXPECT_NE(bad.j["error"].get<std::string>().find("request body:"), std::string::npos) << bad.body;
  EXPECT_NE(bad.j["error"].get<std::string>().find("bogus_field"), std::string::npos) << bad.body;
  auto empty = Call("POST", "/api/v1/detector-files/validate", admin_, "", yaml);
  EXPECT_EQ(empty.j["valid"], false) << empty.body;  // an emptied editor is invalid, not a bad request
  ExpectProblem(Call("POST", "/api/v1/detector-files/validate", viewer_, *config_, yaml), 403);

  // A renamed copy: previewed, never stored.
  std::string copy = *config_;
  const size_t at = copy.find("name: ecommerce");
  ASSERT_NE(at, std::string::npos);
  copy.replace(at, 15, "name: preview_only");
  const int64_t groups_before = Get("/api/v1/anomaly-groups?limit=1", viewer_).j["total"].get<int64_t>();
  auto p = Call("POST", "/api/v1/detector-files/preview?days=7&to=2025-02-20", admin_, copy, yaml);
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.j["intervals"], 168);
  EXPECT_GT(p.j["rows_read"].get<int64_t>(), 0);
  EXPECT_EQ(p.j["incidents"].get<int64_t>(), static_cast<int64_t>(p.j["flagged"].size()));
  EXPECT_EQ(p.j["from"], "2025-02-13T00:00:00Z");
  ExpectProblem(Get("/api/v1/detectors/preview_only", viewer_), 404);
  EXPECT_EQ(Get("/api/v1/anomaly-groups?limit=1", viewer_).j["total"].get<int64_t>(), groups_before);
  ExpectProblem(Call("POST", "/api/v1/detector-files/preview?days=0", admin_, copy, yaml), 400);
  ExpectProblem(Call("POST", "/api/v1/detector-files/preview?days=30", admin_, copy, yaml),
                400);  // > 500 intervals
  ExpectProblem(Call("POST", "/api/v1/detector-files/preview?to=later", admin_, copy, yaml), 400);
  ExpectProblem(Call("POST", "/api/v1/detector-files/preview", admin_, "name: x\n", yaml), 400);
  ExpectProblem(Call("POST", "/api/v1/detector-files/preview", viewer_, copy, yaml), 403);
}

TEST_F(ApiTest, SeriesExplorerListsSeriesAndServesARangeWithGaps) {
  auto all = Get("/api/v1/detectors/ecommerce/series?limit=200", viewer_);
  ASSERT_EQ(all.status, 200) << all.body;
  const auto& list = all.j["series"];
  ASSERT_FALSE(list.empty());
  EXPECT_EQ(all.j["total"].get<size_t>(), list.size());
  EXPECT_TRUE(list[0]["rollup"].get<bool>()) << "roll-ups first";
  auto views = Get("/api/v1/detectors/ecommerce/series?measure=views&q=pc_web", viewer_);
  ASSERT_EQ(views.status, 200);
  ASSERT_FALSE(views.j["series"].empty());
  for (const auto& s : views.j["series"]) {
    EXPECT_EQ(s["measure"], "views");
    EXPECT_NE(s["label"].get<std::string>().find("pc_web"), std::string::npos);
  }
  const int64_t id = list[0]["id"].get<int64_t>();
  const std::string base = "/api/v1/detectors/ecommerce/series/" + std::to_string(id);
  auto day = Get(base + "?from=2025-02-01&to=2025-02-02", viewer_);
  ASSERT_EQ(day.status, 200) << day.body;
  ASSERT_EQ(day.j["timestamps"].size(), 24u);
  for (const char* col : {"actual", "expected", "lower", "upper", "severity", "anomalous"}) {
    EXPECT_EQ(day.j[col].size(), 24u) << col;
  }
  EXPECT_EQ(day.j["interval_seconds"], 3600);
  ExpectProblem(Get(base + "?from=2025-02-02&to=2025-02-01", viewer_), 400);
  ExpectProblem(Get(base + "?from=1900-01-01&to=2025-02-01", viewer_), 400);
  ExpectProblem(Get("/api/v1/detectors/ecommerce/series/99999999", viewer_), 404);
  ExpectProblem(Get("/api/v1/detectors/nope/series", viewer_), 404);
  ExpectProblem(Get("/api/v1/detectors/ecommerce/series?limit=0", viewer_), 400);
}

TEST_F(ApiTest, ATestMessageSaysWhyItWasNotDelivered) {
  // The example's webhook URL comes from OSPREY_ALERT_WEBHOOK_URL, unset here.
  auto r = Call("POST", "/api/v1/alerts/test", admin_, R"({"detector":"ecommerce","alert":"oncall"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j["delivered"], false);
  EXPECT_NE(r.j["error"].get<std::string>().find("OSPREY_ALERT_WEBHOOK_URL"), std::string::npos) << r.body;
  ExpectProblem(Call("POST", "/api/v1/alerts/test", admin_, R"({"detector":"ecommerce","alert":"nope"})"),
                404);
  ExpectProblem(Call("POST", "/api/v1/alerts/test", admin_, R"({"detector":"nope","alert":"oncall"})"), 404);
  ExpectProblem(Call("POST", "/api/v1/alerts/test", admin_, R"({"detector":"ecommerce"})"), 400);
  ExpectProblem(Call("POST", "/api/v1/alerts/test", admin_, "not json"), 400);
  ExpectProblem(Call("POST", "/api/v1/alerts/test", viewer_, R"({"detector":"ecommerce","alert":"oncall"})"),
                403);
}

TEST_F(ApiTest, ResendTakesOnlyDeadLetteredMessagesFromAdmins) {
  ExpectProblem(Call("POST", "/api/v1/alerts/deliveries/1/resend", viewer_, "{}"), 403);
  ExpectProblem(Call("POST", "/api/v1/alerts/deliveries/abc/resend", admin_, "{}"), 400);
  ExpectProblem(Call("POST", "/api/v1/alerts/deliveries/99999999/resend", admin_, "{}"), 404);
}

TEST_F(ApiTest, BodiesAreBounded) {
  std::string big(100 * 1024, 'x');
  ExpectProblem(Call("POST", "/api/v1/detectors", admin_, big, "application/yaml"), 413);
  ExpectProblem(Get("/api/v1/no-such-thing", admin_), 404);
}

// One admin POST with a 30 KB field killed the server (std::regex in the
// loader overflowed the stack). Every field, 30 KB and 1 MiB, on a server
// that accepts bodies of 2 MiB: each gets an answer and the server lives on.
TEST_F(ApiTest, LongFieldsInADetectorGetAnAnswer) {
  ServerOptions so;
  so.port = 0;
  so.state_path = *state_;
  so.max_body_bytes = 2 << 20;
  so.threads = 2;
  auto server = Server::Create(so, *clock_);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_TRUE((*server)->Start().ok());
  httplib::Client cli("127.0.0.1", (*server)->port());
  cli.set_read_timeout(60, 0);
  const httplib::Headers auth = {{"Authorization", "Bearer " + *admin_}};
  for (size_t length : {size_t{30 * 1024}, size_t{1 << 20}}) {
    for (const auto& [label, text] : testing::DetectorsWithLongFields(length)) {
      // At 1 MiB the mixed values alone: each request parses a megabyte.
      if (length > 30 * 1024 && label.find("(one letter)") != std::string::npos) continue;
      auto r = cli.Post("/api/v1/detectors", auth, text, "application/yaml");
      ASSERT_TRUE(r) << label << " (" << length << " bytes): no answer, error " << r.error();
      EXPECT_TRUE(r->status == 201 || r->status == 400) << label << ": " << r->status;
      if (r->status == 201) {
        auto name = json::parse(r->body)["name"].get<std::string>();
        EXPECT_EQ(cli.Delete("/api/v1/detectors/" + name, auth)->status, 204) << label;
      }
    }
  }
  auto ok = cli.Post("/api/v1/detectors", auth, testing::DetectorWithValue(-1, ""), "application/yaml");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201) << ok->body;
  EXPECT_EQ(cli.Delete("/api/v1/detectors/long-field-test", auth)->status, 204);
  (*server)->Stop();
}

// A plain TCP client, to send exactly the bytes a test wants.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }

  // Sends what it can (the server may close early); false if nothing went.
  bool Send(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return sent > 0;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // One response: status and body ("" and 0 when the connection closed first).
  std::pair<int, std::string> Receive() {
    for (;;) {
      const size_t head_end = in_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const std::string head = in_.substr(0, head_end);
        size_t length = 0;
        const size_t cl = head.find("Content-Length: ");
        if (cl != std::string::npos) length = std::stoul(head.substr(cl + 16));
        if (in_.size() >= head_end + 4 + length) {
          std::string body = in_.substr(head_end + 4, length);
          in_.erase(0, head_end + 4 + length);
          return {std::stoi(head.substr(9, 3)), body};
        }
      }
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return {0, ""};
      in_.append(buf, static_cast<size_t>(n));
    }
  }

  std::pair<int, std::string> Exchange(const std::string& request) {
    Send(request);
    return Receive();
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string in_;
};

std::string Chunked(const std::string& body, size_t chunk) {
  std::string out;
  for (size_t at = 0; at < body.size(); at += chunk) {
    const std::string part = body.substr(at, chunk);
    out += fmt::format("{:x}\r\n{}\r\n", part.size(), part);
  }
  return out + "0\r\n\r\n";
}

// Each limit answers with its own status and a problem document, whatever the
// framing. Before, a chunked body skipped the body limit entirely.
TEST_F(ApiTest, RequestLimitsHoldForEveryFraming) {
  const int port = server_->port();
  const std::string auth = "Authorization: Bearer " + *admin_ + "\r\n";
  auto expect = [&](const std::string& request, int status, const std::string& what) {
    RawClient c(port);
    ASSERT_TRUE(c.connected());
    auto [got, body] = c.Exchange(request);
    EXPECT_EQ(got, status) << what << ": " << body;
    if (status >= 400) {
      auto j = json::parse(body, nullptr, false);
      EXPECT_TRUE(j.is_object() && j.value("status", 0) == status) << what << ": " << body;
    }
  };
  // URL: 414.
  expect("GET /api/v1/detectors?q=" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
         414, "long URL");
  // Header fields: one too long, too many, too large together: 431.
  expect("GET /api/v1/detectors HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'b') + "\r\n" + auth +
             "\r\n",
         431, "long header field");
  std::string many;
  for (int i = 0; i < 150; ++i) many += fmt::format("X-H{}: v\r\n", i);
  expect("GET /api/v1/detectors HTTP/1.1\r\nHost: x\r\n" + many + auth + "\r\n", 431, "many header fields");
  std::string large;
  for (int i = 0; i < 8; ++i) large += fmt::format("X-L{}: {}\r\n", i, std::string(5000, 'l'));
  expect("GET /api/v1/detectors HTTP/1.1\r\nHost: x\r\n" + large + auth + "\r\n", 431, "large header block");
  // Body (the fixture's limit is 64 KiB): 413 for a declared length, before
  // the body is sent, and for a chunked body as it grows past the limit.
  expect("POST /api/v1/detectors HTTP/1.1\r\nHost: x\r\n" + auth +
             "Content-Type: application/yaml\r\nContent-Length: 10000000000\r\n\r\n",
         413, "declared length");
  const std::string big(100 * 1024, 'x');
  expect("POST /api/v1/detectors HTTP/1.1\r\nHost: x\r\n" + auth +
             "Content-Type: application/yaml\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunked(big, 4096),
         413, "chunked body");
  expect("POST /api/v1/detectors HTTP/1.1\r\nHost: x\r\n" + auth +
             "Content-Type: application/yaml\r\nTransfer-Encoding: chunked\r\n\r\n" +
             Chunked(big, big.size()),
         413, "one big chunk");
  // Framing that cannot be trusted or read.
  expect("POST /api/v1/detectors HTTP/1.1\r\nHost: x\r\n" + auth +
             "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400, "both framings");
  expect("POST /api/v1/detectors HTTP/1.1\r\nHost: x\r\n" + auth +
             "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
         501, "unknown coding");
  // A compressed body could expand past any limit.
  expect("POST /api/v1/detectors HTTP/1.1\r\nHost: x\r\n" + auth +
             "Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd",
         415, "compressed body");
  // Within the limits a chunked body is read like any other.
  std::string yaml = *config_;
  yaml.replace(yaml.find("name: ecommerce"), 15, "name: chunky");
  expect("POST /api/v1/detectors HTTP/1.1\r\nHost: x\r\n" + auth +
             "Content-Type: application/yaml\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunked(yaml, 100),
         201, "small chunked body");
  EXPECT_EQ(Call("DELETE", "/api/v1/detectors/chunky", admin_).status, 204);
}

// Two keep-alive clients on a one-worker server take turns. Before, the
// first connection held the only worker while it sat idle, so the second
// waited until the first was closed by the server.
TEST_F(ApiTest, IdleKeepAliveConnectionsHoldNoWorker) {
  ServerOptions so;
  so.port = 0;
  so.state_path = *state_;
  so.threads = 1;
  so.access_log = false;
  auto server = Server::Create(so, *clock_);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_TRUE((*server)->Start().ok());
  RawClient a((*server)->port()), b((*server)->port());
  ASSERT_TRUE(a.connected() && b.connected());
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(a.Exchange(get).first, 200) << "round " << round;
    EXPECT_EQ(b.Exchange(get).first, 200) << "round " << round;
  }
  // Pipelined requests on one connection are answered in order.
  EXPECT_TRUE(a.Send(get + get));
  EXPECT_EQ(a.Receive().first, 200);
  EXPECT_EQ(a.Receive().first, 200);
  (*server)->Stop();
}

// One structured line per request with the token's name, never the token.
TEST_F(ApiTest, AccessLogHasTheFieldsAndNeverTheToken) {
  ServerOptions so;
  so.port = 0;
  so.state_path = *state_;
  so.threads = 2;
  so.max_body_bytes = 1024;
  auto server = Server::Create(so, *clock_);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_TRUE((*server)->Start().ok());
  ::testing::internal::CaptureStderr();
  {
    httplib::Client cli("127.0.0.1", (*server)->port());
    const httplib::Headers h = {{"Authorization", "Bearer " + *viewer_}};
    auto ok = cli.Get("/api/v1/anomaly-groups?limit=5", h);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    auto bad = cli.Get("/api/v1/detectors", {{"Authorization", "Bearer osp_not_a_token"}});
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 401);
    auto big = cli.Post("/api/v1/detectors", h, std::string(4096, 'x'), "application/yaml");
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 413);
  }
  (*server)->Stop();
  const std::string err = ::testing::internal::GetCapturedStderr();
  std::vector<json> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    const std::string prefix = "INFO access ";
    if (line.rfind(prefix, 0) == 0) lines.push_back(json::parse(line.substr(prefix.size())));
  }
  ASSERT_EQ(lines.size(), 3u) << err;
  EXPECT_EQ(lines[0]["method"], "GET");
  EXPECT_EQ(lines[0]["path"], "/api/v1/anomaly-groups");  // no query string
  EXPECT_EQ(lines[0]["status"], 200);
  EXPECT_GT(lines[0]["bytes"].get<int64_t>(), 0);
  EXPECT_GE(lines[0]["duration_ms"].get<double>(), 0.0);
  EXPECT_EQ(lines[0]["token"], "viewer-test");
  EXPECT_EQ(lines[1]["status"], 401);
  EXPECT_TRUE(lines[1]["token"].is_null());
  EXPECT_EQ(lines[2]["method"], "POST");
  EXPECT_EQ(lines[2]["status"], 413);
  EXPECT_EQ(err.find(*viewer_), std::string::npos);
  EXPECT_EQ(err.find("osp_not_a_token"), std::string::npos);
  EXPECT_EQ(err.find("limit=5"), std::string::npos);
}

// Every curl line of docs/api.md (with its continuation lines), run with an
// admin token against this server from the repository's root: each answers
// 2xx. Before, `curl -d '{json}'` got 400: the form-encoded body was read as
// query parameters.
TEST_F(ApiTest, DocsExamplesRun) {
  std::ifstream in(std::string(OSPREY_SOURCE_DIR) + "/docs/api.md");
  ASSERT_TRUE(in) << "docs/api.md";
  std::vector<std::string> commands;
  std::string pending;
  for (std::string line; std::getline(in, line);) {
    if (!pending.empty()) {
      pending += " " + line.substr(line.find_first_not_of(' '));
    } else if (line.rfind("    curl ", 0) == 0) {
      pending = line.substr(4);
    } else {
      continue;
    }
    if (!pending.empty() && pending.back() == '\\') {
      pending.pop_back();
      continue;
    }
    commands.push_back(pending);
    pending.clear();
  }
  ASSERT_GE(commands.size(), 5u);
  const std::string base = fmt::format("http://127.0.0.1:{}", server_->port());
  for (std::string cmd : commands) {
    const std::string shown = cmd;
    for (const std::string& from : {std::string("http://127.0.0.1:8080")}) {
      for (size_t at; (at = cmd.find(from)) != std::string::npos;) cmd.replace(at, from.size(), base);
    }
    for (const std::string& from : {std::string("$T"), std::string("osp_…")}) {
      for (size_t at; (at = cmd.find(from)) != std::string::npos;) cmd.replace(at, from.size(), *admin_);
    }
    cmd = "cd '" + std::string(OSPREY_SOURCE_DIR) + "' && " + cmd +
          " -o /dev/null -w '%{http_code}' 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[256];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) out.append(buf, n);
    pclose(p);
    EXPECT_EQ(out.size(), 3u) << shown << ": " << out;
    EXPECT_EQ(out.substr(0, 1), "2") << shown << ": HTTP " << out;
  }
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
  EXPECT_EQ(alerts.j["alerts"][0]["on"], json::array({"anomaly"}));
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
  for (const char* needle :
       {"osprey_detectors ", "osprey_intervals_processed ", "osprey_rows_read ", "osprey_rows_rejected ",
        "osprey_anomalies ", "osprey_alert_deliveries_total 0",
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
  // A built-in holiday calendar (here named: the detector's zone is UTC) is
  // listed with the detector's own events.
  ASSERT_EQ(
      Call("PUT", "/api/v1/detectors/ecommerce", admin_, *config_ + "holidays: GB\n", "application/yaml")
          .status,
      200);
  auto british = Get("/api/v1/detectors/ecommerce/events?from=2024-12-24&to=2024-12-27", viewer_);
  ASSERT_EQ(british.status, 200) << british.body;
  std::vector<std::string> names;
  for (const auto& e : british.j["events"]) names.push_back(e["name"].get<std::string>());
  EXPECT_EQ(names, (std::vector<std::string>{"Christmas Eve", "Christmas Day", "Boxing Day"}))
      << british.body;
  ASSERT_EQ(Call("PUT", "/api/v1/detectors/ecommerce", admin_, *config_, "application/yaml").status, 200);
}

TEST_F(ApiTest, SilencesAreCreatedByAdminsReadByViewersAndExpire) {
  const int64_t now = ToUnixSeconds(clock_->Now());
  const std::string body = R"({"detector": "ecommerce", "measure": "views", "matchers": {"platform": "ios"},)"
                           R"( "duration_seconds": 3600, "comment": "app release"})";
  ExpectProblem(Call("POST", "/api/v1/silences", viewer_, body), 403);
  ExpectProblem(Call("POST", "/api/v1/silences", nullptr, body), 401);
  auto created = Call("POST", "/api/v1/silences", admin_, body);
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t id = created.j["id"].get<int64_t>();
  EXPECT_EQ(created.headers.find("Location")->second, "/api/v1/silences/" + std::to_string(id));
  EXPECT_EQ(created.j["state"], "active");
  EXPECT_EQ(created.j["created_by"], "admin-test");
  EXPECT_EQ(created.j["starts_at"], FormatIso(FromUnixSeconds(now)));
  EXPECT_EQ(created.j["ends_at"], FormatIso(FromUnixSeconds(now + 3600)));
  EXPECT_EQ(created.j["matchers"], json::parse(R"({"platform": "ios"})"));

  auto list = Get("/api/v1/silences?state=active", viewer_);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.j["silences"].size(), 1u);
  EXPECT_EQ(list.j["silences"][0]["comment"], "app release");
  EXPECT_EQ(Get("/api/v1/silences?detector=other", viewer_).j["silences"].size(), 0u);

  // Bad input: 400 naming the field, 404 for an unknown detector.
  for (const char* bad :
       {R"({"duration_seconds": 3600})", R"({"comment": "x"})", R"({"comment": "x", "duration_seconds": 10})",
        R"({"comment": "x", "ends_at": "2001-01-01"})",
        R"({"comment": "x", "duration_seconds": 600, "matchers": {"platform": 3}})",
        R"({"comment": "x", "duration_seconds": 600, "detector": "ecommerce", "measure": "nope"})",
        R"({"comment": "x", "duration_seconds": 600, "starts_at": "2100-01-01",)"
        R"( "ends_at": "2099-01-01"})",
        "not json"}) {
    ExpectProblem(Call("POST", "/api/v1/silences", admin_, bad), 400);
  }
  ExpectProblem(Call("POST", "/api/v1/silences", admin_,
                     R"({"comment": "x", "duration_seconds": 600, "detector": "nope"})"),
                404);
  ExpectProblem(Get("/api/v1/silences?state=gone", viewer_), 400);
  ExpectProblem(Get("/api/v1/silences?sort=id", viewer_), 400);

  const std::string one = "/api/v1/silences/" + std::to_string(id);
  ExpectProblem(Call("DELETE", one, viewer_), 403);
  clock_->Advance(std::chrono::seconds(60));
  auto expired = Call("DELETE", one, admin_);
  ASSERT_EQ(expired.status, 200) << expired.body;
  EXPECT_EQ(expired.j["state"], "expired");
  EXPECT_EQ(expired.j["ends_at"], FormatIso(FromUnixSeconds(now + 60)));
  ExpectProblem(Call("DELETE", one, admin_), 404);  // already expired
  ExpectProblem(Call("DELETE", "/api/v1/silences/abc", admin_), 400);
  ExpectProblem(Call("DELETE", "/api/v1/silences/99999", admin_), 404);
  EXPECT_EQ(Get("/api/v1/silences?state=active", viewer_).j["silences"].size(), 0u);
  EXPECT_EQ(Get("/api/v1/silences?state=expired", viewer_).j["silences"].size(), 1u);
  ExpectProblem(Get("/api/v1/alerts/deliveries?status=muted", viewer_), 400);
  EXPECT_EQ(Get("/api/v1/alerts/deliveries?status=silenced", viewer_).status, 200);
  clock_->Set(FromUnixSeconds(now));
}

// The OpenAPI document and the route table must agree both ways.
// GET /api/v1/status is kept for at most a clock second, but never past a
// change: what another process commits to the SQLite store, and what a write
// request through this server changes, shows on the next request, within
// the same clock second. "time" is always now.
TEST_F(ApiTest, StatusIsKeptForASecondAndDroppedByWrites) {
  auto active_of = [](const Response& r) -> std::optional<bool> {
    for (const auto& d : r.j["detectors"]) {
      if (d["name"] == "ecommerce") return d["active"].get<bool>();
    }
    return std::nullopt;
  };
  auto first = Get("/api/v1/status", viewer_);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(active_of(first), true) << first.body;
  const int64_t active = first.j["active_detectors"].get<int64_t>();

  auto again = Get("/api/v1/status", viewer_);
  EXPECT_EQ(again.j["time"], first.j["time"]);
  again.j.erase("time");
  first.j.erase("time");
  EXPECT_EQ(again.j, first.j);

  // Another process deactivates the detector: shown on the same second.
  auto store = std::move(store::OpenSqliteStore(*state_)).value();
  ASSERT_TRUE(store->SetDetectorActive("ecommerce", false).ok());
  auto later = Get("/api/v1/status", viewer_);
  EXPECT_EQ(active_of(later), false) << later.body;
  EXPECT_EQ(later.j["active_detectors"], active - 1);
  clock_->Advance(std::chrono::seconds(1));
  EXPECT_EQ(Get("/api/v1/status", viewer_).j["time"], FormatIso(clock_->Now()));

  // The API activates it again: shown at once, on the same clock second.
  ASSERT_EQ(Call("POST", "/api/v1/detectors/ecommerce/activate", admin_).status, 200);
  auto after = Get("/api/v1/status", viewer_);
  EXPECT_EQ(active_of(after), true) << after.body;
  EXPECT_EQ(after.j["active_detectors"], active);
  // A refused write (a viewer's) changes nothing and is harmless.
  ExpectProblem(Call("POST", "/api/v1/detectors/ecommerce/deactivate", viewer_), 403);
  EXPECT_EQ(active_of(Get("/api/v1/status", viewer_)), true);
}

// A page of the anomaly list is kept while the store is unchanged, on the
// same clock second: what another process commits shows on the next request.
TEST_F(ApiTest, AnomalyListPageIsKeptOnlyWhileTheStoreIsUnchanged) {
  const std::string page = "/api/v1/anomaly-groups?limit=5&min_severity=50";
  auto first = Get(page, viewer_);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_FALSE(first.j["anomaly_groups"].empty()) << first.body;
  const int64_t id = first.j["anomaly_groups"][0]["id"].get<int64_t>();
  const int64_t count = first.j["anomaly_groups"][0]["anomaly_count"].get<int64_t>();
  EXPECT_EQ(Get(page, admin_).body, first.body);
  // Another process changes the first group; then changes it back.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(state_->c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  auto set_count = [&](int64_t n) {
    const std::string sql = fmt::format("update anomaly_groups set anomaly_count = {} where id = {}", n, id);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  };
  set_count(count + 1000);
  auto changed = Get(page, viewer_);
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.j["anomaly_groups"][0]["anomaly_count"], count + 1000) << changed.body;
  set_count(count);
  sqlite3_close(db);
  EXPECT_EQ(Get(page, viewer_).body, first.body);
}

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
