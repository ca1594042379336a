#include "osprey/detect/rules.h"

#include <algorithm>
#include <cmath>

namespace osprey::detect {
namespace {

bool Allowed(DirectionFilter f, Direction d) {
  if (f == DirectionFilter::kBoth) return true;
  return (f == DirectionFilter::kUp && d == Direction::kUp) ||
         (f == DirectionFilter::kDown && d == Direction::kDown);
}

double BreachSeverity(double sensitivity, double excess) {
  const double s = std::clamp(sensitivity, 0.0, 100.0);
  return std::clamp(s + (100 - s) * std::min(1.0, std::max(0.0, excess)), 0.0, 100.0);
}

// Relative excess of `value` beyond `limit`, in units of |limit| (or of 1
// when the limit is 0).
double Excess(double value, double limit) {
  const double unit = std::abs(limit) > 0 ? std::abs(limit) : 1.0;
  return std::abs(value - limit) / unit;
}

void Consider(RuleVerdict& best, const RuleVerdict& v) {
  if (v.fired && (!best.fired || v.severity > best.severity)) best = v;
}

}  // namespace

RuleVerdict EvaluateRules(const RuleOptions& o, double value, std::optional<double> previous) {
  RuleVerdict best;
  if (!std::isfinite(value)) return best;
  auto breach = [&](Direction d, Explanation e, double limit, double excess) {
    RuleVerdict v;
    if (!Allowed(o.direction, d)) return v;
    v.severity = BreachSeverity(o.sensitivity, excess);
    v.fired = v.severity > 0;
    v.direction = d;
    v.explanation = e;
    v.limit = limit;
    return v;
  };
  if (o.max && value > *o.max) {
    Consider(best, breach(Direction::kUp, Explanation::kThreshold, *o.max, Excess(value, *o.max)));
  }
  if (o.min && value < *o.min) {
    Consider(best, breach(Direction::kDown, Explanation::kThreshold, *o.min, Excess(value, *o.min)));
  }
  if (o.change_percent && *o.change_percent > 0 && previous && std::isfinite(*previous)) {
    const double limit = *o.change_percent;
    double change;  // percent
    if (*previous != 0) {
      change = (value - *previous) / std::abs(*previous) * 100;
    } else {
      change = value == 0 ? 0 : std::copysign(HUGE_VAL, value);
    }
    if (std::abs(change) >= limit) {
      const double excess = std::isinf(change) ? 1.0 : (std::abs(change) - limit) / limit;
      Consider(best, breach(change > 0 ? Direction::kUp : Direction::kDown, Explanation::kChange,
                            change > 0 ? limit : -limit, excess));
    }
  }
  return best;
}

Score CombineScores(const Score& model, const RuleVerdict& rules, CombineMode mode,
                    DirectionFilter direction) {
  Score out = model;
  const bool model_counts = model.ready && Allowed(direction, model.direction);
  const double model_sev = model_counts ? model.severity : 0.0;
  const double rule_sev = rules.fired ? rules.severity : 0.0;
  auto take_rule = [&]() {
    out.severity = rule_sev;
    out.anomaly = rule_sev / 100;
    out.direction = rules.direction;
    out.explanation = rules.fired ? rules.explanation : Explanation::kNone;
  };
  auto take_model = [&]() {
    out.severity = model_sev;
    if (!model_counts) {
      out.anomaly = 0;
      out.direction = Direction::kNone;
      out.explanation = Explanation::kNone;
    }
  };
  switch (mode) {
    case CombineMode::kRulesOnly: take_rule(); break;
    case CombineMode::kModelOnly: take_model(); break;
    case CombineMode::kBoth:
      if (rule_sev < model_sev) take_rule();
      else take_model();
      break;
    case CombineMode::kMax:
      if (rule_sev > model_sev) take_rule();
      else take_model();
      break;
  }
  // Rules need no warm-up: a fired rule makes the score usable.
  if (mode != CombineMode::kModelOnly && rules.fired && out.severity > 0) {
    out.ready = true;
    out.reason = {};
  }
  return out;
}

}  // namespace osprey::detect
