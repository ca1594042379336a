// The state store's schema migrations: versioned SQL files in
// src/osprey/store/migrations/, embedded into the binary at build time
// (embed_migrations.cmake), and the one runner both backends use. Internal
// to src/osprey/store/; docs/state-store.md says how to add a migration.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/store/sql_db.h"

namespace osprey::store::internal {

// One file: NNNN_name.sql, for both dialects, or NNNN_name.<dialect>.sql,
// for one of them.
struct MigrationFile {
  int number = 0;
  std::string_view name;
  std::string_view dialect;  // "sqlite", "postgres", or empty for both
  std::string_view file;
  std::string_view sql;
};

// Every file, in file-name order (generated).
std::span<const MigrationFile> MigrationFiles();

// The migrations of a dialect, in order: applying the first k of them
// brings a store to schema version k. A file for the other dialect only is
// not counted, so the two dialects' version numbers may differ (PostgreSQL
// counts 0009_worker_leases; SQLite does not).
std::vector<const MigrationFile*> MigrationsOf(const SqlDialect& d);

// Brings the database up to the latest version, one migration per
// transaction (under the dialect's migration lock), recording each version
// in schema_migrations (a database already up to date is only read);
// `applied` runs in the migration's transaction after its SQL.
// FailedPrecondition naming `store` when the database has a newer version
// than this build knows.
Status RunMigrations(SqlDb& db, std::string_view store,
                     const std::function<Status(const MigrationFile&)>& applied);

}  // namespace osprey::store::internal
