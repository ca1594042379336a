#include "osprey/connectors/postgres_source.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>

#include "osprey/base/log.h"
#include "osprey/connectors/connection.h"

namespace osprey::connectors {
namespace {

// Type OIDs from pg_type.h (stable across versions).
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26, kFloat4Oid = 700,
              kFloat8Oid = 701, kNumericOid = 1700, kDateOid = 1082, kTimestampOid = 1114,
              kTimestamptzOid = 1184;

enum class Kind { kInteger, kReal, kBool, kTimestamp, kText };

Kind KindOf(Oid type) {
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid: return Kind::kInteger;
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid: return Kind::kReal;
    case kBoolOid: return Kind::kBool;
    case kDateOid:
    case kTimestampOid:
    case kTimestamptzOid: return Kind::kTimestamp;
    default: return Kind::kText;
  }
}

std::string Trimmed(const char* message) {
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

bool IsAuthProblem(std::string_view m) {
  return m.find("password authentication failed") != std::string_view::npos ||
         m.find("authentication failed") != std::string_view::npos ||
         m.find("no pg_hba.conf entry") != std::string_view::npos ||
         m.find("no password supplied") != std::string_view::npos ||
         (m.find("does not exist") != std::string_view::npos &&
          (m.find("role") != std::string_view::npos || m.find("database") != std::string_view::npos));
}

struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultCloser>;

Status ResultError(PGconn* conn, const PGresult* res) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = Trimmed(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  if (msg.empty()) msg = Trimmed(PQerrorMessage(conn));
  return PostgresError(state ? state : "", PQstatus(conn) == CONNECTION_BAD, msg);
}

}  // namespace

Status PostgresError(std::string_view sqlstate, bool connection_broken, std::string_view message) {
  std::string m = RedactSecrets(message);
  if (connection_broken || sqlstate.substr(0, 2) == "08" || sqlstate.substr(0, 2) == "53" ||
      sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" || sqlstate.substr(0, 2) == "40") {
    return Unavailable(fmt::format("PostgreSQL is unavailable: {}", m));
  }
  if (sqlstate == "57014") {
    return DeadlineExceeded(fmt::format("the query was cancelled: {}", m));
  }
  if (sqlstate == "25006") {  // read_only_sql_transaction
    return InvalidArgument(
        fmt::format("the query writes to the source, and osprey reads sources "
                    "in read-only transactions only; a detector's query must be "
                    "a plain SELECT: {}",
                    m));
  }
  if (sqlstate == "28P01" || sqlstate == "28000") {
    return InvalidArgument(fmt::format("PostgreSQL refused the credentials: {}", m));
  }
  return InvalidArgument(
      fmt::format("PostgreSQL error{}: {}", sqlstate.empty() ? "" : fmt::format(" {}", sqlstate), m));
}

Result<std::unique_ptr<PostgresSource>> PostgresSource::Open(PostgresSourceOptions options) {
  OSPREY_ASSIGN_OR_RETURN(PreparedQuery prepared, PrepareQuery(options.query, "$"));
  std::unique_ptr<PostgresSource> src(new PostgresSource(std::move(options), std::move(prepared)));
  OSPREY_RETURN_IF_ERROR(src->Connect());
  // Describe the statement once so that SQL errors show at open time.
  PgResult res(PQprepare(src->conn_, "", src->prepared_.sql.c_str(), 0, nullptr));
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return ResultError(src->conn_, res.get()).WithContext("the query does not prepare");
  }
  return src;
}

PostgresSource::~PostgresSource() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Status PostgresSource::Connect() {
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  std::string dsn = options_.connection;
  if (IsJsonSecret(dsn)) {
    OSPREY_ASSIGN_OR_RETURN(ConnectionParts parts, ParseJsonSecret(dsn));
    dsn = ToLibpqDsn(parts);
  }
  // Defaults first: the DSN's own settings (expanded from dbname) win.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "osprey", dsn.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) return Internal("libpq could not allocate a connection");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = RedactSecrets(Trimmed(PQerrorMessage(conn_)));
    PQfinish(conn_);
    conn_ = nullptr;
    if (IsAuthProblem(msg)) {
      return InvalidArgument(
          fmt::format("cannot log in to PostgreSQL (check the connection's "
                      "user, password and database): {}",
                      msg));
    }
    return Unavailable(fmt::format("cannot connect to PostgreSQL: {}", msg));
  }
  std::string zone = "UTC";
  if (char* lit = PQescapeLiteral(conn_, options_.zone.name().c_str(), options_.zone.name().size())) {
    zone = lit;
    PQfreemem(lit);
  } else {
    zone = "'UTC'";
  }
  const std::string settings[] = {
      fmt::format("SET statement_timeout = {}", options_.timeout_seconds * 1000),
      fmt::format("SET TimeZone = {}", zone),
      "SET DateStyle = ISO, YMD",
      // Read only by construction: every transaction of this session, and
      // each query runs inside BEGIN READ ONLY too (Query).
      "SET default_transaction_read_only = on",
  };
  for (const std::string& sql : settings) {
    PgResult res(PQexec(conn_, sql.c_str()));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      // Servers that speak the protocol without this setting (Redshift) still
      // get BEGIN READ ONLY around every query.
      const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
      if (sql.find("read_only") != std::string::npos && state != nullptr &&
          std::string_view(state) == "42704") {
        continue;
      }
      return ResultError(conn_, res.get()).WithContext(fmt::format("'{}' failed", sql));
    }
  }
  return Status::Ok();
}

Status PostgresSource::Query(const QueryRange& range, RowHandler& handler) {
  auto where = [&] {
    return fmt::format("query for [{}, {})", FormatIso(range.start), FormatIso(range.end));
  };
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    Status s = Connect();
    if (!s.ok()) return s.WithContext(where());
  }
  std::vector<std::string> texts;
  for (int p : prepared_.params) {
    texts.push_back(options_.bind_format.Format(p == 0 ? range.start : range.end, options_.zone));
  }
  std::vector<const char*> values;
  for (const std::string& t : texts) values.push_back(t.c_str());
  {
    PgResult begin(PQexec(conn_, "BEGIN READ ONLY"));
    if (PQresultStatus(begin.get()) != PGRES_COMMAND_OK) {
      return ResultError(conn_, begin.get()).WithContext(where());
    }
  }
  // Ends the read-only transaction however the query went (nothing to keep).
  struct Rollback {
    PGconn* conn;
    ~Rollback() {
      if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PgResult end(PQexec(conn, "ROLLBACK"));
      }
    }
  } rollback{conn_};
  if (!PQsendQueryParams(conn_, prepared_.sql.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0)) {
    return PostgresError("", PQstatus(conn_) == CONNECTION_BAD, Trimmed(PQerrorMessage(conn_)))
        .WithContext(where());
  }
  PQsetSingleRowMode(conn_);

  Status status;
  bool columns_sent = false;
  std::vector<Kind> kinds;
  std::vector<Cell> cells;
  TimestampRewriter rewriter(options_.bind_format, options_.zone);
  std::vector<std::string> stamps;
  auto send_columns = [&](const PGresult* res) -> Status {
    columns_sent = true;
    const int n = PQnfields(res);
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
      names.emplace_back(PQfname(res, i));
      kinds.push_back(KindOf(PQftype(res, i)));
    }
    cells.resize(static_cast<size_t>(n));
    stamps.resize(static_cast<size_t>(n));
    return handler.OnColumns(names);
  };
  while (PGresult* raw = PQgetResult(conn_)) {
    PgResult res(raw);
    if (!status.ok()) continue;  // drain what is left after an error
    const ExecStatusType st = PQresultStatus(raw);
    if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
      if (!columns_sent) status = send_columns(raw);
      if (!status.ok() || st == PGRES_TUPLES_OK) continue;
      for (size_t i = 0; i < cells.size(); ++i) {
        const int col = static_cast<int>(i);
        Cell& c = cells[i];
        if (PQgetisnull(raw, 0, col)) {
          c = Cell::Null();
          continue;
        }
        const char* v = PQgetvalue(raw, 0, col);
        const size_t len = static_cast<size_t>(PQgetlength(raw, 0, col));
        switch (kinds[i]) {
          case Kind::kInteger: {
            int64_t x = 0;
            auto [p, ec] = std::from_chars(v, v + len, x);
            c = ec == std::errc() && p == v + len ? Cell::Integer(x) : Cell::Text(std::string_view(v, len));
            break;
          }
          case Kind::kReal: {
            double x = 0;
            auto [p, ec] = std::from_chars(v, v + len, x);
            c = ec == std::errc() && p == v + len ? Cell::Real(x) : Cell::Text(std::string_view(v, len));
            break;
          }
          case Kind::kBool: c = Cell::Integer(v[0] == 't' ? 1 : 0); break;
          case Kind::kTimestamp: {
            std::string_view out = rewriter.Rewrite(std::string_view(v, len));
            if (out.data() != v) {
              stamps[i].assign(out);
              out = stamps[i];
            }
            c = Cell::Text(out);
            break;
          }
          case Kind::kText: c = Cell::Text(std::string_view(v, len)); break;
        }
      }
      status = handler.OnRow(cells);
      if (!status.ok()) {
        // Stop the server's work; the rest of the result is drained above.
        if (PGcancel* cancel = PQgetCancel(conn_)) {
          char err[256];
          (void)PQcancel(cancel, err, sizeof err);
          PQfreeCancel(cancel);
        }
      }
    } else if (st != PGRES_COMMAND_OK) {
      status = ResultError(conn_, raw);
    }
  }
  if (status.ok() && PQstatus(conn_) == CONNECTION_BAD) {
    status = PostgresError("", true, Trimmed(PQerrorMessage(conn_)));
  }
  if (status.code() == StatusCode::kDeadlineExceeded) {
    return DeadlineExceeded(fmt::format("{} ran past its timeout of {} s ({})", where(),
                                        options_.timeout_seconds, status.message()));
  }
  if (!status.ok()) return status.WithContext(where());
  return Status::Ok();
}

}  // namespace osprey::connectors
