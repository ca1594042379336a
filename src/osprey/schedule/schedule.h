// Scheduling arithmetic: when each interval of a detector is due, which are
// due at a given instant, and how long to wait before retrying a failed one.
// Pure: the instant is an argument, never the wall clock.
//
// An interval [s, e) is due at e + offset by default. With a cron schedule it
// is due at the first cron firing at or after e + offset (so a P1D detector
// with "cron(30 6 * * ? *)" reads yesterday at 06:30 local time). Due times
// never decrease from one interval to the next, so "every interval from the
// watermark whose due time has passed" is a prefix of the grid.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "osprey/base/cron.h"
#include "osprey/base/time.h"
#include "osprey/config/detector.h"

namespace osprey::schedule {

// The last interval start that is complete and past its offset at `now`:
// an interval [s, e) is due once now >= e + offset. Intervals from
// `watermark` (the first not yet processed) up to that one are due, in order.
std::vector<Instant> DueIntervals(const IntervalGrid& grid, int64_t offset_seconds, Instant watermark,
                                  Instant now);

// A detector's schedule: its grid, offset and optional cron override.
class Plan {
 public:
  // InvalidArgument when the frequency or the cron expression is bad.
  static Result<Plan> Create(const config::Detector& detector);
  Plan(IntervalGrid grid, int64_t offset_seconds, std::optional<CronSpec> cron)
      : grid_(std::move(grid)), offset_(offset_seconds), cron_(std::move(cron)) {}

  // When the interval starting at `start` is due; nullopt when a cron
  // schedule never fires again.
  std::optional<Instant> DueAt(Instant start) const;
  // The end (exclusive) of the due prefix: every interval starting in
  // [watermark, DueEnd) is due at `now`. Equal to the watermark's interval
  // start when nothing is due.
  Instant DueEnd(Instant watermark, Instant now) const;

  const IntervalGrid& grid() const { return grid_; }
  int64_t offset_seconds() const { return offset_; }
  const std::optional<CronSpec>& cron() const { return cron_; }

 private:
  IntervalGrid grid_;
  int64_t offset_;
  std::optional<CronSpec> cron_;
};

// Retry delay after `failures` consecutive failures (1 = the first): 30 s,
// doubling, capped at one hour.
std::chrono::seconds RetryBackoff(int64_t failures);

// Retry delay after a failure that is not an outage (a query error, a
// missing database file or table, data that fails the chunk): such errors
// rarely go away by themselves, so they are retried once an hour; a change
// of the detector's configuration retries at once.
inline constexpr std::chrono::seconds kPersistentFailureRetry{3600};

}  // namespace osprey::schedule
