// `osprey rca`: root cause of one anomalous interval from a leaf table the
// user already has (see docs/rca.md).
#pragma once

#include "osprey/cli/commands.h"

namespace osprey::cli {

// The command's spec and entry point, for the command table.
Command RcaCommand();

}  // namespace osprey::cli
