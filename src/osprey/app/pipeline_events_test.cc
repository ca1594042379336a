// Calendar events in the pipeline, on a small generated warehouse: one hourly
// series with a daily cycle and a holiday on which it falls to 30 %. The same
// data is run with and without an event calendar; the calendar changes what
// is learnt (the days after the holiday) and what is alerted (the holiday).
#include <gtest/gtest.h>

#include <cstdio>

#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "osprey/app/demo_data.h"
#include "osprey/app/pipeline.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/source.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey::app {
namespace {

class EventsPipelineTest : public ::testing::Test {
 protected:
  static constexpr int64_t kStart = 1735689600;  // 2025-01-01T00:00:00Z, a Wednesday
  static constexpr int64_t kDays = 42;
  static constexpr int64_t kHoliday = 30;  // 2025-01-31
  static int64_t At(int64_t day, int64_t hour) { return kStart + (day * 24 + hour) * 3600; }

  void SetUp() override {
    warehouse_ = dir_.File("w.db");
    ASSERT_TRUE(testing::WriteHourlyWarehouse(warehouse_, kStart, kDays, {"v"}, [](int64_t ts, double v) {
                  // More noise than the generator's, so bands are set by learnt errors.
                  const uint64_t h = static_cast<uint64_t>(ts) * 0x9E3779B97F4A7C15ull;
                  v += static_cast<double>(h >> 40) / static_cast<double>(1ull << 24) * 80 - 40;
                  if (ts >= At(kHoliday, 0) && ts < At(kHoliday + 2, 0)) v *= 0.3;        // the holiday
                  if (ts >= At(kHoliday + 3, 9) && ts < At(kHoliday + 3, 12)) v *= 0.85;  // after it
                  if (ts >= At(kHoliday + 7, 9) && ts < At(kHoliday + 7, 12)) v *= 0.85;  // a week later
                  return v;
                }).ok());
  }

  config::Detector Detector(const std::string& tail) {
    text_ = fmt::format(
        "name: events\nfrequency: PT1H\nsource: {{type: sqlite, path: {}}}\n"
        "query: select ts as timestamp, v from t where ts >= {{{{interval_start}}}} and ts < "
        "{{{{interval_end}}}}\n"
        "measures: [{{name: v}}]\n{}",
        warehouse_, tail);
    auto d = config::LoadDetector(text_, "events.yaml");
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : config::Detector{};
  }

  struct Point {
    int64_t ts = 0;
    double expected = 0, lower = 0, upper = 0, severity = 0;
  };
  struct Result {
    std::vector<int64_t> anomalies;  // interval starts
    std::vector<Point> points;
  };

  Result RunAll(const config::Detector& d, const std::string& name) {
    auto store = std::move(store::OpenSqliteStore(dir_.File(name + ".db"))).value();
    auto source = *connectors::OpenSource(d);
    auto runner = DetectorRunner::Create(d, text_, *store, *source);
    EXPECT_TRUE(runner.ok()) << runner.status().ToString();
    Result out;
    if (!runner.ok()) return out;
    RunOptions o;
    o.chunk_intervals = 24;
    Status s = (*runner)->Run(FromUnixSeconds(kStart), FromUnixSeconds(At(kDays, 0)), o, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    store::GroupQuery q;
    q.limit = 1 << 30;
    q.newest_first = false;
    for (const auto& g : *store->ListGroups(q)) out.anomalies.push_back(g.ts);
    auto det = *store->GetDetector(d.name);
    for (const auto& series : *store->ListSeries(det.id)) {
      for (const auto& p : *store->ListPoints(series.id, 0, 1LL << 40)) {
        out.points.push_back({p.ts, p.expected.value_or(-1), p.lower.value_or(-1), p.upper.value_or(-1),
                              p.severity.value_or(-1)});
      }
    }
    return out;
  }

  // Anomalous intervals of one day.
  static int CountIn(const Result& r, int64_t day) { return Count(r.anomalies, At(day, 0), At(day + 1, 0)); }
  static int Count(const std::vector<int64_t>& v, int64_t from, int64_t to) {
    int n = 0;
    for (int64_t t : v) n += t >= from && t < to;
    return n;
  }

  testing::TempDir dir_{"osprey_events_pipeline_"};
  std::string warehouse_;
  std::string text_;
};

TEST_F(EventsPipelineTest, ACalendarChangesWhatIsLearntAndAlerted) {
  const Result plain = RunAll(Detector(""), "plain");
  const Result learn = RunAll(Detector("events: [{name: Holiday, start: 2025-01-31, end: 2025-02-02}, "
                                       "{name: Holiday, start: 2025-02-09, end: 2025-02-10}]\n"),
                              "learn");
  const Result suppress =
      RunAll(Detector("events: [{name: Holiday, start: 2025-01-31, end: 2025-02-02, effect: suppress}, "
                      "{name: Holiday, start: 2025-02-09, end: 2025-02-10, effect: suppress}]\n"),
             "suppress");
  const int64_t holiday = At(kHoliday, 0), after = At(kHoliday + 2, 0), end = At(kDays, 0);
  // On the holiday: without a calendar the dip to 30 % is an anomaly; with
  // `learn` the event's effect is not known yet (its first occurrence), so
  // it is judged against a wide relative noise and not flagged; `suppress`
  // damps it too.
  std::printf("holiday anomalies: plain %d learn %d suppress %d; day after: plain %d learn %d\n",
              Count(plain.anomalies, holiday, after), Count(learn.anomalies, holiday, after),
              Count(suppress.anomalies, holiday, after), Count(plain.anomalies, after, after + 86400),
              Count(learn.anomalies, after, after + 86400));
  EXPECT_GE(Count(plain.anomalies, holiday, after), 24);
  EXPECT_EQ(Count(learn.anomalies, holiday, after), 0);
  EXPECT_EQ(Count(suppress.anomalies, holiday, after), 0);
  // After it: the holiday was never learnt into the baseline, so the small
  // dips after it are found in full. Its effect was learnt instead: the
  // same event on day 39 (a normal day in the data) is expected at 30 % and
  // its normal values are the surprise; without the calendar day 39 is quiet.
  auto after_holiday = [&](const Result& r) {
    std::vector<int64_t> out;
    for (int64_t t : r.anomalies) {
      if (t >= after && t < end) out.push_back(t);
    }
    return out;
  };
  EXPECT_EQ(Count(learn.anomalies, At(kHoliday + 3, 9), At(kHoliday + 3, 12)), 3);
  EXPECT_EQ(Count(learn.anomalies, At(kHoliday + 7, 9), At(kHoliday + 7, 12)), 3);
  EXPECT_EQ(CountIn(plain, kHoliday + 9), 0);
  EXPECT_GE(CountIn(learn, kHoliday + 9), 12);
  // `suppress` keeps the events out of the baseline as `learn` does but
  // never expects an effect: outside the event days they agree.
  EXPECT_EQ(CountIn(suppress, kHoliday + 9), 0);
  auto outside_events = [&](const Result& r) {
    std::vector<int64_t> out;
    for (int64_t t : after_holiday(r)) {
      if (t < At(kHoliday + 9, 0) || t >= At(kHoliday + 10, 0)) out.push_back(t);
    }
    return out;
  };
  EXPECT_EQ(outside_events(suppress), outside_events(learn));
  EXPECT_EQ(Count(suppress.anomalies, kStart, holiday), Count(learn.anomalies, kStart, holiday));
}

// Built-in holidays: a detector in America/New_York that lists no events
// treats Martin Luther King Jr. Day (2025-01-20) as an event of its own
// (`holidays: auto`, the default for hourly data), so the day's fall to 30 %
// is not alerted; with `holidays: none` most of its hours are.
class BuiltInHolidaysTest : public EventsPipelineTest {
 protected:
  static constexpr int64_t kMlkDay = 19;  // local midnight in New York: 05:00 UTC
  void SetUp() override {
    warehouse_ = dir_.File("w.db");
    ASSERT_TRUE(testing::WriteHourlyWarehouse(warehouse_, kStart, kDays, {"v"}, [](int64_t ts, double v) {
                  const uint64_t h = static_cast<uint64_t>(ts) * 0x9E3779B97F4A7C15ull;
                  v += static_cast<double>(h >> 40) / static_cast<double>(1ull << 24) * 80 - 40;
                  if (ts >= At(kMlkDay, 5) && ts < At(kMlkDay + 1, 5)) v *= 0.3;
                  return v;
                }).ok());
  }
};

TEST_F(BuiltInHolidaysTest, AHolidayOfTheZonesCountryIsAnEventWithoutListingIt) {
  const Result automatic = RunAll(Detector("timezone: America/New_York\n"), "auto");
  const Result none = RunAll(Detector("timezone: America/New_York\nholidays: none\n"), "none");
  const int64_t from = At(kMlkDay, 5), to = At(kMlkDay + 1, 5);
  std::printf("holiday anomalies: auto %d, none %d\n", Count(automatic.anomalies, from, to),
              Count(none.anomalies, from, to));
  EXPECT_GE(Count(none.anomalies, from, to), 16);  // most of its 24 hours (19 measured)
  EXPECT_EQ(Count(automatic.anomalies, from, to), 0);
  // The day before is an ordinary day to both.
  EXPECT_EQ(Count(automatic.anomalies, from - 86400, from), Count(none.anomalies, from - 86400, from));
}

// A dimension-scoped event affects the series inside its scope (its value,
// and roll-ups over the dimension) and leaves every other series exactly as
// it is without the calendar.
TEST(EventsScopeTest, AScopedEventTouchesOnlyTheSeriesInItsScope) {
  testing::TempDir dir("osprey_events_scope_");
  DemoOptions o;
  o.days = 36;
  o.harder = false;
  auto w = testing::MakeDemoWarehouse(o, dir.File("warehouse.db"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  config::Detector d = w->detector;
  ASSERT_EQ(d.dimensions, (std::vector<std::string>{"platform", "marketplace"}));

  // label -> ts -> (expected, severity)
  using Points = std::map<std::string, std::map<int64_t, std::pair<double, double>>>;
  auto run = [&](const config::Detector& det, const std::string& name) {
    auto store = std::move(store::OpenSqliteStore(dir.File(name + ".db"))).value();
    auto stats = testing::Backtest(det, *store, o.start, o.start + std::chrono::hours(24 * o.days));
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    Points out;
    auto rec = *store->GetDetector(det.name);
    for (const auto& series : *store->ListSeries(rec.id)) {
      for (const auto& p : *store->ListPoints(series.id, 0, 1LL << 40)) {
        out[series.label][p.ts] = {p.expected.value_or(-1), p.severity.value_or(-1)};
      }
    }
    return out;
  };
  const Points plain = run(d, "plain");
  detect::CalendarEvent sale;
  sale.name = "UK sale";
  sale.start = o.start + std::chrono::hours(24 * 29);
  sale.end = o.start + std::chrono::hours(24 * 30);
  sale.scope = {{1, "marketplace", "uk"}};
  sale.effect = detect::EventEffect::kSuppress;
  d.events = {sale};
  const Points scoped = run(d, "scoped");

  ASSERT_EQ(plain.size(), scoped.size());
  int in_scope = 0, out_of_scope = 0, changed = 0;
  for (const auto& [label, points] : plain) {
    const bool affected = label.find("marketplace=uk}") != std::string::npos ||
                          label.find("marketplace=ALL}") != std::string::npos;
    const auto& other = scoped.at(label);
    if (!affected) {
      ++out_of_scope;
      EXPECT_EQ(points, other) << label;
      continue;
    }
    ++in_scope;
    if (points != other) ++changed;
    for (const auto& [ts, p] : other) {
      // Damped to a quarter: nothing in the sale reaches min_severity.
      if (ts >= ToUnixSeconds(sale.start) && ts < ToUnixSeconds(sale.end)) {
        EXPECT_LE(p.second, 25.0) << label << " " << ts;
      }
    }
  }
  EXPECT_EQ(out_of_scope, 2 * 6 * 4);  // views and revenue, 6 other marketplaces x (3 platforms + ALL)
  EXPECT_EQ(in_scope, 2 * 2 * 4);      // uk and ALL, x (3 platforms + ALL)
  EXPECT_EQ(changed, in_scope);        // the sale was not learnt by any of them
}

}  // namespace
}  // namespace osprey::app
