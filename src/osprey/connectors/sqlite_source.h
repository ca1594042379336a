// SqliteSource: runs a detector's query on an SQLite database file, opened
// read-only, streaming rows with sqlite3_step. The interval bounds are bound
// as text in the detector's timestamp format (integers for epoch formats),
// so they compare correctly with timestamps stored the same way.
#pragma once

#include <memory>
#include <string>

#include "osprey/connectors/source.h"

struct sqlite3;

namespace osprey::connectors {

struct SqliteSourceOptions {
  std::string path;
  std::string query;  // with {{interval_start}} / {{interval_end}}
  TimestampFormat bind_format;
  TimeZone zone = TimeZone::Utc();  // the source zone: of the bounds and naive cells
  int64_t timeout_seconds = 300;
};

class SqliteSource final : public Source {
 public:
  // NotFound when the file does not exist; InvalidArgument when the query
  // does not prepare (with SQLite's message).
  static Result<std::unique_ptr<SqliteSource>> Open(SqliteSourceOptions options);
  ~SqliteSource() override;

  Status Query(const QueryRange& range, RowHandler& handler) override;

 private:
  SqliteSource(SqliteSourceOptions options, PreparedQuery prepared, sqlite3* db)
      : options_(std::move(options)), prepared_(std::move(prepared)), db_(db) {}
  SqliteSourceOptions options_;
  PreparedQuery prepared_;
  sqlite3* db_;
};

// A writable SQLite database for building sample warehouses (osprey demo) and
// test fixtures. Not a Source: sources are read-only.
class SqliteWriter {
 public:
  // Creates or opens `path` for writing.
  static Result<std::unique_ptr<SqliteWriter>> Open(const std::string& path);
  ~SqliteWriter();
  // Runs one or more statements without parameters.
  Status Execute(const std::string& sql);
  // Inserts rows with one prepared statement inside one transaction. Each row
  // has as many cells as `sql` has ? parameters.
  Status InsertRows(const std::string& sql, const std::vector<std::vector<Cell>>& rows);

 private:
  explicit SqliteWriter(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace osprey::connectors
