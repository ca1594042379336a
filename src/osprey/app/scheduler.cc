#include "osprey/app/scheduler.h"

#include <fmt/format.h>

#include <algorithm>

#include "osprey/base/log.h"

namespace osprey::app {
namespace {

bool Retryable(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded;
}

Instant StepBack(const IntervalGrid& grid, Instant t, int64_t n) {
  for (int64_t i = 0; i < n; ++i) t = grid.Prev(t);
  return t;
}

int64_t CountIntervals(const IntervalGrid& grid, Instant from, Instant to) {
  int64_t n = 0;
  for (Instant s = from; s < to; s = grid.Next(s)) ++n;
  return n;
}

}  // namespace

Status Scheduler::SetDetectors(std::vector<LoadedDetector> detectors) {
  Status first;
  std::map<std::string, Entry> next;
  for (auto& ld : detectors) {
    const std::string name = ld.detector.name;
    auto old = entries_.find(name);
    if (old != entries_.end() && old->second.loaded.text == ld.text &&
        old->second.loaded.origin == ld.origin) {
      next.emplace(name, std::move(old->second));
      continue;
    }
    auto plan = schedule::Plan::Create(ld.detector);
    if (!plan.ok()) {
      if (first.ok()) first = plan.status().WithContext(fmt::format("detector '{}'", name));
      if (old != entries_.end()) next.emplace(name, std::move(old->second));
      continue;
    }
    auto id = store_.UpsertDetector(name, ld.text);
    Status origin = id.ok() && !ld.origin.empty() ? store_.SetDetectorOrigin(name, ld.origin) : Status::Ok();
    if (!id.ok() || !origin.ok()) {
      if (first.ok()) first = id.ok() ? origin : id.status();
      continue;
    }
    Entry e;
    e.loaded = std::move(ld);
    e.plan = std::make_unique<schedule::Plan>(*std::move(plan));
    e.status.detector_id = *id;
    e.next_due = FromUnixSeconds(0);
    next.emplace(name, std::move(e));
  }
  entries_ = std::move(next);
  return first;
}

std::map<std::string, std::string> Scheduler::Scheduled() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, e] : entries_) out[name] = e.loaded.text;
  return out;
}

std::optional<Instant> Scheduler::NextWakeup() const {
  std::optional<Instant> best;
  for (const auto& [name, e] : entries_) {
    std::optional<Instant> t = e.retry_at ? e.retry_at : e.next_due;
    if (t && (!best || *t < *best)) best = t;
  }
  return best;
}

Status Scheduler::Tick(Instant now) {
  Status first;
  for (auto& [name, e] : entries_) {
    // Before each detector, so a worker that started alone gives detectors
    // back as soon as others join, not after running them all.
    Status b = BalanceLeases();
    if (!b.ok() && first.ok()) first = b;
    if (!options_.worker.empty() && !e.held) continue;
    Status s = RunDetector(e, now);
    if (!s.ok() && first.ok()) first = s;
  }
  if (entries_.empty()) first = BalanceLeases();
  Deliver(now);
  return first;
}

void Scheduler::Unload(Entry& e) {
  e.runner.reset();
  e.source.reset();
  e.status_loaded = false;
  e.retry_at.reset();
  e.next_due = FromUnixSeconds(0);
}

void Scheduler::RenewLease(Entry& e) {
  if (options_.worker.empty() || !e.held) return;
  // Keeps the lease from expiring during a long run. Losing it here means
  // the session ended: the next commit fails and the run stops there.
  auto held = store_.AcquireLease(e.status.detector_id, options_.worker, options_.lease_seconds);
  if (!held.ok() || *held != store::LeaseState::kHeld) {
    Log(LogLevel::kWarn,
        fmt::format("worker '{}': lease of detector '{}' lost during a run{}", options_.worker,
                    e.loaded.detector.name, held.ok() ? "" : ": " + held.status().message()));
    // Taken again on a new session: give it back; the next round takes it
    // afresh and reloads the detector from the store.
    if (held.ok() && *held == store::LeaseState::kTaken) (void)store_.ReleaseLease(e.status.detector_id);
    e.held = false;
  }
}

void Scheduler::Deliver(Instant now) {
  if (!deliverer_ || (!options_.worker.empty() && !delivery_held_)) return;
  Status d = deliverer_->DeliverDue(now);
  if (!d.ok()) Log(LogLevel::kWarn, fmt::format("alert delivery: {}", d.message()));
}

Status Scheduler::BalanceLeases() {
  if (options_.worker.empty()) return Status::Ok();
  const std::string& me = options_.worker;
  const int64_t lease = options_.lease_seconds;
  auto lost = [&](Entry& e, const std::string& why) {
    if (e.held)
      Log(LogLevel::kInfo, fmt::format("worker '{}': detector '{}' {}", me, e.loaded.detector.name, why));
    e.held = false;
    Unload(e);
  };
  OSPREY_ASSIGN_OR_RETURN(const int64_t workers, store_.CountWorkers(me, lease));
  const int64_t n = static_cast<int64_t>(entries_.size());
  const int64_t share = (n + workers - 1) / workers;
  // Keep (renew) what is held, up to the share; give back the rest.
  int64_t held = 0;
  for (auto& [name, e] : entries_) {
    if (!e.held) continue;
    if (held >= share) {
      OSPREY_RETURN_IF_ERROR(store_.ReleaseLease(e.status.detector_id));
      lost(e, fmt::format("given back ({} workers share {} detectors)", workers, n));
      continue;
    }
    auto still = store_.AcquireLease(e.status.detector_id, me, lease);
    if (!still.ok() || *still == store::LeaseState::kNotHeld) {
      lost(e, "lost its lease");
      if (!still.ok()) return still.status();
      continue;
    }
    if (*still == store::LeaseState::kTaken) Unload(e);  // lost and taken again: reload
    ++held;
  }
  // Take free ones up to the share, starting at a place that depends on the
  // worker's name so workers starting together try different detectors.
  if (held < share && n > 0) {
    const size_t start = std::hash<std::string>{}(me) % static_cast<size_t>(n);
    std::vector<Entry*> order;
    for (auto& [name, e] : entries_) order.push_back(&e);
    std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(start), order.end());
    for (Entry* e : order) {
      if (held >= share) break;
      if (e->held) continue;
      OSPREY_ASSIGN_OR_RETURN(const store::LeaseState got,
                              store_.AcquireLease(e->status.detector_id, me, lease));
      if (got == store::LeaseState::kNotHeld) continue;
      Unload(*e);  // another worker may have moved it on: reload from the store
      e->held = true;
      ++held;
      Log(LogLevel::kInfo, fmt::format("worker '{}': runs detector '{}'", me, e->loaded.detector.name));
    }
  }
  if (deliverer_) {
    OSPREY_ASSIGN_OR_RETURN(const store::LeaseState d, store_.AcquireLease(store::kDeliveryLease, me, lease));
    delivery_held_ = d != store::LeaseState::kNotHeld;
  }
  return Status::Ok();
}

Status Scheduler::RunDetector(Entry& e, Instant now) {
  const std::string& name = e.loaded.detector.name;
  if (!e.status_loaded) {
    OSPREY_ASSIGN_OR_RETURN(auto rows, store_.ListDetectorStatus());
    for (const auto& r : rows) {
      if (r.detector_id == e.status.detector_id) e.status = r;
    }
    e.status_loaded = true;
  }
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord rec, store_.GetDetector(name));
  if (!rec.active) {
    if (e.status.state != "paused") {
      e.status.state = "paused";
      e.status.updated_at = ToUnixSeconds(now);
      OSPREY_RETURN_IF_ERROR(store_.PutDetectorStatus(e.status));
    }
    return Status::Ok();
  }
  if (e.retry_at && now < *e.retry_at) return Status::Ok();
  const bool was_failing = e.status.retries > 0;
  Status s = Process(e, now);
  if (s.ok()) return was_failing ? QueueFailing(e, now, /*resolved=*/true) : Status::Ok();
  return Fail(e, now, s);
}

Status Scheduler::QueueFailing(Entry& e, Instant now, bool resolved) {
  const config::Detector& d = e.loaded.detector;
  for (const config::Alert& a : d.alerts) {
    if (!a.on_failing || (resolved && !a.send_resolved)) continue;
    store::OutboxRecord o;
    o.detector_id = e.status.detector_id;
    o.alert = a.name;
    o.kind = resolved ? "failing_resolve" : "failing";
    o.incident_ts = ToUnixSeconds(now);
    o.next_attempt_at = o.created_at = ToUnixSeconds(now);
    if (resolved) {
      // The failure this ends: the alert's latest failing message, unless
      // that one is resolved already.
      std::optional<int64_t> since;
      store::OutboxQuery q;
      q.detector = d.name;
      q.newest_first = true;
      q.limit = 500;
      for (bool found = false; !found; q.offset += q.limit) {
        OSPREY_ASSIGN_OR_RETURN(std::vector<store::OutboxRecord> rows, store_.ListOutbox(q));
        for (const store::OutboxRecord& r : rows) {
          if (r.alert != a.name || !store::IsFailingKind(r.kind)) continue;
          if (r.kind == "failing") since = r.incident_ts;
          found = true;
          break;
        }
        if (static_cast<int64_t>(rows.size()) < q.limit) break;
      }
      if (!since) continue;
      o.incident_ts = *since;
    }
    OSPREY_RETURN_IF_ERROR(store_.QueueDetectorMessage(o).status());
  }
  return Status::Ok();
}

Status Scheduler::Process(Entry& e, Instant now) {
  const config::Detector& d = e.loaded.detector;
  const schedule::Plan& plan = *e.plan;
  const IntervalGrid& grid = plan.grid();
  if (!e.source) {
    OSPREY_ASSIGN_OR_RETURN(e.source, sources_(d));
  }
  if (!e.runner) {
    OSPREY_ASSIGN_OR_RETURN(e.runner, DetectorRunner::Create(d, e.loaded.text, store_, *e.source));
  }
  OSPREY_ASSIGN_OR_RETURN(std::optional<Instant> wm, e.runner->Watermark());
  Instant start;
  if (wm) {
    start = *wm;
  } else if (d.history_start) {
    start = grid.Floor(*d.history_start);
    if (start < *d.history_start) start = grid.Next(start);
  } else {
    // No history to crawl: begin with the last complete interval.
    start = grid.Floor(now);
    for (int i = 0; i < 1000; ++i) {
      Instant end = plan.DueEnd(start, now);
      if (end > start) {
        start = grid.Prev(end);
        break;
      }
      start = grid.Prev(start);
    }
  }
  Instant due_end = plan.DueEnd(start, now);
  if (!e.status.live_from) {
    // Everything due at the first run is history: backfilled without alerts.
    e.status.live_from = ToUnixSeconds(std::max(due_end, start));
  }
  const Instant live_from = FromUnixSeconds(*e.status.live_from);
  const int64_t window = d.restatement_window;
  auto put_status = [&](const std::string& state) {
    e.status.state = state;
    e.status.updated_at = ToUnixSeconds(now);
    e.status.pending_ts = ToUnixSeconds(start);
    e.status.next_run_at.reset();
    if (auto due = plan.DueAt(start)) e.status.next_run_at = ToUnixSeconds(*due);
    return store_.PutDetectorStatus(e.status);
  };
  if (due_end <= start) {
    e.next_due = plan.DueAt(start);
    if (e.status.state != (start < live_from ? "backfilling" : "active") || e.status.updated_at == 0) {
      OSPREY_RETURN_IF_ERROR(put_status(start < live_from ? "backfilling" : "active"));
    }
    return Status::Ok();
  }
  e.status.last_run_at = ToUnixSeconds(now);

  if (start < live_from) {
    OSPREY_RETURN_IF_ERROR(put_status("backfilling"));
    const Instant end = std::min(due_end, live_from);
    const int64_t total = CountIntervals(grid, start, end);
    int64_t done = 0;
    Instant chunk_start = start;
    RunOptions o;
    o.chunk_intervals = d.backfill_chunk;
    o.alerts_enabled = false;
    if (window > 0) o.snapshot_from = o.prune_snapshots_before = StepBack(grid, end, window);
    o.progress = [&](Instant next, const RunStats& st) {
      done += CountIntervals(grid, chunk_start, next);
      chunk_start = next;
      start = next;
      RenewLease(e);
      if (options_.progress) options_.progress(d.name, next, done, total, st);
    };
    RunStats stats;
    Status s = e.runner->Run(start, end, o, &stats);
    totals_.intervals += stats.intervals;
    totals_.points += stats.points;
    totals_.rows_read += stats.rows_read;
    OSPREY_RETURN_IF_ERROR(s);
    start = end;
  }
  if (start < due_end) {
    OSPREY_RETURN_IF_ERROR(put_status("active"));
    Instant from = start;
    if (window > 0 && wm) {
      // Re-read the last `window` intervals from the snapshot before them.
      const Instant window_start = std::max(StepBack(grid, start, window), live_from);
      OSPREY_ASSIGN_OR_RETURN(auto times, store_.ListSnapshotTimes(e.status.detector_id));
      auto t = std::lower_bound(times.begin(), times.end(), ToUnixSeconds(window_start));
      if (t != times.end() && *t < ToUnixSeconds(start)) {
        OSPREY_RETURN_IF_ERROR(e.runner->RestoreSnapshot(FromUnixSeconds(*t)));
        from = FromUnixSeconds(*t);
      }
    }
    RunOptions o;
    // The restated window and at least one new interval go in the first
    // chunk, so the watermark never moves backwards.
    o.chunk_intervals = d.backfill_chunk + window;
    o.alerts_enabled = true;
    if (window > 0) o.snapshot_from = o.prune_snapshots_before = StepBack(grid, due_end, window);
    const int64_t total = CountIntervals(grid, start, due_end);
    int64_t done = 0;
    o.progress = [&](Instant next, const RunStats& st) {
      if (next > start) {
        done += CountIntervals(grid, start, next);
        start = next;
      }
      RenewLease(e);
      Deliver(now);
      if (options_.progress && total > 1) options_.progress(d.name, next, done, total, st);
    };
    RunStats stats;
    Status s = e.runner->Run(from, due_end, o, &stats);
    totals_.intervals += stats.intervals;
    totals_.points += stats.points;
    totals_.rows_read += stats.rows_read;
    OSPREY_RETURN_IF_ERROR(s);
    start = due_end;
  }
  e.status.last_error.clear();
  e.status.retries = 0;
  e.retry_at.reset();
  e.next_due = plan.DueAt(start);
  return put_status("active");
}

Status Scheduler::Fail(Entry& e, Instant now, const Status& error) {
  const std::string& name = e.loaded.detector.name;
  // The runner's models may be ahead of what was committed: reload them.
  e.runner.reset();
  e.source.reset();
  e.status.retries += 1;
  e.status.state = "failing";
  e.status.last_run_at = ToUnixSeconds(now);
  e.status.last_error = RedactSecrets(error.message());
  e.status.updated_at = ToUnixSeconds(now);
  e.status.next_run_at.reset();
  if (auto wm = store_.GetWatermark(e.status.detector_id); wm.ok() && *wm) e.status.pending_ts = **wm;
  // An outage is retried soon and ever less often; another error once an
  // hour (or at once when the configuration changes: SetDetectors).
  const bool outage = Retryable(error);
  e.retry_at = now + (outage ? schedule::RetryBackoff(e.status.retries) : schedule::kPersistentFailureRetry);
  e.status.next_run_at = ToUnixSeconds(*e.retry_at);
  Log(outage ? LogLevel::kWarn : LogLevel::kError,
      fmt::format("detector '{}': {}; retry {} at {}{}", name, e.status.last_error, e.status.retries,
                  FormatIso(*e.retry_at), outage ? "" : " (or when its configuration changes)"));
  OSPREY_RETURN_IF_ERROR(store_.PutDetectorStatus(e.status));
  // The first failure after a success raises the `failing` alerts.
  return e.status.retries == 1 ? QueueFailing(e, now, /*resolved=*/false) : Status::Ok();
}

}  // namespace osprey::app
