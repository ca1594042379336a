#include "osprey/store/migrations.h"

#include <fmt/format.h>

namespace osprey::store::internal {

std::vector<const MigrationFile*> MigrationsOf(const SqlDialect& d) {
  std::vector<const MigrationFile*> out;
  for (const MigrationFile& f : MigrationFiles()) {
    if (f.dialect.empty() || f.dialect == d.name) out.push_back(&f);
  }
  return out;
}

Status RunMigrations(SqlDb& db, std::string_view store,
                     const std::function<Status(const MigrationFile&)>& applied) {
  const std::vector<const MigrationFile*> migrations = MigrationsOf(db.dialect());
  const int64_t latest = static_cast<int64_t>(migrations.size());
  auto newer = [&](int64_t v) {
    return FailedPrecondition(
        fmt::format("state store '{}' has schema version {}, newer than this osprey's {}; upgrade osprey",
                    store, v, latest));
  };
  // Up to date (every open but the first after an upgrade): no transaction
  // and no lock. Fails harmlessly before schema_migrations exists.
  constexpr std::string_view kVersion = "select coalesce(max(version), 0) from schema_migrations";
  if (auto current = db.QueryInt(kVersion); current.ok()) {
    if (current->value_or(0) > latest) return newer(current->value_or(0));
    if (current->value_or(0) == latest) return Status::Ok();
  }
  for (;;) {
    bool done = false;
    int64_t next = 0;
    Status s = db.InTransaction([&]() -> Status {
      if (!db.dialect().migration_lock.empty()) {
        OSPREY_RETURN_IF_ERROR(db.Script(db.dialect().migration_lock));
      }
      OSPREY_RETURN_IF_ERROR(db.Script("create table if not exists schema_migrations(version integer)"));
      OSPREY_ASSIGN_OR_RETURN(std::optional<int64_t> version, db.QueryInt(kVersion));
      const int64_t v = version.value_or(0);
      if (v > latest) return newer(v);
      if (v == latest) {
        done = true;
        return Status::Ok();
      }
      next = v + 1;
      const MigrationFile& m = *migrations[static_cast<size_t>(v)];
      OSPREY_RETURN_IF_ERROR(db.Script(m.sql));
      OSPREY_RETURN_IF_ERROR(applied(m));
      return db.Exec("insert into schema_migrations values (?1)", {next}).status();
    });
    if (!s.ok()) {
      if (next == 0) return s;
      return s.WithContext(fmt::format("migrating '{}' to version {}", store, next));
    }
    if (done) return Status::Ok();
  }
}

}  // namespace osprey::store::internal
