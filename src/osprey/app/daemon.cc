#include "osprey/app/daemon.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "osprey/base/log.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/source.h"
#include "osprey/schedule/schedule.h"

namespace osprey::app {

namespace fs = std::filesystem;

namespace {

// A detector configuration the scheduler can run: it loads, its events file
// loads (`events` set: a file of --config) and its schedule can be planned.
// Relative paths are resolved against `dir` (empty: kept as written).
Result<config::Detector> LoadRunnable(const std::string& text, const std::string& where,
                                      const std::string& dir, bool events) {
  OSPREY_ASSIGN_OR_RETURN(config::Detector d, config::LoadDetector(text, where));
  config::ResolveRelativePaths(d, dir);
  if (events) {
    if (auto e = config::LoadEvents(d); !e.ok())
      return e.status().WithContext(fmt::format("{}: events", where));
  }
  if (auto plan = schedule::Plan::Create(d); !plan.ok()) {
    return plan.status().WithContext(fmt::format("{}: schedule", where));
  }
  return d;
}

bool SameDetector(const RegisteredDetector& a, const RegisteredDetector& b) {
  return a.name == b.name && a.origin == b.origin && a.load_error == b.load_error &&
         a.running.has_value() == b.running.has_value() && (!a.running || a.running->text == b.running->text);
}

bool SameSet(const DetectorSet& a, const DetectorSet& b) {
  if (a.detectors.size() != b.detectors.size() || a.broken_files.size() != b.broken_files.size() ||
      a.failing_files != b.failing_files) {
    return false;
  }
  for (size_t i = 0; i < a.detectors.size(); ++i) {
    if (!SameDetector(a.detectors[i], b.detectors[i])) return false;
  }
  for (size_t i = 0; i < a.broken_files.size(); ++i) {
    if (a.broken_files[i].path != b.broken_files[i].path ||
        a.broken_files[i].error != b.broken_files[i].error) {
      return false;
    }
  }
  return true;
}

}  // namespace

const RegisteredDetector* DetectorSet::Find(std::string_view name) const {
  for (const auto& d : detectors) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::vector<LoadedDetector> DetectorSet::Running() const {
  std::vector<LoadedDetector> out;
  for (const auto& d : detectors) {
    if (d.running) out.push_back(*d.running);
  }
  return out;
}

// The detector files of a directory and the last good version of each. A
// file that fails to load is reported and its previous version stays.
class DetectorRegistry::Files {
 public:
  explicit Files(std::string dir) : dir_(std::move(dir)) {}

  // Re-reads new and changed files (every file when `force`).
  void Refresh(bool force) {
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
      if (f.good && f.good->text == text.str() && f.error.empty()) continue;
      auto d = LoadRunnable(text.str(), path, fs::path(path).parent_path().string(), /*events=*/true);
      if (!d.ok()) {
        f.error = d.status().message();
        Log(LogLevel::kError,
            fmt::format("{}{}", f.error,
                        f.good ? "; the previous version keeps running" : "; not scheduled"));
        continue;
      }
      f.error.clear();
      f.good = LoadedDetector{*std::move(d), text.str(), "file:" + path};
      Log(LogLevel::kInfo, fmt::format("{}: detector '{}' loaded", path, f.good->detector.name));
    }
  }

  // The files' detectors into `out`: one per name (the first file by path
  // wins; the others are broken files).
  void AddTo(DetectorSet& out) const {
    std::map<std::string, std::string> names;  // name -> file
    for (const auto& [path, f] : files_) {
      if (!f.error.empty()) ++out.failing_files;
      if (!f.good) {
        out.broken_files.push_back({path, f.error});
        continue;
      }
      auto [it, fresh] = names.emplace(f.good->detector.name, path);
      if (!fresh) {
        const std::string error = fmt::format("{}: detector '{}' is already defined in {}; ignored", path,
                                              f.good->detector.name, it->second);
        if (reported_duplicates_.insert(error).second) Log(LogLevel::kError, error);
        out.broken_files.push_back({path, error});
        continue;
      }
      out.detectors.push_back({f.good->detector.name, f.good->origin, *f.good, f.error});
    }
  }

 private:
  struct File {
    fs::file_time_type mtime{};
    bool loaded_once = false;
    std::string error;  // the newest version's error; empty when it loaded
    std::optional<LoadedDetector> good;
  };
  std::string dir_;
  std::map<std::string, File> files_;
  mutable std::set<std::string> reported_duplicates_;
};

// The detectors created through the REST API (stored with origin "api"),
// read from the store on every Refresh so a POST, PUT or DELETE takes
// effect at once. A name that a file of --config defines is left to the
// file. A stored configuration that no longer loads is reported once per
// version and not scheduled. A text seen before is not parsed again.
class DetectorRegistry::ApiDetectors {
 public:
  void AddTo(store::Store& store, DetectorSet& out) {
    auto records = store.ListDetectors();
    if (!records.ok()) {
      Log(LogLevel::kWarn, fmt::format("listing the API's detectors: {}", records.status().message()));
    } else {
      std::map<std::string, Seen> seen;
      for (const auto& r : *records) {
        if (store::ManagedBy(r) != "api" || out.Find(r.name)) continue;
        if (auto it = seen_.find(r.name); it != seen_.end() && it->second.text == r.config) {
          seen.emplace(r.name, std::move(it->second));
          continue;
        }
        auto d = LoadRunnable(r.config, fmt::format("detector '{}' (created through the API)", r.name), "",
                              /*events=*/false);
        Seen s{r.config, {r.name, "api", std::nullopt, ""}};
        if (d.ok()) {
          s.entry.running = LoadedDetector{*std::move(d), r.config, "api"};
        } else {
          s.entry.load_error = d.status().message();
          Log(LogLevel::kError, fmt::format("{}; not scheduled", s.entry.load_error));
        }
        seen.emplace(r.name, std::move(s));
      }
      seen_ = std::move(seen);
    }
    // Kept when the store cannot be read, so a passing outage stops nothing.
    for (const auto& [name, s] : seen_) {
      if (!out.Find(name)) out.detectors.push_back(s.entry);
    }
  }

 private:
  struct Seen {
    std::string text;  // the stored configuration
    RegisteredDetector entry;
  };
  std::map<std::string, Seen> seen_;  // by name
};

DetectorRegistry::DetectorRegistry(std::string config_dir)
    : files_(config_dir.empty() ? nullptr : std::make_unique<Files>(std::move(config_dir))),
      api_(std::make_unique<ApiDetectors>()),
      snapshot_(std::make_shared<const DetectorSet>()) {}

DetectorRegistry::~DetectorRegistry() = default;

void DetectorRegistry::Refresh(store::Store& store, bool force_files) {
  std::lock_guard<std::mutex> refreshing(refresh_mu_);
  auto next = std::make_shared<DetectorSet>();
  if (files_) {
    files_->Refresh(force_files);
    files_->AddTo(*next);
  }
  api_->AddTo(store, *next);
  std::lock_guard<std::mutex> publishing(snapshot_mu_);
  if (snapshot_->version > 0 && SameSet(*snapshot_, *next)) return;
  next->version = snapshot_->version + 1;
  snapshot_ = std::move(next);
}

std::shared_ptr<const DetectorSet> DetectorRegistry::Snapshot() const {
  std::lock_guard<std::mutex> reading(snapshot_mu_);
  return snapshot_;
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
  d->registry_->Refresh(*d->store_, false);
  d->Apply();
  return d;
}

Daemon::~Daemon() = default;

void Daemon::Apply() {
  auto set = registry_->Snapshot();
  if (set->version == applied_version_) return;
  applied_version_ = set->version;
  Status s = scheduler_->SetDetectors(set->Running());
  if (!s.ok()) Log(LogLevel::kError, s.message());
}

void Daemon::Step(Instant now, bool reload_files) {
  registry_->Refresh(*store_, reload_files);
  Apply();
  Status t = scheduler_->Tick(now);
  if (!t.ok()) Log(LogLevel::kError, fmt::format("scheduler: {}", t.message()));
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
  bool reload = false;
  while (true) {
    Instant now = clock_.Now();
    if (o.until && now > *o.until) now = *o.until;
    Step(now, reload);
    if (reload) Log(LogLevel::kInfo, "SIGHUP: detector files reloaded");
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
    reload = sig == SIGHUP;
  }
  return DaemonResult{scheduler.totals(), registry_->Snapshot()->failing_files};
}

}  // namespace osprey::app
