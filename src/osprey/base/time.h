// Time for osprey: instants (UTC seconds), ISO-8601 durations, IANA time
// zones, the interval grid a detector's frequency lays over time, and
// timestamp formats in the Java/L4M pattern style ("yyyy-MM-dd HH:mm:ss").
// Everything here is a pure value type; none of it reads the wall clock
// (that is Clock's job, in clock.h). Thread-safe: all types are immutable.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"

namespace date {
class time_zone;
}

namespace osprey {

// Integer division and remainder rounding towards negative infinity (b != 0;
// FloorMod's result has b's sign): the day of -1 seconds is day -1, not 0.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}
inline int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }
// The day of the week of a day counted from 1970-01-01 (a Thursday),
// Monday = 0 ... Sunday = 6.
inline int WeekdayOfDay(int64_t days) { return static_cast<int>(FloorMod(days + 3, 7)); }

// Seconds since the Unix epoch, UTC. Sub-second precision is not kept:
// intervals are at least one minute long.
using Instant = std::chrono::sys_seconds;

inline Instant FromUnixSeconds(int64_t s) { return Instant(std::chrono::seconds(s)); }
inline int64_t ToUnixSeconds(Instant t) { return t.time_since_epoch().count(); }

// "2020-10-01T00:00:00Z".
std::string FormatIso(Instant t);

// An ISO-8601 duration: PnYnMnWnDTnHnMnS (e.g. PT5M, PT1H, P1D, P1W, P1M).
// Calendar parts (years, months, weeks, days) follow the local calendar of a
// time zone, so a P1D interval may be 23 or 25 hours long across DST changes.
struct Duration {
  int64_t years = 0;
  int64_t months = 0;
  int64_t weeks = 0;
  int64_t days = 0;
  int64_t seconds = 0;  // the time part: hours, minutes and seconds

  // Fails with InvalidArgument on anything but a well-formed, positive,
  // whole-second ISO-8601 duration.
  static Result<Duration> Parse(std::string_view text);

  std::string ToString() const;
  bool IsCalendar() const { return years != 0 || months != 0 || weeks != 0 || days != 0; }
  // Nominal length: days are 86,400 s, months 30 days, years 365 days.
  int64_t NominalSeconds() const;
  bool operator==(const Duration&) const = default;
};

// An IANA time zone ("UTC", "Europe/Berlin"), from the system tz database.
class TimeZone {
 public:
  // Fails with InvalidArgument naming the zone when it is unknown.
  static Result<TimeZone> Load(std::string_view name);
  static TimeZone Utc();

  const std::string& name() const { return name_; }
  // The tz database's own name of the zone a name or link leads to
  // ("US/Eastern" -> "America/New_York"); "UTC" for UTC.
  std::string canonical_name() const;
  // UTC offset in seconds at `t`, including daylight saving time.
  int64_t OffsetAt(Instant t) const;
  // The stretch of time around an instant during which the UTC offset is
  // constant: [begin, end) and the offset in seconds. UTC (and every zone
  // before its first and after its last recorded change) has one stretch
  // spanning all instants osprey handles. Adjacent stretches may have the
  // same offset (a change of abbreviation only).
  struct Span {
    Instant begin;
    Instant end;
    int64_t offset = 0;
  };
  Span SpanAt(Instant t) const;
  // Seconds since 1970-01-01 00:00 local wall time, at `t`.
  int64_t ToLocal(Instant t) const { return ToUnixSeconds(t) + OffsetAt(t); }
  // The instant of a local wall time; an ambiguous time (clocks turned back)
  // gives the earlier instant, a skipped time (clocks turned forward) gives
  // the transition instant. `other`, when given, receives the other instant
  // the wall time can mean, from the same look-up: for an ambiguous time the
  // later one, for a skipped time the wall time read with the offset from
  // after the change; for any other time the instant returned.
  Instant FromLocal(int64_t local_seconds, Instant* other = nullptr) const;

 private:
  TimeZone(std::string name, const date::time_zone* zone) : name_(std::move(name)), zone_(zone) {}
  std::string name_;
  const date::time_zone* zone_ = nullptr;  // null means UTC
};

// The grid of intervals that a frequency lays over time in a time zone.
// Intervals are half-open, [start, next), contiguous and non-overlapping in
// every zone, and start on the local wall clock.
//
// Time-only frequencies (PT1M ... PT12H, any whole number of minutes): the
// interval boundaries are exactly the instants whose local wall-clock time,
// in the UTC offset in force at that instant, is a whole multiple of the
// frequency counted from local midnight of 1970-01-01 (for frequencies that
// divide a day: from every local midnight). An instant where the offset
// changes is a boundary only if it is one by that rule. So each interval is
// one wall-clock slot [k*f, (k+1)*f) that starts at an instant that exists:
//  - wherever the offset is constant, every interval is exactly f long;
//  - clocks forward (spring): a slot whose start the clock skips has no
//    interval and its remainder belongs to the interval before (an hourly
//    grid in New York goes 01:00 EST, 03:00 EDT: 06:00Z, 07:00Z);
//  - clocks back (autumn): a slot whose start the clock passes twice has
//    two intervals at distinct instants (01:00 EDT = 05:00Z and 01:00 EST =
//    06:00Z), each with its own rows;
//  - an interval holding a change of the offset by d seconds is f*(1+j) - d
//    long, where j is the number of slot starts the change skipped (d > 0)
//    or minus the number it repeated (d < 0). When d is a multiple of f (an
//    hour shift with PT1M ... PT1H) that is exactly f; when it is not
//    (Australia/Lord_Howe's 30-minute shift with PT1H, PT2H ... PT12H on a
//    one-hour shift day, local mean time offsets such as +00:17:30) the
//    interval around the change is shorter or longer than f, and it is the
//    only one that is.
// Calendar frequencies (P1D, P1W, P1M, P1Y) start at local midnight (weeks
// on Monday, months on the 1st); where the clock skips that midnight, at the
// instant it jumps over it; where it passes it twice, at the first pass.
// A P1D interval is 23 or 25 hours long across a one-hour DST change.
//
// Cost: one offset look-up per Floor/Next in the usual case, answered from
// a per-thread cache of the last stretch of constant offset (a binary search
// in the zone's transitions when it misses; nothing for UTC).
class IntervalGrid {
 public:
  // Fails with InvalidArgument for a frequency under one minute, or one that
  // mixes calendar and time parts (P1DT1H).
  static Result<IntervalGrid> Create(const Duration& frequency, const TimeZone& zone);

  // Start of the interval containing `t`.
  Instant Floor(Instant t) const;
  // Start of the interval after the one starting at `start`.
  Instant Next(Instant start) const;
  // Start of the interval before the one starting at `start`.
  Instant Prev(Instant start) const;
  // Starts of all intervals that begin in [from, to).
  std::vector<Instant> Starts(Instant from, Instant to) const;
  // The interval `n` (>= 1) intervals before the one starting at `start`,
  // keyed on the local clock when n intervals make whole days: the interval
  // that starts at the same local wall time that many local days earlier
  // (its first pass when the clock passed that time twice), or nullopt when
  // the clock skipped that time (02:00 the day after a spring change has no
  // "same hour yesterday"). Otherwise (e.g. PT1H with n = 5, or P1M) n steps
  // back on the grid. So with PT1H, n = 24 is the same local hour yesterday
  // and n = 168 the same local hour a week ago, across DST changes.
  std::optional<Instant> SeasonalLag(Instant start, int64_t n) const;

  const Duration& frequency() const { return frequency_; }
  const TimeZone& zone() const { return zone_; }

 private:
  IntervalGrid(Duration f, TimeZone z) : frequency_(f), zone_(std::move(z)) {}
  Instant AddCalendar(Instant start, int64_t count) const;
  Duration frequency_;
  TimeZone zone_;
};

// A timestamp pattern in the Java DateTimeFormatter style that Lookout for
// Metrics used: yyyy MM dd HH mm ss SSS, 'quoted literals', XXX / Z for a UTC
// offset, and literal punctuation. Three keywords are accepted too:
// "epoch" (seconds), "epoch_millis" and "iso8601" (any ISO-8601 date-time).
// Without an offset in the value, the time is local to the given zone.
class TimestampFormat {
 public:
  // Fails with InvalidArgument naming the unsupported pattern letter.
  static Result<TimestampFormat> Parse(std::string_view pattern);

  // Fails with InvalidArgument quoting the value and the expected pattern.
  // `other`, when given, receives the other instant a value without an
  // offset can mean in `zone` (TimeZone::FromLocal's `other`; the parsed instant
  // itself for a value with an offset, an epoch or an iso8601 value).
  Result<Instant> ParseValue(std::string_view text, const TimeZone& zone, Instant* other = nullptr) const;
  // An integer cell read as ParseValue reads its decimal text, without the
  // text: the instant of an "epoch" or "epoch_millis" format; nullopt for
  // any other format, or a number ParseValue rejects (the caller then asks
  // ParseValue for its message).
  std::optional<Instant> EpochValue(int64_t v) const;
  std::string Format(Instant t, const TimeZone& zone) const;
  const std::string& pattern() const { return pattern_; }

  enum class Kind { kPattern, kEpoch, kEpochMillis, kIso8601 };
  enum class Field { kLiteral, kYear, kMonth, kDay, kHour, kMinute, kSecond, kMillis, kOffset };
  struct Token {
    Field field;
    std::string literal;  // for kLiteral
  };

 private:
  std::string pattern_;
  Kind kind_ = Kind::kPattern;
  std::vector<Token> tokens_;
};

// Parses a user-given instant for command-line options and API parameters:
// "2020-10-01", "2020-10-01 12:00", "2020-10-01T12:00:00", optionally followed
// by "Z" or an offset; without one the time is local to `zone`.
Result<Instant> ParseInstant(std::string_view text, const TimeZone& zone);

}  // namespace osprey
