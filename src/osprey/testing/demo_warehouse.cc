#include "osprey/testing/demo_warehouse.h"

#include <fmt/format.h>

#include <cmath>

#include "osprey/config/loader.h"
#include "osprey/connectors/sqlite_source.h"

namespace osprey::testing {

std::string ExampleDetectorPath() { return std::string(OSPREY_SOURCE_DIR) + "/examples/ecommerce.yaml"; }

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

Status WriteHourlyWarehouse(const std::string& path, int64_t start, int64_t days,
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
    const double v =
        tweak(ts, 1000 + 300 * std::sin(2 * 3.14159265358979 * static_cast<double>(i % 24) / 24) + noise);
    stamps.push_back(f.Format(FromUnixSeconds(ts), TimeZone::Utc()));
    std::vector<Cell> row{Cell::Text(stamps.back())};
    row.resize(columns.size() + 1, Cell::Real(v));
    rows.push_back(std::move(row));
  }
  return db->InsertRows(fmt::format("insert into t values (?{})", marks), rows);
}

}  // namespace osprey::testing
