// `osprey validate --explain`: how a detector reads its source -- the query
// osprey runs, and whether the per-interval aggregation runs in the
// database (connectors/push_down.h) and why not when it does not.
#pragma once

#include <string>

#include "osprey/config/detector.h"

namespace osprey::app {

// Human-readable lines, ending in a newline.
std::string ExplainSource(const config::Detector& d);

}  // namespace osprey::app
