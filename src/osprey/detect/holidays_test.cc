#include "osprey/detect/holidays.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "osprey/base/time.h"

namespace osprey::detect {
namespace {

using namespace std::chrono;

int64_t Days(int y, unsigned m, unsigned d) {
  return sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count();
}

// The day of a country's named holiday in a rule year; nullopt when the
// calendar has no such rule or the rule no day that year.
std::optional<int64_t> Day(std::string_view country, std::string_view name, int y) {
  for (const CalendarEvent& e : CountryHolidays(country)) {
    if (e.name == name) return RuleDay(e, y);
  }
  ADD_FAILURE() << country << " has no holiday named '" << name << "'";
  return std::nullopt;
}

TEST(HolidaysTest, UnitedStates2024) {
  EXPECT_EQ(Day("US", "New Year's Day", 2024), Days(2024, 1, 1));
  EXPECT_EQ(Day("US", "Martin Luther King Jr. Day", 2024), Days(2024, 1, 15));
  EXPECT_EQ(Day("US", "Presidents' Day", 2024), Days(2024, 2, 19));
  EXPECT_EQ(Day("US", "Easter Sunday", 2024), Days(2024, 3, 31));
  EXPECT_EQ(Day("US", "Memorial Day", 2024), Days(2024, 5, 27));
  EXPECT_EQ(Day("US", "Juneteenth", 2024), Days(2024, 6, 19));
  EXPECT_EQ(Day("US", "Independence Day", 2024), Days(2024, 7, 4));
  EXPECT_EQ(Day("US", "Labor Day", 2024), Days(2024, 9, 2));
  EXPECT_EQ(Day("US", "Columbus Day", 2024), Days(2024, 10, 14));
  EXPECT_EQ(Day("US", "Veterans Day", 2024), Days(2024, 11, 11));
  EXPECT_EQ(Day("US", "Thanksgiving", 2024), Days(2024, 11, 28));
  EXPECT_EQ(Day("US", "Black Friday", 2024), Days(2024, 11, 29));
  EXPECT_EQ(Day("US", "Cyber Monday", 2024), Days(2024, 12, 2));
  EXPECT_EQ(Day("US", "Christmas Day", 2024), Days(2024, 12, 25));
  EXPECT_EQ(Day("US", "New Year's Eve", 2024), Days(2024, 12, 31));
}

TEST(HolidaysTest, AUsFederalHolidayOnAWeekendIsObservedOnTheFridayOrMonday) {
  // 2020-07-04 was a Saturday, 2021-07-04 a Sunday, 2024-07-04 a Thursday.
  EXPECT_EQ(Day("US", "Independence Day (observed)", 2020), Days(2020, 7, 3));
  EXPECT_EQ(Day("US", "Independence Day (observed)", 2021), Days(2021, 7, 5));
  EXPECT_EQ(Day("US", "Independence Day (observed)", 2024), std::nullopt);
  // New Year's Day 2022 (a Saturday) was observed on Friday 2021-12-31.
  EXPECT_EQ(Day("US", "New Year's Day (observed)", 2022), Days(2021, 12, 31));
  EXPECT_EQ(Day("US", "Christmas Day (observed)", 2022), Days(2022, 12, 26));
}

TEST(HolidaysTest, ChristmasAndBoxingDayOnAWeekendTakeTheMondayAndTheTuesday) {
  // 2021: Christmas a Saturday, Boxing Day a Sunday.
  EXPECT_EQ(Day("GB", "Christmas Day (observed)", 2021), Days(2021, 12, 27));
  EXPECT_EQ(Day("GB", "Boxing Day (observed)", 2021), Days(2021, 12, 28));
  // 2022: Christmas a Sunday, Boxing Day the Monday itself.
  EXPECT_EQ(Day("GB", "Christmas Day (observed)", 2022), Days(2022, 12, 27));
  EXPECT_EQ(Day("GB", "Boxing Day (observed)", 2022), std::nullopt);
  EXPECT_EQ(Day("GB", "Boxing Day", 2022), Days(2022, 12, 26));
  // New Year's Day 2022, a Saturday: Monday the 3rd.
  EXPECT_EQ(Day("GB", "New Year's Day (observed)", 2022), Days(2022, 1, 3));
  // New Zealand 2022: the 1st a Saturday, the 2nd a Sunday -> Monday the 3rd and Tuesday the 4th.
  EXPECT_EQ(Day("NZ", "New Year's Day (observed)", 2022), Days(2022, 1, 3));
  EXPECT_EQ(Day("NZ", "Day after New Year's Day (observed)", 2022), Days(2022, 1, 4));
}

TEST(HolidaysTest, MovingHolidaysOfOtherCountries) {
  EXPECT_EQ(Day("GB", "Early May Bank Holiday", 2024), Days(2024, 5, 6));
  EXPECT_EQ(Day("GB", "Spring Bank Holiday", 2024), Days(2024, 5, 27));
  EXPECT_EQ(Day("GB", "Summer Bank Holiday", 2024), Days(2024, 8, 26));
  // Victoria Day: the Monday before May 25.
  EXPECT_EQ(Day("CA", "Victoria Day", 2023), Days(2023, 5, 22));
  EXPECT_EQ(Day("CA", "Victoria Day", 2024), Days(2024, 5, 20));
  EXPECT_EQ(Day("CA", "Victoria Day", 2025), Days(2025, 5, 19));
  EXPECT_EQ(Day("DE", "Ascension Day", 2024), Days(2024, 5, 9));
  EXPECT_EQ(Day("DE", "Whit Monday", 2024), Days(2024, 5, 20));
  EXPECT_EQ(Day("AT", "Corpus Christi", 2024), Days(2024, 5, 30));
  EXPECT_EQ(Day("ES", "Maundy Thursday", 2024), Days(2024, 3, 28));
  EXPECT_EQ(Day("AU", "King's Birthday", 2024), Days(2024, 6, 10));
  EXPECT_EQ(Day("NZ", "Labour Day", 2024), Days(2024, 10, 28));
  // Midsummer: the Friday between June 19 and 25, the Saturday after; All
  // Saints' Day in Sweden: the Saturday between October 31 and November 6.
  EXPECT_EQ(Day("SE", "Midsummer Eve", 2024), Days(2024, 6, 21));
  EXPECT_EQ(Day("SE", "Midsummer Eve", 2025), Days(2025, 6, 20));
  EXPECT_EQ(Day("SE", "Midsummer Eve", 2026), Days(2026, 6, 19));
  EXPECT_EQ(Day("FI", "Midsummer Day", 2026), Days(2026, 6, 20));
  EXPECT_EQ(Day("SE", "All Saints' Day", 2024), Days(2024, 11, 2));
  EXPECT_EQ(Day("SE", "All Saints' Day", 2026), Days(2026, 10, 31));
  EXPECT_EQ(Day("PL", "Corpus Christi", 2025), Days(2025, 6, 19));
  EXPECT_EQ(Day("NO", "Maundy Thursday", 2025), Days(2025, 4, 17));
  EXPECT_EQ(Day("DK", "Whit Monday", 2025), Days(2025, 6, 9));
  // King's Day 2025 fell on a Sunday and was kept on Saturday the 26th.
  EXPECT_EQ(Day("NL", "King's Day (observed)", 2025), Days(2025, 4, 26));
  EXPECT_EQ(Day("NL", "King's Day (observed)", 2024), std::nullopt);
}

TEST(HolidaysTest, EveryCalendarIsWellFormed) {
  ASSERT_GE(HolidayCountries().size(), 10u);
  for (std::string_view country : HolidayCountries()) {
    const std::vector<CalendarEvent> events = CountryHolidays(country);
    EXPECT_GE(events.size(), 8u) << country;
    std::set<std::string> names;
    for (const CalendarEvent& e : events) {
      EXPECT_TRUE(names.insert(e.name).second) << country << ": " << e.name << " twice";
      EXPECT_EQ(e.effect, EventEffect::kLearn) << e.name;
      EXPECT_TRUE(e.scope.empty()) << e.name;
      for (int y = 1990; y <= 2100; ++y) {
        const std::optional<int64_t> d = RuleDay(e, y);
        const bool observed = e.observed_saturday != 0 || e.observed_sunday != 0;
        if (!observed) {
          EXPECT_TRUE(d.has_value()) << country << " " << e.name << " " << y;
        }
        if (!d) continue;
        // Within its year, give or take an observed day across New Year.
        EXPECT_GE(*d, Days(y, 1, 1) - 1) << country << " " << e.name << " " << y;
        EXPECT_LE(*d, Days(y, 12, 31)) << country << " " << e.name << " " << y;
      }
    }
  }
  EXPECT_TRUE(CountryHolidays("XX").empty());
  EXPECT_TRUE(CountryHolidays("us").empty());  // codes are upper-case
}

// docs/configuration.md lists every built-in calendar, one table row each,
// naming every holiday of it (a day off for a weekend under its holiday's
// name); no row names a country without a calendar.
TEST(HolidaysTest, TheDocumentedTableListsEveryCalendarAndHoliday) {
  std::ifstream in(std::string(OSPREY_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md";
  std::map<std::string, std::string> rows;  // code -> the row's text
  for (std::string line; std::getline(in, line);) {
    if (line.size() > 8 && line.compare(0, 3, "| `") == 0 && line.compare(5, 4, "` | ") == 0 &&
        std::isupper(static_cast<unsigned char>(line[3])) &&
        std::isupper(static_cast<unsigned char>(line[4]))) {
      rows[line.substr(3, 2)] = line;
    }
  }
  std::set<std::string> codes;
  for (std::string_view country : HolidayCountries()) {
    const std::string code(country);
    codes.insert(code);
    ASSERT_TRUE(rows.count(code)) << code << " has no row";
    for (const CalendarEvent& e : CountryHolidays(country)) {
      std::string name = e.name;
      if (const size_t at = name.find(" (observed)"); at != std::string::npos) name.resize(at);
      EXPECT_NE(rows[code].find(name), std::string::npos) << code << ": " << name;
    }
  }
  for (const auto& [code, row] : rows) {
    // Another row of two capitals would have to be a calendar's.
    EXPECT_TRUE(codes.count(code)) << "a row for " << code << ", which has no calendar";
  }
}

TEST(HolidaysTest, AZonesCountryFollowsLinksToTheCanonicalZone) {
  auto country_of = [](std::string_view zone) -> std::string {
    Result<TimeZone> z = TimeZone::Load(zone);
    if (!z.ok()) return "unknown zone";
    return std::string(HolidayCountryOfZone(z->canonical_name()).value_or("none"));
  };
  EXPECT_EQ(country_of("America/New_York"), "US");
  EXPECT_EQ(country_of("America/Chicago"), "US");
  EXPECT_EQ(country_of("Pacific/Honolulu"), "US");
  EXPECT_EQ(country_of("US/Eastern"), "US");  // a link
  EXPECT_EQ(country_of("America/Toronto"), "CA");
  EXPECT_EQ(country_of("Europe/Berlin"), "DE");
  EXPECT_EQ(country_of("Europe/London"), "GB");
  EXPECT_EQ(country_of("Australia/Sydney"), "AU");
  EXPECT_EQ(country_of("Atlantic/Azores"), "PT");
  EXPECT_EQ(country_of("Europe/Oslo"), "NO");
  EXPECT_EQ(country_of("UTC"), "none");
  EXPECT_EQ(country_of("Asia/Tokyo"), "none");
}

}  // namespace
}  // namespace osprey::detect
