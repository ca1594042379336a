// Bulk export of a state store's scored points as CSV (RFC 4180): one row per
// scored series-interval, for analysis and threshold studies outside osprey
// (`osprey anomalies export --csv`). Streams from the store, so memory stays
// constant however many points there are.
//
// Columns: `detector` (only when exporting several detectors), `timestamp`
// (interval start, ISO-8601 UTC), one column per dimension, `measure`,
// `value`, `expected`, `lower`, `upper`, `severity`. Dimension columns are in
// the detector's order; with several detectors, their union (first-seen
// order), and a detector without that dimension has an empty cell. An empty
// dimension cell means the series is a roll-up over that dimension. Missing
// points (no value) and warm-up points (no severity) are not rows. Rows come
// detector by detector (by name), series by series, each in time order.
// Numbers are printed in the shortest form that reads back to the same
// double.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "osprey/base/status.h"
#include "osprey/store/store.h"

namespace osprey::store {

struct CsvExportOptions {
  std::optional<std::string> detector;  // default: every detector
  double min_severity = 0;              // rows with severity >= this
  std::optional<int64_t> since;         // interval start >= since
  std::optional<int64_t> until;         // interval start < until
  bool leaves_only = false;             // drop roll-up series
};

// Writes the header and the rows to `out`; returns the number of rows.
// NotFound for an unknown detector; Unavailable when `out` cannot be written.
Result<int64_t> ExportScoredPointsCsv(Store& store, const CsvExportOptions& options, std::FILE* out);

}  // namespace osprey::store
