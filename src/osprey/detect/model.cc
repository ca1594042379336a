#include "osprey/detect/model.h"

#include "osprey/detect/business_model.h"

namespace osprey::detect {

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kUp: return "up";
    case Direction::kDown: return "down";
    case Direction::kNone: break;
  }
  return "none";
}

std::string_view ExplanationName(Explanation e) {
  switch (e) {
    case Explanation::kSpike: return "spike";
    case Explanation::kDip: return "dip";
    case Explanation::kLevelShift: return "level_shift";
    case Explanation::kTrendChange: return "trend_change";
    case Explanation::kSeasonalityBreak: return "seasonality_break";
    case Explanation::kThreshold: return "threshold";
    case Explanation::kChange: return "change";
    case Explanation::kSustained: return "sustained";
    case Explanation::kNone: break;
  }
  return "none";
}

uint32_t EventId(std::string_view name) {
  uint32_t h = 2166136261u;
  for (unsigned char c : name) {
    h ^= c;
    h *= 16777619u;
  }
  return h == 0 ? 1 : h;
}

Result<std::unique_ptr<Model>> CreateModel(const ModelOptions& options) {
  return BusinessModel::Create(options);
}

Result<std::unique_ptr<Model>> RestoreModel(const ModelOptions& options, std::string_view state) {
  return BusinessModel::Restore(options, state);
}

Status RestoreModelInto(const ModelOptions& options, std::string_view state, std::unique_ptr<Model>* model) {
  return BusinessModel::RestoreInto(options, state, model);
}

}  // namespace osprey::detect
