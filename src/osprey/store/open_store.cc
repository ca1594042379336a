// OpenStore: the one place that turns a state setting into a Store.
#include <string_view>

#include "osprey/store/store.h"

namespace osprey::store {

bool IsPostgresState(const std::string& url_or_path) {
  if (url_or_path.starts_with("postgres://") || url_or_path.starts_with("postgresql://")) {
    return true;
  }
  // A libpq keyword/value DSN starts with one of its connection keywords.
  // (A plain scan: std::regex recurses per character and overflows on long input.)
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  std::string_view s = url_or_path;
  size_t i = 0;
  while (i < s.size() && space(s[i])) ++i;
  for (std::string_view key : {"hostaddr", "host", "port", "dbname", "user", "service"}) {
    if (s.substr(i, key.size()) != key) continue;
    size_t j = i + key.size();
    while (j < s.size() && space(s[j])) ++j;
    if (j < s.size() && s[j] == '=') return true;
  }
  return false;
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& url_or_path) {
  if (IsPostgresState(url_or_path)) return OpenPostgresStore(url_or_path);
  return OpenSqliteStore(url_or_path);
}

}  // namespace osprey::store
