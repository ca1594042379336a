// Silences (store::SilenceRecord) as the REST API creates and expires them:
// validated here, so the API writes the store only through app/.
#pragma once

#include <cstdint>

#include "osprey/base/status.h"
#include "osprey/base/time.h"
#include "osprey/store/store.h"

namespace osprey::app {

// Stores `silence` (its id and created_at are assigned; starts_at 0 means
// now) and returns it as stored. InvalidArgument when ends_at is not after
// both now and starts_at, or the matchers are not an object of
// dimension -> value strings, or the measure is not one of the detector's;
// NotFound when the named detector does not exist.
Result<store::SilenceRecord> AddSilence(store::Store& store, store::SilenceRecord silence, Instant now);

// Ends silence `id` now. NotFound when there is no such silence or it has
// already ended.
Status ExpireSilenceNow(store::Store& store, int64_t id, Instant now);

}  // namespace osprey::app
