// Changes to the detectors the REST API manages. The API reads the state
// store directly but writes it only through app/ (these functions,
// app::RecordFeedback, app::RunBacktest); scripts/check_layering.sh checks
// that api/ calls none of the store's write methods.
#pragma once

#include <string>

#include "osprey/base/status.h"
#include "osprey/store/store.h"

namespace osprey::app {

// Creates the detector `name` or replaces its configuration with `text`, and
// marks it managed by the API, so that `osprey serve` runs it.
Status SaveApiDetector(store::Store& store, const std::string& name, const std::string& text);

// Deletes the detector and everything it produced. NotFound when absent.
Status RemoveDetector(store::Store& store, const std::string& name);

// Resumes (true) or pauses (false) the detector. NotFound when absent.
Status ActivateDetector(store::Store& store, const std::string& name, bool active);

}  // namespace osprey::app
