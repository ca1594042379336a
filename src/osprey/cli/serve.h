// `osprey serve`: parses the flags, starts the REST API and UI server and
// runs the daemon (app/daemon.h: detector registry, file watching, the
// schedule loop) until SIGINT or SIGTERM. `--once` and `--until` run the
// schedule without the API, for scripts.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "osprey/api/server.h"
#include "osprey/base/clock.h"
#include "osprey/base/status.h"
#include "osprey/cli/args.h"

namespace osprey::cli {

struct ServeOptions {
  api::ServerOptions server;
  std::string config_dir;        // detector files to schedule; empty: none
  bool once = false;             // process what is due, then exit
  std::optional<Instant> until;  // run until the clock reaches this, then exit
};

// Makes `osprey serve` run on `clock` instead of the system clock. Only the
// test build of the binary (osprey_testbin, src/osprey/testing/testbin_main.cc)
// calls it, before Main.
void SetServeClock(std::unique_ptr<Clock> clock);

// Starts the API server on options.server. The caller stops it.
Result<std::unique_ptr<api::Server>> StartServing(const ServeOptions& options, const Clock& clock);

int RunServeCommand(const Args& args);

// `osprey status`: each detector's scheduler state, watermark, runs, last
// error and the data-quality figures of its last interval.
int RunStatusCommand(const Args& args);

}  // namespace osprey::cli
