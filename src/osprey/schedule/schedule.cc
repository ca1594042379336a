#include "osprey/schedule/schedule.h"

#include <algorithm>

namespace osprey::schedule {

std::vector<Instant> DueIntervals(const IntervalGrid& grid, int64_t offset_seconds, Instant watermark,
                                  Instant now) {
  std::vector<Instant> due;
  for (Instant s = grid.Floor(watermark); grid.Next(s) + std::chrono::seconds(offset_seconds) <= now;
       s = grid.Next(s)) {
    if (s >= watermark) due.push_back(s);
  }
  return due;
}

Result<Plan> Plan::Create(const config::Detector& detector) {
  OSPREY_ASSIGN_OR_RETURN(IntervalGrid grid, IntervalGrid::Create(detector.frequency, detector.timezone));
  std::optional<CronSpec> cron;
  if (!detector.schedule.empty()) {
    OSPREY_ASSIGN_OR_RETURN(CronSpec spec, ParseCron(detector.schedule));
    cron = std::move(spec);
  }
  return Plan(std::move(grid), detector.offset_seconds, std::move(cron));
}

std::optional<Instant> Plan::DueAt(Instant start) const {
  const Instant ready = grid_.Next(start) + std::chrono::seconds(offset_);
  if (!cron_) return ready;
  return NextCronTime(*cron_, grid_.zone(), ready);
}

Instant Plan::DueEnd(Instant watermark, Instant now) const {
  Instant first = grid_.Floor(watermark);
  if (first < watermark) first = grid_.Next(first);
  // Without cron: the last interval with end + offset <= now.
  const Instant ready_limit = now - std::chrono::seconds(offset_);
  if (ready_limit < grid_.Next(first)) return first;
  Instant last = grid_.Floor(ready_limit);  // its end may be > ready_limit
  if (grid_.Next(last) > ready_limit) last = grid_.Prev(last);
  if (last < first) return first;
  if (!cron_) return grid_.Next(last);
  // Cron only delays: step back from `last` to the last interval whose
  // cron firing has passed. Due times are monotone, so a binary search over
  // the grid would do; stepping is enough for intervals shorter than the
  // cron period, and the doubling below bounds it otherwise.
  int64_t step = 1;
  Instant hi = last;
  while (true) {
    auto due = DueAt(hi);
    if (due && *due <= now) break;
    Instant lo = hi;
    for (int64_t i = 0; i < step && lo > first; ++i) lo = grid_.Prev(lo);
    if (lo <= first) {
      auto d0 = DueAt(first);
      if (!d0 || *d0 > now) return first;
      hi = first;
      // Walk forward from `first` to find the last due.
      while (hi < last) {
        Instant n = grid_.Next(hi);
        auto dn = DueAt(n);
        if (!dn || *dn > now) break;
        hi = n;
      }
      return grid_.Next(hi);
    }
    hi = lo;
    step *= 2;
  }
  // hi is due; walk forward to the last due one.
  while (hi < last) {
    Instant n = grid_.Next(hi);
    auto dn = DueAt(n);
    if (!dn || *dn > now) break;
    hi = n;
  }
  return grid_.Next(hi);
}

std::chrono::seconds RetryBackoff(int64_t failures) {
  int64_t s = 30;
  for (int64_t i = 1; i < failures && s < 3600; ++i) s *= 2;
  return std::chrono::seconds(std::min<int64_t>(s, 3600));
}

}  // namespace osprey::schedule
