#include <fmt/format.h>

#include <cstdlib>

#include "osprey/config/detector.h"
#include "osprey/connectors/sqlite_source.h"

namespace osprey::connectors {

Result<std::unique_ptr<Source>> OpenSource(const config::Detector& d) {
  std::string connection = d.source.path;
  if (!d.source.connection_env.empty()) {
    const char* env = std::getenv(d.source.connection_env.c_str());
    if (env != nullptr && *env != '\0') connection = env;
  }
  if (connection.empty()) {
    return InvalidArgument(fmt::format(
        "detector '{}': source has no connection: set the environment variable {} or give "
        "source.path",
        d.name, d.source.connection_env.empty() ? "named by source.connection_env"
                                                : d.source.connection_env));
  }
  OSPREY_ASSIGN_OR_RETURN(TimestampFormat format, TimestampFormat::Parse(d.timestamp_format));
  switch (d.source.type) {
    case config::SourceType::kSqlite: {
      SqliteSourceOptions o{connection, d.query, format, d.timezone, d.source.query_timeout_seconds};
      auto src = SqliteSource::Open(std::move(o));
      if (!src.ok()) return src.status().WithContext(fmt::format("detector '{}'", d.name));
      return std::unique_ptr<Source>(std::move(src).value());
    }
    case config::SourceType::kPostgres:
    case config::SourceType::kCsv:
      break;
  }
  return Unimplemented(fmt::format("detector '{}': source type '{}' is not supported yet", d.name,
                                   config::SourceTypeName(d.source.type)));
}

}  // namespace osprey::connectors
