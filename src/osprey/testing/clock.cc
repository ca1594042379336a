#include "osprey/testing/clock.h"

namespace osprey::testing {

int64_t ScaledClock::WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Instant ScaledClock::At(int64_t unix_ms) const {
  const double elapsed_ms = static_cast<double>(unix_ms - origin_ms_) * speed_;
  return start_ + std::chrono::seconds(static_cast<int64_t>(elapsed_ms / 1000.0));
}

}  // namespace osprey::testing
