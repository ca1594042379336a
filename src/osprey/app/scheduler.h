// The scheduler behind `osprey serve`: runs every detector's due intervals
// through the pipeline, in order, from its watermark up to now. Tick(now)
// does all the work that is due at `now` and returns; the daemon's loop
// (app/daemon.cc) sleeps between ticks, tests call Tick with a FakeClock's
// time, so months of schedule run in seconds.
//
//  - Backfill: a detector's first run starts at history_start (or, without
//    one, at the last complete interval) and crawls up to now in chunks of
//    backfill_chunk intervals with alerts off. The watermark makes a
//    restarted backfill resume where it stopped.
//  - Live: intervals due after the first run (live_from, kept in the status
//    row) run with alerts on, including those caught up after downtime.
//  - Failures: a chunk that fails commits nothing; Unavailable and
//    DeadlineExceeded are retried with RetryBackoff, other errors after
//    kPersistentFailureRetry or at once when the configuration changes.
//    Both show in the status row (state failing, next_run_at the retry).
//  - Restatement: with restatement_window N, each run that has new intervals
//    also re-reads the last N from the model snapshot taken before them.
//  - Workers: with SchedulerOptions::worker set, each detector runs only in
//    the worker holding its lease (store::Store::AcquireLease); a detector
//    whose lease is newly taken is reloaded from the store (watermark,
//    models, status), so work another worker committed is not redone.
//  - Shards: a detector with `shards: N` (N > 1) run by workers on a store
//    that SupportsShards has a lease per shard; the holder of shard s scores
//    that shard's series, and the holder of shard 0 also coordinates: it
//    groups the intervals every shard has scored (docs/scheduling.md,
//    "Shards"). A shard scores a chunk only when no shard is behind it.
//
// Not thread-safe: one thread calls SetDetectors and Tick.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "osprey/alerts/deliver.h"
#include "osprey/app/pipeline.h"
#include "osprey/base/status.h"
#include "osprey/base/time.h"
#include "osprey/config/detector.h"
#include "osprey/connectors/source.h"
#include "osprey/schedule/schedule.h"
#include "osprey/store/store.h"

namespace osprey::app {

using SourceFactory = std::function<Result<std::unique_ptr<connectors::Source>>(const config::Detector&)>;

struct LoadedDetector {
  config::Detector detector;
  std::string text;  // the file's text, stored with the detector
  // Recorded as the stored detector's origin when not empty: "file:<path>"
  // for a file of `osprey serve --config`, "api" for one created through the
  // REST API (store::DetectorRecord::origin).
  std::string origin;
};

struct SchedulerOptions {
  // Called with one progress line per committed chunk of a backfill or
  // catch-up (detector, next interval, intervals done, intervals to do).
  std::function<void(const std::string& detector, Instant next, int64_t done, int64_t total,
                     const RunStats& stats)>
      progress;
  // Several workers on one PostgreSQL store (docs/scheduling.md, "Several
  // workers"): the name this worker takes leases under, and how long a
  // lease lasts without renewal (seconds of the database's clock). A worker
  // runs only the detectors it holds the lease of, at most its share
  // (detectors / live workers, rounded up), and delivers alerts only while
  // it holds the delivery lease. Empty: one process, no leases.
  std::string worker;
  int64_t lease_seconds = 30;
};

class Scheduler {
 public:
  // `deliverer` may be null (no alert delivery from the scheduler).
  Scheduler(store::Store& store, SourceFactory sources, alerts::Deliverer* deliverer,
            SchedulerOptions options = {})
      : store_(store), sources_(std::move(sources)), deliverer_(deliverer), options_(std::move(options)) {}

  // Replaces the set of scheduled detectors. A detector whose text did not
  // change keeps its runner; a changed one is reopened; a removed one stops.
  // Registers each in the store. InvalidArgument for a detector whose
  // schedule cannot be planned (the others are still applied).
  Status SetDetectors(std::vector<LoadedDetector> detectors);

  // Processes everything due at `now`, every detector in turn; one
  // detector's failure does not stop the others (it is recorded in its
  // status). Returns the first store error, if any.
  Status Tick(Instant now);

  // The earliest instant at which Tick has work (an interval due or a retry);
  // nullopt when none is known.
  std::optional<Instant> NextWakeup() const;

  // The scheduled detectors: name -> the text that runs.
  std::map<std::string, std::string> Scheduled() const;

  // Totals since construction, for throughput figures.
  const RunStats& totals() const { return totals_; }

 private:
  struct Entry {
    LoadedDetector loaded;
    std::unique_ptr<schedule::Plan> plan;
    std::unique_ptr<connectors::Source> source;
    std::unique_ptr<DetectorRunner> runner;
    store::DetectorStatusRecord status;
    bool status_loaded = false;
    std::optional<Instant> retry_at;  // failing: when it is retried
    std::optional<Instant> next_due;
    bool held = false;  // this worker holds the detector's lease
    // Sharded (see above): `runner` is the coordinator, slots[s] scores
    // shard s; slot 0 goes with the detector's own lease (`held`), the
    // others have leases of their own. Empty: the detector runs whole.
    struct Slot {
      int64_t shard = 0;
      bool held = false;  // slots 1..N-1
      std::unique_ptr<connectors::Source> source;
      std::unique_ptr<DetectorRunner> runner;
      std::optional<Instant> next_due;
      std::optional<Instant> retry_at;
      int64_t retries = 0;
    };
    std::vector<Slot> slots;
  };
  // One lease this worker may hold: a detector's (slot null) or one of its
  // shards' (slots 1..N-1).
  struct Lease {
    Entry* entry;
    Entry::Slot* slot;
  };

  // Takes, keeps or gives back leases so this worker runs its share.
  Status BalanceLeases();
  // Forgets what was loaded for a detector this worker does not (or no
  // longer) hold, so it is reloaded from the store when taken.
  static void Unload(Entry& e);
  static void UnloadSlot(Entry::Slot& slot);
  std::vector<Lease> Leases();
  static int64_t LeaseKey(const Lease& l);
  // Scores shard `slot` of a sharded detector from its watermark up to what
  // is due, a chunk at a time while no shard is behind it. Returns when the
  // shard is next due (or should look again whether the others caught up).
  Status RunShard(Entry& e, Entry::Slot& slot, Instant now);
  // Where a shard without a watermark begins: the detector's watermark, or
  // history_start before the first grouped interval. Shard watermarks
  // written with another number of shards (`shards` changed) are forgotten
  // if every one is the detector's watermark, else FailedPrecondition: those
  // shards' models are ahead of what was grouped, and moving their series
  // to other shards would score those intervals twice. Also for a detector
  // no longer sharded (slots empty).
  Result<Instant> ShardStart(Entry& e);
  // Renews a held shard lease between chunks; false when it was lost.
  bool RenewSlotLease(Entry& e, Entry::Slot& slot);
  // Renews a held lease between the chunks of a run.
  void RenewLease(Entry& e);
  // Delivers the alert outbox when this worker may.
  void Deliver(Instant now);

  Status RunDetector(Entry& e, Instant now);
  Status Process(Entry& e, Instant now);
  Status Fail(Entry& e, Instant now, const Status& error);
  // Queues a failing (or, `resolved`, failing_resolve) message for each of
  // the detector's alerts with `on: [failing]`.
  Status QueueFailing(Entry& e, Instant now, bool resolved);

  store::Store& store_;
  SourceFactory sources_;
  alerts::Deliverer* deliverer_;
  SchedulerOptions options_;
  std::map<std::string, Entry> entries_;
  RunStats totals_;
  bool delivery_held_ = false;
  bool shards_progressed_ = false;  // a shard or coordinator committed in this pass
};

}  // namespace osprey::app
