// Process-wide SQLite configuration shared by everything in osprey that
// opens a SQLite database (the state store and the SQLite source).
#pragma once

namespace osprey {

// Tells SQLite not to count every allocation under its global mutex (a lock
// and unlock per malloc, a few % of a backfill's profile); osprey reads no
// SQLite memory statistics. Must run before SQLite's first use in the
// process; later calls do nothing. Thread-safe.
void SkipSqliteMemoryStatus();

}  // namespace osprey
