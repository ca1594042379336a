#include "osprey/cli/rca_input.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "osprey/base/csv.h"

namespace osprey::cli {
namespace {

// The whole file; gzip input is inflated (zlib reads plain files as they are).
Result<std::string> ReadMaybeGzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return NotFound(fmt::format("{}: cannot read the file", path));
  std::string out;
  char buf[1 << 16];
  while (true) {
    const int got = gzread(f, buf, sizeof(buf));
    if (got < 0) {
      gzclose(f);
      return DataLoss(fmt::format("{}: the gzip data is corrupt", path));
    }
    if (got == 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  gzclose(f);
  return out;
}

bool ParseNumber(const std::string& s, double& out) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && s[b] == ' ') ++b;
  while (e > b && s[e - 1] == ' ') --e;
  if (b < e && s[b] == '+') ++b;
  const auto [ptr, ec] = std::from_chars(s.data() + b, s.data() + e, out);
  return b < e && ec == std::errc() && ptr == s.data() + e;
}

}  // namespace

Result<rca::Cube> LoadRcaCsv(const std::string& path, const RcaCsvOptions& options) {
  if (options.denominator_real.empty() != options.denominator_expected.empty()) {
    return InvalidArgument("give both the denominator's actual and expected columns, or neither");
  }
  OSPREY_ASSIGN_OR_RETURN(std::string text, ReadMaybeGzip(path));
  std::istringstream in(std::move(text));
  CsvReader reader(in, path);
  std::vector<std::string> header;
  OSPREY_ASSIGN_OR_RETURN(bool any, reader.Next(header));
  if (!any) return InvalidArgument(fmt::format("{}: the file is empty", path));
  auto column = [&header](const std::string& name) -> int {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  for (size_t i = 0; i < header.size(); ++i) {
    if (column(header[i]) != static_cast<int>(i)) {
      return InvalidArgument(fmt::format("{}:1: column '{}' appears twice", path, header[i]));
    }
  }
  const std::string real = options.real.empty() ? "real" : options.real;
  std::string expected = options.expected;
  if (expected.empty()) expected = column("expected") < 0 && column("predict") >= 0 ? "predict" : "expected";
  std::vector<std::string> value_names = {real, expected};
  if (!options.denominator_real.empty()) {
    value_names.push_back(options.denominator_real);
    value_names.push_back(options.denominator_expected);
  }
  std::vector<size_t> value_cols;
  for (const std::string& name : value_names) {
    const int c = column(name);
    if (c < 0) return InvalidArgument(fmt::format("{}:1: no column '{}' in the header", path, name));
    value_cols.push_back(static_cast<size_t>(c));
  }
  std::vector<std::string> dims = options.dimensions;
  if (dims.empty()) {
    for (const std::string& h : header) {
      if (std::find(value_names.begin(), value_names.end(), h) == value_names.end()) dims.push_back(h);
    }
    if (dims.empty()) return InvalidArgument(fmt::format("{}:1: no dimension columns in the header", path));
  }
  std::vector<size_t> dim_cols;
  for (const std::string& name : dims) {
    const int c = column(name);
    if (c < 0) return InvalidArgument(fmt::format("{}:1: no column '{}' in the header", path, name));
    if (std::find(value_names.begin(), value_names.end(), name) != value_names.end()) {
      return InvalidArgument(fmt::format("{}:1: column '{}' is a value column, not a dimension", path, name));
    }
    dim_cols.push_back(static_cast<size_t>(c));
  }
  auto cube = rca::Cube::Create(dims);
  if (!cube.ok()) return InvalidArgument(fmt::format("{}:1: {}", path, cube.status().message()));
  std::vector<std::string> fields;
  std::vector<uint32_t> codes(dims.size());
  double values[4] = {0, 0, 0, 0};
  while (true) {
    OSPREY_ASSIGN_OR_RETURN(bool more, reader.Next(fields));
    if (!more) break;
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (fields.size() != header.size()) {
      return InvalidArgument(fmt::format("{}:{}: {} fields where the header has {}", path, reader.line(),
                                         fields.size(), header.size()));
    }
    for (size_t k = 0; k < value_cols.size(); ++k) {
      const std::string& f = fields[value_cols[k]];
      if (f.empty()) {
        return InvalidArgument(fmt::format("{}:{}: column '{}': empty value (a missing value is not a zero)",
                                           path, reader.line(), value_names[k]));
      }
      if (!ParseNumber(f, values[k]) || !std::isfinite(values[k])) {
        return InvalidArgument(
            fmt::format("{}:{}: column '{}': '{}' is not a number", path, reader.line(), value_names[k], f));
      }
    }
    for (size_t d = 0; d < dim_cols.size(); ++d) codes[d] = cube->InternValue(d, fields[dim_cols[d]]);
    const Status added = value_cols.size() == 4
                             ? cube->AddRatioLeafCodes(codes, values[0], values[1], values[2], values[3])
                             : cube->AddLeafCodes(codes, values[0], values[1]);
    if (!added.ok()) return InvalidArgument(fmt::format("{}:{}: {}", path, reader.line(), added.message()));
  }
  if (cube->num_leaves() == 0) return InvalidArgument(fmt::format("{}: no leaf rows after the header", path));
  return std::move(*cube);
}

std::string RcaElementString(const rca::Cube& cube, const rca::Element& element) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const rca::Pair& p : element.pairs) {
    pairs.emplace_back(cube.dimension_name(p.dimension), cube.value_name(p.dimension, p.value));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string s;
  for (const auto& [k, v] : pairs) {
    if (!s.empty()) s += '&';
    s += k + "=" + v;
  }
  return s;
}

std::string RcaSetString(const rca::Cube& cube, const std::vector<rca::RootCause>& causes) {
  std::string s;
  for (const rca::RootCause& c : causes) {
    if (!s.empty()) s += ';';
    s += RcaElementString(cube, c.element);
  }
  return s;
}

}  // namespace osprey::cli
