// The seam between the state store's shared SQL (sql_store.cc, the
// migration runner) and the two databases: a connection that runs one
// statement with positional parameters and hands back its rows, runs a
// script, and begins, commits or rolls back a transaction; and the one
// description of where the two SQL dialects differ. SqliteDb and PostgresDb
// (in sqlite_store.cc and postgres_store.cc) implement it. Internal to
// src/osprey/store/; docs/state-store.md describes the layout.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"

namespace osprey::store::internal {

enum class Dialect { kSqlite, kPostgres };

// Everything in which the SQL of the two backends differs. Shared statements
// are written once in the subset both understand, with these rules:
//   - parameters are ?1, ?2, ... (numbered, any order, repeatable); Run turns
//     them into PostgreSQL's $1, $2, ...;
//   - a row written whole over the one with the same key is ReplaceRow's
//     statement (SQLite's "insert or replace" costs less than its upsert:
//     the row is rewritten instead of updated in place); other upserts are
//     spelled "insert ... on conflict(cols) do update set c = excluded.c"
//     and "on conflict do nothing" (both databases);
//   - binary columns (model state, point blocks) are bound and read as
//     blobs (SqlValue::Blob, SqlRow::Blob): blob in SQLite, bytea in
//     PostgreSQL, sent binary;
//   - booleans are integer columns (0 / 1) in both;
//   - a derived table has an alias ("(select ...) c");
//   - ids come back with "returning id" (both).
// The schema's types (integer / bigint, integer primary key / bigserial,
// real / double precision, blob / bytea, "without rowid", now()) differ
// only in the migration files (migrations/NNNN_name.<dialect>.sql).
struct SqlDialect {
  Dialect kind;
  // "sqlite" or "postgres": the suffix of the dialect's own migration files.
  std::string_view name;
  // Appended to a text column in "order by" so that text sorts by its bytes
  // (SQLite's only order; PostgreSQL's default follows the locale).
  std::string_view bytes_order;
  // Begins a transaction that will write: SQLite takes the write lock at
  // once ("begin immediate"), so two writers never deadlock upgrading.
  std::string_view begin;
  // Run first in each migration's transaction: serialises processes that
  // migrate one database at once (SQLite: the write lock of "begin
  // immediate" already does).
  std::string_view migration_lock;
  // LIMIT's value for "no limit": SQLite wants a negative number (NULL is
  // an error), PostgreSQL NULL (a negative limit is an error).
  bool null_means_no_limit;
  // Begins a transaction that only reads, with one snapshot for all its
  // statements and cursors: SQLite's deferred "begin" (takes no lock a
  // writer waits for), PostgreSQL's repeatable read (in read committed each
  // cursor would see the commits made before its own declaration).
  std::string_view begin_read;
  // "a <join_in_order> b on ...": a join the database reads from its left
  // table: SQLite's "cross join" fixes the order; PostgreSQL's planner
  // picks one itself ("join").
  std::string_view join_in_order;
  // Put before a column in a condition to keep the planner from reading
  // that column's index: SQLite "+"; PostgreSQL "" (its planner weighs the
  // index itself).
  std::string_view no_index;
};

const SqlDialect& SqliteDialect();
const SqlDialect& PostgresDialect();

// `sql` with ?N placeholders spelled the dialect's way ($N for PostgreSQL).
// The shared SQL has no '?' inside string literals.
std::string WithPlaceholders(const SqlDialect& d, std::string_view sql);

// The statement that writes a whole row of `table` (parameters ?1.. in the
// order of `key` then `columns`), replacing the row with the same key: the
// table's only unique key.
std::string ReplaceRow(const SqlDialect& d, std::string_view table,
                       std::initializer_list<std::string_view> key,
                       std::initializer_list<std::string_view> columns);

// One statement parameter: a typed value or a typed null (PostgreSQL wants
// each parameter's type). The text and blob views must outlive the Run.
struct SqlValue {
  enum class Type : uint8_t { kInt, kReal, kText, kBlob };
  Type type = Type::kInt;
  bool null = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;

  SqlValue(int64_t v) : type(Type::kInt), i(v) {}              // NOLINT: implicit on purpose
  SqlValue(int v) : type(Type::kInt), i(v) {}                  // NOLINT
  SqlValue(double v) : type(Type::kReal), d(v) {}              // NOLINT
  SqlValue(std::string_view v) : type(Type::kText), s(v) {}    // NOLINT
  SqlValue(const std::string& v) : type(Type::kText), s(v) {}  // NOLINT
  SqlValue(const char* v) : type(Type::kText), s(v) {}         // NOLINT
  SqlValue(std::optional<int64_t> v) : type(Type::kInt), null(!v), i(v.value_or(0)) {}  // NOLINT
  SqlValue(std::optional<double> v) : type(Type::kReal), null(!v), d(v.value_or(0)) {}  // NOLINT
  SqlValue(const std::optional<std::string>& v) : type(Type::kText), null(!v) {         // NOLINT
    if (v) s = *v;
  }
  static SqlValue Blob(std::string_view v) {
    SqlValue b(v);
    b.type = Type::kBlob;
    return b;
  }
  static SqlValue Null(Type t) {
    SqlValue n(int64_t{0});
    n.type = t;
    n.null = true;
    return n;
  }
};

// The current row of a statement's result.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual bool IsNull(int c) const = 0;
  virtual int64_t Int(int c) const = 0;  // 0 for NULL
  virtual double Real(int c) const = 0;  // 0 for NULL
  virtual std::string Text(int c) const = 0;
  virtual std::string Blob(int c) const = 0;
  // Blob(c) into *out, whose room a backend may reuse (a loop over large
  // blobs then allocates once).
  virtual void BlobInto(int c, std::string* out) const { *out = Blob(c); }
  // Text(c) into *out, the same way.
  virtual void TextInto(int c, std::string* out) const { *out = Text(c); }
  std::optional<int64_t> OptInt(int c) const {
    if (IsNull(c)) return std::nullopt;
    return Int(c);
  }
  std::optional<double> OptReal(int c) const {
    if (IsNull(c)) return std::nullopt;
    return Real(c);
  }
};

using RowFn = std::function<Status(const SqlRow&)>;

// The rows of one query read one at a time, for results too large to hold
// (a detector's points streamed for export). Opened in a read transaction
// (SqlDb::InReadTransaction); several may be open at once on one
// connection, which runs nothing else until they are destroyed.
class SqlCursor {
 public:
  virtual ~SqlCursor() = default;
  // The next row, valid until the next call; nullptr after the last.
  virtual Result<const SqlRow*> Next() = 0;
};

// A connection to one state store database, used from one thread at a time.
class SqlDb {
 public:
  virtual ~SqlDb() = default;
  virtual const SqlDialect& dialect() const = 0;

  // Runs one statement, its ?N bound to args[N-1] (extra args that the
  // statement does not name are ignored), calling `row` for each row it
  // returns and stopping at the first error `row` returns. Returns how many
  // rows an insert, update or delete changed (0 for a query).
  virtual Result<int64_t> Run(std::string_view sql, std::span<const SqlValue> args, const RowFn& row) = 0;
  // A cursor over the rows of one query, its ?N bound to args[N-1] now
  // (the values need not outlive the call). SQLite steps a statement of its
  // own; PostgreSQL declares a server-side cursor and fetches its rows in
  // batches.
  virtual Result<std::unique_ptr<SqlCursor>> Cursor(std::string_view sql, std::span<const SqlValue> args) = 0;
  // Runs a constant script of one or more statements (a migration).
  virtual Status Script(std::string_view sql) = 0;
  // Transactions: Begin starts one that may write (the dialect's `begin`),
  // BeginRead one that only reads (`begin_read`).
  virtual Status Begin() = 0;
  virtual Status BeginRead() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  // A second connection to the same database that only reads, for reads on
  // another thread beside this connection's writes: it sees what was last
  // committed, never this connection's open transaction. nullptr where
  // there is none (PostgreSQL; a SQLite database in memory or one that
  // cannot be opened again).
  virtual std::unique_ptr<SqlDb> OpenReader() { return nullptr; }

  // Run without rows, and with the arguments written in place.
  Result<int64_t> Exec(std::string_view sql, std::initializer_list<SqlValue> args = {}) {
    return Run(sql, Span(args), nullptr);
  }
  Status Query(std::string_view sql, std::initializer_list<SqlValue> args, const RowFn& row) {
    return Run(sql, Span(args), row).status();
  }
  // Every row read by `read(row)`.
  template <typename T, typename Read>
  Result<std::vector<T>> List(std::string_view sql, std::initializer_list<SqlValue> args, Read read) {
    std::vector<T> out;
    OSPREY_RETURN_IF_ERROR(Query(sql, args, [&](const SqlRow& r) {
      out.push_back(read(r));
      return Status::Ok();
    }));
    return out;
  }
  // The first column of the first row as an integer; nullopt without rows.
  Result<std::optional<int64_t>> QueryInt(std::string_view sql, std::initializer_list<SqlValue> args = {});
  // The value of LIMIT `limit`, negative meaning none (SqlDialect).
  SqlValue Limit(int64_t limit) const;
  // Runs `body` in a transaction: committed when it succeeds, else rolled back.
  Status InTransaction(const std::function<Status()>& body);
  // Runs `body` in a read transaction (BeginRead), ended when it returns.
  Status InReadTransaction(const std::function<Status()>& body);

 private:
  // Runs `body` in the transaction begun with status `begun`.
  Status Within(const Status& begun, const std::function<Status()>& body);
  static std::span<const SqlValue> Span(std::initializer_list<SqlValue> args) {
    return {args.begin(), args.size()};
  }
};

}  // namespace osprey::store::internal
