// Testing clocks: never linked into the osprey binary. Unit tests move a
// FakeClock by hand; the test build of the binary (osprey_testbin,
// testbin_main.cc) runs `serve` on a ScaledClock chosen by its --testing-clock
// flags, so a crash or soak test runs weeks of live schedule in seconds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "osprey/base/clock.h"

namespace osprey::testing {

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

// A clock that runs `speed` times faster than the wall clock from `start`,
// measured from the wall-clock instant `origin_unix_ms`: a restarted process
// given the same origin continues the same timeline, one given a later start
// and origin continues where the previous one was stopped.
class ScaledClock final : public Clock {
 public:
  ScaledClock(Instant start, int64_t origin_unix_ms, double speed)
      : start_(start), origin_ms_(origin_unix_ms), speed_(speed) {}
  Instant Now() const override { return At(WallMillis()); }
  double Rate() const override { return speed_; }
  // What the clock reads at wall-clock `unix_ms`.
  Instant At(int64_t unix_ms) const;
  // Milliseconds since 1970 on the wall clock.
  static int64_t WallMillis();

 private:
  Instant start_;
  int64_t origin_ms_;
  double speed_;
};

}  // namespace osprey::testing
