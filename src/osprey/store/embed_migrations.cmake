# Turns the migration files into a C++ source (cmake -P, run by the build):
#   cmake -DOUT=<file.cc> -DDIR=<migrations dir> -P embed_migrations.cmake
# Each file is NNNN_name.sql (both dialects) or NNNN_name.<dialect>.sql
# (sqlite or postgres); they are listed in file-name order, which is the
# order they are applied in. A badly named file stops the build.
file(GLOB files RELATIVE "${DIR}" "${DIR}/*.sql")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  if(NOT f MATCHES "^([0-9][0-9][0-9][0-9])_([a-z0-9_]+)(\\.(sqlite|postgres))?\\.sql$")
    message(FATAL_ERROR "${DIR}/${f}: a migration file is named NNNN_name.sql or NNNN_name.<sqlite|postgres>.sql")
  endif()
  set(number "${CMAKE_MATCH_1}")
  set(name "${CMAKE_MATCH_2}")
  set(dialect "${CMAKE_MATCH_4}")
  file(READ "${DIR}/${f}" sql)
  string(FIND "${sql}" ")osprey_sql\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${DIR}/${f}: contains the text )osprey_sql\", which ends the embedded string")
  endif()
  math(EXPR n "1${number} - 10000")
  string(APPEND body "    {${n}, \"${name}\", \"${dialect}\", \"${f}\", R\"osprey_sql(${sql})osprey_sql\"},\n")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from src/osprey/store/migrations/ by embed_migrations.cmake; do not edit.
#include \"osprey/store/migrations.h\"

namespace osprey::store::internal {

std::span<const MigrationFile> MigrationFiles() {
  static const MigrationFile kFiles[] = {
${body}  };
  return kFiles;
}

}  // namespace osprey::store::internal
")
# Rewritten only when it changed, so an unchanged tree rebuilds nothing.
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
