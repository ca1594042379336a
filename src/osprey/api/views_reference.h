// The tests' reference for the JSON the lists write directly: an anomaly
// group and a list page built as a nlohmann::json tree, member by member,
// with the stored JSON parsed (the way GroupJson and the list replies were
// written before AppendGroupJson). Include it from tests only.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "osprey/base/time.h"
#include "osprey/store/store.h"

namespace osprey::api::reference {

inline nlohmann::json StoredJson(const std::string& text, nlohmann::json fallback) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

inline nlohmann::json GroupTree(const store::GroupRecord& g) {
  using nlohmann::json;
  auto iso = [](int64_t ts) { return FormatIso(FromUnixSeconds(ts)); };
  return {{"id", g.id},
          {"detector", g.detector},
          {"measure", g.measure},
          {"interval_start", iso(g.ts)},
          {"interval_end", iso(g.end_ts)},
          {"severity", g.severity},
          {"anomaly_count", g.anomaly_count},
          {"contributions", StoredJson(g.contributions, json::object())},
          {"root_causes", StoredJson(g.root_causes, json::array())},
          {"related", StoredJson(g.related, json::array())},
          {"incident",
           {{"start", iso(g.incident_ts != 0 ? g.incident_ts : g.ts)},
            {"end", iso(g.incident_end_ts != 0 ? g.incident_end_ts : g.end_ts)},
            {"intervals", g.incident_intervals != 0 ? g.incident_intervals : 1},
            {"severity", g.incident_intervals != 0 ? g.incident_severity : g.severity}}}};
}

}  // namespace osprey::api::reference
