#include "osprey/connectors/sqlite_source.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>

#include "osprey/base/sqlite_config.h"

namespace osprey::connectors {
namespace {

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;

Status BindCell(sqlite3_stmt* stmt, int index, const Cell& c) {
  int rc = SQLITE_OK;
  switch (c.type) {
    case Cell::Type::kNull: rc = sqlite3_bind_null(stmt, index); break;
    case Cell::Type::kInteger: rc = sqlite3_bind_int64(stmt, index, c.integer); break;
    case Cell::Type::kReal: rc = sqlite3_bind_double(stmt, index, c.real); break;
    case Cell::Type::kText:
      rc = sqlite3_bind_text(stmt, index, c.text.data(), static_cast<int>(c.text.size()), SQLITE_TRANSIENT);
      break;
  }
  if (rc != SQLITE_OK) return Internal(fmt::format("binding parameter {} failed", index));
  return Status::Ok();
}

// A statement that does not prepare: the query's fault (InvalidArgument),
// unless the database is locked by a writer — an outage, retried like one.
Status PrepareError(sqlite3* db, int rc, const std::string& what) {
  const std::string msg = sqlite3_errmsg(db);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Unavailable(fmt::format("{}: {}", what, msg));
  return InvalidArgument(fmt::format("{}: {}", what, msg));
}

}  // namespace

Result<std::unique_ptr<SqliteSource>> SqliteSource::Open(SqliteSourceOptions options) {
  if (!std::filesystem::exists(options.path)) {
    return NotFound(fmt::format("SQLite database '{}' does not exist", options.path));
  }
  OSPREY_ASSIGN_OR_RETURN(PreparedQuery prepared, PrepareQuery(options.query, "?"));
  sqlite3* db = nullptr;
  SkipSqliteMemoryStatus();
  // A Source is used by one thread at a time (source.h): without a mutex of
  // the connection's own, reading each column of each row locks nothing.
  int rc = sqlite3_open_v2(options.path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Unavailable(fmt::format("cannot open SQLite database '{}': {}", options.path, msg));
  }
  sqlite3_busy_timeout(db, 5000);
  // Prepare once to report query errors at open time, not at the first interval.
  sqlite3_stmt* raw = nullptr;
  rc = sqlite3_prepare_v2(db, prepared.sql.c_str(), -1, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) {
    Status error = PrepareError(db, rc, fmt::format("query does not prepare on '{}'", options.path));
    sqlite3_close(db);
    return error;
  }
  // The database is opened read only; a statement that would write is
  // refused here, before it runs, with a clearer message than SQLite's.
  if (!sqlite3_stmt_readonly(stmt.get())) {
    stmt.reset();
    sqlite3_close(db);
    return InvalidArgument(
        fmt::format("the query writes to '{}', and osprey opens sources "
                    "read-only; a detector's query must be a plain SELECT",
                    options.path));
  }
  return std::unique_ptr<SqliteSource>(new SqliteSource(std::move(options), std::move(prepared), db));
}

SqliteSource::~SqliteSource() { sqlite3_close(db_); }

Status SqliteSource::Query(const QueryRange& range, RowHandler& handler) {
  auto where = [&] { return fmt::format("[{}, {})", FormatIso(range.start), FormatIso(range.end)); };
  sqlite3_stmt* raw = nullptr;
  if (const int rc = sqlite3_prepare_v2(db_, prepared_.sql.c_str(), -1, &raw, nullptr); rc != SQLITE_OK) {
    return PrepareError(db_, rc, fmt::format("query for {} failed", where()));
  }
  Stmt stmt(raw);
  for (size_t i = 0; i < prepared_.params.size(); ++i) {
    Instant t = prepared_.params[i] == 0 ? range.start : range.end;
    std::string text = options_.bind_format.Format(t, options_.zone);
    Cell c;
    if (options_.bind_format.pattern().rfind("epoch", 0) == 0) {
      c.type = Cell::Type::kInteger;
      c.integer = std::stoll(text);
    } else {
      c.type = Cell::Type::kText;
      c.text = text;
    }
    OSPREY_RETURN_IF_ERROR(BindCell(stmt.get(), static_cast<int>(i + 1), c));
  }
  // Cancel the query when it runs past its timeout.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options_.timeout_seconds);
  sqlite3_progress_handler(
      db_, 10000,
      [](void* arg) -> int {
        auto* d = static_cast<std::chrono::steady_clock::time_point*>(arg);
        return std::chrono::steady_clock::now() > *d ? 1 : 0;
      },
      &deadline);
  struct ResetHandler {
    sqlite3* db;
    ~ResetHandler() { sqlite3_progress_handler(db, 0, nullptr, nullptr); }
  } reset{db_};

  int ncols = sqlite3_column_count(stmt.get());
  std::vector<std::string> names;
  for (int i = 0; i < ncols; ++i) names.emplace_back(sqlite3_column_name(stmt.get(), i));
  OSPREY_RETURN_IF_ERROR(handler.OnColumns(names));
  std::vector<Cell> cells(static_cast<size_t>(ncols));
  while (true) {
    int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_INTERRUPT) {
      return DeadlineExceeded(
          fmt::format("query for {} ran past its timeout of {} s", where(), options_.timeout_seconds));
    }
    if (rc != SQLITE_ROW) {
      return Unavailable(fmt::format("query for {} failed: {}", where(), sqlite3_errmsg(db_)));
    }
    for (int i = 0; i < ncols; ++i) {
      Cell& c = cells[static_cast<size_t>(i)];
      // Each cell read through its value, fetched once: every
      // sqlite3_column_* call looks the column up again. (An unprotected
      // value is only unsafe to read from another thread than the
      // connection's; this one has no mutex and one thread.)
      sqlite3_value* v = sqlite3_column_value(stmt.get(), i);
      switch (sqlite3_value_type(v)) {
        case SQLITE_NULL: c.type = Cell::Type::kNull; break;
        case SQLITE_INTEGER:
          c.type = Cell::Type::kInteger;
          c.integer = sqlite3_value_int64(v);
          break;
        case SQLITE_FLOAT:
          c.type = Cell::Type::kReal;
          c.real = sqlite3_value_double(v);
          break;
        default: {
          c.type = Cell::Type::kText;
          const unsigned char* t = sqlite3_value_text(v);
          c.text =
              std::string_view(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_value_bytes(v)));
        }
      }
    }
    OSPREY_RETURN_IF_ERROR(handler.OnRow(cells));
  }
  return Status::Ok();
}

Result<std::unique_ptr<SqliteWriter>> SqliteWriter::Open(const std::string& path) {
  sqlite3* db = nullptr;
  SkipSqliteMemoryStatus();
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Unavailable(fmt::format("cannot create SQLite database '{}': {}", path, msg));
  }
  return std::unique_ptr<SqliteWriter>(new SqliteWriter(db));
}

SqliteWriter::~SqliteWriter() { sqlite3_close(db_); }

Status SqliteWriter::Execute(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return InvalidArgument(fmt::format("SQL failed: {}", msg));
  }
  return Status::Ok();
}

Status SqliteWriter::InsertRows(const std::string& sql, const std::vector<std::vector<Cell>>& rows) {
  OSPREY_RETURN_IF_ERROR(Execute("BEGIN"));
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    Status s = InvalidArgument(fmt::format("SQL failed: {}", sqlite3_errmsg(db_)));
    (void)Execute("ROLLBACK");
    return s;
  }
  Stmt stmt(raw);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      OSPREY_RETURN_IF_ERROR(BindCell(stmt.get(), static_cast<int>(i + 1), row[i]));
    }
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
      Status s = InvalidArgument(fmt::format("insert failed: {}", sqlite3_errmsg(db_)));
      stmt.reset();
      (void)Execute("ROLLBACK");
      return s;
    }
    sqlite3_reset(stmt.get());
  }
  stmt.reset();
  return Execute("COMMIT");
}

}  // namespace osprey::connectors
