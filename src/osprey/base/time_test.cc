#include "osprey/base/time.h"

#include <gtest/gtest.h>

namespace osprey {
namespace {

Instant At(std::string_view iso) { return *ParseInstant(iso, TimeZone::Utc()); }

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
  for (const char* bad : {"", "P", "PT", "1H", "PT1", "PTH", "P1H", "PT1D", "PT0S", "PT1H1H",
                          "P1DT", "pt1h", "PT-1H", "P1.5D"}) {
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
  EXPECT_EQ(g.Starts(*ParseInstant("2021-01-01", berlin), *ParseInstant("2022-01-01", berlin)).size(),
            365u);
}

TEST(IntervalGridTest, HourlyAcrossDstKeepsAbsoluteHours) {
  auto berlin = *TimeZone::Load("Europe/Berlin");
  auto g = *IntervalGrid::Create(*Duration::Parse("PT1H"), berlin);
  auto starts = g.Starts(*ParseInstant("2021-10-31", berlin), *ParseInstant("2021-11-01", berlin));
  EXPECT_EQ(starts.size(), 25u);
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

TEST(TimestampFormatTest, RejectsInstantsBeyondYear9999) {
  // They could not be printed back as four-digit years (found by fuzz/timestamp_fuzz.cc).
  EXPECT_FALSE(TimestampFormat::Parse("epoch")->ParseValue("99999999999999999", TimeZone::Utc()).ok());
  EXPECT_TRUE(TimestampFormat::Parse("epoch")->ParseValue("253402300799", TimeZone::Utc()).ok());
  auto f = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ssXXX");
  EXPECT_FALSE(f.ParseValue("9999-12-31 23:59:59-01:00", TimeZone::Utc()).ok());
  EXPECT_FALSE(f.ParseValue("0000-01-01 00:00:00+01:00", TimeZone::Utc()).ok());
  EXPECT_FALSE(ParseInstant("9999-12-31T23:00:00-02:00", TimeZone::Utc()).ok());
  EXPECT_TRUE(ParseInstant("9999-12-31T23:00:00Z", TimeZone::Utc()).ok());
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
