// Logging to stderr: one line per event, "LEVEL message". The level comes
// from OSPREY_LOG (debug, info, warn, error; default info). Thread-safe.
// Never log secrets: DSNs and tokens go through RedactSecrets first.
#pragma once

#include <string>
#include <string_view>

namespace osprey {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

void Log(LogLevel level, std::string_view message);
bool LogEnabled(LogLevel level);

// Replaces passwords in connection strings ("password=...",
// "user:secret@host") with "***".
std::string RedactSecrets(std::string_view text);

}  // namespace osprey
