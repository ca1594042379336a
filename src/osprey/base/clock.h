// Clock: the one way osprey learns the current time. Production code gets a
// SystemClock from app/; tests inject a testing clock (src/osprey/testing/
// clock.h) and move it by hand, so schedules of months run in milliseconds.
// Implementations are thread-safe.
#pragma once

#include "osprey/base/time.h"

namespace osprey {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
  // Clock seconds per wall-clock second: how long `osprey serve` waits, in
  // wall time, for the next due interval. 1 for every clock osprey ships.
  virtual double Rate() const { return 1.0; }
};

// The wall clock. The only place in osprey that reads it (clock.cc).
class SystemClock final : public Clock {
 public:
  Instant Now() const override;
};

}  // namespace osprey
