// `osprey serve`: registers the detector files of a directory, starts the
// API + UI server and (later) the scheduler, and runs until SIGINT or
// SIGTERM. StartServing is separate from the command so other entry points
// (and tests) can start the same thing.
#pragma once

#include <memory>
#include <string>

#include "osprey/api/server.h"
#include "osprey/base/clock.h"
#include "osprey/base/status.h"
#include "osprey/cli/args.h"

namespace osprey::cli {

struct ServeOptions {
  api::ServerOptions server;
  std::string config_dir;  // detector files to register; empty: none
};

// Validates and registers the detector files in options.config_dir (all or
// nothing: InvalidArgument naming the first bad file), then starts the API
// server. The caller stops it.
Result<std::unique_ptr<api::Server>> StartServing(const ServeOptions& options, const Clock& clock);

int RunServeCommand(const Args& args);

}  // namespace osprey::cli
