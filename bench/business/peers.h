// The peer detectors of the business benchmark, written for it from their
// published descriptions. Each scores every point of one measure of every
// leaf series; higher is more anomalous; kNoScore while it cannot score.
//
// - RobustZ: |x - median| / (1.4826 MAD) of the same local slot (hour of the
//   day, or 5-minute slot) over the previous 14 local days; needs 7 values.
// - Stl: STL (Cleveland et al. 1990: cycle-subseries loess, low-pass, trend
//   loess; 2 inner passes, then one robustness-weighted pass), refit once a
//   day on the trailing window (hourly: weekly period 168 over 6 weeks; ops:
//   daily period 288 over 7 days, the weekly pattern left to the trend); the
//   next day is forecast as the last cycle's seasonal + the last trend value;
//   score = |residual| / (1.4826 median |residual| of the fit).
// - SeasonalIqr (ADTK SeasonalAD-like): seasonal = mean of each phase (grid
//   position modulo the period: 168 hourly, 288 ops) over the series' first
//   warm-up span; residual = x - seasonal; score = distance outside
//   [Q1, Q3] of the training residuals in IQRs (ADTK flags at c = 3).
// - Oracle: |x - true expectation| / true sd, from the generator.
// - OracleScan: the generator's expectation and sd judged as osprey's scan
//   judges its own (every window of osprey's lengths ending at the point,
//   deviating the point's way: the Gaussian tail of its sum, less osprey's
//   window penalty; and the point's own tail), less osprey's per-hour rate
//   penalty, as a severity 0-100 (default 50): how much an ideal
//   expectation would find on osprey's severity scale, where osprey's
//   expectation is learnt.
// Pure and deterministic; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "business/metric.h"
#include "osprey/testing/business_data.h"

namespace osprey::bench {

struct Peer {
  std::string name;
  double default_threshold = 0;
  MeasureScores (*score)(const testing::Dataset&, size_t measure) = nullptr;
};

MeasureScores ScoreRobustZ(const testing::Dataset& data, size_t measure);
MeasureScores ScoreStl(const testing::Dataset& data, size_t measure);
MeasureScores ScoreSeasonalIqr(const testing::Dataset& data, size_t measure);
MeasureScores ScoreOracle(const testing::Dataset& data, size_t measure);
MeasureScores ScoreOracleScan(const testing::Dataset& data, size_t measure);

// The peers with their conventional default thresholds.
std::vector<Peer> Peers();

// STL decomposition of y (no missing values) with period np: seasonal and
// trend out; seasonal window ns (odd), inner passes, robustness passes.
void StlDecompose(const std::vector<double>& y, int np, int ns, int inner, int outer,
                  std::vector<double>* seasonal, std::vector<double>* trend);

}  // namespace osprey::bench
