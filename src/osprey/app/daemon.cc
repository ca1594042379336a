#include "osprey/app/daemon.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "osprey/base/log.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/source.h"

namespace osprey::app {

namespace fs = std::filesystem;

// The detector files of a directory and the last good version of each. A
// file that fails to load is reported and its previous version stays.
class DetectorRegistry::Files {
 public:
  explicit Files(std::string dir) : dir_(std::move(dir)) {}

  // Re-reads new and changed files (every file when `force`). Returns
  // whether the set of good detectors changed; `*broken` counts the files
  // that currently fail to load.
  bool Refresh(bool force, int* broken) {
    bool changed = false;
    std::error_code ec;
    std::map<std::string, fs::file_time_type> seen;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      const std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".yaml" && ext != ".yml" && ext != ".json")) continue;
      seen[e.path().string()] = fs::last_write_time(e.path(), ec);
    }
    if (ec) Log(LogLevel::kWarn, fmt::format("--config {}: {}", dir_, ec.message()));
    for (auto it = files_.begin(); it != files_.end();) {
      if (!seen.count(it->first)) {
        Log(LogLevel::kInfo, fmt::format("{}: removed; its detector is no longer scheduled", it->first));
        it = files_.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    for (const auto& [path, mtime] : seen) {
      File& f = files_[path];
      if (!force && f.loaded_once && f.mtime == mtime) continue;
      f.loaded_once = true;
      f.mtime = mtime;
      std::ifstream in(path);
      std::stringstream text;
      text << in.rdbuf();
      if (f.good && f.good->text == text.str() && !f.error) continue;
      auto d = config::LoadDetector(text.str(), path);
      if (d.ok()) config::ResolveRelativePaths(*d, fs::path(path).parent_path().string());
      if (d.ok()) {
        // A broken events file is a broken detector: the previous version keeps running.
        if (auto events = config::LoadEvents(*d); !events.ok()) {
          d = events.status().WithContext(fmt::format("{}: events", path));
        }
      }
      if (!d.ok()) {
        f.error = true;
        Log(LogLevel::kError,
            fmt::format("{}{}", d.status().message(),
                        f.good ? "; the previous version keeps running" : "; not scheduled"));
        continue;
      }
      f.error = false;
      f.good = LoadedDetector{*std::move(d), text.str(), "file:" + path};
      changed = true;
      Log(LogLevel::kInfo, fmt::format("{}: detector '{}' loaded", path, f.good->detector.name));
    }
    *broken = static_cast<int>(
        std::count_if(files_.begin(), files_.end(), [](const auto& kv) { return kv.second.error; }));
    return changed;
  }

  std::vector<LoadedDetector> Detectors() const {
    std::vector<LoadedDetector> out;
    std::map<std::string, std::string> names;  // name -> file
    for (const auto& [path, f] : files_) {
      if (!f.good) continue;
      auto [it, fresh] = names.emplace(f.good->detector.name, path);
      if (!fresh) {
        Log(LogLevel::kError, fmt::format("{}: detector '{}' is already defined in {}; ignored", path,
                                          f.good->detector.name, it->second));
        continue;
      }
      out.push_back(*f.good);
    }
    return out;
  }

 private:
  struct File {
    fs::file_time_type mtime{};
    bool loaded_once = false;
    bool error = false;
    std::optional<LoadedDetector> good;
  };
  std::string dir_;
  std::map<std::string, File> files_;
};

// The detectors created through the REST API (stored with origin "api"),
// read from the store on every loop so a POST, PUT or DELETE takes effect
// within a second. A name that a file of --config defines is left to the
// file. A stored configuration that no longer loads is reported once per
// version and not scheduled.
class DetectorRegistry::ApiDetectors {
 public:
  std::vector<LoadedDetector> Read(store::Store& store, const std::vector<LoadedDetector>& files) {
    std::vector<LoadedDetector> out;
    auto records = store.ListDetectors();
    if (!records.ok()) {
      Log(LogLevel::kWarn, fmt::format("listing the API's detectors: {}", records.status().message()));
      return last_;
    }
    for (const auto& r : *records) {
      if (store::ManagedBy(r) != "api") continue;
      if (std::any_of(files.begin(), files.end(), [&](const auto& f) { return f.detector.name == r.name; })) {
        continue;
      }
      auto d = config::LoadDetector(r.config, fmt::format("detector '{}' (created through the API)", r.name));
      if (!d.ok()) {
        if (reported_[r.name] != r.config) {
          Log(LogLevel::kError, fmt::format("{}; not scheduled", d.status().message()));
          reported_[r.name] = r.config;
        }
        continue;
      }
      reported_.erase(r.name);
      out.push_back(LoadedDetector{*std::move(d), r.config, "api"});
    }
    last_ = out;
    return out;
  }

 private:
  std::vector<LoadedDetector> last_;
  std::map<std::string, std::string> reported_;  // name -> config text already reported broken
};

DetectorRegistry::DetectorRegistry(std::string config_dir)
    : files_(config_dir.empty() ? nullptr : std::make_unique<Files>(std::move(config_dir))),
      api_(std::make_unique<ApiDetectors>()) {}

DetectorRegistry::~DetectorRegistry() = default;

bool DetectorRegistry::Refresh(store::Store& store, bool force_files) {
  if (files_ && (files_->Refresh(force_files || !refreshed_, &broken_) || !refreshed_)) {
    file_detectors_ = files_->Detectors();
  }
  std::vector<LoadedDetector> all = file_detectors_;
  for (auto& d : api_->Read(store, all)) all.push_back(std::move(d));
  // Changed when the set differs by name, text or origin.
  std::map<std::string, std::pair<std::string, std::string>> key;
  for (const auto& d : all) key[d.detector.name] = {d.text, d.origin};
  if (refreshed_ && key == key_) return false;
  refreshed_ = true;
  key_ = std::move(key);
  all_ = std::move(all);
  return true;
}

Result<std::unique_ptr<Daemon>> Daemon::Create(DaemonOptions options, const Clock& clock) {
  // Block the signals before any thread starts, so every thread inherits the
  // mask and Run receives them with sigtimedwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<Daemon> d(new Daemon(std::move(options), clock));
  OSPREY_ASSIGN_OR_RETURN(d->store_, store::OpenStore(d->options_.state_path));
  d->transport_ = alerts::NewSystemTransport();
  d->deliverer_ = std::make_unique<alerts::Deliverer>(*d->store_, *d->transport_);
  d->scheduler_ = std::make_unique<Scheduler>(*d->store_, connectors::OpenSource, d->deliverer_.get(),
                                              d->options_.scheduler);
  d->registry_ = std::make_unique<DetectorRegistry>(d->options_.config_dir);
  d->Reschedule(false);
  return d;
}

Daemon::~Daemon() = default;

void Daemon::Reschedule(bool force_files) {
  if (!registry_->Refresh(*store_, force_files)) return;
  Status s = scheduler_->SetDetectors(registry_->Detectors());
  if (!s.ok()) Log(LogLevel::kError, s.message());
}

DaemonResult Daemon::Run() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  const DaemonOptions& o = options_;
  const double speed = o.clock_speed;
  Scheduler& scheduler = *scheduler_;
  while (true) {
    Instant now = clock_.Now();
    if (o.until && now > *o.until) now = *o.until;
    Status t = scheduler.Tick(now);
    if (!t.ok()) Log(LogLevel::kError, fmt::format("scheduler: {}", t.message()));
    if (o.once || (o.until && now >= *o.until)) break;
    // Sleep until the next due time (in wall time at the clock's speed), at
    // most one second so changed files are noticed, or until a signal.
    double wait_s = 1.0;
    if (auto next = scheduler.NextWakeup()) {
      const double fake_s = static_cast<double>(ToUnixSeconds(*next) - ToUnixSeconds(now));
      wait_s = std::clamp(fake_s / speed, 0.0, 1.0);
    }
    if (o.until) {
      const double to_end = static_cast<double>(ToUnixSeconds(*o.until) - ToUnixSeconds(now)) / speed;
      wait_s = std::clamp(std::min(wait_s, to_end), 0.0, 1.0);
    }
    timespec ts{static_cast<time_t>(wait_s),
                static_cast<long>((wait_s - static_cast<double>(static_cast<time_t>(wait_s))) * 1e9)};
    if (ts.tv_sec == 0 && ts.tv_nsec < 1000000) ts.tv_nsec = 1000000;
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      std::fprintf(stderr, "osprey serve: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    Reschedule(sig == SIGHUP);
    if (sig == SIGHUP) Log(LogLevel::kInfo, "SIGHUP: detector files reloaded");
  }
  return DaemonResult{scheduler.totals(), registry_->broken_files()};
}

}  // namespace osprey::app
