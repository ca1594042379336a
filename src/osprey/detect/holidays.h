// Built-in holiday calendars: the public holidays (and the days around them
// that move business metrics: Christmas Eve, New Year's Eve, Black Friday)
// of a country, as yearly calendar events, so that a detector whose user
// lists no events still treats those days apart from normal behaviour.
// A detector's `holidays` setting picks the calendar: `auto` (the default)
// takes the country of its time zone, a country code names one, `none`
// turns it off (docs/configuration.md, "holidays"). Pure: no IO.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "osprey/base/time.h"
#include "osprey/detect/events.h"

namespace osprey::detect {

// The ISO 3166-1 alpha-2 codes with a built-in calendar, in a fixed order.
std::span<const std::string_view> HolidayCountries();

// The code of the country with a built-in calendar that `code` names, in
// any case ("us" -> "US"); nullopt for any other text.
std::optional<std::string_view> HolidayCountryCode(std::string_view code);

// The holidays of a country (upper-case code, as HolidayCountries lists it)
// as yearly rules with effect `learn`, national days only (no regional
// ones); empty for a country without a built-in calendar.
std::vector<CalendarEvent> CountryHolidays(std::string_view country);

// The country with a built-in calendar that a time zone's canonical tz name
// (TimeZone::canonical_name) belongs to, as the tz database's zone.tab
// assigns it ("America/Chicago" -> "US"); nullopt for any other zone (UTC
// included).
std::optional<std::string_view> HolidayCountryOfZone(std::string_view canonical_zone);

// The country a detector's `holidays: auto` picks: its zone's (above) when
// its intervals are an hour or longer, else none. Intervals under an hour
// are mostly systems' metrics (requests, errors, latency), which a public
// holiday moves less than business activity, while treating the day as an
// event of unknown effect costs the detection of every anomaly on it
// (bench/business/README.md, "Built-in holidays").
std::optional<std::string_view> AutoHolidayCountry(const TimeZone& zone, int64_t interval_seconds);

}  // namespace osprey::detect
