// The osprey sub-commands. Each returns a process exit code: 0 ok, 2 usage
// error, 78 bad configuration (EX_CONFIG), 1 any other failure.
#pragma once

#include <string>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/cli/args.h"

namespace osprey::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConfig = 78;

struct Command {
  CommandSpec spec;
  int (*run)(const Args& args);
};

const std::vector<Command>& Commands();

// Prints `status` to stderr and returns the exit code it maps to: 78 for
// configuration errors (InvalidArgument while loading a detector file), 1
// otherwise.
int Fail(const Status& status, bool config_error = false);

// The state store (a SQLite path or a PostgreSQL URL/DSN, see
// store::OpenStore): --state, else $OSPREY_STATE, else ./osprey-state.db.
std::string StatePath(const Args& args);

}  // namespace osprey::cli
