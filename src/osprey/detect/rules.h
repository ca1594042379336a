// Rule detectors that sit beside the model: hard thresholds (min / max), a
// change threshold (% against the value N intervals back), a direction
// filter (up, down, both) and a sensitivity 0-100, plus the ways to combine
// the rules' verdict with the model's Score (max severity, rules only, model
// only, or both required).
//
// Pure functions over plain values: the caller passes the current value and
// the value `change_intervals` back (it keeps that history; a missing
// interval is nullopt and disables the change rule for this point).
// Thread-safe: no state.
//
// Severity of a breach: sensitivity + (100 - sensitivity) * min(1, excess),
// where `excess` is how far beyond the limit the value is, relative to the
// limit (|value - max| / |max|, or for a change rule (|change %| - limit %) /
// limit %). So at the default sensitivity 50 a bare breach has severity 50
// and one twice the limit has 100; at 100 every breach is 100; at 0 only a
// breach twice the limit reaches 100 and a bare one scores 0 (not fired).
#pragma once

#include <optional>

#include "osprey/detect/model.h"

namespace osprey::detect {

enum class DirectionFilter { kBoth = 0, kUp, kDown };

struct RuleOptions {
  std::optional<double> min;  // a value below min is a breach (down)
  std::optional<double> max;  // a value above max is a breach (up)
  // A change of at least this many percent against the value
  // `change_intervals` back is a breach (its sign gives the direction).
  std::optional<double> change_percent;
  int change_intervals = 1;
  DirectionFilter direction = DirectionFilter::kBoth;  // applies to rules and model
  double sensitivity = 50;                             // 0-100, see the header comment
};

struct RuleVerdict {
  bool fired = false;
  double severity = 0;  // 0-100
  Direction direction = Direction::kNone;
  Explanation explanation = Explanation::kNone;  // kThreshold or kChange
  double limit = 0;  // the bound that was crossed (value units, or % for a change)
};

// Evaluates every configured rule on `value`; the strongest breach wins.
// A rule whose direction is filtered out never fires. `previous` is the value
// change_intervals back (nullopt: unknown, the change rule is skipped).
RuleVerdict EvaluateRules(const RuleOptions& options, double value, std::optional<double> previous);

enum class CombineMode {
  kMax = 0,    // the larger severity of model and rules (default)
  kRulesOnly,  // rules alone decide; the model's band is kept for display
  kModelOnly,  // the model alone (rules ignored)
  kBoth,       // both must flag: the smaller severity
};

// Merges the model's score with the rules' verdict. The model's severity
// counts only when its direction passes `direction`. A model score that is
// not ready contributes nothing, but rules still fire (no warm-up needed).
// The result's explanation and direction come from the side that won.
Score CombineScores(const Score& model, const RuleVerdict& rules, CombineMode mode,
                    DirectionFilter direction);

}  // namespace osprey::detect
