// Event calendars: holidays, promotions and other known days that are not
// normal behaviour. A detector lists events once (one-off ranges or yearly
// rules such as "4th Thursday of November"); the calendar expands them into
// occurrences for the years a run touches, and tells which event, if any, an
// interval of a series belongs to. Pure: no IO, no clock (docs/configuration.md,
// "events").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/time.h"
#include "osprey/detect/model.h"

namespace osprey::detect {

// How an event recurs.
enum class EventRecurrence {
  kOnce = 0,    // one range [start, end)
  kFixedDate,   // every year on month-day (Christmas: 12-25)
  kNthWeekday,  // the nth (or, negative, nth-from-last) weekday of a month
  kEaster,      // Easter Sunday (Gregorian) plus easter_days
};

// One dimension value an event is scoped to ("region=West").
struct EventScope {
  size_t dimension = 0;  // index into the detector's dimensions
  std::string name;      // the dimension's name, for people
  std::string value;
};

// One event as configured.
struct CalendarEvent {
  std::string name;
  EventRecurrence recurrence = EventRecurrence::kOnce;
  // kOnce: the half-open range the event covers.
  Instant start{};
  Instant end{};
  int month = 0;    // 1-12: kFixedDate and kNthWeekday
  int day = 0;      // 1-31: kFixedDate
  int weekday = 0;  // 0 = Monday ... 6 = Sunday: kNthWeekday
  int nth = 0;      // 1-5, or -1 (last) to -5: kNthWeekday
  // kNthWeekday with nth > 0: the day of the month counting starts from
  // (Midsummer Eve: the first Friday from June 19); the occurrence may then
  // fall in the next month (All Saints' Day in Sweden: the first Saturday
  // from October 31).
  int from_day = 1;
  int easter_days = 0;  // kEaster: days after (negative: before) Easter Sunday
  int offset_days = 0;  // recurrences: days added to the rule's date
  // Recurrences: a day off given for a date that falls on a weekend (a
  // holiday "observed" on the Friday or Monday). When either is non-zero the
  // event occurs only in years whose date (offset_days included) is a
  // Saturday or a Sunday with a non-zero shift, that many days from it.
  int observed_saturday = 0;
  int observed_sunday = 0;
  // Recurrences: how long each occurrence lasts from local midnight of its
  // date, in local wall-clock seconds (one local day by default, so an
  // occurrence on a DST day lasts 23 or 25 hours).
  int64_t length_seconds = 86400;
  // Every scoped dimension must match (see InScope). Empty: every series.
  std::vector<EventScope> scope;
  EventEffect effect = EventEffect::kLearn;
};

// One occurrence of an event.
struct EventOccurrence {
  const CalendarEvent* event = nullptr;  // owned by the calendar
  Instant start{};
  Instant end{};
};

// "learn" / "suppress"; the inverse is case-insensitive, nullopt when unknown.
std::string_view EventEffectName(EventEffect e);
std::optional<EventEffect> ParseEventEffect(std::string_view name);
// "monday" ... "sunday" (or "mon" ... "sun"), case-insensitive -> 0 ... 6.
std::optional<int> ParseWeekday(std::string_view name);
std::string_view WeekdayName(int weekday);

// Easter Sunday of a Gregorian year (the Anonymous Gregorian algorithm), as
// {month, day}.
std::pair<int, int> EasterSunday(int year);

// The local date of one yearly rule in `year`, as days since 1970-01-01
// (offset_days included); nullopt when the rule has no date that year (a
// 5th Monday the month lacks, 02-29 outside leap years) or for kOnce.
std::optional<int64_t> RuleDay(const CalendarEvent& e, int year);

// Whether a series is in an event's scope. `value_of(i)` is the series' value
// of the detector's dimension i, or nullopt when the series is a roll-up over
// it (ALL). A series is in scope when, for every scoped dimension, its value
// equals the event's or it rolls up over that dimension (a roll-up contains
// the affected leaves, so it is affected too).
bool InScope(const CalendarEvent& e, const std::function<std::optional<std::string_view>(size_t)>& value_of);

// The events of one detector in its time zone. Expands yearly rules per year
// on demand and caches them; not thread-safe (one calendar per runner).
class EventCalendar {
 public:
  EventCalendar() = default;
  EventCalendar(std::vector<CalendarEvent> events, TimeZone zone);
  // Occurrences point into the calendar: it moves (the events stay where
  // they are) but is not copied.
  EventCalendar(const EventCalendar&) = delete;
  EventCalendar& operator=(const EventCalendar&) = delete;
  EventCalendar(EventCalendar&&) = default;
  EventCalendar& operator=(EventCalendar&&) = default;

  bool empty() const { return events_.empty(); }
  const std::vector<CalendarEvent>& events() const { return events_; }

  // Every occurrence that overlaps [from, to), ordered by start, then by the
  // order the events were listed in.
  std::vector<EventOccurrence> Overlapping(Instant from, Instant to) const;

  // The occurrence an interval of a series belongs to: among `overlapping`
  // (from Overlapping), those whose event has the series in scope
  // (`in_scope`); a suppressing event wins over a learnt one, then the
  // earliest start, then the first listed. nullptr when none.
  static const EventOccurrence* Choose(const std::vector<EventOccurrence>& overlapping,
                                       const std::function<bool(const CalendarEvent&)>& in_scope);

 private:
  const std::vector<EventOccurrence>& Year(int year) const;

  std::vector<CalendarEvent> events_;
  TimeZone zone_ = TimeZone::Utc();
  mutable std::map<int, std::vector<EventOccurrence>> years_;  // rule year -> occurrences
};

}  // namespace osprey::detect
