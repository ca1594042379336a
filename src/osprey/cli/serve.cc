#include "osprey/cli/serve.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "osprey/alerts/deliver.h"
#include "osprey/alerts/transport.h"
#include "osprey/api/views.h"
#include "osprey/app/scheduler.h"
#include "osprey/base/log.h"
#include "osprey/cli/commands.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/source.h"
#include "osprey/store/store.h"

namespace osprey::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The detector files of a directory and the last good version of each. A
// file that fails to load is reported and its previous version stays.
class DetectorFiles {
 public:
  explicit DetectorFiles(std::string dir) : dir_(std::move(dir)) {}

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
      f.good = app::LoadedDetector{*std::move(d), text.str(), "file:" + path};
      changed = true;
      Log(LogLevel::kInfo, fmt::format("{}: detector '{}' loaded", path, f.good->detector.name));
    }
    *broken = static_cast<int>(std::count_if(files_.begin(), files_.end(),
                                             [](const auto& kv) { return kv.second.error; }));
    return changed;
  }

  std::vector<app::LoadedDetector> Detectors() const {
    std::vector<app::LoadedDetector> out;
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
    std::optional<app::LoadedDetector> good;
  };
  std::string dir_;
  std::map<std::string, File> files_;
};

// The detectors created through the REST API (stored with origin "api"),
// read from the store on every loop so a POST, PUT or DELETE takes effect
// within a second. A name that a file of --config defines is left to the
// file. A stored configuration that no longer loads is reported once per
// version and not scheduled.
class ApiDetectors {
 public:
  std::vector<app::LoadedDetector> Read(store::Store& store, const std::vector<app::LoadedDetector>& files) {
    std::vector<app::LoadedDetector> out;
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
      out.push_back(app::LoadedDetector{*std::move(d), r.config, "api"});
    }
    last_ = out;
    return out;
  }

 private:
  std::vector<app::LoadedDetector> last_;
  std::map<std::string, std::string> reported_;  // name -> config text already reported broken
};

// What the scheduler runs: the --config files plus the API's detectors.
// Applies the set when it changed (by name, text and origin).
class Schedulable {
 public:
  void Apply(app::Scheduler& scheduler, std::vector<app::LoadedDetector> detectors) {
    std::map<std::string, std::pair<std::string, std::string>> key;
    for (const auto& d : detectors) key[d.detector.name] = {d.text, d.origin};
    if (applied_ && key == key_) return;
    key_ = std::move(key);
    applied_ = true;
    Status s = scheduler.SetDetectors(std::move(detectors));
    if (!s.ok()) Log(LogLevel::kError, s.message());
  }

 private:
  bool applied_ = false;
  std::map<std::string, std::pair<std::string, std::string>> key_;
};

// Progress of backfills and catch-ups: a bar redrawn in place on a terminal,
// plain lines otherwise.
void PrintProgress(const std::string& detector, Instant next, int64_t done, int64_t total,
                   const app::RunStats& stats) {
  static const bool tty = isatty(fileno(stderr)) != 0;
  const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  if (tty) {
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    std::fprintf(stderr, "\r%s [%s%s] %3d%% %lld/%lld intervals, %lld points, next %s", detector.c_str(),
                 std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(width - filled), '.').c_str(), static_cast<int>(frac * 100),
                 static_cast<long long>(done), static_cast<long long>(total),
                 static_cast<long long>(stats.points), FormatIso(next).c_str());
    if (done >= total) std::fputc('\n', stderr);
  } else {
    std::fprintf(stderr, "osprey serve: %s: %lld/%lld intervals (%d%%), %lld points, next %s\n",
                 detector.c_str(), static_cast<long long>(done), static_cast<long long>(total),
                 static_cast<int>(frac * 100), static_cast<long long>(stats.points), FormatIso(next).c_str());
  }
  std::fflush(stderr);
}

// The clock SetServeClock installed, if any.
std::unique_ptr<Clock>& InstalledClock() {
  static std::unique_ptr<Clock> clock;
  return clock;
}

}  // namespace

void SetServeClock(std::unique_ptr<Clock> clock) { InstalledClock() = std::move(clock); }

Result<std::unique_ptr<api::Server>> StartServing(const ServeOptions& options, const Clock& clock) {
  OSPREY_ASSIGN_OR_RETURN(auto server, api::Server::Create(options.server, clock));
  OSPREY_RETURN_IF_ERROR(server->Start());
  return server;
}

int RunServeCommand(const Args& args) {
  ServeOptions o;
  o.config_dir = args.GetOr("config", "");
  o.server.state_path = StatePath(args);
  o.server.bind = args.GetOr("bind", "127.0.0.1");
  o.server.web_dir = args.GetOr("web-dir", "");
  o.once = args.Has("once");
  for (auto [flag, target] : {std::pair{"port", &o.server.port}, std::pair{"threads", &o.server.threads}}) {
    if (auto v = args.Get(flag)) {
      char* end = nullptr;
      long n = std::strtol(v->c_str(), &end, 10);
      if (end == v->c_str() || *end != '\0' || n < 0 || n > 65535) {
        std::fprintf(stderr, "osprey serve: --%s '%s' is not a number in range\n", flag, v->c_str());
        return kExitUsage;
      }
      *target = static_cast<int>(n);
    }
  }
  if (auto u = args.Get("until")) {
    auto t = ParseInstant(*u, TimeZone::Utc());
    if (!t.ok()) {
      std::fprintf(stderr, "osprey serve: --until: %s\n", t.status().message().c_str());
      return kExitUsage;
    }
    o.until = *t;
  }
  if (!o.config_dir.empty() && !fs::is_directory(o.config_dir)) {
    return Fail(InvalidArgument(fmt::format("--config {}: not a directory", o.config_dir)), true);
  }
  std::unique_ptr<Clock> clock = std::move(InstalledClock());
  if (!clock) clock = std::make_unique<SystemClock>();
  const double speed = clock->Rate();

  // Block the signals before any thread starts, so every thread inherits the
  // mask and this one receives them with sigtimedwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto store = store::OpenStore(o.server.state_path);
  if (!store.ok()) return Fail(store.status());
  auto transport = alerts::NewSystemTransport();
  alerts::Deliverer deliverer(**store, *transport);
  app::SchedulerOptions so;
  so.progress = PrintProgress;
  app::Scheduler scheduler(**store, connectors::OpenSource, &deliverer, so);
  DetectorFiles files(o.config_dir);
  ApiDetectors api_detectors;
  Schedulable schedulable;
  int broken = 0;
  std::vector<app::LoadedDetector> file_detectors;  // files.Detectors() as of the last change
  auto reschedule = [&] {
    std::vector<app::LoadedDetector> all = file_detectors;
    for (auto& d : api_detectors.Read(**store, all)) all.push_back(std::move(d));
    schedulable.Apply(scheduler, std::move(all));
  };
  if (!o.config_dir.empty()) {
    files.Refresh(true, &broken);
    file_detectors = files.Detectors();
  }
  reschedule();

  std::unique_ptr<api::Server> server;
  const bool scripted = o.once || o.until.has_value();
  if (!scripted) {
    auto started = StartServing(o, *clock);
    if (!started.ok()) return Fail(started.status());
    server = *std::move(started);
    std::printf("osprey is serving the API and UI at http://%s:%d/ (state %s). Ctrl-C stops it.\n",
                o.server.bind.c_str(), server->port(), RedactSecrets(o.server.state_path).c_str());
    std::fflush(stdout);
  }

  int exit_code = kExitOk;
  while (true) {
    Instant now = clock->Now();
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
    timespec ts{static_cast<time_t>(wait_s), static_cast<long>((wait_s - static_cast<double>(static_cast<time_t>(wait_s))) * 1e9)};
    if (ts.tv_sec == 0 && ts.tv_nsec < 1000000) ts.tv_nsec = 1000000;
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      std::fprintf(stderr, "osprey serve: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (!o.config_dir.empty() && files.Refresh(sig == SIGHUP, &broken)) file_detectors = files.Detectors();
    reschedule();
    if (sig == SIGHUP) Log(LogLevel::kInfo, "SIGHUP: detector files reloaded");
  }
  if (server) server->Stop();
  const auto& totals = scheduler.totals();
  if (scripted) {
    std::fprintf(stderr, "osprey serve: %lld intervals, %lld points processed\n",
                 static_cast<long long>(totals.intervals), static_cast<long long>(totals.points));
    if (broken > 0) exit_code = kExitConfig;
  }
  return exit_code;
}

int RunStatusCommand(const Args& args) {
  auto store = store::OpenStore(StatePath(args));
  if (!store.ok()) return Fail(store.status());
  auto detectors = (*store)->ListDetectors();
  if (!detectors.ok()) return Fail(detectors.status());
  auto statuses = (*store)->ListDetectorStatus();
  if (!statuses.ok()) return Fail(statuses.status());
  json out = json::array();
  auto iso = [](const std::optional<int64_t>& t) -> json {
    return t ? json(FormatIso(FromUnixSeconds(*t))) : json(nullptr);
  };
  for (const auto& d : *detectors) {
    json j = {{"detector", d.name}};
    store::DetectorStatusRecord st;
    bool has = false;
    for (const auto& s : *statuses) {
      if (s.detector_id == d.id) {
        st = s;
        has = true;
      }
    }
    j["state"] = store::DetectorState(d, has ? &st : nullptr);
    j["managed_by"] = store::ManagedBy(d);
    auto wm = (*store)->GetWatermark(d.id);
    if (!wm.ok()) return Fail(wm.status());
    j["watermark"] = iso(*wm);
    j["last_run"] = iso(st.last_run_at);
    j["next_run"] = iso(st.next_run_at);
    j["last_error"] = st.last_error;
    j["retries"] = st.retries;
    j["live_from"] = iso(st.live_from);
    json q = nullptr;
    if (*wm) {
      auto rows = (*store)->ListQuality(d.id, **wm - 40 * 86400, **wm);
      if (!rows.ok()) return Fail(rows.status());
      if (!rows->empty()) {
        const auto& r = rows->back();
        json details = json::parse(r.details, nullptr, false);
        q = {{"interval", FormatIso(FromUnixSeconds(r.ts))},
             {"rows_read", r.rows_read},
             {"rows_rejected", r.rows_rejected},
             {"rows_filtered", r.rows_filtered},
             {"series_seen", r.series_seen},
             {"series_missing", r.series_missing},
             {"rejected_by_reason",
              details.is_object() && details.contains("rejected_by_reason") ? details["rejected_by_reason"]
                                                                             : json::object()}};
      }
    }
    j["last_interval"] = q;
    auto health = api::DetectorHealth(**store, d.id, *wm);
    if (!health.ok()) return Fail(health.status());
    j["health"] = *health;
    out.push_back(j);
  }
  if (args.Has("json")) {
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (out.empty()) std::cout << "No detectors registered.\n";
  for (const auto& j : out) {
    auto str = [](const json& v) { return v.is_null() ? std::string("-") : v.get<std::string>(); };
    std::cout << fmt::format("{}: {}\n  watermark {}  last run {}  next run {}  retries {}\n",
                             j["detector"].get<std::string>(), j["state"].get<std::string>(),
                             str(j["watermark"]), str(j["last_run"]), str(j["next_run"]),
                             j["retries"].get<int64_t>());
    if (!j["last_error"].get<std::string>().empty()) {
      std::cout << "  last error: " << j["last_error"].get<std::string>() << "\n";
    }
    std::cout << "  data: " << api::HealthText(j["health"]) << "\n";
    const json& q = j["last_interval"];
    if (!q.is_null()) {
      std::cout << fmt::format(
          "  last interval {}: {} rows read, {} rejected{}, {} filtered; {} series seen, {} missing\n",
          q["interval"].get<std::string>(), q["rows_read"].get<int64_t>(), q["rows_rejected"].get<int64_t>(),
          q["rejected_by_reason"].empty() ? std::string() : " (" + q["rejected_by_reason"].dump() + ")",
          q["rows_filtered"].get<int64_t>(), q["series_seen"].get<int64_t>(), q["series_missing"].get<int64_t>());
    }
  }
  return kExitOk;
}

}  // namespace osprey::cli
