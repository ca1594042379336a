#include "osprey/testing/demo_warehouse.h"

#include "osprey/config/loader.h"

namespace osprey::testing {

std::string ExampleDetectorPath() {
  return std::string(OSPREY_SOURCE_DIR) + "/examples/ecommerce.yaml";
}

Result<DemoWarehouse> MakeDemoWarehouse(const app::DemoOptions& options, const std::string& path) {
  DemoWarehouse w;
  w.data = app::GenerateDemoData(options);
  w.path = path;
  OSPREY_RETURN_IF_ERROR(app::WriteDemoWarehouse(w.data, w.path));
  OSPREY_ASSIGN_OR_RETURN(w.detector, config::LoadDetectorFile(ExampleDetectorPath()));
  w.detector.source.path = w.path;
  w.detector.source.connection_env.clear();
  return w;
}

Result<app::RunStats> Backtest(const config::Detector& detector, store::Store& store, Instant from,
                               Instant to, const std::string& config_text) {
  app::BacktestRequest r;
  r.detector = detector;
  r.config_text = config_text;
  r.from = from;
  r.to = to;
  r.now = to;
  return app::RunBacktest(r, store);
}

}  // namespace osprey::testing
