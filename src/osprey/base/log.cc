#include "osprey/base/log.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <regex>

namespace osprey {
namespace {

LogLevel LevelFromEnv() {
  const char* v = std::getenv("OSPREY_LOG");
  if (v == nullptr) return LogLevel::kInfo;
  std::string s(v);
  if (s == "debug") return LogLevel::kDebug;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

std::mutex& LogMutex() {
  static std::mutex m;
  return m;
}

}  // namespace

bool LogEnabled(LogLevel level) {
  static const LogLevel threshold = LevelFromEnv();
  return level >= threshold;
}

void Log(LogLevel level, std::string_view message) {
  if (!LogEnabled(level)) return;
  static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  std::lock_guard<std::mutex> lock(LogMutex());
  std::fprintf(stderr, "%s %.*s\n", kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

std::string RedactSecrets(std::string_view text) {
  static const std::regex kKeyValue(R"((password|passwd|pwd|token|secret)\s*=\s*('[^']*'|[^\s&;]+))",
                                    std::regex::icase);
  static const std::regex kUrlUserInfo(R"(://([^:/@\s]+):([^@\s]+)@)");
  std::string s(text);
  s = std::regex_replace(s, kKeyValue, "$1=***");
  s = std::regex_replace(s, kUrlUserInfo, "://$1:***@");
  return s;
}

}  // namespace osprey
