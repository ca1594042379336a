#include "osprey/store/sql_db.h"

#include <fmt/format.h>

#include <cctype>

namespace osprey::store::internal {

const SqlDialect& SqliteDialect() {
  static const SqlDialect d{Dialect::kSqlite, "sqlite",     "", "begin immediate", "", false,
                            "begin",          "cross join", "+"};
  return d;
}

const SqlDialect& PostgresDialect() {
  static const SqlDialect d{Dialect::kPostgres,
                            "postgres",
                            " collate \"C\"",
                            "begin",
                            "select pg_advisory_xact_lock(7260531)",
                            true,
                            "begin isolation level repeatable read read only",
                            "join",
                            ""};
  return d;
}

std::string WithPlaceholders(const SqlDialect& d, std::string_view sql) {
  std::string out(sql);
  if (d.kind != Dialect::kPostgres) return out;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '?' && i + 1 < out.size() && std::isdigit(static_cast<unsigned char>(out[i + 1])))
      out[i] = '$';
  }
  return out;
}

std::string ReplaceRow(const SqlDialect& d, std::string_view table,
                       std::initializer_list<std::string_view> key,
                       std::initializer_list<std::string_view> columns) {
  std::string names, values, keys, updates;
  int n = 0;
  for (std::string_view c : key) {
    names += fmt::format("{}{}", n ? ", " : "", c);
    values += fmt::format("{}?{}", n ? ", " : "", n + 1);
    keys += fmt::format("{}{}", keys.empty() ? "" : ", ", c);
    ++n;
  }
  for (std::string_view c : columns) {
    names += fmt::format(", {}", c);
    values += fmt::format(", ?{}", n + 1);
    updates += fmt::format("{}{} = excluded.{}", updates.empty() ? "" : ", ", c, c);
    ++n;
  }
  if (d.kind == Dialect::kSqlite)
    return fmt::format("insert or replace into {}({}) values ({})", table, names, values);
  return fmt::format("insert into {}({}) values ({}) on conflict({}) do update set {}", table, names, values,
                     keys, updates);
}

Result<std::optional<int64_t>> SqlDb::QueryInt(std::string_view sql, std::initializer_list<SqlValue> args) {
  std::optional<int64_t> v;
  OSPREY_RETURN_IF_ERROR(Query(sql, args, [&](const SqlRow& r) {
    if (!v) v = r.Int(0);
    return Status::Ok();
  }));
  return v;
}

SqlValue SqlDb::Limit(int64_t limit) const {
  if (limit >= 0) return SqlValue(limit);
  return dialect().null_means_no_limit ? SqlValue::Null(SqlValue::Type::kInt) : SqlValue(int64_t{-1});
}

Status SqlDb::InTransaction(const std::function<Status()>& body) { return Within(Begin(), body); }

Status SqlDb::InReadTransaction(const std::function<Status()>& body) { return Within(BeginRead(), body); }

Status SqlDb::Within(const Status& begun, const std::function<Status()>& body) {
  OSPREY_RETURN_IF_ERROR(begun);
  Status s = body();
  if (s.ok()) s = Commit();
  if (!s.ok()) (void)Rollback();
  return s;
}

}  // namespace osprey::store::internal
