#include "osprey/schedule/schedule.h"

#include <gtest/gtest.h>

#include "osprey/base/cron.h"

namespace osprey::schedule {
namespace {

Instant At(const char* iso) {
  auto t = ParseInstant(iso, TimeZone::Utc());
  EXPECT_TRUE(t.ok()) << iso;
  return *t;
}

TimeZone Berlin() { return *TimeZone::Load("Europe/Berlin"); }

config::Detector Hourly(int64_t offset, std::string cron = "") {
  config::Detector d;
  d.name = "d";
  d.frequency = *Duration::Parse("PT1H");
  d.offset_seconds = offset;
  d.schedule = std::move(cron);
  return d;
}

TEST(Cron, PosixFields) {
  auto c = ParseCron("15 */6 * * MON-FRI");
  ASSERT_TRUE(c.ok()) << c.status().message();
  // 2025-01-04 is a Saturday: next firing is Monday 00:15.
  EXPECT_EQ(NextCronTime(*c, TimeZone::Utc(), At("2025-01-04T10:00:00Z")), At("2025-01-06T00:15:00Z"));
  EXPECT_EQ(NextCronTime(*c, TimeZone::Utc(), At("2025-01-06T00:15:00Z")), At("2025-01-06T00:15:00Z"));
  EXPECT_EQ(NextCronTime(*c, TimeZone::Utc(), At("2025-01-06T00:16:00Z")), At("2025-01-06T06:15:00Z"));
  auto sunday = ParseCron("0 0 * * 7");
  ASSERT_TRUE(sunday.ok());
  EXPECT_EQ(NextCronTime(*sunday, TimeZone::Utc(), At("2025-01-01T00:00:00Z")), At("2025-01-05T00:00:00Z"));
  // Day-of-month OR day-of-week when both are restricted.
  auto both = ParseCron("0 12 1 * SUN");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(NextCronTime(*both, TimeZone::Utc(), At("2025-01-02T00:00:00Z")), At("2025-01-05T12:00:00Z"));
  EXPECT_EQ(NextCronTime(*both, TimeZone::Utc(), At("2025-01-27T00:00:00Z")), At("2025-02-01T12:00:00Z"));
  auto never = ParseCron("0 0 31 2 *");
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(NextCronTime(*never, TimeZone::Utc(), At("2025-01-01T00:00:00Z")).has_value());
}

TEST(Cron, AwsForm) {
  auto c = ParseCron("cron(0 * * * ? *)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(NextCronTime(*c, TimeZone::Utc(), At("2025-03-01T10:00:01Z")), At("2025-03-01T11:00:00Z"));
  // AWS days of week: 1 = Sunday, 2 = Monday.
  auto monday = ParseCron("cron(30 6 ? * 2 *)");
  ASSERT_TRUE(monday.ok()) << monday.status().message();
  EXPECT_EQ(NextCronTime(*monday, TimeZone::Utc(), At("2025-01-01T00:00:00Z")), At("2025-01-06T06:30:00Z"));
  auto year = ParseCron("cron(0 0 1 JAN ? 2026-2027)");
  ASSERT_TRUE(year.ok()) << year.status().message();
  EXPECT_EQ(NextCronTime(*year, TimeZone::Utc(), At("2025-06-01T00:00:00Z")), At("2026-01-01T00:00:00Z"));
  EXPECT_FALSE(NextCronTime(*year, TimeZone::Utc(), At("2027-01-01T00:00:01Z")).has_value());
  EXPECT_FALSE(ParseCron("cron(0 0 1 JAN ? 2027-2026)").ok()) << "a year range runs forwards";
}

TEST(Cron, RejectsBadExpressions) {
  for (const char* bad :
       {"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *",
        "*/0 * * * *", "? * * * *", "* * ? * *", "cron(0 * * * * *)", "cron(0 * ? * ? *)",
        "cron(0 * L * ? *)", "cron(0 * * * ?)", "cron(0 * * * ? *", "x * * * *"}) {
    EXPECT_FALSE(ParseCron(bad).ok()) << bad;
  }
}

TEST(Cron, DstInBerlin) {
  // 02:30 does not exist on 2025-03-30 (02:00 -> 03:00): fires at the
  // transition. On 2025-10-26 02:30 happens twice: fires once.
  auto c = ParseCron("30 2 * * *");
  ASSERT_TRUE(c.ok());
  const TimeZone tz = Berlin();
  EXPECT_EQ(NextCronTime(*c, tz, At("2025-03-29T12:00:00Z")), At("2025-03-30T01:00:00Z"));
  EXPECT_EQ(NextCronTime(*c, tz, At("2025-10-25T12:00:00Z")), At("2025-10-26T00:30:00Z"));
  EXPECT_EQ(NextCronTime(*c, tz, At("2025-10-26T00:30:01Z")), At("2025-10-27T01:30:00Z"));
  // Local 06:00 is 05:00Z in winter and 04:00Z in summer.
  auto six = ParseCron("cron(0 6 * * ? *)");
  ASSERT_TRUE(six.ok());
  EXPECT_EQ(NextCronTime(*six, tz, At("2025-03-29T12:00:00Z")), At("2025-03-30T04:00:00Z"));
  EXPECT_EQ(NextCronTime(*six, tz, At("2025-03-28T12:00:00Z")), At("2025-03-29T05:00:00Z"));
}

TEST(Plan, DailyDetectorInBerlinHasShortAndLongDays) {
  config::Detector d = Hourly(600);
  d.frequency = *Duration::Parse("P1D");
  d.timezone = Berlin();
  auto plan = Plan::Create(d);
  ASSERT_TRUE(plan.ok());
  const Instant spring = At("2025-03-29T23:00:00Z");  // local midnight, 30 March
  EXPECT_EQ(plan->grid().Next(spring) - spring, std::chrono::hours(23));
  EXPECT_EQ(plan->DueAt(spring), At("2025-03-30T22:10:00Z"));
  const Instant autumn = At("2025-10-25T22:00:00Z");  // local midnight, 26 October
  EXPECT_EQ(plan->grid().Next(autumn) - autumn, std::chrono::hours(25));
  EXPECT_EQ(plan->DueAt(autumn), At("2025-10-26T23:10:00Z"));
  // A week of catch-up across the spring change: seven days, the 23-hour one among them.
  const Instant from = At("2025-03-26T23:00:00Z");
  const Instant end = plan->DueEnd(from, At("2025-04-03T00:00:00Z"));
  EXPECT_EQ(plan->grid().Starts(from, end).size(), 7u);
  EXPECT_EQ(end, At("2025-04-02T22:00:00Z"));
}

TEST(Plan, DefaultScheduleIsIntervalEndPlusOffset) {
  auto plan = Plan::Create(Hourly(300));
  ASSERT_TRUE(plan.ok());
  const Instant wm = At("2025-01-01T10:00:00Z");
  EXPECT_EQ(plan->DueEnd(wm, At("2025-01-01T11:04:59Z")), wm);
  EXPECT_EQ(plan->DueEnd(wm, At("2025-01-01T11:05:00Z")), At("2025-01-01T11:00:00Z"));
  // Three days down: 72 intervals are due at once, in order.
  const Instant end = plan->DueEnd(wm, At("2025-01-04T10:05:00Z"));
  EXPECT_EQ(plan->grid().Starts(wm, end).size(), 72u);
  EXPECT_EQ(DueIntervals(plan->grid(), 300, wm, At("2025-01-04T10:05:00Z")).size(), 72u);
}

TEST(Plan, CronDelaysIntervals) {
  // Hourly data read every 6 hours at :15.
  auto plan = Plan::Create(Hourly(0, "15 */6 * * *"));
  ASSERT_TRUE(plan.ok());
  const Instant wm = At("2025-01-01T00:00:00Z");
  EXPECT_EQ(plan->DueAt(wm), At("2025-01-01T06:15:00Z"));
  EXPECT_EQ(plan->DueAt(At("2025-01-01T05:00:00Z")), At("2025-01-01T06:15:00Z"));
  EXPECT_EQ(plan->DueEnd(wm, At("2025-01-01T06:14:00Z")), wm);
  EXPECT_EQ(plan->DueEnd(wm, At("2025-01-01T12:14:00Z")), At("2025-01-01T06:00:00Z"));
  EXPECT_EQ(plan->DueEnd(wm, At("2025-01-01T12:15:00Z")), At("2025-01-01T12:00:00Z"));
  EXPECT_EQ(plan->DueEnd(wm, At("2025-02-01T00:20:00Z")), At("2025-02-01T00:00:00Z"));
}

TEST(Plan, HourlyNewYorkIsDueOnTheLocalHourAcrossBoth2024Changes) {
  // A daemon ticking every 5 minutes through 2024-03-10 and 2024-11-03: the
  // intervals that fall due are exactly the grid's, each once, in order,
  // each on the local hour and due at its end + offset. (New York's offsets
  // are whole hours, so they are also exactly the UTC hours.)
  config::Detector d = Hourly(300);
  d.timezone = *TimeZone::Load("America/New_York");
  auto plan = Plan::Create(d);
  ASSERT_TRUE(plan.ok());
  const IntervalGrid& grid = plan->grid();
  for (const char* day : {"2024-03-09T00:00:00Z", "2024-11-02T00:00:00Z"}) {
    const Instant from = At(day), to = from + std::chrono::hours(72);
    Instant watermark = from;
    std::vector<Instant> due;
    for (Instant now = from; now <= to; now += std::chrono::minutes(5)) {
      const Instant end = plan->DueEnd(watermark, now);
      const std::vector<Instant> batch = DueIntervals(grid, 300, watermark, now);
      EXPECT_EQ(batch, grid.Starts(watermark, end)) << FormatIso(now);
      for (Instant s : batch) {
        EXPECT_EQ(plan->DueAt(s), grid.Next(s) + std::chrono::minutes(5));
        EXPECT_LE(*plan->DueAt(s), now);
        EXPECT_GT(*plan->DueAt(s), now - std::chrono::minutes(5)) << "due as soon as it closes";
        due.push_back(s);
      }
      watermark = end;
    }
    EXPECT_EQ(due, grid.Starts(from, watermark));
    ASSERT_EQ(due.size(), 71u) << day;  // the last one is due at 00:05 after `to`
    for (size_t i = 0; i < due.size(); ++i) {
      EXPECT_EQ(due[i], from + std::chrono::hours(i)) << day << " " << i;
      EXPECT_EQ(d.timezone.ToLocal(due[i]) % 3600, 0) << FormatIso(due[i]);
    }
  }
}

TEST(Plan, RetryBackoffDoublesAndCaps) {
  EXPECT_EQ(RetryBackoff(1).count(), 30);
  EXPECT_EQ(RetryBackoff(2).count(), 60);
  EXPECT_EQ(RetryBackoff(5).count(), 480);
  EXPECT_EQ(RetryBackoff(50).count(), 3600);
}

}  // namespace
}  // namespace osprey::schedule
