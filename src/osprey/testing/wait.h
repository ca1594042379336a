// Waiting for a child process's progress without sleeping: the check is
// re-run after each write the process makes into a directory (and shortly
// after), so a slow or loaded machine changes how long a test takes, never
// what it sees.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace osprey::testing {

// Blocks until `done()` holds (true) or process `pid` exits first (false).
// `done()` is checked at once and again after every write into directory
// `dir` to a file whose name starts with `prefix` (inotify), and also every
// 50 ms: a SQLite commit becomes visible through a write to shared memory
// that inotify does not report, after its last file write. The exit is
// noticed through a pidfd. Never false on a slow machine; the process is
// not reaped; the test's own timeout bounds the wait.
bool WaitForWrites(pid_t pid, const std::string& dir, const std::string& prefix,
                   const std::function<bool()>& done);

// Blocks until process `pid` — a child or not — has exited (pidfd). Returns
// at once when there is no such process.
void WaitForExit(pid_t pid);

// For progress that shows in no file (a PostgreSQL store): re-checks
// `done()` every `every` until it holds (true). False only when the figure
// `progress()` returns (say, the sum of the watermarks) has not changed for
// `stall`: a busy machine makes the wait longer, never fails it; a stuck
// run ends it with a clear failure before the test's own timeout.
bool PollWhileProgressing(const std::function<bool()>& done, const std::function<int64_t()>& progress,
                          std::chrono::milliseconds every, std::chrono::seconds stall);

}  // namespace osprey::testing
