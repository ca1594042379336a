// A RowHandler for tests that keeps every row as text. Test-only.
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "osprey/base/row.h"

namespace osprey::connectors {

class CollectedRows : public RowHandler {
 public:
  Status OnColumns(const std::vector<std::string>& names) override {
    columns = names;
    return Status::Ok();
  }
  Status OnRow(const std::vector<Cell>& cells) override {
    std::vector<std::string> row;
    for (const Cell& c : cells) {
      switch (c.type) {
        case Cell::Type::kNull: row.push_back("NULL"); break;
        case Cell::Type::kInteger: row.push_back(fmt::format("i:{}", c.integer)); break;
        case Cell::Type::kReal: row.push_back(fmt::format("r:{}", c.real)); break;
        case Cell::Type::kText: row.emplace_back(c.text); break;
      }
    }
    rows.push_back(row);
    return Status::Ok();
  }
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

}  // namespace osprey::connectors
