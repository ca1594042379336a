#include "osprey/app/silences.h"

#include <fmt/format.h>

#include <algorithm>

#include "osprey/alerts/silence.h"
#include "osprey/config/loader.h"

namespace osprey::app {

Result<store::SilenceRecord> AddSilence(store::Store& store, store::SilenceRecord silence, Instant now) {
  const int64_t t = ToUnixSeconds(now);
  if (silence.starts_at == 0) silence.starts_at = t;
  if (silence.ends_at <= t) return InvalidArgument("ends_at: must be in the future");
  if (silence.ends_at <= silence.starts_at) return InvalidArgument("ends_at: must be after starts_at");
  OSPREY_RETURN_IF_ERROR(alerts::ParseSilenceMatchers(silence.matchers).status());
  if (!silence.detector.empty()) {
    OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord rec, store.GetDetector(silence.detector));
    auto d = config::LoadDetector(rec.config, fmt::format("detector '{}'", rec.name));
    if (d.ok() && !silence.measure.empty() &&
        std::none_of(d->measures.begin(), d->measures.end(),
                     [&](const config::Measure& m) { return m.name == silence.measure; })) {
      return InvalidArgument(
          fmt::format("measure: detector '{}' has no measure '{}'", rec.name, silence.measure));
    }
  }
  silence.created_at = t;
  OSPREY_ASSIGN_OR_RETURN(silence.id, store.CreateSilence(silence));
  return silence;
}

Status ExpireSilenceNow(store::Store& store, int64_t id, Instant now) {
  return store.ExpireSilence(id, ToUnixSeconds(now));
}

}  // namespace osprey::app
