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
    // Shards split a detector between workers: one process runs it whole.
    if (!options_.worker.empty() && store_.SupportsShards() && e.loaded.detector.shards > 1) {
      e.slots.resize(static_cast<size_t>(e.loaded.detector.shards));
      for (size_t i = 0; i < e.slots.size(); ++i) e.slots[i].shard = static_cast<int64_t>(i);
    }
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
  auto consider = [&](const std::optional<Instant>& t) {
    if (t && (!best || *t < *best)) best = t;
  };
  for (const auto& [name, e] : entries_) {
    consider(e.retry_at ? e.retry_at : e.next_due);
    for (size_t i = 1; i < e.slots.size(); ++i) {
      if (e.slots[i].held) consider(e.slots[i].retry_at ? e.slots[i].retry_at : e.slots[i].next_due);
    }
  }
  return best;
}

Status Scheduler::Tick(Instant now) {
  Status first;
  auto keep = [&](const Status& s) {
    if (!s.ok() && first.ok()) first = s;
  };
  // Shards move a chunk at a time, each when no other shard is behind it:
  // while a pass moves a sharded detector on, another pass follows, so a
  // tick does all the due work it can (and `serve --once` finishes).
  for (bool all = true; all || shards_progressed_; all = false) {
    shards_progressed_ = false;
    for (auto& [name, e] : entries_) {
      if (!all && e.slots.empty()) continue;
      // Before each detector, so a worker that started alone gives detectors
      // back as soon as others join, not after running them all.
      keep(BalanceLeases());
      if (options_.worker.empty() || e.held) keep(RunDetector(e, now));
      for (size_t i = 1; i < e.slots.size(); ++i) {
        Entry::Slot& slot = e.slots[i];
        if (!slot.held || (slot.retry_at && now < *slot.retry_at)) continue;
        Status s = RunShard(e, slot, now);
        if (s.ok()) {
          slot.retries = 0;
          slot.retry_at.reset();
          continue;
        }
        // What the runner scored past its last commit is redone from the
        // store; retried like a failing detector.
        UnloadSlot(slot);
        slot.retries += 1;
        slot.retry_at =
            now + (Retryable(s) ? schedule::RetryBackoff(slot.retries) : schedule::kPersistentFailureRetry);
        Log(LogLevel::kWarn, fmt::format("detector '{}' shard {}: {}; retry at {}", name, slot.shard,
                                         RedactSecrets(s.message()), FormatIso(*slot.retry_at)));
      }
    }
  }
  if (entries_.empty()) first = BalanceLeases();
  Deliver(now);
  return first;
}

void Scheduler::UnloadSlot(Entry::Slot& slot) {
  slot.runner.reset();
  slot.source.reset();
  slot.next_due.reset();
  slot.retry_at.reset();
}

void Scheduler::Unload(Entry& e) {
  e.runner.reset();
  e.source.reset();
  if (!e.slots.empty()) UnloadSlot(e.slots[0]);
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

std::vector<Scheduler::Lease> Scheduler::Leases() {
  std::vector<Lease> out;
  for (auto& [name, e] : entries_) {
    out.push_back({&e, nullptr});
    for (size_t i = 1; i < e.slots.size(); ++i) out.push_back({&e, &e.slots[i]});
  }
  return out;
}

int64_t Scheduler::LeaseKey(const Lease& l) {
  return l.slot ? store::ShardLeaseKey(l.entry->status.detector_id, l.slot->shard)
                : l.entry->status.detector_id;
}

Status Scheduler::BalanceLeases() {
  if (options_.worker.empty()) return Status::Ok();
  const std::string& me = options_.worker;
  const int64_t lease = options_.lease_seconds;
  auto held = [](const Lease& l) -> bool& { return l.slot ? l.slot->held : l.entry->held; };
  auto what = [](const Lease& l) {
    return l.slot ? fmt::format("detector '{}' shard {}", l.entry->loaded.detector.name, l.slot->shard)
                  : fmt::format("detector '{}'", l.entry->loaded.detector.name);
  };
  auto unload = [](const Lease& l) {
    if (l.slot) {
      UnloadSlot(*l.slot);
    } else {
      Unload(*l.entry);
    }
  };
  auto lost = [&](const Lease& l, const std::string& why) {
    if (held(l)) Log(LogLevel::kInfo, fmt::format("worker '{}': {} {}", me, what(l), why));
    held(l) = false;
    unload(l);
  };
  OSPREY_ASSIGN_OR_RETURN(const int64_t workers, store_.CountWorkers(me, lease));
  const std::vector<Lease> leases = Leases();
  const int64_t n = static_cast<int64_t>(leases.size());
  const int64_t share = (n + workers - 1) / workers;
  // Keep (renew) what is held, up to the share; give back the rest.
  int64_t count = 0;
  for (const Lease& l : leases) {
    if (!held(l)) continue;
    if (count >= share) {
      OSPREY_RETURN_IF_ERROR(store_.ReleaseLease(LeaseKey(l)));
      lost(l, fmt::format("given back ({} workers share {} leases)", workers, n));
      continue;
    }
    auto still = store_.AcquireLease(LeaseKey(l), me, lease);
    if (!still.ok() || *still == store::LeaseState::kNotHeld) {
      lost(l, "lost its lease");
      if (!still.ok()) return still.status();
      continue;
    }
    if (*still == store::LeaseState::kTaken) unload(l);  // lost and taken again: reload
    ++count;
  }
  // Take free ones up to the share, starting at a place that depends on the
  // worker's name so workers starting together try different leases.
  if (count < share && n > 0) {
    const size_t start = std::hash<std::string>{}(me) % static_cast<size_t>(n);
    std::vector<Lease> order = leases;
    std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(start), order.end());
    for (const Lease& l : order) {
      if (count >= share) break;
      if (held(l)) continue;
      OSPREY_ASSIGN_OR_RETURN(const store::LeaseState got, store_.AcquireLease(LeaseKey(l), me, lease));
      if (got == store::LeaseState::kNotHeld) continue;
      unload(l);  // another worker may have moved it on: reload from the store
      held(l) = true;
      ++count;
      Log(LogLevel::kInfo, fmt::format("worker '{}': runs {}", me, what(l)));
    }
  }
  if (deliverer_) {
    OSPREY_ASSIGN_OR_RETURN(const store::LeaseState d, store_.AcquireLease(store::kDeliveryLease, me, lease));
    delivery_held_ = d != store::LeaseState::kNotHeld;
  }
  return Status::Ok();
}

bool Scheduler::RenewSlotLease(Entry& e, Entry::Slot& slot) {
  auto held = store_.AcquireLease(store::ShardLeaseKey(e.status.detector_id, slot.shard), options_.worker,
                                  options_.lease_seconds);
  if (held.ok() && *held == store::LeaseState::kHeld) return true;
  Log(LogLevel::kWarn,
      fmt::format("worker '{}': lease of detector '{}' shard {} lost during a run{}", options_.worker,
                  e.loaded.detector.name, slot.shard, held.ok() ? "" : ": " + held.status().message()));
  if (held.ok() && *held == store::LeaseState::kTaken) {
    (void)store_.ReleaseLease(store::ShardLeaseKey(e.status.detector_id, slot.shard));
  }
  slot.held = false;
  return false;
}

Result<Instant> Scheduler::ShardStart(Entry& e) {
  const config::Detector& d = e.loaded.detector;
  const IntervalGrid& grid = e.plan->grid();
  const int64_t n = static_cast<int64_t>(e.slots.size());
  OSPREY_ASSIGN_OR_RETURN(const auto all, store_.ShardWatermarks(e.status.detector_id));
  std::map<int64_t, int64_t> current;
  if (n > 1) {
    OSPREY_ASSIGN_OR_RETURN(current, store_.ShardWatermarks(e.status.detector_id, n));
  }
  OSPREY_ASSIGN_OR_RETURN(std::optional<int64_t> wm, store_.GetWatermark(e.status.detector_id));
  Instant base = FromUnixSeconds(wm.value_or(0));
  if (!wm && d.history_start) {
    base = grid.Floor(*d.history_start);
    if (base < *d.history_start) base = grid.Next(base);
  }
  if (all.size() == current.size()) return base;  // no shard of another layout
  // Written with another number of shards: forgotten if every shard stopped
  // where the detector's watermark is.
  for (const auto& [shard, next] : all) {
    if (next == ToUnixSeconds(base)) continue;
    return FailedPrecondition(fmt::format(
        "detector '{}': its number of shards changed while shard {} had scored up to {} and only the "
        "intervals before {} were grouped; set shards back until the detector's watermark reaches {}",
        d.name, shard, FormatIso(FromUnixSeconds(next)), FormatIso(base), FormatIso(FromUnixSeconds(next))));
  }
  OSPREY_RETURN_IF_ERROR(store_.ClearShards(e.status.detector_id));
  Log(LogLevel::kInfo, fmt::format("detector '{}': now in {} shard(s) from {}", d.name,
                                   std::max<int64_t>(n, 1), FormatIso(base)));
  return base;
}

Status Scheduler::RunShard(Entry& e, Entry::Slot& slot, Instant now) {
  const config::Detector& d = e.loaded.detector;
  const schedule::Plan& plan = *e.plan;
  const IntervalGrid& grid = plan.grid();
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord rec, store_.GetDetector(d.name));
  if (!rec.active) return Status::Ok();  // paused
  if (!slot.source) {
    OSPREY_ASSIGN_OR_RETURN(slot.source, sources_(d));
  }
  if (!slot.runner) {
    OSPREY_ASSIGN_OR_RETURN(
        slot.runner, DetectorRunner::Create(d, e.loaded.text, store_, *slot.source,
                                            ShardRole{static_cast<int64_t>(e.slots.size()), slot.shard}));
  }
  OSPREY_ASSIGN_OR_RETURN(const Instant first, ShardStart(e));
  OSPREY_ASSIGN_OR_RETURN(std::optional<Instant> wm, slot.runner->Watermark());
  Instant start = wm ? *wm : first;
  const Instant due_end = plan.DueEnd(start, now);
  slot.next_due = plan.DueAt(start);
  bool ran = false;
  while (start < due_end) {
    // A chunk reads the last values of other shards' series from the store
    // (missing values, roll-ups): only when no shard is behind this one.
    OSPREY_ASSIGN_OR_RETURN(
        auto marks, store_.ShardWatermarks(e.status.detector_id, static_cast<int64_t>(e.slots.size())));
    bool behind = false;
    for (const Entry::Slot& other : e.slots) {
      auto m = marks.find(other.shard);
      if (other.shard != slot.shard && (m == marks.end() ? first : FromUnixSeconds(m->second)) < start) {
        behind = true;
      }
    }
    if (behind) {
      // Look again at once after progress (the others likely moved too),
      // else in a second.
      slot.next_due = ran ? now : now + std::chrono::seconds(1);
      return Status::Ok();
    }
    Instant end = start;
    for (int64_t i = 0; i < d.backfill_chunk && end < due_end; ++i) end = grid.Next(end);
    RunOptions o;
    o.chunk_intervals = d.backfill_chunk;
    RunStats stats;
    OSPREY_RETURN_IF_ERROR(slot.runner->Run(start, end, o, &stats));
    totals_.intervals += stats.intervals;
    totals_.points += stats.points;
    totals_.rows_read += stats.rows_read;
    start = end;
    ran = true;
    shards_progressed_ = true;
    slot.next_due = plan.DueAt(start);
    if (slot.shard != 0 && !RenewSlotLease(e, slot)) {
      UnloadSlot(slot);
      return Status::Ok();
    }
    if (slot.shard == 0) {
      RenewLease(e);
      if (!e.held) return Status::Ok();
    }
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
  // Sharded: score shard 0 first; the runner below is the coordinator,
  // which groups only what every shard has scored (scored_until).
  const int64_t shards = static_cast<int64_t>(e.slots.size());
  std::optional<Instant> scored_until;
  if (shards > 1) {
    OSPREY_RETURN_IF_ERROR(RunShard(e, e.slots[0], now));
    if (!e.held) return Status::Ok();  // lost the lease during the run
    OSPREY_ASSIGN_OR_RETURN(scored_until, ShardStart(e));
    OSPREY_ASSIGN_OR_RETURN(auto marks, store_.ShardWatermarks(e.status.detector_id, shards));
    // Grouped up to where the last shard is (a shard without a watermark
    // has not begun).
    if (static_cast<int64_t>(marks.size()) == shards) {
      scored_until = FromUnixSeconds(std::min_element(marks.begin(), marks.end(), [](auto& a, auto& b) {
                                       return a.second < b.second;
                                     })->second);
    }
  } else if (store_.SupportsShards()) {
    // No longer sharded: only where every shard's work was grouped.
    OSPREY_ASSIGN_OR_RETURN(auto marks, store_.ShardWatermarks(e.status.detector_id));
    if (!marks.empty()) OSPREY_RETURN_IF_ERROR(ShardStart(e).status());
  }
  if (!e.runner) {
    OSPREY_ASSIGN_OR_RETURN(e.runner,
                            DetectorRunner::Create(d, e.loaded.text, store_, *e.source,
                                                   shards > 1 ? ShardRole{shards, 0, true} : ShardRole{}));
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
  // The coordinator waits for the shards: it looks again soon.
  const bool waiting = scored_until && *scored_until < due_end;
  if (waiting) due_end = std::max(start, *scored_until);
  const Instant began = start;
  auto next_due = [&](Instant from) {
    if (!waiting) return plan.DueAt(from);
    return from > began ? std::optional<Instant>(now) : std::optional<Instant>(now + std::chrono::seconds(1));
  };
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
    e.next_due = next_due(start);
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
  if (shards > 1 && start > began) shards_progressed_ = true;
  e.next_due = next_due(start);
  return put_status("active");
}

Status Scheduler::Fail(Entry& e, Instant now, const Status& error) {
  const std::string& name = e.loaded.detector.name;
  // The runner's models may be ahead of what was committed: reload them.
  e.runner.reset();
  e.source.reset();
  if (!e.slots.empty()) UnloadSlot(e.slots[0]);
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
