// Delivery over real HTTP: the outbox of test_sample.h is sent to a socket
// server on 127.0.0.1 inside the test, through the real libcurl transport and
// a real /bin/sh command, with the clock injected.
#include "osprey/alerts/deliver.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "osprey/alerts/sign.h"
#include "osprey/alerts/test_receiver.h"
#include "osprey/alerts/test_sample.h"
#include "osprey/testing/clock.h"
#include "osprey/testing/files.h"

namespace osprey::alerts {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using testing::ReceivedRequest;
using testing::Receiver;
using testing::Reply;

constexpr const char* kSigningKey = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(store::OpenSqliteStore(dir_.File("state.db"))).value();
    ASSERT_GT(testing::FillSampleStore(*store_), 0);
    transport_ = NewSystemTransport();
  }
  void TearDown() override { store_.reset(); }

  EnvLookup Env(int port) {
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    std::map<std::string, std::string> env = {
        {"HOOK_URL", base + "/hook"},
        {"SLACK_URL", base + "/slack"},
        {"PD_URL", base + "/pd"},
        {"AM_URL", base + "/am"},
        {"PD_KEY", testing::kRoutingKey},
        {"HOOK_KEY", kSigningKey},
        {"ALERT_CMD",
         "cat >> '" + dir_.File("command.out") + "'; echo >> '" + dir_.File("command.out") + "'"}};
    return [env](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
  }

  std::vector<store::OutboxRecord> Rows(const std::string& status) {
    return *store_->ListOutbox({std::nullopt, status, 100, false});
  }

  osprey::testing::TempDir dir_{"osprey_deliver_"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Transport> transport_;
};

std::string SampleFor(const std::string& name) {
  const fs::path samples = fs::path(OSPREY_SOURCE_DIR) / "docs" / "alerts" / "samples";
  return osprey::testing::ReadFile(samples / (name + ".json")).value_or("");
}

TEST_F(DeliveryTest, EveryFormatArrivesExactlyAsDocumented) {
  Receiver receiver;
  const int port = receiver.Start();
  ASSERT_GT(port, 0);
  osprey::testing::FakeClock clock(FromUnixSeconds(testing::kGroupTs + 3700));
  Deliverer deliverer(*store_, *transport_, {}, Env(port));
  DeliveryStats stats;
  ASSERT_TRUE(deliverer.DeliverDue(clock.Now(), &stats).ok());
  EXPECT_EQ(stats.delivered, 7);
  EXPECT_TRUE(Rows("pending").empty());
  const auto rows = Rows("delivered");
  ASSERT_EQ(rows.size(), 7u);
  const auto got = receiver.requests();
  ASSERT_EQ(got.size(), 6u);  // the command is not HTTP
  std::map<std::string, std::string> path_of = {
      {"hook", "/hook"}, {"chat", "/slack"}, {"page", "/pd"}, {"am", "/am"}};
  for (const auto& row : rows) {
    const std::string name = testing::SampleName(row);
    if (row.alert == "script") {
      const std::string out = osprey::testing::ReadFile(dir_.path() / "command.out").value_or("");
      ASSERT_FALSE(out.empty());
      EXPECT_EQ(ordered_json::parse(out).dump(2) + "\n", SampleFor(name));
      continue;
    }
    auto it = std::find_if(got.begin(), got.end(), [&](const ReceivedRequest& r) {
      return r.headers.count("idempotency-key") && r.headers.at("idempotency-key") == row.idempotency_key;
    });
    ASSERT_NE(it, got.end()) << name;
    EXPECT_EQ(it->method, "POST");
    EXPECT_EQ(it->path, path_of.at(row.alert));
    EXPECT_EQ(it->headers.at("content-type"), "application/json");
    EXPECT_EQ(ordered_json::parse(it->body).dump(2) + "\n", SampleFor(name)) << name;
    if (row.alert == "hook") {
      // Standard Webhooks: the receiver recomputes the signature.
      ASSERT_EQ(it->headers.count("webhook-signature"), 1u);
      EXPECT_EQ(it->headers.at("webhook-id"), row.idempotency_key);
      const int64_t ts = std::stoll(it->headers.at("webhook-timestamp"));
      EXPECT_EQ(ts, ToUnixSeconds(clock.Now()));
      EXPECT_EQ(it->headers.at("webhook-signature"),
                SignStandardWebhook(*DecodeSigningKey(kSigningKey), row.idempotency_key, ts, it->body));
    } else {
      EXPECT_EQ(it->headers.count("webhook-signature"), 0u);
    }
  }
}

// A silence active when the messages are due holds them back, recorded as
// silenced; once it has expired, later messages are sent again.
TEST_F(DeliveryTest, AnActiveSilenceHoldsMessagesBackAndAnExpiredOneDoesNot) {
  Receiver receiver;
  const int port = receiver.Start();
  ASSERT_GT(port, 0);
  const int64_t now = testing::kGroupTs + 3700;
  // The group's root cause is {marketplace=US, platform=pc_web}: inside
  // platform=pc_web; not inside platform=ios, nor is measure orders it.
  const int64_t id = *store_->CreateSilence(
      {0, "shop", "revenue", R"({"platform":"pc_web"})", now - 60, now + 3600, "release", "ops", now - 60});
  ASSERT_GT(*store_->CreateSilence({0, "shop", "revenue", R"({"platform":"ios"})", now - 60, now + 3600,
                                    "other slice", "ops", now - 60}),
            0);
  ASSERT_GT(*store_->CreateSilence(
                {0, "shop", "orders", "{}", now - 60, now + 3600, "other measure", "ops", now - 60}),
            0);
  osprey::testing::FakeClock clock(FromUnixSeconds(now));
  Deliverer deliverer(*store_, *transport_, {}, Env(port));
  DeliveryStats stats;
  ASSERT_TRUE(deliverer.DeliverDue(clock.Now(), &stats).ok());
  EXPECT_EQ(stats.silenced, 7);
  EXPECT_EQ(stats.delivered, 0);
  EXPECT_TRUE(receiver.requests().empty());
  EXPECT_TRUE(Rows("pending").empty());
  const auto silenced = Rows("silenced");
  ASSERT_EQ(silenced.size(), 7u);
  for (const auto& r : silenced) {
    EXPECT_EQ(r.last_error,
              fmt::format("silenced by silence {} until {}", id, FormatIso(FromUnixSeconds(now + 3600))));
    EXPECT_EQ(r.attempts, 0);
    EXPECT_FALSE(r.delivered_at);
  }

  // The same messages again, due after the silence was expired: sent.
  ASSERT_TRUE(store_->ExpireSilence(id, now + 600).ok());
  for (auto r : silenced) {
    r.status = "pending";
    r.last_error.clear();
    ASSERT_TRUE(store_->UpdateOutbox(r).ok());
  }
  clock.Set(FromUnixSeconds(now + 600));
  DeliveryStats after;
  ASSERT_TRUE(deliverer.DeliverDue(clock.Now(), &after).ok());
  EXPECT_EQ(after.silenced, 0);
  EXPECT_EQ(after.delivered, 7);
  EXPECT_EQ(receiver.requests().size(), 6u);  // the command is not HTTP
  EXPECT_TRUE(Rows("silenced").empty());
}

// A silence that has not started yet does not hold anything back, and one
// without dimension matchers silences the whole measure.
TEST_F(DeliveryTest, SilencesCountOnlyBetweenTheirStartAndEnd) {
  Receiver receiver;
  const int port = receiver.Start();
  ASSERT_GT(port, 0);
  const int64_t now = testing::kGroupTs + 3700;
  ASSERT_GT(*store_->CreateSilence({0, "", "revenue", "{}", now + 60, now + 3600, "later", "", now}), 0);
  osprey::testing::FakeClock clock(FromUnixSeconds(now));
  Deliverer deliverer(*store_, *transport_, {}, Env(port));
  DeliveryStats stats;
  ASSERT_TRUE(deliverer.DeliverDue(clock.Now(), &stats).ok());
  EXPECT_EQ(stats.silenced, 0);
  EXPECT_EQ(stats.delivered, 7);
}

TEST_F(DeliveryTest, ReceiverDownThenUpGetsEveryAlertOnceAndInOrder) {
  Receiver receiver;
  const int port = receiver.Start();
  receiver.Stop();  // down: connection refused
  osprey::testing::FakeClock clock(FromUnixSeconds(testing::kGroupTs + 3700));
  Deliverer deliverer(*store_, *transport_, {}, Env(port));
  DeliveryStats stats;
  ASSERT_TRUE(deliverer.DeliverDue(clock.Now(), &stats).ok());
  // One attempt per alert; the resolves wait behind their triggers.
  EXPECT_EQ(stats.retried, 4);
  EXPECT_EQ(stats.delivered, 1);  // the command does not need the receiver
  EXPECT_EQ(stats.waiting, 2);
  for (int pass = 0; pass < 3; ++pass) {
    clock.Advance(std::chrono::seconds(60 << pass));
    ASSERT_TRUE(deliverer.DeliverDue(clock.Now(), &stats).ok());
  }
  EXPECT_EQ(Rows("pending").size(), 6u);
  ASSERT_EQ(receiver.Start(port), port);  // up again
  for (int pass = 0; pass < 10 && !Rows("pending").empty(); ++pass) {
    clock.Advance(std::chrono::seconds(3600));
    ASSERT_TRUE(deliverer.DeliverDue(clock.Now()).ok());
  }
  EXPECT_TRUE(Rows("pending").empty());
  EXPECT_TRUE(Rows("dead").empty());
  std::map<std::string, int> seen;
  std::vector<std::string> order;
  for (const auto& r : receiver.requests()) {
    const std::string key = r.headers.at("idempotency-key");
    ++seen[key];
    order.push_back(key);
    // The key is in the body too (as a field or annotation), except where
    // the receiver's schema has no room for it (Slack; a PagerDuty resolve,
    // which carries the dedup_key).
    if (r.path != "/slack" && r.body.find("\"event_action\":\"resolve\"") == std::string::npos) {
      EXPECT_NE(r.body.find(key), std::string::npos) << r.path;
    }
  }
  EXPECT_EQ(seen.size(), 6u);
  for (const auto& [key, n] : seen) EXPECT_EQ(n, 1) << key;
  for (const char* alert : {"page", "am"}) {
    const std::string trigger = fmt::format("{}.{}", Rows("delivered")[0].group_id, alert);
    auto t = std::find(order.begin(), order.end(), trigger);
    auto r = std::find(order.begin(), order.end(), trigger + ".resolved");
    ASSERT_NE(t, order.end());
    ASSERT_NE(r, order.end());
    EXPECT_LT(t, r) << alert << ": resolve before trigger";
  }
}

TEST_F(DeliveryTest, ServerErrorsAndTimeoutsAreRetriedClientErrorsAreNot) {
  std::map<std::string, int> calls;
  Receiver receiver([&calls](const ReceivedRequest& r) -> Reply {
    const int n = ++calls[r.path];
    if (r.path == "/hook") {
      if (n == 1) return {500, {}};
      if (n == 2) return {200, true};  // no answer: the hook's 5 s timeout
      return {200, {}};
    }
    if (r.path == "/slack") return {400, {}};
    if (r.path == "/am") return {n == 1 ? 429 : 200, {}};
    return {200, {}};
  });
  const int port = receiver.Start();
  osprey::testing::FakeClock clock(FromUnixSeconds(testing::kGroupTs + 3700));
  Deliverer deliverer(*store_, *transport_, {}, Env(port));
  for (int pass = 0; pass < 4; ++pass) {
    ASSERT_TRUE(deliverer.DeliverDue(clock.Now()).ok());
    clock.Advance(std::chrono::seconds(600));
  }
  EXPECT_EQ(calls["/hook"], 3);
  EXPECT_EQ(calls["/slack"], 1);
  EXPECT_EQ(calls["/am"], 3);  // 429, then trigger and resolve
  auto dead = Rows("dead");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].alert, "chat");
  EXPECT_NE(dead[0].last_error.find("HTTP 400"), std::string::npos);
  EXPECT_EQ(Rows("pending").size(), 0u);
  for (const auto& r : Rows("delivered")) {
    if (r.alert == "hook") {
      EXPECT_EQ(r.attempts, 3);
    }
  }
}

TEST_F(DeliveryTest, ADeadLetteredMessageIsResentOnceAndOthersAreRefused) {
  bool slack_up = false;
  int slack_calls = 0;
  Receiver receiver([&](const ReceivedRequest& r) -> Reply {
    if (r.path != "/slack") return {200, {}};
    ++slack_calls;
    return {slack_up ? 200 : 400, {}};
  });
  const int port = receiver.Start();
  osprey::testing::FakeClock clock(FromUnixSeconds(testing::kGroupTs + 3700));
  Deliverer deliverer(*store_, *transport_, {}, Env(port));
  ASSERT_TRUE(deliverer.DeliverDue(clock.Now()).ok());
  auto dead = Rows("dead");
  ASSERT_EQ(dead.size(), 1u);
  const int64_t id = dead[0].id;
  const int calls_before = slack_calls;

  // Not dead, or not there: refused, nothing changes.
  auto delivered = Rows("delivered");
  ASSERT_FALSE(delivered.empty());
  EXPECT_EQ(Resend(*store_, delivered[0].id, clock.Now()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Resend(*store_, 987654321, clock.Now()).status().code(), StatusCode::kNotFound);

  clock.Advance(std::chrono::seconds(60));
  auto resent = Resend(*store_, id, clock.Now());
  ASSERT_TRUE(resent.ok()) << resent.status().ToString();
  EXPECT_EQ(resent->status, "pending");
  EXPECT_EQ(resent->attempts, 0);
  EXPECT_EQ(resent->next_attempt_at, ToUnixSeconds(clock.Now()));
  EXPECT_TRUE(Rows("dead").empty());
  slack_up = true;
  ASSERT_TRUE(deliverer.DeliverDue(clock.Now()).ok());
  EXPECT_EQ(slack_calls, calls_before + 1) << "sent again, once";
  bool found = false;
  for (const auto& r : Rows("delivered")) {
    if (r.id != id) continue;
    found = true;
    EXPECT_EQ(r.idempotency_key, dead[0].idempotency_key) << "receivers can still drop repeats";
    EXPECT_EQ(r.attempts, 1);
  }
  EXPECT_TRUE(found);
  // Delivered now: a second resend is refused.
  EXPECT_EQ(Resend(*store_, id, clock.Now()).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(DeliveryTest, BackoffGrowsAndRowsAreDeadLetteredAfterMaxAttempts) {
  int calls = 0;
  Receiver receiver([&calls](const ReceivedRequest&) -> Reply {
    ++calls;
    return {503, {}};
  });
  const int port = receiver.Start();
  osprey::testing::FakeClock clock(FromUnixSeconds(testing::kGroupTs + 3700));
  DeliveryOptions options;
  Deliverer deliverer(*store_, *transport_, options, Env(port));
  ASSERT_TRUE(deliverer.DeliverDue(clock.Now()).ok());
  const int first = calls;
  EXPECT_EQ(first, 4);  // the first row of each HTTP alert
  ASSERT_TRUE(deliverer.DeliverDue(clock.Now() + std::chrono::seconds(29)).ok());
  EXPECT_EQ(calls, first) << "nothing is due before the backoff";
  EXPECT_EQ(Backoff(options, 1).count(), 30);
  EXPECT_EQ(Backoff(options, 3).count(), 120);
  EXPECT_EQ(Backoff(options, 20).count(), 3600);
  for (int pass = 0; pass < 40; ++pass) {
    clock.Advance(std::chrono::seconds(3600));
    ASSERT_TRUE(deliverer.DeliverDue(clock.Now()).ok());
  }
  EXPECT_TRUE(Rows("pending").empty());
  EXPECT_EQ(Rows("dead").size(), 6u);
  for (const auto& r : Rows("dead")) EXPECT_EQ(r.attempts, 8) << r.idempotency_key;
  // No URL or key reaches the stored error.
  for (const auto& r : Rows("dead")) EXPECT_EQ(r.last_error.find("127.0.0.1"), std::string::npos);
}

TEST_F(DeliveryTest, CommandFailuresAndTimeoutsAreRetried) {
  // Commands that must finish get a bound no loaded machine reaches; the
  // ones that must time out run far longer than their limit.
  constexpr int kAmple = 120000;
  CommandRequest ok{"cat > /dev/null; exit 0", "{}", kAmple};
  EXPECT_EQ(*transport_->RunCommand(ok), 0);
  EXPECT_EQ(*transport_->RunCommand({"exit 3", "{}", kAmple}), 3);
  auto slow = transport_->RunCommand({"sleep 600", "{}", 300});
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().code(), StatusCode::kDeadlineExceeded);
  // A big body to a command that never reads it does not hang.
  auto big = transport_->RunCommand({"sleep 600", std::string(1 << 20, 'x'), 300});
  EXPECT_EQ(big.status().code(), StatusCode::kDeadlineExceeded);
  const fs::path out = dir_.path() / "stdin.json";
  EXPECT_EQ(*transport_->RunCommand({"cat > '" + out.string() + "'", "{\"a\":1}", kAmple}), 0);
  EXPECT_EQ(osprey::testing::ReadFile(out).value_or(""), "{\"a\":1}");
}

}  // namespace
}  // namespace osprey::alerts
