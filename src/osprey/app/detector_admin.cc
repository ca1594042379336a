#include "osprey/app/detector_admin.h"

namespace osprey::app {

Status SaveApiDetector(store::Store& store, const std::string& name, const std::string& text) {
  OSPREY_RETURN_IF_ERROR(store.UpsertDetector(name, text).status());
  return store.SetDetectorOrigin(name, "api");
}

Status RemoveDetector(store::Store& store, const std::string& name) { return store.DeleteDetector(name); }

Status ActivateDetector(store::Store& store, const std::string& name, bool active) {
  return store.SetDetectorActive(name, active);
}

Result<std::unique_ptr<store::Store>> PreviewBacktest(const BacktestRequest& request, RunStats* stats) {
  OSPREY_ASSIGN_OR_RETURN(auto scratch, store::OpenSqliteStore(":memory:"));
  OSPREY_RETURN_IF_ERROR(scratch->UpsertDetector(request.detector.name, request.config_text));
  OSPREY_ASSIGN_OR_RETURN(*stats, RunBacktest(request, *scratch));
  return std::unique_ptr<store::Store>(std::move(scratch));
}

}  // namespace osprey::app
