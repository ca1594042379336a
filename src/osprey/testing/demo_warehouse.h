// The demo warehouse as a test fixture: the generator's data written as a
// SQLite warehouse, the example detector (examples/ecommerce.yaml) reading
// from it, and a backtest of that detector into a state store, as the tests
// of the pipeline, scheduler, API and sources all need them. Test-only code;
// not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

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

// Writes table t(ts, <columns>...) at `path`: one row per hour for `days`
// days from `start` (Unix seconds), every column holding the same value: a
// daily cycle from 700 to 1300 (peak at 06:00 UTC) plus deterministic noise
// within +-10, passed through `tweak(ts, value)` to inject events. For the
// pipeline tests that need known events on a known shape.
Status WriteHourlyWarehouse(const std::string& path, int64_t start, int64_t days,
                            const std::vector<std::string>& columns,
                            const std::function<double(int64_t ts, double v)>& tweak);

}  // namespace osprey::testing
