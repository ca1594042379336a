#include "osprey/config/detector.h"

#include <array>
#include <cctype>
#include <utility>

namespace osprey::config {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

template <typename E, size_t N>
std::optional<E> ParseName(std::string_view name, const std::array<E, N>& all,
                           std::string_view (*to_name)(E)) {
  for (E e : all) {
    if (EqualsIgnoreCase(name, to_name(e))) return e;
  }
  return std::nullopt;
}

}  // namespace

std::string_view SourceTypeName(SourceType t) {
  switch (t) {
    case SourceType::kSqlite: return "sqlite";
    case SourceType::kPostgres: return "postgres";
    case SourceType::kMysql: return "mysql";
    case SourceType::kCsv: return "csv";
  }
  return "unknown";
}

std::string_view AggregationName(Aggregation a) {
  switch (a) {
    case Aggregation::kSum: return "SUM";
    case Aggregation::kAvg: return "AVG";
    case Aggregation::kCount: return "COUNT";
    case Aggregation::kMin: return "MIN";
    case Aggregation::kMax: return "MAX";
  }
  return "unknown";
}

std::vector<std::string> AlertTypes(const Alert& a) {
  std::vector<std::string> on;
  if (a.on_anomaly) on.push_back("anomaly");
  if (a.no_data_after > 0) on.push_back("no_data");
  if (a.on_failing) on.push_back("failing");
  return on;
}

std::string_view AlertDestinationName(AlertDestination d) {
  switch (d) {
    case AlertDestination::kWebhook: return "webhook";
    case AlertDestination::kSlack: return "slack";
    case AlertDestination::kPagerDuty: return "pagerduty";
    case AlertDestination::kAlertmanager: return "alertmanager";
    case AlertDestination::kCommand: return "command";
  }
  return "unknown";
}

std::string_view RuleDirectionName(RuleDirection d) {
  switch (d) {
    case RuleDirection::kBoth: return "both";
    case RuleDirection::kUp: return "up";
    case RuleDirection::kDown: return "down";
  }
  return "unknown";
}

std::string_view RuleCombineName(RuleCombine c) {
  switch (c) {
    case RuleCombine::kMax: return "max";
    case RuleCombine::kRulesOnly: return "rules_only";
    case RuleCombine::kModelOnly: return "model_only";
    case RuleCombine::kBoth: return "both";
  }
  return "unknown";
}

std::string_view MissingPolicyName(MissingPolicy p) {
  switch (p) {
    case MissingPolicy::kSkip: return "skip";
    case MissingPolicy::kZero: return "zero";
    case MissingPolicy::kPrevious: return "previous";
  }
  return "unknown";
}

std::optional<SourceType> ParseSourceType(std::string_view name) {
  static constexpr std::array kAll = {SourceType::kSqlite, SourceType::kPostgres, SourceType::kMysql,
                                      SourceType::kCsv};
  return ParseName(name, kAll, &SourceTypeName);
}

std::optional<Aggregation> ParseAggregation(std::string_view name) {
  static constexpr std::array kAll = {Aggregation::kSum, Aggregation::kAvg, Aggregation::kCount,
                                      Aggregation::kMin, Aggregation::kMax};
  return ParseName(name, kAll, &AggregationName);
}

std::optional<AlertDestination> ParseAlertDestination(std::string_view name) {
  static constexpr std::array kAll = {AlertDestination::kWebhook, AlertDestination::kSlack,
                                      AlertDestination::kPagerDuty, AlertDestination::kAlertmanager,
                                      AlertDestination::kCommand};
  return ParseName(name, kAll, &AlertDestinationName);
}

std::optional<RuleDirection> ParseRuleDirection(std::string_view name) {
  static constexpr std::array kAll = {RuleDirection::kBoth, RuleDirection::kUp, RuleDirection::kDown};
  return ParseName(name, kAll, &RuleDirectionName);
}

std::optional<MissingPolicy> ParseMissingPolicy(std::string_view name) {
  static constexpr std::array kAll = {MissingPolicy::kSkip, MissingPolicy::kZero, MissingPolicy::kPrevious};
  return ParseName(name, kAll, &MissingPolicyName);
}

std::optional<RuleCombine> ParseRuleCombine(std::string_view name) {
  static constexpr std::array kAll = {RuleCombine::kMax, RuleCombine::kRulesOnly, RuleCombine::kModelOnly,
                                      RuleCombine::kBoth};
  return ParseName(name, kAll, &RuleCombineName);
}

Rules MergeRules(const Rules& base, const Rules& over) {
  Rules out = base;
  if (over.min) out.min = over.min;
  if (over.max) out.max = over.max;
  if (over.change_percent) out.change_percent = over.change_percent;
  if (over.change_intervals) out.change_intervals = over.change_intervals;
  if (over.direction) out.direction = over.direction;
  if (over.sensitivity) out.sensitivity = over.sensitivity;
  if (over.combine) out.combine = over.combine;
  return out;
}

const TimeZone& SourceZone(const Detector& d) {
  return d.timestamp_timezone ? *d.timestamp_timezone : d.timezone;
}

Rules EffectiveRules(const Detector& d, size_t measure) {
  return MergeRules(d.rules, d.measures.at(measure).rules);
}

double ModelSensitivity(const Detector& d, size_t measure) {
  return d.measures.at(measure).sensitivity.value_or(d.sensitivity);
}

std::optional<size_t> FindControlCharacter(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return i;
  }
  return std::nullopt;
}

std::optional<size_t> FindMeasure(const Detector& d, std::string_view name) {
  for (size_t i = 0; i < d.measures.size(); ++i) {
    if (d.measures[i].name == name) return i;
  }
  return std::nullopt;
}

}  // namespace osprey::config
