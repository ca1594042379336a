// The SQLite implementation of Store. WAL mode with synchronous=NORMAL:
// a committed chunk survives a process crash (the daemon's failure mode);
// a power cut may lose the last commits but never corrupts the file.
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include "osprey/store/migrations.h"
#include "osprey/store/point_block.h"
#include "osprey/store/sql_db.h"
#include "osprey/store/store.h"

namespace osprey::store {
namespace {

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status status() const {
    if (rc_ == SQLITE_OK) return Status::Ok();
    return Internal(fmt::format("state store: {}", sqlite3_errmsg(db_)));
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::optional<double>& v) {
    if (v) sqlite3_bind_double(s_, i, *v);
    else sqlite3_bind_null(s_, i);
    return *this;
  }
  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, const std::optional<int64_t>& v) {
    if (v) sqlite3_bind_int64(s_, i, *v);
    else sqlite3_bind_null(s_, i);
    return *this;
  }
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // true: a row is ready; false: done. Errors go to *status.
  bool Step(Status* status) {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) *status = StepError(rc);
    return false;
  }
  Status Run() {
    Status s;
    while (Step(&s)) {
    }
    sqlite3_reset(s_);
    return s;
  }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int ParamCount() const { return sqlite3_bind_parameter_count(s_); }
  bool ReadOnly() const { return sqlite3_stmt_readonly(s_) != 0; }
  bool IsNull(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  int64_t Int(int c) const { return sqlite3_column_int64(s_, c); }
  double Real(int c) const { return sqlite3_column_double(s_, c); }
  std::optional<double> OptReal(int c) const {
    if (sqlite3_column_type(s_, c) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(s_, c);
  }
  std::optional<int64_t> OptInt(int c) const {
    if (sqlite3_column_type(s_, c) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(s_, c);
  }
  std::string Blob(int c) const { return Text(c); }
  std::string Text(int c) const {
    const void* p = sqlite3_column_blob(s_, c);
    int n = sqlite3_column_bytes(s_, c);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }

 private:
  Status StepError(int rc) const {
    std::string m = fmt::format("state store: {}", sqlite3_errmsg(db_));
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Unavailable(m);
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return DataLoss(m);
    return Internal(m);
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

// The seam (sql_db.h) over one SQLite connection: statements prepared once
// and kept (the write path runs the same few millions of times).
class SqliteDb final : public internal::SqlDb {
 public:
  explicit SqliteDb(sqlite3* db) : db_(db) {}

  const internal::SqlDialect& dialect() const override { return internal::SqliteDialect(); }

  // The statement of `sql`, reset and with its bindings cleared: kept for
  // the connection's lifetime, up to kMaxKept statements (then one at a
  // time). A statement that does not prepare is not kept.
  Result<Stmt*> Prepared(std::string_view sql) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) {
      it->second->Reset();
      return it->second.get();
    }
    auto s = std::make_unique<Stmt>(db_, sql);
    OSPREY_RETURN_IF_ERROR(s->status());
    if (stmts_.size() >= kMaxKept) {
      once_ = std::move(s);
      return once_.get();
    }
    return stmts_.emplace(std::string(sql), std::move(s)).first->second.get();
  }

  Result<int64_t> Run(std::string_view sql, std::span<const internal::SqlValue> args,
                      const internal::RowFn& row) override {
    OSPREY_ASSIGN_OR_RETURN(Stmt * s, Prepared(sql));
    const size_t n = std::min(args.size(), static_cast<size_t>(s->ParamCount()));
    for (size_t k = 0; k < n; ++k) Bind(*s, static_cast<int>(k + 1), args[k]);
    Status st;
    int64_t rows = 0;
    while (s->Step(&st)) {
      ++rows;
      if (!row) continue;
      Status r = row(Row(*s));
      if (!r.ok()) {
        s->Reset();
        return r;
      }
    }
    const bool writes = !s->ReadOnly();
    s->Reset();
    OSPREY_RETURN_IF_ERROR(st);
    return writes ? static_cast<int64_t>(sqlite3_changes(db_)) : rows;
  }

  Status Script(std::string_view sql) override {
    char* err = nullptr;
    std::string s(sql);
    if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown error";
      sqlite3_free(err);
      return Internal(fmt::format("state store: {}", m));
    }
    return Status::Ok();
  }
  Status Begin() override { return Script(dialect().begin); }
  Status Commit() override { return Script("commit"); }
  Status Rollback() override { return Script("rollback"); }

 private:
  static constexpr size_t kMaxKept = 512;

  class Row final : public internal::SqlRow {
   public:
    explicit Row(const Stmt& s) : s_(s) {}
    bool IsNull(int c) const override { return s_.IsNull(c); }
    int64_t Int(int c) const override { return s_.Int(c); }
    double Real(int c) const override { return s_.Real(c); }
    std::string Text(int c) const override { return s_.Text(c); }
    std::string Blob(int c) const override { return s_.Blob(c); }

   private:
    const Stmt& s_;
  };

  static void Bind(Stmt& s, int i, const internal::SqlValue& v) {
    using T = internal::SqlValue::Type;
    if (v.null) return;  // bindings are cleared: NULL
    switch (v.type) {
      case T::kInt: s.Bind(i, v.i); break;
      case T::kReal: s.Bind(i, v.d); break;
      case T::kText: s.Bind(i, v.s); break;
      case T::kBlob: s.BindBlob(i, v.s); break;
    }
  }

  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Stmt>, std::less<>> stmts_;
  std::unique_ptr<Stmt> once_;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    (void)FlushSeries();
    stmts_.clear();
    sqlite3_close(db_);
  }

  // A statement prepared once and kept for the store's lifetime (the write
  // path runs the same few statements millions of times), reset and with
  // its bindings cleared.
  Stmt& Prepared(std::string_view sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) it = stmts_.emplace(std::string(sql), std::make_unique<Stmt>(db_, sql)).first;
    it->second->Reset();
    return *it->second;
  }

  // The SQL of point storage (point_block.h): prepared statements, one
  // series at a time (each a range of a primary key).
  class Tables final : public PointTables {
   public:
    explicit Tables(SqliteStore& store) : store_(store) {}
    Status DetectorSeries(int64_t detector_id, std::vector<int64_t>* out) override {
      Stmt& s = store_.Prepared("select id from series where detector_id = ?1 order by id");
      OSPREY_RETURN_IF_ERROR(s.status());
      s.Bind(1, detector_id);
      Status st;
      while (s.Step(&st)) out->push_back(s.Int(0));
      return st;
    }
    Status ReadHead(const std::vector<int64_t>& series, int64_t from, int64_t to,
                    std::vector<PointRecord>* out) override {
      return ReadPerSeries(
          "select series_id, ts, value, expected, lower, upper, severity from points "
          "where series_id = ?1 and ts >= ?2 and ts < ?3 order by ts",
          series, from, to, out, ReadPoint);
    }
    Status ReadBlocks(const std::vector<int64_t>& series, int64_t from, int64_t to,
                      std::vector<StoredBlock>* out) override {
      return ReadPerSeries(
          "select series_id, start_ts, end_ts, n, data from point_blocks "
          "where series_id = ?1 and start_ts >= ?2 and start_ts < ?3 order by start_ts",
          series, from, to, out, ReadBlock);
    }
    Status DeleteHead(const std::vector<int64_t>& series, int64_t from, int64_t to) override {
      Stmt& s = store_.Prepared("delete from points where series_id = ?1 and ts >= ?2 and ts < ?3");
      OSPREY_RETURN_IF_ERROR(s.status());
      for (int64_t id : series) {
        OSPREY_RETURN_IF_ERROR(s.Bind(1, id).Bind(2, from).Bind(3, to).Run());
        s.Reset();
      }
      return Status::Ok();
    }
    Status PutBlocks(const std::vector<StoredBlock>& blocks) override {
      Stmt& s = store_.Prepared(
          "insert or replace into point_blocks(series_id, start_ts, end_ts, n, data) "
          "values (?1, ?2, ?3, ?4, ?5)");
      OSPREY_RETURN_IF_ERROR(s.status());
      for (const StoredBlock& b : blocks) {
        OSPREY_RETURN_IF_ERROR(s.Bind(1, b.series_id)
                                   .Bind(2, b.start_ts)
                                   .Bind(3, b.end_ts)
                                   .Bind(4, b.n)
                                   .BindBlob(5, b.data)
                                   .Run());
        s.Reset();
      }
      return Status::Ok();
    }
    Status PutHead(const std::vector<PointRecord>& points) override {
      Stmt& s = store_.Prepared(
          "insert or replace into points(series_id, ts, value, expected, lower, upper, severity) "
          "values (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      OSPREY_RETURN_IF_ERROR(s.status());
      for (const PointRecord& p : points) {
        s.Bind(1, p.series_id)
            .Bind(2, p.ts)
            .Bind(3, p.value)
            .Bind(4, p.expected)
            .Bind(5, p.lower)
            .Bind(6, p.upper)
            .Bind(7, p.severity);
        OSPREY_RETURN_IF_ERROR(s.Run());
        s.Reset();
      }
      return Status::Ok();
    }
    // Columns series_id, ts, value, expected, lower, upper, severity.
    // Runs `sql` (?1 a series id, ?2 and ?3 a time range) once per series,
    // appending read(row) for each row.
    template <typename T, typename Read>
    Status ReadPerSeries(std::string_view sql, const std::vector<int64_t>& series, int64_t from, int64_t to,
                         std::vector<T>* out, Read read) {
      Stmt& s = store_.Prepared(sql);
      OSPREY_RETURN_IF_ERROR(s.status());
      for (int64_t id : series) {
        s.Bind(1, id).Bind(2, from).Bind(3, to);
        Status st;
        while (s.Step(&st)) out->push_back(read(s));
        OSPREY_RETURN_IF_ERROR(st);
        s.Reset();
      }
      return Status::Ok();
    }
    static PointRecord ReadPoint(const Stmt& s) {
      return {s.Int(0), s.Int(1), s.OptReal(2), s.OptReal(3), s.OptReal(4), s.OptReal(5), s.OptReal(6)};
    }
    // Columns series_id, start_ts, end_ts, n, data.
    static StoredBlock ReadBlock(const Stmt& s) {
      return {s.Int(0), s.Int(1), s.Int(2), s.Int(3), s.Blob(4)};
    }

   private:
    SqliteStore& store_;
  };

  // Streams for MergePoints that step `s`.
  static NextBlock BlocksOf(Stmt& s, Status* st) {
    return [&s, st](StoredBlock* out) -> Result<bool> {
      if (!s.Step(st)) {
        OSPREY_RETURN_IF_ERROR(*st);
        return false;
      }
      *out = Tables::ReadBlock(s);
      return true;
    };
  }
  static NextHead HeadOf(Stmt& s, Status* st) {
    return [&s, st](PointRecord* out) -> Result<bool> {
      if (!s.Step(st)) {
        OSPREY_RETURN_IF_ERROR(*st);
        return false;
      }
      *out = Tables::ReadPoint(s);
      return true;
    };
  }

  // Commits the series EnsureSeries created since the last commit. Every
  // other write calls it first, so a series is durable before anything that
  // refers to it, and no other write waits in the open transaction.
  Status FlushSeries() {
    if (!series_open_) return Status::Ok();
    series_open_ = false;
    return Exec("commit");
  }

  Status Exec(std::string_view sql) {
    char* err = nullptr;
    std::string s(sql);
    if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown error";
      sqlite3_free(err);
      return Internal(fmt::format("state store: {}", m));
    }
    return Status::Ok();
  }

  // Brings the schema up to date (migrations.h); a store from before point
  // blocks seals the point rows it had when point_blocks is created.
  Status Migrate(const std::string& path) {
    SqliteDb db(db_);
    return internal::RunMigrations(db, path, [&](const internal::MigrationFile& m) -> Status {
      if (m.name != "point_blocks") return Status::Ok();
      return SealOldPoints().WithContext(fmt::format("sealing the points of '{}'", path));
    });
  }

  // A store from before point blocks has every point as a row: seals each
  // detector's rows of the days before its watermark into blocks.
  Status SealOldPoints() {
    Stmt marks(db_, "select detector_id, next_ts from watermarks order by detector_id");
    OSPREY_RETURN_IF_ERROR(marks.status());
    std::vector<std::pair<int64_t, int64_t>> detectors;
    Status st;
    while (marks.Step(&st)) detectors.push_back({marks.Int(0), marks.Int(1)});
    OSPREY_RETURN_IF_ERROR(st);
    for (const auto& [detector, watermark] : detectors) {
      OSPREY_RETURN_IF_ERROR(SealHead(point_tables_, detector, PointBlockStart(watermark)));
    }
    return Status::Ok();
  }

  Result<int64_t> UpsertDetector(const std::string& name, const std::string& config) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_,
           "insert into detectors(name, config) values (?1, ?2) "
           "on conflict(name) do update set config = excluded.config returning id");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, name).Bind(2, config);
    Status st;
    if (!s.Step(&st)) return st.ok() ? Internal("upsert returned no id") : st;
    return s.Int(0);
  }

  Result<DetectorRecord> GetDetector(const std::string& name) override {
    Stmt s(db_, "select id, name, config, active, origin from detectors where name = ?1");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, name);
    Status st;
    if (!s.Step(&st)) {
      OSPREY_RETURN_IF_ERROR(st);
      return NotFound(fmt::format("no detector named '{}'", name));
    }
    return DetectorRecord{s.Int(0), s.Text(1), s.Text(2), s.Int(3) != 0, s.Text(4)};
  }

  Result<std::vector<DetectorRecord>> ListDetectors() override {
    Stmt s(db_, "select id, name, config, active, origin from detectors order by name");
    OSPREY_RETURN_IF_ERROR(s.status());
    std::vector<DetectorRecord> out;
    Status st;
    while (s.Step(&st)) out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Int(3) != 0, s.Text(4)});
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  // Runs a one-statement change bound to `name`; NotFound when no row changed.
  Status ChangeDetector(std::string_view sql, const std::string& name, std::optional<int64_t> arg) {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_, sql);
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, name);
    if (arg) s.Bind(2, *arg);
    OSPREY_RETURN_IF_ERROR(s.Run());
    if (sqlite3_changes(db_) == 0) return NotFound(fmt::format("no detector named '{}'", name));
    return Status::Ok();
  }

  Status DeleteDetector(const std::string& name) override {
    return ChangeDetector("delete from detectors where name = ?1", name, std::nullopt);
  }

  Status SetDetectorActive(const std::string& name, bool active) override {
    return ChangeDetector("update detectors set active = ?2 where name = ?1", name, active ? 1 : 0);
  }

  Status SetDetectorOrigin(const std::string& name, const std::string& origin) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_, "update detectors set origin = ?2 where name = ?1");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, name).Bind(2, origin);
    OSPREY_RETURN_IF_ERROR(s.Run());
    if (sqlite3_changes(db_) == 0) return NotFound(fmt::format("no detector named '{}'", name));
    return Status::Ok();
  }

  Result<std::vector<SeriesRecord>> ListSeries(int64_t detector_id) override {
    Stmt s(db_, "select id, measure, dims, label from series where detector_id = ?1 order by id");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, detector_id);
    std::vector<SeriesRecord> out;
    Status st;
    while (s.Step(&st)) out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3)});
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  // New series are inserted in one open transaction, committed by the next
  // write (FlushSeries): a detector's first interval creates every series,
  // and one commit per series would write the WAL once per series.
  Result<int64_t> EnsureSeries(int64_t detector_id, const std::string& measure, const std::string& dims,
                               const std::string& label) override {
    Stmt& s = Prepared(
        "insert into series(detector_id, measure, dims, label) values (?1, ?2, ?3, ?4) "
        "on conflict(detector_id, measure, dims) do update set label = excluded.label "
        "returning id");
    OSPREY_RETURN_IF_ERROR(s.status());
    if (!series_open_) {
      OSPREY_RETURN_IF_ERROR(Exec("begin immediate"));
      series_open_ = true;
    }
    s.Bind(1, detector_id).Bind(2, measure).Bind(3, dims).Bind(4, label);
    Status st;
    const bool row = s.Step(&st);
    const int64_t id = row ? s.Int(0) : 0;
    s.Reset();
    if (!row) {
      series_open_ = false;
      (void)Exec("rollback");
      return st.ok() ? Internal("series insert returned no id") : st;
    }
    return id;
  }

  Result<std::map<int64_t, std::string>> LoadModelStates(int64_t detector_id) override {
    Stmt s(db_,
           "select m.series_id, m.state from model_state m join series s on s.id = m.series_id "
           "where s.detector_id = ?1");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, detector_id);
    std::map<int64_t, std::string> out;
    Status st;
    while (s.Step(&st)) out[s.Int(0)] = s.Text(1);
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  Result<std::optional<int64_t>> GetWatermark(int64_t detector_id) override {
    Stmt s(db_, "select next_ts from watermarks where detector_id = ?1");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, detector_id);
    Status st;
    if (s.Step(&st)) return std::optional<int64_t>(s.Int(0));
    OSPREY_RETURN_IF_ERROR(st);
    return std::optional<int64_t>();
  }

  Status CommitChunk(const ChunkResult& c) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    OSPREY_RETURN_IF_ERROR(Exec("begin immediate"));
    Status s = WriteChunk(c);
    if (!s.ok()) {
      (void)Exec("rollback");
      return s.WithContext(fmt::format("committing intervals [{}, {})",
                                       FormatIso(FromUnixSeconds(c.first_ts)),
                                       FormatIso(FromUnixSeconds(c.next_watermark))));
    }
    return Exec("commit");
  }

  Status WriteChunk(const ChunkResult& c) {
    // Re-running a range replaces what it produced before. Groups that come
    // back (same detector, measure, interval) keep their id, so the outbox's
    // idempotency keys "{group_id}.{alert}" stay the same and a re-run sends
    // no message twice; groups that do not come back are deleted (with their
    // pending messages).
    // The incidents this chunk changes: those of the groups it replaces and
    // of the groups it writes.
    std::set<std::pair<std::string, int64_t>> incidents;
    {
      Stmt& sel = Prepared(
          "select distinct measure, incident_ts from anomaly_groups where detector_id = ?1 "
          "and ts >= ?2 and ts < ?3");
      OSPREY_RETURN_IF_ERROR(sel.status());
      sel.Bind(1, c.detector_id).Bind(2, c.first_ts).Bind(3, c.next_watermark);
      Status st;
      while (sel.Step(&st)) incidents.insert({sel.Text(0), sel.Int(1)});
      OSPREY_RETURN_IF_ERROR(st);
      for (const GroupRecord& g : c.groups)
        incidents.insert({g.measure, g.incident_ts != 0 ? g.incident_ts : g.ts});
    }
    {
      std::set<std::pair<std::string, int64_t>> keep;
      for (const GroupRecord& g : c.groups) keep.insert({g.measure, g.ts});
      Stmt& sel = Prepared(
          "select id, measure, ts from anomaly_groups where detector_id = ?1 and ts >= ?2 and ts < ?3");
      OSPREY_RETURN_IF_ERROR(sel.status());
      sel.Bind(1, c.detector_id).Bind(2, c.first_ts).Bind(3, c.next_watermark);
      std::vector<int64_t> gone;
      Status st;
      while (sel.Step(&st)) {
        if (!keep.count({sel.Text(1), sel.Int(2)})) gone.push_back(sel.Int(0));
      }
      OSPREY_RETURN_IF_ERROR(st);
      Stmt& del = Prepared("delete from anomaly_groups where id = ?1");
      OSPREY_RETURN_IF_ERROR(del.status());
      for (int64_t id : gone) {
        OSPREY_RETURN_IF_ERROR(del.Bind(1, id).Run());
        del.Reset();
      }
    }
    {
      Stmt& del = Prepared("delete from anomalies where detector_id = ?1 and ts >= ?2 and ts < ?3");
      OSPREY_RETURN_IF_ERROR(del.status());
      OSPREY_RETURN_IF_ERROR(del.Bind(1, c.detector_id).Bind(2, c.first_ts).Bind(3, c.next_watermark).Run());
    }
    OSPREY_RETURN_IF_ERROR(WritePoints(point_tables_, c.detector_id, c.first_ts, c.next_watermark, c.points));
    std::vector<int64_t> group_ids;
    {
      Stmt& ins = Prepared(
          "insert into anomaly_groups(detector_id, measure, ts, end_ts, severity, anomaly_count, "
          "contributions, root_causes, related, incident_ts) "
          "values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
          "on conflict(detector_id, measure, ts) do update set end_ts = excluded.end_ts, "
          "severity = excluded.severity, anomaly_count = excluded.anomaly_count, "
          "contributions = excluded.contributions, root_causes = excluded.root_causes, "
          "related = excluded.related, incident_ts = excluded.incident_ts");
      OSPREY_RETURN_IF_ERROR(ins.status());
      Stmt& find =
          Prepared("select id from anomaly_groups where detector_id = ?1 and measure = ?2 and ts = ?3");
      OSPREY_RETURN_IF_ERROR(find.status());
      for (const GroupRecord& g : c.groups) {
        ins.Bind(1, c.detector_id)
            .Bind(2, g.measure)
            .Bind(3, g.ts)
            .Bind(4, g.end_ts)
            .Bind(5, g.severity)
            .Bind(6, g.anomaly_count)
            .Bind(7, g.contributions)
            .Bind(8, g.root_causes)
            .Bind(9, g.related)
            .Bind(10, g.incident_ts != 0 ? g.incident_ts : g.ts);
        OSPREY_RETURN_IF_ERROR(ins.Run());
        ins.Reset();
        find.Bind(1, c.detector_id).Bind(2, g.measure).Bind(3, g.ts);
        Status st;
        if (!find.Step(&st)) {
          OSPREY_RETURN_IF_ERROR(st);
          return Internal("a group just written is missing");
        }
        group_ids.push_back(find.Int(0));
        find.Reset();
      }
    }
    {
      Stmt& ins = Prepared(
          "insert or replace into anomalies(detector_id, series_id, group_id, ts, value, expected, "
          "lower, upper, severity, direction, explanation) "
          "values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
      OSPREY_RETURN_IF_ERROR(ins.status());
      for (const AnomalyRecord& a : c.anomalies) {
        if (a.group_index < 0 || static_cast<size_t>(a.group_index) >= group_ids.size()) {
          return Internal("anomaly refers to a group that is not in the chunk");
        }
        ins.Bind(1, c.detector_id)
            .Bind(2, a.series_id)
            .Bind(3, group_ids[static_cast<size_t>(a.group_index)])
            .Bind(4, a.ts)
            .Bind(5, a.value)
            .Bind(6, a.expected)
            .Bind(7, a.lower)
            .Bind(8, a.upper)
            .Bind(9, a.severity)
            .Bind(10, a.direction)
            .Bind(11, a.explanation);
        OSPREY_RETURN_IF_ERROR(ins.Run());
        ins.Reset();
      }
    }
    {
      Stmt& ins = Prepared("insert or replace into model_state(series_id, state) values (?1, ?2)");
      OSPREY_RETURN_IF_ERROR(ins.status());
      for (const auto& [series_id, state] : c.model_states) {
        ins.Bind(1, series_id).BindBlob(2, state);
        OSPREY_RETURN_IF_ERROR(ins.Run());
        ins.Reset();
      }
    }
    {
      Stmt& ins = Prepared(
          "insert or replace into data_quality(detector_id, ts, rows_read, rows_rejected, "
          "rows_filtered, series_seen, series_missing, details) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      OSPREY_RETURN_IF_ERROR(ins.status());
      for (const DataQualityRecord& q : c.quality) {
        ins.Bind(1, c.detector_id)
            .Bind(2, q.ts)
            .Bind(3, q.rows_read)
            .Bind(4, q.rows_rejected)
            .Bind(5, q.rows_filtered)
            .Bind(6, q.series_seen)
            .Bind(7, q.series_missing)
            .Bind(8, q.details);
        OSPREY_RETURN_IF_ERROR(ins.Run());
        ins.Reset();
      }
    }
    {
      Stmt& find =
          Prepared("select id from anomaly_groups where detector_id = ?1 and measure = ?2 and ts = ?3");
      OSPREY_RETURN_IF_ERROR(find.status());
      Stmt& ins = Prepared(
          "insert or ignore into alert_outbox(detector_id, alert, kind, measure, group_id, "
          "incident_ts, severity, idempotency_key, next_attempt_at, created_at) "
          "values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
      OSPREY_RETURN_IF_ERROR(ins.status());
      for (const OutboxRecord& o : c.outbox) {
        if (IsNoDataKind(o.kind)) {
          const std::string key = fmt::format("nodata.{}.{}.{}{}", c.detector_id, o.alert, o.incident_ts,
                                              o.kind == "no_data_resolve" ? ".resolved" : "");
          ins.Bind(1, c.detector_id)
              .Bind(2, o.alert)
              .Bind(3, o.kind)
              .Bind(4, o.measure)
              .Bind(5, std::optional<double>())
              .Bind(6, o.incident_ts)
              .Bind(7, o.severity)
              .Bind(8, key)
              .Bind(9, o.next_attempt_at)
              .Bind(10, o.created_at);
          OSPREY_RETURN_IF_ERROR(ins.Run());
          ins.Reset();
          continue;
        }
        find.Bind(1, c.detector_id).Bind(2, o.measure).Bind(3, o.group_ts);
        Status st;
        const bool found = find.Step(&st);
        OSPREY_RETURN_IF_ERROR(st);
        if (!found) {
          return Internal(fmt::format("alert '{}' refers to no group of measure '{}' at {}", o.alert,
                                      o.measure, FormatIso(FromUnixSeconds(o.group_ts))));
        }
        const int64_t group_id = find.Int(0);
        find.Reset();
        const std::string key =
            fmt::format("{}.{}{}", group_id, o.alert, o.kind == "resolve" ? ".resolved" : "");
        ins.Bind(1, c.detector_id)
            .Bind(2, o.alert)
            .Bind(3, o.kind)
            .Bind(4, o.measure)
            .Bind(5, group_id)
            .Bind(6, o.incident_ts)
            .Bind(7, o.severity)
            .Bind(8, key)
            .Bind(9, o.next_attempt_at)
            .Bind(10, o.created_at);
        OSPREY_RETURN_IF_ERROR(ins.Run());
        ins.Reset();
      }
    }
    {
      Stmt& ins = Prepared(
          "insert or replace into alert_state(detector_id, alert, measure, state) "
          "values (?1, ?2, ?3, ?4)");
      OSPREY_RETURN_IF_ERROR(ins.status());
      for (const AlertStateRecord& a : c.alert_states) {
        ins.Bind(1, c.detector_id).Bind(2, a.alert).Bind(3, a.measure).Bind(4, a.state);
        OSPREY_RETURN_IF_ERROR(ins.Run());
        ins.Reset();
      }
    }
    OSPREY_RETURN_IF_ERROR(UpdateIncidents(c.detector_id, incidents));
    OSPREY_RETURN_IF_ERROR(WriteSnapshots(c));
    Stmt& wm = Prepared(
        "insert into watermarks(detector_id, next_ts) values (?1, ?2) "
        "on conflict(detector_id) do update set next_ts = excluded.next_ts");
    OSPREY_RETURN_IF_ERROR(wm.status());
    return wm.Bind(1, c.detector_id).Bind(2, c.next_watermark).Run();
  }

  // Recomputes the incidents row of each (measure, incident_ts) from its
  // groups, or deletes it when none is left.
  Status UpdateIncidents(int64_t detector_id, const std::set<std::pair<std::string, int64_t>>& keys) {
    for (const auto& [measure, incident_ts] : keys) {
      Stmt& del =
          Prepared("delete from incidents where detector_id = ?1 and measure = ?2 and incident_ts = ?3");
      OSPREY_RETURN_IF_ERROR(del.status());
      OSPREY_RETURN_IF_ERROR(del.Bind(1, detector_id).Bind(2, measure).Bind(3, incident_ts).Run());
      Stmt& ins = Prepared(kIncidentUpdate);
      OSPREY_RETURN_IF_ERROR(ins.status());
      OSPREY_RETURN_IF_ERROR(ins.Bind(1, detector_id).Bind(2, measure).Bind(3, incident_ts).Run());
    }
    return Status::Ok();
  }
  static constexpr std::string_view kIncidentUpdate =
      "insert into incidents select detector_id, measure, incident_ts, max(end_ts), count(*), "
      "max(severity), (select i.id from anomaly_groups i where i.detector_id = ?1 and i.measure = ?2 "
      "and i.incident_ts = ?3 order by i.severity desc, i.ts limit 1) from anomaly_groups "
      "where detector_id = ?1 and measure = ?2 and incident_ts = ?3 "
      "group by detector_id, measure, incident_ts";

  Status WriteSnapshots(const ChunkResult& c) {
    auto run = [&](std::string_view sql, int64_t a, int64_t b) -> Status {
      Stmt& st = Prepared(sql);
      OSPREY_RETURN_IF_ERROR(st.status());
      return st.Bind(1, c.detector_id).Bind(2, a).Bind(3, b).Run();
    };
    for (std::string_view table : {"model_snapshots", "alert_state_snapshots", "snapshot_times"}) {
      if (!c.snapshots.empty()) {
        OSPREY_RETURN_IF_ERROR(
            run(fmt::format("delete from {} where detector_id = ?1 and ts >= ?2 and ts < ?3", table),
                c.first_ts, c.next_watermark));
      }
      if (c.prune_snapshots_before) {
        OSPREY_RETURN_IF_ERROR(
            run(fmt::format("delete from {} where detector_id = ?1 and ts < ?2 and ?3 = ?3", table),
                *c.prune_snapshots_before, 0));
      }
    }
    if (c.snapshots.empty()) return Status::Ok();
    Stmt& t = Prepared("insert into snapshot_times(detector_id, ts) values (?1, ?2)");
    Stmt& m =
        Prepared("insert into model_snapshots(detector_id, ts, series_id, state) values (?1, ?2, ?3, ?4)");
    Stmt& a = Prepared(
        "insert into alert_state_snapshots(detector_id, ts, alert, measure, state) "
        "values (?1, ?2, ?3, ?4, ?5)");
    OSPREY_RETURN_IF_ERROR(t.status());
    OSPREY_RETURN_IF_ERROR(m.status());
    OSPREY_RETURN_IF_ERROR(a.status());
    for (const SnapshotRecord& snap : c.snapshots) {
      OSPREY_RETURN_IF_ERROR(t.Bind(1, c.detector_id).Bind(2, snap.ts).Run());
      t.Reset();
      for (const auto& [series_id, state] : snap.model_states) {
        m.Bind(1, c.detector_id).Bind(2, snap.ts).Bind(3, series_id).BindBlob(4, state);
        OSPREY_RETURN_IF_ERROR(m.Run());
        m.Reset();
      }
      for (const AlertStateRecord& r : snap.alert_states) {
        a.Bind(1, c.detector_id).Bind(2, snap.ts).Bind(3, r.alert).Bind(4, r.measure).Bind(5, r.state);
        OSPREY_RETURN_IF_ERROR(a.Run());
        a.Reset();
      }
    }
    return Status::Ok();
  }

  Result<std::vector<int64_t>> ListSnapshotTimes(int64_t detector_id) override {
    Stmt s(db_, "select ts from snapshot_times where detector_id = ?1 order by ts");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, detector_id);
    std::vector<int64_t> out;
    Status st;
    while (s.Step(&st)) out.push_back(s.Int(0));
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  Result<SnapshotRecord> LoadSnapshot(int64_t detector_id, int64_t ts) override {
    SnapshotRecord r;
    r.ts = ts;
    Status st;
    {
      Stmt s(db_, "select 1 from snapshot_times where detector_id = ?1 and ts = ?2");
      OSPREY_RETURN_IF_ERROR(s.status());
      s.Bind(1, detector_id).Bind(2, ts);
      if (!s.Step(&st)) {
        OSPREY_RETURN_IF_ERROR(st);
        return NotFound(fmt::format("no snapshot at {}", FormatIso(FromUnixSeconds(ts))));
      }
    }
    {
      Stmt s(db_, "select series_id, state from model_snapshots where detector_id = ?1 and ts = ?2");
      OSPREY_RETURN_IF_ERROR(s.status());
      s.Bind(1, detector_id).Bind(2, ts);
      while (s.Step(&st)) r.model_states[s.Int(0)] = s.Blob(1);
      OSPREY_RETURN_IF_ERROR(st);
    }
    {
      Stmt s(db_,
             "select alert, measure, state from alert_state_snapshots where detector_id = ?1 and ts = ?2");
      OSPREY_RETURN_IF_ERROR(s.status());
      s.Bind(1, detector_id).Bind(2, ts);
      while (s.Step(&st)) r.alert_states.push_back({s.Text(0), s.Text(1), s.Text(2)});
      OSPREY_RETURN_IF_ERROR(st);
    }
    return r;
  }

  Status PutDetectorStatus(const DetectorStatusRecord& r) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_,
           "insert or replace into detector_status(detector_id, state, last_run_at, next_run_at, "
           "last_error, retries, pending_ts, live_from, updated_at) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
           "?9)");
    OSPREY_RETURN_IF_ERROR(s.status());
    return s.Bind(1, r.detector_id)
        .Bind(2, r.state)
        .Bind(3, r.last_run_at)
        .Bind(4, r.next_run_at)
        .Bind(5, r.last_error)
        .Bind(6, r.retries)
        .Bind(7, r.pending_ts)
        .Bind(8, r.live_from)
        .Bind(9, r.updated_at)
        .Run();
  }

  Result<std::vector<DetectorStatusRecord>> ListDetectorStatus() override {
    Stmt s(db_,
           "select s.detector_id, d.name, s.state, s.last_run_at, s.next_run_at, s.last_error, "
           "s.retries, s.pending_ts, s.updated_at, s.live_from from detector_status s "
           "join detectors d on d.id = s.detector_id order by d.name");
    OSPREY_RETURN_IF_ERROR(s.status());
    std::vector<DetectorStatusRecord> out;
    Status st;
    while (s.Step(&st)) {
      DetectorStatusRecord r;
      r.detector_id = s.Int(0);
      r.detector = s.Text(1);
      r.state = s.Text(2);
      r.last_run_at = s.OptInt(3);
      r.next_run_at = s.OptInt(4);
      r.last_error = s.Text(5);
      r.retries = s.Int(6);
      r.pending_ts = s.OptInt(7);
      r.updated_at = s.Int(8);
      r.live_from = s.OptInt(9);
      out.push_back(std::move(r));
    }
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  Status ResetFrom(int64_t detector_id, int64_t from_ts) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    OSPREY_RETURN_IF_ERROR(Exec("begin immediate"));
    Status s;
    // Incidents with a group from from_ts on lose it.
    std::set<std::pair<std::string, int64_t>> incidents;
    {
      Stmt& sel =
          Prepared("select measure, incident_ts from incidents where detector_id = ?1 and end_ts > ?2");
      s = sel.status();
      if (s.ok()) {
        sel.Bind(1, detector_id).Bind(2, from_ts);
        while (sel.Step(&s)) incidents.insert({sel.Text(0), sel.Int(1)});
      }
    }
    for (std::string_view sql :
         {"delete from model_state where series_id in (select id from series where detector_id = ?1)",
          "delete from watermarks where detector_id = ?1", "delete from alert_state where detector_id = ?1",
          "delete from model_snapshots where detector_id = ?1",
          "delete from alert_state_snapshots where detector_id = ?1",
          "delete from snapshot_times where detector_id = ?1",
          "delete from anomaly_groups where detector_id = ?1 and ts >= ?2",
          "delete from anomalies where detector_id = ?1 and ts >= ?2",
          "delete from data_quality where detector_id = ?1 and ts >= ?2",
          "delete from points where ts >= ?2 and series_id in "
          "(select id from series where detector_id = ?1)",
          "delete from point_blocks where start_ts >= ?2 and series_id in "
          "(select id from series where detector_id = ?1)"}) {
      if (!s.ok()) break;
      Stmt st(db_, sql);
      s = st.status();
      if (s.ok()) {
        st.Bind(1, detector_id);
        if (sql.find("?2") != std::string_view::npos) st.Bind(2, from_ts);
        s = st.Run();
      }
      if (!s.ok()) break;
    }
    if (s.ok()) s = TruncatePointBlocks(detector_id, from_ts);
    if (s.ok()) s = UpdateIncidents(detector_id, incidents);
    if (!s.ok()) {
      (void)Exec("rollback");
      return s;
    }
    return Exec("commit");
  }

  // Blocks holding points from from_ts on that start before it keep only
  // their earlier points (blocks starting later are deleted whole).
  Status TruncatePointBlocks(int64_t detector_id, int64_t from_ts) {
    std::vector<StoredBlock> straddling;
    {
      Stmt s(db_,
             "select b.series_id, b.start_ts, b.end_ts, b.n, b.data "
             "from series s join point_blocks b on b.series_id = s.id "
             "where s.detector_id = ?1 and b.start_ts > ?2 and b.start_ts < ?3 and b.end_ts >= ?3");
      OSPREY_RETURN_IF_ERROR(s.status());
      s.Bind(1, detector_id).Bind(2, SpanBefore(from_ts)).Bind(3, from_ts);
      Status st;
      while (s.Step(&st)) straddling.push_back(Tables::ReadBlock(s));
      OSPREY_RETURN_IF_ERROR(st);
    }
    std::vector<StoredBlock> kept;
    for (const StoredBlock& b : straddling) {
      OSPREY_ASSIGN_OR_RETURN(std::optional<StoredBlock> t, TruncateBlock(b, from_ts));
      if (t) {
        kept.push_back(std::move(*t));
        continue;
      }
      Stmt del(db_, "delete from point_blocks where series_id = ?1 and start_ts = ?2");
      OSPREY_RETURN_IF_ERROR(del.status());
      OSPREY_RETURN_IF_ERROR(del.Bind(1, b.series_id).Bind(2, b.start_ts).Run());
    }
    return point_tables_.PutBlocks(kept);
  }

  // The incident's figures come from its incidents row.
  static constexpr std::string_view kGroupColumns =
      "g.id, g.detector_id, d.name, g.measure, g.ts, g.end_ts, g.severity, g.anomaly_count, "
      "g.contributions, g.root_causes, g.related, g.incident_ts, i.end_ts, i.intervals, i.severity";
  static constexpr std::string_view kGroupJoin =
      "from anomaly_groups g join detectors d on d.id = g.detector_id "
      "join incidents i on i.detector_id = g.detector_id and i.measure = g.measure "
      "and i.incident_ts = g.incident_ts ";

  static GroupRecord ReadGroup(const Stmt& s) {
    GroupRecord g{s.Int(0),  s.Int(1), s.Text(2), s.Text(3), s.Int(4),  s.Int(5),
                  s.Real(6), s.Int(7), s.Text(8), s.Text(9), s.Text(10)};
    g.incident_ts = s.Int(11);
    g.incident_end_ts = s.Int(12);
    g.incident_intervals = s.Int(13);
    g.incident_severity = s.Real(14);
    return g;
  }

  // The groups q selects. One per incident (its most severe, the earliest
  // on ties): read from the incidents, one row each, not from every group.
  // Only the filters q sets are in the statement, so SQLite picks the index
  // of the list's filter and order and stops after the page. Parameters:
  // ?1 min severity, ?2 detector, ?3 measure, ?4 since, ?5 until, ?6 limit,
  // ?7 offset, ?8-?10 the keyset (ts, severity, id).
  static std::string GroupFilter(const GroupQuery& q, bool with_after) {
    // "+g.severity" keeps SQLite from reading a time-ordered list by the
    // severity index.
    std::string sql =
        fmt::format("{} where {}g.severity >= ?1 ",
                    q.incidents_only ? "from incidents i join anomaly_groups g on g.id = i.top_group_id "
                                       "join detectors d on d.id = g.detector_id"
                                     : kGroupJoin,
                    q.by_severity ? "" : "+");
    if (q.detector) sql += "and g.detector_id = (select id from detectors where name = ?2) ";
    if (q.measure) sql += "and g.measure = ?3 ";
    if (q.since) sql += "and g.ts >= ?4 ";
    if (q.until) sql += "and g.ts < ?5 ";
    if (with_after && q.after) {
      const char* later = q.newest_first ? "<" : ">";
      if (q.by_severity) {
        // Latest first, the row value starts the severity index's range at
        // the key, past the groups of its severity that came before it.
        sql += fmt::format("and {1} and (g.severity < ?9 or g.ts {0} ?8 or (g.ts = ?8 and g.id > ?10)) ",
                           later, q.newest_first ? "(g.severity, g.ts) <= (?9, ?8)" : "g.severity <= ?9");
      } else {
        sql += fmt::format(
            "and g.ts {0}= ?8 and (g.ts {0} ?8 or g.severity < ?9 or (g.severity = ?9 and g.id > ?10)) ",
            later);
      }
    }
    return sql;
  }

  static void BindGroupFilter(Stmt& s, const GroupQuery& q) {
    s.Bind(1, q.min_severity);
    if (q.detector) s.Bind(2, *q.detector);
    if (q.measure) s.Bind(3, *q.measure);
    if (q.since) s.Bind(4, *q.since);
    if (q.until) s.Bind(5, *q.until);
  }

  // The lists' statements are kept prepared (a page is read many times a
  // second), and reset after the read so they hold no read transaction.
  Result<int64_t> CountGroups(const GroupQuery& q) override {
    Stmt& s = Prepared(fmt::format("select count(*) from (select 1 {} limit ?6)", GroupFilter(q, false)));
    OSPREY_RETURN_IF_ERROR(s.status());
    BindGroupFilter(s, q);
    s.Bind(6, q.count_at_most.value_or(-1));
    Status st;
    const bool row = s.Step(&st);
    const int64_t count = row ? s.Int(0) : 0;
    s.Reset();
    if (!row) return st.ok() ? Internal("count returned no row") : st;
    return count;
  }

  Result<std::vector<GroupRecord>> ListGroups(const GroupQuery& q) override {
    const char* time_order = q.newest_first ? "desc" : "asc";
    std::string order = q.by_severity ? fmt::format("g.severity desc, g.ts {}", time_order)
                                      : fmt::format("g.ts {}, g.severity desc", time_order);
    std::string sql = fmt::format("select {} {} order by {}, g.id limit ?6 offset ?7", kGroupColumns,
                                  GroupFilter(q, true), order);
    Stmt& s = Prepared(sql);
    OSPREY_RETURN_IF_ERROR(s.status());
    BindGroupFilter(s, q);
    s.Bind(6, q.limit).Bind(7, q.offset);
    if (q.after) s.Bind(8, q.after->ts).Bind(9, q.after->severity).Bind(10, q.after->id);
    auto groups = ReadGroups(s);
    s.Reset();
    return groups;
  }

  Result<std::vector<GroupRecord>> ReadGroups(Stmt& s) {
    std::vector<GroupRecord> out;
    Status st;
    while (s.Step(&st)) out.push_back(ReadGroup(s));
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  static constexpr std::string_view kMeasureIncidentJoin =
      "from incidents i join anomaly_groups g on g.id = i.top_group_id "
      "join detectors d on d.id = i.detector_id ";
  // The columns of ReadGroup from the incidents row alone.
  static constexpr std::string_view kSpanColumns =
      "i.top_group_id, i.detector_id, '', i.measure, i.incident_ts, i.end_ts, i.severity, 0, '', '', '', "
      "i.incident_ts, i.end_ts, i.intervals, i.severity from incidents i";

  Result<std::vector<GroupRecord>> ListMeasureIncidents(const MeasureIncidentQuery& q) override {
    std::string sql = fmt::format(
        "select {} where 1 ",
        q.spans_only ? std::string(kSpanColumns) : fmt::format("{} {}", kGroupColumns, kMeasureIncidentJoin));
    if (!q.start_ranges.empty()) {
      // A join with the ranges as constant rows: SQLite reads each range
      // from the start index (an OR of ranges loses it to the detector's).
      std::string rows;
      for (size_t k = 0; k < q.start_ranges.size(); ++k) {
        rows += fmt::format("{}(?{}, ?{})", k ? ", " : "", 5 + 2 * k, 6 + 2 * k);
      }
      sql.insert(
          sql.size() - std::string_view("where 1 ").size(),
          fmt::format("join (values {}) r on i.incident_ts >= r.column1 and i.incident_ts < r.column2 ",
                      rows));
    }
    if (q.detector) sql += "and i.detector_id = (select id from detectors where name = ?1) ";
    if (q.start_from) sql += "and i.incident_ts >= ?2 ";
    if (q.start_before) sql += "and i.incident_ts < ?3 ";
    const char* dir = q.newest_first ? "desc" : "asc";
    sql += fmt::format("order by i.incident_ts {0}, i.detector_id {0}, i.measure {0} limit ?4", dir);
    Stmt s(db_, sql);
    OSPREY_RETURN_IF_ERROR(s.status());
    if (q.detector) s.Bind(1, *q.detector);
    if (q.start_from) s.Bind(2, *q.start_from);
    if (q.start_before) s.Bind(3, *q.start_before);
    s.Bind(4, q.limit);
    for (size_t k = 0; k < q.start_ranges.size(); ++k) {
      s.Bind(static_cast<int>(5 + 2 * k), q.start_ranges[k].first)
          .Bind(static_cast<int>(6 + 2 * k), q.start_ranges[k].second);
    }
    return ReadGroups(s);
  }

  Result<std::vector<GroupRecord>> ListSevereIncidents(const SevereIncidentQuery& q) override {
    std::string sql = fmt::format("select {} {} where 1 ", kGroupColumns, kMeasureIncidentJoin);
    if (q.detector) sql += "and d.name = ?1 ";
    if (q.after) {
      sql +=
          "and i.severity <= ?2 and (i.severity < ?2 or i.incident_ts < ?3 or (i.incident_ts = ?3 and "
          "(i.detector_id > ?4 or (i.detector_id = ?4 and i.measure > ?5)))) ";
    }
    sql += "order by i.severity desc, i.incident_ts desc, i.detector_id, i.measure limit ?6";
    Stmt s(db_, sql);
    OSPREY_RETURN_IF_ERROR(s.status());
    if (q.detector) s.Bind(1, *q.detector);
    if (q.after) {
      s.Bind(2, q.after->severity)
          .Bind(3, q.after->start)
          .Bind(4, q.after->detector_id)
          .Bind(5, q.after->measure);
    }
    s.Bind(6, q.limit);
    return ReadGroups(s);
  }

  Result<int64_t> GetLongestMeasureIncident() override {
    Stmt s(db_, "select coalesce(max(end_ts - incident_ts), 0) from incidents");
    OSPREY_RETURN_IF_ERROR(s.status());
    Status st;
    if (!s.Step(&st)) return st.ok() ? Internal("max returned no row") : st;
    return s.Int(0);
  }

  Result<GroupRecord> GetGroup(int64_t group_id) override {
    Stmt s(db_, fmt::format("select {} {} where g.id = ?1", kGroupColumns, kGroupJoin));
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, group_id);
    Status st;
    if (!s.Step(&st)) {
      OSPREY_RETURN_IF_ERROR(st);
      return NotFound(fmt::format("no anomaly group {}", group_id));
    }
    return ReadGroup(s);
  }

  Result<std::vector<AnomalyRecord>> ListAnomalies(int64_t group_id) override {
    Stmt s(db_,
           "select a.id, a.series_id, a.ts, a.value, a.expected, a.lower, a.upper, a.severity, "
           "a.direction, a.explanation, a.group_id, s.label, s.measure, s.dims "
           "from anomalies a join series s on s.id = a.series_id where a.group_id = ?1 "
           "order by a.severity desc, a.id");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, group_id);
    std::vector<AnomalyRecord> out;
    Status st;
    while (s.Step(&st)) {
      out.push_back(AnomalyRecord{s.Int(0), s.Int(1), s.Int(2), s.Real(3), s.Real(4), s.Real(5), s.Real(6),
                                  s.Real(7), s.Text(8), s.Text(9), s.Int(10), s.Text(11), s.Text(12),
                                  s.Text(13)});
    }
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  Result<std::vector<PointRecord>> ListPoints(int64_t series_id, int64_t from_ts, int64_t to_ts) override {
    // The blocks that may hold points of [from_ts, to_ts) (a block's points
    // lie within kPointBlockSpan of its start), then the head rows.
    Stmt b(db_,
           "select series_id, start_ts, end_ts, n, data from point_blocks "
           "where series_id = ?1 and start_ts > ?2 and start_ts < ?3 and end_ts >= ?4 order by start_ts");
    Stmt h(db_,
           "select series_id, ts, value, expected, lower, upper, severity from points "
           "where series_id = ?1 and ts >= ?2 and ts < ?3 order by ts");
    OSPREY_RETURN_IF_ERROR(b.status());
    OSPREY_RETURN_IF_ERROR(h.status());
    b.Bind(1, series_id).Bind(2, SpanBefore(from_ts)).Bind(3, to_ts).Bind(4, from_ts);
    h.Bind(1, series_id).Bind(2, from_ts).Bind(3, to_ts);
    std::vector<PointRecord> out;
    Status bst, hst;
    OSPREY_RETURN_IF_ERROR(
        MergePoints(BlocksOf(b, &bst), HeadOf(h, &hst), from_ts, to_ts, [&](const PointRecord& p) {
          out.push_back(p);
          return Status::Ok();
        }));
    return out;
  }

  Status ForEachScoredPoint(const ScoredPointQuery& q,
                            const std::function<Status(const PointRecord&)>& fn) override {
    // Series in id order (the cross join and +detector_id keep SQLite from
    // starting at the series index, whose order would need a sort of every
    // row), then each one's range of the blocks' and the head rows' primary
    // keys: no sort, no temporary storage, one block in memory at a time.
    const int64_t since = q.since.value_or(std::numeric_limits<int64_t>::min());
    const int64_t until = q.until.value_or(std::numeric_limits<int64_t>::max());
    Stmt b(db_,
           "select b.series_id, b.start_ts, b.end_ts, b.n, b.data "
           "from series s cross join point_blocks b on b.series_id = s.id "
           "where +s.detector_id = ?1 and b.start_ts > ?2 and b.start_ts < ?3 and b.end_ts >= ?4 "
           "order by s.id, b.start_ts");
    Stmt h(db_,
           "select p.series_id, p.ts, p.value, p.expected, p.lower, p.upper, p.severity "
           "from series s cross join points p on p.series_id = s.id "
           "where +s.detector_id = ?1 and p.ts >= ?2 and p.ts < ?3 order by s.id, p.ts");
    OSPREY_RETURN_IF_ERROR(b.status());
    OSPREY_RETURN_IF_ERROR(h.status());
    b.Bind(1, q.detector_id).Bind(2, SpanBefore(since)).Bind(3, until).Bind(4, since);
    h.Bind(1, q.detector_id).Bind(2, since).Bind(3, until);
    Status bst, hst;
    return MergePoints(BlocksOf(b, &bst), HeadOf(h, &hst), since, until, [&](const PointRecord& p) {
      if (!MatchesScoredPointQuery(q, p)) return Status::Ok();
      return fn(p);
    });
  }

  Result<std::vector<DataQualityRecord>> ListQuality(int64_t detector_id, int64_t from_ts,
                                                     int64_t to_ts) override {
    Stmt s(db_,
           "select ts, rows_read, rows_rejected, rows_filtered, series_seen, series_missing, details "
           "from data_quality where detector_id = ?1 and ts >= ?2 and ts < ?3 order by ts");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, detector_id).Bind(2, from_ts).Bind(3, to_ts);
    std::vector<DataQualityRecord> out;
    Status st;
    while (s.Step(&st)) {
      out.push_back({s.Int(0), s.Int(1), s.Int(2), s.Int(3), s.Int(4), s.Int(5), s.Text(6)});
    }
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  Result<std::vector<AlertStateRecord>> LoadAlertStates(int64_t detector_id) override {
    Stmt s(db_,
           "select alert, measure, state from alert_state where detector_id = ?1 "
           "order by alert, measure");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, detector_id);
    std::vector<AlertStateRecord> out;
    Status st;
    while (s.Step(&st)) out.push_back({s.Text(0), s.Text(1), s.Text(2)});
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  Result<std::vector<OutboxRecord>> ListOutbox(const OutboxQuery& q) override {
    Stmt s(db_, fmt::format("select o.id, o.detector_id, d.name, o.alert, o.kind, o.measure, "
                            "coalesce(g.ts, o.incident_ts), coalesce(o.group_id, 0), "
                            "o.incident_ts, o.severity, o.idempotency_key, o.status, o.attempts, "
                            "o.next_attempt_at, o.last_error, o.created_at, o.delivered_at "
                            "from alert_outbox o join detectors d on d.id = o.detector_id "
                            "left join anomaly_groups g on g.id = o.group_id "
                            "{} order by o.id {} limit ?3 offset ?4",
                            OutboxFilter(q, true), q.newest_first ? "desc" : "asc"));
    OSPREY_RETURN_IF_ERROR(s.status());
    if (q.detector) s.Bind(1, *q.detector);
    if (q.status) s.Bind(2, *q.status);
    s.Bind(3, q.limit).Bind(4, q.offset);
    if (q.after_id) s.Bind(5, *q.after_id);
    std::vector<OutboxRecord> out;
    Status st;
    while (s.Step(&st)) {
      OutboxRecord r;
      r.id = s.Int(0);
      r.detector_id = s.Int(1);
      r.detector = s.Text(2);
      r.alert = s.Text(3);
      r.kind = s.Text(4);
      r.measure = s.Text(5);
      r.group_ts = s.Int(6);
      r.group_id = s.Int(7);
      r.incident_ts = s.Int(8);
      r.severity = s.Real(9);
      r.idempotency_key = s.Text(10);
      r.status = s.Text(11);
      r.attempts = s.Int(12);
      r.next_attempt_at = s.Int(13);
      r.last_error = s.Text(14);
      r.created_at = s.Int(15);
      if (auto d = s.OptReal(16)) r.delivered_at = static_cast<int64_t>(*d);
      out.push_back(std::move(r));
    }
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  // The messages q selects (only the filters it sets, so SQLite reads the
  // index of the filter in id order): ?1 detector, ?2 status, ?5 after_id.
  static std::string OutboxFilter(const OutboxQuery& q, bool with_after) {
    std::string sql = "where 1 ";
    if (q.detector) sql += "and o.detector_id = (select id from detectors where name = ?1) ";
    if (q.status) sql += "and o.status = ?2 ";
    if (with_after && q.after_id) sql += fmt::format("and o.id {} ?5 ", q.newest_first ? "<" : ">");
    return sql;
  }

  Result<int64_t> CountOutbox(const OutboxQuery& q) override {
    Stmt s(db_, fmt::format("select count(*) from (select 1 from alert_outbox o {} limit ?3)",
                            OutboxFilter(q, false)));
    OSPREY_RETURN_IF_ERROR(s.status());
    if (q.detector) s.Bind(1, *q.detector);
    if (q.status) s.Bind(2, *q.status);
    s.Bind(3, q.count_at_most.value_or(-1));
    Status st;
    if (!s.Step(&st)) return st.ok() ? Internal("count returned no row") : st;
    return s.Int(0);
  }

  Status UpdateOutbox(const OutboxRecord& r) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_,
           "update alert_outbox set status = ?2, attempts = ?3, next_attempt_at = ?4, "
           "last_error = ?5, delivered_at = ?6 where id = ?1");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, r.id).Bind(2, r.status).Bind(3, r.attempts).Bind(4, r.next_attempt_at).Bind(5, r.last_error);
    if (r.delivered_at) s.Bind(6, *r.delivered_at);
    OSPREY_RETURN_IF_ERROR(s.Run());
    if (sqlite3_changes(db_) == 0) return NotFound(fmt::format("no outbox message {}", r.id));
    return Status::Ok();
  }

  Result<int64_t> AddFeedback(const FeedbackRecord& f) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_,
           "insert into feedback(detector_id, group_id, series_id, ts, relevant, direction, value, "
           "expected, created_at, comment, author) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
           "returning id");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, f.detector_id)
        .Bind(2, f.group_id)
        .Bind(3, f.series_id)
        .Bind(4, f.ts)
        .Bind(5, int64_t{f.relevant ? 1 : 0})
        .Bind(6, f.direction)
        .Bind(7, f.value)
        .Bind(8, f.expected)
        .Bind(9, f.created_at)
        .Bind(10, f.comment)
        .Bind(11, f.author);
    Status st;
    if (!s.Step(&st)) return st.ok() ? Internal("feedback insert returned no id") : st;
    return s.Int(0);
  }

  static constexpr std::string_view kFeedbackSelect =
      "select f.id, f.detector_id, f.group_id, f.series_id, f.ts, f.relevant, f.direction, "
      "f.value, f.expected, f.created_at, f.comment, f.author, s.label from feedback f "
      "join series s on s.id = f.series_id ";

  Result<std::vector<FeedbackRecord>> ReadFeedback(std::string_view where, int64_t key) {
    Stmt s(db_, std::string(kFeedbackSelect) + std::string(where) + " order by f.id");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, key);
    std::vector<FeedbackRecord> out;
    Status st;
    while (s.Step(&st)) {
      out.push_back({s.Int(0), s.Int(1), s.Int(2), s.Int(3), s.Int(4), s.Int(5) != 0, s.Text(6), s.Real(7),
                     s.Real(8), s.Int(9), s.Text(10), s.Text(11), s.Text(12)});
    }
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  Result<std::vector<FeedbackRecord>> ListFeedback(int64_t detector_id) override {
    return ReadFeedback("where f.detector_id = ?1", detector_id);
  }

  Result<std::vector<FeedbackRecord>> ListGroupFeedback(int64_t group_id) override {
    return ReadFeedback("where f.group_id = ?1", group_id);
  }

  Result<StoreTotals> Totals() override {
    Stmt s(db_,
           "select (select count(*) from detectors), (select count(*) from data_quality), "
           "(select coalesce(sum(rows_read), 0) from data_quality), "
           "(select coalesce(sum(rows_rejected), 0) from data_quality), "
           "(select count(*) from anomalies), (select count(*) from anomaly_groups), "
           "(select count(*) from alert_outbox where status = 'pending'), "
           "(select count(*) from alert_outbox where status = 'delivered'), "
           "(select count(*) from alert_outbox where status = 'dead'), "
           "(select coalesce(sum(attempts), 0) from alert_outbox), "
           "(select count(*) from alert_outbox where status = 'silenced')");
    OSPREY_RETURN_IF_ERROR(s.status());
    Status st;
    if (!s.Step(&st)) return st.ok() ? Internal("totals returned no row") : st;
    StoreTotals t;
    t.detectors = s.Int(0);
    t.intervals = s.Int(1);
    t.rows_read = s.Int(2);
    t.rows_rejected = s.Int(3);
    t.anomalies = s.Int(4);
    t.groups = s.Int(5);
    t.alerts_pending = s.Int(6);
    t.alerts_delivered = s.Int(7);
    t.alerts_dead = s.Int(8);
    t.delivery_attempts = s.Int(9);
    t.alerts_silenced = s.Int(10);
    return t;
  }

  Result<int64_t> CreateToken(const TokenRecord& t) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_,
           "insert into api_tokens(name, role, hash, created_at) values (?1, ?2, ?3, ?4) "
           "returning id");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, t.name).Bind(2, t.role).Bind(3, t.hash).Bind(4, t.created_at);
    Status st;
    if (!s.Step(&st)) return st.ok() ? Internal("token insert returned no id") : st;
    return s.Int(0);
  }

  Result<std::vector<TokenRecord>> ListTokens() override {
    Stmt s(db_, "select id, name, role, hash, created_at, revoked_at from api_tokens order by id");
    OSPREY_RETURN_IF_ERROR(s.status());
    std::vector<TokenRecord> out;
    Status st;
    while (s.Step(&st)) {
      std::optional<int64_t> revoked;
      if (s.OptReal(5)) revoked = s.Int(5);
      out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4), revoked});
    }
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  Status RevokeToken(int64_t id, int64_t at) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_, "update api_tokens set revoked_at = ?2 where id = ?1 and revoked_at is null");
    OSPREY_RETURN_IF_ERROR(s.status());
    OSPREY_RETURN_IF_ERROR(s.Bind(1, id).Bind(2, at).Run());
    if (sqlite3_changes(db_) == 0) return NotFound(fmt::format("no active token {}", id));
    return Status::Ok();
  }

  Result<bool> QueueDetectorMessage(const OutboxRecord& o) override {
    if (!IsFailingKind(o.kind)) return InvalidArgument(fmt::format("'{}' is not a detector message", o.kind));
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_,
           "insert or ignore into alert_outbox(detector_id, alert, kind, measure, group_id, incident_ts, "
           "severity, idempotency_key, next_attempt_at, created_at) "
           "values (?1, ?2, ?3, '', null, ?4, 0, ?5, ?6, ?7)");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, o.detector_id).Bind(2, o.alert).Bind(3, o.kind).Bind(4, o.incident_ts);
    s.Bind(5, FailingKey(o)).Bind(6, o.next_attempt_at).Bind(7, o.created_at);
    OSPREY_RETURN_IF_ERROR(s.Run());
    return sqlite3_changes(db_) > 0;
  }

  Result<int64_t> CreateSilence(const SilenceRecord& r) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_,
           "insert into silences(detector, measure, matchers, starts_at, ends_at, comment, "
           "created_by, created_at) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) returning id");
    OSPREY_RETURN_IF_ERROR(s.status());
    s.Bind(1, r.detector).Bind(2, r.measure).Bind(3, r.matchers).Bind(4, r.starts_at);
    s.Bind(5, r.ends_at).Bind(6, r.comment).Bind(7, r.created_by).Bind(8, r.created_at);
    Status st;
    if (!s.Step(&st)) return st.ok() ? Internal("silence insert returned no id") : st;
    return s.Int(0);
  }

  Result<std::vector<SilenceRecord>> ListSilences() override {
    Stmt s(db_,
           "select id, detector, measure, matchers, starts_at, ends_at, comment, created_by, "
           "created_at from silences order by id desc");
    OSPREY_RETURN_IF_ERROR(s.status());
    std::vector<SilenceRecord> out;
    Status st;
    while (s.Step(&st)) {
      out.push_back(
          {s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4), s.Int(5), s.Text(6), s.Text(7), s.Int(8)});
    }
    OSPREY_RETURN_IF_ERROR(st);
    return out;
  }

  Status ExpireSilence(int64_t id, int64_t at) override {
    OSPREY_RETURN_IF_ERROR(FlushSeries());
    Stmt s(db_, "update silences set ends_at = ?2 where id = ?1 and ends_at > ?2");
    OSPREY_RETURN_IF_ERROR(s.status());
    OSPREY_RETURN_IF_ERROR(s.Bind(1, id).Bind(2, at).Run());
    if (sqlite3_changes(db_) == 0) return NotFound(fmt::format("no active silence {}", id));
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Stmt>, std::less<>> stmts_;
  // EnsureSeries has an open transaction of new series (FlushSeries).
  bool series_open_ = false;
  Tables point_tables_{*this};
};

}  // namespace

int CurrentSchemaVersion() {
  return static_cast<int>(internal::MigrationsOf(internal::SqliteDialect()).size());
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Unavailable(fmt::format("cannot open state store '{}': {}", path, msg));
  }
  sqlite3_busy_timeout(db, 10000);
  auto store = std::make_unique<SqliteStore>(db);
  // A 256 MiB page cache (SQLite's default is 2 MiB): a chunk's writes
  // touch every series' pages, and re-reading them from the OS for each
  // statement dominated backfills of many series. Pages are allocated as used.
  Status s = store->Exec(
      "pragma journal_mode=wal; pragma synchronous=normal; pragma foreign_keys=on; "
      "pragma cache_size=-262144; pragma temp_store=memory;");
  if (!s.ok()) {
    return Unavailable(fmt::format("state store '{}' is not usable: {}", path, s.message()));
  }
  OSPREY_RETURN_IF_ERROR(store->Migrate(path));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace osprey::store
