// The demo warehouse: the three tables of the Lookout for Metrics
// custom-connector example (platform, marketplace, ecommerce), filled by a
// deterministic generator (fixed seed) with daily and weekly seasonality,
// noise, and injected anomalies whose ground truth is returned beside the
// data. Pure: generating touches no files; WriteDemoWarehouse does.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/base/time.h"

namespace osprey::app {

struct DemoEvent {
  int id = 0;
  // spike | dip | level_shift: anomalies osprey should flag.
  // holiday: one local day of a marketplace with a lower, flatter pattern.
  //   The example detector has no calendar for them, so osprey may flag the
  //   day like any break of the usual pattern; labelled to be scored apart.
  // missing_rows: hours without a row for one series. Missing data is not a
  //   zero: the pipeline stores the point as missing and never scores it, so
  //   none of these may be flagged; the run counts the missing series as a
  //   data-quality figure.
  std::string kind;
  std::string measure;  // views (revenue follows) | revenue (revenue per view changes)
  // The slice hit: dimension -> value; one entry for a whole platform or
  // marketplace, two for a single series.
  std::map<std::string, std::string> scope;
  Instant start;
  Instant end;        // exclusive
  double factor = 1;  // multiplier applied to the measure during the event
};

struct DemoRow {
  int64_t ts;  // Unix seconds
  int platform;
  int marketplace;
  int64_t views;
  double revenue;
};

struct DemoData {
  std::vector<std::string> platforms;
  std::vector<std::string> marketplaces;
  std::vector<DemoRow> rows;
  std::vector<DemoEvent> events;
  Instant start;
  Instant end;  // exclusive
};

struct DemoOptions {
  uint32_t seed = 20201001;
  Instant start = FromUnixSeconds(1735516800);  // 2024-12-30T00:00:00Z, a Monday
  int64_t days = 182;
  int64_t clean_days = 28;  // no anomalies in the first weeks: the model's history
  // The harder parts, from their own fixed seed (the rest of the data does not
  // change with them): gradual drifts (es grows 50 % over the range, it
  // loses 30 %; not anomalies), `holidays` holiday events, `missing_gaps`
  // missing_rows events, and a marketplace (nl) whose rows start on
  // `late_start_day`. harder = false gives the original warehouse.
  bool harder = true;
  int holidays = 4;
  int missing_gaps = 8;
  int64_t late_start_day = 91;
};

DemoData GenerateDemoData(const DemoOptions& options);

// Writes the tables (DDL adapted from the example's Redshift DDL to SQLite)
// to a new SQLite file at `path`, replacing any file there.
Status WriteDemoWarehouse(const DemoData& data, const std::string& path);

// Writes the ground truth as CSV: id,kind,measure,scope,start,end,factor.
Status WriteGroundTruth(const DemoData& data, const std::string& path);

}  // namespace osprey::app
