// Cron expressions for detector schedules: the 5-field POSIX form
// ("0 * * * *": minute hour day-of-month month day-of-week) and the 6-field
// AWS form of imported configurations ("cron(0 * * * ? *)": the same plus a
// year, with "?" for "no value" in day-of-month or day-of-week). Fields are
// evaluated in the detector's time zone. Pure: the instant is an argument.
// Lives in base so config can validate expressions and schedule can plan.
//
// Accepted per field: *, numbers, ranges a-b, lists a,b, steps */n and a-b/n,
// month names JAN-DEC and day names SUN-SAT. POSIX days of week are 0-7
// (0 and 7 = Sunday); AWS days are 1-7 (1 = Sunday). As in POSIX cron, when
// both day-of-month and day-of-week are restricted a day matching either
// fires. AWS's L, W and # are not supported (InvalidArgument says so).
//
// DST: a local time that does not exist (clocks turned forward) fires at the
// transition instant; a local time that happens twice fires once, the first
// time.
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "osprey/base/status.h"
#include "osprey/base/time.h"

namespace osprey {

struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // 1-31
  std::bitset<13> months;         // 1-12
  std::bitset<7> days_of_week;    // 0 = Sunday
  bool dom_restricted = false;
  bool dow_restricted = false;
  // AWS year field: [year_from, year_to]; unrestricted by default.
  int year_from = 1970, year_to = 9999;
  std::string text;  // as given, for messages
};

// InvalidArgument naming the field and the problem.
Result<CronSpec> ParseCron(std::string_view text);

// The first firing at or after `t` in `zone`; nullopt when there is none
// within ten years (e.g. "0 0 31 2 *" or a past AWS year).
std::optional<Instant> NextCronTime(const CronSpec& spec, const TimeZone& zone, Instant t);

}  // namespace osprey
