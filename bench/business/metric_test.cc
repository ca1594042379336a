// The event metric on hand-made data: hits, false-alarm runs (missing points
// are transparent, anomalies and the hour after them are excused, a run
// counts once per day block), the exact threshold sweep, and incidents at
// their root-cause roll-up node.
#include "business/metric.h"

#include <gtest/gtest.h>

#include <cmath>

#include "business/osprey_runner.h"

namespace osprey::bench {
namespace {

using testing::Anomaly;
using testing::AnomalyKind;
using testing::Dataset;

// One measure, `series` leaves of 3 days of hourly points, warm-up 24 points.
Dataset Tiny(int series) {
  Dataset d;
  d.interval_seconds = 3600;
  d.measures = {{"orders", testing::MeasureKind::kCount, -1}};
  for (int64_t t = 0; t < 72; ++t) {
    d.times.push_back(t * 3600);
    d.local_times.push_back(t * 3600);
  }
  d.warmup_points = 24;
  for (int s = 0; s < series; ++s) {
    testing::LeafSeries leaf;
    leaf.dims = {"s" + std::to_string(s)};
    testing::MeasureData m;
    m.value.assign(72, 1.0);
    m.expected.assign(72, 1.0);
    m.sd.assign(72, 1.0);
    leaf.measures.push_back(m);
    d.series.push_back(leaf);
  }
  return d;
}

Anomaly Labelled(AnomalyKind kind, std::vector<int> series, int64_t begin, int64_t end) {
  Anomaly a;
  a.kind = kind;
  a.series = std::move(series);
  a.begin = begin;
  a.end = end;
  a.labelled = {true};
  a.effect_z = {9};
  return a;
}

TEST(BusinessMetricTest, HitsRunsAndExcuses) {
  Dataset d = Tiny(2);
  d.anomalies.push_back(Labelled(AnomalyKind::kDip, {0}, 30, 34));
  d.anomalies.push_back(Labelled(AnomalyKind::kIncident, {0, 1}, 50, 52));
  Anomaly unlabelled = Labelled(AnomalyKind::kSpike, {1}, 40, 41);
  unlabelled.labelled = {false};
  d.anomalies.push_back(unlabelled);
  MeasureScores scores(2, std::vector<double>(72, 0.0));
  scores[0][10] = 9;  // warm-up: not scored
  scores[0][33] = 9;  // hits the dip
  scores[0][34] = 9;  // the hour after the dip: excused
  scores[0][35] = 9;  // a false run: 35, (36 missing), 37
  d.series[0].measures[0].value[36] = std::nullopt;
  scores[0][36] = 9;  // a score on a missing row never counts
  scores[0][37] = 9;
  scores[1][40] = 9;  // the unlabelled spike: neither hit nor false alarm
  scores[1][51] = 9;  // hits the incident through its second leaf
  scores[1][46] = 9;  // a run across the day boundary at 48 counts twice
  scores[1][47] = 9;
  scores[1][48] = 9;
  const EventCounts c = EvaluateAt(d, 0, scores, 5);
  EXPECT_EQ(c.events, 2);
  EXPECT_EQ(c.found, 2);
  EXPECT_EQ(c.found_by_kind[static_cast<size_t>(AnomalyKind::kDip)], 1);
  EXPECT_EQ(c.found_by_kind[static_cast<size_t>(AnomalyKind::kIncident)], 1);
  EXPECT_EQ(c.false_runs, 3);
  EXPECT_DOUBLE_EQ(c.f1, 4.0 / 7.0);
  // Nothing flagged: no hit, no false alarm.
  const EventCounts none = EvaluateAt(d, 0, scores, 10);
  EXPECT_EQ(none.found, 0);
  EXPECT_EQ(none.false_runs, 0);
  EXPECT_EQ(none.f1, 0.0);
}

TEST(BusinessMetricTest, FlaggingEverythingCostsOneAlarmPerSeriesPerDay) {
  Dataset d = Tiny(3);
  d.anomalies.push_back(Labelled(AnomalyKind::kSpike, {0}, 30, 31));
  const MeasureScores scores(3, std::vector<double>(72, 1.0));
  const EventCounts c = EvaluateAt(d, 0, scores, 0.5);
  EXPECT_EQ(c.found, 1);
  // Series 0: day 1 split by the spike (2 runs) + day 2; series 1 and 2: 2 each.
  EXPECT_EQ(c.false_runs, 7);
}

// The sweep's best F1 equals the best F1 of a direct evaluation at every
// distinct score.
TEST(BusinessMetricTest, SweepMatchesDirectEvaluation) {
  Dataset d = Tiny(4);
  d.anomalies.push_back(Labelled(AnomalyKind::kDip, {0}, 30, 36));
  d.anomalies.push_back(Labelled(AnomalyKind::kSpike, {2}, 60, 61));
  d.anomalies.push_back(Labelled(AnomalyKind::kIncident, {1, 3}, 40, 44));
  MeasureScores scores(4, std::vector<double>(72));
  uint64_t x = 12345;
  std::vector<double> distinct;
  for (auto& row : scores) {
    for (double& v : row) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      v = static_cast<double>((x >> 33) % 40) / 4.0;
      distinct.push_back(v);
    }
  }
  scores[0][31] = 12;
  scores[2][60] = 11;
  scores[3][45] = kNoScore;
  d.series[1].measures[0].value[50] = std::nullopt;
  double best = 0;
  for (double t : distinct) best = std::max(best, EvaluateAt(d, 0, scores, t).f1);
  for (double t : {11.0, 12.0}) best = std::max(best, EvaluateAt(d, 0, scores, t).f1);
  const EventCounts swept = EvaluateBest(d, 0, scores);
  EXPECT_DOUBLE_EQ(swept.f1, best);
  EXPECT_GT(best, 0.0);
}

// Clean flags: points outside anomalies (and the hour after them), with a
// row, after the warm-up, per hour of those points' data.
TEST(BusinessMetricTest, CleanFlagsCountOnlyCleanScoredPoints) {
  Dataset d = Tiny(2);
  d.anomalies.push_back(Labelled(AnomalyKind::kDip, {0}, 30, 34));
  MeasureScores scores(2, std::vector<double>(72, 0.0));
  scores[0][10] = 60;  // warm-up: not counted
  scores[0][31] = 60;  // in the dip: not clean
  scores[0][34] = 60;  // the hour after it: excused
  scores[0][40] = 60;  // clean, counted at 20 and 50
  scores[1][41] = 25;  // clean, counted at 20 only
  scores[1][42] = 60;  // no row: not counted
  d.series[1].measures[0].value[42] = std::nullopt;
  scores[1][43] = kNoScore;  // not scored: neither a flag nor a point
  // Clean scored points: series 0 has 48 - 5 (dip and the hour after),
  // series 1 has 48 - 2; hourly, so one hour each.
  const std::vector<double> rates = CleanFlagsPerHour(d, 0, scores, {20, 50});
  ASSERT_EQ(rates.size(), 2u);
  EXPECT_DOUBLE_EQ(rates[0], 2.0 / 89.0);
  EXPECT_DOUBLE_EQ(rates[1], 1.0 / 89.0);
  // Five-minute points are a twelfth of an hour each.
  d.interval_seconds = 300;
  d.anomalies.clear();
  const std::vector<double> fine = CleanFlagsPerHour(d, 0, scores, {50});
  EXPECT_DOUBLE_EQ(fine[0], 3.0 / (94.0 / 12.0));
}

// Incidents at their root-cause node: region "a" of two regions x two
// categories. Found where that node (not another, not a leaf) reaches the
// threshold during the incident; the roll-ups' clean flags count points of
// the nodes above the leaves outside every anomaly on any of their leaves.
TEST(BusinessMetricTest, IncidentsAreJudgedAtTheirRootCauseNode) {
  Dataset d = Tiny(4);
  d.dimensions = {"region", "category"};
  d.series[0].dims = {"a", "x"};
  d.series[1].dims = {"a", "y"};
  d.series[2].dims = {"b", "x"};
  d.series[3].dims = {"b", "y"};
  Anomaly incident = Labelled(AnomalyKind::kIncident, {0, 1}, 30, 36);
  incident.root_cause = {{0, "a"}};
  d.anomalies.push_back(incident);
  Anomaly other = Labelled(AnomalyKind::kIncident, {2, 3}, 50, 52);
  other.root_cause = {{0, "b"}};
  d.anomalies.push_back(other);
  const std::vector<RollupNode> nodes = RollupLattice(d);
  ASSERT_EQ(nodes.size(), 9u);  // the total, two regions, two categories, four leaves
  auto node = [&](unsigned mask, std::vector<std::string> dims) {
    for (size_t k = 0; k < nodes.size(); ++k) {
      if (nodes[k].mask == mask && nodes[k].dims == dims) return k;
    }
    ADD_FAILURE() << "no node";
    return size_t{0};
  };
  MeasureScores scores(nodes.size(), std::vector<double>(72, 0.0));
  scores[node(1, {"a", ""})][33] = 60;   // found at its node
  scores[node(1, {"b", ""})][51] = 40;   // below the threshold: not found
  scores[node(3, {"b", "x"})][51] = 90;  // a leaf of it: not its node
  scores[node(0, {"", ""})][33] = 90;    // during an anomaly of its leaves: not clean
  scores[node(2, {"", "x"})][60] = 70;   // clean: counted
  scores[node(3, {"a", "y"})][61] = 70;  // a leaf: not a roll-up
  const NodeIncidentCounts c = EvaluateIncidentsAtNodes(d, 0, nodes, scores, 50);
  EXPECT_EQ(c.incidents, 2);
  EXPECT_EQ(c.found, 1);
  EXPECT_EQ(c.clean_flags, 1);
  // Clean roll-up hours after the warm-up (48 each): the total loses the
  // two incidents and the hour after each (7 + 3), region a 7, region b 3,
  // each category 7 + 3.
  EXPECT_DOUBLE_EQ(c.clean_node_hours, (48 - 10) + (48 - 7) + (48 - 3) + 2 * (48 - 10));
  EXPECT_DOUBLE_EQ(c.CleanFlagsPerNodeHour(), 1.0 / c.clean_node_hours);
  // Counts of several datasets add up.
  NodeIncidentCounts twice = c;
  twice.Add(c);
  EXPECT_EQ(twice.found, 2);
  EXPECT_DOUBLE_EQ(twice.CleanFlagsPerNodeHour(), c.CleanFlagsPerNodeHour());
}

}  // namespace
}  // namespace osprey::bench
