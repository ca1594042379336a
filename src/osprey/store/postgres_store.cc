// The PostgreSQL store, through libpq: the seam (sql_db.h) over one
// connection, and what only PostgreSQL does; the shared SQL is in
// sql_store.cc. Every statement is parameterised (PQexecParams with typed
// parameters; model state travels as binary bytea). Migrations run under an
// advisory lock, so several osprey processes may start against one database
// at once. Connection errors map to Unavailable; a lost connection is
// re-established before the next call. What is PostgreSQL's own: the point
// tables' bulk SQL (arrays unnested by the server), new series committed
// without waiting for the WAL flush, cursors declared on the server,
// measure incidents in ranges, and the worker leases.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string_view>
#include <utility>

#include "osprey/base/log.h"
#include "osprey/store/point_block.h"
#include "osprey/store/sql_db.h"
#include "osprey/store/sql_store.h"
#include "osprey/store/store.h"

namespace osprey::store {
namespace {

// Advisory lock class of worker leases: pg_try_advisory_lock(kLeaseClass, key).
constexpr int64_t kLeaseClass = 0x6f737072;  // "ospr"

// Parameter type OIDs (pg_type.h is a server header).
constexpr Oid kInt8 = 20;
constexpr Oid kFloat8 = 701;
constexpr Oid kText = 25;
constexpr Oid kBytea = 17;

// Typed statement parameters, $1.. in the order added. Text format, except
// bytea, which is sent binary.
class Params {
 public:
  Params& Add(int64_t v) { return Push(kInt8, std::to_string(v)); }
  Params& Add(double v) { return Push(kFloat8, FloatText(v)); }
  Params& Add(const std::optional<double>& v) { return v ? Add(*v) : Null(kFloat8); }
  Params& Add(std::optional<int64_t> v) { return v ? Add(*v) : Null(kInt8); }
  Params& Add(const std::string& v) { return Push(kText, v); }
  Params& Add(std::string_view v) { return Push(kText, std::string(v)); }
  Params& Add(const std::optional<std::string>& v) { return v ? Add(*v) : Null(kText); }
  Params& AddBytes(std::string_view v) {
    Push(kBytea, std::string(v));
    formats_.back() = 1;
    return *this;
  }
  // A PostgreSQL array literal of doubles, NULL for unset ones; the
  // statement casts it ($1::float8[]).
  Params& AddFloatArray(const std::vector<std::optional<double>>& v) {
    std::string text = "{";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) text += ',';
      text += v[i] ? FloatText(*v[i]) : "NULL";
    }
    return Push(kText, text + "}");
  }
  Params& AddIntArray(const std::vector<int64_t>& v) {
    return Push(kText, fmt::format("{{{}}}", fmt::join(v, ",")));
  }
  Params& Null(Oid type) {
    types_.push_back(type);
    values_.emplace_back();
    formats_.push_back(0);
    return *this;
  }

  int size() const { return static_cast<int>(values_.size()); }
  const Oid* types() const { return types_.data(); }
  const int* formats() const { return formats_.data(); }
  // Pointers into this object: valid while it lives and is not changed.
  void Fill(std::vector<const char*>* values, std::vector<int>* lengths) const {
    values->clear();
    lengths->clear();
    for (const auto& v : values_) {
      values->push_back(v ? v->data() : nullptr);
      lengths->push_back(v ? static_cast<int>(v->size()) : 0);
    }
  }

 private:
  // Shortest text that reads back to the same double.
  static std::string FloatText(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    return fmt::format("{}", v);
  }
  Params& Push(Oid type, std::string v) {
    types_.push_back(type);
    values_.emplace_back(std::move(v));
    formats_.push_back(0);
    return *this;
  }
  std::vector<Oid> types_;
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
};

// A statement's result rows (text format), read by row and column.
class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r) {}
  ~Rows() { PQclear(r_); }
  Rows(Rows&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  Rows& operator=(Rows&&) = delete;

  PGresult* get() const { return r_; }
  int size() const { return PQntuples(r_); }
  bool Null(int row, int c) const { return PQgetisnull(r_, row, c) != 0; }
  int64_t Int(int row, int c) const {
    return Null(row, c) ? 0 : std::strtoll(PQgetvalue(r_, row, c), nullptr, 10);
  }
  double Real(int row, int c) const {
    return Null(row, c) ? 0 : std::strtod(PQgetvalue(r_, row, c), nullptr);
  }
  std::optional<double> OptReal(int row, int c) const {
    if (Null(row, c)) return std::nullopt;
    return Real(row, c);
  }
  std::optional<int64_t> OptInt(int row, int c) const {
    if (Null(row, c)) return std::nullopt;
    return Int(row, c);
  }
  std::string Text(int row, int c) const {
    return std::string(PQgetvalue(r_, row, c), static_cast<size_t>(PQgetlength(r_, row, c)));
  }
  // A bytea column in text (hex) output.
  std::string Bytes(int row, int c) const {
    size_t n = 0;
    unsigned char* p = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, c)), &n);
    if (p == nullptr) return {};
    std::string out(reinterpret_cast<const char*>(p), n);
    PQfreemem(p);
    return out;
  }
  // Rows changed by an insert, update or delete.
  int64_t Changed() const { return std::strtoll(PQcmdTuples(r_), nullptr, 10); }

 private:
  PGresult* r_;
};

void IgnoreNotice(void*, const char*) {}

// The seam (sql_db.h) over one libpq connection, and the session state the
// worker leases keep on it. Every statement is parameterised (PQexecParams
// with typed parameters; bytea travels binary).
class PostgresDb final : public internal::SqlDb {
 public:
  PostgresDb(PGconn* conn, std::string name) : conn_(conn), name_(std::move(name)) {
    PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
  }
  ~PostgresDb() override { PQfinish(conn_); }
  PostgresDb(const PostgresDb&) = delete;
  PostgresDb& operator=(const PostgresDb&) = delete;

  const internal::SqlDialect& dialect() const override { return internal::PostgresDialect(); }
  const std::string& name() const { return name_; }

  // Runs one statement ($N parameters); its rows on success. Errors are
  // Unavailable for a lost connection, a serialization failure or a
  // deadlock (retry), DeadlineExceeded for a cancelled statement, else
  // Internal.
  Result<Rows> Pq(std::string_view sql, const Params& p = Params()) {
    if (!in_tx_ && PQstatus(conn_) == CONNECTION_BAD) {
      PQreset(conn_);
      if (PQstatus(conn_) == CONNECTION_BAD) return Error(nullptr);
      PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
      if (!held_.empty()) {
        // The leases went with the old session: whatever this worker was
        // doing under them must stop before it writes again.
        held_.clear();
        fenced_ = true;
      }
    }
    if (fenced_ && !lease_call_) {
      return Unavailable(
          "state store: the connection was lost while this worker held leases; "
          "nothing more is written until they are taken again");
    }
    std::vector<const char*> values;
    std::vector<int> lengths;
    p.Fill(&values, &lengths);
    const std::string text(sql);
    Rows rows(PQexecParams(conn_, text.c_str(), p.size(), p.types(), values.data(), lengths.data(),
                           p.formats(), 0));
    PGresult* r = rows.get();
    const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error(r);
    return rows;
  }
  Status PqExec(std::string_view sql, const Params& p = Params()) { return Pq(sql, p).status(); }

  Result<int64_t> Run(std::string_view sql, std::span<const internal::SqlValue> args,
                      const internal::RowFn& row) override {
    using T = internal::SqlValue::Type;
    Params p;
    for (const internal::SqlValue& v : args) {
      switch (v.type) {
        case T::kInt: v.null ? p.Null(kInt8) : p.Add(v.i); break;
        case T::kReal: v.null ? p.Null(kFloat8) : p.Add(v.d); break;
        case T::kText: v.null ? p.Null(kText) : p.Add(v.s); break;
        case T::kBlob: v.null ? p.Null(kBytea) : p.AddBytes(v.s); break;
      }
    }
    OSPREY_ASSIGN_OR_RETURN(Rows r, Pq(internal::WithPlaceholders(dialect(), sql), p));
    if (row) {
      for (int i = 0; i < r.size(); ++i) OSPREY_RETURN_IF_ERROR(row(Row(r, i)));
    }
    return r.Changed();
  }

  // Runs a constant script of several statements (a migration); no parameters.
  Status Script(std::string_view sql) override {
    const std::string text(sql);
    Rows rows(PQexec(conn_, text.c_str()));
    PGresult* r = rows.get();
    const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error(r);
    return Status::Ok();
  }

  Result<std::unique_ptr<internal::SqlCursor>> Cursor(std::string_view sql,
                                                      std::span<const internal::SqlValue> args) override {
    std::string name = fmt::format("osprey_cursor_{}", ++cursors_);
    OSPREY_RETURN_IF_ERROR(Run(fmt::format("declare {} no scroll cursor for {}", name, sql), args, nullptr));
    return std::unique_ptr<internal::SqlCursor>(std::make_unique<PgCursor>(*this, std::move(name)));
  }

  Status Begin() override { return BeginWith(dialect().begin); }
  Status BeginRead() override { return BeginWith(dialect().begin_read); }
  // The transaction is open until its commit succeeds or its rollback has
  // run: a statement in it never reconnects (a new session would run the
  // commit outside it, and report success).
  Status Commit() override {
    OSPREY_RETURN_IF_ERROR(PqExec("commit"));
    in_tx_ = false;
    return Status::Ok();
  }
  Status Rollback() override {
    Status s = PqExec("rollback");
    in_tx_ = false;
    return s;
  }

  // Worker leases this session holds, and whether they were lost with a
  // connection (no writes until the next round: PostgresStore::CountWorkers).
  std::set<int64_t> held_;
  bool fenced_ = false;
  bool lease_call_ = false;  // in a lease method: not fenced

  // A row of a result, for the shared readers.
  class Row final : public internal::SqlRow {
   public:
    Row(const Rows& r, int i) : r_(r), i_(i) {}
    bool IsNull(int c) const override { return r_.Null(i_, c); }
    int64_t Int(int c) const override { return r_.Int(i_, c); }
    double Real(int c) const override { return r_.Real(i_, c); }
    std::string Text(int c) const override { return r_.Text(i_, c); }
    std::string Blob(int c) const override { return r_.Bytes(i_, c); }

   private:
    const Rows& r_;
    int i_;
  };

 private:
  // A server-side cursor (in the caller's transaction) read kBatch rows a
  // round trip: the client holds one batch.
  class PgCursor final : public internal::SqlCursor {
   public:
    static constexpr int kBatch = 8192;
    PgCursor(PostgresDb& db, std::string name) : db_(db), name_(std::move(name)) {}
    // The transaction's end closes it too; closed now, a long transaction
    // does not keep its portal.
    ~PgCursor() override {
      if (db_.in_tx_) (void)db_.PqExec(fmt::format("close {}", name_));
    }
    Result<const internal::SqlRow*> Next() override {
      if (!rows_ || next_ == rows_->size()) {
        if (done_) return static_cast<const internal::SqlRow*>(nullptr);
        row_.reset();
        rows_.reset();
        OSPREY_ASSIGN_OR_RETURN(Rows r, db_.Pq(fmt::format("fetch {} from {}", kBatch, name_)));
        rows_.emplace(std::move(r));
        next_ = 0;
        done_ = rows_->size() < kBatch;  // the last batch
        if (rows_->size() == 0) return static_cast<const internal::SqlRow*>(nullptr);
      }
      row_.emplace(*rows_, next_++);
      return &*row_;
    }

   private:
    PostgresDb& db_;
    const std::string name_;
    std::optional<Rows> rows_;  // the current batch
    std::optional<Row> row_;    // its current row
    int next_ = 0;
    bool done_ = false;
  };

  Status BeginWith(std::string_view sql) {
    OSPREY_RETURN_IF_ERROR(PqExec(sql));
    in_tx_ = true;
    return Status::Ok();
  }
  Status Error(PGresult* r) const {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string msg = primary ? primary : "";
    if (msg.empty()) msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    msg = fmt::format("state store: {}", RedactSecrets(msg));
    const std::string_view code = state ? state : "";
    if (PQstatus(conn_) == CONNECTION_BAD || code.starts_with("08") || code.starts_with("53") ||
        code.starts_with("57P") || code == "40001" || code == "40P01") {
      return Unavailable(msg);
    }
    if (code == "57014") return DeadlineExceeded(msg);
    return Internal(msg);
  }

  PGconn* conn_;
  std::string name_;  // the connection string, redacted, for messages
  bool in_tx_ = false;
  int64_t cursors_ = 0;  // cursors declared: the next one's name
};

// The SQL of point storage (point_block.h): one statement per call for
// every series (arrays unnested by the server), kPointBatch rows per insert.
class PgTables final : public internal::SqlPointTables {
 public:
  explicit PgTables(PostgresDb& db) : SqlPointTables(db), db_(db) {}
  static constexpr size_t kPointBatch = 8192;
  Status ReadHead(const std::vector<int64_t>& series, int64_t from, int64_t to,
                  std::vector<PointRecord>* out) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select series_id, ts, value, expected, lower, upper, severity from points "
                       "where series_id = any($1::bigint[]) and ts >= $2 and ts < $3 order by series_id, ts",
                       Params().AddIntArray(series).Add(from).Add(to)));
    for (int i = 0; i < r.size(); ++i) out->push_back(internal::SqlStore::ReadPoint(PostgresDb::Row(r, i)));
    return Status::Ok();
  }
  Status ReadBlocks(const std::vector<int64_t>& series, int64_t from, int64_t to,
                    std::vector<StoredBlock>* out) override {
    OSPREY_ASSIGN_OR_RETURN(Rows r,
                            db_.Pq("select series_id, start_ts, end_ts, n, data from point_blocks "
                                   "where series_id = any($1::bigint[]) and start_ts >= $2 and start_ts < $3 "
                                   "order by series_id, start_ts",
                                   Params().AddIntArray(series).Add(from).Add(to)));
    for (int i = 0; i < r.size(); ++i) out->push_back(internal::SqlStore::ReadBlock(PostgresDb::Row(r, i)));
    return Status::Ok();
  }
  Status DeleteHead(const std::vector<int64_t>& series, int64_t from, int64_t to) override {
    return db_.PqExec("delete from points where series_id = any($1::bigint[]) and ts >= $2 and ts < $3",
                      Params().AddIntArray(series).Add(from).Add(to));
  }
  Status PutBlocks(const std::vector<StoredBlock>& blocks) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (size_t b = 0; b < blocks.size(); b += kPointBatch) {
      std::vector<int64_t> ids, starts, ends, ns;
      std::string hex = "{";
      for (size_t i = b; i < std::min(blocks.size(), b + kPointBatch); ++i) {
        const StoredBlock& k = blocks[i];
        ids.push_back(k.series_id);
        starts.push_back(k.start_ts);
        ends.push_back(k.end_ts);
        ns.push_back(k.n);
        if (i > b) hex += ',';
        for (unsigned char c : k.data) {
          hex += kHex[c >> 4];
          hex += kHex[c & 15];
        }
      }
      hex += '}';
      Params p;
      p.AddIntArray(ids).AddIntArray(starts).AddIntArray(ends).AddIntArray(ns).Add(hex);
      OSPREY_RETURN_IF_ERROR(db_.PqExec(
          "insert into point_blocks(series_id, start_ts, end_ts, n, data) "
          "select s, t, e, n, decode(d, 'hex') from unnest($1::bigint[], $2::bigint[], $3::bigint[], "
          "$4::bigint[], $5::text[]) as u(s, t, e, n, d) on conflict(series_id, start_ts) do update set "
          "end_ts = excluded.end_ts, n = excluded.n, data = excluded.data",
          p));
    }
    return Status::Ok();
  }
  Status PutHead(const std::vector<PointRecord>& points) override {
    std::vector<int64_t> ids, tss;
    std::vector<std::optional<double>> cols[5];
    for (size_t b = 0; b < points.size(); b += kPointBatch) {
      ids.clear();
      tss.clear();
      for (auto& col : cols) col.clear();
      for (size_t i = b; i < std::min(points.size(), b + kPointBatch); ++i) {
        const PointRecord& p = points[i];
        ids.push_back(p.series_id);
        tss.push_back(p.ts);
        cols[0].push_back(p.value);
        cols[1].push_back(p.expected);
        cols[2].push_back(p.lower);
        cols[3].push_back(p.upper);
        cols[4].push_back(p.severity);
      }
      Params params;
      params.AddIntArray(ids).AddIntArray(tss);
      for (const auto& col : cols) params.AddFloatArray(col);
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec("insert into points(series_id, ts, value, expected, lower, upper, severity) "
                     "select * from unnest($1::bigint[], $2::bigint[], $3::float8[], $4::float8[], "
                     "$5::float8[], $6::float8[], $7::float8[]) on conflict(series_id, ts) do update set "
                     "value = excluded.value, expected = excluded.expected, lower = excluded.lower, "
                     "upper = excluded.upper, severity = excluded.severity",
                     params));
    }
    return Status::Ok();
  }

 private:
  PostgresDb& db_;
};

// The connection and the point tables, constructed before the shared store
// that refers to them.
struct PostgresParts {
  PostgresParts(PGconn* conn, std::string name) : pg(conn, std::move(name)), tables(pg) {}
  PostgresDb pg;
  PgTables tables;
};

class PostgresStore final : private PostgresParts, public internal::SqlStore {
 public:
  PostgresStore(PGconn* conn, std::string name)
      : PostgresParts(conn, std::move(name)), SqlStore(pg, tables) {}

  Status Open() { return Migrate(pg.name()); }

  // Committed without waiting for the WAL flush (a detector's first
  // interval creates every series; one flush each dominated it). The next
  // synchronous commit flushes the WAL up to itself, so a series is durable
  // before any chunk that refers to it; a crash before that loses only
  // series nothing refers to yet.
  Result<int64_t> EnsureSeries(int64_t detector_id, const std::string& measure, const std::string& dims,
                               const std::string& label) override {
    int64_t id = 0;
    Status inserted = pg.InTransaction([&]() -> Status {
      OSPREY_RETURN_IF_ERROR(pg.PqExec("set local synchronous_commit to off"));
      OSPREY_ASSIGN_OR_RETURN(id, InsertSeries(detector_id, measure, dims, label));
      return Status::Ok();
    });
    OSPREY_RETURN_IF_ERROR(inserted);
    return id;
  }

  // The planner cannot tell how few rows a list of ranges holds: joined
  // with the groups, it guesses thousands and hashes every group. So the
  // spans first (ListMeasureIncidentsInRanges), then their top groups by id
  // (from the index).
  Result<std::vector<GroupRecord>> ListMeasureIncidents(const MeasureIncidentQuery& q) override {
    if (q.start_ranges.empty() || q.spans_only) return SqlStore::ListMeasureIncidents(q);
    MeasureIncidentQuery spans = q;
    spans.spans_only = true;
    OSPREY_ASSIGN_OR_RETURN(auto found, ListMeasureIncidentsInRanges(spans));
    if (found.empty()) return found;
    std::vector<int64_t> ids;
    for (const auto& g : found) ids.push_back(g.id);
    const std::string id_array = fmt::format("{{{}}}", fmt::join(ids, ","));
    const internal::SqlValue args[] = {id_array};
    return ReadGroups(fmt::format("select {0} {1} where i.top_group_id = any(?1::bigint[]) "
                                  "order by i.incident_ts {2}, i.detector_id {2}, i.measure {2}",
                                  kGroupColumns, kMeasureIncidentJoin, q.newest_first ? "desc" : "asc"),
                      args);
  }

  // ---- Worker leases (store.h): session advisory locks + worker_leases rows.

  Result<LeaseState> AcquireLease(int64_t key, const std::string& worker, int64_t lease_seconds) override {
    LeaseCall call(this);
    const char* kUpsert =
        "insert into worker_leases(key, worker, pid, acquired_at, renewed_at, expires_at) "
        "select $1, $2, pg_backend_pid(), t, t, t + $3 from (select extract(epoch from now())::bigint "
        "as t) n on conflict (key) do update set worker = excluded.worker, pid = excluded.pid, "
        "acquired_at = case when $4::boolean then excluded.acquired_at else worker_leases.acquired_at end, "
        "renewed_at = excluded.renewed_at, expires_at = excluded.expires_at";
    if (db().held_.count(key)) {
      OSPREY_RETURN_IF_ERROR(
          db().PqExec(kUpsert, Params().Add(key).Add(worker).Add(lease_seconds).Add(std::string("false"))));
      return LeaseState::kHeld;
    }
    OSPREY_ASSIGN_OR_RETURN(Rows got, db().Pq("select pg_try_advisory_lock($1::int, $2::int)",
                                              Params().Add(kLeaseClass).Add(key)));
    if (got.size() == 1 && got.Text(0, 0) == "t") {
      db().held_.insert(key);
      OSPREY_RETURN_IF_ERROR(
          db().PqExec(kUpsert, Params().Add(key).Add(worker).Add(lease_seconds).Add(std::string("true"))));
      return LeaseState::kTaken;
    }
    // Held by a live session. One that has not renewed for a lease period
    // belongs to a hung worker: end that session, which releases the lock
    // (and fails whatever the hung worker would still write); the lease is
    // taken on a later try.
    OSPREY_ASSIGN_OR_RETURN(
        Rows stale,
        db().Pq("select pid, worker from worker_leases where key = $1 and pid <> pg_backend_pid() "
                "and expires_at < extract(epoch from now())::bigint",
                Params().Add(key)));
    if (stale.size() == 1) {
      Log(LogLevel::kWarn, fmt::format("lease {}: worker '{}' has not renewed it in time; ending its session",
                                       key, stale.Text(0, 1)));
      OSPREY_RETURN_IF_ERROR(
          db().PqExec("select pg_terminate_backend($1::int)", Params().Add(stale.Int(0, 0))));
    }
    return LeaseState::kNotHeld;
  }

  Status ReleaseLease(int64_t key) override {
    LeaseCall call(this);
    if (!db().held_.count(key)) return Status::Ok();
    db().held_.erase(key);
    OSPREY_RETURN_IF_ERROR(
        db().PqExec("select pg_advisory_unlock($1::int, $2::int)", Params().Add(kLeaseClass).Add(key)));
    return db().PqExec(
        "update worker_leases set expires_at = extract(epoch from now())::bigint where key = $1",
        Params().Add(key));
  }

  Result<std::vector<LeaseRecord>> ListLeases() override {
    LeaseCall call(this);
    OSPREY_ASSIGN_OR_RETURN(
        Rows r,
        db().Pq("select l.key, coalesce(d.name, ''), l.worker, l.acquired_at, l.renewed_at, l.expires_at, "
                "exists(select 1 from pg_locks k where k.locktype = 'advisory' and k.granted and "
                "k.pid = l.pid and k.classid::bigint = $1 and k.objid::bigint = (l.key::int)::oid::bigint "
                "and k.objsubid = 2) "
                "from worker_leases l left join detectors d on d.id = "
                "(case when l.key < 0 then -l.key / $2 else l.key end) order by l.key",
                Params().Add(kLeaseClass).Add(config::kMaxShards)));
    std::vector<LeaseRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3), r.Int(i, 4), r.Int(i, 5),
                     r.Text(i, 6) == "t"});
      if (out.back().detector_id < 0) {  // a shard's lease (ShardLeaseKey)
        out.back().shard = -out.back().detector_id % config::kMaxShards;
        out.back().detector_id = -out.back().detector_id / config::kMaxShards;
      }
    }
    return out;
  }

  // ---- Shards (store.h): per-shard watermarks and scores (schema 13); a
  // shard's chunk is written by SqlStore::WriteChunk.

  bool SupportsShards() const override { return true; }

  Result<std::map<int64_t, int64_t>> ShardWatermarks(int64_t detector_id,
                                                     std::optional<int64_t> shards) override {
    OSPREY_ASSIGN_OR_RETURN(Rows r,
                            db().Pq("select shard, next_ts from shard_watermarks where detector_id = $1 "
                                    "and ($2 = 0 or shards = $2)",
                                    Params().Add(detector_id).Add(shards.value_or(0))));
    std::map<int64_t, int64_t> out;
    for (int i = 0; i < r.size(); ++i) out[r.Int(i, 0)] = r.Int(i, 1);
    return out;
  }

  Result<std::vector<ShardScoresRecord>> LoadShardScores(int64_t detector_id, int64_t from,
                                                         int64_t to) override {
    OSPREY_ASSIGN_OR_RETURN(Rows r, db().Pq("select shard, ts, data from shard_scores where detector_id = $1 "
                                            "and ts >= $2 and ts < $3 order by ts, shard",
                                            Params().Add(detector_id).Add(from).Add(to)));
    std::vector<ShardScoresRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back({r.Int(i, 0), r.Int(i, 1), r.Bytes(i, 2)});
    return out;
  }

  Status ClearShards(int64_t detector_id) override {
    return db().InTransaction([&] { return ResetOwnTables(detector_id); });
  }

  Result<int64_t> CountWorkers(const std::string& worker, int64_t lease_seconds) override {
    LeaseCall call(this);
    db().fenced_ = false;  // a new round: the scheduler has dropped what it ran under lost leases
    OSPREY_RETURN_IF_ERROR(
        db().PqExec("insert into workers(name, seen_at, expires_at) select $1, t, t + $2 from "
                    "(select extract(epoch from now())::bigint as t) n on conflict (name) do update set "
                    "seen_at = excluded.seen_at, expires_at = excluded.expires_at",
                    Params().Add(worker).Add(lease_seconds)));
    OSPREY_ASSIGN_OR_RETURN(
        Rows r,
        db().Pq("select count(*) from workers where expires_at >= extract(epoch from now())::bigint"));
    return std::max<int64_t>(1, r.size() == 1 ? r.Int(0, 0) : 1);
  }

 protected:
  // Spans only (above): the ranges as two arrays unnested side by side, each
  // read from the start index. Kept a lateral subquery (offset 0): flattened
  // into a join, the planner guesses thousands of rows a range and
  // JIT-compiles the read (0.9 s for 256 ranges on a 1 M store).
  Result<std::vector<GroupRecord>> ListMeasureIncidentsInRanges(const MeasureIncidentQuery& q) override {
    std::vector<int64_t> lo, hi;
    for (const auto& [from, before] : q.start_ranges) {
      lo.push_back(from);
      hi.push_back(before);
    }
    const std::string lo_array = fmt::format("{{{}}}", fmt::join(lo, ","));
    const std::string hi_array = fmt::format("{{{}}}", fmt::join(hi, ","));
    std::vector<internal::SqlValue> args = MeasureIncidentArgs(q);
    args.push_back(lo_array);
    args.push_back(hi_array);
    std::string source = MeasureIncidentSource(q);
    constexpr std::string_view kTable = "from incidents i";
    source.replace(source.rfind(kTable), kTable.size(),
                   "from unnest(?5::bigint[], ?6::bigint[]) r(lo, hi) cross join lateral (select * from "
                   "incidents x where x.incident_ts >= r.lo and x.incident_ts < r.hi offset 0) i");
    return ReadGroups(MeasureIncidentSql(q, source), args);
  }

  // The shard tables (ResetFrom and ClearShards).
  Status ResetOwnTables(int64_t detector_id) override {
    OSPREY_RETURN_IF_ERROR(
        db().PqExec("delete from shard_watermarks where detector_id = $1", Params().Add(detector_id)));
    return db().PqExec("delete from shard_scores where detector_id = $1", Params().Add(detector_id));
  }

 private:
  PostgresDb& db() { return pg; }
  // Marks the statements of a lease method, which run while fenced.
  struct LeaseCall {
    explicit LeaseCall(PostgresStore* s) : s_(s) { s_->pg.lease_call_ = true; }
    ~LeaseCall() { s_->pg.lease_call_ = false; }
    PostgresStore* s_;
  };
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo) {
  const std::string shown = RedactSecrets(conninfo);
  const char* keys[] = {"fallback_application_name", "dbname", nullptr};
  const char* values[] = {"osprey", conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Unavailable("cannot open state store: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Unavailable(fmt::format("cannot open state store '{}': {}", shown, RedactSecrets(msg)));
  }
  auto store = std::make_unique<PostgresStore>(conn, shown);
  OSPREY_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace osprey::store
