// Recording a person's verdict on an anomaly group: the one path the CLI
// (`osprey feedback`) and the API (PUT .../feedback) share. Each verdict is
// stored per anomaly with a copy of the anomaly's direction and size, so the
// pipeline can damp similar deviations later (docs/alerts.md, "Feedback").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "osprey/base/time.h"
#include "osprey/store/store.h"

namespace osprey::app {

struct FeedbackRequest {
  int64_t group_id = 0;
  std::optional<int64_t> series_id;  // unset: every anomaly of the group
  bool relevant = false;
  std::string comment;
  std::string author;
  Instant now;
};

// Stores one verdict per anomaly the request covers and returns them.
// NotFound when the group does not exist, or has no anomaly of that series.
Result<std::vector<store::FeedbackRecord>> RecordFeedback(store::Store& store,
                                                          const FeedbackRequest& request);

}  // namespace osprey::app
