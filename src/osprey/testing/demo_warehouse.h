// The demo warehouse as a test fixture: the generator's data written as a
// SQLite warehouse, the example detector (examples/ecommerce.yaml) reading
// from it, and a backtest of that detector into a state store, as the tests
// of the pipeline, scheduler, API and sources all need them. Test-only code;
// not thread-safe.
#pragma once

#include <string>

#include "osprey/app/backtest.h"
#include "osprey/app/demo_data.h"
#include "osprey/base/status.h"
#include "osprey/base/time.h"
#include "osprey/config/detector.h"
#include "osprey/store/store.h"

namespace osprey::testing {

// examples/ecommerce.yaml in the source tree.
std::string ExampleDetectorPath();

struct DemoWarehouse {
  app::DemoData data;
  std::string path;           // the SQLite warehouse file
  config::Detector detector;  // the example detector, reading `path`
};

// Generates the demo data with `options`, writes it to the SQLite file
// `path` and loads the example detector pointed at it (no connection
// environment variable). The error of whichever step failed.
Result<DemoWarehouse> MakeDemoWarehouse(const app::DemoOptions& options, const std::string& path);

// Backtests `detector` over [from, to) into `store`, with `now` = `to` and
// the default chunking: what `osprey backtest` does. RunBacktest's error.
Result<app::RunStats> Backtest(const config::Detector& detector, store::Store& store, Instant from,
                               Instant to, const std::string& config_text = "test");

}  // namespace osprey::testing
