// Child processes for the tests that drive the osprey binary: the test build
// (osprey_testbin, testbin_main.cc) started on a testing clock, its output
// in a log file, and its exit status.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "osprey/base/time.h"

namespace osprey::testing {

// The testing clock's flags of osprey_testbin (docs/scheduling.md).
struct TestingClockFlags {
  Instant start;                     // --testing-clock: what the clock reads at the origin
  double speed = 1;                  // --testing-clock-speed
  std::optional<int64_t> origin_ms;  // --testing-clock-origin (wall-clock ms); unset: when the child starts
};

// Starts `testbin` with the clock's flags followed by `args` (`serve ...`),
// its stdout and stderr appended to the file `log`; returns its pid. The
// caller reaps it (ExitCode).
pid_t SpawnTestbin(const std::string& testbin, const TestingClockFlags& clock,
                   const std::vector<std::string>& args, const std::string& log);

// Waits for child `pid` and reaps it: its exit code, or -1 when a signal
// ended it.
int ExitCode(pid_t pid);

}  // namespace osprey::testing
