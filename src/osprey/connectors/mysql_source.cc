#include "osprey/connectors/mysql_source.h"

#include <fmt/format.h>
#include <mysql.h>

#include <charconv>
#include <cstring>

#include "osprey/base/log.h"
#include "osprey/connectors/connection.h"

namespace osprey::connectors {
namespace {

// Client (CR_*) and server (ER_*) error numbers.
constexpr unsigned kAccessDenied = 1045, kDbAccessDenied = 1044, kBadDb = 1049, kMariaStatementTimeout = 1969,
                   kMysqlQueryTimeout = 3024, kQueryInterrupted = 1317, kReadOnlyTransaction = 1792;

bool IsConnectionError(unsigned e) {
  return (e >= 2000 && e < 2100 && e != 2031 && e != 2036) || e == 1040 || e == 1053 || e == 1152 ||
         e == 1158 || e == 1159 || e == 1160 || e == 1161 || e == 1927;
}

Status MapError(unsigned code, std::string_view message) {
  std::string m = RedactSecrets(message);
  if (code == kAccessDenied || code == kDbAccessDenied || code == kBadDb) {
    return InvalidArgument(
        fmt::format("cannot log in to MySQL (check the connection's user, "
                    "password and database): {}",
                    m));
  }
  if (code == kMariaStatementTimeout || code == kMysqlQueryTimeout || code == kQueryInterrupted) {
    return DeadlineExceeded(fmt::format("the query was cancelled: {}", m));
  }
  if (code == kReadOnlyTransaction) {
    return InvalidArgument(
        fmt::format("the query writes to the source, and osprey reads sources "
                    "in read-only transactions only; a detector's query must be "
                    "a plain SELECT: {}",
                    m));
  }
  if (IsConnectionError(code)) return Unavailable(fmt::format("MySQL is unavailable: {}", m));
  return InvalidArgument(fmt::format("MySQL error {}: {}", code, m));
}

enum class Kind { kInteger, kReal, kDecimal, kTimestamp, kText };

Kind KindOf(enum_field_types t) {
  switch (t) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_YEAR: return Kind::kInteger;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE: return Kind::kReal;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: return Kind::kDecimal;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP: return Kind::kTimestamp;
    default: return Kind::kText;
  }
}

struct Column {
  Kind kind = Kind::kText;
  int64_t integer = 0;
  double real = 0;
  std::vector<char> text = std::vector<char>(64);
  unsigned long length = 0;
  my_bool is_null = 0;
  my_bool error = 0;
};

}  // namespace

Result<std::unique_ptr<MysqlSource>> MysqlSource::Open(MysqlSourceOptions options) {
  OSPREY_ASSIGN_OR_RETURN(PreparedQuery prepared, PrepareQuery(options.query, "?plain"));
  std::unique_ptr<MysqlSource> src(new MysqlSource(std::move(options), std::move(prepared)));
  OSPREY_RETURN_IF_ERROR(src->Connect());
  return src;
}

MysqlSource::~MysqlSource() { Close(); }

void MysqlSource::Close() {
  if (stmt_ != nullptr) mysql_stmt_close(stmt_);
  if (conn_ != nullptr) mysql_close(conn_);
  stmt_ = nullptr;
  conn_ = nullptr;
}

Status MysqlSource::Error(st_mysql_stmt* stmt) const {
  if (stmt != nullptr && mysql_stmt_errno(stmt) != 0) {
    return MapError(mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
  }
  if (conn_ != nullptr && mysql_errno(conn_) != 0) {
    return MapError(mysql_errno(conn_), mysql_error(conn_));
  }
  // No error number: the connection broke while rows were being read.
  return Unavailable("MySQL is unavailable: the connection was lost while reading the result");
}

Status MysqlSource::Connect() {
  Close();
  OSPREY_ASSIGN_OR_RETURN(ConnectionParts parts, ParseConnection(options_.connection));
  conn_ = mysql_init(nullptr);
  if (conn_ == nullptr) return Internal("mysql_init failed");
  unsigned int connect_timeout = 10;
  unsigned int read_timeout = static_cast<unsigned>(options_.timeout_seconds + 30);
  my_bool report_truncation = 1;
  mysql_options(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_options(conn_, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
  mysql_options(conn_, MYSQL_REPORT_DATA_TRUNCATION, &report_truncation);
  const char* ssl_key = nullptr;
  const char* ssl_cert = nullptr;
  const char* ssl_ca = nullptr;
  for (const auto& [key, value] : parts.params) {
    if (key == "ssl_mode" || key == "sslmode") {
      my_bool on = 1;
      if (value == "required" || value == "REQUIRED" || value == "require") {
        mysql_options(conn_, MYSQL_OPT_SSL_ENFORCE, &on);
      } else if (value == "verify_identity" || value == "VERIFY_IDENTITY" || value == "verify_ca" ||
                 value == "VERIFY_CA" || value == "verify-full") {
        mysql_options(conn_, MYSQL_OPT_SSL_ENFORCE, &on);
        mysql_options(conn_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
      } else if (value != "disabled" && value != "DISABLED" && value != "preferred" && value != "PREFERRED") {
        Close();
        return InvalidArgument(
            fmt::format("unknown ssl_mode \"{}\" in the MySQL connection; "
                        "expected disabled, preferred, required, verify_ca or "
                        "verify_identity",
                        value));
      }
    } else if (key == "ssl_ca") {
      ssl_ca = value.c_str();
    } else if (key == "ssl_cert") {
      ssl_cert = value.c_str();
    } else if (key == "ssl_key") {
      ssl_key = value.c_str();
    } else {
      Close();
      return InvalidArgument(fmt::format("unknown key \"{}\" in the MySQL connection", key));
    }
  }
  if (ssl_ca || ssl_cert || ssl_key) mysql_ssl_set(conn_, ssl_key, ssl_cert, ssl_ca, nullptr, nullptr);
  auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
  if (mysql_real_connect(conn_, opt(parts.host), opt(parts.user), opt(parts.password), opt(parts.database),
                         static_cast<unsigned>(parts.port.value_or(0)), opt(parts.socket), 0) == nullptr) {
    Status s = Error(nullptr);
    Close();
    if (s.code() == StatusCode::kUnavailable) {
      return Unavailable(fmt::format("cannot connect to MySQL: {}", s.message()));
    }
    return s;
  }
  mysql_set_character_set(conn_, "utf8mb4");
  // MariaDB's limit in seconds, else MySQL's in milliseconds (SELECT only).
  std::string limit = fmt::format("SET SESSION max_statement_time = {}", options_.timeout_seconds);
  if (mysql_query(conn_, limit.c_str()) != 0) {
    limit = fmt::format("SET SESSION max_execution_time = {}", options_.timeout_seconds * 1000);
    if (mysql_query(conn_, limit.c_str()) != 0) {
      Log(LogLevel::kWarn,
          "MySQL: no statement time limit available; relying on the read "
          "timeout");
    }
  }
  const std::string zone = options_.zone.name() == "UTC" ? "+00:00" : options_.zone.name();
  if (mysql_query(conn_, fmt::format("SET time_zone = '{}'", zone).c_str()) != 0) {
    Log(LogLevel::kWarn, fmt::format("MySQL: cannot set time_zone to {} (load the server's time "
                                     "zone tables); TIMESTAMP columns are read in the server's "
                                     "zone",
                                     zone));
  }
  // Read only by construction: every transaction of this session, and each
  // query runs inside START TRANSACTION READ ONLY too (Query).
  if (mysql_query(conn_, "SET SESSION TRANSACTION READ ONLY") != 0) {
    return Error(nullptr).WithContext("cannot make the session read only");
  }
  stmt_ = mysql_stmt_init(conn_);
  if (stmt_ == nullptr) return Error(nullptr);
  if (mysql_stmt_prepare(stmt_, prepared_.sql.c_str(), prepared_.sql.size()) != 0) {
    return Error(stmt_).WithContext("the query does not prepare");
  }
  return Status::Ok();
}

Status MysqlSource::Query(const QueryRange& range, RowHandler& handler) {
  auto where = [&] {
    return fmt::format("query for [{}, {})", FormatIso(range.start), FormatIso(range.end));
  };
  if (stmt_ == nullptr) {
    Status s = Connect();
    if (!s.ok()) return s.WithContext(where());
  }
  if (mysql_query(conn_, "START TRANSACTION READ ONLY") != 0) {
    Status s = Error(nullptr);
    Close();
    return s.WithContext(where());
  }
  auto fail = [&](Status s) {
    // A failed statement leaves the protocol in an unknown state: start over.
    if (s.code() != StatusCode::kInvalidArgument) Close();
    if (conn_ != nullptr) mysql_query(conn_, "ROLLBACK");
    if (s.code() == StatusCode::kDeadlineExceeded) {
      return DeadlineExceeded(fmt::format("{} ran past its timeout of {} s ({})", where(),
                                          options_.timeout_seconds, s.message()));
    }
    return s.WithContext(where());
  };
  std::vector<std::string> texts;
  for (int p : prepared_.params) {
    texts.push_back(options_.bind_format.Format(p == 0 ? range.start : range.end, options_.zone));
  }
  std::vector<MYSQL_BIND> params(texts.size());
  std::vector<unsigned long> lengths(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::memset(&params[i], 0, sizeof(MYSQL_BIND));
    lengths[i] = texts[i].size();
    params[i].buffer_type = MYSQL_TYPE_STRING;
    params[i].buffer = texts[i].data();
    params[i].buffer_length = lengths[i];
    params[i].length = &lengths[i];
  }
  if (!params.empty() && mysql_stmt_bind_param(stmt_, params.data()) != 0) return fail(Error(stmt_));
  if (mysql_stmt_execute(stmt_) != 0) return fail(Error(stmt_));

  MYSQL_RES* meta = mysql_stmt_result_metadata(stmt_);
  if (meta == nullptr) {
    mysql_stmt_free_result(stmt_);
    return fail(InvalidArgument("the query returns no result set"));
  }
  const unsigned n = mysql_num_fields(meta);
  MYSQL_FIELD* fields = mysql_fetch_fields(meta);
  std::vector<std::string> names;
  std::vector<Column> cols(n);
  std::vector<MYSQL_BIND> binds(n);
  for (unsigned i = 0; i < n; ++i) {
    names.emplace_back(fields[i].name);
    Column& c = cols[i];
    c.kind = KindOf(fields[i].type);
    MYSQL_BIND& b = binds[i];
    std::memset(&b, 0, sizeof(MYSQL_BIND));
    b.is_null = &c.is_null;
    b.error = &c.error;
    b.length = &c.length;
    if (c.kind == Kind::kInteger) {
      b.buffer_type = MYSQL_TYPE_LONGLONG;
      b.buffer = &c.integer;
      b.is_unsigned = (fields[i].flags & UNSIGNED_FLAG) ? 1 : 0;
    } else if (c.kind == Kind::kReal) {
      b.buffer_type = MYSQL_TYPE_DOUBLE;
      b.buffer = &c.real;
    } else {
      b.buffer_type = MYSQL_TYPE_STRING;
      b.buffer = c.text.data();
      b.buffer_length = c.text.size();
    }
  }
  mysql_free_result(meta);
  if (mysql_stmt_bind_result(stmt_, binds.data()) != 0) {
    mysql_stmt_free_result(stmt_);
    return fail(Error(stmt_));
  }
  Status status = handler.OnColumns(names);
  std::vector<Cell> cells(n);
  TimestampRewriter rewriter(options_.bind_format, options_.zone);
  std::vector<std::string> stamps(n);
  while (status.ok()) {
    int rc = mysql_stmt_fetch(stmt_);
    if (rc == MYSQL_NO_DATA) break;
    if (rc == 1) return fail(Error(stmt_));
    for (unsigned i = 0; i < n && status.ok(); ++i) {
      Column& c = cols[i];
      if (c.is_null) {
        cells[i] = Cell::Null();
        continue;
      }
      if (c.kind == Kind::kInteger) {
        cells[i] = Cell::Integer(c.integer);
        continue;
      }
      if (c.kind == Kind::kReal) {
        cells[i] = Cell::Real(c.real);
        continue;
      }
      if (c.length > c.text.size()) {  // truncated: fetch the whole value
        c.text.resize(c.length);
        binds[i].buffer = c.text.data();
        binds[i].buffer_length = c.text.size();
        if (mysql_stmt_fetch_column(stmt_, &binds[i], i, 0) != 0) return fail(Error(stmt_));
        if (mysql_stmt_bind_result(stmt_, binds.data()) != 0) return fail(Error(stmt_));
      }
      std::string_view v(c.text.data(), c.length);
      if (c.kind == Kind::kDecimal) {
        double x = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
        cells[i] = ec == std::errc() && p == v.data() + v.size() ? Cell::Real(x) : Cell::Text(v);
      } else if (c.kind == Kind::kTimestamp) {
        std::string_view out = rewriter.Rewrite(v);
        if (out.data() != v.data()) {
          stamps[i].assign(out);
          out = stamps[i];
        }
        cells[i] = Cell::Text(out);
      } else {
        cells[i] = Cell::Text(v);
      }
    }
    status = handler.OnRow(cells);
  }
  if (!status.ok()) {
    // Dropping the connection is cheaper than reading the rest of the rows.
    Close();
    return status.WithContext(where());
  }
  mysql_stmt_free_result(stmt_);
  // Ends the read-only transaction (nothing to keep).
  if (mysql_query(conn_, "ROLLBACK") != 0) return fail(Error(nullptr));
  return Status::Ok();
}

}  // namespace osprey::connectors
