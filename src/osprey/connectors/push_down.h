// Push-down aggregation: for a SQL source (sqlite, postgres, mysql), the
// per-interval GROUP BY runs inside the source database, so only one row per
// time bucket and combination of dimension values crosses the wire instead
// of every source row. The detector's query becomes a subquery:
//
//   SELECT MIN(q.ts) AS ts, q.dim AS dim, COUNT(*) AS osprey_pd_rows,
//          SUM(q.m) AS osprey_pd_sum_0, COUNT(q.m) AS osprey_pd_count_0,
//          MIN(q.m) AS osprey_pd_min_0, MAX(q.m) AS osprey_pd_max_0
//   FROM (<the detector's query>) q
//   GROUP BY <bucket of q.ts>, q.ts IS NULL, q.dim
//
// and ingest::Aggregator merges each group into its interval as it would
// have added the group's rows one by one (every aggregation osprey has --
// sum, avg, count, min, max -- is rebuilt exactly from sum, count, min and
// max). The bucket is `u` seconds of the timestamp (UTC for values with an
// offset, the wall clock for naive ones); a group is one interval's rows
// only when every interval boundary is a multiple of u and every UTC offset
// of the detector's and the source's zone is too, which is checked for each
// queried range (a DST change of one hour keeps hourly buckets exact; a zone
// at +05:30 gets half-hour buckets). Where no bucket is exact, or the
// database cannot run the aggregated query (a text timestamp column on
// PostgreSQL, a text measure), or a group holds a value the row path would
// reject (non-numeric text, NaN), that range is read row by row instead, so
// the result is always the row path's. docs/sources.md, "Push-down
// aggregation", says when it applies.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "osprey/base/status.h"
#include "osprey/connectors/source.h"

namespace osprey::config {
struct Detector;
}

namespace osprey::connectors {

// Whether and how a detector's aggregation is pushed down.
struct PushDownPlan {
  bool enabled = false;
  // Why not, when !enabled (for `osprey validate --explain`).
  std::string reason;
  // The aggregated query for the largest candidate bucket, with the
  // detector's placeholders (what --explain shows).
  std::string sql;
  int64_t bucket_seconds = 0;
};

// Decides from the configuration alone: the source type, the
// `source.push_down` option and the timestamp format.
PushDownPlan PlanPushDown(const config::Detector& d);

// The aggregated query with time buckets of `bucket_seconds`, placeholders
// kept. InvalidArgument when the detector cannot be pushed down.
Result<std::string> RenderPushDownQuery(const config::Detector& d, int64_t bucket_seconds);

// The largest bucket (seconds) that is exact for [from, to) of the detector's
// grid, or nullopt when none is.
std::optional<int64_t> ExactBucket(const config::Detector& d, Instant from, Instant to);

// Opens the source for a detector as written (no push-down).
using RawSourceOpener = std::function<Result<std::unique_ptr<Source>>(const config::Detector&)>;

// A source that answers each range with the aggregated query when the
// range allows it and with the detector's own query otherwise.
Result<std::unique_ptr<Source>> OpenPushDownSource(const config::Detector& d, RawSourceOpener open);

}  // namespace osprey::connectors
