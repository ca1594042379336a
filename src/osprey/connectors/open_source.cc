#include <fmt/format.h>

#include <cstdlib>

#include "osprey/config/detector.h"
#include "osprey/connectors/connection.h"
#include "osprey/connectors/csv_source.h"
#include "osprey/connectors/mysql_source.h"
#include "osprey/connectors/postgres_source.h"
#include "osprey/connectors/push_down.h"
#include "osprey/connectors/sqlite_source.h"

namespace osprey::connectors {
namespace {

// The source that runs the detector's query as written.
Result<std::unique_ptr<Source>> OpenRawSource(const config::Detector& d) {
  auto in_detector = [&](const Status& s) { return s.WithContext(fmt::format("detector '{}'", d.name)); };
  OSPREY_ASSIGN_OR_RETURN(TimestampFormat format, TimestampFormat::Parse(d.timestamp_format));
  // Bounds are rendered, and the session's zone set, in the zone the
  // column's naive timestamps are stored in.
  const TimeZone& zone = config::SourceZone(d);
  if (d.source.type == config::SourceType::kPostgres || d.source.type == config::SourceType::kMysql) {
    Result<std::string> connection = ResolveConnection(d);
    if (!connection.ok()) return in_detector(connection.status());
    if (d.source.type == config::SourceType::kPostgres) {
      PostgresSourceOptions o{*connection, d.query, format, zone, d.source.query_timeout_seconds};
      auto pg = PostgresSource::Open(std::move(o));
      if (!pg.ok()) return in_detector(pg.status());
      return std::unique_ptr<Source>(std::move(pg).value());
    }
    MysqlSourceOptions o{*connection, d.query, format, zone, d.source.query_timeout_seconds};
    auto my = MysqlSource::Open(std::move(o));
    if (!my.ok()) return in_detector(my.status());
    return std::unique_ptr<Source>(std::move(my).value());
  }
  std::string connection = d.source.path;
  if (!d.source.connection_env.empty()) {
    const char* env = std::getenv(d.source.connection_env.c_str());
    if (env != nullptr && *env != '\0') connection = env;
  }
  if (connection.empty()) {
    return InvalidArgument(fmt::format(
        "detector '{}': source has no connection: set the environment variable {} or give "
        "source.path",
        d.name,
        d.source.connection_env.empty() ? "named by source.connection_env" : d.source.connection_env));
  }
  if (d.source.type == config::SourceType::kCsv) {
    auto csv = CsvSource::Open(connection, d);
    if (!csv.ok()) return in_detector(csv.status());
    return std::unique_ptr<Source>(std::move(csv).value());
  }
  SqliteSourceOptions o{connection, d.query, format, zone, d.source.query_timeout_seconds};
  auto src = SqliteSource::Open(std::move(o));
  if (!src.ok()) return in_detector(src.status());
  return std::unique_ptr<Source>(std::move(src).value());
}

}  // namespace

Result<std::unique_ptr<Source>> OpenSource(const config::Detector& d) {
  return OpenPushDownSource(d, OpenRawSource);
}

}  // namespace osprey::connectors
