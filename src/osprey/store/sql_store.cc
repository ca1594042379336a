#include "osprey/store/sql_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <limits>
#include <memory>
#include <unordered_map>

#include "osprey/store/migrations.h"
#include "osprey/store/model_state_delta.h"

namespace osprey::store::internal {

namespace {

template <typename T>
Status Append(std::vector<T>* out, T v) {
  out->push_back(std::move(v));
  return Status::Ok();
}

}  // namespace

Status SqlStore::InWriteTransaction(const std::function<Status()>& body) {
  OSPREY_RETURN_IF_ERROR(BeforeWrite());
  return db_.InTransaction(body);
}

Result<int64_t> SqlStore::Write(std::string_view sql, std::initializer_list<SqlValue> args) {
  OSPREY_RETURN_IF_ERROR(BeforeWrite());
  return db_.Exec(sql, args);
}

Status SqlStore::Migrate(std::string_view store) {
  return RunMigrations(db_, store, [&](const MigrationFile& m) -> Status {
    if (m.name != "point_blocks") return Status::Ok();
    return SealOldPoints().WithContext(fmt::format("sealing the points of '{}'", store));
  });
}

// A store from before point blocks has every point as a row: seals each
// detector's rows of the days before its watermark into blocks.
Status SqlStore::SealOldPoints() {
  using Mark = std::pair<int64_t, int64_t>;  // detector, watermark
  OSPREY_ASSIGN_OR_RETURN(
      auto marks, db_.List<Mark>("select detector_id, next_ts from watermarks order by detector_id", {},
                                 [](const SqlRow& r) { return Mark(r.Int(0), r.Int(1)); }));
  for (const auto& [detector, watermark] : marks) {
    OSPREY_RETURN_IF_ERROR(SealHead(points_, detector, PointBlockStart(watermark)));
  }
  return Status::Ok();
}

PointRecord SqlStore::ReadPoint(const SqlRow& r) {
  return {r.Int(0), r.Int(1), r.OptReal(2), r.OptReal(3), r.OptReal(4), r.OptReal(5), r.OptReal(6)};
}

StoredBlock SqlStore::ReadBlock(const SqlRow& r) {
  return {r.Int(0), r.Int(1), r.Int(2), r.Int(3), r.Blob(4)};
}

GroupRecord SqlStore::ReadGroup(const SqlRow& r) {
  GroupRecord g{r.Int(0),  r.Int(1), r.Text(2), r.Text(3), r.Int(4),  r.Int(5),
                r.Real(6), r.Int(7), r.Text(8), r.Text(9), r.Text(10)};
  g.incident_ts = r.Int(11);
  g.incident_end_ts = r.Int(12);
  g.incident_intervals = r.Int(13);
  g.incident_severity = r.Real(14);
  return g;
}

Result<std::vector<GroupRecord>> SqlStore::ReadGroups(std::string_view sql, std::span<const SqlValue> args) {
  std::vector<GroupRecord> out;
  OSPREY_RETURN_IF_ERROR(
      db_.Run(sql, args, [&](const SqlRow& r) { return Append(&out, ReadGroup(r)); }).status());
  return out;
}

// ---- Detectors and series.

Result<int64_t> SqlStore::UpsertDetector(const std::string& name, const std::string& config) {
  OSPREY_RETURN_IF_ERROR(BeforeWrite());
  OSPREY_ASSIGN_OR_RETURN(
      std::optional<int64_t> id,
      db_.QueryInt("insert into detectors(name, config) values (?1, ?2) "
                   "on conflict(name) do update set config = excluded.config returning id",
                   {name, config}));
  if (!id) return Internal("upsert returned no id");
  return *id;
}

namespace {
constexpr std::string_view kDetectorColumns = "select id, name, config, active, origin from detectors ";
DetectorRecord ReadDetector(const SqlRow& r) {
  return DetectorRecord{r.Int(0), r.Text(1), r.Text(2), r.Int(3) != 0, r.Text(4)};
}
}  // namespace

Result<DetectorRecord> SqlStore::GetDetector(const std::string& name) {
  OSPREY_ASSIGN_OR_RETURN(
      auto found,
      db_.List<DetectorRecord>(std::string(kDetectorColumns) + "where name = ?1", {name}, ReadDetector));
  if (found.empty()) return NotFound(fmt::format("no detector named '{}'", name));
  return found[0];
}

Result<std::vector<DetectorRecord>> SqlStore::ListDetectors() {
  return db_.List<DetectorRecord>(
      fmt::format("{}order by name{}", kDetectorColumns, db_.dialect().bytes_order), {}, ReadDetector);
}

Status SqlStore::ChangeDetector(std::string_view sql, const std::string& name, SqlValue arg) {
  OSPREY_ASSIGN_OR_RETURN(int64_t changed, Write(sql, {name, arg}));
  if (changed == 0) return NotFound(fmt::format("no detector named '{}'", name));
  return Status::Ok();
}

Status SqlStore::DeleteDetector(const std::string& name) {
  return ChangeDetector("delete from detectors where name = ?1", name, 0);
}

Status SqlStore::SetDetectorActive(const std::string& name, bool active) {
  return ChangeDetector("update detectors set active = ?2 where name = ?1", name, active ? 1 : 0);
}

Status SqlStore::SetDetectorOrigin(const std::string& name, const std::string& origin) {
  return ChangeDetector("update detectors set origin = ?2 where name = ?1", name, origin);
}

Result<std::vector<SeriesRecord>> SqlStore::ListSeries(int64_t detector_id) {
  return db_.List<SeriesRecord>(
      "select id, measure, dims, label from series where detector_id = ?1 order by id", {detector_id},
      [](const SqlRow& r) {
        return SeriesRecord{r.Int(0), r.Text(1), r.Text(2), r.Text(3)};
      });
}

Result<int64_t> SqlStore::InsertSeries(int64_t detector_id, const std::string& measure,
                                       const std::string& dims, const std::string& label) {
  OSPREY_ASSIGN_OR_RETURN(
      std::optional<int64_t> id,
      db_.QueryInt("insert into series(detector_id, measure, dims, label) values (?1, ?2, ?3, ?4) "
                   "on conflict(detector_id, measure, dims) do update set label = excluded.label "
                   "returning id",
                   {detector_id, measure, dims, label}));
  if (!id) return Internal("series insert returned no id");
  return *id;
}

Result<int64_t> SqlStore::CountSeries(int64_t detector_id) {
  OSPREY_ASSIGN_OR_RETURN(std::optional<int64_t> n,
                          db_.QueryInt("select count(*) from series where detector_id = ?1", {detector_id}));
  return n.value_or(0);
}

Status SqlStore::ForEachSeries(int64_t detector_id, const std::function<Status(const SeriesRecord&)>& fn) {
  // One record, its strings' room reused row after row.
  SeriesRecord record;
  return db_.Query("select id, measure, dims, label from series where detector_id = ?1 order by id",
                   {detector_id}, [&](const SqlRow& r) {
                     record.id = r.Int(0);
                     r.TextInto(1, &record.measure);
                     r.TextInto(2, &record.dims);
                     r.TextInto(3, &record.label);
                     return fn(record);
                   });
}

Status SqlStore::ForEachModelState(int64_t detector_id,
                                   const std::function<Status(int64_t, std::string_view)>& fn) {
  return db_.Query(
      // The ids first (SQLite: a sorted list), then each state by its key in
      // that order: no sort of the states themselves.
      "select m.series_id, m.state, d.delta from model_state m left join model_state_delta d on "
      "d.series_id = m.series_id where m.series_id in (select id from series where detector_id = ?1) "
      "order by m.series_id",
      {detector_id},
      [&, base = std::string(), delta = std::string(), state = std::string()](const SqlRow& r) mutable {
        r.BlobInto(1, &base);  // one buffer for every state
        if (r.IsNull(2)) return fn(r.Int(0), base);
        r.BlobInto(2, &delta);
        // A delta that does not fit its state is corrupt: the state is then
        // too (RestoreModel fails, and the model is retrained).
        if (!ApplyStateDelta(base, delta, &state)) return fn(r.Int(0), std::string_view());
        return fn(r.Int(0), state);
      });
}

Result<std::optional<int64_t>> SqlStore::GetWatermark(int64_t detector_id) {
  return db_.QueryInt("select next_ts from watermarks where detector_id = ?1", {detector_id});
}

// ---- Chunks.

Status SqlStore::CommitChunk(const ChunkResult& c) {
  Status s = InWriteTransaction([&] { return WriteChunk(c); });
  return s.WithContext(fmt::format("committing intervals [{}, {})", FormatIso(FromUnixSeconds(c.first_ts)),
                                   FormatIso(FromUnixSeconds(c.next_watermark))));
}

Status SqlStore::CommitScoredChunk(ChunkResult& c, const std::function<Status(ModelStateAccess&)>& score) {
  class Access final : public ModelStateAccess {
   public:
    // `reader`: a connection of the store's own for Read (SqlDb::OpenReader),
    // or nullptr to read on the store's.
    Access(SqlStore& store, SqlDb* reader) : store_(store), reader_(reader) {}
    bool ReadsBeside() const override { return reader_ != nullptr; }
    // Keeps each state read (its delta applied in place, with the stored
    // bytes the delta overwrote), for Write to store the new one as its
    // changes from the stored one, and the states it gave fn until the
    // Read after next: the reads alternate between two blocks' buffers.
    Status Read(int64_t from_id, int64_t to_id,
                const std::function<Status(int64_t, std::string_view)>& fn) override {
      Block& block = blocks_[next_];
      next_ ^= 1;
      // (Prepare may be looking for the other block's states meanwhile:
      // it finds this one only once it is filled.)
      block.from.store(1, std::memory_order_relaxed);
      block.to.store(0, std::memory_order_release);
      block.used = 0;
      SqlDb& db = reader_ != nullptr ? *reader_ : store_.db_;
      Status s = db.Query(
          "select m.series_id, m.state, d.delta from model_state m left join model_state_delta d on "
          "d.series_id = m.series_id where m.series_id >= ?1 and m.series_id <= ?2 order by m.series_id",
          {from_id, to_id}, [&, delta = std::string()](const SqlRow& r) mutable {
            // (The entries and their buffers are reused block after block;
            // a deque's entries stay where they are as it grows.)
            if (block.used == block.bases.size()) block.bases.emplace_back();
            Base& b = block.bases[block.used++];
            b.id = r.Int(0);
            r.BlobInto(1, &b.state);
            b.has_delta = !r.IsNull(2);
            if (!b.has_delta) return fn(b.id, b.state);
            // The delta applied where the state was read (one copy of it, not
            // two), the bytes it overwrote kept for Prepare.
            r.BlobInto(2, &delta);
            if (!ApplyStateDeltaInPlace(delta, &b.state, &b.undo)) return fn(b.id, std::string_view());
            return fn(b.id, b.state);
          });
      block.from.store(from_id, std::memory_order_relaxed);
      block.to.store(to_id, std::memory_order_release);
      return s;
    }
    // A state whose stored one was read and has its size is stored as its
    // changes from that while they are at most a quarter of it; else whole.
    Status Write(int64_t series_id, std::string_view state) override {
      Prepare(series_id, state, &prepared_);
      return WritePrepared(series_id, state, prepared_);
    }
    void Prepare(int64_t series_id, std::string_view state, Prepared* out) const override {
      out->kind = kWhole;
      for (const Block& block : blocks_) {
        const int64_t to = block.to.load(std::memory_order_acquire);
        if (series_id < block.from.load(std::memory_order_relaxed) || series_id > to) continue;
        const auto last = block.bases.begin() + static_cast<std::ptrdiff_t>(block.used);
        auto base = std::lower_bound(block.bases.begin(), last, series_id,
                                     [](const Base& b, int64_t id) { return b.id < id; });
        if (base == last || base->id != series_id || base->state.size() != state.size() || state.empty())
          return;
        std::string_view stored = base->state;
        if (base->has_delta) {
          // The state as stored: the one read with the delta's bytes put back.
          thread_local std::string unmerged;
          unmerged.assign(base->state);
          base->undo.Restore(&unmerged);
          stored = unmerged;
        }
        if (EncodeStateDeltaInto(stored, state, state.size() / 4, &out->bytes)) {
          out->kind = base->has_delta ? kDeltaOverDelta : kDelta;
        }
        return;
      }
    }
    Status WritePrepared(int64_t series_id, std::string_view state, const Prepared& p) override {
      if (p.kind == 0) return Write(series_id, state);
      if (p.kind == kWhole) return store_.WriteModelState(series_id, state);
      // A delta that was there is updated in place (SQLite's replace
      // deletes the row and inserts it again); a new one is inserted.
      if (p.kind == kDeltaOverDelta) {
        OSPREY_ASSIGN_OR_RETURN(
            int64_t changed, store_.db_.Exec("update model_state_delta set delta = ?2 where series_id = ?1",
                                             {series_id, SqlValue::Blob(p.bytes)}));
        if (changed > 0) return Status::Ok();
      }
      static const std::string kSqlite =
          ReplaceRow(SqliteDialect(), "model_state_delta", {"series_id"}, {"delta"});
      static const std::string kPostgres =
          ReplaceRow(PostgresDialect(), "model_state_delta", {"series_id"}, {"delta"});
      return store_.db_
          .Exec(store_.db_.dialect().kind == Dialect::kSqlite ? kSqlite : kPostgres,
                {series_id, SqlValue::Blob(p.bytes)})
          .status();
    }

   private:
    SqlStore& store_;
    SqlDb* reader_;
    // A state read, as stored.
    struct Base {
      int64_t id = 0;
      std::string state;       // as read: with its delta applied, if any
      bool has_delta = false;  // a delta was stored with it
      StateDeltaUndo undo;     // with it: the stored bytes the delta overwrote
    };
    // The states of one Read of ids [from, to], in id order: bases[0, used).
    // The range is set once they are all there (empty while they are read),
    // for Prepare on other threads.
    struct Block {
      std::atomic<int64_t> from{1}, to{0};
      std::deque<Base> bases;
      size_t used = 0;
    };
    Block blocks_[2];
    int next_ = 0;  // the block the next Read fills
    // Prepared::kind: the state whole; its delta, where none or one was stored.
    enum Kind : uint8_t { kWhole = 1, kDelta = 2, kDeltaOverDelta = 3 };
    Prepared prepared_;  // Write's
  };
  // The states are read on a second connection where the database has one,
  // so that a paged runner reads them on another thread beside the writes.
  if (!reader_opened_) {
    reader_opened_ = true;
    reader_ = db_.OpenReader();
  }
  Status s = InWriteTransaction([&]() -> Status {
    Access access(*this, reader_.get());
    OSPREY_RETURN_IF_ERROR(score(access));
    return WriteChunk(c);
  });
  return s.WithContext(fmt::format("committing intervals [{}, {})", FormatIso(FromUnixSeconds(c.first_ts)),
                                   FormatIso(FromUnixSeconds(c.next_watermark))));
}

Status SqlStore::WriteChunk(const ChunkResult& c) {
  if (c.shard >= 0) return WriteShardChunk(c);
  // Re-running a range replaces what it produced before. Groups that come
  // back (same detector, measure, interval) keep their id, so the outbox's
  // idempotency keys "{group_id}.{alert}" stay the same and a re-run sends
  // no message twice; groups that do not come back are deleted (with their
  // pending messages).
  // The incidents this chunk changes: those of the groups it replaces and
  // of the groups it writes.
  std::set<std::pair<std::string, int64_t>> incidents;
  std::vector<int64_t> gone;
  {
    std::set<std::pair<std::string, int64_t>> keep;
    for (const GroupRecord& g : c.groups) {
      keep.insert({g.measure, g.ts});
      incidents.insert({g.measure, g.incident_ts != 0 ? g.incident_ts : g.ts});
    }
    OSPREY_RETURN_IF_ERROR(
        db_.Query("select id, measure, ts, incident_ts from anomaly_groups where detector_id = ?1 and ts >= "
                  "?2 and ts < ?3",
                  {c.detector_id, c.first_ts, c.next_watermark}, [&](const SqlRow& r) {
                    std::string measure = r.Text(1);
                    incidents.insert({measure, r.Int(3)});
                    if (!keep.count({measure, r.Int(2)})) gone.push_back(r.Int(0));
                    return Status::Ok();
                  }));
  }
  for (int64_t id : gone)
    OSPREY_RETURN_IF_ERROR(db_.Exec("delete from anomaly_groups where id = ?1", {id}).status());
  OSPREY_RETURN_IF_ERROR(db_.Exec("delete from anomalies where detector_id = ?1 and ts >= ?2 and ts < ?3",
                                  {c.detector_id, c.first_ts, c.next_watermark})
                             .status());
  OSPREY_RETURN_IF_ERROR(WriteChunkPoints(c));
  if (c.drop_shard_scores) {
    OSPREY_RETURN_IF_ERROR(
        db_.Exec("delete from shard_scores where detector_id = ?1 and ts >= ?2 and ts < ?3",
                 {c.detector_id, c.first_ts, c.next_watermark})
            .status());
  }
  std::vector<int64_t> group_ids;
  for (const GroupRecord& g : c.groups) {
    OSPREY_ASSIGN_OR_RETURN(
        std::optional<int64_t> id,
        db_.QueryInt("insert into anomaly_groups(detector_id, measure, ts, end_ts, severity, anomaly_count, "
                     "contributions, root_causes, related, incident_ts) "
                     "values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                     "on conflict(detector_id, measure, ts) do update set end_ts = excluded.end_ts, "
                     "severity = excluded.severity, anomaly_count = excluded.anomaly_count, "
                     "contributions = excluded.contributions, root_causes = excluded.root_causes, "
                     "related = excluded.related, incident_ts = excluded.incident_ts returning id",
                     {c.detector_id, g.measure, g.ts, g.end_ts, g.severity, g.anomaly_count, g.contributions,
                      g.root_causes, g.related, g.incident_ts != 0 ? g.incident_ts : g.ts}));
    if (!id) return Internal("group insert returned no id");
    group_ids.push_back(*id);
  }
  for (const AnomalyRecord& a : c.anomalies) {
    if (a.group_index < 0 || static_cast<size_t>(a.group_index) >= group_ids.size()) {
      return Internal("anomaly refers to a group that is not in the chunk");
    }
    // A clash on (series_id, ts) replaces the row (a new id).
    OSPREY_RETURN_IF_ERROR(
        db_.Exec("delete from anomalies where series_id = ?1 and ts = ?2", {a.series_id, a.ts}).status());
    OSPREY_RETURN_IF_ERROR(
        db_.Exec("insert into anomalies(detector_id, series_id, group_id, ts, value, expected, "
                 "lower, upper, severity, direction, explanation) "
                 "values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                 {c.detector_id, a.series_id, group_ids[static_cast<size_t>(a.group_index)], a.ts, a.value,
                  a.expected, a.lower, a.upper, a.severity, a.direction, a.explanation})
            .status());
  }
  OSPREY_RETURN_IF_ERROR(WriteModelStates(c));
  const std::string quality_sql =
      ReplaceRow(db_.dialect(), "data_quality", {"detector_id", "ts"},
                 {"rows_read", "rows_rejected", "rows_filtered", "series_seen", "series_missing", "details"});
  for (const DataQualityRecord& q : c.quality) {
    OSPREY_RETURN_IF_ERROR(
        db_.Exec(quality_sql, {c.detector_id, q.ts, q.rows_read, q.rows_rejected, q.rows_filtered,
                               q.series_seen, q.series_missing, q.details})
            .status());
  }
  constexpr std::string_view kOutboxInsert =
      "insert into alert_outbox(detector_id, alert, kind, measure, group_id, incident_ts, severity, "
      "idempotency_key, next_attempt_at, created_at) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
      "on conflict do nothing";
  for (const OutboxRecord& o : c.outbox) {
    if (IsNoDataKind(o.kind)) {
      const std::string key = fmt::format("nodata.{}.{}.{}{}", c.detector_id, o.alert, o.incident_ts,
                                          o.kind == "no_data_resolve" ? ".resolved" : "");
      OSPREY_RETURN_IF_ERROR(db_.Exec(kOutboxInsert, {c.detector_id, o.alert, o.kind, o.measure,
                                                      SqlValue::Null(SqlValue::Type::kInt), o.incident_ts,
                                                      o.severity, key, o.next_attempt_at, o.created_at})
                                 .status());
      continue;
    }
    OSPREY_ASSIGN_OR_RETURN(
        std::optional<int64_t> group_id,
        db_.QueryInt("select id from anomaly_groups where detector_id = ?1 and measure = ?2 and ts = ?3",
                     {c.detector_id, o.measure, o.group_ts}));
    if (!group_id) {
      return Internal(fmt::format("alert '{}' refers to no group of measure '{}' at {}", o.alert, o.measure,
                                  FormatIso(FromUnixSeconds(o.group_ts))));
    }
    const std::string key =
        fmt::format("{}.{}{}", *group_id, o.alert, o.kind == "resolve" ? ".resolved" : "");
    OSPREY_RETURN_IF_ERROR(
        db_.Exec(kOutboxInsert, {c.detector_id, o.alert, o.kind, o.measure, *group_id, o.incident_ts,
                                 o.severity, key, o.next_attempt_at, o.created_at})
            .status());
  }
  const std::string alert_state_sql =
      ReplaceRow(db_.dialect(), "alert_state", {"detector_id", "alert", "measure"}, {"state"});
  for (const AlertStateRecord& a : c.alert_states) {
    OSPREY_RETURN_IF_ERROR(db_.Exec(alert_state_sql, {c.detector_id, a.alert, a.measure, a.state}).status());
  }
  OSPREY_RETURN_IF_ERROR(UpdateIncidents(c.detector_id, incidents));
  OSPREY_RETURN_IF_ERROR(WriteSnapshots(c));
  if (!c.resume_point) return Status::Ok();
  return db_
      .Exec(
          "insert into watermarks(detector_id, next_ts) values (?1, ?2) "
          "on conflict(detector_id) do update set next_ts = excluded.next_ts",
          {c.detector_id, c.next_watermark})
      .status();
}

Status SqlStore::WriteShardChunk(const ChunkResult& c) {
  if (!SupportsShards()) return Internal("a shard's chunk for a store that does not run detectors in shards");
  OSPREY_RETURN_IF_ERROR(WriteChunkPoints(c));
  OSPREY_RETURN_IF_ERROR(WriteModelStates(c));
  for (const ShardScoresRecord& sc : c.shard_scores) {
    OSPREY_RETURN_IF_ERROR(
        db_.Exec("insert into shard_scores(detector_id, ts, shard, data) values (?1, ?2, ?3, ?4) "
                 "on conflict(detector_id, ts, shard) do update set data = excluded.data",
                 {c.detector_id, sc.ts, c.shard, SqlValue::Blob(sc.data)})
            .status());
  }
  return db_
      .Exec(
          "insert into shard_watermarks(detector_id, shard, shards, next_ts) values (?1, ?2, ?3, ?4) "
          "on conflict(detector_id, shard) do update set shards = excluded.shards, "
          "next_ts = excluded.next_ts",
          {c.detector_id, c.shard, c.shards, c.next_watermark})
      .status();
}

// The chunk's points; with seal_series, only those series' spans are sealed
// (a shard's, or none for the coordinator), so workers scoring other shards
// of the detector at the same time are not touched.
Status SqlStore::WriteChunkPoints(const ChunkResult& c) {
  if (!c.seal_series) return WritePoints(points_, c.detector_id, c.first_ts, c.next_watermark, c.points);
  ScopedPointTables scoped(points_, *c.seal_series);
  return WritePoints(scoped, c.detector_id, c.first_ts, c.next_watermark, c.points);
}

Status SqlStore::WriteModelStates(const ChunkResult& c) {
  if (db_.dialect().kind != Dialect::kSqlite) {
    auto write = [&](int64_t series_id, std::string_view state) { return WriteModelState(series_id, state); };
    for (const auto& [series_id, state] : c.model_states) OSPREY_RETURN_IF_ERROR(write(series_id, state));
    return c.write_model_states ? c.write_model_states(write) : Status::Ok();
  }
  // SQLite: kManyStates to a statement, an upsert (a new state is
  // inserted, a stored one updated where it is, as WriteModelState does),
  // then their deltas deleted with one statement; the rest one at a time.
  // A resume point writes every series' state (100 k at 100 k series), and
  // two statements a state cost about what writing its bytes did.
  constexpr size_t kManyStates = 64;
  static const std::string kUpsert = [] {
    std::string sql = "insert into model_state(series_id, state) values ";
    for (size_t r = 0; r < kManyStates; ++r) {
      sql += fmt::format("{}(?{}, ?{})", r == 0 ? "" : ", ", 2 * r + 1, 2 * r + 2);
    }
    return sql + " on conflict(series_id) do update set state = excluded.state";
  }();
  static const std::string kDeleteDeltas = [] {
    std::string sql = "delete from model_state_delta where series_id in (";
    for (size_t r = 0; r < kManyStates; ++r) sql += fmt::format("{}?{}", r == 0 ? "" : ", ", r + 1);
    return sql + ")";
  }();
  std::vector<int64_t> ids;
  std::vector<size_t> ends;  // of each state in `bytes`
  std::string bytes;
  std::vector<SqlValue> args;
  auto flush = [&]() -> Status {
    args.clear();
    for (size_t r = 0; r < ids.size(); ++r) {
      const size_t begin = r == 0 ? 0 : ends[r - 1];
      args.push_back(ids[r]);
      args.push_back(SqlValue::Blob(std::string_view(bytes).substr(begin, ends[r] - begin)));
    }
    OSPREY_RETURN_IF_ERROR(db_.Run(kUpsert, args, nullptr).status());
    args.clear();
    for (int64_t id : ids) args.push_back(id);
    OSPREY_RETURN_IF_ERROR(db_.Run(kDeleteDeltas, args, nullptr).status());
    ids.clear();
    ends.clear();
    bytes.clear();
    return Status::Ok();
  };
  auto write = [&](int64_t series_id, std::string_view state) -> Status {
    ids.push_back(series_id);
    bytes.append(state);
    ends.push_back(bytes.size());
    return ids.size() == kManyStates ? flush() : Status::Ok();
  };
  for (const auto& [series_id, state] : c.model_states) OSPREY_RETURN_IF_ERROR(write(series_id, state));
  if (c.write_model_states) OSPREY_RETURN_IF_ERROR(c.write_model_states(write));
  for (size_t r = 0; r < ids.size(); ++r) {
    const size_t begin = r == 0 ? 0 : ends[r - 1];
    OSPREY_RETURN_IF_ERROR(WriteModelState(ids[r], std::string_view(bytes).substr(begin, ends[r] - begin)));
  }
  return Status::Ok();
}

Status SqlStore::WriteModelState(int64_t series_id, std::string_view state) {
  // SQLite: a state is rewritten in place by an update (a state keeps its
  // size, so its cell is overwritten where it is), where "insert or
  // replace" deletes the row, inserts it again and checks its series; only
  // a series without a state yet is inserted. A whole state replaces the
  // stored one and its delta. A delta refers to its stored state (a foreign
  // key), so a series without a state has none to delete: a first save
  // (every series of a new detector) is two statements, not three.
  auto drop_delta = [&] {
    return db_.Exec("delete from model_state_delta where series_id = ?1", {series_id}).status();
  };
  if (db_.dialect().kind == Dialect::kSqlite) {
    OSPREY_ASSIGN_OR_RETURN(int64_t changed,
                            db_.Exec("update model_state set state = ?2 where series_id = ?1",
                                     {series_id, SqlValue::Blob(state)}));
    if (changed > 0) return drop_delta();
  } else {
    OSPREY_RETURN_IF_ERROR(drop_delta());
  }
  static const std::string kSqlite = ReplaceRow(SqliteDialect(), "model_state", {"series_id"}, {"state"});
  static const std::string kPostgres = ReplaceRow(PostgresDialect(), "model_state", {"series_id"}, {"state"});
  return db_
      .Exec(db_.dialect().kind == Dialect::kSqlite ? kSqlite : kPostgres, {series_id, SqlValue::Blob(state)})
      .status();
}

// Recomputes the incidents row of each (measure, incident_ts) from its
// groups, or deletes it when none is left.
Status SqlStore::UpdateIncidents(int64_t detector_id, const std::set<std::pair<std::string, int64_t>>& keys) {
  for (const auto& [measure, incident_ts] : keys) {
    OSPREY_RETURN_IF_ERROR(
        db_.Exec("delete from incidents where detector_id = ?1 and measure = ?2 and incident_ts = ?3",
                 {detector_id, measure, incident_ts})
            .status());
    OSPREY_RETURN_IF_ERROR(
        db_.Exec(
               "insert into incidents(detector_id, measure, incident_ts, end_ts, intervals, severity, "
               "top_group_id, top_ts) select detector_id, measure, incident_ts, max(end_ts), count(*), "
               "max(severity), t.id, t.ts from anomaly_groups, (select i.id, i.ts from anomaly_groups i "
               "where "
               "i.detector_id = ?1 and i.measure = ?2 and i.incident_ts = ?3 order by i.severity desc, i.ts "
               "limit 1) t where detector_id = ?1 and measure = ?2 and incident_ts = ?3 "
               "group by detector_id, measure, incident_ts, t.id, t.ts",
               {detector_id, measure, incident_ts})
            .status());
  }
  return Status::Ok();
}

Status SqlStore::WriteSnapshots(const ChunkResult& c) {
  for (std::string_view table : {"model_snapshots", "alert_state_snapshots", "snapshot_times"}) {
    if (!c.snapshots.empty()) {
      OSPREY_RETURN_IF_ERROR(
          db_.Exec(fmt::format("delete from {} where detector_id = ?1 and ts >= ?2 and ts < ?3", table),
                   {c.detector_id, c.first_ts, c.next_watermark})
              .status());
    }
    if (c.prune_snapshots_before) {
      OSPREY_RETURN_IF_ERROR(db_.Exec(fmt::format("delete from {} where detector_id = ?1 and ts < ?2", table),
                                      {c.detector_id, *c.prune_snapshots_before})
                                 .status());
    }
  }
  for (const SnapshotRecord& snap : c.snapshots) {
    OSPREY_RETURN_IF_ERROR(
        db_.Exec("insert into snapshot_times(detector_id, ts) values (?1, ?2)", {c.detector_id, snap.ts})
            .status());
    for (const auto& [series_id, state] : snap.model_states) {
      OSPREY_RETURN_IF_ERROR(
          db_.Exec("insert into model_snapshots(detector_id, ts, series_id, state) values (?1, ?2, ?3, ?4)",
                   {c.detector_id, snap.ts, series_id, SqlValue::Blob(state)})
              .status());
    }
    for (const AlertStateRecord& r : snap.alert_states) {
      OSPREY_RETURN_IF_ERROR(
          db_.Exec("insert into alert_state_snapshots(detector_id, ts, alert, measure, state) "
                   "values (?1, ?2, ?3, ?4, ?5)",
                   {c.detector_id, snap.ts, r.alert, r.measure, r.state})
              .status());
    }
  }
  return Status::Ok();
}

Status SqlStore::ResetFrom(int64_t detector_id, int64_t from_ts) {
  return InWriteTransaction([&]() -> Status {
    // Incidents with a group from from_ts on lose it.
    std::set<std::pair<std::string, int64_t>> incidents;
    OSPREY_RETURN_IF_ERROR(
        db_.Query("select measure, incident_ts from incidents where detector_id = ?1 and end_ts > ?2",
                  {detector_id, from_ts}, [&](const SqlRow& r) {
                    incidents.insert({r.Text(0), r.Int(1)});
                    return Status::Ok();
                  }));
    for (std::string_view sql :
         {"delete from model_state where series_id in (select id from series where detector_id = ?1)",
          "delete from watermarks where detector_id = ?1", "delete from alert_state where detector_id = ?1",
          "delete from model_snapshots where detector_id = ?1",
          "delete from alert_state_snapshots where detector_id = ?1",
          "delete from snapshot_times where detector_id = ?1",
          "delete from anomaly_groups where detector_id = ?1 and ts >= ?2",
          "delete from anomalies where detector_id = ?1 and ts >= ?2",
          "delete from data_quality where detector_id = ?1 and ts >= ?2",
          "delete from points where ts >= ?2 and series_id in (select id from series where detector_id = ?1)",
          "delete from point_blocks where start_ts >= ?2 and series_id in "
          "(select id from series where detector_id = ?1)"}) {
      if (sql.find("?2") == std::string_view::npos) {
        OSPREY_RETURN_IF_ERROR(db_.Exec(sql, {detector_id}).status());
      } else {
        OSPREY_RETURN_IF_ERROR(db_.Exec(sql, {detector_id, from_ts}).status());
      }
    }
    OSPREY_RETURN_IF_ERROR(ResetOwnTables(detector_id));
    OSPREY_RETURN_IF_ERROR(TruncatePointBlocks(detector_id, from_ts));
    return UpdateIncidents(detector_id, incidents);
  });
}

// Blocks holding points from from_ts on that start before it keep only
// their earlier points (blocks starting later are deleted whole).
Status SqlStore::TruncatePointBlocks(int64_t detector_id, int64_t from_ts) {
  OSPREY_ASSIGN_OR_RETURN(
      std::vector<StoredBlock> straddling,
      db_.List<StoredBlock>(
          "select b.series_id, b.start_ts, b.end_ts, b.n, b.data "
          "from series s join point_blocks b on b.series_id = s.id "
          "where s.detector_id = ?1 and b.start_ts > ?2 and b.start_ts < ?3 and b.end_ts >= ?3",
          {detector_id, SpanBefore(from_ts), from_ts}, ReadBlock));
  std::vector<StoredBlock> kept;
  for (const StoredBlock& b : straddling) {
    OSPREY_ASSIGN_OR_RETURN(std::optional<StoredBlock> t, TruncateBlock(b, from_ts));
    if (t) {
      kept.push_back(std::move(*t));
      continue;
    }
    OSPREY_RETURN_IF_ERROR(
        db_.Exec("delete from point_blocks where series_id = ?1 and start_ts = ?2", {b.series_id, b.start_ts})
            .status());
  }
  return points_.PutBlocks(kept);
}

// ---- Snapshots and scheduler status.

Result<std::vector<int64_t>> SqlStore::ListSnapshotTimes(int64_t detector_id) {
  return db_.List<int64_t>("select ts from snapshot_times where detector_id = ?1 order by ts", {detector_id},
                           [](const SqlRow& r) { return r.Int(0); });
}

Result<SnapshotRecord> SqlStore::LoadSnapshot(int64_t detector_id, int64_t ts) {
  SnapshotRecord out;
  out.ts = ts;
  OSPREY_ASSIGN_OR_RETURN(
      std::optional<int64_t> found,
      db_.QueryInt("select 1 from snapshot_times where detector_id = ?1 and ts = ?2", {detector_id, ts}));
  if (!found) return NotFound(fmt::format("no snapshot at {}", FormatIso(FromUnixSeconds(ts))));
  OSPREY_RETURN_IF_ERROR(
      db_.Query("select series_id, state from model_snapshots where detector_id = ?1 and ts = ?2",
                {detector_id, ts}, [&](const SqlRow& r) {
                  out.model_states[r.Int(0)] = r.Blob(1);
                  return Status::Ok();
                }));
  const std::string_view bytes = db_.dialect().bytes_order;
  OSPREY_ASSIGN_OR_RETURN(out.alert_states,
                          db_.List<AlertStateRecord>(
                              fmt::format("select alert, measure, state from alert_state_snapshots "
                                          "where detector_id = ?1 and ts = ?2 order by alert{0}, measure{0}",
                                          bytes),
                              {detector_id, ts}, [](const SqlRow& r) {
                                return AlertStateRecord{r.Text(0), r.Text(1), r.Text(2)};
                              }));
  return out;
}

Status SqlStore::PutDetectorStatus(const DetectorStatusRecord& r) {
  return Write(ReplaceRow(db_.dialect(), "detector_status", {"detector_id"},
                          {"state", "last_run_at", "next_run_at", "last_error", "retries", "pending_ts",
                           "live_from", "updated_at"}),
               {r.detector_id, r.state, r.last_run_at, r.next_run_at, r.last_error, r.retries, r.pending_ts,
                r.live_from, r.updated_at})
      .status();
}

Result<std::vector<DetectorStatusRecord>> SqlStore::ListDetectorStatus() {
  return db_.List<DetectorStatusRecord>(
      fmt::format("select s.detector_id, d.name, s.state, s.last_run_at, s.next_run_at, s.last_error, "
                  "s.retries, s.pending_ts, s.updated_at, s.live_from from detector_status s "
                  "join detectors d on d.id = s.detector_id order by d.name{}",
                  db_.dialect().bytes_order),
      {}, [](const SqlRow& row) {
        DetectorStatusRecord r;
        r.detector_id = row.Int(0);
        r.detector = row.Text(1);
        r.state = row.Text(2);
        r.last_run_at = row.OptInt(3);
        r.next_run_at = row.OptInt(4);
        r.last_error = row.Text(5);
        r.retries = row.Int(6);
        r.pending_ts = row.OptInt(7);
        r.updated_at = row.Int(8);
        r.live_from = row.OptInt(9);
        return r;
      });
}

// ---- Groups and incidents.

namespace {

constexpr std::string_view kGroupJoin =
    "from anomaly_groups g join detectors d on d.id = g.detector_id "
    "join incidents i on i.detector_id = g.detector_id and i.measure = g.measure "
    "and i.incident_ts = g.incident_ts ";

// The column of a group's time in q's statements: for incidents in time
// order their own copy of their top group's (the index of that order).
std::string_view GroupTime(const GroupQuery& q) {
  return q.incidents_only && !q.by_severity ? "i.top_ts" : "g.ts";
}

// The groups q selects (with_incident: joined to their detector and
// incident, for the list's columns; the keyset too when with_after). One per
// incident (its most severe, the earliest on ties): read from the incidents,
// one row each, not from every group. Only the filters q sets are in the
// statement, so the database picks the index of the list's filter and order
// and stops after the page. Parameters (GroupArgs): ?1 min severity, ?2
// detector, ?3 measure, ?4 since, ?5 until, ?6 limit, ?7 offset, ?8-?10 the
// keyset (ts, severity, id).
std::string GroupFilter(const GroupQuery& q, bool with_incident, bool with_after) {
  std::string from;
  if (q.incidents_only) {
    from = "from incidents i join anomaly_groups g on g.id = i.top_group_id ";
    if (with_incident) from += "join detectors d on d.id = g.detector_id ";
  } else {
    from = with_incident ? kGroupJoin : "from anomaly_groups g ";
  }
  // "+g.severity" keeps SQLite from reading a time-ordered list by the
  // severity index, and a count of incidents from reading every group by it
  // (it reads the incidents). A count of groups has no order: it reads
  // whichever index covers its filters.
  const bool plus = with_incident ? !q.by_severity : q.incidents_only;
  std::string sql = fmt::format("{}where {}g.severity >= ?1 ", from, plus ? "+" : "");
  const std::string_view ts = GroupTime(q);
  if (q.detector) sql += "and g.detector_id = (select id from detectors where name = ?2) ";
  if (q.measure) sql += "and g.measure = ?3 ";
  if (q.since) sql += fmt::format("and {} >= ?4 ", ts);
  if (q.until) sql += fmt::format("and {} < ?5 ", ts);
  if (with_after && q.after) {
    const char* later = q.newest_first ? "<" : ">";
    if (q.by_severity) {
      // Latest first, the row value starts the severity index's range at
      // the key, past the groups of its severity that came before it.
      sql += fmt::format("and {1} and (g.severity < ?9 or g.ts {0} ?8 or (g.ts = ?8 and g.id > ?10)) ", later,
                         q.newest_first ? "(g.severity, g.ts) <= (?9, ?8)" : "g.severity <= ?9");
    } else {
      sql += fmt::format(
          "and {1} {0}= ?8 and ({1} {0} ?8 or g.severity < ?9 or (g.severity = ?9 and g.id > ?10)) ", later,
          ts);
    }
  }
  return sql;
}

std::vector<SqlValue> GroupArgs(const GroupQuery& q, SqlValue limit, int64_t offset) {
  const std::optional<GroupKey>& k = q.after;
  return {q.min_severity,
          q.detector,
          q.measure,
          q.since,
          q.until,
          limit,
          std::max<int64_t>(offset, 0),
          k ? std::optional<int64_t>(k->ts) : std::nullopt,
          k ? std::optional<double>(k->severity) : std::nullopt,
          k ? std::optional<int64_t>(k->id) : std::nullopt};
}

}  // namespace

// The lists' statements are kept prepared by SQLite (a page is read many
// times a second). The count reads the groups alone: every group has its
// detector (a foreign key) and its incident (WriteChunk and ResetFrom keep
// the incidents of the groups they write in the same transaction), so the
// joins of the page would not change it, only make every counted row cost
// two more index lookups (SQLite then counts from a covering index: about
// 15 instead of 190 us for 361 groups).
Result<int64_t> SqlStore::CountGroups(const GroupQuery& q) {
  const std::vector<SqlValue> args = GroupArgs(q, db_.Limit(q.count_at_most.value_or(-1)), 0);
  int64_t count = 0;
  OSPREY_RETURN_IF_ERROR(
      db_.Run(fmt::format("select count(*) from (select 1 {} limit ?6) c", GroupFilter(q, false, false)),
              args,
              [&](const SqlRow& r) {
                count = r.Int(0);
                return Status::Ok();
              })
          .status());
  return count;
}

Result<std::vector<GroupRecord>> SqlStore::ListGroups(const GroupQuery& q) {
  const char* time_order = q.newest_first ? "desc" : "asc";
  std::string order = q.by_severity ? fmt::format("g.severity desc, g.ts {}", time_order)
                                    : fmt::format("{} {}, g.severity desc", GroupTime(q), time_order);
  return ReadGroups(fmt::format("select {} {} order by {}, g.id limit ?6 offset ?7", kGroupColumns,
                                GroupFilter(q, true, true), order),
                    GroupArgs(q, db_.Limit(q.limit), q.offset));
}

Result<GroupRecord> SqlStore::GetGroup(int64_t group_id) {
  const SqlValue id = group_id;
  OSPREY_ASSIGN_OR_RETURN(
      auto found,
      ReadGroups(fmt::format("select {} {} where g.id = ?1", kGroupColumns, kGroupJoin), {&id, 1}));
  if (found.empty()) return NotFound(fmt::format("no anomaly group {}", group_id));
  return found[0];
}

std::string SqlStore::MeasureIncidentSource(const MeasureIncidentQuery& q) {
  return q.spans_only ? std::string(kSpanColumns) : fmt::format("{} {}", kGroupColumns, kMeasureIncidentJoin);
}

std::string SqlStore::MeasureIncidentSql(const MeasureIncidentQuery& q, std::string_view source) {
  std::string sql = fmt::format("select {} where 1 = 1 ", source);
  if (q.detector) sql += "and i.detector_id = (select id from detectors where name = ?1) ";
  if (q.start_from) sql += "and i.incident_ts >= ?2 ";
  if (q.start_before) sql += "and i.incident_ts < ?3 ";
  sql += fmt::format("order by i.incident_ts {0}, i.detector_id {0}, i.measure {0} limit ?4",
                     q.newest_first ? "desc" : "asc");
  return sql;
}

std::vector<SqlValue> SqlStore::MeasureIncidentArgs(const MeasureIncidentQuery& q) const {
  return {q.detector, q.start_from, q.start_before, db_.Limit(q.limit)};
}

Result<std::vector<GroupRecord>> SqlStore::ListMeasureIncidents(const MeasureIncidentQuery& q) {
  if (!q.start_ranges.empty()) return ListMeasureIncidentsInRanges(q);
  return ReadGroups(MeasureIncidentSql(q, MeasureIncidentSource(q)), MeasureIncidentArgs(q));
}

Result<std::vector<GroupRecord>> SqlStore::ListSevereIncidents(const SevereIncidentQuery& q) {
  std::string sql = fmt::format("select {} {} where 1 = 1 ", kGroupColumns, kMeasureIncidentJoin);
  if (q.detector) sql += "and d.name = ?1 ";
  if (q.after) {
    sql +=
        "and i.severity <= ?2 and (i.severity < ?2 or i.incident_ts < ?3 or (i.incident_ts = ?3 and "
        "(i.detector_id > ?4 or (i.detector_id = ?4 and i.measure > ?5)))) ";
  }
  sql += "order by i.severity desc, i.incident_ts desc, i.detector_id, i.measure limit ?6";
  const SevereIncidentQuery::Key k = q.after.value_or(SevereIncidentQuery::Key{});
  const SqlValue args[] = {q.detector, k.severity, k.start, k.detector_id, k.measure, db_.Limit(q.limit)};
  return ReadGroups(sql, args);
}

Result<int64_t> SqlStore::GetLongestMeasureIncident() {
  OSPREY_ASSIGN_OR_RETURN(std::optional<int64_t> longest,
                          db_.QueryInt("select coalesce(max(end_ts - incident_ts), 0) from incidents"));
  return longest.value_or(0);
}

Result<std::vector<AnomalyRecord>> SqlStore::ListAnomalies(int64_t group_id) {
  return db_.List<AnomalyRecord>(
      "select a.id, a.series_id, a.ts, a.value, a.expected, a.lower, a.upper, a.severity, a.direction, "
      "a.explanation, a.group_id, s.label, s.measure, s.dims from anomalies a join series s on s.id = "
      "a.series_id "
      "where a.group_id = ?1 order by a.severity desc, a.id",
      {group_id}, [](const SqlRow& r) {
        return AnomalyRecord{r.Int(0),  r.Int(1),  r.Int(2),  r.Real(3), r.Real(4),  r.Real(5),  r.Real(6),
                             r.Real(7), r.Text(8), r.Text(9), r.Int(10), r.Text(11), r.Text(12), r.Text(13)};
      });
}

// ---- Points and data quality.

Result<std::vector<PointRecord>> SqlStore::ListPoints(int64_t series_id, int64_t from_ts, int64_t to_ts) {
  // The blocks that may hold points of [from_ts, to_ts) (a block's points
  // lie within kPointBlockSpan of its start), then the head rows.
  OSPREY_ASSIGN_OR_RETURN(
      std::vector<StoredBlock> blocks,
      db_.List<StoredBlock>(
          "select series_id, start_ts, end_ts, n, data from point_blocks where series_id = ?1 "
          "and start_ts > ?2 and start_ts < ?3 and end_ts >= ?4 order by start_ts",
          {series_id, SpanBefore(from_ts), to_ts, from_ts}, ReadBlock));
  OSPREY_ASSIGN_OR_RETURN(
      std::vector<PointRecord> head,
      db_.List<PointRecord>("select series_id, ts, value, expected, lower, upper, severity "
                            "from points where series_id = ?1 and ts >= ?2 and ts < ?3 order by ts",
                            {series_id, from_ts, to_ts}, ReadPoint));
  std::vector<PointRecord> out;
  OSPREY_RETURN_IF_ERROR(MergePoints(std::span<const StoredBlock>(blocks), std::span<const PointRecord>(head),
                                     from_ts, to_ts, [&](const PointRecord& p) { return Append(&out, p); }));
  return out;
}

Status SqlPointTables::DetectorSeries(int64_t detector_id, std::vector<int64_t>* out) {
  return sql_db_.Query("select id from series where detector_id = ?1 order by id", {detector_id},
                       [&](const SqlRow& r) {
                         out->push_back(r.Int(0));
                         return Status::Ok();
                       });
}

Status SqlStore::ForEachScoredPoint(const ScoredPointQuery& q,
                                    const std::function<Status(const PointRecord&)>& fn) {
  // Two cursors in one snapshot, blocks and head rows, each in (series,
  // time) order: the series in id order (SQLite: read first, by id, not by
  // their detector index, whose order would need a sort of every row), then
  // each one's range of the blocks' and the head rows' primary keys. No
  // sort and no temporary storage; memory holds one block (SQLite) or one
  // fetched batch of each cursor (PostgreSQL).
  const SqlDialect& d = db_.dialect();
  const int64_t since = q.since.value_or(std::numeric_limits<int64_t>::min());
  const int64_t until = q.until.value_or(std::numeric_limits<int64_t>::max());
  const SqlValue block_args[] = {q.detector_id, SpanBefore(since), until, since};
  const SqlValue head_args[] = {q.detector_id, since, until};
  // A read transaction cannot begin inside the one that keeps SQLite's new
  // series open: they are committed first.
  OSPREY_RETURN_IF_ERROR(BeforeWrite());
  return db_.InReadTransaction([&]() -> Status {
    OSPREY_ASSIGN_OR_RETURN(
        std::unique_ptr<SqlCursor> blocks,
        db_.Cursor(
            fmt::format("select b.series_id, b.start_ts, b.end_ts, b.n, b.data from series s {0} "
                        "point_blocks b on b.series_id = s.id where {1}s.detector_id = ?1 and "
                        "b.start_ts > ?2 and b.start_ts < ?3 and b.end_ts >= ?4 order by s.id, b.start_ts",
                        d.join_in_order, d.no_index),
            block_args));
    OSPREY_ASSIGN_OR_RETURN(
        std::unique_ptr<SqlCursor> head,
        db_.Cursor(fmt::format("select p.series_id, p.ts, p.value, p.expected, p.lower, p.upper, p.severity "
                               "from series s {0} points p on p.series_id = s.id where {1}s.detector_id = ?1 "
                               "and p.ts >= ?2 and p.ts < ?3 order by s.id, p.ts",
                               d.join_in_order, d.no_index),
                   head_args));
    // A stream for MergePoints over a cursor.
    auto stream = [](SqlCursor& c, auto read) {
      return [&c, read](auto* out) -> Result<bool> {
        OSPREY_ASSIGN_OR_RETURN(const SqlRow* row, c.Next());
        if (row == nullptr) return false;
        *out = read(*row);
        return true;
      };
    };
    return MergePoints(stream(*blocks, ReadBlock), stream(*head, ReadPoint), since, until,
                       [&](const PointRecord& p) {
                         if (!MatchesScoredPointQuery(q, p)) return Status::Ok();
                         return fn(p);
                       });
  });
}

Result<std::vector<DataQualityRecord>> SqlStore::ListQuality(int64_t detector_id, int64_t from_ts,
                                                             int64_t to_ts) {
  return db_.List<DataQualityRecord>(
      "select ts, rows_read, rows_rejected, rows_filtered, series_seen, series_missing, details "
      "from data_quality where detector_id = ?1 and ts >= ?2 and ts < ?3 order by ts",
      {detector_id, from_ts, to_ts}, [](const SqlRow& r) {
        return DataQualityRecord{r.Int(0), r.Int(1), r.Int(2), r.Int(3), r.Int(4), r.Int(5), r.Text(6)};
      });
}

// ---- Alerts.

Result<std::vector<AlertStateRecord>> SqlStore::LoadAlertStates(int64_t detector_id) {
  return db_.List<AlertStateRecord>(fmt::format("select alert, measure, state from alert_state where "
                                                "detector_id = ?1 order by alert{0}, measure{0}",
                                                db_.dialect().bytes_order),
                                    {detector_id}, [](const SqlRow& r) {
                                      return AlertStateRecord{r.Text(0), r.Text(1), r.Text(2)};
                                    });
}

namespace {

// The messages q selects (only the filters it sets, so the database reads
// the index of the filter in id order): ?1 detector, ?2 status, ?5 after_id.
std::string OutboxFilter(const OutboxQuery& q, bool with_after) {
  std::string sql = "where 1 = 1 ";
  if (q.detector) sql += "and o.detector_id = (select id from detectors where name = ?1) ";
  if (q.status) sql += "and o.status = ?2 ";
  if (with_after && q.after_id) sql += fmt::format("and o.id {} ?5 ", q.newest_first ? "<" : ">");
  return sql;
}

}  // namespace

Result<std::vector<OutboxRecord>> SqlStore::ListOutbox(const OutboxQuery& q) {
  const SqlValue args[] = {q.detector, q.status, db_.Limit(q.limit), std::max<int64_t>(q.offset, 0),
                           q.after_id};
  std::vector<OutboxRecord> out;
  OSPREY_RETURN_IF_ERROR(
      db_.Run(fmt::format("select o.id, o.detector_id, d.name, o.alert, o.kind, o.measure, "
                          "coalesce(g.ts, o.incident_ts), coalesce(o.group_id, 0), "
                          "o.incident_ts, o.severity, o.idempotency_key, o.status, o.attempts, "
                          "o.next_attempt_at, o.last_error, o.created_at, o.delivered_at "
                          "from alert_outbox o join detectors d on d.id = o.detector_id "
                          "left join anomaly_groups g on g.id = o.group_id "
                          "{} order by o.id {} limit ?3 offset ?4",
                          OutboxFilter(q, true), q.newest_first ? "desc" : "asc"),
              args,
              [&](const SqlRow& row) {
                OutboxRecord r;
                r.id = row.Int(0);
                r.detector_id = row.Int(1);
                r.detector = row.Text(2);
                r.alert = row.Text(3);
                r.kind = row.Text(4);
                r.measure = row.Text(5);
                r.group_ts = row.Int(6);
                r.group_id = row.Int(7);
                r.incident_ts = row.Int(8);
                r.severity = row.Real(9);
                r.idempotency_key = row.Text(10);
                r.status = row.Text(11);
                r.attempts = row.Int(12);
                r.next_attempt_at = row.Int(13);
                r.last_error = row.Text(14);
                r.created_at = row.Int(15);
                r.delivered_at = row.OptInt(16);
                return Append(&out, std::move(r));
              })
          .status());
  return out;
}

Result<int64_t> SqlStore::CountOutbox(const OutboxQuery& q) {
  OSPREY_ASSIGN_OR_RETURN(
      std::optional<int64_t> count,
      db_.QueryInt(fmt::format("select count(*) from (select 1 from alert_outbox o {} limit ?3) c",
                               OutboxFilter(q, false)),
                   {q.detector, q.status, db_.Limit(q.count_at_most.value_or(-1))}));
  return count.value_or(0);
}

Status SqlStore::UpdateOutbox(const OutboxRecord& r) {
  OSPREY_ASSIGN_OR_RETURN(
      int64_t changed, Write("update alert_outbox set status = ?2, attempts = ?3, "
                             "next_attempt_at = ?4, last_error = ?5, delivered_at = ?6 "
                             "where id = ?1",
                             {r.id, r.status, r.attempts, r.next_attempt_at, r.last_error, r.delivered_at}));
  if (changed == 0) return NotFound(fmt::format("no outbox message {}", r.id));
  return Status::Ok();
}

Result<bool> SqlStore::QueueDetectorMessage(const OutboxRecord& o) {
  if (!IsFailingKind(o.kind)) return InvalidArgument(fmt::format("'{}' is not a detector message", o.kind));
  OSPREY_ASSIGN_OR_RETURN(
      int64_t changed,
      Write("insert into alert_outbox(detector_id, alert, kind, measure, group_id, incident_ts, "
            "severity, idempotency_key, next_attempt_at, created_at) "
            "values (?1, ?2, ?3, '', null, ?4, 0, ?5, ?6, ?7) "
            "on conflict(idempotency_key) do nothing",
            {o.detector_id, o.alert, o.kind, o.incident_ts, FailingKey(o), o.next_attempt_at, o.created_at}));
  return changed > 0;
}

// ---- Feedback, totals, tokens, silences.

Result<int64_t> SqlStore::AddFeedback(const FeedbackRecord& f) {
  OSPREY_RETURN_IF_ERROR(BeforeWrite());
  OSPREY_ASSIGN_OR_RETURN(
      std::optional<int64_t> id,
      db_.QueryInt("insert into feedback(detector_id, group_id, series_id, ts, relevant, "
                   "direction, value, expected, created_at, comment, author) "
                   "values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) returning id",
                   {f.detector_id, f.group_id, f.series_id, f.ts, f.relevant ? 1 : 0, f.direction, f.value,
                    f.expected, f.created_at, f.comment, f.author}));
  if (!id) return Internal("feedback insert returned no id");
  return *id;
}

Result<std::vector<FeedbackRecord>> SqlStore::ReadFeedback(std::string_view where, int64_t key) {
  return db_.List<FeedbackRecord>(
      fmt::format(
          "select f.id, f.detector_id, f.group_id, f.series_id, f.ts, f.relevant, f.direction, f.value, "
          "f.expected, f.created_at, f.comment, f.author, s.label from feedback f "
          "join series s on s.id = f.series_id {} order by f.id",
          where),
      {key}, [](const SqlRow& r) {
        return FeedbackRecord{r.Int(0),      r.Int(1),   r.Int(2),  r.Int(3),  r.Int(4),
                              r.Int(5) != 0, r.Text(6),  r.Real(7), r.Real(8), r.Int(9),
                              r.Text(10),    r.Text(11), r.Text(12)};
      });
}

Result<std::vector<FeedbackRecord>> SqlStore::ListFeedback(int64_t detector_id) {
  return ReadFeedback("where f.detector_id = ?1", detector_id);
}

Result<std::vector<FeedbackRecord>> SqlStore::ListGroupFeedback(int64_t group_id) {
  return ReadFeedback("where f.group_id = ?1", group_id);
}

Result<StoreTotals> SqlStore::Totals() {
  std::optional<StoreTotals> t;
  OSPREY_RETURN_IF_ERROR(
      db_.Query("select (select count(*) from detectors), (select count(*) from data_quality), "
                "(select coalesce(sum(rows_read), 0) from data_quality), "
                "(select coalesce(sum(rows_rejected), 0) from data_quality), "
                "(select count(*) from anomalies), (select count(*) from anomaly_groups), "
                "(select count(*) from alert_outbox where status = 'pending'), "
                "(select count(*) from alert_outbox where status = 'delivered'), "
                "(select count(*) from alert_outbox where status = 'dead'), "
                "(select coalesce(sum(attempts), 0) from alert_outbox), "
                "(select count(*) from alert_outbox where status = 'silenced')",
                {}, [&](const SqlRow& r) {
                  t.emplace();
                  t->detectors = r.Int(0);
                  t->intervals = r.Int(1);
                  t->rows_read = r.Int(2);
                  t->rows_rejected = r.Int(3);
                  t->anomalies = r.Int(4);
                  t->groups = r.Int(5);
                  t->alerts_pending = r.Int(6);
                  t->alerts_delivered = r.Int(7);
                  t->alerts_dead = r.Int(8);
                  t->delivery_attempts = r.Int(9);
                  t->alerts_silenced = r.Int(10);
                  return Status::Ok();
                }));
  if (!t) return Internal("totals returned no row");
  return *t;
}

Result<int64_t> SqlStore::CreateToken(const TokenRecord& t) {
  OSPREY_RETURN_IF_ERROR(BeforeWrite());
  OSPREY_ASSIGN_OR_RETURN(
      std::optional<int64_t> id,
      db_.QueryInt(
          "insert into api_tokens(name, role, hash, created_at) values (?1, ?2, ?3, ?4) returning id",
          {t.name, t.role, t.hash, t.created_at}));
  if (!id) return Internal("token insert returned no id");
  return *id;
}

Result<std::vector<TokenRecord>> SqlStore::ListTokens() {
  return db_.List<TokenRecord>(
      "select id, name, role, hash, created_at, revoked_at from api_tokens order by id", {},
      [](const SqlRow& r) {
        return TokenRecord{r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), r.OptInt(5)};
      });
}

Status SqlStore::RevokeToken(int64_t id, int64_t at) {
  OSPREY_ASSIGN_OR_RETURN(
      int64_t changed,
      Write("update api_tokens set revoked_at = ?2 where id = ?1 and revoked_at is null", {id, at}));
  if (changed == 0) return NotFound(fmt::format("no active token {}", id));
  return Status::Ok();
}

Result<int64_t> SqlStore::CreateSilence(const SilenceRecord& r) {
  OSPREY_RETURN_IF_ERROR(BeforeWrite());
  OSPREY_ASSIGN_OR_RETURN(
      std::optional<int64_t> id,
      db_.QueryInt("insert into silences(detector, measure, matchers, starts_at, ends_at, comment, "
                   "created_by, created_at) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) returning id",
                   {r.detector, r.measure, r.matchers, r.starts_at, r.ends_at, r.comment, r.created_by,
                    r.created_at}));
  if (!id) return Internal("silence insert returned no id");
  return *id;
}

Result<std::vector<SilenceRecord>> SqlStore::ListSilences() {
  return db_.List<SilenceRecord>(
      "select id, detector, measure, matchers, starts_at, ends_at, comment, created_by, created_at "
      "from silences order by id desc",
      {}, [](const SqlRow& r) {
        return SilenceRecord{r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4),
                             r.Int(5), r.Text(6), r.Text(7), r.Int(8)};
      });
}

Status SqlStore::ExpireSilence(int64_t id, int64_t at) {
  OSPREY_ASSIGN_OR_RETURN(int64_t changed,
                          Write("update silences set ends_at = ?2 where id = ?1 and ends_at > ?2", {id, at}));
  if (changed == 0) return NotFound(fmt::format("no active silence {}", id));
  return Status::Ok();
}

}  // namespace osprey::store::internal
