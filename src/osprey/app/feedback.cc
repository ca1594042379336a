#include "osprey/app/feedback.h"

#include <fmt/format.h>

namespace osprey::app {

Result<std::vector<store::FeedbackRecord>> RecordFeedback(store::Store& store, const FeedbackRequest& r) {
  OSPREY_ASSIGN_OR_RETURN(store::GroupRecord group, store.GetGroup(r.group_id));
  OSPREY_ASSIGN_OR_RETURN(auto anomalies, store.ListAnomalies(r.group_id));
  std::vector<store::FeedbackRecord> stored;
  for (const auto& a : anomalies) {
    if (r.series_id && a.series_id != *r.series_id) continue;
    store::FeedbackRecord f;
    f.detector_id = group.detector_id;
    f.group_id = r.group_id;
    f.series_id = a.series_id;
    f.ts = a.ts;
    f.relevant = r.relevant;
    f.direction = a.direction;
    f.value = a.value;
    f.expected = a.expected;
    f.created_at = ToUnixSeconds(r.now);
    f.comment = r.comment;
    f.author = r.author;
    f.label = a.label;
    OSPREY_ASSIGN_OR_RETURN(f.id, store.AddFeedback(f));
    stored.push_back(std::move(f));
  }
  if (stored.empty()) {
    return NotFound(r.series_id
                        ? fmt::format("group {} has no anomaly of series {}", r.group_id, *r.series_id)
                        : fmt::format("group {} has no anomalies", r.group_id));
  }
  return stored;
}

}  // namespace osprey::app
