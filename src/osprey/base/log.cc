#include "osprey/base/log.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

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
  std::fprintf(stderr, "%s %.*s\n", kNames[static_cast<int>(level)], static_cast<int>(message.size()),
               message.data());
}

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool StartsWithNoCase(std::string_view s, size_t at, std::string_view word) {
  if (s.size() - at < word.size()) return false;
  for (size_t k = 0; k < word.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(s[at + k])) != word[k]) return false;
  }
  return true;
}

// Where a "key = value" secret starting at `at` ends, and the key's length;
// nullopt when none starts there. The key is password, passwd, pwd, token or
// secret (any case); the value is '...' or a run without white space, '&'
// or ';'.
std::optional<std::pair<size_t, size_t>> SecretAt(std::string_view s, size_t at) {
  for (std::string_view key : {"password", "passwd", "pwd", "token", "secret"}) {
    if (!StartsWithNoCase(s, at, key)) continue;
    size_t i = at + key.size();
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i == s.size() || s[i] != '=') continue;
    ++i;
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i < s.size() && s[i] == '\'') {
      size_t close = s.find('\'', i + 1);
      if (close != std::string_view::npos) return std::make_pair(close + 1, key.size());
    }
    size_t end = i;
    while (end < s.size() && !IsSpace(s[end]) && s[end] != '&' && s[end] != ';') ++end;
    if (end > i) return std::make_pair(end, key.size());
  }
  return std::nullopt;
}

}  // namespace

// Plain scans rather than std::regex, whose recursion per character would
// overflow the stack on a long message.
std::string RedactSecrets(std::string_view text) {
  // key=value pairs: keep the key as written, mask the value.
  std::string s;
  s.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (auto found = SecretAt(text, i)) {
      s.append(text.substr(i, found->second));
      s += "=***";
      i = found->first;
    } else {
      s += text[i++];
    }
  }
  // URL user info: "://user:password@" keeps the user, masks the password.
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t scheme = s.find("://", i);
    if (scheme == std::string::npos) break;
    out.append(s, i, scheme + 3 - i);
    i = scheme + 3;
    size_t user_end = i;
    while (user_end < s.size() && !IsSpace(s[user_end]) &&
           std::string_view(":/@").find(s[user_end]) == std::string_view::npos) {
      ++user_end;
    }
    if (user_end == i || user_end == s.size() || s[user_end] != ':') continue;
    size_t pw_end = user_end + 1;
    while (pw_end < s.size() && !IsSpace(s[pw_end]) && s[pw_end] != '@') ++pw_end;
    if (pw_end == user_end + 1 || pw_end == s.size() || s[pw_end] != '@') continue;
    out.append(s, i, user_end - i);
    out += ":***@";
    i = pw_end + 1;
  }
  out.append(s, i, std::string::npos);
  return out;
}

}  // namespace osprey
