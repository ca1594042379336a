// The PostgreSQL implementation of Store, through libpq. Same schema as the
// SQLite store (sqlite_store.cc) with PostgreSQL types, same migrations
// numbering, same behaviour method for method. Every statement is
// parameterised (PQexecParams with typed parameters; model state travels as
// binary bytea). Migrations run under an advisory lock, so several osprey
// processes may start against one database at once. Connection errors map to
// Unavailable; a lost connection is re-established before the next call.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include "osprey/base/log.h"
#include "osprey/store/migrations.h"
#include "osprey/store/point_block.h"
#include "osprey/store/sql_db.h"
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

  Status Begin() override {
    OSPREY_RETURN_IF_ERROR(PqExec(dialect().begin));
    in_tx_ = true;
    return Status::Ok();
  }
  Status Commit() override {
    in_tx_ = false;
    return PqExec("commit");
  }
  Status Rollback() override {
    in_tx_ = false;
    return PqExec("rollback");
  }

  // Worker leases this session holds, and whether they were lost with a
  // connection (no writes until the next round: PostgresStore::CountWorkers).
  std::set<int64_t> held_;
  bool fenced_ = false;
  bool lease_call_ = false;  // in a lease method: not fenced

 private:
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
};

class PostgresStore final : public Store {
 public:
  PostgresStore(PGconn* conn, std::string name) : db_(conn, std::move(name)) {}

  // Runs `body` in one transaction: commits when it succeeds, else rolls back.
  template <typename F>
  Status InTransaction(F&& body) {
    return db_.InTransaction(std::forward<F>(body));
  }

  // Brings the schema up to date (migrations.h); a store from before point
  // blocks seals the point rows it had when point_blocks is created.
  Status Migrate() {
    return internal::RunMigrations(db_, db_.name(), [&](const internal::MigrationFile& m) -> Status {
      return m.name == "point_blocks" ? SealOldPoints() : Status::Ok();
    });
  }

  // A store from before point blocks has every point as a row: seals each
  // detector's rows of the days before its watermark into blocks.
  Status SealOldPoints() {
    OSPREY_ASSIGN_OR_RETURN(Rows marks,
                            db_.Pq("select detector_id, next_ts from watermarks order by detector_id"));
    for (int i = 0; i < marks.size(); ++i) {
      OSPREY_RETURN_IF_ERROR(SealHead(point_tables_, marks.Int(i, 0), PointBlockStart(marks.Int(i, 1))));
    }
    return Status::Ok();
  }

  // The SQL of point storage (point_block.h): one statement per call for
  // every series (arrays unnested by the server), kPointBatch rows per insert.
  class Tables final : public PointTables {
   public:
    explicit Tables(PostgresStore& store) : store_(store) {}
    Status DetectorSeries(int64_t detector_id, std::vector<int64_t>* out) override {
      OSPREY_ASSIGN_OR_RETURN(Rows r,
                              store_.db_.Pq("select id from series where detector_id = $1 order by id",
                                            Params().Add(detector_id)));
      for (int i = 0; i < r.size(); ++i) out->push_back(r.Int(i, 0));
      return Status::Ok();
    }
    static constexpr size_t kPointBatch = 8192;
    Status ReadHead(const std::vector<int64_t>& series, int64_t from, int64_t to,
                    std::vector<PointRecord>* out) override {
      OSPREY_ASSIGN_OR_RETURN(
          Rows r,
          store_.db_.Pq("select series_id, ts, value, expected, lower, upper, severity from points "
                        "where series_id = any($1::bigint[]) and ts >= $2 and ts < $3 order by series_id, ts",
                        Params().AddIntArray(series).Add(from).Add(to)));
      for (int i = 0; i < r.size(); ++i) out->push_back(ReadPoint(r, i));
      return Status::Ok();
    }
    Status ReadBlocks(const std::vector<int64_t>& series, int64_t from, int64_t to,
                      std::vector<StoredBlock>* out) override {
      OSPREY_ASSIGN_OR_RETURN(
          Rows r, store_.db_.Pq("select series_id, start_ts, end_ts, n, data from point_blocks "
                                "where series_id = any($1::bigint[]) and start_ts >= $2 and start_ts < $3 "
                                "order by series_id, start_ts",
                                Params().AddIntArray(series).Add(from).Add(to)));
      for (int i = 0; i < r.size(); ++i) out->push_back(ReadBlock(r, i));
      return Status::Ok();
    }
    Status DeleteHead(const std::vector<int64_t>& series, int64_t from, int64_t to) override {
      return store_.db_.PqExec(
          "delete from points where series_id = any($1::bigint[]) and ts >= $2 and ts < $3",
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
        OSPREY_RETURN_IF_ERROR(store_.db_.PqExec(
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
        OSPREY_RETURN_IF_ERROR(store_.db_.PqExec(
            "insert into points(series_id, ts, value, expected, lower, upper, severity) "
            "select * from unnest($1::bigint[], $2::bigint[], $3::float8[], $4::float8[], "
            "$5::float8[], $6::float8[], $7::float8[]) on conflict(series_id, ts) do update set "
            "value = excluded.value, expected = excluded.expected, lower = excluded.lower, "
            "upper = excluded.upper, severity = excluded.severity",
            params));
      }
      return Status::Ok();
    }
    // Columns series_id, ts, value, expected, lower, upper, severity.
    static PointRecord ReadPoint(const Rows& r, int i) {
      return {r.Int(i, 0),     r.Int(i, 1),     r.OptReal(i, 2), r.OptReal(i, 3),
              r.OptReal(i, 4), r.OptReal(i, 5), r.OptReal(i, 6)};
    }
    // Columns series_id, start_ts, end_ts, n, data.
    static StoredBlock ReadBlock(const Rows& r, int i) {
      return {r.Int(i, 0), r.Int(i, 1), r.Int(i, 2), r.Int(i, 3), r.Bytes(i, 4)};
    }

   private:
    PostgresStore& store_;
  };

  Result<int64_t> UpsertDetector(const std::string& name, const std::string& config) override {
    OSPREY_ASSIGN_OR_RETURN(Rows r, db_.Pq("insert into detectors(name, config) values ($1, $2) "
                                           "on conflict(name) do update set config = excluded.config "
                                           "returning id",
                                           Params().Add(name).Add(config)));
    if (r.size() == 0) return Internal("upsert returned no id");
    return r.Int(0, 0);
  }

  static DetectorRecord ReadDetector(const Rows& r, int i) {
    return DetectorRecord{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3) != 0, r.Text(i, 4)};
  }

  Result<DetectorRecord> GetDetector(const std::string& name) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r,
        db_.Pq("select id, name, config, active, origin from detectors where name = $1", Params().Add(name)));
    if (r.size() == 0) return NotFound(fmt::format("no detector named '{}'", name));
    return ReadDetector(r, 0);
  }

  Result<std::vector<DetectorRecord>> ListDetectors() override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select id, name, config, active, origin from detectors order by name collate \"C\""));
    std::vector<DetectorRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(ReadDetector(r, i));
    return out;
  }

  Status DeleteDetector(const std::string& name) override {
    OSPREY_ASSIGN_OR_RETURN(Rows r, db_.Pq("delete from detectors where name = $1", Params().Add(name)));
    if (r.Changed() == 0) return NotFound(fmt::format("no detector named '{}'", name));
    return Status::Ok();
  }

  Status SetDetectorOrigin(const std::string& name, const std::string& origin) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("update detectors set origin = $2 where name = $1", Params().Add(name).Add(origin)));
    if (r.Changed() == 0) return NotFound(fmt::format("no detector named '{}'", name));
    return Status::Ok();
  }

  Status SetDetectorActive(const std::string& name, bool active) override {
    OSPREY_ASSIGN_OR_RETURN(Rows r, db_.Pq("update detectors set active = $2 where name = $1",
                                           Params().Add(name).Add(int64_t{active ? 1 : 0})));
    if (r.Changed() == 0) return NotFound(fmt::format("no detector named '{}'", name));
    return Status::Ok();
  }

  Result<std::vector<SeriesRecord>> ListSeries(int64_t detector_id) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select id, measure, dims, label from series where detector_id = $1 order by id",
                       Params().Add(detector_id)));
    std::vector<SeriesRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3)});
    }
    return out;
  }

  // Committed without waiting for the WAL flush (a detector's first
  // interval creates every series; one flush each dominated it). The next
  // synchronous commit flushes the WAL up to itself, so a series is durable
  // before any chunk that refers to it; a crash before that loses only
  // series nothing refers to yet.
  Result<int64_t> EnsureSeries(int64_t detector_id, const std::string& measure, const std::string& dims,
                               const std::string& label) override {
    int64_t id = 0;
    Status inserted = InTransaction([&]() -> Status {
      OSPREY_RETURN_IF_ERROR(db_.PqExec("set local synchronous_commit to off"));
      OSPREY_ASSIGN_OR_RETURN(
          Rows r, db_.Pq("insert into series(detector_id, measure, dims, label) values ($1, $2, $3, $4) "
                         "on conflict(detector_id, measure, dims) do update set label = excluded.label "
                         "returning id",
                         Params().Add(detector_id).Add(measure).Add(dims).Add(label)));
      if (r.size() == 0) return Internal("series insert returned no id");
      id = r.Int(0, 0);
      return Status::Ok();
    });
    OSPREY_RETURN_IF_ERROR(inserted);
    return id;
  }

  Result<std::map<int64_t, std::string>> LoadModelStates(int64_t detector_id) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select m.series_id, m.state from model_state m join series s on s.id = m.series_id "
                       "where s.detector_id = $1",
                       Params().Add(detector_id)));
    std::map<int64_t, std::string> out;
    for (int i = 0; i < r.size(); ++i) out[r.Int(i, 0)] = r.Bytes(i, 1);
    return out;
  }

  Result<std::optional<int64_t>> GetWatermark(int64_t detector_id) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select next_ts from watermarks where detector_id = $1", Params().Add(detector_id)));
    if (r.size() == 0) return std::optional<int64_t>();
    return std::optional<int64_t>(r.Int(0, 0));
  }

  Status CommitChunk(const ChunkResult& c) override {
    Status s = InTransaction([&] { return WriteChunk(c); });
    if (!s.ok()) {
      return s.WithContext(fmt::format("committing intervals [{}, {})",
                                       FormatIso(FromUnixSeconds(c.first_ts)),
                                       FormatIso(FromUnixSeconds(c.next_watermark))));
    }
    return s;
  }

  Status WriteChunk(const ChunkResult& c) {
    const Params range = Params().Add(c.detector_id).Add(c.first_ts).Add(c.next_watermark);
    // Re-running a range replaces what it produced before.
    // Groups that come back (same detector, measure, interval) keep their id,
    // so alert idempotency keys "{group_id}.{alert}" stay the same; groups
    // that do not come back are deleted with their pending messages.
    // The incidents this chunk changes: those of the groups it replaces and
    // of the groups it writes.
    std::set<std::pair<std::string, int64_t>> incidents;
    {
      OSPREY_ASSIGN_OR_RETURN(
          Rows r, db_.Pq("select distinct measure, incident_ts from anomaly_groups where detector_id = $1 "
                         "and ts >= $2 and ts < $3",
                         range));
      for (int i = 0; i < r.size(); ++i) incidents.insert({r.Text(i, 0), r.Int(i, 1)});
      for (const GroupRecord& g : c.groups)
        incidents.insert({g.measure, g.incident_ts != 0 ? g.incident_ts : g.ts});
    }
    {
      OSPREY_ASSIGN_OR_RETURN(
          Rows old, db_.Pq("select id, measure, ts from anomaly_groups where detector_id = $1 and ts >= $2 "
                           "and ts < $3",
                           range));
      std::set<std::pair<std::string, int64_t>> keep;
      for (const GroupRecord& g : c.groups) keep.insert({g.measure, g.ts});
      for (int i = 0; i < old.size(); ++i) {
        if (keep.count({old.Text(i, 1), old.Int(i, 2)})) continue;
        OSPREY_RETURN_IF_ERROR(
            db_.PqExec("delete from anomaly_groups where id = $1", Params().Add(old.Int(i, 0))));
      }
    }
    OSPREY_RETURN_IF_ERROR(
        db_.PqExec("delete from anomalies where detector_id = $1 and ts >= $2 and ts < $3", range));
    OSPREY_RETURN_IF_ERROR(WritePoints(point_tables_, c.detector_id, c.first_ts, c.next_watermark, c.points));
    std::vector<int64_t> group_ids;
    for (const GroupRecord& g : c.groups) {
      OSPREY_ASSIGN_OR_RETURN(
          Rows r, db_.Pq("insert into anomaly_groups(detector_id, measure, ts, end_ts, severity, "
                         "anomaly_count, contributions, root_causes, related, incident_ts) "
                         "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                         "on conflict(detector_id, measure, ts) do update set end_ts = excluded.end_ts, "
                         "severity = excluded.severity, anomaly_count = excluded.anomaly_count, "
                         "contributions = excluded.contributions, root_causes = excluded.root_causes, "
                         "related = excluded.related, incident_ts = excluded.incident_ts returning id",
                         Params()
                             .Add(c.detector_id)
                             .Add(g.measure)
                             .Add(g.ts)
                             .Add(g.end_ts)
                             .Add(g.severity)
                             .Add(g.anomaly_count)
                             .Add(g.contributions)
                             .Add(g.root_causes)
                             .Add(g.related)
                             .Add(g.incident_ts != 0 ? g.incident_ts : g.ts)));
      if (r.size() == 0) return Internal("group insert returned no id");
      group_ids.push_back(r.Int(0, 0));
    }
    for (const AnomalyRecord& a : c.anomalies) {
      if (a.group_index < 0 || static_cast<size_t>(a.group_index) >= group_ids.size()) {
        return Internal("anomaly refers to a group that is not in the chunk");
      }
      // Like SQLite's "insert or replace": a clash on (series_id, ts) replaces the row.
      OSPREY_RETURN_IF_ERROR(db_.PqExec("delete from anomalies where series_id = $1 and ts = $2",
                                        Params().Add(a.series_id).Add(a.ts)));
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec("insert into anomalies(detector_id, series_id, group_id, ts, value, expected, lower, "
                     "upper, severity, direction, explanation) "
                     "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                     Params()
                         .Add(c.detector_id)
                         .Add(a.series_id)
                         .Add(group_ids[static_cast<size_t>(a.group_index)])
                         .Add(a.ts)
                         .Add(a.value)
                         .Add(a.expected)
                         .Add(a.lower)
                         .Add(a.upper)
                         .Add(a.severity)
                         .Add(a.direction)
                         .Add(a.explanation)));
    }
    for (const auto& [series_id, state] : c.model_states) {
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec("insert into model_state(series_id, state) values ($1, $2) "
                     "on conflict(series_id) do update set state = excluded.state",
                     Params().Add(series_id).AddBytes(state)));
    }
    for (const DataQualityRecord& q : c.quality) {
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec("insert into data_quality(detector_id, ts, rows_read, rows_rejected, rows_filtered, "
                     "series_seen, series_missing, details) values ($1, $2, $3, $4, $5, $6, $7, $8) "
                     "on conflict(detector_id, ts) do update set rows_read = excluded.rows_read, "
                     "rows_rejected = excluded.rows_rejected, rows_filtered = excluded.rows_filtered, "
                     "series_seen = excluded.series_seen, series_missing = excluded.series_missing, "
                     "details = excluded.details",
                     Params()
                         .Add(c.detector_id)
                         .Add(q.ts)
                         .Add(q.rows_read)
                         .Add(q.rows_rejected)
                         .Add(q.rows_filtered)
                         .Add(q.series_seen)
                         .Add(q.series_missing)
                         .Add(q.details)));
    }
    for (const OutboxRecord& o : c.outbox) {
      if (IsNoDataKind(o.kind)) {
        const std::string key = fmt::format("nodata.{}.{}.{}{}", c.detector_id, o.alert, o.incident_ts,
                                            o.kind == "no_data_resolve" ? ".resolved" : "");
        OSPREY_RETURN_IF_ERROR(
            db_.PqExec("insert into alert_outbox(detector_id, alert, kind, measure, group_id, incident_ts, "
                       "severity, idempotency_key, next_attempt_at, created_at) "
                       "values ($1, $2, $3, $4, null, $5, $6, $7, $8, $9) on conflict do nothing",
                       Params()
                           .Add(c.detector_id)
                           .Add(o.alert)
                           .Add(o.kind)
                           .Add(o.measure)
                           .Add(o.incident_ts)
                           .Add(o.severity)
                           .Add(key)
                           .Add(o.next_attempt_at)
                           .Add(o.created_at)));
        continue;
      }
      OSPREY_ASSIGN_OR_RETURN(Rows found,
                              db_.Pq("select id from anomaly_groups where detector_id = $1 and measure = $2 "
                                     "and ts = $3",
                                     Params().Add(c.detector_id).Add(o.measure).Add(o.group_ts)));
      if (found.size() == 0) {
        return Internal(fmt::format("alert '{}' refers to no group of measure '{}' at {}", o.alert, o.measure,
                                    FormatIso(FromUnixSeconds(o.group_ts))));
      }
      const int64_t group_id = found.Int(0, 0);
      const std::string key =
          fmt::format("{}.{}{}", group_id, o.alert, o.kind == "resolve" ? ".resolved" : "");
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec("insert into alert_outbox(detector_id, alert, kind, measure, group_id, incident_ts, "
                     "severity, idempotency_key, next_attempt_at, created_at) "
                     "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict do nothing",
                     Params()
                         .Add(c.detector_id)
                         .Add(o.alert)
                         .Add(o.kind)
                         .Add(o.measure)
                         .Add(group_id)
                         .Add(o.incident_ts)
                         .Add(o.severity)
                         .Add(key)
                         .Add(o.next_attempt_at)
                         .Add(o.created_at)));
    }
    for (const AlertStateRecord& a : c.alert_states) {
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec("insert into alert_state(detector_id, alert, measure, state) values ($1, $2, $3, $4) "
                     "on conflict(detector_id, alert, measure) do update set state = excluded.state",
                     Params().Add(c.detector_id).Add(a.alert).Add(a.measure).Add(a.state)));
    }
    OSPREY_RETURN_IF_ERROR(UpdateIncidents(c.detector_id, incidents));
    OSPREY_RETURN_IF_ERROR(WriteSnapshots(c));
    return db_.PqExec(
        "insert into watermarks(detector_id, next_ts) values ($1, $2) "
        "on conflict(detector_id) do update set next_ts = excluded.next_ts",
        Params().Add(c.detector_id).Add(c.next_watermark));
  }

  Status WriteSnapshots(const ChunkResult& c) {
    for (std::string_view table : {"model_snapshots", "alert_state_snapshots", "snapshot_times"}) {
      if (!c.snapshots.empty()) {
        OSPREY_RETURN_IF_ERROR(
            db_.PqExec(fmt::format("delete from {} where detector_id = $1 and ts >= $2 and ts < $3", table),
                       Params().Add(c.detector_id).Add(c.first_ts).Add(c.next_watermark)));
      }
      if (c.prune_snapshots_before) {
        OSPREY_RETURN_IF_ERROR(
            db_.PqExec(fmt::format("delete from {} where detector_id = $1 and ts < $2", table),
                       Params().Add(c.detector_id).Add(*c.prune_snapshots_before)));
      }
    }
    for (const SnapshotRecord& snap : c.snapshots) {
      OSPREY_RETURN_IF_ERROR(db_.PqExec("insert into snapshot_times(detector_id, ts) values ($1, $2)",
                                        Params().Add(c.detector_id).Add(snap.ts)));
      for (const auto& [series_id, state] : snap.model_states) {
        OSPREY_RETURN_IF_ERROR(db_.PqExec(
            "insert into model_snapshots(detector_id, ts, series_id, state) values ($1, $2, $3, $4)",
            Params().Add(c.detector_id).Add(snap.ts).Add(series_id).AddBytes(state)));
      }
      for (const AlertStateRecord& r : snap.alert_states) {
        OSPREY_RETURN_IF_ERROR(
            db_.PqExec("insert into alert_state_snapshots(detector_id, ts, alert, measure, state) "
                       "values ($1, $2, $3, $4, $5)",
                       Params().Add(c.detector_id).Add(snap.ts).Add(r.alert).Add(r.measure).Add(r.state)));
      }
    }
    return Status::Ok();
  }

  Result<std::vector<int64_t>> ListSnapshotTimes(int64_t detector_id) override {
    OSPREY_ASSIGN_OR_RETURN(Rows r, db_.Pq("select ts from snapshot_times where detector_id = $1 order by ts",
                                           Params().Add(detector_id)));
    std::vector<int64_t> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(r.Int(i, 0));
    return out;
  }

  Result<SnapshotRecord> LoadSnapshot(int64_t detector_id, int64_t ts) override {
    SnapshotRecord out;
    out.ts = ts;
    const Params key = Params().Add(detector_id).Add(ts);
    OSPREY_ASSIGN_OR_RETURN(Rows t,
                            db_.Pq("select 1 from snapshot_times where detector_id = $1 and ts = $2", key));
    if (t.size() == 0) return NotFound(fmt::format("no snapshot at {}", FormatIso(FromUnixSeconds(ts))));
    OSPREY_ASSIGN_OR_RETURN(
        Rows m,
        db_.Pq("select series_id, state from model_snapshots where detector_id = $1 and ts = $2", key));
    for (int i = 0; i < m.size(); ++i) out.model_states[m.Int(i, 0)] = m.Bytes(i, 1);
    OSPREY_ASSIGN_OR_RETURN(
        Rows a, db_.Pq("select alert, measure, state from alert_state_snapshots where detector_id = $1 "
                       "and ts = $2 order by alert, measure",
                       key));
    for (int i = 0; i < a.size(); ++i) out.alert_states.push_back({a.Text(i, 0), a.Text(i, 1), a.Text(i, 2)});
    return out;
  }

  Status PutDetectorStatus(const DetectorStatusRecord& r) override {
    return db_.PqExec(
        "insert into detector_status(detector_id, state, last_run_at, next_run_at, last_error, retries, "
        "pending_ts, live_from, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "on conflict(detector_id) do update set state = excluded.state, "
        "last_run_at = excluded.last_run_at, next_run_at = excluded.next_run_at, "
        "last_error = excluded.last_error, retries = excluded.retries, "
        "pending_ts = excluded.pending_ts, live_from = excluded.live_from, "
        "updated_at = excluded.updated_at",
        Params()
            .Add(r.detector_id)
            .Add(r.state)
            .Add(r.last_run_at)
            .Add(r.next_run_at)
            .Add(r.last_error)
            .Add(r.retries)
            .Add(r.pending_ts)
            .Add(r.live_from)
            .Add(r.updated_at));
  }

  Result<std::vector<DetectorStatusRecord>> ListDetectorStatus() override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows rows,
        db_.Pq("select s.detector_id, d.name, s.state, s.last_run_at, s.next_run_at, s.last_error, "
               "s.retries, s.pending_ts, s.updated_at, s.live_from from detector_status s "
               "join detectors d on d.id = s.detector_id order by d.name collate \"C\""));
    std::vector<DetectorStatusRecord> out;
    for (int i = 0; i < rows.size(); ++i) {
      DetectorStatusRecord r;
      r.detector_id = rows.Int(i, 0);
      r.detector = rows.Text(i, 1);
      r.state = rows.Text(i, 2);
      r.last_run_at = rows.OptInt(i, 3);
      r.next_run_at = rows.OptInt(i, 4);
      r.last_error = rows.Text(i, 5);
      r.retries = rows.Int(i, 6);
      r.pending_ts = rows.OptInt(i, 7);
      r.updated_at = rows.Int(i, 8);
      r.live_from = rows.OptInt(i, 9);
      out.push_back(std::move(r));
    }
    return out;
  }

  // Recomputes the incidents row of each (measure, incident_ts) from its
  // groups, or deletes it when none is left.
  Status UpdateIncidents(int64_t detector_id, const std::set<std::pair<std::string, int64_t>>& keys) {
    for (const auto& [measure, incident_ts] : keys) {
      const Params p = Params().Add(detector_id).Add(measure).Add(incident_ts);
      OSPREY_RETURN_IF_ERROR(db_.PqExec(
          "delete from incidents where detector_id = $1 and measure = $2 and incident_ts = $3", p));
      OSPREY_RETURN_IF_ERROR(db_.PqExec(
          "insert into incidents select detector_id, measure, incident_ts, max(end_ts), count(*), "
          "max(severity), (select i.id from anomaly_groups i where i.detector_id = $1 and i.measure = $2 "
          "and i.incident_ts = $3 order by i.severity desc, i.ts limit 1) from anomaly_groups "
          "where detector_id = $1 and measure = $2 and incident_ts = $3 "
          "group by detector_id, measure, incident_ts",
          p));
    }
    return Status::Ok();
  }

  Status ResetFrom(int64_t detector_id, int64_t from_ts) override {
    return InTransaction([&]() -> Status {
      // Incidents with a group from from_ts on lose it.
      std::set<std::pair<std::string, int64_t>> incidents;
      OSPREY_ASSIGN_OR_RETURN(Rows r,
                              db_.Pq("select measure, incident_ts from incidents where detector_id = $1 "
                                     "and end_ts > $2",
                                     Params().Add(detector_id).Add(from_ts)));
      for (int i = 0; i < r.size(); ++i) incidents.insert({r.Text(i, 0), r.Int(i, 1)});
      for (std::string_view sql :
           {"delete from model_state where series_id in (select id from series where detector_id = $1)",
            "delete from watermarks where detector_id = $1", "delete from alert_state where detector_id = $1",
            "delete from model_snapshots where detector_id = $1",
            "delete from alert_state_snapshots where detector_id = $1",
            "delete from snapshot_times where detector_id = $1",
            "delete from anomaly_groups where detector_id = $1 and ts >= $2",
            "delete from anomalies where detector_id = $1 and ts >= $2",
            "delete from data_quality where detector_id = $1 and ts >= $2",
            "delete from points where ts >= $2 and series_id in "
            "(select id from series where detector_id = $1)",
            "delete from point_blocks where start_ts >= $2 and series_id in "
            "(select id from series where detector_id = $1)"}) {
        Params p;
        p.Add(detector_id);
        if (sql.find("$2") != std::string_view::npos) p.Add(from_ts);
        OSPREY_RETURN_IF_ERROR(db_.PqExec(sql, p));
      }
      OSPREY_RETURN_IF_ERROR(TruncatePointBlocks(detector_id, from_ts));
      return UpdateIncidents(detector_id, incidents);
    });
  }

  // Blocks holding points from from_ts on that start before it keep only
  // their earlier points (blocks starting later are deleted whole).
  Status TruncatePointBlocks(int64_t detector_id, int64_t from_ts) {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select b.series_id, b.start_ts, b.end_ts, b.n, b.data "
                       "from series s join point_blocks b on b.series_id = s.id "
                       "where s.detector_id = $1 and b.start_ts > $2 and b.start_ts < $3 and b.end_ts >= $3",
                       Params().Add(detector_id).Add(SpanBefore(from_ts)).Add(from_ts)));
    std::vector<StoredBlock> kept;
    for (int i = 0; i < r.size(); ++i) {
      const StoredBlock b = Tables::ReadBlock(r, i);
      OSPREY_ASSIGN_OR_RETURN(std::optional<StoredBlock> t, TruncateBlock(b, from_ts));
      if (t) {
        kept.push_back(std::move(*t));
        continue;
      }
      OSPREY_RETURN_IF_ERROR(db_.PqExec("delete from point_blocks where series_id = $1 and start_ts = $2",
                                        Params().Add(b.series_id).Add(b.start_ts)));
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

  static GroupRecord ReadGroup(const Rows& r, int i) {
    GroupRecord g{r.Int(i, 0),  r.Int(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4),  r.Int(i, 5),
                  r.Real(i, 6), r.Int(i, 7), r.Text(i, 8), r.Text(i, 9), r.Text(i, 10)};
    g.incident_ts = r.Int(i, 11);
    g.incident_end_ts = r.Int(i, 12);
    g.incident_intervals = r.Int(i, 13);
    g.incident_severity = r.Real(i, 14);
    return g;
  }

  // The groups q selects. One per incident (its most severe, the earliest
  // on ties): read from the incidents, one row each, not from every group.
  // Parameters: $1 min severity, $2 detector, $3 measure, $4 since, $5
  // until, $6 limit, $7 offset, $8-$10 the keyset (ts, severity, id); a
  // null one is no condition (PostgreSQL plans each statement with its
  // values, so the index of the list's filter and order is used).
  static std::string GroupFilter(const GroupQuery& q) {
    const char* later = q.newest_first ? "<" : ">";
    std::string after =
        q.by_severity
            ? fmt::format("{1} and (g.severity < $9 or g.ts {0} $8 or (g.ts = $8 and g.id > $10))", later,
                          q.newest_first ? "(g.severity, g.ts) <= ($9, $8)" : "g.severity <= $9")
            : fmt::format(
                  "g.ts {0}= $8 and (g.ts {0} $8 or g.severity < $9 or (g.severity = $9 and g.id > $10))",
                  later);
    return fmt::format(
        "{} where g.severity >= $1 "
        "and ($2::text is null or g.detector_id = (select id from detectors where name = $2)) "
        "and ($3::text is null or g.measure = $3) "
        "and ($4::bigint is null or g.ts >= $4) and ($5::bigint is null or g.ts < $5) "
        "and ($8::bigint is null or ({})) ",
        q.incidents_only ? "from incidents i join anomaly_groups g on g.id = i.top_group_id "
                           "join detectors d on d.id = g.detector_id"
                         : kGroupJoin,
        after);
  }

  // $1-$5 the filters, $6 limit, $7 offset, $8-$10 the keyset.
  static Params GroupParams(const GroupQuery& q, std::optional<int64_t> limit, int64_t offset) {
    Params p;
    p.Add(q.min_severity).Add(q.detector).Add(q.measure).Add(q.since).Add(q.until);
    p.Add(limit).Add(offset);
    if (q.after) {
      p.Add(q.after->ts).Add(q.after->severity).Add(q.after->id);
    } else {
      p.Add(std::optional<int64_t>()).Add(std::optional<double>()).Add(std::optional<int64_t>());
    }
    return p;
  }

  Result<int64_t> CountGroups(const GroupQuery& q) override {
    GroupQuery all = q;
    all.after.reset();
    OSPREY_ASSIGN_OR_RETURN(
        Rows r,
        db_.Pq(fmt::format("select count(*) from (select 1 {} limit $6 offset $7) c", GroupFilter(all)),
               GroupParams(all, q.count_at_most, 0)));
    if (r.size() == 0) return Internal("count returned no row");
    return r.Int(0, 0);
  }

  Result<std::vector<GroupRecord>> ListGroups(const GroupQuery& q) override {
    const char* time_order = q.newest_first ? "desc" : "asc";
    std::string order = q.by_severity ? fmt::format("g.severity desc, g.ts {}", time_order)
                                      : fmt::format("g.ts {}, g.severity desc", time_order);
    std::string sql = fmt::format("select {} {} order by {}, g.id limit $6 offset $7", kGroupColumns,
                                  GroupFilter(q), order);
    // SQLite reads a negative limit as "no limit" and a negative offset as 0.
    OSPREY_ASSIGN_OR_RETURN(
        Rows r,
        db_.Pq(sql, GroupParams(q, q.limit < 0 ? std::optional<int64_t>() : std::optional<int64_t>(q.limit),
                                std::max<int64_t>(q.offset, 0))));
    return ReadGroups(r);
  }

  static std::vector<GroupRecord> ReadGroups(const Rows& r) {
    std::vector<GroupRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(ReadGroup(r, i));
    return out;
  }

  static constexpr std::string_view kMeasureIncidentJoin =
      "from incidents i join anomaly_groups g on g.id = i.top_group_id "
      "join detectors d on d.id = i.detector_id ";
  // The columns of ReadGroup from the incidents row alone.
  static constexpr std::string_view kSpanColumns =
      "i.top_group_id, i.detector_id, '', i.measure, i.incident_ts, i.end_ts, i.severity, 0::bigint, '', '', "
      "'', "
      "i.incident_ts, i.end_ts, i.intervals, i.severity from incidents i";

  Result<std::vector<GroupRecord>> ListMeasureIncidents(const MeasureIncidentQuery& q) override {
    const char* dir = q.newest_first ? "desc" : "asc";
    if (!q.start_ranges.empty() && !q.spans_only) {
      // The planner cannot tell how few rows the ranges hold: joined with
      // the groups, it guesses thousands and hashes every group. So the
      // spans first, then their top groups by id (from the index).
      MeasureIncidentQuery spans = q;
      spans.spans_only = true;
      OSPREY_ASSIGN_OR_RETURN(auto found, ListMeasureIncidents(spans));
      if (found.empty()) return found;
      std::vector<int64_t> ids;
      for (const auto& g : found) ids.push_back(g.id);
      OSPREY_ASSIGN_OR_RETURN(
          Rows r, db_.Pq(fmt::format("select {0} {1} where i.top_group_id = any($1::bigint[]) "
                                     "order by i.incident_ts {2}, i.detector_id {2}, i.measure {2}",
                                     kGroupColumns, kMeasureIncidentJoin, dir),
                         Params().AddIntArray(ids)));
      return ReadGroups(r);
    }
    std::string source =
        q.spans_only ? std::string(kSpanColumns) : fmt::format("{} {}", kGroupColumns, kMeasureIncidentJoin);
    if (!q.start_ranges.empty()) {
      // Spans only (above): the ranges as two arrays unnested side by side,
      // each read from the start index. Kept a lateral subquery (offset 0):
      // flattened into a join, the planner guesses thousands of rows a range
      // and JIT-compiles the read (0.9 s for 256 ranges on a 1 M store).
      constexpr std::string_view kTable = "from incidents i";
      source.replace(source.rfind(kTable), kTable.size(),
                     "from unnest($5::bigint[], $6::bigint[]) r(lo, hi) cross join lateral (select * from "
                     "incidents x where x.incident_ts >= r.lo and x.incident_ts < r.hi offset 0) i");
    }
    std::string sql = fmt::format(
        "select {0} where ($1::text is null or i.detector_id = (select id from detectors where name = $1)) "
        "and ($2::bigint is null or i.incident_ts >= $2) and ($3::bigint is null or i.incident_ts < $3) "
        "order by i.incident_ts {1}, i.detector_id {1}, i.measure {1} limit $4",
        source, dir);
    Params p;
    p.Add(q.detector)
        .Add(q.start_from)
        .Add(q.start_before)
        .Add(q.limit < 0 ? std::optional<int64_t>() : std::optional<int64_t>(q.limit));
    if (!q.start_ranges.empty()) {
      std::vector<int64_t> lo, hi;
      for (const auto& [from, before] : q.start_ranges) {
        lo.push_back(from);
        hi.push_back(before);
      }
      p.AddIntArray(lo).AddIntArray(hi);
    }
    OSPREY_ASSIGN_OR_RETURN(Rows r, db_.Pq(sql, p));
    return ReadGroups(r);
  }

  Result<std::vector<GroupRecord>> ListSevereIncidents(const SevereIncidentQuery& q) override {
    std::string sql = fmt::format(
        "select {} {} where ($1::text is null or i.detector_id = (select id from detectors where name = $1)) "
        "and ($2::float8 is null or (i.severity <= $2 and (i.severity < $2 or i.incident_ts < $3 or "
        "(i.incident_ts = $3 and (i.detector_id > $4 or (i.detector_id = $4 and i.measure > $5)))))) "
        "order by i.severity desc, i.incident_ts desc, i.detector_id, i.measure limit $6",
        kGroupColumns, kMeasureIncidentJoin);
    Params p;
    p.Add(q.detector);
    if (q.after) {
      p.Add(q.after->severity).Add(q.after->start).Add(q.after->detector_id).Add(q.after->measure);
    } else {
      p.Add(std::optional<double>())
          .Add(std::optional<int64_t>())
          .Add(std::optional<int64_t>())
          .Add(std::optional<std::string>());
    }
    p.Add(q.limit);
    OSPREY_ASSIGN_OR_RETURN(Rows r, db_.Pq(sql, p));
    return ReadGroups(r);
  }

  Result<int64_t> GetLongestMeasureIncident() override {
    OSPREY_ASSIGN_OR_RETURN(Rows r, db_.Pq("select coalesce(max(end_ts - incident_ts), 0) from incidents"));
    if (r.size() == 0) return Internal("max returned no row");
    return r.Int(0, 0);
  }

  Result<GroupRecord> GetGroup(int64_t group_id) override {
    OSPREY_ASSIGN_OR_RETURN(Rows r,
                            db_.Pq(fmt::format("select {} {} where g.id = $1", kGroupColumns, kGroupJoin),
                                   Params().Add(group_id)));
    if (r.size() == 0) return NotFound(fmt::format("no anomaly group {}", group_id));
    return ReadGroup(r, 0);
  }

  Result<std::vector<AnomalyRecord>> ListAnomalies(int64_t group_id) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select a.id, a.series_id, a.ts, a.value, a.expected, a.lower, a.upper, a.severity, "
                       "a.direction, a.explanation, a.group_id, s.label, s.measure, s.dims "
                       "from anomalies a join series s on s.id = a.series_id where a.group_id = $1 "
                       "order by a.severity desc, a.id",
                       Params().Add(group_id)));
    std::vector<AnomalyRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back(AnomalyRecord{r.Int(i, 0), r.Int(i, 1), r.Int(i, 2), r.Real(i, 3), r.Real(i, 4),
                                  r.Real(i, 5), r.Real(i, 6), r.Real(i, 7), r.Text(i, 8), r.Text(i, 9),
                                  r.Int(i, 10), r.Text(i, 11), r.Text(i, 12), r.Text(i, 13)});
    }
    return out;
  }

  Result<std::vector<PointRecord>> ListPoints(int64_t series_id, int64_t from_ts, int64_t to_ts) override {
    // The blocks that may hold points of [from_ts, to_ts) (a block's points
    // lie within kPointBlockSpan of its start), then the head rows.
    OSPREY_ASSIGN_OR_RETURN(
        Rows b, db_.Pq("select series_id, start_ts, end_ts, n, data from point_blocks where series_id = $1 "
                       "and start_ts > $2 and start_ts < $3 and end_ts >= $4 order by start_ts",
                       Params().Add(series_id).Add(SpanBefore(from_ts)).Add(to_ts).Add(from_ts)));
    OSPREY_ASSIGN_OR_RETURN(
        Rows h, db_.Pq("select series_id, ts, value, expected, lower, upper, severity from points "
                       "where series_id = $1 and ts >= $2 and ts < $3 order by ts",
                       Params().Add(series_id).Add(from_ts).Add(to_ts)));
    std::vector<PointRecord> out;
    int bi = 0, hi = 0;
    OSPREY_RETURN_IF_ERROR(MergePoints(
        [&](StoredBlock* o) -> Result<bool> {
          if (bi == b.size()) return false;
          *o = Tables::ReadBlock(b, bi++);
          return true;
        },
        [&](PointRecord* o) -> Result<bool> {
          if (hi == h.size()) return false;
          *o = Tables::ReadPoint(h, hi++);
          return true;
        },
        from_ts, to_ts,
        [&](const PointRecord& p) {
          out.push_back(p);
          return Status::Ok();
        }));
    return out;
  }

  Status ForEachScoredPoint(const ScoredPointQuery& q,
                            const std::function<Status(const PointRecord&)>& fn) override {
    // Two server-side cursors, blocks and head rows, each in (series, time)
    // order and read in batches: client memory holds one batch of each.
    constexpr int kBatch = 8192;
    const int64_t since = q.since.value_or(std::numeric_limits<int64_t>::min());
    const int64_t until = q.until.value_or(std::numeric_limits<int64_t>::max());
    return InTransaction([&]() -> Status {
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec("declare scored_blocks no scroll cursor for "
                     "select b.series_id, b.start_ts, b.end_ts, b.n, b.data "
                     "from series s join point_blocks b on b.series_id = s.id "
                     "where s.detector_id = $1 and b.start_ts > $2 and b.start_ts < $3 "
                     "and b.end_ts >= $4 order by s.id, b.start_ts",
                     Params().Add(q.detector_id).Add(SpanBefore(since)).Add(until).Add(since)));
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec("declare scored_points no scroll cursor for "
                     "select p.series_id, p.ts, p.value, p.expected, p.lower, p.upper, p.severity "
                     "from series s join points p on p.series_id = s.id "
                     "where s.detector_id = $1 and p.ts >= $2 and p.ts < $3 order by s.id, p.ts",
                     Params().Add(q.detector_id).Add(since).Add(until)));
      // A cursor's current batch and the next row in it.
      struct Batch {
        std::optional<Rows> rows;
        int next = 0;
        bool done = false;
      };
      Batch blocks, head;
      auto advance = [&](Batch& c, const char* cursor) -> Result<bool> {
        if (c.rows && c.next < c.rows->size()) return true;
        if (c.done) return false;
        if (c.rows && c.rows->size() < kBatch) {
          c.done = true;
          return false;
        }
        OSPREY_ASSIGN_OR_RETURN(Rows r, db_.Pq(fmt::format("fetch {} from {}", kBatch, cursor)));
        c.rows.emplace(std::move(r));
        c.next = 0;
        if (c.rows->size() == 0) c.done = true;
        return !c.done;
      };
      OSPREY_RETURN_IF_ERROR(MergePoints(
          [&](StoredBlock* o) -> Result<bool> {
            OSPREY_ASSIGN_OR_RETURN(bool more, advance(blocks, "scored_blocks"));
            if (more) *o = Tables::ReadBlock(*blocks.rows, blocks.next++);
            return more;
          },
          [&](PointRecord* o) -> Result<bool> {
            OSPREY_ASSIGN_OR_RETURN(bool more, advance(head, "scored_points"));
            if (more) *o = Tables::ReadPoint(*head.rows, head.next++);
            return more;
          },
          since, until,
          [&](const PointRecord& p) {
            if (!MatchesScoredPointQuery(q, p)) return Status::Ok();
            return fn(p);
          }));
      OSPREY_RETURN_IF_ERROR(db_.PqExec("close scored_blocks"));
      return db_.PqExec("close scored_points");
    });
  }

  Result<std::vector<DataQualityRecord>> ListQuality(int64_t detector_id, int64_t from_ts,
                                                     int64_t to_ts) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select ts, rows_read, rows_rejected, rows_filtered, series_seen, series_missing, "
                       "details from data_quality where detector_id = $1 and ts >= $2 and ts < $3 "
                       "order by ts",
                       Params().Add(detector_id).Add(from_ts).Add(to_ts)));
    std::vector<DataQualityRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back(
          {r.Int(i, 0), r.Int(i, 1), r.Int(i, 2), r.Int(i, 3), r.Int(i, 4), r.Int(i, 5), r.Text(i, 6)});
    }
    return out;
  }

  Result<std::vector<AlertStateRecord>> LoadAlertStates(int64_t detector_id) override {
    OSPREY_ASSIGN_OR_RETURN(Rows r,
                            db_.Pq("select alert, measure, state from alert_state where detector_id = $1 "
                                   "order by alert collate \"C\", measure collate \"C\"",
                                   Params().Add(detector_id)));
    std::vector<AlertStateRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back({r.Text(i, 0), r.Text(i, 1), r.Text(i, 2)});
    return out;
  }

  // $1 detector, $2 status; null: any.
  static constexpr std::string_view kOutboxFilter =
      "where ($1::text is null or o.detector_id = (select id from detectors where name = $1)) "
      "and ($2::text is null or o.status = $2) ";

  Result<std::vector<OutboxRecord>> ListOutbox(const OutboxQuery& q) override {
    const std::string sql = fmt::format(
        "select o.id, o.detector_id, d.name, o.alert, o.kind, o.measure, "
        "coalesce(g.ts, o.incident_ts), coalesce(o.group_id, 0), "
        "o.incident_ts, o.severity, o.idempotency_key, o.status, o.attempts, "
        "o.next_attempt_at, o.last_error, o.created_at, o.delivered_at "
        "from alert_outbox o join detectors d on d.id = o.detector_id "
        "left join anomaly_groups g on g.id = o.group_id "
        "{} and ($5::bigint is null or o.id {} $5) order by o.id {} limit $3 offset $4",
        kOutboxFilter, q.newest_first ? "<" : ">", q.newest_first ? "desc" : "asc");
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq(sql, Params()
                                .Add(q.detector)
                                .Add(q.status)
                                .Add(q.limit < 0 ? std::optional<int64_t>() : std::optional<int64_t>(q.limit))
                                .Add(q.offset)
                                .Add(q.after_id)));
    std::vector<OutboxRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      OutboxRecord o;
      o.id = r.Int(i, 0);
      o.detector_id = r.Int(i, 1);
      o.detector = r.Text(i, 2);
      o.alert = r.Text(i, 3);
      o.kind = r.Text(i, 4);
      o.measure = r.Text(i, 5);
      o.group_ts = r.Int(i, 6);
      o.group_id = r.Int(i, 7);
      o.incident_ts = r.Int(i, 8);
      o.severity = r.Real(i, 9);
      o.idempotency_key = r.Text(i, 10);
      o.status = r.Text(i, 11);
      o.attempts = r.Int(i, 12);
      o.next_attempt_at = r.Int(i, 13);
      o.last_error = r.Text(i, 14);
      o.created_at = r.Int(i, 15);
      o.delivered_at = r.OptInt(i, 16);
      out.push_back(std::move(o));
    }
    return out;
  }

  Result<int64_t> CountOutbox(const OutboxQuery& q) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq(fmt::format("select count(*) from (select 1 from alert_outbox o {} limit $3) c",
                                   kOutboxFilter),
                       Params().Add(q.detector).Add(q.status).Add(q.count_at_most)));
    if (r.size() == 0) return Internal("count returned no row");
    return r.Int(0, 0);
  }

  Status UpdateOutbox(const OutboxRecord& o) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("update alert_outbox set status = $2, attempts = $3, next_attempt_at = $4, "
                       "last_error = $5, delivered_at = $6 where id = $1",
                       Params()
                           .Add(o.id)
                           .Add(o.status)
                           .Add(o.attempts)
                           .Add(o.next_attempt_at)
                           .Add(o.last_error)
                           .Add(o.delivered_at)));
    if (r.Changed() == 0) return NotFound(fmt::format("no outbox message {}", o.id));
    return Status::Ok();
  }

  Result<int64_t> AddFeedback(const FeedbackRecord& f) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("insert into feedback(detector_id, group_id, series_id, ts, relevant, direction, "
                       "value, expected, created_at, comment, author) "
                       "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
                       Params()
                           .Add(f.detector_id)
                           .Add(f.group_id)
                           .Add(f.series_id)
                           .Add(f.ts)
                           .Add(int64_t{f.relevant ? 1 : 0})
                           .Add(f.direction)
                           .Add(f.value)
                           .Add(f.expected)
                           .Add(f.created_at)
                           .Add(f.comment)
                           .Add(f.author)));
    if (r.size() == 0) return Internal("feedback insert returned no id");
    return r.Int(0, 0);
  }

  Result<std::vector<FeedbackRecord>> ReadFeedback(std::string_view where, int64_t key) {
    OSPREY_ASSIGN_OR_RETURN(Rows r,
                            db_.Pq(fmt::format("select f.id, f.detector_id, f.group_id, f.series_id, f.ts, "
                                               "f.relevant, f.direction, f.value, f.expected, f.created_at, "
                                               "f.comment, f.author, s.label from feedback f "
                                               "join series s on s.id = f.series_id {} order by f.id",
                                               where),
                                   Params().Add(key)));
    std::vector<FeedbackRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({r.Int(i, 0), r.Int(i, 1), r.Int(i, 2), r.Int(i, 3), r.Int(i, 4), r.Int(i, 5) != 0,
                     r.Text(i, 6), r.Real(i, 7), r.Real(i, 8), r.Int(i, 9), r.Text(i, 10), r.Text(i, 11),
                     r.Text(i, 12)});
    }
    return out;
  }

  Result<std::vector<FeedbackRecord>> ListFeedback(int64_t detector_id) override {
    return ReadFeedback("where f.detector_id = $1", detector_id);
  }

  Result<std::vector<FeedbackRecord>> ListGroupFeedback(int64_t group_id) override {
    return ReadFeedback("where f.group_id = $1", group_id);
  }

  Result<StoreTotals> Totals() override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select (select count(*) from detectors), (select count(*) from data_quality), "
                       "(select coalesce(sum(rows_read), 0) from data_quality), "
                       "(select coalesce(sum(rows_rejected), 0) from data_quality), "
                       "(select count(*) from anomalies), (select count(*) from anomaly_groups), "
                       "(select count(*) from alert_outbox where status = 'pending'), "
                       "(select count(*) from alert_outbox where status = 'delivered'), "
                       "(select count(*) from alert_outbox where status = 'dead'), "
                       "(select coalesce(sum(attempts), 0) from alert_outbox), "
                       "(select count(*) from alert_outbox where status = 'silenced')"));
    if (r.size() == 0) return Internal("totals returned no row");
    StoreTotals t;
    t.detectors = r.Int(0, 0);
    t.intervals = r.Int(0, 1);
    t.rows_read = r.Int(0, 2);
    t.rows_rejected = r.Int(0, 3);
    t.anomalies = r.Int(0, 4);
    t.groups = r.Int(0, 5);
    t.alerts_pending = r.Int(0, 6);
    t.alerts_delivered = r.Int(0, 7);
    t.alerts_dead = r.Int(0, 8);
    t.delivery_attempts = r.Int(0, 9);
    t.alerts_silenced = r.Int(0, 10);
    return t;
  }

  Result<int64_t> CreateToken(const TokenRecord& t) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("insert into api_tokens(name, role, hash, created_at) values ($1, $2, $3, $4) "
                       "returning id",
                       Params().Add(t.name).Add(t.role).Add(t.hash).Add(t.created_at)));
    if (r.size() == 0) return Internal("token insert returned no id");
    return r.Int(0, 0);
  }

  Result<std::vector<TokenRecord>> ListTokens() override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select id, name, role, hash, created_at, revoked_at from api_tokens order by id"));
    std::vector<TokenRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4), r.OptInt(i, 5)});
    }
    return out;
  }

  Status RevokeToken(int64_t id, int64_t at) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("update api_tokens set revoked_at = $2 where id = $1 and revoked_at is null",
                       Params().Add(id).Add(at)));
    if (r.Changed() == 0) return NotFound(fmt::format("no active token {}", id));
    return Status::Ok();
  }

  Result<bool> QueueDetectorMessage(const OutboxRecord& o) override {
    if (!IsFailingKind(o.kind)) return InvalidArgument(fmt::format("'{}' is not a detector message", o.kind));
    OSPREY_ASSIGN_OR_RETURN(
        Rows r,
        db_.Pq("insert into alert_outbox(detector_id, alert, kind, measure, group_id, incident_ts, "
               "severity, idempotency_key, next_attempt_at, created_at) "
               "values ($1, $2, $3, '', null, $4, 0, $5, $6, $7) on conflict (idempotency_key) do nothing",
               Params()
                   .Add(o.detector_id)
                   .Add(o.alert)
                   .Add(o.kind)
                   .Add(o.incident_ts)
                   .Add(FailingKey(o))
                   .Add(o.next_attempt_at)
                   .Add(o.created_at)));
    return r.Changed() > 0;
  }

  Result<int64_t> CreateSilence(const SilenceRecord& s) override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("insert into silences(detector, measure, matchers, starts_at, ends_at, comment, "
                       "created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
                       Params()
                           .Add(s.detector)
                           .Add(s.measure)
                           .Add(s.matchers)
                           .Add(s.starts_at)
                           .Add(s.ends_at)
                           .Add(s.comment)
                           .Add(s.created_by)
                           .Add(s.created_at)));
    if (r.size() == 0) return Internal("silence insert returned no id");
    return r.Int(0, 0);
  }

  Result<std::vector<SilenceRecord>> ListSilences() override {
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select id, detector, measure, matchers, starts_at, ends_at, comment, created_by, "
                       "created_at from silences order by id desc"));
    std::vector<SilenceRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4), r.Int(i, 5),
                     r.Text(i, 6), r.Text(i, 7), r.Int(i, 8)});
    }
    return out;
  }

  Status ExpireSilence(int64_t id, int64_t at) override {
    OSPREY_ASSIGN_OR_RETURN(Rows r, db_.Pq("update silences set ends_at = $2 where id = $1 and ends_at > $2",
                                           Params().Add(id).Add(at)));
    if (r.Changed() == 0) return NotFound(fmt::format("no active silence {}", id));
    return Status::Ok();
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
    if (db_.held_.count(key)) {
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec(kUpsert, Params().Add(key).Add(worker).Add(lease_seconds).Add(std::string("false"))));
      return LeaseState::kHeld;
    }
    OSPREY_ASSIGN_OR_RETURN(Rows got, db_.Pq("select pg_try_advisory_lock($1::int, $2::int)",
                                             Params().Add(kLeaseClass).Add(key)));
    if (got.size() == 1 && got.Text(0, 0) == "t") {
      db_.held_.insert(key);
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec(kUpsert, Params().Add(key).Add(worker).Add(lease_seconds).Add(std::string("true"))));
      return LeaseState::kTaken;
    }
    // Held by a live session. One that has not renewed for a lease period
    // belongs to a hung worker: end that session, which releases the lock
    // (and fails whatever the hung worker would still write); the lease is
    // taken on a later try.
    OSPREY_ASSIGN_OR_RETURN(
        Rows stale, db_.Pq("select pid, worker from worker_leases where key = $1 and pid <> pg_backend_pid() "
                           "and expires_at < extract(epoch from now())::bigint",
                           Params().Add(key)));
    if (stale.size() == 1) {
      Log(LogLevel::kWarn, fmt::format("lease {}: worker '{}' has not renewed it in time; ending its session",
                                       key, stale.Text(0, 1)));
      OSPREY_RETURN_IF_ERROR(
          db_.PqExec("select pg_terminate_backend($1::int)", Params().Add(stale.Int(0, 0))));
    }
    return LeaseState::kNotHeld;
  }

  Status ReleaseLease(int64_t key) override {
    LeaseCall call(this);
    if (!db_.held_.count(key)) return Status::Ok();
    db_.held_.erase(key);
    OSPREY_RETURN_IF_ERROR(
        db_.PqExec("select pg_advisory_unlock($1::int, $2::int)", Params().Add(kLeaseClass).Add(key)));
    return db_.PqExec(
        "update worker_leases set expires_at = extract(epoch from now())::bigint where key = $1",
        Params().Add(key));
  }

  Result<std::vector<LeaseRecord>> ListLeases() override {
    LeaseCall call(this);
    OSPREY_ASSIGN_OR_RETURN(
        Rows r,
        db_.Pq("select l.key, coalesce(d.name, ''), l.worker, l.acquired_at, l.renewed_at, l.expires_at, "
               "exists(select 1 from pg_locks k where k.locktype = 'advisory' and k.granted and "
               "k.pid = l.pid and k.classid::bigint = $1 and k.objid::bigint = l.key and k.objsubid = 2) "
               "from worker_leases l left join detectors d on d.id = l.key order by l.key",
               Params().Add(kLeaseClass)));
    std::vector<LeaseRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3), r.Int(i, 4), r.Int(i, 5),
                     r.Text(i, 6) == "t"});
    }
    return out;
  }

  Result<int64_t> CountWorkers(const std::string& worker, int64_t lease_seconds) override {
    LeaseCall call(this);
    db_.fenced_ = false;  // a new round: the scheduler has dropped what it ran under lost leases
    OSPREY_RETURN_IF_ERROR(
        db_.PqExec("insert into workers(name, seen_at, expires_at) select $1, t, t + $2 from "
                   "(select extract(epoch from now())::bigint as t) n on conflict (name) do update set "
                   "seen_at = excluded.seen_at, expires_at = excluded.expires_at",
                   Params().Add(worker).Add(lease_seconds)));
    OSPREY_ASSIGN_OR_RETURN(
        Rows r, db_.Pq("select count(*) from workers where expires_at >= extract(epoch from now())::bigint"));
    return std::max<int64_t>(1, r.size() == 1 ? r.Int(0, 0) : 1);
  }

 private:
  PostgresDb db_;
  Tables point_tables_{*this};
  // Marks the statements of a lease method, which run while fenced.
  struct LeaseCall {
    explicit LeaseCall(PostgresStore* s) : s_(s) { s_->db_.lease_call_ = true; }
    ~LeaseCall() { s_->db_.lease_call_ = false; }
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
  OSPREY_RETURN_IF_ERROR(store->Migrate());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace osprey::store
