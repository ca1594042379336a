// Connections to database servers (postgres, mysql): where the connection
// text comes from (an environment variable or a file, never the detector
// file) and the forms it may take — a libpq key=value DSN, a URL, or a JSON
// secret {"username","password","host","port","db"} like the ones AWS
// Secrets Manager holds. Also the conversion of database timestamps to the
// detector's timestamp format. Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "osprey/base/status.h"
#include "osprey/base/time.h"

namespace osprey::config {
struct Detector;
}

namespace osprey::connectors {

// The connection text for a postgres or mysql detector: the environment
// variable named by source.connection_env when it is set and not empty, else
// the content of source.connection_file (trailing whitespace trimmed).
// InvalidArgument when neither gives one; messages never contain the text.
Result<std::string> ResolveConnection(const config::Detector& detector);

// A connection split into its parts. Unset parts take the driver's defaults.
struct ConnectionParts {
  std::string host, user, password, database;
  std::optional<int> port;
  std::string socket;                         // unix socket path (mysql)
  std::map<std::string, std::string> params;  // everything else (sslmode=...)
};

// True when `text` is a JSON secret (its first non-blank character is '{').
bool IsJsonSecret(std::string_view text);

// Parses a JSON secret. Keys: username|user, password, host, port, db|dbname|
// database; any other string-valued key goes into params (e.g. sslmode).
// InvalidArgument (without the secret's content) when it is not such a JSON.
Result<ConnectionParts> ParseJsonSecret(std::string_view text);

// Parses "scheme://user:password@host:port/db?key=value&..." (percent-
// decoded) or "key=value key='quoted value' ..." (libpq style; user,
// password, host, port, dbname|database, socket). InvalidArgument without
// echoing the text.
Result<ConnectionParts> ParseConnection(std::string_view text);

// A libpq key=value DSN for the parts, values quoted as libpq wants.
std::string ToLibpqDsn(const ConnectionParts& parts);

// Converts a database's ISO timestamp text ("2025-01-02 03:04:05",
// optionally ".ffffff" and a "+hh[:mm]" offset, or a bare date) into the
// instant it names; without an offset it is local to `zone`.
Result<Instant> ParseDbTimestamp(std::string_view text, const TimeZone& zone);

// Rewrites database timestamp text into the detector's timestamp format, so
// the ingest step parses what the query returned whatever the column type.
// Fast path: text already in the format is passed through untouched.
class TimestampRewriter {
 public:
  TimestampRewriter(TimestampFormat format, TimeZone zone)
      : format_(std::move(format)), zone_(std::move(zone)) {}
  // Returns the text to hand on (a view of `text` or of an internal buffer,
  // valid until the next call); the input unchanged when it is not a timestamp.
  std::string_view Rewrite(std::string_view text);

 private:
  TimestampFormat format_;
  TimeZone zone_;
  std::string buffer_;
};

}  // namespace osprey::connectors
