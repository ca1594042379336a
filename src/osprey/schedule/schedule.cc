#include "osprey/schedule/schedule.h"

namespace osprey::schedule {

std::vector<Instant> DueIntervals(const IntervalGrid& grid, int64_t offset_seconds,
                                  Instant watermark, Instant now) {
  std::vector<Instant> due;
  for (Instant s = grid.Floor(watermark); grid.Next(s) + std::chrono::seconds(offset_seconds) <= now;
       s = grid.Next(s)) {
    if (s >= watermark) due.push_back(s);
  }
  return due;
}

}  // namespace osprey::schedule
