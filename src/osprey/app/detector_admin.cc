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

}  // namespace osprey::app
