// Clock: the one way osprey learns the current time. Production code gets a
// SystemClock from app/; tests inject a FakeClock and move it by hand, so
// schedules of months run in milliseconds. Implementations are thread-safe.
#pragma once

#include <atomic>

#include "osprey/base/time.h"

namespace osprey {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
};

// The wall clock. The only place in osprey that reads it (clock.cc).
class SystemClock final : public Clock {
 public:
  Instant Now() const override;
};

// A clock that runs `speed` times faster than the wall clock from `start`,
// measured from the wall-clock instant `origin_unix_ms` (so a restarted
// process that gets the same origin continues the same timeline). For
// testing only: `osprey serve` builds one from OSPREY_FAKE_CLOCK_* variables
// so a crash test runs weeks of live schedule in seconds.
class ScaledClock final : public Clock {
 public:
  ScaledClock(Instant start, int64_t origin_unix_ms, double speed)
      : start_(start), origin_ms_(origin_unix_ms), speed_(speed) {}
  Instant Now() const override;
  double speed() const { return speed_; }
  // Milliseconds since 1970 on the wall clock.
  static int64_t WallMillis();

 private:
  Instant start_;
  int64_t origin_ms_;
  double speed_;
};

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Instant start) : now_(ToUnixSeconds(start)) {}
  Instant Now() const override { return FromUnixSeconds(now_.load()); }
  void Set(Instant t) { now_.store(ToUnixSeconds(t)); }
  void Advance(std::chrono::seconds d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace osprey
