#include "osprey/detect/events.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>

namespace osprey::detect {
namespace {

using namespace std::chrono;

int64_t Days(int y, unsigned m, unsigned d) {
  return sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count();
}

CalendarEvent NthWeekday(std::string name, int m, int weekday, int nth, int offset_days = 0) {
  CalendarEvent e;
  e.name = std::move(name);
  e.recurrence = EventRecurrence::kNthWeekday;
  e.month = m;
  e.weekday = weekday;
  e.nth = nth;
  e.offset_days = offset_days;
  return e;
}

CalendarEvent FixedDate(std::string name, int m, int d, int64_t days = 1) {
  CalendarEvent e;
  e.name = std::move(name);
  e.recurrence = EventRecurrence::kFixedDate;
  e.month = m;
  e.day = d;
  e.length_seconds = days * 86400;
  return e;
}

TEST(EventsTest, ThanksgivingIsTheFourthThursdayOfNovember2000To2040) {
  const CalendarEvent thanksgiving = NthWeekday("Thanksgiving", 11, *ParseWeekday("thursday"), 4);
  const CalendarEvent black_friday = NthWeekday("Black Friday", 11, 3, 4, 1);
  for (int y = 2000; y <= 2040; ++y) {
    // Independently: walk November and count Thursdays.
    int thursdays = 0;
    int64_t expected = 0;
    for (unsigned d = 1; d <= 30; ++d) {
      if (weekday{sys_days{year{y} / November / day{d}}} == Thursday && ++thursdays == 4) {
        expected = Days(y, 11, d);
      }
    }
    ASSERT_EQ(RuleDay(thanksgiving, y), expected) << y;
    EXPECT_EQ(RuleDay(black_friday, y), expected + 1) << y;
    EXPECT_GE(expected, Days(y, 11, 22));
    EXPECT_LE(expected, Days(y, 11, 28));
  }
}

TEST(EventsTest, LastAndFifthWeekdays) {
  const CalendarEvent memorial = NthWeekday("Memorial Day", 5, 0, -1);
  const CalendarEvent fifth_monday = NthWeekday("Fifth Monday", 5, 0, 5);
  for (int y = 2000; y <= 2040; ++y) {
    int64_t last = 0;
    int mondays = 0;
    for (unsigned d = 1; d <= 31; ++d) {
      if (weekday{sys_days{year{y} / May / day{d}}} == Monday) {
        last = Days(y, 5, d);
        ++mondays;
      }
    }
    EXPECT_EQ(RuleDay(memorial, y), last) << y;
    if (mondays == 5) {
      EXPECT_EQ(RuleDay(fifth_monday, y), last) << y;
    } else {
      EXPECT_FALSE(RuleDay(fifth_monday, y).has_value()) << y;  // that year has none
    }
  }
  EXPECT_EQ(RuleDay(memorial, 2024), Days(2024, 5, 27));
}

TEST(EventsTest, EasterMatchesKnownDates) {
  const std::map<int, std::pair<int, int>> known = {
      {2000, {4, 23}}, {2001, {4, 15}}, {2008, {3, 23}}, {2011, {4, 24}}, {2019, {4, 21}}, {2024, {3, 31}},
      {2025, {4, 20}}, {2026, {4, 5}},  {2030, {4, 21}}, {2038, {4, 25}}, {2285, {3, 22}}, {1943, {4, 25}}};
  for (const auto& [y, md] : known) EXPECT_EQ(EasterSunday(y), md) << y;
  CalendarEvent good_friday;
  good_friday.recurrence = EventRecurrence::kEaster;
  good_friday.easter_days = -2;
  EXPECT_EQ(RuleDay(good_friday, 2024), Days(2024, 3, 29));
  // Every Easter from 2000 to 2040 is a Sunday between March 22 and April 25.
  CalendarEvent easter;
  easter.recurrence = EventRecurrence::kEaster;
  for (int y = 2000; y <= 2040; ++y) {
    const int64_t d = *RuleDay(easter, y);
    EXPECT_EQ(weekday{sys_days{days{d}}}, Sunday) << y;
    EXPECT_GE(d, Days(y, 3, 22)) << y;
    EXPECT_LE(d, Days(y, 4, 25)) << y;
  }
}

TEST(EventsTest, FixedDatesSkipYearsWithoutThem) {
  const CalendarEvent leap = FixedDate("Leap day", 2, 29);
  EXPECT_EQ(RuleDay(leap, 2024), Days(2024, 2, 29));
  EXPECT_FALSE(RuleDay(leap, 2023).has_value());
  const CalendarEvent christmas = FixedDate("Christmas", 12, 25);
  for (int y = 2000; y <= 2040; ++y) EXPECT_EQ(RuleDay(christmas, y), Days(y, 12, 25));
}

TEST(EventsTest, OccurrencesAreLocalDaysInTheDetectorsZone) {
  const TimeZone ny = *TimeZone::Load("America/New_York");
  const CalendarEvent christmas = FixedDate("Christmas", 12, 25, 2);
  CalendarEvent once;
  once.name = "Launch";
  once.start = *ParseInstant("2024-12-24T18:00:00", ny);
  once.end = *ParseInstant("2024-12-25T02:00:00", ny);
  EventCalendar cal({christmas, once}, ny);
  const auto occ = cal.Overlapping(*ParseInstant("2024-12-01", ny), *ParseInstant("2025-01-01", ny));
  ASSERT_EQ(occ.size(), 2u);
  EXPECT_EQ(occ[0].event->name, "Launch");
  EXPECT_EQ(occ[1].event->name, "Christmas");
  EXPECT_EQ(FormatIso(occ[1].start), "2024-12-25T05:00:00Z");  // local midnight, UTC-5
  EXPECT_EQ(FormatIso(occ[1].end), "2024-12-27T05:00:00Z");
  // The end is exclusive; an interval just before the start is outside.
  EXPECT_TRUE(cal.Overlapping(occ[1].end, occ[1].end + hours(1)).empty());
  EXPECT_EQ(cal.Overlapping(occ[1].end - hours(1), occ[1].end).size(), 1u);
  EXPECT_TRUE(
      cal.Overlapping(*ParseInstant("2024-12-24T17:00", ny), *ParseInstant("2024-12-24T18:00", ny)).empty());
  // A rule whose occurrence crosses a year end is found from either year.
  EventCalendar cal2({FixedDate("New Year", 12, 31, 2)}, ny);
  const auto jan =
      cal2.Overlapping(*ParseInstant("2025-01-01T12:00", ny), *ParseInstant("2025-01-01T13:00", ny));
  ASSERT_EQ(jan.size(), 1u);
  EXPECT_EQ(FormatIso(jan[0].start), "2024-12-31T05:00:00Z");
  EXPECT_EQ(FormatIso(jan[0].end), "2025-01-02T05:00:00Z");
}

TEST(EventsTest, ADstDayIsOneLocalDay) {
  const TimeZone ny = *TimeZone::Load("America/New_York");
  EventCalendar cal({FixedDate("Spring", 3, 10)}, ny);  // 2024-03-10: clocks go forward
  const auto occ = cal.Overlapping(*ParseInstant("2024-03-01", ny), *ParseInstant("2024-04-01", ny));
  ASSERT_EQ(occ.size(), 1u);
  EXPECT_EQ(occ[0].end - occ[0].start, hours(23));
}

TEST(EventsTest, ScopeCoversMatchingLeavesAndRollUps) {
  CalendarEvent e;
  e.scope = {{0, "region", "West"}, {2, "channel", "web"}};
  auto series = [](std::vector<std::optional<std::string_view>> v) { return [v](size_t i) { return v[i]; }; };
  EXPECT_TRUE(InScope(e, series({"West", "a", "web"})));
  EXPECT_FALSE(InScope(e, series({"East", "a", "web"})));
  EXPECT_FALSE(InScope(e, series({"West", "a", "store"})));
  EXPECT_TRUE(InScope(e, series({"West", std::nullopt, std::nullopt})));        // roll-up over channel
  EXPECT_TRUE(InScope(e, series({std::nullopt, std::nullopt, std::nullopt})));  // the total
  EXPECT_FALSE(InScope(e, series({std::nullopt, "a", "store"})));
  CalendarEvent everywhere;
  EXPECT_TRUE(InScope(everywhere, series({"East", "a", "store"})));
}

TEST(EventsTest, SuppressWinsThenEarliestThenFirstListed) {
  CalendarEvent a, b, c;
  a.name = "a";
  b.name = "b";
  c.name = "c";
  c.effect = EventEffect::kSuppress;
  c.scope = {{0, "region", "West"}};
  const Instant t0 = FromUnixSeconds(0);
  std::vector<EventOccurrence> occ = {
      {&a, t0, t0 + hours(5)}, {&b, t0 + hours(1), t0 + hours(5)}, {&c, t0 + hours(2), t0 + hours(5)}};
  auto west = [](const CalendarEvent& e) { return e.scope.empty() || e.scope[0].value == "West"; };
  auto east = [](const CalendarEvent& e) { return e.scope.empty() || e.scope[0].value == "East"; };
  EXPECT_EQ(EventCalendar::Choose(occ, west)->event, &c);
  EXPECT_EQ(EventCalendar::Choose(occ, east)->event, &a);
  EXPECT_EQ(EventCalendar::Choose(occ, [](const CalendarEvent&) { return false; }), nullptr);
}

TEST(EventsTest, NamesParse) {
  EXPECT_EQ(ParseWeekday("Thursday"), 3);
  EXPECT_EQ(ParseWeekday("sun"), 6);
  EXPECT_FALSE(ParseWeekday("thursdy").has_value());
  EXPECT_EQ(WeekdayName(0), "monday");
  EXPECT_EQ(ParseEventEffect("Suppress"), EventEffect::kSuppress);
  EXPECT_FALSE(ParseEventEffect("ignore").has_value());
  EXPECT_EQ(EventEffectName(EventEffect::kLearn), "learn");
}

}  // namespace
}  // namespace osprey::detect
