// The business-data detection benchmark (bench/business/README.md): osprey's
// default model beside the peers and the generator's oracle, event F1 per
// measure, per setting, over several seeds.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "business/harness.h"
#include "business/pipeline_runner.h"
#include "osprey/testing/files.h"

namespace {

constexpr const char* kUsage =
    "usage: business_bench [--family hourly|ops|all] [--setting NAME] [--seeds N] [--quick] [--peers "
    "all|oracle]\n"
    "                      [--osprey-threshold S] [--pipeline [--plain-avg] [--naive-local] "
    "[--rate-column]]\n"
    "                      [--days N] [--no-calendar] [--no-holidays] [--failed-requests]\n"
    "  --family   which data family (default all)\n"
    "  --setting  one setting: base, noisy or sparse (default every setting)\n"
    "  --seeds    seeds 1..N per setting (default 3)\n"
    "  --quick    shorter data (hourly 112 days, ops 14 days), as the quality test uses\n"
    "  --days N   every dataset N days long (hourly default 400, ops 35; anomalies spread over them)\n"
    "  --peers    all (default) or oracle: osprey beside the generator's two oracles only (faster)\n"
    "  --osprey-threshold S\n"
    "             osprey's \"F1 default\" column at severity S (default 50, the anomaly threshold)\n"
    "  --pipeline run osprey as a user does: each dataset written to a SQLite warehouse (one row\n"
    "             per leaf and interval), a detector file with the documented defaults, `osprey\n"
    "             backtest` into a fresh state and the stored severities read back (slower); without\n"
    "             it the model is fed directly\n"
    "  --plain-avg with --pipeline: declare a mean measure (5-minute latency; with --rate-column the\n"
    "             error rate too) as a bare AVG of the leaves' averaged rows instead of\n"
    "             `aggregation: AVG, weight: requests`\n"
    "  --naive-local with --pipeline: the warehouse's timestamps as naive local text in the data's\n"
    "             zone (fall-back's repeated hour twice) instead of epoch seconds\n"
    "  --rate-column with --pipeline: the error rate as a column of its own (each row's errors over\n"
    "             its requests), declared AVG weighted by the requests, instead of a ratio measure\n"
    "  --pipeline-dir DIR\n"
    "             with --pipeline: keep each dataset's warehouse, detector file (bench.yaml) and state\n"
    "             in DIR/FAMILY-SETTING-SEED (for `osprey serve --state` or sqlite3) instead of a\n"
    "             temporary directory\n"
    "  --no-calendar osprey is not told the holidays and maintenance windows (a user who lists no\n"
    "             events); the peers and the labels are unchanged\n"
    "  --no-holidays osprey without the built-in holiday calendar of the data's zone (`holidays:\n"
    "             none`; by default it has it, as a detector's `holidays: auto` does)\n"
    "  --failed-requests the ops family's errors are failed requests (never more than the interval's\n"
    "             requests; a burst on a quiet endpoint fails the few it has), labelled by the count's\n"
    "             own tail; by default they are drawn around the expected requests (the tables\n"
    "             measured before the option existed, and the quality floors, were)\n";

}  // namespace

int main(int argc, char** argv) {
  osprey::bench::BenchOptions options;
  bool pipeline = false;
  std::string keep_dir;
  osprey::bench::PipelineOptions pipeline_options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--family" && has_value) {
      const std::string f = argv[++i];
      if (f == "all") {
        options.families = {"hourly", "ops"};
      } else if (f == "hourly" || f == "ops") {
        options.families = {f};
      } else {
        std::cerr << "business_bench: unknown --family '" << f << "'\n" << kUsage;
        return 2;
      }
    } else if (arg == "--setting" && has_value) {
      options.settings = {argv[++i]};
    } else if (arg == "--seeds" && has_value) {
      options.seeds = std::atoi(argv[++i]);
      if (options.seeds < 1) {
        std::cerr << "business_bench: --seeds must be a positive integer\n" << kUsage;
        return 2;
      }
    } else if (arg == "--peers" && has_value) {
      const std::string p = argv[++i];
      if (p != "all" && p != "oracle") {
        std::cerr << "business_bench: --peers must be all or oracle, not '" << p << "'\n" << kUsage;
        return 2;
      }
      options.oracle_only = p == "oracle";
    } else if (arg == "--osprey-threshold" && has_value) {
      char* end = nullptr;
      options.osprey_threshold = std::strtod(argv[++i], &end);
      if (end == argv[i] || *end != '\0' ||
          !(options.osprey_threshold >= 0 && options.osprey_threshold <= 100)) {
        std::cerr << "business_bench: --osprey-threshold must be a severity from 0 to 100, not '" << argv[i]
                  << "'\n"
                  << kUsage;
        return 2;
      }
    } else if (arg == "--pipeline") {
      pipeline = true;
    } else if (arg == "--plain-avg") {
      pipeline = true;
      pipeline_options.plain_avg = true;
    } else if (arg == "--rate-column") {
      pipeline = true;
      pipeline_options.rate_column = true;
    } else if (arg == "--naive-local") {
      pipeline = true;
      pipeline_options.naive_local = true;
    } else if (arg == "--pipeline-dir" && has_value) {
      pipeline = true;
      keep_dir = argv[++i];
    } else if (arg == "--no-holidays") {
      options.holidays = false;
      pipeline_options.holidays = false;
    } else if (arg == "--failed-requests") {
      options.failed_requests = true;
    } else if (arg == "--no-calendar") {
      options.listed_events = false;
    } else if (arg == "--days" && has_value) {
      options.days = std::atoi(argv[++i]);
      if (options.days < 15 || options.days > 3000) {
        std::cerr << "business_bench: --days must be a whole number of days from 15 to 3000\n" << kUsage;
        return 2;
      }
    } else if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "business_bench: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (pipeline) {
    options.osprey_name = "osprey (backtest via SQLite";
    if (pipeline_options.plain_avg) options.osprey_name += ", plain AVG";
    if (pipeline_options.naive_local) options.osprey_name += ", naive local time";
    if (pipeline_options.rate_column) options.osprey_name += ", rate column";
    options.osprey_name += ")";
    options.score_osprey = [keep_dir, pipeline_options](const osprey::testing::Dataset& data) {
      if (keep_dir.empty()) {
        osprey::testing::TempDir dir("osprey_business_");
        return osprey::bench::ScoreThroughPipeline(data, dir.path().string(), pipeline_options);
      }
      const std::filesystem::path dir = std::filesystem::path(keep_dir) /
                                        (data.family + "-" + data.setting + "-" + std::to_string(data.seed));
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        return osprey::Result<osprey::bench::OspreyScores>(
            osprey::InvalidArgument("--pipeline-dir: cannot create " + dir.string() + ": " + ec.message()));
      }
      return osprey::bench::ScoreThroughPipeline(data, std::filesystem::absolute(dir).string(),
                                                 pipeline_options);
    };
  }
  if (!options.holidays) options.osprey_name += " without holidays";
  if (!options.listed_events) options.osprey_name += " without the listed events";
  auto runs = osprey::bench::RunBusinessBench(options, &std::cerr);
  if (!runs.ok()) {
    std::cerr << "business_bench: " << runs.status().ToString() << "\n";
    return 1;
  }
  osprey::bench::PrintTable(*runs, std::cout);
  return 0;
}
