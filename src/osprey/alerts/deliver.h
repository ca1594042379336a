// Delivery of the alert outbox. The pipeline writes outbox rows in the same
// transaction as the anomaly groups they are about; a Deliverer sends the due
// ones afterwards (`osprey alerts deliver`, and the daemon in a loop):
//  - at least once: a row is marked delivered only after a 2xx response (or
//    exit status 0), so a crash in between sends it again; every message
//    carries an idempotency key (group id + alert name) in the
//    Idempotency-Key header and in the body, so receivers drop repeats;
//  - in order per alert: while a row of an alert waits for a retry, the
//    alert's later rows wait too;
//  - network errors, timeouts, 408, 429 and 5xx are retried with exponential
//    backoff (base * 2^(attempt-1), capped) on the injected clock; other 4xx
//    are permanent; after the alert's max_attempts a row is dead-lettered.
// URLs, routing keys and signing keys come from environment variables or
// files at delivery time and never reach a log line or the store.
// A Deliverer is not thread-safe; run one per store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "osprey/alerts/format.h"
#include "osprey/alerts/transport.h"
#include "osprey/base/status.h"
#include "osprey/base/time.h"
#include "osprey/config/detector.h"
#include "osprey/store/store.h"

namespace osprey::alerts {

struct DeliveryOptions {
  std::chrono::seconds base_backoff{30};   // wait after the first failure
  std::chrono::seconds max_backoff{3600};  // cap on the wait
  int64_t batch = 1000;                    // rows looked at per DeliverDue
};

struct DeliveryStats {
  int64_t delivered = 0;
  int64_t retried = 0;   // failed, will be tried again
  int64_t dead = 0;      // dead-lettered in this pass
  int64_t waiting = 0;   // not due yet, or behind a row of the same alert that is
  int64_t silenced = 0;  // matched by an active silence: recorded, not sent
};

// Looks up an environment variable; injected so tests need not touch the
// process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

// Reads a secret: the variable `env` when set and non-empty, else the first
// line of `file`. FailedPrecondition naming the variable or file (never the
// value) when neither gives one; `what` names the secret in the message.
Result<std::string> ReadSecret(const EnvLookup& env_lookup, const std::string& env, const std::string& file,
                               std::string_view what);

// The wait before attempt `attempts` + 1, after `attempts` failures.
std::chrono::seconds Backoff(const DeliveryOptions& options, int64_t attempts);

class Deliverer {
 public:
  Deliverer(store::Store& store, Transport& transport, DeliveryOptions options = {},
            EnvLookup env = ProcessEnv())
      : store_(store), transport_(transport), options_(options), env_(std::move(env)) {}

  // Sends every pending row due at `now` (next_attempt_at <= now), oldest
  // first, and records the outcome of each in the store. A row about an
  // anomaly group that a silence active at `now` matches (alerts/silence.h)
  // is not sent but recorded with status "silenced" and the silence in
  // last_error; no-data and failing messages are never silenced. Delivery failures
  // are recorded, not returned; the Status is an error only when the store
  // fails. `stats`, when given, receives the counts.
  Status DeliverDue(Instant now, DeliveryStats* stats = nullptr);

  // The message of one outbox row as the formatters see it (read from the
  // store). NotFound when the detector, group or alert is gone.
  Result<Message> BuildMessage(const store::OutboxRecord& row);

  // Sends a test message (kind "test": no group, links to the detector's
  // page) through alert `alert` of `detector` now, once, without the outbox,
  // so one can check a destination works. OK when the receiver accepted it;
  // otherwise the delivery error (never the URL or a key). NotFound when the
  // detector has no such alert.
  Status SendTest(const config::Detector& detector, const std::string& alert, Instant now);

 private:
  Result<config::Detector> DetectorConfig(const std::string& name);
  // The first of `silences` that matches `group`, or null.
  Result<const store::SilenceRecord*> MatchingSilence(const std::vector<store::SilenceRecord>& silences,
                                                      const store::GroupRecord& group);
  // Sends one message; the outcome is a Status whose code says what to do:
  // OK delivered, InvalidArgument permanent failure, else retry.
  Status Send(const Message& m, Instant now);

  store::Store& store_;
  Transport& transport_;
  DeliveryOptions options_;
  EnvLookup env_;
  std::map<std::string, config::Detector> detectors_;  // cache for one pass
};

// Puts a dead-lettered message back in the queue: pending, due at `now`,
// attempts reset, so the next delivery pass sends it again (with the same
// idempotency key). NotFound for no such message, FailedPrecondition for
// one that is not dead.
Result<store::OutboxRecord> Resend(store::Store& store, int64_t outbox_id, Instant now);

}  // namespace osprey::alerts
