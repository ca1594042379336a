// PostgresSource: runs a detector's query on PostgreSQL, or on a server that
// speaks its protocol (Redshift and the like), through libpq. The result is
// streamed in single-row mode, never held whole; the query is a plain
// statement (no COPY, no cursor), because Redshift accepts neither in every
// form. The interval bounds are bound as parameters: text in the detector's
// timestamp format, typed by the server from their use (so `ts >= $1` works
// for timestamp, timestamptz and text columns); the session's TimeZone is the
// source zone (timestamp.timezone, else the detector's), so bounds without an
// offset mean the same thing everywhere.
// Read only by construction: the session sets default_transaction_read_only
// and each query runs inside BEGIN READ ONLY, so a query that writes (DELETE
// ... RETURNING, a CTE with an INSERT) fails with InvalidArgument and
// changes nothing.
// Timestamp cells come back rewritten into the detector's format. One
// connection, used by one thread at a time; it is re-opened after a failure.
#pragma once

#include <memory>
#include <string>

#include "osprey/connectors/source.h"

struct pg_conn;

namespace osprey::connectors {

struct PostgresSourceOptions {
  // A libpq DSN ("host=... dbname=..."), a URL (postgresql://...) or a JSON
  // secret {"username","password","host","port","db"}. Never logged.
  std::string connection;
  std::string query;  // with {{interval_start}} / {{interval_end}}
  TimestampFormat bind_format;
  TimeZone zone = TimeZone::Utc();  // the source zone: of the bounds and naive cells
  int64_t timeout_seconds = 300;    // statement_timeout
};

class PostgresSource final : public Source {
 public:
  // Connects and prepares the query once to report errors early. Unavailable
  // when the server cannot be reached; InvalidArgument for bad credentials, a
  // missing database or a query that does not prepare.
  static Result<std::unique_ptr<PostgresSource>> Open(PostgresSourceOptions options);
  ~PostgresSource() override;

  // Unavailable when the connection fails or breaks (the server went away);
  // DeadlineExceeded when statement_timeout cancels the query;
  // InvalidArgument for a query error (SQL, types). Each names the range.
  Status Query(const QueryRange& range, RowHandler& handler) override;

 private:
  PostgresSource(PostgresSourceOptions options, PreparedQuery prepared)
      : options_(std::move(options)), prepared_(std::move(prepared)) {}
  Status Connect();
  PostgresSourceOptions options_;
  PreparedQuery prepared_;
  pg_conn* conn_ = nullptr;
};

// Maps a libpq error to a Status: SQLSTATE class 08 / 57P0x / 53 and broken
// connections are Unavailable, 57014 (statement timeout) DeadlineExceeded,
// the rest InvalidArgument. Secrets in `message` are redacted. Exposed for
// the PostgreSQL store and tests.
Status PostgresError(std::string_view sqlstate, bool connection_broken, std::string_view message);

}  // namespace osprey::connectors
