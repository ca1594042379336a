// Scheduling arithmetic: which intervals of a detector are due at a given
// instant. Pure: the instant is an argument, never the wall clock.
#pragma once

#include <vector>

#include "osprey/base/time.h"
#include "osprey/config/detector.h"

namespace osprey::schedule {

// The last interval start that is complete and past its offset at `now`:
// an interval [s, e) is due once now >= e + offset. Intervals from
// `watermark` (the first not yet processed) up to that one are due, in order.
std::vector<Instant> DueIntervals(const IntervalGrid& grid, int64_t offset_seconds,
                                  Instant watermark, Instant now);

}  // namespace osprey::schedule
