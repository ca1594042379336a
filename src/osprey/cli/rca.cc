#include "osprey/cli/rca.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "osprey/cli/rca_input.h"
#include "osprey/rca/root_cause.h"

namespace osprey::cli {
namespace {

using nlohmann::json;

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int RunRca(const Args& args) {
  auto csv = args.Get("csv");
  if (!csv) {
    std::fprintf(stderr, "osprey rca: give the leaf table with --csv FILE\n");
    return kExitUsage;
  }
  RcaCsvOptions options;
  if (auto d = args.Get("dimensions")) {
    options.dimensions = SplitList(*d);
    if (options.dimensions.empty()) {
      std::fprintf(stderr, "osprey rca: --dimensions needs at least one column\n");
      return kExitUsage;
    }
  }
  options.real = args.GetOr("real", "");
  options.expected = args.GetOr("expected", "");
  options.denominator_real = args.GetOr("denominator-real", "");
  options.denominator_expected = args.GetOr("denominator-expected", "");
  if (options.denominator_real.empty() != options.denominator_expected.empty()) {
    std::fprintf(stderr, "osprey rca: give --denominator-real and --denominator-expected together\n");
    return kExitUsage;
  }
  auto cube = LoadRcaCsv(*csv, options);
  if (!cube.ok()) return Fail(cube.status());
  auto causes = rca::LocateRootCauses(*cube);
  if (!causes.ok()) return Fail(causes.status());

  // The KPI over all leaves.
  double num_a = 0, num_e = 0, den_a = 0, den_e = 0;
  for (size_t i = 0; i < cube->num_leaves(); ++i) {
    num_a += cube->actual(i);
    num_e += cube->expected(i);
    if (cube->is_ratio()) {
      den_a += cube->denominator_actual(i);
      den_e += cube->denominator_expected(i);
    }
  }
  const double kpi_a = cube->is_ratio() ? (den_a != 0 ? num_a / den_a : 0) : num_a;
  const double kpi_e = cube->is_ratio() ? (den_e != 0 ? num_e / den_e : 0) : num_e;
  const std::string set = RcaSetString(*cube, *causes);
  if (args.Has("json")) {
    json elements = json::array();
    for (const rca::RootCause& c : *causes) {
      json pairs = json::object();
      for (const rca::Pair& p : c.element.pairs) {
        pairs[cube->dimension_name(p.dimension)] = cube->value_name(p.dimension, p.value);
      }
      elements.push_back({{"element", RcaElementString(*cube, c.element)},
                          {"pairs", pairs},
                          {"direction", c.direction > 0 ? "up" : "down"},
                          {"actual", c.actual},
                          {"expected", c.expected},
                          {"contribution", c.contribution},
                          {"share", c.deviation_share},
                          {"purity", c.purity},
                          {"confidence", c.confidence},
                          {"score", c.score}});
    }
    json out = {
        {"set", set},        {"leaves", cube->num_leaves()}, {"ratio", cube->is_ratio()}, {"actual", kpi_a},
        {"expected", kpi_e}, {"elements", elements}};
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{} leaves, {} {:.6g} against {:.6g} expected ({:+.2f} %)\n", cube->num_leaves(),
                           cube->is_ratio() ? "ratio" : "total", kpi_a, kpi_e,
                           kpi_e != 0 ? 100 * (kpi_a - kpi_e) / std::abs(kpi_e) : 0.0);
  if (causes->empty()) {
    std::cout << "no root cause: nothing moved beyond the noise\n";
    return kExitOk;
  }
  std::cout << "root-cause set: " << set << "\n\n";
  std::cout << fmt::format("{:<40} {:>5} {:>12} {:>12} {:>13} {:>7} {:>10} {:>6}\n", "element", "dir",
                           "actual", "expected", "contribution", "share", "confidence", "score");
  for (const rca::RootCause& c : *causes) {
    std::cout << fmt::format("{:<40} {:>5} {:>12.6g} {:>12.6g} {:>+13.6g} {:>6.1f}% {:>10.2f} {:>6.3f}\n",
                             RcaElementString(*cube, c.element), c.direction > 0 ? "up" : "down", c.actual,
                             c.expected, c.contribution, c.deviation_share, c.confidence, c.score);
  }
  return kExitOk;
}

}  // namespace

Command RcaCommand() {
  return {{"rca",
           "Find the root cause of one interval's deviation in a leaf table (CSV, gzip accepted).",
           "osprey rca --csv FILE [--dimensions a,b,...] [--real COL] [--expected COL] "
           "[--denominator-real COL --denominator-expected COL] [--json]",
           "One row per leaf: a column per dimension and the actual and expected value of the "
           "interval (defaults 'real' and 'expected'; 'predict' is accepted for the expected "
           "value). Every column that is not a value column is a dimension unless --dimensions "
           "names them. For a ratio KPI (e.g. failures / attempts) give the numerator as "
           "--real/--expected and the denominator's columns; the KPI of a set of leaves is then "
           "SUM(numerator) / SUM(denominator). Prints the smallest set of elements (dimension=value "
           "conjunctions, coarsest first) that explains the deviation, with each element's "
           "direction, actual and expected KPI, contribution to the total's change, share of it, "
           "confidence (0-1) and score. --json prints {\"set\": \"a=a1&b=b2;c=c3\", \"elements\": "
           "[...]}, the set in the RCA benchmarks' syntax. The method: docs/rca.md.",
           {{"csv", 0, "FILE", "the leaf table (.csv or .csv.gz) with a header row"},
            {"dimensions", 0, "A,B,...", "dimension columns (default: every non-value column)"},
            {"real", 0, "COL", "actual value column (default 'real')"},
            {"expected", 0, "COL", "expected value column (default 'expected', else 'predict')"},
            {"denominator-real", 0, "COL", "ratio KPI: the denominator's actual column"},
            {"denominator-expected", 0, "COL", "ratio KPI: the denominator's expected column"},
            {"json", 0, "", "print JSON instead of a table"}},
           0,
           0},
          RunRca};
}

}  // namespace osprey::cli
