// Test-only: a small generated SQLite warehouse of one hourly series, for
// the pipeline tests that need known events on a known shape.
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "osprey/base/status.h"
#include "osprey/base/time.h"
#include "osprey/connectors/sqlite_source.h"

namespace osprey::app::testing {

// Writes table t(ts, <columns>...) at `path`: one row per hour for `days`
// days from `start`, every column holding the same value: a daily cycle from
// 700 to 1300 (peak at 06:00 UTC) plus deterministic noise within +-10,
// passed through `tweak(ts, value)` to inject events.
inline Status WriteHourlyWarehouse(const std::string& path, int64_t start, int64_t days,
                                   const std::vector<std::string>& columns,
                                   const std::function<double(int64_t ts, double v)>& tweak) {
  OSPREY_ASSIGN_OR_RETURN(auto db, connectors::SqliteWriter::Open(path));
  std::string defs, marks;
  for (const std::string& c : columns) {
    defs += fmt::format(", {} real", c);
    marks += ", ?";
  }
  OSPREY_RETURN_IF_ERROR(db->Execute(fmt::format("create table t(ts timestamp not null{})", defs)));
  OSPREY_ASSIGN_OR_RETURN(TimestampFormat f, TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss"));
  std::vector<std::vector<Cell>> rows;
  std::vector<std::string> stamps;  // Cell::Text keeps a view: the text must outlive it
  stamps.reserve(static_cast<size_t>(days * 24));
  uint32_t rng = 12345;
  for (int64_t i = 0; i < days * 24; ++i) {
    const int64_t ts = start + i * 3600;
    rng = rng * 1664525u + 1013904223u;
    const double noise = (static_cast<double>(rng >> 8) / 16777216.0 - 0.5) * 20;
    const double v = tweak(
        ts, 1000 + 300 * std::sin(2 * 3.14159265358979 * static_cast<double>(i % 24) / 24) + noise);
    stamps.push_back(f.Format(FromUnixSeconds(ts), TimeZone::Utc()));
    std::vector<Cell> row{Cell::Text(stamps.back())};
    row.resize(columns.size() + 1, Cell::Real(v));
    rows.push_back(std::move(row));
  }
  return db->InsertRows(fmt::format("insert into t values (?{})", marks), rows);
}

}  // namespace osprey::app::testing
