#include "osprey/alerts/silence.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "osprey/rca/codec.h"

namespace osprey::alerts {
namespace {

// Whether `slice` (dimension -> value) fixes every matcher to its value.
bool Inside(const std::map<std::string, std::string>& slice,
            const std::map<std::string, std::string>& matchers) {
  for (const auto& [dim, value] : matchers) {
    auto it = slice.find(dim);
    if (it == slice.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace

Result<std::map<std::string, std::string>> ParseSilenceMatchers(std::string_view json_text) {
  const nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object()) {
    return InvalidArgument("matchers: expected an object of dimension name -> value");
  }
  std::map<std::string, std::string> out;
  for (const auto& [dim, value] : j.items()) {
    if (dim.empty()) return InvalidArgument("matchers: a dimension name is empty");
    if (!value.is_string() || value.get<std::string>().empty()) {
      return InvalidArgument(fmt::format("matchers.{}: expected a non-empty string value", dim));
    }
    out[dim] = value.get<std::string>();
  }
  return out;
}

bool SilenceMatches(const store::SilenceRecord& s, const store::GroupRecord& g,
                    const std::vector<store::AnomalyRecord>& anomalies) {
  if (!s.detector.empty() && s.detector != g.detector) return false;
  if (!s.measure.empty() && s.measure != g.measure) return false;
  Result<std::map<std::string, std::string>> matchers = ParseSilenceMatchers(s.matchers);
  if (!matchers.ok()) return false;  // stored through validation; a corrupt row matches nothing
  if (matchers->empty()) return true;
  Result<std::vector<rca::CauseElement>> causes = rca::DecodeRootCauses(g.root_causes);
  if (causes.ok() && !causes->empty()) {
    for (const rca::CauseElement& c : *causes) {
      if (!Inside(c.element, *matchers)) return false;
    }
    return true;
  }
  if (anomalies.empty()) return false;
  for (const store::AnomalyRecord& a : anomalies) {
    const nlohmann::json dims = nlohmann::json::parse(a.dims, nullptr, false);
    if (!dims.is_object()) return false;
    std::map<std::string, std::string> slice;
    for (const auto& [dim, value] : dims.items()) {
      if (value.is_string()) slice[dim] = value.get<std::string>();
    }
    if (!Inside(slice, *matchers)) return false;
  }
  return true;
}

}  // namespace osprey::alerts
