// Source: where a detector's rows come from. A source runs the detector's
// query for one time range, with the range's bounds bound as parameters
// (never spliced into the SQL text), and streams the result to a RowHandler
// row by row, so no result is ever held in memory whole. Implementations:
// sqlite (sqlite_source.h); more in later modules. A Source is used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/row.h"
#include "osprey/base/status.h"
#include "osprey/base/time.h"

namespace osprey::config {
struct Detector;
}

namespace osprey::connectors {

using osprey::Cell;
using osprey::RowHandler;

struct QueryRange {
  Instant start;  // bound to {{interval_start}}
  Instant end;    // bound to {{interval_end}}, exclusive
};

class Source {
 public:
  virtual ~Source() = default;
  // Runs the detector's query over `range`. Unavailable when the database
  // cannot be reached, DeadlineExceeded on timeout, InvalidArgument for a
  // query error; each message names the range.
  virtual Status Query(const QueryRange& range, RowHandler& handler) = 0;
};

// The query with its placeholders rewritten for a driver, and which bound
// value each positional parameter takes.
struct PreparedQuery {
  std::string sql;
  std::vector<int> params;  // 0 = interval_start, 1 = interval_end, in order of appearance
};

// Rewrites {{interval_start}} / {{interval_end}} into positional parameters:
// `style` "?" gives ?1/?2 (SQLite), "$" gives $1/$2 (PostgreSQL), "?plain"
// gives ? in order (MySQL). Fails with InvalidArgument when a placeholder sits
// inside a quoted string or comment, or an unknown {{placeholder}} appears.
Result<PreparedQuery> PrepareQuery(std::string_view query, std::string_view style);

// Builds the source a detector names. The connection comes from the
// environment variable `source.connection_env` when it is set, else from
// `source.path`. SQL sources aggregate in the database where that gives the
// row path's result (push_down.h; off with source.push_down: false).
Result<std::unique_ptr<Source>> OpenSource(const config::Detector& detector);

}  // namespace osprey::connectors
