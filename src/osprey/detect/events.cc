#include "osprey/detect/events.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>

namespace osprey::detect {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;

constexpr int64_t kDay = 86400;
// Rule years kept in a calendar's cache before it starts afresh.
constexpr size_t kMaxCachedYears = 64;

constexpr std::array<std::string_view, 7> kWeekdays = {"monday", "tuesday",  "wednesday", "thursday",
                                                       "friday", "saturday", "sunday"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int64_t DaysOf(int y, int m, int d) {
  return sys_days{year{y} / month{static_cast<unsigned>(m)} / day{static_cast<unsigned>(d)}}
      .time_since_epoch()
      .count();
}

int LocalYear(const TimeZone& zone, Instant t) {
  const sys_days d{std::chrono::days{FloorDiv(zone.ToLocal(t), kDay)}};
  return static_cast<int>(year_month_day{d}.year());
}

}  // namespace

std::string_view EventEffectName(EventEffect e) { return e == EventEffect::kSuppress ? "suppress" : "learn"; }

std::optional<EventEffect> ParseEventEffect(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "learn") return EventEffect::kLearn;
  if (n == "suppress") return EventEffect::kSuppress;
  return std::nullopt;
}

std::optional<int> ParseWeekday(std::string_view name) {
  const std::string n = Lower(name);
  for (size_t i = 0; i < kWeekdays.size(); ++i) {
    if (n == kWeekdays[i] || n == kWeekdays[i].substr(0, 3)) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::string_view WeekdayName(int weekday) {
  return weekday >= 0 && weekday < 7 ? kWeekdays[static_cast<size_t>(weekday)] : "";
}

std::pair<int, int> EasterSunday(int y) {
  // Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
  const int a = y % 19;
  const int b = y / 100;
  const int c = y % 100;
  const int d = b / 4;
  const int e = b % 4;
  const int f = (b + 8) / 25;
  const int g = (b - f + 1) / 3;
  const int h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4;
  const int k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month_number = (h + l - 7 * m + 114) / 31;
  const int day_number = (h + l - 7 * m + 114) % 31 + 1;
  return {month_number, day_number};
}

std::optional<int64_t> RuleDay(const CalendarEvent& e, int y) {
  std::optional<int64_t> base;
  switch (e.recurrence) {
    case EventRecurrence::kOnce: return std::nullopt;
    case EventRecurrence::kFixedDate: {
      const year_month_day ymd{year{y}, month{static_cast<unsigned>(e.month)},
                               day{static_cast<unsigned>(e.day)}};
      if (!ymd.ok()) return std::nullopt;  // 02-29 outside leap years
      base = sys_days{ymd}.time_since_epoch().count();
      break;
    }
    case EventRecurrence::kNthWeekday: {
      if (e.month < 1 || e.month > 12 || e.nth == 0 || e.nth < -5 || e.nth > 5) return std::nullopt;
      if (e.nth > 0) {
        if (e.from_day < 1 || e.from_day > 31) return std::nullopt;
        const int64_t first = DaysOf(y, e.month, 1) + (e.from_day - 1);
        const int64_t d = first + (e.weekday - WeekdayOfDay(first) + 7) % 7 + 7 * (e.nth - 1);
        const int64_t next_month = e.month == 12 ? DaysOf(y + 1, 1, 1) : DaysOf(y, e.month + 1, 1);
        if (e.from_day == 1 && d >= next_month) return std::nullopt;
        base = d;
      } else {
        const int64_t last = (e.month == 12 ? DaysOf(y + 1, 1, 1) : DaysOf(y, e.month + 1, 1)) - 1;
        const int64_t d = last - (WeekdayOfDay(last) - e.weekday + 7) % 7 - 7 * (-e.nth - 1);
        if (d < DaysOf(y, e.month, 1)) return std::nullopt;
        base = d;
      }
      break;
    }
    case EventRecurrence::kEaster: {
      const auto [m, d] = EasterSunday(y);
      base = DaysOf(y, m, d) + e.easter_days;
      break;
    }
  }
  const int64_t d = *base + e.offset_days;
  if (e.observed_saturday == 0 && e.observed_sunday == 0) return d;
  const int weekday = WeekdayOfDay(d);
  const int shift = weekday == 5 ? e.observed_saturday : weekday == 6 ? e.observed_sunday : 0;
  if (shift == 0) return std::nullopt;
  return d + shift;
}

bool InScope(const CalendarEvent& e, const std::function<std::optional<std::string_view>(size_t)>& value_of) {
  for (const EventScope& s : e.scope) {
    const std::optional<std::string_view> v = value_of(s.dimension);
    if (v && *v != s.value) return false;
  }
  return true;
}

EventCalendar::EventCalendar(std::vector<CalendarEvent> events, TimeZone zone)
    : events_(std::move(events)), zone_(std::move(zone)) {}

const std::vector<EventOccurrence>& EventCalendar::Year(int y) const {
  auto it = years_.find(y);
  if (it != years_.end()) return it->second;
  if (years_.size() >= kMaxCachedYears) years_.clear();
  std::vector<EventOccurrence> out;
  for (const CalendarEvent& e : events_) {
    const std::optional<int64_t> d = RuleDay(e, y);
    if (!d) continue;
    const int64_t local = *d * kDay;
    out.push_back({&e, zone_.FromLocal(local), zone_.FromLocal(local + e.length_seconds)});
  }
  return years_.emplace(y, std::move(out)).first->second;
}

std::vector<EventOccurrence> EventCalendar::Overlapping(Instant from, Instant to) const {
  std::vector<EventOccurrence> out;
  if (events_.empty() || !(from < to)) return out;
  auto overlaps = [&](const EventOccurrence& o) { return o.start < to && from < o.end; };
  for (const CalendarEvent& e : events_) {
    if (e.recurrence != EventRecurrence::kOnce) continue;
    EventOccurrence o{&e, e.start, e.end};
    if (overlaps(o)) out.push_back(o);
  }
  // A rule's occurrence lies within two years of its rule year (offsets and
  // lengths are at most 366 days, config/loader.cc), so these years hold
  // every occurrence that can overlap.
  const int first = LocalYear(zone_, from) - 2;
  const int last = LocalYear(zone_, to - std::chrono::seconds(1)) + 2;
  for (int y = first; y <= last; ++y) {
    for (const EventOccurrence& o : Year(y)) {
      if (overlaps(o)) out.push_back(o);
    }
  }
  std::sort(out.begin(), out.end(), [](const EventOccurrence& a, const EventOccurrence& b) {
    if (a.start != b.start) return a.start < b.start;
    return a.event < b.event;  // the order events were listed in
  });
  return out;
}

const EventOccurrence* EventCalendar::Choose(const std::vector<EventOccurrence>& overlapping,
                                             const std::function<bool(const CalendarEvent&)>& in_scope) {
  const EventOccurrence* best = nullptr;
  for (const EventOccurrence& o : overlapping) {
    if (!in_scope(*o.event)) continue;
    if (!best ||
        (o.event->effect == EventEffect::kSuppress && best->event->effect != EventEffect::kSuppress)) {
      best = &o;
    }
  }
  return best;
}

}  // namespace osprey::detect
