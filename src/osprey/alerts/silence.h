// Silences (store::SilenceRecord): which anomaly groups a silence holds the
// alert messages of back. Used by the Deliverer when a message is due and by
// app/ to validate a new silence.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/store/store.h"

namespace osprey::alerts {

// The dimension matchers of a silence: a JSON object of dimension -> value
// (strings). InvalidArgument naming the offending entry otherwise.
Result<std::map<std::string, std::string>> ParseSilenceMatchers(std::string_view json_text);

// Whether the silence is in force at `t` (Unix seconds): starts_at <= t < ends_at.
inline bool SilenceActive(const store::SilenceRecord& s, int64_t t) {
  return s.starts_at <= t && t < s.ends_at;
}

// Whether `s` matches group `g`, whose anomalies are `anomalies` (dims
// filled): detector and measure equal (or left empty in the silence), and
// every root cause of the group -- or, when it has none, every anomalous
// series -- fixes each matched dimension to the matched value. A silence
// without dimension matchers matches every group of its detector/measure.
// Activity is not checked (SilenceActive).
bool SilenceMatches(const store::SilenceRecord& s, const store::GroupRecord& g,
                    const std::vector<store::AnomalyRecord>& anomalies);

}  // namespace osprey::alerts
