// Import of an Amazon Lookout for Metrics `params.json` (the file the L4M
// custom-connector and workshop samples used to create a detector) into an
// osprey Detector. L4M read exported CSVs from S3; osprey runs SQL itself, so
// some settings cannot be carried over (S3 paths, IAM roles, Lambda ARNs,
// Secrets Manager names). Those are reported as warnings, each saying what to
// set instead, and the detector gets a template query to edit.
// Pure function of its input; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/config/detector.h"

namespace osprey::config {

struct ImportResult {
  // Valid: DetectorToYaml(detector) loads back with LoadDetector.
  Detector detector;
  // One line per setting that was dropped, guessed or needs editing.
  std::vector<std::string> warnings;
};

// Converts params.json text. `origin` names the input in messages and becomes
// detector.origin. InvalidArgument ("origin: field: what is wrong") when the
// text is not JSON, a field has the wrong type, or a required field
// (detector_frequency, metrics_set) is missing or invalid.
Result<ImportResult> ImportL4mParams(std::string_view json_text, const std::string& origin);

}  // namespace osprey::config
