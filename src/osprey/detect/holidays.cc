#include "osprey/detect/holidays.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace osprey::detect {
namespace {

constexpr int kMon = 0, kThu = 3, kFri = 4, kSat = 5;

// One rule of a built-in calendar, in the fields of CalendarEvent.
struct Rule {
  std::string_view name;
  EventRecurrence recurrence;
  int month = 0, day = 0, weekday = 0, nth = 0, easter_days = 0, offset_days = 0;
  int observed_saturday = 0, observed_sunday = 0;
  int from_day = 1;
};

constexpr Rule Date(std::string_view name, int month, int day) {
  return {name, EventRecurrence::kFixedDate, month, day};
}
constexpr Rule Nth(std::string_view name, int month, int weekday, int nth, int offset_days = 0) {
  return {name, EventRecurrence::kNthWeekday, month, 0, weekday, nth, 0, offset_days};
}
// The first such weekday on or after month-day (Midsummer Eve: the Friday
// between June 19 and 25).
constexpr Rule FirstFrom(std::string_view name, int month, int day, int weekday) {
  return {name, EventRecurrence::kNthWeekday, month, 0, weekday, 1, 0, 0, 0, 0, day};
}
constexpr Rule Easter(std::string_view name, int days) {
  return {name, EventRecurrence::kEaster, 0, 0, 0, 0, days};
}
// The day off for a date on a weekend: `saturday` / `sunday` days from it.
constexpr Rule Observed(std::string_view name, int month, int day, int saturday, int sunday) {
  return {name, EventRecurrence::kFixedDate, month, day, 0, 0, 0, 0, saturday, sunday};
}

// Shared days. A substitute Monday for a date on Saturday is two days on; two
// holidays in a row on a weekend (Christmas and Boxing Day) take the Monday
// and the Tuesday, so each moves two days from either weekend day.
constexpr Rule kNewYear = Date("New Year's Day", 1, 1);
constexpr Rule kNewYearMonday = Observed("New Year's Day (observed)", 1, 1, 2, 1);
constexpr Rule kEpiphany = Date("Epiphany", 1, 6);
constexpr Rule kMaundyThursday = Easter("Maundy Thursday", -3);
constexpr Rule kGoodFriday = Easter("Good Friday", -2);
constexpr Rule kEasterSaturday = Easter("Easter Saturday", -1);
constexpr Rule kEasterSunday = Easter("Easter Sunday", 0);
constexpr Rule kEasterMonday = Easter("Easter Monday", 1);
constexpr Rule kLabourDay = Date("Labour Day", 5, 1);
constexpr Rule kAscension = Easter("Ascension Day", 39);
constexpr Rule kWhitSunday = Easter("Whit Sunday", 49);
constexpr Rule kWhitMonday = Easter("Whit Monday", 50);
constexpr Rule kCorpusChristi = Easter("Corpus Christi", 60);
constexpr Rule kAssumption = Date("Assumption Day", 8, 15);
constexpr Rule kAllSaints = Date("All Saints' Day", 11, 1);
constexpr Rule kArmistice = Date("Armistice Day", 11, 11);
constexpr Rule kImmaculate = Date("Immaculate Conception", 12, 8);
constexpr Rule kBlackFriday = Nth("Black Friday", 11, kThu, 4, 1);  // the day after US Thanksgiving
constexpr Rule kChristmasEve = Date("Christmas Eve", 12, 24);
constexpr Rule kChristmas = Date("Christmas Day", 12, 25);
constexpr Rule kChristmasPair = Observed("Christmas Day (observed)", 12, 25, 2, 2);
constexpr Rule kBoxingDay = Date("Boxing Day", 12, 26);
constexpr Rule kBoxingPair = Observed("Boxing Day (observed)", 12, 26, 2, 2);
constexpr Rule kStStephen = Date("St Stephen's Day", 12, 26);
constexpr Rule kNewYearsEve = Date("New Year's Eve", 12, 31);

struct Country {
  std::string_view code;
  std::vector<Rule> rules;
  std::vector<std::string_view> zones;  // canonical tz names, as zone.tab assigns them
};

const std::vector<Country>& Countries() {
  static const std::vector<Country> kCountries = {
      {"US",
       {kNewYear,
        Observed("New Year's Day (observed)", 1, 1, -1, 1),
        Nth("Martin Luther King Jr. Day", 1, kMon, 3),
        Nth("Presidents' Day", 2, kMon, 3),
        kEasterSunday,
        Nth("Memorial Day", 5, kMon, -1),
        Date("Juneteenth", 6, 19),
        Observed("Juneteenth (observed)", 6, 19, -1, 1),
        Date("Independence Day", 7, 4),
        Observed("Independence Day (observed)", 7, 4, -1, 1),
        Nth("Labor Day", 9, kMon, 1),
        Nth("Columbus Day", 10, kMon, 2),
        Date("Veterans Day", 11, 11),
        Observed("Veterans Day (observed)", 11, 11, -1, 1),
        Nth("Thanksgiving", 11, kThu, 4),
        kBlackFriday,
        Nth("Cyber Monday", 11, kThu, 4, 4),
        kChristmasEve,
        kChristmas,
        Observed("Christmas Day (observed)", 12, 25, -1, 1),
        kNewYearsEve},
       {"America/New_York",
        "America/Detroit",
        "America/Kentucky/Louisville",
        "America/Kentucky/Monticello",
        "America/Indiana/Indianapolis",
        "America/Indiana/Vincennes",
        "America/Indiana/Winamac",
        "America/Indiana/Marengo",
        "America/Indiana/Petersburg",
        "America/Indiana/Vevay",
        "America/Chicago",
        "America/Indiana/Tell_City",
        "America/Indiana/Knox",
        "America/Menominee",
        "America/North_Dakota/Center",
        "America/North_Dakota/New_Salem",
        "America/North_Dakota/Beulah",
        "America/Denver",
        "America/Boise",
        "America/Phoenix",
        "America/Los_Angeles",
        "America/Anchorage",
        "America/Juneau",
        "America/Sitka",
        "America/Metlakatla",
        "America/Yakutat",
        "America/Nome",
        "America/Adak",
        "Pacific/Honolulu"}},
      {"CA",
       {kNewYear, kNewYearMonday, Nth("Family Day", 2, kMon, 3), kGoodFriday,
        // The Monday before May 25: the last Monday of May, a week earlier.
        Nth("Victoria Day", 5, kMon, -1, -7), Date("Canada Day", 7, 1),
        Observed("Canada Day (observed)", 7, 1, 2, 1), Nth("Civic Holiday", 8, kMon, 1),
        Nth("Labour Day", 9, kMon, 1), Nth("Thanksgiving", 10, kMon, 2), Date("Remembrance Day", 11, 11),
        kBlackFriday, kChristmasEve, kChristmas, kChristmasPair, kBoxingDay, kBoxingPair, kNewYearsEve},
       {"America/St_Johns",   "America/Halifax",       "America/Glace_Bay",    "America/Moncton",
        "America/Goose_Bay",  "America/Blanc-Sablon",  "America/Toronto",      "America/Iqaluit",
        "America/Atikokan",   "America/Winnipeg",      "America/Resolute",     "America/Rankin_Inlet",
        "America/Regina",     "America/Swift_Current", "America/Edmonton",     "America/Cambridge_Bay",
        "America/Inuvik",     "America/Creston",       "America/Dawson_Creek", "America/Fort_Nelson",
        "America/Whitehorse", "America/Dawson",        "America/Vancouver"}},
      {"GB",
       {kNewYear, kNewYearMonday, kGoodFriday, kEasterMonday, Nth("Early May Bank Holiday", 5, kMon, 1),
        Nth("Spring Bank Holiday", 5, kMon, -1), Nth("Summer Bank Holiday", 8, kMon, -1), kBlackFriday,
        kChristmasEve, kChristmas, kChristmasPair, kBoxingDay, kBoxingPair, kNewYearsEve},
       {"Europe/London"}},
      {"IE",
       {kNewYear, Date("St Patrick's Day", 3, 17), Observed("St Patrick's Day (observed)", 3, 17, 2, 1),
        kEasterMonday, Nth("May Bank Holiday", 5, kMon, 1), Nth("June Bank Holiday", 6, kMon, 1),
        Nth("August Bank Holiday", 8, kMon, 1), Nth("October Bank Holiday", 10, kMon, -1), kChristmasEve,
        kChristmas, kStStephen, kNewYearsEve},
       {"Europe/Dublin"}},
      {"DE",
       {kNewYear, kGoodFriday, kEasterSunday, kEasterMonday, kLabourDay, kAscension, kWhitMonday,
        Date("German Unity Day", 10, 3), kChristmasEve, kChristmas, Date("Second Day of Christmas", 12, 26),
        kNewYearsEve},
       {"Europe/Berlin", "Europe/Busingen"}},
      {"AT",
       {kNewYear, kEpiphany, kEasterMonday, kLabourDay, kAscension, kWhitMonday, kCorpusChristi, kAssumption,
        Date("National Day", 10, 26), kAllSaints, kImmaculate, kChristmasEve, kChristmas, kStStephen,
        kNewYearsEve},
       {"Europe/Vienna"}},
      {"CH",
       {kNewYear, kGoodFriday, kEasterMonday, kAscension, kWhitMonday, Date("Swiss National Day", 8, 1),
        kChristmasEve, kChristmas, kStStephen, kNewYearsEve},
       {"Europe/Zurich"}},
      {"FR",
       {kNewYear, kEasterMonday, kLabourDay, Date("Victory in Europe Day", 5, 8), kAscension, kWhitMonday,
        Date("Bastille Day", 7, 14), kAssumption, kAllSaints, kArmistice, kChristmasEve, kChristmas,
        kNewYearsEve},
       {"Europe/Paris"}},
      {"BE",
       {kNewYear, kEasterMonday, kLabourDay, kAscension, kWhitMonday, Date("Belgian National Day", 7, 21),
        kAssumption, kAllSaints, kArmistice, kChristmasEve, kChristmas, kNewYearsEve},
       {"Europe/Brussels"}},
      {"NL",
       {kNewYear, kGoodFriday, kEasterSunday, kEasterMonday, Date("King's Day", 4, 27),
        // On a Sunday King's Day is kept on the Saturday before.
        Observed("King's Day (observed)", 4, 27, 0, -1), Date("Liberation Day", 5, 5), kAscension,
        kWhitSunday, kWhitMonday, kChristmasEve, kChristmas, Date("Second Day of Christmas", 12, 26),
        kNewYearsEve},
       {"Europe/Amsterdam"}},
      {"IT",
       {kNewYear, kEpiphany, kEasterSunday, kEasterMonday, Date("Liberation Day", 4, 25), kLabourDay,
        Date("Republic Day", 6, 2), kAssumption, kAllSaints, kImmaculate, kChristmasEve, kChristmas,
        kStStephen, kNewYearsEve},
       {"Europe/Rome"}},
      {"ES",
       {kNewYear, kEpiphany, kMaundyThursday, kGoodFriday, kLabourDay, kAssumption,
        Date("National Day", 10, 12), kAllSaints, Date("Constitution Day", 12, 6), kImmaculate, kChristmasEve,
        kChristmas, kNewYearsEve},
       {"Europe/Madrid", "Africa/Ceuta", "Atlantic/Canary"}},
      {"PL",
       {kNewYear, kEpiphany, kEasterSunday, kEasterMonday, kLabourDay, Date("Constitution Day", 5, 3),
        kWhitSunday, kCorpusChristi, kAssumption, kAllSaints, Date("Independence Day", 11, 11), kChristmasEve,
        kChristmas, Date("Second Day of Christmas", 12, 26), kNewYearsEve},
       {"Europe/Warsaw"}},
      {"PT",
       {kNewYear, kGoodFriday, kEasterSunday, Date("Freedom Day", 4, 25), kLabourDay, kCorpusChristi,
        Date("Portugal Day", 6, 10), kAssumption, Date("Republic Day", 10, 5), kAllSaints,
        Date("Restoration of Independence", 12, 1), kImmaculate, kChristmasEve, kChristmas, kNewYearsEve},
       {"Europe/Lisbon", "Atlantic/Madeira", "Atlantic/Azores"}},
      {"DK",
       {kNewYear, kMaundyThursday, kGoodFriday, kEasterSunday, kEasterMonday, kAscension, kWhitSunday,
        kWhitMonday, Date("Constitution Day", 6, 5), kChristmasEve, kChristmas,
        Date("Second Day of Christmas", 12, 26), kNewYearsEve},
       {"Europe/Copenhagen"}},
      {"NO",
       {kNewYear, kMaundyThursday, kGoodFriday, kEasterSunday, kEasterMonday, kLabourDay,
        Date("Constitution Day", 5, 17), kAscension, kWhitSunday, kWhitMonday, kChristmasEve, kChristmas,
        Date("Second Day of Christmas", 12, 26), kNewYearsEve},
       {"Europe/Oslo"}},
      {"SE",
       {kNewYear, kEpiphany, kGoodFriday, kEasterSunday, kEasterMonday, Date("May Day", 5, 1), kAscension,
        kWhitSunday, Date("National Day", 6, 6), FirstFrom("Midsummer Eve", 6, 19, kFri),
        FirstFrom("Midsummer Day", 6, 20, kSat), FirstFrom("All Saints' Day", 10, 31, kSat), kChristmasEve,
        kChristmas, Date("Second Day of Christmas", 12, 26), kNewYearsEve},
       {"Europe/Stockholm"}},
      {"FI",
       {kNewYear, kEpiphany, kGoodFriday, kEasterSunday, kEasterMonday, Date("May Day", 5, 1), kAscension,
        kWhitSunday, FirstFrom("Midsummer Eve", 6, 19, kFri), FirstFrom("Midsummer Day", 6, 20, kSat),
        FirstFrom("All Saints' Day", 10, 31, kSat), Date("Independence Day", 12, 6), kChristmasEve,
        kChristmas, kBoxingDay, kNewYearsEve},
       {"Europe/Helsinki"}},
      {"AU",
       {kNewYear, kNewYearMonday, Date("Australia Day", 1, 26),
        Observed("Australia Day (observed)", 1, 26, 2, 1), kGoodFriday, kEasterSaturday, kEasterSunday,
        kEasterMonday, Date("Anzac Day", 4, 25), Nth("King's Birthday", 6, kMon, 2), kChristmasEve,
        kChristmas, kChristmasPair, kBoxingDay, kBoxingPair, kNewYearsEve},
       {"Australia/Lord_Howe", "Antarctica/Macquarie", "Australia/Hobart", "Australia/Melbourne",
        "Australia/Sydney", "Australia/Broken_Hill", "Australia/Brisbane", "Australia/Lindeman",
        "Australia/Adelaide", "Australia/Darwin", "Australia/Perth", "Australia/Eucla"}},
      {"NZ",
       {kNewYear, Observed("New Year's Day (observed)", 1, 1, 2, 2), Date("Day after New Year's Day", 1, 2),
        Observed("Day after New Year's Day (observed)", 1, 2, 2, 2), Date("Waitangi Day", 2, 6),
        Observed("Waitangi Day (observed)", 2, 6, 2, 1), kGoodFriday, kEasterMonday, Date("Anzac Day", 4, 25),
        Observed("Anzac Day (observed)", 4, 25, 2, 1), Nth("King's Birthday", 6, kMon, 1),
        Nth("Labour Day", 10, kMon, 4), kChristmas, kChristmasPair, kBoxingDay, kBoxingPair},
       {"Pacific/Auckland", "Pacific/Chatham"}},
  };
  return kCountries;
}

}  // namespace

std::span<const std::string_view> HolidayCountries() {
  static const std::vector<std::string_view> kCodes = [] {
    std::vector<std::string_view> out;
    for (const Country& c : Countries()) out.push_back(c.code);
    return out;
  }();
  return kCodes;
}

std::optional<std::string_view> HolidayCountryCode(std::string_view code) {
  if (code.size() != 2) return std::nullopt;
  const auto upper = [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); };
  for (const Country& c : Countries()) {
    if (c.code[0] == upper(code[0]) && c.code[1] == upper(code[1])) return c.code;
  }
  return std::nullopt;
}

std::vector<CalendarEvent> CountryHolidays(std::string_view country) {
  std::vector<CalendarEvent> out;
  for (const Country& c : Countries()) {
    if (c.code != country) continue;
    for (const Rule& r : c.rules) {
      CalendarEvent e;
      e.name = std::string(r.name);
      e.recurrence = r.recurrence;
      e.month = r.month;
      e.day = r.day;
      e.weekday = r.weekday;
      e.nth = r.nth;
      e.easter_days = r.easter_days;
      e.offset_days = r.offset_days;
      e.observed_saturday = r.observed_saturday;
      e.observed_sunday = r.observed_sunday;
      e.from_day = r.from_day;
      e.effect = EventEffect::kLearn;
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::optional<std::string_view> HolidayCountryOfZone(std::string_view canonical_zone) {
  for (const Country& c : Countries()) {
    if (std::find(c.zones.begin(), c.zones.end(), canonical_zone) != c.zones.end()) return c.code;
  }
  return std::nullopt;
}

std::optional<std::string_view> AutoHolidayCountry(const TimeZone& zone, int64_t interval_seconds) {
  if (interval_seconds < 3600) return std::nullopt;
  return HolidayCountryOfZone(zone.canonical_name());
}

}  // namespace osprey::detect
