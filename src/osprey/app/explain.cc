#include "osprey/app/explain.h"

#include <fmt/format.h>

#include "osprey/connectors/push_down.h"

namespace osprey::app {

std::string ExplainSource(const config::Detector& d) {
  const connectors::PushDownPlan plan = connectors::PlanPushDown(d);
  if (!plan.enabled) {
    return fmt::format("push-down: off ({}); every row of the query is read:\n{}\n", plan.reason, d.query);
  }
  return fmt::format(
      "push-down: on, buckets of {} s (smaller or row by row for a range whose interval boundaries "
      "or zone offsets are not whole buckets); the query osprey runs:\n{}\n",
      plan.bucket_seconds, plan.sql);
}

}  // namespace osprey::app
