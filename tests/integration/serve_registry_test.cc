// One registry for the scheduler and the API: the daemon behind `osprey
// serve` (app::Daemon, driven step by step on a testing clock) and the REST
// API server reading its registry, over real HTTP. After every change — a
// detector file edited, broken, added broken, removed and restored, a
// detector created and changed through the API — GET /api/v1/detectors, GET
// /api/v1/detectors/{name} and GET /api/v1/status must say what the
// scheduler runs: the same configuration text, the error of a newer version
// that does not load beside the version that still runs, and "not
// scheduled" for what no longer runs.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "osprey/api/auth.h"
#include "osprey/api/server.h"
#include "osprey/app/daemon.h"
#include "osprey/store/store.h"
#include "osprey/testing/clock.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::hours;

// examples/ecommerce.yaml renamed, with `description`, reading the warehouse
// through `path` (relative paths are relative to the file), without alerts.
std::string DetectorYaml(const std::string& name, const std::string& description, const std::string& path) {
  std::istringstream in(testing::ReadFile(testing::ExampleDetectorPath()).value_or(""));
  std::string out, line;
  while (std::getline(in, line)) {
    if (line.rfind("name:", 0) == 0) line = "name: " + name;
    if (line.rfind("description:", 0) == 0) line = "description: " + description;
    if (line.rfind("  path:", 0) == 0) line = "  path: " + path;
    if (line.rfind("  connection_env:", 0) == 0) continue;
    if (line.rfind("alerts:", 0) == 0) break;
    out += line + "\n";
  }
  return out;
}

class ServeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "conf");
    app::DemoOptions o;
    o.days = 7;
    auto w = testing::MakeDemoWarehouse(o, tmp_.File("warehouse.db"));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    clock_ = std::make_unique<testing::FakeClock>(w->data.end - hours(24));
    state_ = tmp_.File("state.db");
    {
      auto store = store::OpenStore(state_);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      auto token = api::GenerateToken();
      ASSERT_TRUE(token.ok());
      token_ = *token;
      ASSERT_TRUE((*store)->CreateToken({0, "admin", "admin", api::HashToken(token_), 1, std::nullopt}).ok());
    }
    WriteFile("a.yaml", DetectorYaml("a", "a-v1", "../warehouse.db"));

    app::DaemonOptions d;
    d.state_path = state_;
    d.config_dir = (dir_ / "conf").string();
    auto daemon = app::Daemon::Create(d, *clock_);
    ASSERT_TRUE(daemon.ok()) << daemon.status().ToString();
    daemon_ = *std::move(daemon);

    api::ServerOptions so;
    so.port = 0;
    so.state_path = state_;
    so.access_log = false;
    so.threads = 2;
    so.registry = &daemon_->registry();
    auto server = api::Server::Create(so, *clock_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  // Writes conf/`file`, moving its modification time on by a second each
  // time, so the change is seen whatever the file system's time resolution.
  void WriteFile(const std::string& file, const std::string& text) {
    const fs::path p = dir_ / "conf" / file;
    std::ofstream(p) << text;
    fs::last_write_time(p, fs::file_time_type::clock::now() + std::chrono::seconds(++writes_));
  }

  json Get(const std::string& path) {
    auto r = client_->Get(path, {{"Authorization", "Bearer " + token_}});
    if (!r) {
      ADD_FAILURE() << path << ": no answer";
      return json();
    }
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  // One round of the daemon's loop an hour later.
  void Step() {
    clock_->Advance(hours(1));
    daemon_->Step(clock_->Now(), false);
  }

  // GET /api/v1/detectors/{name}, GET /api/v1/detectors and GET
  // /api/v1/status against what the scheduler runs. Returns the detail.
  json ExpectAgreement(const std::string& name) {
    const std::map<std::string, std::string> running = daemon_->scheduler().Scheduled();
    json d = Get("/api/v1/detectors/" + name);
    json list = Get("/api/v1/detectors");
    json status = Get("/api/v1/status");
    const auto it = running.find(name);
    const bool scheduled = it != running.end();
    EXPECT_EQ(d["scheduled"], scheduled) << name << ": " << d.dump();
    if (scheduled) {
      EXPECT_EQ(d["config"], it->second) << name << ": the API shows another version than runs";
    }
    json in_list, in_status;
    for (const auto& x : list["detectors"]) {
      if (x["name"] == name) in_list = x;
    }
    for (const auto& x : status["detectors"]) {
      if (x["name"] == name) in_status = x;
    }
    EXPECT_EQ(in_list["scheduled"], scheduled) << name;
    EXPECT_EQ(in_list["description"], d["description"]) << name;
    EXPECT_EQ(in_list.value("config_error", ""), d.value("config_error", "")) << name;
    EXPECT_EQ(in_status["scheduled"], scheduled) << name;
    if (scheduled) {
      EXPECT_NE(in_status["state"], "not scheduled") << name;
    } else {
      EXPECT_EQ(in_status["state"], "not scheduled") << name;
    }
    return d;
  }

  const testing::TempDir tmp_{"osprey_registry_"};
  const fs::path dir_ = tmp_.path();
  std::string state_, token_;
  int writes_ = 0;
  std::unique_ptr<testing::FakeClock> clock_;
  std::unique_ptr<app::Daemon> daemon_;
  std::unique_ptr<api::Server> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServeRegistryTest, ApiAndSchedulerShowOneRegistry) {
  Step();
  json a = ExpectAgreement("a");
  EXPECT_EQ(a["description"], "a-v1");
  EXPECT_FALSE(a.contains("config_error")) << a.dump();
  EXPECT_EQ(Get("/api/v1/detectors")["broken_files"], json::array());

  // A changed file: the new version runs and shows.
  WriteFile("a.yaml", DetectorYaml("a", "a-v2", "../warehouse.db"));
  Step();
  a = ExpectAgreement("a");
  EXPECT_EQ(a["description"], "a-v2");

  // A newer version that does not load: v2 keeps running, the API shows v2
  // and the new version's error with its file and line.
  WriteFile("a.yaml", DetectorYaml("a", "a-v3", "../warehouse.db") + "frequncy: PT1H\n");
  Step();
  a = ExpectAgreement("a");
  EXPECT_EQ(a["description"], "a-v2");
  EXPECT_EQ(daemon_->scheduler().Scheduled().at("a").find("a-v3"), std::string::npos);
  ASSERT_TRUE(a.contains("config_error")) << a.dump();
  const std::string error = a["config_error"];
  EXPECT_NE(error.find((dir_ / "conf" / "a.yaml").string() + ":"), std::string::npos) << error;
  EXPECT_NE(error.find("frequncy"), std::string::npos) << error;

  // A file that never loaded runs nothing and is listed with its error.
  WriteFile("c.yaml", "name: c\nfrequency: PT1H\n");
  Step();
  json broken = Get("/api/v1/detectors")["broken_files"];
  ASSERT_EQ(broken.size(), 1u) << broken.dump();
  EXPECT_EQ(broken[0]["file"], (dir_ / "conf" / "c.yaml").string());
  EXPECT_NE(broken[0]["error"].get<std::string>().find("c.yaml"), std::string::npos) << broken.dump();
  EXPECT_EQ(daemon_->scheduler().Scheduled().count("c"), 0u);

  // Created through the API: registered before the reply, run from the
  // daemon's next round, the same text in both.
  const std::string b1 = DetectorYaml("b", "b-v1", tmp_.File("warehouse.db"));
  auto created =
      client_->Post("/api/v1/detectors", {{"Authorization", "Bearer " + token_}}, b1, "application/yaml");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(json::parse(created->body)["scheduled"], true) << created->body;
  Step();
  json b = ExpectAgreement("b");
  EXPECT_EQ(b["config"], b1);
  const std::string b2 = DetectorYaml("b", "b-v2", tmp_.File("warehouse.db"));
  auto updated =
      client_->Put("/api/v1/detectors/b", {{"Authorization", "Bearer " + token_}}, b2, "application/yaml");
  ASSERT_TRUE(updated);
  ASSERT_EQ(updated->status, 200) << updated->body;
  Step();
  b = ExpectAgreement("b");
  EXPECT_EQ(b["config"], b2);

  // A removed file stops its detector; the API says it no longer runs.
  fs::remove(dir_ / "conf" / "a.yaml");
  Step();
  EXPECT_EQ(daemon_->scheduler().Scheduled().count("a"), 0u);
  a = ExpectAgreement("a");
  EXPECT_EQ(a["scheduled"], false);

  // Restored and fixed: it runs again, the error is gone.
  WriteFile("a.yaml", DetectorYaml("a", "a-v4", "../warehouse.db"));
  Step();
  a = ExpectAgreement("a");
  EXPECT_EQ(a["description"], "a-v4");
  EXPECT_FALSE(a.contains("config_error")) << a.dump();
  json status = Get("/api/v1/status");
  for (const auto& d : status["detectors"]) {
    EXPECT_EQ(d["state"], "active") << d.dump();
    EXPECT_EQ(d["last_error"], "") << d.dump();
  }

  // An API detector whose stored configuration no longer loads (written
  // by an older osprey, say) runs nothing; the API says so and why.
  {
    auto store = store::OpenStore(state_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->UpsertDetector("old", "name: old\nfrequncy: PT1H\n").ok());
    ASSERT_TRUE((*store)->SetDetectorOrigin("old", "api").ok());
  }
  Step();
  EXPECT_EQ(daemon_->scheduler().Scheduled().count("old"), 0u);
  json old = ExpectAgreement("old");
  ASSERT_TRUE(old.contains("config_error")) << old.dump();
  EXPECT_NE(old["config_error"].get<std::string>().find("frequncy"), std::string::npos) << old.dump();
}

// The API's worker threads read the registry while the daemon and API
// writes change it: every answer is one consistent version (the summary is
// parsed from the text shown beside it) and every one succeeds.
TEST_F(ServeRegistryTest, ReadersSeeOneVersionWhileItChanges) {
  Step();
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, inconsistent{0}, failed{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      httplib::Client client("127.0.0.1", server_->port());
      while (!stop.load()) {
        auto r = client.Get("/api/v1/detectors/a", {{"Authorization", "Bearer " + token_}});
        if (!r || r->status != 200) {
          ++failed;
          continue;
        }
        const json d = json::parse(r->body, nullptr, false);
        const std::string description = d.value("description", "");
        if (d.value("config", "").find("description: " + description + "\n") == std::string::npos)
          ++inconsistent;
        ++reads;
      }
    });
  }
  for (int round = 2; round < 30; ++round) {
    std::string text = DetectorYaml("a", fmt::format("a-v{}", round), "../warehouse.db");
    if (round % 3 == 0) text += "frequncy: PT1H\n";  // a version that does not load
    WriteFile("a.yaml", text);
    if (round % 2 == 0) {
      Step();
    } else {
      // An API write refreshes the registry from a worker thread.
      const std::string b = DetectorYaml("b", fmt::format("b-v{}", round), tmp_.File("warehouse.db"));
      auto r =
          client_->Put("/api/v1/detectors/b", {{"Authorization", "Bearer " + token_}}, b, "application/yaml");
      ASSERT_TRUE(r);
      ASSERT_TRUE(r->status == 200 || r->status == 404) << r->body;
      if (r->status == 404) {
        r = client_->Post("/api/v1/detectors", {{"Authorization", "Bearer " + token_}}, b,
                          "application/yaml");
        ASSERT_TRUE(r && r->status == 201);
      }
    }
  }
  // Until each reader has seen the last state at least once.
  const int seen = reads.load();
  while (reads.load() < seen + 4 && failed.load() == 0) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(inconsistent.load(), 0) << "of " << reads.load() << " reads";
  Step();
  const json a = ExpectAgreement("a");
  EXPECT_EQ(a["description"], "a-v29");
}

}  // namespace
}  // namespace osprey
