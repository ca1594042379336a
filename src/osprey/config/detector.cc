#include "osprey/config/detector.h"

#include <array>
#include <cctype>
#include <utility>

namespace osprey::config {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
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

std::optional<SourceType> ParseSourceType(std::string_view name) {
  static constexpr std::array kAll = {SourceType::kSqlite, SourceType::kPostgres,
                                      SourceType::kMysql, SourceType::kCsv};
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
  static constexpr std::array kAll = {RuleDirection::kBoth, RuleDirection::kUp,
                                      RuleDirection::kDown};
  return ParseName(name, kAll, &RuleDirectionName);
}

std::optional<size_t> FindControlCharacter(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return i;
  }
  return std::nullopt;
}

}  // namespace osprey::config
