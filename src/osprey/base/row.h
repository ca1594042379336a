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

class RowHandler {
 public:
  virtual ~RowHandler() = default;
  // Called once with the result's column names, before any row.
  virtual Status OnColumns(const std::vector<std::string>& names) = 0;
  // Called for each row; an error stops the query and is returned by it.
  virtual Status OnRow(const std::vector<Cell>& cells) = 0;
};

}  // namespace osprey
