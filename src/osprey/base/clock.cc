#include "osprey/base/clock.h"

namespace osprey {

Instant SystemClock::Now() const {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

int64_t ScaledClock::WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Instant ScaledClock::Now() const {
  const double elapsed_ms = static_cast<double>(WallMillis() - origin_ms_) * speed_;
  return start_ + std::chrono::seconds(static_cast<int64_t>(elapsed_ms / 1000.0));
}

}  // namespace osprey
