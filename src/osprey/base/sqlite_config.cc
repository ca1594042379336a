#include "osprey/base/sqlite_config.h"

#include <sqlite3.h>

namespace osprey {

void SkipSqliteMemoryStatus() {
  static const int once = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)once;
}

}  // namespace osprey
