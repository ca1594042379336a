// Temporary until the loader lands.
#include "osprey/config/detector.h"
namespace osprey::config {
std::string_view SourceTypeName(SourceType t) {
  switch (t) { case SourceType::kSqlite: return "sqlite"; case SourceType::kPostgres: return "postgres"; case SourceType::kCsv: return "csv"; }
  return "?";
}
std::string_view AggregationName(Aggregation a) {
  switch (a) { case Aggregation::kSum: return "SUM"; case Aggregation::kAvg: return "AVG"; case Aggregation::kCount: return "COUNT"; case Aggregation::kMin: return "MIN"; case Aggregation::kMax: return "MAX"; }
  return "?";
}
}
