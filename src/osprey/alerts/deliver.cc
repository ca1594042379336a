#include "osprey/alerts/deliver.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

#include "osprey/alerts/sign.h"
#include "osprey/alerts/silence.h"
#include "osprey/base/log.h"
#include "osprey/config/loader.h"

namespace osprey::alerts {

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<std::string> ReadSecret(const EnvLookup& env_lookup, const std::string& env, const std::string& file,
                               std::string_view what) {
  if (!env.empty()) {
    std::optional<std::string> v = env_lookup(env);
    if (v && !v->empty()) return *v;
  }
  if (!file.empty()) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return FailedPrecondition(fmt::format("cannot read the {} from the file {}", what, file));
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty())
      return FailedPrecondition(fmt::format("the file {} holding the {} is empty", file, what));
    return line;
  }
  return FailedPrecondition(fmt::format("the environment variable {} holding the {} is not set", env, what));
}

std::chrono::seconds Backoff(const DeliveryOptions& options, int64_t attempts) {
  int64_t wait = options.base_backoff.count();
  for (int64_t i = 1; i < attempts && wait < options.max_backoff.count(); ++i) wait *= 2;
  return std::chrono::seconds(std::min(wait, options.max_backoff.count()));
}

Result<config::Detector> Deliverer::DetectorConfig(const std::string& name) {
  auto it = detectors_.find(name);
  if (it != detectors_.end()) return it->second;
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord rec, store_.GetDetector(name));
  Result<config::Detector> d = config::LoadDetector(rec.config, fmt::format("detector '{}'", name));
  if (!d.ok()) return NotFound(fmt::format("stored configuration: {}", d.status().message()));
  return detectors_.emplace(name, *d).first->second;
}

Result<Message> Deliverer::BuildMessage(const store::OutboxRecord& row) {
  OSPREY_ASSIGN_OR_RETURN(config::Detector d, DetectorConfig(row.detector));
  auto alert = std::find_if(d.alerts.begin(), d.alerts.end(),
                            [&](const config::Alert& a) { return a.name == row.alert; });
  if (alert == d.alerts.end()) {
    return NotFound(fmt::format("detector '{}' has no alert '{}' any more", row.detector, row.alert));
  }
  Message m;
  m.detector = d.name;
  m.detector_description = d.description;
  m.alert = *alert;
  m.row = row;
  if (store::IsFailingKind(row.kind)) {
    // Why it fails: the detector's status now (cleared once it runs again).
    OSPREY_ASSIGN_OR_RETURN(std::vector<store::DetectorStatusRecord> statuses, store_.ListDetectorStatus());
    for (const store::DetectorStatusRecord& s : statuses) {
      if (s.detector_id != row.detector_id) continue;
      m.failing_error = s.last_error;
      m.failing_retries = s.retries;
    }
    return m;
  }
  if (store::IsNoDataKind(row.kind)) {
    // created_at is the end of the interval the message was raised in: the
    // last interval without rows, or the first with rows again.
    OSPREY_ASSIGN_OR_RETURN(IntervalGrid grid, IntervalGrid::Create(d.frequency, d.timezone));
    const Instant raised = FromUnixSeconds(row.created_at);
    m.no_data_until = ToUnixSeconds(row.kind == "no_data" ? raised : grid.Prev(raised));
    m.no_data_intervals = static_cast<int64_t>(
        grid.Starts(FromUnixSeconds(row.incident_ts), FromUnixSeconds(m.no_data_until)).size());
    return m;
  }
  OSPREY_ASSIGN_OR_RETURN(m.group, store_.GetGroup(row.group_id));
  OSPREY_ASSIGN_OR_RETURN(std::vector<store::AnomalyRecord> anomalies, store_.ListAnomalies(row.group_id));
  const int64_t step = d.frequency.NominalSeconds();
  const int64_t to = std::max(row.created_at, m.group.end_ts);
  const int64_t from = to - kRecentIntervals * step;
  for (size_t i = 0; i < anomalies.size() && i < kMaxSeries; ++i) {
    SeriesView v;
    v.anomaly = anomalies[i];
    OSPREY_ASSIGN_OR_RETURN(v.recent, store_.ListPoints(anomalies[i].series_id, from, to));
    m.series.push_back(std::move(v));
  }
  return m;
}

Status Deliverer::SendTest(const config::Detector& d, const std::string& alert, Instant now) {
  auto a =
      std::find_if(d.alerts.begin(), d.alerts.end(), [&](const config::Alert& x) { return x.name == alert; });
  if (a == d.alerts.end()) {
    return NotFound(fmt::format("detector '{}' has no alert '{}'", d.name, alert));
  }
  const int64_t t = ToUnixSeconds(now);
  Message m;
  m.detector = d.name;
  m.detector_description = d.description;
  m.alert = *a;
  m.row.kind = "test";
  m.row.detector = d.name;
  m.row.alert = alert;
  m.row.idempotency_key = fmt::format("test.{}.{}.{}", d.name, alert, t);
  m.row.incident_ts = t;
  m.row.group_ts = t;
  m.row.created_at = t;
  m.group.detector = d.name;
  m.group.ts = t;
  m.group.end_ts = t;
  return Send(m, now);
}

Status Deliverer::Send(const Message& m, Instant now) {
  const config::Alert& a = m.alert;
  OSPREY_ASSIGN_OR_RETURN(
      std::string target,
      ReadSecret(env_, a.target_env, a.target_file,
                 a.destination == config::AlertDestination::kCommand ? "command" : "URL"));
  std::string routing_key;
  if (a.destination == config::AlertDestination::kPagerDuty) {
    if (a.routing_key_env.empty() && a.routing_key_file.empty()) {
      return InvalidArgument("a pagerduty alert needs routing_key_env or routing_key_file");
    }
    OSPREY_ASSIGN_OR_RETURN(routing_key,
                            ReadSecret(env_, a.routing_key_env, a.routing_key_file, "routing key"));
  }
  const std::string body = FormatPayload(m, routing_key);
  const int64_t timeout_ms = a.timeout_seconds * 1000;
  if (a.destination == config::AlertDestination::kCommand) {
    OSPREY_ASSIGN_OR_RETURN(int code, transport_.RunCommand({target, body, timeout_ms}));
    if (code != 0) return Unavailable(fmt::format("the command exited with status {}", code));
    return Status::Ok();
  }
  HttpRequest req;
  req.url = std::move(target);
  req.body = body;
  req.timeout_ms = timeout_ms;
  req.connect_timeout_ms = std::min<int64_t>(timeout_ms, 5000);
  req.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "osprey"},
                 {"Idempotency-Key", m.row.idempotency_key}};
  if (!a.signing_key_env.empty() || !a.signing_key_file.empty()) {
    OSPREY_ASSIGN_OR_RETURN(std::string secret,
                            ReadSecret(env_, a.signing_key_env, a.signing_key_file, "signing key"));
    OSPREY_ASSIGN_OR_RETURN(std::string key, DecodeSigningKey(secret));
    const int64_t ts = ToUnixSeconds(now);
    req.headers.push_back({"webhook-id", m.row.idempotency_key});
    req.headers.push_back({"webhook-timestamp", std::to_string(ts)});
    req.headers.push_back({"webhook-signature", SignStandardWebhook(key, m.row.idempotency_key, ts, body)});
  }
  OSPREY_ASSIGN_OR_RETURN(HttpResponse resp, transport_.Post(req));
  if (resp.status >= 200 && resp.status < 300) return Status::Ok();
  if (resp.status == 408 || resp.status == 429 || resp.status >= 500) {
    return Unavailable(fmt::format("HTTP {}", resp.status));
  }
  return InvalidArgument(fmt::format("HTTP {} (a client error; not retried)", resp.status));
}

Result<const store::SilenceRecord*> Deliverer::MatchingSilence(
    const std::vector<store::SilenceRecord>& silences, const store::GroupRecord& group) {
  std::optional<std::vector<store::AnomalyRecord>> anomalies;  // read when a silence needs them
  for (const store::SilenceRecord& s : silences) {
    if (!s.detector.empty() && s.detector != group.detector) continue;
    if (!s.measure.empty() && s.measure != group.measure) continue;
    if (!anomalies) {
      OSPREY_ASSIGN_OR_RETURN(anomalies, store_.ListAnomalies(group.id));
    }
    if (SilenceMatches(s, group, *anomalies)) return &s;
  }
  return nullptr;
}

Status Deliverer::DeliverDue(Instant now, DeliveryStats* stats) {
  DeliveryStats local;
  DeliveryStats& st = stats ? *stats : local;
  detectors_.clear();
  store::OutboxQuery q;
  q.status = "pending";
  q.limit = options_.batch;
  OSPREY_ASSIGN_OR_RETURN(std::vector<store::OutboxRecord> rows, store_.ListOutbox(q));
  const int64_t t = ToUnixSeconds(now);
  std::vector<store::SilenceRecord> silences;  // active at t
  if (!rows.empty()) {
    OSPREY_ASSIGN_OR_RETURN(std::vector<store::SilenceRecord> all, store_.ListSilences());
    for (store::SilenceRecord& s : all) {
      if (SilenceActive(s, t)) silences.push_back(std::move(s));
    }
  }
  std::set<std::pair<int64_t, std::string>> blocked;  // (detector, alert) waiting for a retry
  for (store::OutboxRecord& row : rows) {
    const auto key = std::make_pair(row.detector_id, row.alert);
    if (blocked.count(key) || row.next_attempt_at > t) {
      blocked.insert(key);
      ++st.waiting;
      continue;
    }
    Result<Message> m = BuildMessage(row);
    if (m.ok() && !silences.empty() && !store::IsNoDataKind(row.kind) && !store::IsFailingKind(row.kind)) {
      OSPREY_ASSIGN_OR_RETURN(const store::SilenceRecord* silence, MatchingSilence(silences, m->group));
      if (silence != nullptr) {
        row.status = "silenced";
        row.last_error = fmt::format("silenced by silence {} until {}", silence->id,
                                     FormatIso(FromUnixSeconds(silence->ends_at)));
        ++st.silenced;
        Log(LogLevel::kInfo, fmt::format("alert '{}' of detector '{}': message {} {}", row.alert,
                                         row.detector, row.idempotency_key, row.last_error));
        Status saved = store_.UpdateOutbox(row);
        if (!saved.ok() && saved.code() != StatusCode::kNotFound) return saved;
        continue;
      }
    }
    int64_t max_attempts = m.ok() ? m->alert.max_attempts : 1;
    Status outcome = m.ok() ? Send(*m, now) : m.status();
    row.attempts += 1;
    if (outcome.ok()) {
      row.status = "delivered";
      row.delivered_at = t;
      row.last_error.clear();
      ++st.delivered;
    } else {
      const bool permanent =
          outcome.code() == StatusCode::kInvalidArgument || outcome.code() == StatusCode::kNotFound;
      row.last_error = RedactSecrets(outcome.message());
      if (permanent || row.attempts >= max_attempts) {
        row.status = "dead";
        ++st.dead;
        Log(LogLevel::kWarn,
            fmt::format("alert '{}' of detector '{}': message {} dead-lettered after "
                        "{} attempt(s): {}",
                        row.alert, row.detector, row.idempotency_key, row.attempts, row.last_error));
      } else {
        row.next_attempt_at = t + Backoff(options_, row.attempts).count();
        blocked.insert(key);
        ++st.retried;
        Log(LogLevel::kInfo, fmt::format("alert '{}' of detector '{}': message {} attempt {} failed "
                                         "({}); retrying at {}",
                                         row.alert, row.detector, row.idempotency_key, row.attempts,
                                         row.last_error, FormatIso(FromUnixSeconds(row.next_attempt_at))));
      }
    }
    Status saved = store_.UpdateOutbox(row);
    if (!saved.ok() && saved.code() != StatusCode::kNotFound) return saved;
  }
  return Status::Ok();
}

Result<store::OutboxRecord> Resend(store::Store& store, int64_t outbox_id, Instant now) {
  store::OutboxQuery q;
  q.status = "dead";
  q.limit = 500;
  for (q.offset = 0;; q.offset += q.limit) {
    OSPREY_ASSIGN_OR_RETURN(auto rows, store.ListOutbox(q));
    for (store::OutboxRecord& r : rows) {
      if (r.id != outbox_id) continue;
      r.status = "pending";
      r.attempts = 0;
      r.next_attempt_at = ToUnixSeconds(now);
      r.last_error = "";
      r.delivered_at.reset();
      OSPREY_RETURN_IF_ERROR(store.UpdateOutbox(r));
      return r;
    }
    if (static_cast<int64_t>(rows.size()) < q.limit) break;
  }
  // Not dead-lettered: say whether it exists at all.
  store::OutboxQuery all;
  all.limit = 500;
  for (all.offset = 0;; all.offset += all.limit) {
    OSPREY_ASSIGN_OR_RETURN(auto rows, store.ListOutbox(all));
    for (const store::OutboxRecord& r : rows) {
      if (r.id == outbox_id) {
        return FailedPrecondition(fmt::format(
            "alert message {} is {}, not dead-lettered; only dead messages are resent", outbox_id, r.status));
      }
    }
    if (static_cast<int64_t>(rows.size()) < all.limit) break;
  }
  return NotFound(fmt::format("no alert message {}", outbox_id));
}

}  // namespace osprey::alerts
