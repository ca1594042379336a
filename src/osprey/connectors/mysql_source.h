// MysqlSource: runs a detector's query on MySQL or MariaDB through MariaDB
// Connector/C, as a server-side prepared statement whose `?` parameters take
// the interval bounds (text in the detector's timestamp format; the server
// converts them to the compared column's type). Rows are fetched one at a
// time without mysql_stmt_store_result, so the result is never held whole.
// The statement time limit is max_statement_time (MariaDB) or
// max_execution_time (MySQL), with the client's read timeout as a backstop.
// Read only by construction: the session is SET SESSION TRANSACTION READ
// ONLY and each query runs inside START TRANSACTION READ ONLY, so a query
// that writes fails (InvalidArgument) and changes nothing.
// One connection, one thread at a time; re-opened after a failure.
#pragma once

#include <memory>
#include <string>

#include "osprey/connectors/source.h"

struct st_mysql;
struct st_mysql_stmt;

namespace osprey::connectors {

struct MysqlSourceOptions {
  // mysql://user:password@host:port/db?ssl_mode=required, a key=value list
  // (user= password= host= port= database= socket= ssl_mode= ssl_ca=
  // ssl_cert= ssl_key=) or a JSON secret. Never logged.
  std::string connection;
  std::string query;  // with {{interval_start}} / {{interval_end}}
  TimestampFormat bind_format;
  TimeZone zone = TimeZone::Utc();  // the source zone: of the bounds and naive cells
  int64_t timeout_seconds = 300;
};

class MysqlSource final : public Source {
 public:
  // Connects and prepares the query. Unavailable when the server cannot be
  // reached; InvalidArgument for bad credentials, an unknown database or a
  // query that does not prepare.
  static Result<std::unique_ptr<MysqlSource>> Open(MysqlSourceOptions options);
  ~MysqlSource() override;

  // Unavailable when the connection breaks; DeadlineExceeded on timeout;
  // InvalidArgument for a query error. Each names the range.
  Status Query(const QueryRange& range, RowHandler& handler) override;

 private:
  MysqlSource(MysqlSourceOptions options, PreparedQuery prepared)
      : options_(std::move(options)), prepared_(std::move(prepared)) {}
  Status Connect();
  void Close();
  Status Error(st_mysql_stmt* stmt) const;
  MysqlSourceOptions options_;
  PreparedQuery prepared_;
  st_mysql* conn_ = nullptr;
  st_mysql_stmt* stmt_ = nullptr;
};

}  // namespace osprey::connectors
