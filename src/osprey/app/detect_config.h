// detect-config: proposes a detector file from a sample of a query's rows —
// which column is the timestamp and in which format, the frequency (the
// median spacing of distinct timestamps, rounded to a standard ISO-8601
// duration), which text columns are dimensions (low cardinality) and which
// numeric columns are measures. The analysis (ProposeFromSample) is pure;
// SampleAndPropose runs the query through a real source first. Naive
// timestamp values get an explicit timestamp.timezone (UTC); values with an
// offset are read by it and get none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "osprey/base/row.h"
#include "osprey/base/status.h"
#include "osprey/config/detector.h"

namespace osprey::app {

struct DetectConfigRequest {
  config::SourceType type = config::SourceType::kSqlite;
  std::string path;            // sqlite file or csv directory
  std::string connection_env;  // postgres / mysql (or a path for sqlite/csv)
  std::string query;           // SQL; for csv ignored
  std::string name = "my-detector";
  int64_t sample_rows = 10000;
};

struct DetectConfigResult {
  config::Detector detector;
  std::vector<std::string> notes;  // what was decided and why, for stderr
};

// Rows as sampled: column names and each row's cells as text (null: nullopt)
// plus whether the cell was numeric in the source.
struct Sample {
  std::vector<std::string> columns;
  struct Value {
    bool null = false;
    bool number = false;
    std::string text;
  };
  std::vector<std::vector<Value>> rows;
};

// InvalidArgument when the sample is empty or no column parses as a
// timestamp in any known format (the message lists the columns).
Result<DetectConfigResult> ProposeFromSample(const Sample& sample, const DetectConfigRequest& req);

// The proposed detector as YAML, with a comment on timestamp.timezone when
// it is set.
std::string ProposalYaml(const DetectConfigResult& result);

// Samples the query (bound over 1970..2100 when it has the interval
// placeholders; stopping after sample_rows rows) and proposes a detector.
// Source errors as the sources report them.
Result<DetectConfigResult> SampleAndPropose(const DetectConfigRequest& req);

}  // namespace osprey::app
