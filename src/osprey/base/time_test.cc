#include "osprey/base/time.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace osprey {
namespace {

Instant At(std::string_view iso) { return *ParseInstant(iso, TimeZone::Utc()); }

// FormatIso against date's own formatting, over the years 0000 to 9999 it
// writes digit by digit, and the years past them it leaves to fmt.
TEST(FloorDivTest, RoundsTowardsNegativeInfinity) {
  EXPECT_EQ(FloorDiv(7, 2), 3);
  EXPECT_EQ(FloorDiv(-7, 2), -4);
  EXPECT_EQ(FloorDiv(-8, 2), -4);
  EXPECT_EQ(FloorDiv(7, -2), -4);
  EXPECT_EQ(FloorDiv(-1, 86400), -1);
  EXPECT_EQ(FloorMod(-1, 86400), 86399);
  EXPECT_EQ(FloorMod(-7, 7), 0);
  EXPECT_EQ(FloorMod(7, -2), -1);
  // 1970-01-01 was a Thursday, 1969-12-29 a Monday, 2024-12-25 a Wednesday.
  EXPECT_EQ(WeekdayOfDay(0), 3);
  EXPECT_EQ(WeekdayOfDay(-3), 0);
  EXPECT_EQ(WeekdayOfDay(-4), 6);
  EXPECT_EQ(WeekdayOfDay(date::sys_days{date::year{2024} / 12 / 25}.time_since_epoch().count()), 2);
}

TEST(FormatIsoTest, WritesWhatDateFormatWrites) {
  std::vector<int64_t> cases = {
      0, -1, 86399, 951782400, 1751094000, -62167219200, 253402300799, 4102444800, -2208988800};
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    cases.push_back(-62167219200 + static_cast<int64_t>(rng() % (253402300799 + 62167219201ULL)));
  }
  for (int64_t t : cases) {
    const date::sys_seconds s{std::chrono::seconds(t)};
    EXPECT_EQ(FormatIso(FromUnixSeconds(t)), date::format("%Y-%m-%dT%H:%M:%SZ", s)) << t;
  }
  EXPECT_EQ(FormatIso(FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso(FromUnixSeconds(-62167219200)), "0000-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso(FromUnixSeconds(253402300799)), "9999-12-31T23:59:59Z");
  EXPECT_EQ(FormatIso(FromUnixSeconds(253402300800)), "10000-01-01T00:00:00Z");
}

TEST(DurationTest, ParsesCommonFrequencies) {
  EXPECT_EQ(Duration::Parse("PT5M")->seconds, 300);
  EXPECT_EQ(Duration::Parse("PT10M")->seconds, 600);
  EXPECT_EQ(Duration::Parse("PT1H")->seconds, 3600);
  EXPECT_EQ(Duration::Parse("PT1H30M")->seconds, 5400);
  EXPECT_EQ(Duration::Parse("P1D")->days, 1);
  EXPECT_EQ(Duration::Parse("P2W")->weeks, 2);
  EXPECT_EQ(Duration::Parse("P1M")->months, 1);
  EXPECT_EQ(Duration::Parse("P1Y")->years, 1);
  EXPECT_EQ(Duration::Parse("PT1H")->ToString(), "PT1H");
  EXPECT_EQ(Duration::Parse("PT90M")->ToString(), "PT1H30M");
}

TEST(DurationTest, RejectsMalformed) {
  for (const char* bad : {"", "P", "PT", "1H", "PT1", "PTH", "P1H", "PT1D", "PT0S", "PT1H1H", "P1DT", "pt1h",
                          "PT-1H", "P1.5D"}) {
    auto d = Duration::Parse(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_NE(d.status().message().find("ISO-8601"), std::string::npos) << bad;
    }
  }
}

TEST(TimeZoneTest, UnknownZoneIsAnError) {
  auto z = TimeZone::Load("Mars/Olympus_Mons");
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("Mars/Olympus_Mons"), std::string::npos);
}

TEST(IntervalGridTest, HourlyUtc) {
  auto g = *IntervalGrid::Create(*Duration::Parse("PT1H"), TimeZone::Utc());
  EXPECT_EQ(g.Floor(At("2020-10-01T05:59:59Z")), At("2020-10-01T05:00:00Z"));
  EXPECT_EQ(g.Next(At("2020-10-01T05:00:00Z")), At("2020-10-01T06:00:00Z"));
  EXPECT_EQ(g.Prev(At("2020-10-01T05:00:00Z")), At("2020-10-01T04:00:00Z"));
  EXPECT_EQ(g.Starts(At("2020-10-01T00:00:00Z"), At("2020-10-02T00:00:00Z")).size(), 24u);
}

TEST(IntervalGridTest, HourlyInHalfHourZoneStartsOnLocalHour) {
  auto kolkata = *TimeZone::Load("Asia/Kolkata");
  auto g = *IntervalGrid::Create(*Duration::Parse("PT1H"), kolkata);
  // 10:45 local = 05:15Z; the local hour began at 10:00 local = 04:30Z.
  EXPECT_EQ(g.Floor(At("2020-10-01T05:15:00Z")), At("2020-10-01T04:30:00Z"));
}

TEST(IntervalGridTest, DailyAcrossBothDstChangesInBerlin) {
  auto berlin = *TimeZone::Load("Europe/Berlin");
  auto g = *IntervalGrid::Create(*Duration::Parse("P1D"), berlin);
  // Spring forward on 2021-03-28: that local day has 23 hours.
  Instant mar28 = *ParseInstant("2021-03-28T00:00:00", berlin);
  EXPECT_EQ(mar28, At("2021-03-27T23:00:00Z"));
  EXPECT_EQ(g.Floor(At("2021-03-28T12:00:00Z")), mar28);
  Instant mar29 = g.Next(mar28);
  EXPECT_EQ(mar29, At("2021-03-28T22:00:00Z"));
  EXPECT_EQ((mar29 - mar28).count(), 23 * 3600);
  // Fall back on 2021-10-31: that local day has 25 hours.
  Instant oct31 = *ParseInstant("2021-10-31", berlin);
  EXPECT_EQ(oct31, At("2021-10-30T22:00:00Z"));
  Instant nov1 = g.Next(oct31);
  EXPECT_EQ(nov1, At("2021-10-31T23:00:00Z"));
  EXPECT_EQ((nov1 - oct31).count(), 25 * 3600);
  EXPECT_EQ(g.Prev(nov1), oct31);
  // A year of daily intervals is 365 of them, whatever DST does.
  EXPECT_EQ(g.Starts(*ParseInstant("2021-01-01", berlin), *ParseInstant("2022-01-01", berlin)).size(), 365u);
}

TEST(IntervalGridTest, HourlyAcrossDstKeepsAbsoluteHours) {
  // Every start is on the local hour (summer time included: the grid once
  // put them at hh:01 there); the repeated hour of the autumn day has two
  // intervals, the skipped hour of the spring day none.
  auto berlin = *TimeZone::Load("Europe/Berlin");
  auto g = *IntervalGrid::Create(*Duration::Parse("PT1H"), berlin);
  auto autumn = g.Starts(*ParseInstant("2021-10-31", berlin), *ParseInstant("2021-11-01", berlin));
  EXPECT_EQ(autumn.size(), 25u);
  for (size_t i = 1; i < autumn.size(); ++i) EXPECT_EQ(autumn[i] - autumn[i - 1], std::chrono::hours(1));
  for (Instant s : autumn) EXPECT_EQ(berlin.ToLocal(s) % 3600, 0) << FormatIso(s);
  EXPECT_EQ(autumn[2], At("2021-10-31T00:00:00Z"));  // 02:00 CEST
  EXPECT_EQ(autumn[3], At("2021-10-31T01:00:00Z"));  // 02:00 CET
  EXPECT_EQ(berlin.ToLocal(autumn[2]), berlin.ToLocal(autumn[3]));
  auto spring = g.Starts(*ParseInstant("2021-03-28", berlin), *ParseInstant("2021-03-29", berlin));
  ASSERT_EQ(spring.size(), 23u);
  EXPECT_EQ(spring[1], At("2021-03-28T00:00:00Z"));  // 01:00 CET
  EXPECT_EQ(spring[2], At("2021-03-28T01:00:00Z"));  // 03:00 CEST: no 02:00
  for (Instant s : spring) EXPECT_EQ(berlin.ToLocal(s) % 3600, 0) << FormatIso(s);
  EXPECT_EQ(g.Floor(At("2021-07-01T10:30:00Z")), At("2021-07-01T10:00:00Z"));
}

// "2024-03-10T01:00:00-05:00" for a start in New York.
std::string Local(Instant t, const TimeZone& zone) {
  return TimestampFormat::Parse("yyyy-MM-dd'T'HH:mm:ssXXX")->Format(t, zone);
}

TEST(IntervalGridTest, NewYorkHourlyAcrossBoth2024Changes) {
  auto ny = *TimeZone::Load("America/New_York");
  auto g = *IntervalGrid::Create(*Duration::Parse("PT1H"), ny);
  auto table = [&](const char* from, const char* to) {
    std::vector<std::string> rows;
    for (Instant s : g.Starts(At(from), At(to))) {
      rows.push_back(FormatIso(s) + "  " + Local(s, ny));
      std::printf("%s  %s  %4lld min\n", FormatIso(s).c_str(), Local(s, ny).c_str(),
                  static_cast<long long>((g.Next(s) - s).count() / 60));
    }
    return rows;
  };
  EXPECT_EQ(table("2024-03-10T04:00:00Z", "2024-03-10T10:00:00Z"),
            (std::vector<std::string>{
                "2024-03-10T04:00:00Z  2024-03-09T23:00:00-05:00",
                "2024-03-10T05:00:00Z  2024-03-10T00:00:00-05:00",
                "2024-03-10T06:00:00Z  2024-03-10T01:00:00-05:00",
                "2024-03-10T07:00:00Z  2024-03-10T03:00:00-04:00",  // no 02:00, no stub
                "2024-03-10T08:00:00Z  2024-03-10T04:00:00-04:00",
                "2024-03-10T09:00:00Z  2024-03-10T05:00:00-04:00",
            }));
  EXPECT_EQ(table("2024-11-03T03:00:00Z", "2024-11-03T09:00:00Z"),
            (std::vector<std::string>{
                "2024-11-03T03:00:00Z  2024-11-02T23:00:00-04:00",
                "2024-11-03T04:00:00Z  2024-11-03T00:00:00-04:00",
                "2024-11-03T05:00:00Z  2024-11-03T01:00:00-04:00",
                "2024-11-03T06:00:00Z  2024-11-03T01:00:00-05:00",  // the repeated hour
                "2024-11-03T07:00:00Z  2024-11-03T02:00:00-05:00",
                "2024-11-03T08:00:00Z  2024-11-03T03:00:00-05:00",
            }));
  // The local days have 23 and 25 hourly intervals, each one hour long.
  EXPECT_EQ(g.Starts(*ParseInstant("2024-03-10", ny), *ParseInstant("2024-03-11", ny)).size(), 23u);
  EXPECT_EQ(g.Starts(*ParseInstant("2024-11-03", ny), *ParseInstant("2024-11-04", ny)).size(), 25u);
  EXPECT_EQ(g.Floor(At("2024-03-10T07:00:00Z")), At("2024-03-10T07:00:00Z"));
  EXPECT_EQ(g.Floor(At("2024-11-03T05:59:59Z")), At("2024-11-03T05:00:00Z"));
  EXPECT_EQ(g.Prev(At("2024-11-03T06:00:00Z")), At("2024-11-03T05:00:00Z"));
}

TEST(IntervalGridTest, ShiftsThatAreNotAMultipleOfTheFrequency) {
  // Lord Howe Island moves its clock by 30 minutes. Hourly: the hour slot
  // whose start is skipped (02:00 in October) joins the one before, and the
  // one whose start repeats (01:30-02:00 in April) does too: 90 minutes.
  auto lh = *TimeZone::Load("Australia/Lord_Howe");
  auto h = *IntervalGrid::Create(*Duration::Parse("PT1H"), lh);
  EXPECT_EQ(h.Floor(At("2024-10-05T15:45:00Z")), At("2024-10-05T14:30:00Z"));  // 01:00 +10:30
  EXPECT_EQ(h.Next(At("2024-10-05T14:30:00Z")), At("2024-10-05T16:00:00Z"));   // 03:00 +11
  EXPECT_EQ(h.Next(At("2024-10-05T16:00:00Z")), At("2024-10-05T17:00:00Z"));
  EXPECT_EQ(h.Floor(At("2024-04-06T15:10:00Z")), At("2024-04-06T14:00:00Z"));  // 01:00 +11
  EXPECT_EQ(h.Next(At("2024-04-06T14:00:00Z")), At("2024-04-06T15:30:00Z"));   // 02:00 +10:30
  // Half-hourly: a multiple of the shift, so every interval is 30 minutes.
  auto hh = *IntervalGrid::Create(*Duration::Parse("PT30M"), lh);
  for (Instant s : hh.Starts(At("2024-10-05T12:00:00Z"), At("2024-10-05T20:00:00Z"))) {
    EXPECT_EQ(hh.Next(s) - s, std::chrono::minutes(30)) << FormatIso(s);
  }
  // PT12H on New York's one-hour change days: 11 and 13 hours, at midnight and noon.
  auto ny = *TimeZone::Load("America/New_York");
  auto twelve = *IntervalGrid::Create(*Duration::Parse("PT12H"), ny);
  EXPECT_EQ(twelve.Next(At("2024-03-10T05:00:00Z")), At("2024-03-10T16:00:00Z"));
  EXPECT_EQ(twelve.Next(At("2024-11-03T04:00:00Z")), At("2024-11-03T17:00:00Z"));
  // PT2H: the skipped 02:00 slot joins 00:00 (3 h); the repeated 01:00 hour
  // joins the 00:00 slot too (3 h).
  auto two = *IntervalGrid::Create(*Duration::Parse("PT2H"), ny);
  EXPECT_EQ(two.Next(At("2024-03-10T05:00:00Z")), At("2024-03-10T08:00:00Z"));
  EXPECT_EQ(two.Next(At("2024-11-03T04:00:00Z")), At("2024-11-03T07:00:00Z"));
  // Liberia left local mean time (-00:44:30) on 1972-01-07: the hour of the
  // change is 75.5 minutes, then hours are on the hour of UTC.
  auto monrovia = *TimeZone::Load("Africa/Monrovia");
  auto m = *IntervalGrid::Create(*Duration::Parse("PT1H"), monrovia);
  EXPECT_EQ(m.Floor(At("1972-01-07T00:50:00Z")), At("1972-01-06T23:44:30Z"));
  EXPECT_EQ(m.Next(At("1972-01-06T23:44:30Z")), At("1972-01-07T01:00:00Z"));
  EXPECT_EQ(m.Prev(At("1972-01-07T01:00:00Z")), At("1972-01-06T23:44:30Z"));
}

TEST(IntervalGridTest, SeasonalLagIsTheSameLocalTimeWholeDaysBack) {
  auto ny = *TimeZone::Load("America/New_York");
  auto g = *IntervalGrid::Create(*Duration::Parse("PT1H"), ny);
  auto local = [&](std::optional<Instant> t) { return t ? Local(*t, ny) : "none"; };
  // 24 hourly intervals back is the same local hour yesterday, across both changes.
  EXPECT_EQ(local(g.SeasonalLag(*ParseInstant("2024-03-11T09:00", ny), 24)), "2024-03-10T09:00:00-04:00");
  EXPECT_EQ(local(g.SeasonalLag(*ParseInstant("2024-03-10T09:00", ny), 24)), "2024-03-09T09:00:00-05:00");
  EXPECT_EQ(local(g.SeasonalLag(*ParseInstant("2024-11-03T09:00", ny), 24)), "2024-11-02T09:00:00-04:00");
  EXPECT_EQ(local(g.SeasonalLag(*ParseInstant("2024-11-04T09:00", ny), 24)), "2024-11-03T09:00:00-05:00");
  // ... and 168 the same local hour last week.
  EXPECT_EQ(local(g.SeasonalLag(*ParseInstant("2024-03-14T09:00", ny), 168)), "2024-03-07T09:00:00-05:00");
  // Both passes of the repeated hour look back to yesterday's 01:00; the
  // day after, 01:00 looks back to the first pass.
  EXPECT_EQ(local(g.SeasonalLag(At("2024-11-03T05:00:00Z"), 24)), "2024-11-02T01:00:00-04:00");
  EXPECT_EQ(local(g.SeasonalLag(At("2024-11-03T06:00:00Z"), 24)), "2024-11-02T01:00:00-04:00");
  EXPECT_EQ(local(g.SeasonalLag(At("2024-11-04T06:00:00Z"), 24)), "2024-11-03T01:00:00-04:00");
  // The day after spring-forward, 02:00 has no same hour yesterday (nor a week after).
  EXPECT_EQ(local(g.SeasonalLag(*ParseInstant("2024-03-11T02:00", ny), 24)), "none");
  EXPECT_EQ(local(g.SeasonalLag(*ParseInstant("2024-03-17T02:00", ny), 168)), "none");
  EXPECT_EQ(local(g.SeasonalLag(*ParseInstant("2024-03-11T03:00", ny), 24)), "2024-03-10T03:00:00-04:00");
  // Not whole days: grid steps.
  EXPECT_EQ(local(g.SeasonalLag(At("2024-03-10T08:00:00Z"), 3)), "2024-03-10T00:00:00-05:00");
  EXPECT_EQ(local(g.SeasonalLag(At("2024-07-01T08:00:00Z"), 5)), "2024-06-30T23:00:00-04:00");
  auto month = *IntervalGrid::Create(*Duration::Parse("P1M"), ny);
  EXPECT_EQ(local(month.SeasonalLag(*ParseInstant("2024-04-01", ny), 12)), "2023-04-01T00:00:00-04:00");
  auto day = *IntervalGrid::Create(*Duration::Parse("P1D"), ny);
  EXPECT_EQ(local(day.SeasonalLag(*ParseInstant("2024-03-12", ny), 7)), "2024-03-05T00:00:00-05:00");
}

TEST(IntervalGridTest, WeeklyStartsMondayAndMonthlyOnFirst) {
  auto w = *IntervalGrid::Create(*Duration::Parse("P1W"), TimeZone::Utc());
  EXPECT_EQ(w.Floor(At("2020-10-01T12:00:00Z")), At("2020-09-28T00:00:00Z"));  // a Monday
  EXPECT_EQ(w.Next(At("2020-09-28T00:00:00Z")), At("2020-10-05T00:00:00Z"));
  auto m = *IntervalGrid::Create(*Duration::Parse("P1M"), TimeZone::Utc());
  EXPECT_EQ(m.Floor(At("2020-02-29T12:00:00Z")), At("2020-02-01T00:00:00Z"));
  EXPECT_EQ(m.Next(At("2020-12-01T00:00:00Z")), At("2021-01-01T00:00:00Z"));
  EXPECT_EQ(m.Prev(At("2021-01-01T00:00:00Z")), At("2020-12-01T00:00:00Z"));
}

TEST(IntervalGridTest, RejectsTooShortAndMixed) {
  EXPECT_FALSE(IntervalGrid::Create(*Duration::Parse("PT30S"), TimeZone::Utc()).ok());
  EXPECT_FALSE(IntervalGrid::Create(*Duration::Parse("P1DT1H"), TimeZone::Utc()).ok());
}

TEST(TimestampFormatTest, L4MPattern) {
  auto f = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss");
  EXPECT_EQ(*f.ParseValue("2020-10-01 05:00:00", TimeZone::Utc()), At("2020-10-01T05:00:00Z"));
  auto berlin = *TimeZone::Load("Europe/Berlin");
  EXPECT_EQ(*f.ParseValue("2020-10-01 05:00:00", berlin), At("2020-10-01T03:00:00Z"));
  EXPECT_EQ(f.Format(At("2020-10-01T03:00:00Z"), berlin), "2020-10-01 05:00:00");
  EXPECT_FALSE(f.ParseValue("2020-10-01T05:00:00", TimeZone::Utc()).ok());
  EXPECT_FALSE(f.ParseValue("2020-13-01 05:00:00", TimeZone::Utc()).ok());
  EXPECT_FALSE(f.ParseValue("2020-02-30 05:00:00", TimeZone::Utc()).ok());
  EXPECT_FALSE(f.ParseValue("2020-10-01 05:00:00x", TimeZone::Utc()).ok());
}

TEST(TimestampFormatTest, QuotedLiteralOffsetAndKeywords) {
  auto f = *TimestampFormat::Parse("yyyy-MM-dd'T'HH:mm:ssXXX");
  EXPECT_EQ(*f.ParseValue("2020-10-01T05:00:00+02:00", TimeZone::Utc()), At("2020-10-01T03:00:00Z"));
  EXPECT_EQ(*f.ParseValue("2020-10-01T05:00:00Z", TimeZone::Utc()), At("2020-10-01T05:00:00Z"));
  auto e = *TimestampFormat::Parse("epoch");
  EXPECT_EQ(*e.ParseValue("1601528400", TimeZone::Utc()), At("2020-10-01T05:00:00Z"));
  auto ms = *TimestampFormat::Parse("epoch_millis");
  EXPECT_EQ(*ms.ParseValue("1601528400123", TimeZone::Utc()), At("2020-10-01T05:00:00Z"));
  auto iso = *TimestampFormat::Parse("iso8601");
  EXPECT_EQ(*iso.ParseValue("2020-10-01T07:00:00+02:00", TimeZone::Utc()), At("2020-10-01T05:00:00Z"));
}

// An integer read as an epoch without its text: what ParseValue makes of
// the text, or nullopt where ParseValue fails (and for other formats).
TEST(TimestampFormatTest, EpochValueIsParseValueOfTheNumbersText) {
  const int64_t values[] = {0,
                            1,
                            -1,
                            1601528400,
                            -62167219200,
                            -62167219201,
                            253402300799,
                            253402300800,
                            1601528400123,
                            -1601528400123,
                            999'999'999'999'999'999,
                            -999'999'999'999'999'999,
                            1'000'000'000'000'000'000,
                            -1'000'000'000'000'000'000,
                            std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min()};
  for (const char* pattern : {"epoch", "epoch_millis"}) {
    const TimestampFormat f = *TimestampFormat::Parse(pattern);
    for (int64_t v : values) {
      const Result<Instant> parsed = f.ParseValue(std::to_string(v), TimeZone::Utc());
      const std::optional<Instant> direct = f.EpochValue(v);
      ASSERT_EQ(direct.has_value(), parsed.ok()) << pattern << " " << v;
      if (direct) {
        EXPECT_EQ(*direct, *parsed) << pattern << " " << v;
      }
    }
  }
  EXPECT_FALSE(TimestampFormat::Parse("iso8601")->EpochValue(1601528400).has_value());
  EXPECT_FALSE(TimestampFormat::Parse("yyyyMMddHH")->EpochValue(2020100105).has_value());
}

TEST(TimestampFormatTest, RejectsInstantsBeyondYear9999) {
  // They could not be printed back as four-digit years (found by fuzz/timestamp_fuzz.cc).
  EXPECT_FALSE(TimestampFormat::Parse("epoch")->ParseValue("99999999999999999", TimeZone::Utc()).ok());
  EXPECT_TRUE(TimestampFormat::Parse("epoch")->ParseValue("253402300799", TimeZone::Utc()).ok());
  auto f = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ssXXX");
  EXPECT_FALSE(f.ParseValue("9999-12-31 23:59:59-01:00", TimeZone::Utc()).ok());
  EXPECT_FALSE(f.ParseValue("0000-01-01 00:00:00+01:00", TimeZone::Utc()).ok());
  EXPECT_FALSE(ParseInstant("9999-12-31T23:00:00-02:00", TimeZone::Utc()).ok());
  EXPECT_TRUE(ParseInstant("9999-12-31T23:00:00Z", TimeZone::Utc()).ok());
  // A pattern's value is printed back in the zone: it must fit there too.
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok());
  EXPECT_FALSE(f.ParseValue("9999-12-30 23:59:59-23:59", *berlin).ok());
  EXPECT_TRUE(f.ParseValue("9999-12-30 23:59:59-23:59", TimeZone::Utc()).ok());
  EXPECT_TRUE(f.ParseValue("9999-12-31 20:00:00+00:00", *berlin).ok());
}

TEST(TimestampFormatTest, PatternsThatCannotWriteTheirValuesBackAreRefused) {
  // Found by fuzz/timestamp_fuzz.cc: '1010-09-30T10:00-01' is 01:10 UTC,
  // which 'yyyy-MM-dd'T'mm:ssX' writes as '1010-09-30T10:00Z' (00:10).
  for (const char* p :
       {"yyyy-MM-dd'T'mm:ssX", "yyyy-MM-dd ss", "yyyy-MM-dd HH:mm SSS", "yyyy-MM-ddXXX", "yyyy-MM-dd HHX"}) {
    auto f = TimestampFormat::Parse(p);
    ASSERT_FALSE(f.ok()) << p;
    EXPECT_NE(f.status().message().find(p), std::string::npos) << f.status().message();
  }
  for (const char* p : {"yyyy-MM-dd", "yyyy-MM-dd HH", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"}) {
    EXPECT_TRUE(TimestampFormat::Parse(p).ok()) << p;
  }
}

TEST(TimestampFormatTest, OffsetWithSecondsFormatsTheSameInstant) {
  // Berlin's local mean time before 1893 is +00:53:28; +hh:mm cannot carry the seconds.
  auto f = *TimestampFormat::Parse("yyyy-MM-dd'T'HH:mm:ssXXX");
  auto berlin = *TimeZone::Load("Europe/Berlin");
  const Instant t = At("1850-06-01T12:00:00Z");
  EXPECT_EQ(f.Format(t, berlin), "1850-06-01T12:53:00+00:53");
  EXPECT_EQ(*f.ParseValue(f.Format(t, berlin), berlin), t);
}

TEST(TimestampFormatTest, RejectsUnsupportedPatterns) {
  EXPECT_FALSE(TimestampFormat::Parse("yyyy-MM-dd QQ").ok());
  EXPECT_FALSE(TimestampFormat::Parse("HH:mm").ok());
  EXPECT_FALSE(TimestampFormat::Parse("yyyy-MM-dd 'T").ok());
  EXPECT_FALSE(TimestampFormat::Parse("yy-MM-dd").ok());
}

}  // namespace
}  // namespace osprey
