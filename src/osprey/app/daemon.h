// The daemon behind `osprey serve`: the detector registry (the files of a
// --config directory plus the detectors created through the REST API), the
// loop that runs app::Scheduler on the clock, and the signals that stop it
// or reload the files. cli/serve.cc parses the flags, starts the API server
// (api/ sits above app/) with the daemon's registry and calls Daemon::Run.
//
// One registry: the scheduler runs the registry's current set and the API
// answers from the same set (api::ServerOptions::registry), so the API, the
// web UI and the scheduler show the same version of every detector, and the
// error of a newer version that does not load. The API writes the detectors
// it creates to the state store (origin "api") and refreshes the registry
// before it answers; the registry reads them from there, so several
// processes on one store share them too.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
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

// A detector of the registry: the version the scheduler runs and, when the
// newest version of its file or stored configuration does not load, why.
struct RegisteredDetector {
  std::string name;
  std::string origin;                     // "file:<path>" or "api"
  std::optional<LoadedDetector> running;  // unset: no version loads, nothing runs
  std::string load_error;                 // the newest version's error (file:line); empty when it loads
};

// A file of --config that fails to load and runs no detector (one whose
// previous version runs reports its error as that detector's load_error).
struct BrokenFile {
  std::string path;
  std::string error;
};

// The registry's set at one moment. Immutable once published: readers keep
// the shared_ptr as long as they need it.
struct DetectorSet {
  int64_t version = 0;  // a new number for every change
  // File detectors first (by path), then the API's (by name). Relative paths
  // of a file's detector are resolved against the file's directory.
  std::vector<RegisteredDetector> detectors;
  std::vector<BrokenFile> broken_files;
  int failing_files = 0;  // files of --config that currently fail to load, with or without a running version

  // The entry named `name`, or null.
  const RegisteredDetector* Find(std::string_view name) const;
  // What the scheduler runs.
  std::vector<LoadedDetector> Running() const;
};

// What the scheduler runs and the API shows: the detector files of a
// directory (the last good version of each; a file that fails to load is
// reported and its previous version stays) and the detectors created through
// the REST API (read from the state store on every Refresh; a name a file
// defines belongs to the file). A version is good when it loads, its events
// file loads and its schedule can be planned.
//
// Thread-safe: the daemon refreshes it in its loop, API handlers after they
// change a detector, and any thread reads Snapshot().
class DetectorRegistry {
 public:
  // `config_dir` empty: API detectors only.
  explicit DetectorRegistry(std::string config_dir);
  ~DetectorRegistry();
  DetectorRegistry(const DetectorRegistry&) = delete;
  DetectorRegistry& operator=(const DetectorRegistry&) = delete;

  // Re-reads new and changed files (every file when `force_files`) and the
  // API's detectors from `store`, and publishes a new snapshot when the set
  // or an error changed.
  void Refresh(store::Store& store, bool force_files);
  // The current set (never null; empty before the first Refresh).
  std::shared_ptr<const DetectorSet> Snapshot() const;

 private:
  class Files;
  class ApiDetectors;
  std::mutex refresh_mu_;  // one Refresh at a time
  std::unique_ptr<Files> files_;
  std::unique_ptr<ApiDetectors> api_;
  mutable std::mutex snapshot_mu_;
  std::shared_ptr<const DetectorSet> snapshot_;
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
  // receives them), opens the store, loads the detectors and gives them to the scheduler
  // (registering them in the store).
  static Result<std::unique_ptr<Daemon>> Create(DaemonOptions options, const Clock& clock);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs the schedule until SIGINT or SIGTERM, or with `once`/`until` until
  // that work is done. Each round is a Step; between rounds it sleeps until
  // the next due time (in wall time at the clock's speed), at most one
  // second, so changed files and API detectors are noticed; SIGHUP re-reads
  // every file.
  DaemonResult Run();

  // One round of the loop: refreshes the registry (every file when
  // `reload_files`), gives the scheduler the registry's set when it changed
  // and runs what is due at `now`. Tests drive the daemon with it on a
  // testing clock.
  void Step(Instant now, bool reload_files);

  // The registry the scheduler runs from; the API server reads it.
  DetectorRegistry& registry() { return *registry_; }
  // For tests: the scheduler, between Steps.
  const Scheduler& scheduler() const { return *scheduler_; }

 private:
  Daemon(DaemonOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {}
  // Gives the scheduler the registry's set when it changed since the last call.
  void Apply();
  DaemonOptions options_;
  const Clock& clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<alerts::Transport> transport_;
  std::unique_ptr<alerts::Deliverer> deliverer_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<DetectorRegistry> registry_;
  int64_t applied_version_ = -1;  // the registry set the scheduler runs
};

}  // namespace osprey::app
