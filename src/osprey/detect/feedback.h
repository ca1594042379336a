// Feedback: what people said about past anomalies, applied to new scores.
// Pure: the pipeline loads the verdicts from the store and passes them in.
//
// The rule (docs/alerts.md, "Feedback"): a new point of a series is
// "similar" to an anomaly someone judged when it deviates in the same
// direction and its deviation |value - expected| is within ±30 % of the judged
// anomaly's deviation. Among the similar verdicts of the series, the latest
// decides: "not relevant" multiplies the severity by 0.25 (a 100 becomes 25,
// below the default anomaly and alert thresholds); "relevant" leaves it as
// it is. Larger or smaller deviations, or the other direction, are unaffected.
#pragma once

#include <vector>

#include "osprey/detect/model.h"

namespace osprey::detect {

struct Verdict {
  bool relevant = false;
  Direction direction = Direction::kNone;
  double deviation = 0;  // value - expected of the judged anomaly
};

inline constexpr double kSimilarTolerance = 0.30;
inline constexpr double kNotRelevantFactor = 0.25;

// Whether a deviation `deviation` in `direction` is similar to `v`.
bool IsSimilar(const Verdict& v, Direction direction, double deviation);

// The severity of `score` after the series' verdicts (oldest first).
double ApplyFeedback(const Score& score, const std::vector<Verdict>& verdicts);

}  // namespace osprey::detect
