// Store: osprey's state — detectors, series, points, anomalies, anomaly
// groups, model state, watermarks and data-quality figures. Everything one
// chunk of intervals produces is committed in ONE transaction (CommitChunk),
// so a crash leaves either all of it or none, and re-running a chunk replaces
// what it wrote before instead of duplicating it. Implementations: SQLite
// (sqlite_store.cc) and PostgreSQL (postgres_store.cc), one shared
// implementation of the SQL they have in common (sql_store.cc) and the same
// schema from the same migration files (migrations/); OpenStore picks one
// from the state setting. A Store is safe to use from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/base/time.h"
#include "osprey/config/detector.h"

namespace osprey::store {

struct DetectorRecord {
  int64_t id = 0;
  std::string name;
  std::string config;  // the detector file's text
  bool active = true;  // inactive detectors are kept but not scheduled
  // Who manages the configuration: "api" (created through the REST API; run
  // by `osprey serve`), "file:<path>" (a file of `osprey serve --config`;
  // run while the file exists) or "" (registered by a backtest or the demo;
  // never scheduled).
  std::string origin;
};

// An API token. Only the SHA-256 of the secret is stored, never the secret.
struct TokenRecord {
  int64_t id = 0;
  std::string name;
  std::string role;  // admin | viewer
  std::string hash;  // lowercase hex SHA-256 of the token
  int64_t created_at = 0;
  std::optional<int64_t> revoked_at;
};

// Whole-store figures for /metrics.
struct StoreTotals {
  int64_t detectors = 0;
  int64_t intervals = 0;  // data-quality rows: intervals processed
  int64_t rows_read = 0, rows_rejected = 0;
  int64_t anomalies = 0, groups = 0;
  // Alert outbox: messages by status, and delivery attempts made in all.
  int64_t alerts_pending = 0, alerts_delivered = 0, alerts_dead = 0, alerts_silenced = 0;
  int64_t delivery_attempts = 0;
};

struct SeriesRecord {
  int64_t id = 0;
  std::string measure;
  std::string dims;   // JSON object of dimension -> value; roll-up dimensions left out
  std::string label;  // for people: views{platform=pc_web, marketplace=ALL}
};

struct PointRecord {
  int64_t series_id = 0;
  int64_t ts = 0;  // interval start, Unix seconds
  std::optional<double> value;
  // The model's view; unset while the model warms up.
  std::optional<double> expected, lower, upper, severity;
};

struct AnomalyRecord {
  int64_t id = 0;  // assigned by the store
  int64_t series_id = 0;
  int64_t ts = 0;
  double value = 0, expected = 0, lower = 0, upper = 0, severity = 0;
  std::string direction;    // up | down
  std::string explanation;  // spike, dip, level_shift, ...
  int64_t group_index = 0;  // index into ChunkResult::groups (in), group id (out)
  // Filled on reads:
  std::string label, measure, dims;
};

struct GroupRecord {
  int64_t id = 0;  // assigned by the store
  int64_t detector_id = 0;
  std::string detector;  // name, filled on reads
  std::string measure;
  int64_t ts = 0;      // interval start
  int64_t end_ts = 0;  // interval end
  double severity = 0;
  int64_t anomaly_count = 0;
  std::string contributions;  // JSON
  std::string root_causes;    // JSON
  std::string related;        // JSON
  // The incident this group belongs to: the run of groups of the same measure
  // in consecutive intervals. incident_ts is its first interval (0 on write:
  // the group starts its own incident); the rest are filled on reads.
  int64_t incident_ts = 0;
  int64_t incident_end_ts = 0;
  int64_t incident_intervals = 0;
  double incident_severity = 0;  // the highest severity of its groups
};

struct DataQualityRecord {
  int64_t ts = 0;
  int64_t rows_read = 0, rows_rejected = 0, rows_filtered = 0;
  int64_t series_seen = 0, series_missing = 0;
  std::string details;  // JSON: rejected_by_reason, examples
};

// One message of the alert outbox: written by the pipeline in the same
// transaction as the group it is about, delivered afterwards by
// alerts::Deliverer, which updates status, attempts and next_attempt_at.
struct OutboxRecord {
  int64_t id = 0;  // assigned by the store; delivery order within an alert
  int64_t detector_id = 0;
  std::string detector;  // name, filled on reads
  std::string alert;     // the alert rule's name
  // trigger | update | resolve, or no_data | no_data_resolve: the detector's
  // query returned no rows for the alert's no_data_after intervals since
  // incident_ts, and rows are back. A no-data message has no group (group_id
  // 0, group_ts its interval on the way in, incident_ts on reads) and no
  // measure; its idempotency key is "nodata.{detector_id}.{alert}.{incident_ts}"
  // plus ".resolved" for the resolve.
  std::string kind;
  std::string measure;
  // The group the message is about, named by (detector, measure, group_ts) on
  // the way in; the store resolves and fills group_id (it may be a group of
  // an earlier chunk, as for a resolve).
  int64_t group_ts = 0;
  int64_t group_id = 0;
  int64_t incident_ts = 0;  // first interval of the incident; part of the dedup key
  double severity = 0;      // the group's severity as the rule saw it
  // Filled by the store: "{group_id}.{alert}", plus ".resolved" for a resolve.
  std::string idempotency_key;
  // pending | delivered | dead, or silenced: matched by an active silence
  // when it was due, so not sent (last_error names the silence).
  std::string status = "pending";
  int64_t attempts = 0;
  int64_t next_attempt_at = 0;  // Unix seconds; due when <= now
  std::string last_error;       // never holds a URL or key
  int64_t created_at = 0;       // Unix seconds (the interval end it was raised for)
  std::optional<int64_t> delivered_at;
};

// A silence: alert messages about anomaly groups it matches are not sent
// while it is active (starts_at <= t < ends_at) but recorded in the outbox
// with status "silenced" (alerts::Deliverer). It matches a group when the
// detector and measure match (empty: any) and the group's root-cause set --
// or, without one, every anomalous series -- lies inside the slice the
// dimension matchers name (each root cause / series fixes every matched
// dimension to its value; no matchers: the whole measure).
struct SilenceRecord {
  int64_t id = 0;         // assigned by the store
  std::string detector;   // detector name; empty matches any
  std::string measure;    // empty matches any
  std::string matchers;   // JSON object dimension -> value
  int64_t starts_at = 0;  // Unix seconds
  int64_t ends_at = 0;    // Unix seconds; expiring a silence sets it to now
  std::string comment;
  std::string created_by;  // the API token's name, or empty from the CLI
  int64_t created_at = 0;
};

// The alert rules' memory between intervals (open incidents, counters), one
// opaque text per (alert, measure); committed with the chunk.
struct AlertStateRecord {
  std::string alert;
  std::string measure;
  std::string state;
};

// A person's verdict on one anomaly (series, interval), with a copy of what
// the anomaly was so it survives re-runs that replace groups.
struct FeedbackRecord {
  int64_t id = 0;  // assigned by the store
  int64_t detector_id = 0;
  int64_t group_id = 0;
  int64_t series_id = 0;
  int64_t ts = 0;
  bool relevant = false;
  std::string direction;  // up | down
  double value = 0, expected = 0;
  int64_t created_at = 0;  // Unix seconds
  std::string comment;     // free text from the person (API)
  std::string author;      // who said it: the API token's name, or empty from the CLI
  std::string label;       // filled on reads
};

struct OutboxQuery {
  std::optional<std::string> detector;
  std::optional<std::string> status;  // pending | delivered | dead | silenced
  int64_t limit = 1000;
  bool newest_first = false;  // default: delivery order (id ascending)
  int64_t offset = 0;         // rows to skip
  // Keyset paging: only messages after this id in the list's order (below
  // it when newest_first), read from the index instead of skipping rows.
  std::optional<int64_t> after_id = std::nullopt;
  // CountOutbox stops counting there (a capped total reads at most that
  // many index entries); unset: counts all.
  std::optional<int64_t> count_at_most = std::nullopt;
};

// The models' and alert rules' state as of the start of interval `ts`, kept
// for the last restatement_window intervals so they can be re-scored.
struct SnapshotRecord {
  int64_t ts = 0;
  std::map<int64_t, std::string> model_states;  // series id -> state
  std::vector<AlertStateRecord> alert_states;
};

inline bool IsNoDataKind(std::string_view kind) { return kind == "no_data" || kind == "no_data_resolve"; }

// failing | failing_resolve: the detector's scheduled runs failed since
// incident_ts, and it ran again. Queued by the scheduler with
// Store::QueueDetectorMessage; no group and no measure; idempotency key
// "failing.{detector_id}.{alert}.{incident_ts}" plus ".resolved".
inline bool IsFailingKind(std::string_view kind) { return kind == "failing" || kind == "failing_resolve"; }
inline std::string FailingKey(const OutboxRecord& r) {
  return "failing." + std::to_string(r.detector_id) + "." + r.alert + "." + std::to_string(r.incident_ts) +
         (r.kind == "failing_resolve" ? ".resolved" : "");
}

// The scheduler's view of one detector (osprey status).
struct DetectorStatusRecord {
  int64_t detector_id = 0;
  std::string detector;                // name, filled on reads
  std::string state = "active";        // backfilling | active | failing | paused
  std::optional<int64_t> last_run_at;  // Unix seconds of the last attempt
  std::optional<int64_t> next_run_at;  // when the next interval (or retry) is due
  std::string last_error;              // empty after a success
  int64_t retries = 0;                 // consecutive failures
  std::optional<int64_t> pending_ts;   // first interval not processed (retry target)
  // Intervals starting before this were backfill (no alerts); set once, on
  // the detector's first scheduled run.
  std::optional<int64_t> live_from;
  int64_t updated_at = 0;
};

enum class LeaseState { kNotHeld, kHeld, kTaken };

// A worker's lease on a detector (several `osprey serve` on one PostgreSQL
// state store; docs/scheduling.md, "Several workers"). Times are the
// database's clock, Unix seconds.
struct LeaseRecord {
  int64_t detector_id = 0;
  std::string detector;  // name, filled on reads
  std::string worker;    // the holder's --worker name
  int64_t acquired_at = 0;
  int64_t renewed_at = 0;
  int64_t expires_at = 0;  // renewed_at + the lease period
  bool held = false;       // the holder's session still holds it
  int64_t shard = 0;       // which shard of the detector (ShardLeaseKey)
};

// Who manages a detector, from its origin: "api", "file" or "backtest"; and
// for "file", the file's path (empty otherwise).
inline std::string_view ManagedBy(const DetectorRecord& d) {
  if (d.origin == "api") return "api";
  return d.origin.rfind("file:", 0) == 0 ? "file" : "backtest";
}
inline std::string ManagingFile(const DetectorRecord& d) {
  return ManagedBy(d) == "file" ? d.origin.substr(5) : std::string();
}

// The state people see for a detector (osprey status, GET /api/v1/status):
// "paused" when inactive, else the scheduler's state, else "registered"
// (osprey serve has not run it yet, or never will: a backtest's detector).
inline std::string DetectorState(const DetectorRecord& d, const DetectorStatusRecord* status) {
  if (!d.active) return "paused";
  return status ? status->state : "registered";
}

// What one shard of a detector scored in interval `ts`, for the holder of
// shard 0 (the coordinator) to group once every shard has passed `ts`;
// `data` is the pipeline's encoding (app/pipeline.cc), opaque to the store.
struct ShardScoresRecord {
  int64_t shard = 0;
  int64_t ts = 0;
  std::string data;
};

// What processing [first_ts, next_watermark) produced. Committed atomically.
struct ChunkResult {
  int64_t detector_id = 0;
  int64_t first_ts = 0;        // start of the first interval in the chunk
  int64_t next_watermark = 0;  // start of the first interval NOT processed
  std::vector<PointRecord> points;
  std::vector<GroupRecord> groups;
  std::vector<AnomalyRecord> anomalies;         // group_index points into groups
  std::map<int64_t, std::string> model_states;  // series id -> state
  // More model states, produced while the chunk is written: called once
  // with a function to call for each (series id, state), in series id
  // order. The pipeline serialises each model as it is written, so a chunk
  // never holds every model's state at once.
  std::function<Status(const std::function<Status(int64_t, std::string_view)>&)> write_model_states;
  std::vector<DataQualityRecord> quality;
  std::vector<OutboxRecord> outbox;            // alerts raised by these intervals
  std::vector<AlertStateRecord> alert_states;  // replaces the stored ones per key
  // Snapshots taken before intervals of this chunk (replace stored ones at
  // the same ts); snapshots before prune_snapshots_before are deleted.
  std::vector<SnapshotRecord> snapshots;
  std::optional<int64_t> prune_snapshots_before;
  // ---- Shards (config::Detector::shards; docs/scheduling.md, "Shards").
  // >= 0: one shard's chunk: next_watermark is that shard's (ShardWatermarks),
  // not the detector's; the chunk holds the shard's points, model states and
  // shard_scores, nothing else.
  int64_t shard = -1;
  int64_t shards = 0;  // how many shards the detector has
  std::vector<ShardScoresRecord> shard_scores;
  // Set: the only series whose stored point spans this chunk seals
  // (point_block.h, WritePoints); unset: every series of the detector.
  std::optional<std::vector<int64_t>> seal_series;
  // The coordinator's chunk: deletes the shard scores of [first_ts,
  // next_watermark), which it has grouped.
  bool drop_shard_scores = false;
  // False: the chunk's points, groups, quality and snapshots are written but
  // the detector's watermark is not moved (the pipeline then gives no model
  // or alert states either): a run that stops before its next resume point
  // re-runs the chunk from the watermark and the states saved with it,
  // which rewrites the same results (docs/state-store.md, "Model states").
  bool resume_point = true;
};

// A group's place in a list of groups (GroupQuery's order): its sort
// columns. Keyset paging starts a page after the last group of the one before.
struct GroupKey {
  int64_t ts = 0;
  double severity = 0;
  int64_t id = 0;
};

struct GroupQuery {
  std::optional<std::string> detector;
  std::optional<std::string> measure;
  double min_severity = 0;
  std::optional<int64_t> since;  // ts >= since
  std::optional<int64_t> until;  // ts < until
  int64_t limit = 100;
  int64_t offset = 0;
  bool newest_first = true;
  bool by_severity = false;  // most severe first (then by time as above)
  // One group per incident: its most severe one. The filters above apply to
  // that group.
  bool incidents_only = false;
  // Keyset paging: only groups after this one in the order (time: ts, then
  // severity descending, then id; severity: severity descending, then ts,
  // then id), read from an index instead of skipping `offset` rows.
  std::optional<GroupKey> after = std::nullopt;
  // CountGroups stops counting there; unset: counts all.
  std::optional<int64_t> count_at_most = std::nullopt;
};

// Which measure incidents Store::ListMeasureIncidents returns, each as its
// most severe group (GroupRecord with the incident_* figures): those whose
// first interval (incident_ts) lies in [start_from, start_before), by first
// interval, then detector id, then measure.
struct MeasureIncidentQuery {
  std::optional<std::string> detector;
  std::optional<int64_t> start_from;
  std::optional<int64_t> start_before;
  bool newest_first = false;
  int64_t limit = -1;  // -1: all
  // Only the figures of the measure incident (detector_id, measure, id of
  // its top group, incident_*), from its own row; the rest left empty.
  bool spans_only = false;
  // When not empty: only those whose first interval also lies in one of
  // these [from, before) ranges, all read in one query. The ranges must not
  // overlap (a measure incident in two would come twice).
  std::vector<std::pair<int64_t, int64_t>> start_ranges;
};

// Measure incidents by severity (the incident's highest), most severe
// first, then by first interval (latest first), detector id and measure;
// keyset-paged: after the measure incident `after` names.
struct SevereIncidentQuery {
  std::optional<std::string> detector;
  struct Key {
    double severity = 0;
    int64_t start = 0;
    int64_t detector_id = 0;
    std::string measure;
  };
  std::optional<Key> after;
  int64_t limit = 100;
};

// Which points Store::ForEachScoredPoint visits: the detector's scored
// points (a value and a severity; missing and warm-up points are left out)
// with severity >= min_severity and interval start in [since, until).
struct ScoredPointQuery {
  int64_t detector_id = 0;
  double min_severity = 0;
  // Every point with a value instead, scored or not (min_severity ignored):
  // the values a run looks back on.
  bool with_unscored = false;
  std::optional<int64_t> since;  // ts >= since
  std::optional<int64_t> until;  // ts < until
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates the detector or updates its configuration text; returns its id.
  virtual Result<int64_t> UpsertDetector(const std::string& name, const std::string& config) = 0;
  // NotFound when there is none of that name.
  virtual Result<DetectorRecord> GetDetector(const std::string& name) = 0;
  virtual Result<std::vector<DetectorRecord>> ListDetectors() = 0;
  // Deletes the detector and everything it produced. NotFound when absent.
  virtual Status DeleteDetector(const std::string& name) = 0;
  // NotFound when there is no detector of that name.
  virtual Status SetDetectorActive(const std::string& name, bool active) = 0;
  // Records who manages the detector (DetectorRecord::origin). NotFound when
  // there is no detector of that name.
  virtual Status SetDetectorOrigin(const std::string& name, const std::string& origin) = 0;

  virtual Result<std::vector<SeriesRecord>> ListSeries(int64_t detector_id) = 0;
  // How many series the detector has (ForEachSeries's count).
  virtual Result<int64_t> CountSeries(int64_t detector_id) {
    OSPREY_ASSIGN_OR_RETURN(std::vector<SeriesRecord> records, ListSeries(detector_id));
    return static_cast<int64_t>(records.size());
  }
  // Calls fn(record) for each series of the detector, in id order, one at a
  // time (a million series' records take ~170 MB): the record and its
  // strings are valid until fn returns. fn must not call the store.
  virtual Status ForEachSeries(int64_t detector_id, const std::function<Status(const SeriesRecord&)>& fn) {
    OSPREY_ASSIGN_OR_RETURN(std::vector<SeriesRecord> records, ListSeries(detector_id));
    for (const SeriesRecord& r : records) OSPREY_RETURN_IF_ERROR(fn(r));
    return Status::Ok();
  }
  // Returns the series id, creating the series if needed (idempotent).
  virtual Result<int64_t> EnsureSeries(int64_t detector_id, const std::string& measure,
                                       const std::string& dims, const std::string& label) = 0;
  // EnsureSeries for each of `series` (distinct series; their ids are
  // ignored), in order: sets each one's id. SQLite inserts them many to a
  // statement (a detector's first interval creates every series).
  virtual Status EnsureSeriesMany(int64_t detector_id, std::vector<SeriesRecord>& series) {
    for (SeriesRecord& r : series) {
      OSPREY_ASSIGN_OR_RETURN(r.id, EnsureSeries(detector_id, r.measure, r.dims, r.label));
    }
    return Status::Ok();
  }

  // Calls fn(series id, state) for each stored model state of the detector,
  // in series id order, one at a time: a detector's states together are as
  // large as its models (gigabytes at a million series).
  virtual Status ForEachModelState(int64_t detector_id,
                                   const std::function<Status(int64_t, std::string_view)>& fn) = 0;
  // Reads and writes model states in the transaction of a chunk being
  // committed (CommitScoredChunk).
  class ModelStateAccess {
   public:
    virtual ~ModelStateAccess() = default;
    // fn(series id, state) for each stored state of a series whose id is in
    // [from_id, to_id], in id order, one at a time (series of any detector:
    // ids are the store's). Each state's bytes stay valid until the Read
    // after next, so a caller may keep the views of a block instead of
    // copies, and read the next block while it still scores this one. The
    // ranges of consecutive Reads must not overlap.
    virtual Status Read(int64_t from_id, int64_t to_id,
                        const std::function<Status(int64_t, std::string_view)>& fn) = 0;
    // Whether Read may run on another thread, beside the access's own
    // thread writing (Write, WritePrepared): the store then reads with a
    // connection of its own, which sees the states as last committed (a
    // series' state is read before the chunk writes it, so those are the
    // ones the chunk's transaction has). Reads stay one at a time.
    virtual bool ReadsBeside() const { return false; }
    // Replaces (or adds) the state of a series.
    virtual Status Write(int64_t series_id, std::string_view state) = 0;
    // What Write(series_id, state) stores, worked out ahead (a store may
    // keep a state as its changes from the one read: finding them is best
    // done while the new state is still in the cache). Prepare only reads
    // what the last two Reads kept, so several threads may prepare
    // different series of those blocks at once, while the access's own
    // thread reads the next block or writes (WritePrepared) prepared ones;
    // a series' Prepare must be done before the Read after next.
    // WritePrepared then writes on the access's own thread, as Write would.
    struct Prepared {
      std::string bytes;  // what is written (its room reused)
      uint8_t kind = 0;   // the store's: how `bytes` is written (0: not prepared)
    };
    virtual void Prepare(int64_t /*series_id*/, std::string_view /*state*/, Prepared* out) const {
      out->kind = 0;
    }
    virtual Status WritePrepared(int64_t series_id, std::string_view state, const Prepared& /*prepared*/) {
      return Write(series_id, state);
    }
  };
  // CommitChunk for a chunk whose models are not all in memory: in the
  // chunk's transaction, first runs `score`, which reads the states it
  // needs, scores, writes the new states and completes `chunk`, then writes
  // `chunk`. Nothing of it is committed when either fails. `score` must not
  // call the store itself (it has the transaction).
  virtual Status CommitScoredChunk(ChunkResult& chunk,
                                   const std::function<Status(ModelStateAccess&)>& score) = 0;
  // Every model state of the detector at once (ForEachModelState).
  Result<std::map<int64_t, std::string>> LoadModelStates(int64_t detector_id) {
    std::map<int64_t, std::string> out;
    OSPREY_RETURN_IF_ERROR(ForEachModelState(detector_id, [&](int64_t id, std::string_view state) {
      out.emplace_hint(out.end(), id, state);
      return Status::Ok();
    }));
    return out;
  }
  // The first interval start not yet processed; nullopt before any.
  virtual Result<std::optional<int64_t>> GetWatermark(int64_t detector_id) = 0;
  virtual Status CommitChunk(const ChunkResult& chunk) = 0;
  // Forgets model state, watermark and every result from `from_ts` on, so a
  // backtest can replay that range from scratch. Points before it are kept.
  virtual Status ResetFrom(int64_t detector_id, int64_t from_ts) = 0;

  virtual Result<std::vector<GroupRecord>> ListGroups(const GroupQuery& q) = 0;
  // How many groups match q (limit, offset and after ignored), up to
  // q.count_at_most.
  virtual Result<int64_t> CountGroups(const GroupQuery& q) = 0;
  virtual Result<GroupRecord> GetGroup(int64_t group_id) = 0;
  // Measure incidents for building incidents a window at a time (api/incidents.h).
  virtual Result<std::vector<GroupRecord>> ListMeasureIncidents(const MeasureIncidentQuery& q) = 0;
  virtual Result<std::vector<GroupRecord>> ListSevereIncidents(const SevereIncidentQuery& q) = 0;
  // The longest span of a measure incident (incident_end_ts - incident_ts,
  // seconds) of any detector; 0 when there is none.
  virtual Result<int64_t> GetLongestMeasureIncident() = 0;
  virtual Result<std::vector<AnomalyRecord>> ListAnomalies(int64_t group_id) = 0;
  virtual Result<std::vector<PointRecord>> ListPoints(int64_t series_id, int64_t from_ts, int64_t to_ts) = 0;
  // Calls `fn` once per point q selects, series by series (ascending series
  // id), each series in time order, streaming from the database so memory
  // stays constant however many points there are. Stops at the first error
  // `fn` returns and returns it. `fn` must not call this Store.
  virtual Status ForEachScoredPoint(const ScoredPointQuery& q,
                                    const std::function<Status(const PointRecord&)>& fn) = 0;
  virtual Result<std::vector<DataQualityRecord>> ListQuality(int64_t detector_id, int64_t from_ts,
                                                             int64_t to_ts) = 0;

  virtual Result<std::vector<AlertStateRecord>> LoadAlertStates(int64_t detector_id) = 0;
  virtual Result<std::vector<OutboxRecord>> ListOutbox(const OutboxQuery& q) = 0;
  // How many messages match q (limit, offset and after_id ignored), up to
  // q.count_at_most.
  virtual Result<int64_t> CountOutbox(const OutboxQuery& q) = 0;
  // Saves status, attempts, next_attempt_at, last_error and delivered_at of
  // the row with r.id. NotFound when it is gone (its group was replaced).
  virtual Status UpdateOutbox(const OutboxRecord& r) = 0;

  // Queues a failing / failing_resolve message of detector r.detector_id
  // (IsFailingKind), filling its idempotency key; false when a message with
  // that key was queued before (nothing changes).
  virtual Result<bool> QueueDetectorMessage(const OutboxRecord& r) = 0;

  // Stores a verdict; returns its id.
  virtual Result<int64_t> AddFeedback(const FeedbackRecord& f) = 0;
  // Every verdict of the detector, oldest first.
  virtual Result<std::vector<FeedbackRecord>> ListFeedback(int64_t detector_id) = 0;
  virtual Result<StoreTotals> Totals() = 0;

  // API tokens. CreateToken returns the new id; RevokeToken is NotFound for
  // an unknown or already revoked id. ListTokens includes revoked ones.
  virtual Result<int64_t> CreateToken(const TokenRecord& token) = 0;
  virtual Result<std::vector<TokenRecord>> ListTokens() = 0;
  virtual Status RevokeToken(int64_t id, int64_t at) = 0;

  // Snapshots: the interval starts that have one, ascending; and one of them
  // (NotFound when there is none at ts).
  virtual Result<std::vector<int64_t>> ListSnapshotTimes(int64_t detector_id) = 0;
  virtual Result<SnapshotRecord> LoadSnapshot(int64_t detector_id, int64_t ts) = 0;

  // Scheduler status, one row per detector (replaced whole).
  virtual Status PutDetectorStatus(const DetectorStatusRecord& r) = 0;
  virtual Result<std::vector<DetectorStatusRecord>> ListDetectorStatus() = 0;

  // The verdicts on one group's anomalies, oldest first.
  virtual Result<std::vector<FeedbackRecord>> ListGroupFeedback(int64_t group_id) = 0;

  // Silences. CreateSilence returns the new id; ListSilences returns every
  // silence, newest first; ExpireSilence sets ends_at to `at` and is NotFound
  // for an unknown id or one that has already ended by `at`.
  virtual Result<int64_t> CreateSilence(const SilenceRecord& silence) = 0;
  virtual Result<std::vector<SilenceRecord>> ListSilences() = 0;
  virtual Status ExpireSilence(int64_t id, int64_t at) = 0;

  // ---- Worker leases: which `osprey serve` runs which detector. ----
  // On PostgreSQL a lease is a session advisory lock on the store's own
  // connection, so a worker that dies (or loses its connection) releases it
  // at once, and everything it commits goes through the session that holds
  // it; a row per lease says who holds it and until when. A holder that
  // stops renewing (hung, not dead) loses its session to the next worker
  // that finds the lease `lease_seconds` past its last renewal. On SQLite
  // (one process) every lease is granted and none is listed.
  //
  // Takes or keeps the lease `key` (a detector id; kDeliveryLease for the
  // alert outbox) for `worker`, renewing it for `lease_seconds`: kHeld when
  // this session already held it, kTaken when it has just taken it (the
  // caller reloads whatever it kept about the detector: another worker may
  // have moved it on), kNotHeld when another worker holds it. After the
  // connection is lost while leases were held, every other statement fails
  // with Unavailable until the next CountWorkers (the start of the
  // scheduler's next round), so a run under a lost lease cannot commit.
  virtual Result<LeaseState> AcquireLease(int64_t key, const std::string& worker, int64_t lease_seconds) {
    (void)key, (void)worker, (void)lease_seconds;
    return LeaseState::kHeld;
  }
  // Gives a lease back (nothing when not held).
  virtual Status ReleaseLease(int64_t key) {
    (void)key;
    return Status::Ok();
  }
  // Every lease row, held or not.
  virtual Result<std::vector<LeaseRecord>> ListLeases() { return std::vector<LeaseRecord>{}; }
  // Records `worker` as alive for `lease_seconds` and returns how many
  // workers are (at least 1), so each can take its share of the detectors.
  virtual Result<int64_t> CountWorkers(const std::string& worker, int64_t lease_seconds) {
    (void)worker, (void)lease_seconds;
    return 1;
  }
  // ---- Shards of a detector's series (docs/scheduling.md, "Shards"). ----
  // Whether this store can run a detector's shards in several workers
  // (PostgreSQL); elsewhere a detector runs whole.
  virtual bool SupportsShards() const { return false; }
  // Each shard's watermark (shard -> the first interval it has not scored);
  // with `shards`, only those written when the detector had that many
  // shards (ChunkResult::shards).
  virtual Result<std::map<int64_t, int64_t>> ShardWatermarks(int64_t detector_id,
                                                             std::optional<int64_t> shards = std::nullopt) {
    (void)detector_id, (void)shards;
    return std::map<int64_t, int64_t>{};
  }
  // Forgets the detector's shard watermarks and scores (its number of
  // shards changed where every shard's watermark was the detector's).
  virtual Status ClearShards(int64_t detector_id) {
    (void)detector_id;
    return Status::Ok();
  }
  // The shard scores of intervals in [from, to), by ts then shard.
  virtual Result<std::vector<ShardScoresRecord>> LoadShardScores(int64_t detector_id, int64_t from,
                                                                 int64_t to) {
    (void)detector_id, (void)from, (void)to;
    return Unimplemented("this state store does not run detectors in shards");
  }
};

// The lease on delivering the alert outbox: one worker delivers at a time.
inline constexpr int64_t kDeliveryLease = 0;

// The lease key of shard `shard` of a detector (config::Detector::shards):
// shard 0 is the detector's own lease (its holder also coordinates: it groups
// the shards' scores), shard s > 0 is -(detector_id * kMaxShards + s).
inline int64_t ShardLeaseKey(int64_t detector_id, int64_t shard) {
  return shard == 0 ? detector_id : -(detector_id * config::kMaxShards + shard);
}

// Opens (creating if needed) the SQLite state store at `path` and brings its
// schema up to date. FailedPrecondition when the file was written by a newer
// osprey; Unavailable when it cannot be opened.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// Connects to the PostgreSQL state store named by `conninfo` (a postgres:// or
// postgresql:// URL or a libpq "key=value" DSN) and brings its schema up to
// date, in transactions under an advisory lock. FailedPrecondition when the
// database was written by a newer osprey; Unavailable when it cannot connect.
// Error messages never contain the password.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo);

// Whether a state setting names a PostgreSQL database rather than a SQLite
// file: a postgres:// or postgresql:// URL, or a libpq DSN such as
// "host=db dbname=osprey".
bool IsPostgresState(const std::string& url_or_path);

// Opens the state store `url_or_path` names: PostgreSQL when
// IsPostgresState, else the SQLite file at that path. Failures as above.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url_or_path);

// The schema version this build writes.
int CurrentSchemaVersion();

}  // namespace osprey::store
