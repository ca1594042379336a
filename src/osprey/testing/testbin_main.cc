// osprey_testbin: the osprey binary for tests. The same commands, plus
// leading flags that run `serve` on a testing clock (docs/scheduling.md):
//   osprey_testbin --testing-clock START [--testing-clock-speed X]
//                  [--testing-clock-origin UNIX_MS] serve ...
// START is an ISO-8601 instant; the clock reads START at wall-clock ORIGIN
// (default: now) and runs X times faster than the wall clock (default 1).
// The released osprey binary has neither these flags nor the clock.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "osprey/base/time.h"
#include "osprey/cli/dispatch.h"
#include "osprey/cli/serve.h"
#include "osprey/testing/clock.h"

namespace {

int Usage(const std::string& message) {
  std::fprintf(stderr, "osprey_testbin: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using osprey::testing::ScaledClock;
  std::string start;
  double speed = 1;
  int64_t origin = ScaledClock::WallMillis();
  int i = 1;
  for (; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    char* end = nullptr;
    if (flag == "--testing-clock") {
      start = value;
    } else if (flag == "--testing-clock-speed") {
      speed = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0' || !(speed > 0)) {
        return Usage("--testing-clock-speed must be a positive number, not '" + value + "'");
      }
    } else if (flag == "--testing-clock-origin") {
      origin = std::strtoll(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0') return Usage("--testing-clock-origin '" + value + "'");
    } else {
      break;
    }
  }
  if (!start.empty()) {
    auto t = osprey::ParseInstant(start, osprey::TimeZone::Utc());
    if (!t.ok()) return Usage("--testing-clock: " + t.status().message());
    std::fprintf(stderr, "osprey_testbin: testing clock %s at %gx\n", osprey::FormatIso(*t).c_str(), speed);
    osprey::cli::SetServeClock(std::make_unique<ScaledClock>(*t, origin, speed));
  }
  // The command line without the testing flags, as the osprey binary sees it.
  std::vector<char*> rest = {argv[0]};
  for (; i < argc; ++i) rest.push_back(argv[i]);
  rest.push_back(nullptr);
  return osprey::cli::Main(static_cast<int>(rest.size()) - 1, rest.data());
}
