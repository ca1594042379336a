// OpenStore: the one place that turns a state setting into a Store.
#include <regex>

#include "osprey/store/store.h"

namespace osprey::store {

bool IsPostgresState(const std::string& url_or_path) {
  if (url_or_path.starts_with("postgres://") || url_or_path.starts_with("postgresql://")) {
    return true;
  }
  // A libpq keyword/value DSN starts with one of its connection keywords.
  static const std::regex kDsn(R"(^\s*(host|hostaddr|port|dbname|user|service)\s*=)");
  return std::regex_search(url_or_path, kDsn);
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& url_or_path) {
  if (IsPostgresState(url_or_path)) return OpenPostgresStore(url_or_path);
  return OpenSqliteStore(url_or_path);
}

}  // namespace osprey::store
