// The daemon behind `osprey serve`: the detector registry (the files of a
// --config directory plus the detectors created through the REST API), the
// loop that runs app::Scheduler on the clock, and the signals that stop it
// or reload the files. cli/serve.cc parses the flags, starts the API server
// (api/ sits above app/) and calls Daemon::Run.
//
// The API does not hold detectors of its own: it writes them to the state
// store (origin "api") and the registry reads them from there, so the API
// and the scheduler share one registry whatever process serves the request.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "osprey/alerts/deliver.h"
#include "osprey/alerts/transport.h"
#include "osprey/app/scheduler.h"
#include "osprey/base/clock.h"
#include "osprey/base/status.h"
#include "osprey/base/time.h"
#include "osprey/store/store.h"

namespace osprey::app {

// What the scheduler runs: the detector files of a directory (the last good
// version of each; a file that fails to load is reported and its previous
// version stays) and the detectors created through the REST API (read from
// the store on every Refresh; a name a file defines belongs to the file).
class DetectorRegistry {
 public:
  // `config_dir` empty: API detectors only.
  explicit DetectorRegistry(std::string config_dir);
  ~DetectorRegistry();
  DetectorRegistry(const DetectorRegistry&) = delete;
  DetectorRegistry& operator=(const DetectorRegistry&) = delete;

  // Re-reads new and changed files (every file when `force_files`) and the
  // API's detectors. Returns whether the set changed since the last call.
  bool Refresh(store::Store& store, bool force_files);
  // The current set, file detectors first.
  const std::vector<LoadedDetector>& Detectors() const { return all_; }
  // Files of the directory that currently fail to load.
  int broken_files() const { return broken_; }

 private:
  class Files;
  class ApiDetectors;
  std::unique_ptr<Files> files_;
  std::unique_ptr<ApiDetectors> api_;
  std::vector<LoadedDetector> file_detectors_;  // files_->Detectors() as of the last change
  std::vector<LoadedDetector> all_;
  bool refreshed_ = false;
  std::map<std::string, std::pair<std::string, std::string>> key_;  // name -> (text, origin)
  int broken_ = 0;
};

struct DaemonOptions {
  std::string state_path;        // store::OpenStore
  std::string config_dir;        // detector files to schedule; empty: none
  bool once = false;             // process what is due, then return
  std::optional<Instant> until;  // run until the clock reaches this, then return
  SchedulerOptions scheduler;    // progress reporting
  // Instants of the clock per wall-clock second (a testing clock may run
  // faster); the loop's sleeps are divided by it.
  double clock_speed = 1.0;
};

struct DaemonResult {
  RunStats totals;
  int broken_files = 0;  // detector files that failed to load at the end
};

class Daemon {
 public:
  // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (call it before
  // any other thread starts, so every thread inherits the mask and Run
  // receives them), opens the store and loads the detectors.
  static Result<std::unique_ptr<Daemon>> Create(DaemonOptions options, const Clock& clock);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs the schedule until SIGINT or SIGTERM, or with `once`/`until` until
  // that work is done. Between ticks it sleeps until the next due time (in
  // wall time at the clock's speed), at most one second, so changed files
  // and API detectors are noticed; SIGHUP re-reads every file.
  DaemonResult Run();

 private:
  Daemon(DaemonOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {}
  // Applies the registry's set to the scheduler when it changed.
  void Reschedule(bool force_files);
  DaemonOptions options_;
  const Clock& clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<alerts::Transport> transport_;
  std::unique_ptr<alerts::Deliverer> deliverer_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<DetectorRegistry> registry_;
};

}  // namespace osprey::app
