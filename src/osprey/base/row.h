// Rows as sources deliver them: typed cells, handed one row at a time to a
// RowHandler. Shared by connectors (which produce rows) and ingest (which
// consumes them) so that neither depends on the other.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"

namespace osprey {

// One cell of a result row. Text views are valid only during OnRow.
struct Cell {
  enum class Type { kNull, kInteger, kReal, kText };
  Type type = Type::kNull;
  int64_t integer = 0;
  double real = 0;
  std::string_view text;

  static Cell Null() { return {}; }
  static Cell Integer(int64_t v) { return {Type::kInteger, v, 0, {}}; }
  static Cell Real(double v) { return {Type::kReal, 0, v, {}}; }
  static Cell Text(std::string_view v) { return {Type::kText, 0, 0, v}; }
};

// Columns of a query whose aggregation runs in the source database
// (connectors/push_down.h). Each row stands for kPushedRowsColumn source
// rows of one interval and combination of dimension values; measure i comes
// as its sum, count of non-NULL values, min and max (prefix + i), and
// kPushedOtherColumn counts values the database cannot sum as the row path
// would read them.
inline constexpr std::string_view kPushedRowsColumn = "osprey_pd_rows";
inline constexpr std::string_view kPushedSumPrefix = "osprey_pd_sum_";
inline constexpr std::string_view kPushedCountPrefix = "osprey_pd_count_";
inline constexpr std::string_view kPushedMinPrefix = "osprey_pd_min_";
inline constexpr std::string_view kPushedMaxPrefix = "osprey_pd_max_";
inline constexpr std::string_view kPushedOtherColumn = "osprey_pd_other";

class RowHandler {
 public:
  virtual ~RowHandler() = default;
  // Called once with the result's column names, before any row.
  virtual Status OnColumns(const std::vector<std::string>& names) = 0;
  // Called for each row; an error stops the query and is returned by it.
  virtual Status OnRow(const std::vector<Cell>& cells) = 0;
};

}  // namespace osprey
