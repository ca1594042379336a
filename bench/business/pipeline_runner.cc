#include "business/pipeline_runner.h"

#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "osprey/app/backtest.h"
#include "osprey/base/row.h"
#include "osprey/base/time.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/sqlite_source.h"
#include "osprey/store/store.h"

namespace osprey::bench {
namespace {

using testing::Dataset;
using testing::MeasureKind;

// The measures that have a column of their own (a ratio measure has none;
// a rate column does).
bool HasColumn(const testing::MeasureInfo& m, const PipelineOptions& options) {
  return m.kind != MeasureKind::kRatio || options.rate_column;
}

// A YAML double-quoted scalar.
std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Status WriteWarehouse(const Dataset& d, const std::string& path, const PipelineOptions& options) {
  const bool naive_local = options.naive_local;
  OSPREY_ASSIGN_OR_RETURN(auto db, connectors::SqliteWriter::Open(path));
  std::string defs = naive_local ? "ts text not null" : "ts integer not null", marks = "?";
  for (const std::string& dim : d.dimensions) {
    defs += fmt::format(", {} text not null", dim);
    marks += ", ?";
  }
  for (const auto& m : d.measures) {
    if (!HasColumn(m, options)) continue;
    defs += fmt::format(", {} real", m.name);
    marks += ", ?";
  }
  OSPREY_RETURN_IF_ERROR(db->Execute(fmt::format("create table facts({})", defs)));
  OSPREY_RETURN_IF_ERROR(db->Execute("create index facts_ts on facts(ts)"));
  const std::string insert = fmt::format("insert into facts values ({})", marks);
  std::vector<std::vector<Cell>> rows;
  const TimestampFormat local = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss");
  std::vector<std::string> stamps(d.points());  // Cell::Text keeps a view
  for (size_t t = 0; t < d.points(); ++t) {
    if (naive_local) stamps[t] = local.Format(FromUnixSeconds(d.local_times[t]), TimeZone::Utc());
    for (const testing::LeafSeries& leaf : d.series) {
      // A row exists where any measure has a value (the generator's missing
      // rows and ETL gap have none; a late leaf has none before its launch).
      bool any = false;
      std::vector<Cell> row{naive_local ? Cell::Text(stamps[t]) : Cell::Integer(d.times[t])};
      for (const std::string& v : leaf.dims) row.push_back(Cell::Text(v));  // the dataset outlives rows
      for (size_t m = 0; m < d.measures.size(); ++m) {
        if (!HasColumn(d.measures[m], options)) continue;
        std::optional<double> v = leaf.measures[m].value[t];
        if (d.measures[m].kind == MeasureKind::kRatio) {
          // The rate of this row: numerator over denominator, none without
          // a denominator (the generator's own value is capped at 1).
          const auto& num = leaf.measures[static_cast<size_t>(d.measures[m].numerator_measure)].value[t];
          const auto& den = leaf.measures[static_cast<size_t>(d.measures[m].weight_measure)].value[t];
          v = num && den && *den > 0 ? std::optional<double>(*num / *den) : std::nullopt;
        }
        any |= v.has_value();
        row.push_back(v ? Cell::Real(*v) : Cell::Null());
      }
      if (any) rows.push_back(std::move(row));
    }
    if (rows.size() >= 200000) {
      OSPREY_RETURN_IF_ERROR(db->InsertRows(insert, rows));
      rows.clear();
    }
  }
  return db->InsertRows(insert, rows);
}

// The leaves' dims as the state store keys them: a JSON object in the
// detector's dimension order.
std::string DimsKey(const Dataset& d, const testing::LeafSeries& leaf) {
  std::string out = "{";
  for (size_t i = 0; i < d.dimensions.size(); ++i) {
    out += fmt::format("{}\"{}\":\"{}\"", i ? "," : "", d.dimensions[i], leaf.dims[i]);
  }
  return out + "}";
}

}  // namespace

std::string PipelineDetectorYaml(const Dataset& d, const std::string& warehouse,
                                 const PipelineOptions& options) {
  std::string y = "name: bench\n";
  y += fmt::format("frequency: {}\n",
                   d.interval_seconds == 3600 ? "PT1H" : fmt::format("PT{}M", d.interval_seconds / 60));
  y += fmt::format("timezone: {}\n", d.zone);
  if (!options.holidays) y += "holidays: none\n";
  y += fmt::format("source: {{type: sqlite, path: {}}}\n", Quoted(warehouse));
  y += "query: select * from facts where ts >= {{interval_start}} and ts < {{interval_end}}\n";
  // Naive local text is read in the detector's zone (the default format).
  y += options.naive_local ? "timestamp: {column: ts}\n" : "timestamp: {column: ts, format: epoch}\n";
  y += "dimensions: [";
  for (size_t i = 0; i < d.dimensions.size(); ++i) y += (i ? ", " : "") + d.dimensions[i];
  y += "]\nmeasures:\n";
  for (const auto& m : d.measures) {
    switch (m.kind) {
      case MeasureKind::kCount:
      case MeasureKind::kMoney: y += fmt::format("  - {{name: {}, aggregation: SUM}}\n", m.name); break;
      case MeasureKind::kMean:
        if (options.plain_avg) {
          y += fmt::format("  - {{name: {}, aggregation: AVG}}\n", m.name);
        } else {
          y += fmt::format("  - {{name: {}, aggregation: AVG, weight: {}}}\n", m.name,
                           d.measures[static_cast<size_t>(m.weight_measure)].name);
        }
        break;
      case MeasureKind::kRatio:
        if (options.rate_column && options.plain_avg) {
          y += fmt::format("  - {{name: {}, aggregation: AVG}}\n", m.name);
        } else if (options.rate_column) {
          y += fmt::format("  - {{name: {}, aggregation: AVG, weight: {}}}\n", m.name,
                           d.measures[static_cast<size_t>(m.weight_measure)].name);
        } else {
          y += fmt::format("  - {{name: {}, ratio: {{numerator: {}, denominator: {}}}}}\n", m.name,
                           d.measures[static_cast<size_t>(m.numerator_measure)].name,
                           d.measures[static_cast<size_t>(m.weight_measure)].name);
        }
        break;
    }
  }
  if (!d.events.empty()) {
    const TimestampFormat local = *TimestampFormat::Parse("yyyy-MM-dd HH:mm");
    y += "events:\n";
    for (const testing::CalendarEvent& e : d.events) {
      // Local wall-clock seconds written as such: read in the detector's zone.
      y += fmt::format("  - {{name: {}, start: \"{}\", end: \"{}\"", Quoted(e.recurrence),
                       local.Format(FromUnixSeconds(e.local_start), TimeZone::Utc()),
                       local.Format(FromUnixSeconds(e.local_end), TimeZone::Utc()));
      if (!e.scope.empty()) {
        y += ", dimensions: {";
        for (size_t i = 0; i < e.scope.size(); ++i) {
          y += fmt::format("{}{}: {}", i ? ", " : "", d.dimensions[static_cast<size_t>(e.scope[i].first)],
                           Quoted(e.scope[i].second));
        }
        y += "}";
      }
      if (e.planned) y += ", effect: suppress";
      y += "}\n";
    }
  }
  return y;
}

Result<OspreyScores> ScoreThroughPipeline(const Dataset& d, const std::string& dir,
                                          const PipelineOptions& options) {
  const std::string warehouse = dir + "/warehouse.db";
  const std::string state = dir + "/state.db";
  OSPREY_RETURN_IF_ERROR(WriteWarehouse(d, warehouse, options));
  const std::string yaml = PipelineDetectorYaml(d, warehouse, options);
  {
    std::ofstream file(dir + "/bench.yaml");
    file << yaml;
    if (!file) return InvalidArgument("cannot write " + dir + "/bench.yaml");
  }
  OSPREY_ASSIGN_OR_RETURN(config::Detector detector, config::LoadDetector(yaml, dir + "/bench.yaml"));
  OSPREY_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::OpenSqliteStore(state));
  const int64_t from = d.times.front();
  const int64_t to = d.times.back() + d.interval_seconds;
  app::BacktestRequest request;
  request.detector = detector;
  request.config_text = yaml;
  request.from = FromUnixSeconds(from);
  request.to = FromUnixSeconds(to);
  request.now = FromUnixSeconds(to);
  OSPREY_RETURN_IF_ERROR(app::RunBacktest(request, *store).status());

  OspreyScores out;
  OSPREY_ASSIGN_OR_RETURN(store::DetectorRecord record, store->GetDetector("bench"));
  OSPREY_ASSIGN_OR_RETURN(std::vector<store::SeriesRecord> series, store->ListSeries(record.id));
  std::map<std::pair<std::string, std::string>, int64_t> ids;  // (measure, dims) -> series id
  for (const auto& s : series) ids[{s.measure, s.dims}] = s.id;
  for (const auto& m : d.measures) {
    MeasureScores leaves(d.series.size(), std::vector<double>(d.points(), kNoScore));
    for (size_t s = 0; s < d.series.size(); ++s) {
      auto it = ids.find({m.name, DimsKey(d, d.series[s])});
      if (it == ids.end()) {
        return Internal(fmt::format("the state holds no series {} {}", m.name, DimsKey(d, d.series[s])));
      }
      OSPREY_ASSIGN_OR_RETURN(std::vector<store::PointRecord> points,
                              store->ListPoints(it->second, from, to));
      for (const store::PointRecord& p : points) {
        const int64_t t = (p.ts - from) / d.interval_seconds;
        if (t < 0 || t >= static_cast<int64_t>(d.points()) || d.times[static_cast<size_t>(t)] != p.ts) {
          return Internal(fmt::format("series {} has a point at {} off the data's grid", it->second, p.ts));
        }
        if (p.value && p.severity) leaves[s][static_cast<size_t>(t)] = *p.severity;
      }
    }
    out.leaf_scores.push_back(std::move(leaves));
  }
  for (const auto& s : series) {
    OSPREY_ASSIGN_OR_RETURN(std::vector<store::PointRecord> points, store->ListPoints(s.id, from, to));
    for (const auto& p : points) out.points_scored += p.value.has_value();
  }
  return out;
}

}  // namespace osprey::bench
