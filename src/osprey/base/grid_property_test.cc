// Property test of IntervalGrid over the installed tz database: every zone,
// 1970-2037, for the frequencies detectors use. Rather than every minute, it
// checks the intervals around every change of each zone's UTC offset (where
// a grid can go wrong) and around instants drawn with a fixed seed, against
// the rule written in time.h:
//  - contiguity: Floor maps every checked instant of [s, Next(s)) to s, and
//    Prev(Next(s)) == s;
//  - alignment: a sub-daily start's local wall time is a multiple of the
//    frequency; a calendar start is local midnight of a day, Monday or 1st
//    of a month, or the instant the clock jumped over that midnight;
//  - completeness: no instant inside an interval satisfies the rule (so the
//    repeated hour of a fall-back has its own interval), and a calendar
//    interval ends at the next day/week/month unless its midnight was
//    skipped;
//  - lengths: exactly the frequency (or the local days it spans) where the
//    offset does not change; with one change of d seconds inside or at the
//    end exactly f * (1 + j) - d, j the slot starts skipped (or minus those
//    repeated).
#include <date/tz.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "osprey/base/time.h"

namespace osprey {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kFrom = 0;         // 1970-01-01T00:00:00Z
constexpr int64_t kTo = 2145916800;  // 2038-01-01T00:00:00Z
constexpr int kRandomPerZone = 12;

int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }
Instant S(int64_t s) { return FromUnixSeconds(s); }
int64_t U(Instant t) { return ToUnixSeconds(t); }

struct Change {
  int64_t at;
  int64_t before, after;  // offsets
};

class GridChecker {
 public:
  GridChecker(const IntervalGrid& grid, const TimeZone& zone) : grid_(grid), zone_(zone) {}

  // Checks the interval starting at s; returns its end. Failures name the
  // zone, the frequency and the interval.
  Instant CheckInterval(Instant s) {
    const Instant n = grid_.Next(s);
    const std::string where =
        zone_.name() + " " + grid_.frequency().ToString() + " [" + FormatIso(s) + ", " + FormatIso(n) + ")";
    ++checked_;
    if (n <= s) {
      ADD_FAILURE() << where << ": Next does not advance";
      return s + std::chrono::seconds(1);
    }
    EXPECT_EQ(FormatIso(grid_.Floor(s)), FormatIso(s)) << where;
    EXPECT_EQ(FormatIso(grid_.Floor(n - std::chrono::seconds(1))), FormatIso(s)) << where;
    EXPECT_EQ(FormatIso(grid_.Floor(s + (n - s) / 2)), FormatIso(s)) << where;
    EXPECT_EQ(FormatIso(grid_.Prev(n)), FormatIso(s)) << where;
    EXPECT_EQ(FormatIso(grid_.Floor(n)), FormatIso(n)) << where;
    // The offset changes inside the interval or at its end.
    std::vector<Change> changes;
    for (Instant t = s;;) {
      const TimeZone::Span span = zone_.SpanAt(t);
      if (span.end > n) break;
      const int64_t after = zone_.OffsetAt(span.end);
      if (after != span.offset) changes.push_back({U(span.end), span.offset, after});
      t = span.end;
    }
    for (const Change& c : changes) {
      if (c.at == U(n)) continue;
      EXPECT_EQ(FormatIso(grid_.Floor(S(c.at))), FormatIso(s))
          << where << " change at " << FormatIso(S(c.at));
      EXPECT_EQ(FormatIso(grid_.Floor(S(c.at - 1))), FormatIso(s))
          << where << " change at " << FormatIso(S(c.at));
    }
    if (grid_.frequency().IsCalendar()) {
      CheckCalendar(s, n, changes, where);
    } else {
      CheckTimeOnly(s, n, changes, where);
    }
    return n;
  }

  // The intervals around t: the one holding it, one before, two after.
  void CheckAround(Instant t) {
    Instant s = grid_.Prev(grid_.Floor(t));
    for (int i = 0; i < 4; ++i) s = CheckInterval(s);
  }

  int64_t checked() const { return checked_; }

 private:
  void CheckTimeOnly(Instant s, Instant n, const std::vector<Change>& changes, const std::string& where) {
    const int64_t f = grid_.frequency().seconds;
    const int64_t off_s = zone_.OffsetAt(s);
    EXPECT_EQ((U(s) + off_s) % f == 0 ? 0 : 1, 0)
        << where << ": local wall time " << U(s) + off_s << " is not a multiple of " << f;
    // No instant strictly inside has a local wall time that is a multiple of f.
    for (Instant t = s + std::chrono::seconds(1); t < n;) {
      const TimeZone::Span span = zone_.SpanAt(t);
      const int64_t first = CeilDiv(U(t) + span.offset, f) * f - span.offset;
      EXPECT_GE(first, std::min(U(span.end), U(n)))
          << where << ": misses the boundary " << FormatIso(S(first));
      t = span.end;
    }
    const int64_t length = U(n) - U(s);
    if (changes.empty()) {
      EXPECT_EQ(length, f) << where;
    } else if (changes.size() == 1) {
      const Change& c = changes[0];
      const int64_t d = c.after - c.before;
      const int64_t j = CeilDiv(c.at + c.after, f) - CeilDiv(c.at + c.before, f);
      EXPECT_EQ(length, f * (1 + j) - d) << where << " change " << d;
      if (d % f == 0) {
        EXPECT_EQ(length, f) << where << ": the shift is a multiple of f";
      }
    } else {
      // Several changes within one interval: the stretch before the first
      // is at most f long (else it would hold a boundary).
      EXPECT_LE(changes.front().at - U(s), f) << where;
    }
  }

  // The label day (local days since 1970) that follows label day `day`.
  int64_t NextLabel(int64_t day) const {
    const Duration& f = grid_.frequency();
    if (f.days) return day + f.days;
    if (f.weeks) return day + 7 * f.weeks;
    const date::year_month_day ymd{date::sys_days{date::days{day}}};
    const date::year_month_day next =
        date::year_month_day{ymd.year() / ymd.month() / 1} + date::months{f.months ? f.months : 12 * f.years};
    return date::sys_days{next}.time_since_epoch().count();
  }

  bool IsLabel(int64_t day) const {
    const Duration& f = grid_.frequency();
    if (f.days) return FloorDiv(day, f.days) * f.days == day;
    if (f.weeks) return FloorDiv(day - 4, 7) * 7 + 4 == day;  // Monday
    const date::year_month_day ymd{date::sys_days{date::days{day}}};
    return ymd.day() == date::day{1};
  }

  void CheckCalendar(Instant s, Instant n, const std::vector<Change>& changes, const std::string& where) {
    const int64_t ls = zone_.ToLocal(s);
    const int64_t ds = FloorDiv(ls, kDay);
    EXPECT_TRUE(IsLabel(ds)) << where << ": starts on local day " << ds;
    const bool at_midnight = ls % kDay == 0;
    const bool midnight_skipped =
        zone_.SpanAt(s).begin == s && U(s) - 1 + zone_.OffsetAt(s - std::chrono::seconds(1)) < ds * kDay;
    EXPECT_TRUE(at_midnight || midnight_skipped) << where << ": not at local midnight";
    const int64_t ln = zone_.ToLocal(n);
    const int64_t dn = FloorDiv(ln, kDay);
    const int64_t expected = NextLabel(ds);
    if (dn != expected) {
      // Only where the clock jumped over the expected label's midnight.
      EXPECT_GT(dn, expected) << where;
      EXPECT_EQ(FormatIso(zone_.FromLocal(expected * kDay)), FormatIso(n))
          << where << ": label day " << expected;
    }
    int64_t shifts = 0;
    for (const Change& c : changes) shifts += std::abs(c.after - c.before);
    const int64_t length = U(n) - U(s);
    if (changes.empty() && at_midnight && ln % kDay == 0) {
      EXPECT_EQ(length, (dn - ds) * kDay) << where;
    } else {
      // Off the local days it spans by at most the offset changes inside,
      // plus those at either end (a start or end after a skipped midnight).
      auto jump = [&](Instant t) {
        return std::abs(zone_.OffsetAt(t) - zone_.OffsetAt(t - std::chrono::seconds(1)));
      };
      EXPECT_LE(std::abs(length - (dn - ds) * kDay), shifts + jump(s) + 2 * jump(n)) << where;
    }
  }

  const IntervalGrid& grid_;
  const TimeZone& zone_;
  int64_t checked_ = 0;
};

TEST(IntervalGridProperty, EveryZone1970To2037) {
  const char* kFrequencies[] = {"PT1M", "PT5M",  "PT15M", "PT30M", "PT1H",
                                "PT2H", "PT12H", "P1D",   "P1W",   "P1M"};
  std::mt19937_64 rng(20240310);
  std::uniform_int_distribution<int64_t> when(kFrom, kTo - 1);
  int64_t zones = 0, changes = 0, intervals = 0;
  for (const date::time_zone& z : date::get_tzdb().zones) {
    auto zone = TimeZone::Load(z.name());
    ASSERT_TRUE(zone.ok()) << z.name();
    // Every change of the UTC offset in [1970, 2038).
    std::vector<Instant> at;
    for (Instant t = S(kFrom);;) {
      const TimeZone::Span span = zone->SpanAt(t);
      if (span.end >= S(kTo)) break;
      if (zone->OffsetAt(span.end) != span.offset) at.push_back(span.end);
      t = span.end;
    }
    ++zones;
    changes += static_cast<int64_t>(at.size());
    for (const char* text : kFrequencies) {
      auto grid = IntervalGrid::Create(*Duration::Parse(text), *zone);
      ASSERT_TRUE(grid.ok());
      GridChecker check(*grid, *zone);
      for (Instant t : at) check.CheckAround(t);
      for (int i = 0; i < kRandomPerZone; ++i) check.CheckAround(S(when(rng)));
      intervals += check.checked();
      if (::testing::Test::HasFailure()) {
        FAIL() << "stopping at the first failing zone: " << z.name() << " " << text;
      }
    }
  }
  std::printf("zones %lld, offset changes %lld, intervals checked %lld\n", static_cast<long long>(zones),
              static_cast<long long>(changes), static_cast<long long>(intervals));
  EXPECT_GT(zones, 300);
  EXPECT_GT(changes, 10000);
}

}  // namespace
}  // namespace osprey
