#include "osprey/rca/codec.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace osprey::rca {
namespace {

using nlohmann::json;

Result<json> Parse(std::string_view text, bool object, std::string_view what) {
  if (text.empty()) return object ? json::object() : json::array();
  json j = json::parse(text, nullptr, false);
  if (object ? !j.is_object() : !j.is_array()) {
    return DataLoss(fmt::format("stored {} are not a JSON {}", what, object ? "object" : "array"));
  }
  return j;
}

double Number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string Text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string EncodeContributions(const std::vector<DimensionShares>& contributions) {
  json out = json::object();
  for (const DimensionShares& d : contributions) {
    json values = json::array();
    for (const ValueShare& v : d.values) {
      values.push_back(
          {{"value", v.value}, {"share", v.share}, {"actual", v.actual}, {"expected", v.expected}});
    }
    out[d.dimension] = std::move(values);
  }
  return out.dump();
}

std::string EncodeRootCauses(const std::vector<CauseElement>& causes) {
  json out = json::array();
  for (const CauseElement& c : causes) {
    json element = json::object();
    for (const auto& [k, v] : c.element) element[k] = v;
    json j = {{"element", element}, {"share", c.share}, {"score", c.score}};
    if (c.ratio) {
      j["ratio"] = {{"numerator", c.ratio->numerator},
                    {"denominator", c.ratio->denominator},
                    {"numerator_actual", c.ratio->numerator_actual},
                    {"numerator_expected", c.ratio->numerator_expected},
                    {"denominator_actual", c.ratio->denominator_actual},
                    {"denominator_expected", c.ratio->denominator_expected}};
    }
    out.push_back(std::move(j));
  }
  return out.dump();
}

std::string EncodeRelated(const std::vector<RelatedMeasure>& related) {
  json out = json::array();
  for (const RelatedMeasure& r : related) {
    out.push_back({{"measure", r.measure},
                   {"relation", r.relation},
                   {"deviation_pct", r.deviation_pct},
                   {"incident_start", r.incident_start}});
  }
  return out.dump();
}

Result<std::vector<DimensionShares>> DecodeContributions(std::string_view text) {
  OSPREY_ASSIGN_OR_RETURN(json j, Parse(text, true, "contributions"));
  std::vector<DimensionShares> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    DimensionShares d;
    d.dimension = it.key();
    if (!it.value().is_array()) return DataLoss("stored contributions are corrupt");
    for (const json& v : it.value()) {
      if (!v.is_object()) return DataLoss("stored contributions are corrupt");
      d.values.push_back({Text(v, "value"), Number(v, "share"), Number(v, "actual"), Number(v, "expected")});
    }
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<CauseElement>> DecodeRootCauses(std::string_view text) {
  OSPREY_ASSIGN_OR_RETURN(json j, Parse(text, false, "root causes"));
  std::vector<CauseElement> out;
  for (const json& c : j) {
    auto element = c.is_object() ? c.find("element") : c.end();
    if (!c.is_object() || element == c.end() || !element->is_object()) {
      return DataLoss("stored root causes are corrupt");
    }
    CauseElement e;
    for (auto it = element->begin(); it != element->end(); ++it) {
      if (!it.value().is_string()) return DataLoss("stored root causes are corrupt");
      e.element[it.key()] = it.value().get<std::string>();
    }
    e.share = Number(c, "share");
    e.score = Number(c, "score");
    if (auto r = c.find("ratio"); r != c.end() && r->is_object()) {
      e.ratio = RatioSides{Text(*r, "numerator"),
                           Text(*r, "denominator"),
                           Number(*r, "numerator_actual"),
                           Number(*r, "numerator_expected"),
                           Number(*r, "denominator_actual"),
                           Number(*r, "denominator_expected")};
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<RelatedMeasure>> DecodeRelated(std::string_view text) {
  OSPREY_ASSIGN_OR_RETURN(json j, Parse(text, false, "related measures"));
  std::vector<RelatedMeasure> out;
  for (const json& r : j) {
    if (!r.is_object()) return DataLoss("stored related measures are corrupt");
    out.push_back(
        {Text(r, "measure"), Text(r, "relation"), Number(r, "deviation_pct"), Text(r, "incident_start")});
  }
  return out;
}

std::string RatioSidesText(const RatioSides& sides) {
  auto change = [](double actual, double expected) {
    return expected != 0 ? fmt::format("{:+.1f} %", 100 * (actual - expected) / std::abs(expected))
                         : std::string("new");
  };
  return fmt::format("{} {}, {} {}", sides.numerator,
                     change(sides.numerator_actual, sides.numerator_expected), sides.denominator,
                     change(sides.denominator_actual, sides.denominator_expected));
}

std::string ElementText(const CauseElement& cause, std::string_view join) {
  std::string out;
  for (const auto& [k, v] : cause.element) {
    if (!out.empty()) out += join;
    out += k + "=" + v;
  }
  return out.empty() ? "ALL" : out;
}

}  // namespace osprey::rca
