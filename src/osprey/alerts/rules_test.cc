#include "osprey/alerts/rules.h"

#include <gtest/gtest.h>

namespace osprey::alerts {
namespace {

constexpr int64_t kHour = 3600;

config::Alert Rule() {
  config::Alert a;
  a.name = "oncall";
  a.min_severity = 70;
  a.target_env = "URL";
  return a;
}

GroupView Group(const std::string& measure, int64_t ts, double severity,
                std::map<std::string, std::string> dims = {}) {
  return {measure, ts, severity, {{std::move(dims), severity}}};
}

// Runs the rule over hourly intervals; severities[i] < 0 means no group.
std::vector<std::string> Simulate(const config::Alert& a, const std::vector<double>& severities,
                                  bool emit = true) {
  std::map<std::string, IncidentState> states;
  std::vector<std::string> out;
  for (size_t i = 0; i < severities.size(); ++i) {
    const int64_t ts = static_cast<int64_t>(i) * kHour;
    std::vector<GroupView> groups;
    if (severities[i] >= 0) groups.push_back(Group("views", ts, severities[i]));
    for (const AlertEvent& e :
         EvaluateInterval(a, {"views", "revenue"}, ts, ts + kHour, groups, states, emit)) {
      out.push_back(std::string(EventKindName(e.kind)) + "@" + std::to_string(i) + "/" +
                    std::to_string(e.group_ts / kHour) + "/" + std::to_string(e.incident_ts / kHour));
    }
  }
  return out;
}

using V = std::vector<std::string>;

TEST(RulesTest, TriggersAboveThresholdAndResolvesWhenTheGroupIsGone) {
  EXPECT_EQ(Simulate(Rule(), {50, 80, 85, -1, 60}), (V{"trigger@1/1/1", "resolve@3/2/1"}));
}

TEST(RulesTest, MinimumDurationNeedsConsecutiveIntervals) {
  config::Alert a = Rule();
  a.min_duration = 3;
  EXPECT_EQ(Simulate(a, {80, 80, -1, 80, 80, 80, 80, -1}), (V{"trigger@5/5/3", "resolve@7/6/3"}));
}

TEST(RulesTest, ReNotifiesOnlyWhenSeverityRisesByTheMargin) {
  config::Alert a = Rule();
  a.renotify_margin = 10;
  EXPECT_EQ(Simulate(a, {75, 84, 86, 97, 99}), (V{"trigger@0/0/0", "update@2/2/0", "update@3/3/0"}));
  a.renotify_margin = 100;
  EXPECT_EQ(Simulate(a, {75, 84, 86, 97, 99}), (V{"trigger@0/0/0"}));
}

TEST(RulesTest, CooldownHoldsBackTriggersAndUpdatesButNotResolves) {
  config::Alert a = Rule();
  a.cooldown_seconds = 3 * kHour;
  // Trigger at 0 (notified at end 1h); resolve at 1; flap back at 2 (within
  // 3h of the last notification) and 3; trigger again at 3 (end 4h).
  EXPECT_EQ(Simulate(a, {80, -1, 80, 80, 95}), (V{"trigger@0/0/0", "resolve@1/0/0", "trigger@3/3/2"}));
}

TEST(RulesTest, ResolveCanBeTurnedOff) {
  config::Alert a = Rule();
  a.send_resolved = false;
  EXPECT_EQ(Simulate(a, {80, -1, 80}), (V{"trigger@0/0/0", "trigger@2/2/2"}));
}

TEST(RulesTest, WithoutEmitNothingIsSentButStreaksAreKept) {
  config::Alert a = Rule();
  a.min_duration = 2;
  EXPECT_TRUE(Simulate(a, {80, 80, 80, -1}, false).empty());
  // A streak from history carries into live evaluation.
  std::map<std::string, IncidentState> states;
  EvaluateInterval(a, {"views"}, 0, kHour, {Group("views", 0, 80)}, states, false);
  auto events = EvaluateInterval(a, {"views"}, kHour, 2 * kHour, {Group("views", kHour, 80)}, states, true);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].incident_ts, 0);
}

TEST(RulesTest, MeasureAndDimensionFilters) {
  config::Alert a = Rule();
  a.measures = {"revenue"};
  EXPECT_FALSE(MatchSeverity(a, Group("views", 0, 90)).has_value());
  EXPECT_EQ(MatchSeverity(a, Group("revenue", 0, 90)), 90);
  a.measures.clear();
  a.dimension_filter = {{"marketplace", {"US", "CA"}}};
  GroupView g{"views",
              0,
              95,
              {{{{"marketplace", "UK"}}, 95}, {{{"marketplace", "US"}, {"platform", "web"}}, 75}, {{}, 90}}};
  EXPECT_EQ(MatchSeverity(a, g), 75);  // only the US series counts; ALL does not
  a.min_severity = 80;
  EXPECT_FALSE(MatchSeverity(a, g).has_value());
}

TEST(RulesTest, StateRoundTripsThroughJson) {
  IncidentState s{4, 3600, 14400, true, 88.5, 18000};
  auto back = IncidentState::FromJson(s.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(IncidentState::FromJson("{\"v\":9}").ok());
  EXPECT_FALSE(IncidentState::FromJson("garbage").ok());
}

}  // namespace
}  // namespace osprey::alerts
