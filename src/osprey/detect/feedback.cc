#include "osprey/detect/feedback.h"

#include <cmath>

namespace osprey::detect {

bool IsSimilar(const Verdict& v, Direction direction, double deviation) {
  if (direction == Direction::kNone || direction != v.direction) return false;
  const double judged = std::fabs(v.deviation);
  if (judged <= 0) return false;
  const double ratio = std::fabs(deviation) / judged;
  return ratio >= 1 - kSimilarTolerance && ratio <= 1 + kSimilarTolerance;
}

double ApplyFeedback(const Score& score, const std::vector<Verdict>& verdicts) {
  if (!score.ready) return score.severity;
  const double deviation = score.value - score.expected;
  for (auto it = verdicts.rbegin(); it != verdicts.rend(); ++it) {
    if (!IsSimilar(*it, score.direction, deviation)) continue;
    return it->relevant ? score.severity : score.severity * kNotRelevantFactor;
  }
  return score.severity;
}

}  // namespace osprey::detect
