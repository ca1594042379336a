// `osprey serve` runs the detectors created through the REST API, beside the
// ones of its --config directory: the real binary on a testing clock, real
// HTTP. A detector POSTed while serve runs is backfilled and its anomalies
// appear; a file-defined detector answers 409 to PUT and DELETE; a DELETEd
// API detector stops; the delivery log shows the outbox.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "osprey/api/auth.h"
#include "osprey/app/demo_data.h"
#include "osprey/store/store.h"
#include "osprey/testing/files.h"
#include "osprey/testing/process.h"
#include "osprey/testing/wait.h"

namespace osprey {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::hours;

std::string ReadAll(const fs::path& p) { return testing::ReadFile(p).value_or(""); }

// examples/ecommerce.yaml renamed, on `warehouse`, backfilling from `start`.
std::string DetectorYaml(const std::string& name, const fs::path& warehouse, Instant start) {
  std::istringstream in(ReadAll(fs::path(OSPREY_SOURCE_DIR) / "examples" / "ecommerce.yaml"));
  std::string out, line;
  while (std::getline(in, line)) {
    if (line.rfind("name:", 0) == 0) line = "name: " + name;
    if (line.rfind("  path:", 0) == 0) line = "  path: " + warehouse.string();
    if (line.rfind("  connection_env:", 0) == 0) continue;
    if (line.rfind("alerts:", 0) == 0) break;  // alerts are checked separately below
    out += line + "\n";
    if (line.rfind("offset:", 0) == 0) out += "history_start: " + FormatIso(start) + "\n";
  }
  return out;
}

class ServeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "conf");
    app::DemoOptions o;
    o.days = 56;
    data_ = app::GenerateDemoData(o);
    ASSERT_TRUE(app::WriteDemoWarehouse(data_, (dir_ / "warehouse.db").string()).ok());
    state_ = (dir_ / "state.db").string();
    auto store = store::OpenSqliteStore(state_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    token_ = *api::GenerateToken();
    ASSERT_TRUE((*store)->CreateToken({0, "t", "admin", api::HashToken(token_), 1, std::nullopt}).ok());
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  // Starts `osprey serve --port 0` with the testing clock at `now`, running
  // `speed` times faster than real time, and waits for its banner to learn
  // the port.
  void StartServe(Instant now, double speed) {
    const std::string log = (dir_ / "serve.log").string();
    fs::remove(log);  // the banner read below is this run's
    pid_ = testing::SpawnTestbin(
        OSPREY_TESTBIN, {now, speed, std::nullopt},
        {"serve", "--config", (dir_ / "conf").string(), "--state", state_, "--port", "0"}, log);
    const std::regex banner(R"(http://127\.0\.0\.1:(\d+)/)");
    testing::WaitForWrites(pid_, dir_.string(), "serve.log", [&] {
      std::smatch m;
      const std::string text = ReadAll(log);
      if (std::regex_search(text, m, banner)) port_ = std::stoi(m[1]);
      return port_ != 0;
    });
    ASSERT_NE(port_, 0) << "serve did not start:\n" << ReadAll(log);
  }

  httplib::Result Call(const std::string& method, const std::string& path, const std::string& body = "") {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_read_timeout(30, 0);
    httplib::Headers h = {{"Authorization", "Bearer " + token_}};
    if (method == "GET") return cli.Get(path, h);
    if (method == "POST") return cli.Post(path, h, body, "application/yaml");
    if (method == "PUT") return cli.Put(path, h, body, "application/yaml");
    return cli.Delete(path, h);
  }

  // The detector's entry in GET /api/v1/status, or null.
  json StatusOf(const std::string& name) {
    auto r = Call("GET", "/api/v1/status");
    last_status_ = r ? fmt::format("{} {}", r->status, r->body) : "no response";
    if (!r || r->status != 200) return nullptr;
    const json body = json::parse(r->body);
    for (const auto& d : body["detectors"]) {
      if (d["name"] == name) return d;
    }
    return nullptr;
  }

  // Waits until the detector's watermark, as GET /api/v1/status shows it,
  // reaches `until`: asked again after each write to the state store.
  // False if serve exits first.
  bool WaitForWatermark(const std::string& name, Instant until) {
    return testing::WaitForWrites(pid_, dir_.string(), "state.db", [&] {
      json s = StatusOf(name);
      if (!s.is_object() || !s["watermark"].is_string()) return false;
      auto wm = ParseInstant(s["watermark"].get<std::string>(), TimeZone::Utc());
      return wm.ok() && *wm >= until;
    });
  }

  testing::TempDir tmp_{"osprey_serve_api_"};
  const fs::path dir_ = tmp_.path();
  app::DemoData data_;
  std::string state_, token_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string last_status_;  // the last GET /api/v1/status, for messages
};

TEST_F(ServeApiTest, RunsApiDetectorsBesideFileDetectors) {
  const fs::path wh = dir_ / "warehouse.db";
  const Instant now = data_.start + hours(24 * 28);
  {
    std::ofstream f(dir_ / "conf" / "filed.yaml");
    f << DetectorYaml("filed", wh, data_.start);
  }
  StartServe(now, 1);
  // The file detector is scheduled and backfilled up to the testing clock
  // (the last interval is due 5 minutes after it ends).
  ASSERT_TRUE(WaitForWatermark("filed", now - hours(1)))
      << ReadAll(dir_ / "serve.log") << "\nlast status: " << last_status_;

  // A detector created through the API is run without a restart.
  auto created = Call("POST", "/api/v1/detectors", DetectorYaml("viaapi", wh, data_.start));
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(json::parse(created->body)["managed_by"], "api");
  ASSERT_TRUE(WaitForWatermark("viaapi", now - hours(1)))
      << ReadAll(dir_ / "serve.log") << "\nlast status: " << last_status_;
  // The backfill's last chunk moves the watermark; the state turns active
  // in the scheduler's next write (a busy machine can be asked in between).
  ASSERT_TRUE(testing::WaitForWrites(pid_, dir_.string(), "state.db",
                                     [&] { return StatusOf("viaapi")["state"] == "active"; }))
      << "last status: " << last_status_;
  json st = StatusOf("viaapi");
  EXPECT_EQ(st["state"], "active") << st.dump();
  EXPECT_TRUE(st["last_run"].is_string()) << st.dump();
  auto quality =
      Call("GET", "/api/v1/detectors/viaapi/data-quality?limit=10000&from=" + FormatIso(data_.start));
  ASSERT_TRUE(quality);
  const json q = json::parse(quality->body);
  EXPECT_EQ(q["totals"]["intervals"], 24 * 28 - 1)
      << "every backfilled interval is read once: " << quality->body.substr(0, 300);
  EXPECT_GT(q["totals"]["rows_read"].get<int64_t>(), 10000);

  // The file's detector belongs to the file.
  auto d = json::parse(Call("GET", "/api/v1/detectors/filed")->body);
  EXPECT_EQ(d["managed_by"], "file");
  EXPECT_EQ(d["file"], (dir_ / "conf" / "filed.yaml").string());
  auto put = Call("PUT", "/api/v1/detectors/filed", DetectorYaml("filed", wh, data_.start));
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 409) << put->body;
  EXPECT_NE(put->body.find("filed.yaml"), std::string::npos) << put->body;
  EXPECT_EQ(Call("DELETE", "/api/v1/detectors/filed")->status, 409);

  // Deleting the API's detector stops it; serve keeps running the other.
  EXPECT_EQ(Call("DELETE", "/api/v1/detectors/viaapi")->status, 204);
  // SIGHUP, then its log line: serve has rescheduled since the delete.
  kill(pid_, SIGHUP);
  ASSERT_TRUE(testing::WaitForWrites(pid_, dir_.string(), "serve.log", [&] {
    return ReadAll(dir_ / "serve.log").find("SIGHUP: detector files reloaded") != std::string::npos;
  })) << ReadAll(dir_ / "serve.log");
  EXPECT_TRUE(StatusOf("viaapi").is_null());
  EXPECT_EQ(StatusOf("filed")["state"], "active");
  EXPECT_EQ(ReadAll(dir_ / "serve.log").find("viaapi' is already"), std::string::npos);
}

TEST_F(ServeApiTest, DeliveryLogShowsTheOutbox) {
  const fs::path wh = dir_ / "warehouse.db";
  // Backfill 35 days (no alerts), then live days on a clock running a day a
  // second: live intervals raise alerts to a command that always fails, so
  // each message is attempted once and dead-lettered with its error.
  // Store every deviation from severity 10 on, so live days surely have groups.
  std::string yaml = std::regex_replace(DetectorYaml("alerting", wh, data_.start),
                                        std::regex("\nmin_severity: 60"), "\nmin_severity: 10");
  yaml +=
      "alerts:\n  - name: oncall\n    destination: command\n    min_severity: 0\n"
      "    target_file: " +
      (dir_ / "cmd").string() + "\n    max_attempts: 1\n";
  std::ofstream(dir_ / "cmd") << "exit 3\n";
  const Instant now = data_.start + hours(24 * 35);  // the model is ready after 28 days
  StartServe(now, 86400);
  auto created = Call("POST", "/api/v1/detectors", yaml);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  ASSERT_TRUE(WaitForWatermark("alerting", data_.start + hours(24 * 49)))
      << ReadAll(dir_ / "serve.log") << "\nlast status: " << last_status_;

  auto page = Call("GET", "/api/v1/alerts/deliveries?detector=alerting&limit=2");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  json j = json::parse(page->body);
  const int64_t total = j["total"].get<int64_t>();
  StatusOf("alerting");
  ASSERT_GT(total, 2) << "two weeks of live intervals raised fewer than 3 alerts: " << page->body << "\n"
                      << last_status_;
  ASSERT_EQ(j["deliveries"].size(), 2u);
  // Paged by cursor: the next page starts after the last message shown.
  const int64_t last_id = j["deliveries"][1]["id"].get<int64_t>();
  EXPECT_EQ(j["next"],
            fmt::format("/api/v1/alerts/deliveries?detector=alerting&limit=2&cursor=id:{}", last_id));
  const json& newest = j["deliveries"][0];
  EXPECT_GT(newest["id"].get<int64_t>(), last_id) << "newest first";
  auto next = Call("GET", j["next"].get<std::string>());
  ASSERT_TRUE(next);
  ASSERT_EQ(next->status, 200) << next->body;
  const json n = json::parse(next->body);
  ASSERT_FALSE(n["deliveries"].empty());
  EXPECT_LT(n["deliveries"][0]["id"].get<int64_t>(), last_id) << "the next page continues, older";
  EXPECT_EQ(newest["alert"], "oncall");
  EXPECT_EQ(newest["detector"], "alerting");

  auto dead = Call("GET", "/api/v1/alerts/deliveries?detector=alerting&status=dead&limit=500");
  ASSERT_TRUE(dead);
  json d = json::parse(dead->body);
  ASSERT_GT(d["total"].get<int64_t>(), 0) << dead->body;
  for (const auto& m : d["deliveries"]) {
    EXPECT_EQ(m["status"], "dead");
    EXPECT_EQ(m["attempts"], 1);
    EXPECT_NE(m["last_error"].get<std::string>(), "");
    EXPECT_TRUE(m["next_attempt_at"].is_null());
  }
  // The clock runs on, so later counts can only be higher.
  const int64_t dead_seen = d["total"].get<int64_t>();
  auto metrics = Call("GET", "/metrics");
  ASSERT_TRUE(metrics);
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(metrics->body, m, std::regex(R"(osprey_alert_messages\{status="dead"\} (\d+))")))
      << metrics->body.substr(0, 3000);
  EXPECT_GE(std::stoll(m[1]), dead_seen);
  ASSERT_TRUE(std::regex_search(metrics->body, m, std::regex(R"(osprey_alert_deliveries_total (\d+))")));
  EXPECT_GE(std::stoll(m[1]), dead_seen) << "each dead message was attempted once";
  auto status = json::parse(Call("GET", "/api/v1/status")->body);
  EXPECT_GE(status["alerts"]["dead"].get<int64_t>(), dead_seen);

  auto bad = Call("GET", "/api/v1/alerts/deliveries?status=lost");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("pending, delivered, dead"), std::string::npos);
}

}  // namespace
}  // namespace osprey
