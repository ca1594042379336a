// The leaf table that `osprey rca` and bench/rca_bench read: a CSV (plain or
// gzip, RFC 4180 quoting) with one row per leaf, one column per dimension and
// the value columns (actual and expected, and for a ratio KPI the
// denominator's actual and expected). Also the benchmark syntax of a
// root-cause set. Reads files; the analysis itself is rca::LocateRootCauses.
#pragma once

#include <string>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/rca/cube.h"
#include "osprey/rca/root_cause.h"

namespace osprey::cli {

struct RcaCsvOptions {
  // Dimension columns; empty: every column that is not a value column.
  std::vector<std::string> dimensions;
  // Actual value column; empty: "real".
  std::string real;
  // Expected value column; empty: "expected", or "predict" when the file has
  // no "expected" column.
  std::string expected;
  // For a ratio KPI (numerator / denominator): the denominator's actual and
  // expected columns; then real/expected are the numerator's. Both or none.
  std::string denominator_real;
  std::string denominator_expected;
};

// Reads `path` into a cube. Errors are InvalidArgument naming the file, the
// line and the column ("f.csv:7: column 'real': 'abc' is not a number"), or
// NotFound when the file cannot be read. Empty value fields are an error: a
// missing value is not a zero.
Result<rca::Cube> LoadRcaCsv(const std::string& path, const RcaCsvOptions& options = {});

// One element as "attr=value&attr=value", pairs sorted by attribute name.
std::string RcaElementString(const rca::Cube& cube, const rca::Element& element);

// The set in the benchmark syntax: elements in the order given joined by
// ';', pairs sorted by attribute name joined by '&'.
std::string RcaSetString(const rca::Cube& cube, const std::vector<rca::RootCause>& causes);

}  // namespace osprey::cli
