// Changes to the detectors the REST API manages. The API reads the state
// store directly but writes it only through app/ (these functions,
// app::RecordFeedback, app::RunBacktest); scripts/check_layering.sh checks
// that api/ calls none of the store's write methods.
#pragma once

#include <memory>
#include <string>

#include "osprey/app/backtest.h"
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

// A preview: backtests `request` into a fresh in-memory state store (the
// detector stored there under its name), so nothing of the caller's state
// changes; returns that store for reading what would have been flagged.
Result<std::unique_ptr<store::Store>> PreviewBacktest(const BacktestRequest& request, RunStats* stats);

}  // namespace osprey::app
