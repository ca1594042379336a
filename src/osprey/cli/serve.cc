#include "osprey/cli/serve.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "osprey/api/views.h"
#include "osprey/app/daemon.h"
#include "osprey/base/log.h"
#include "osprey/cli/commands.h"
#include "osprey/store/store.h"

namespace osprey::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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
  o.server.access_log = !args.Has("no-access-log");
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

  app::DaemonOptions daemon_options;
  daemon_options.state_path = o.server.state_path;
  daemon_options.config_dir = o.config_dir;
  daemon_options.once = o.once;
  daemon_options.until = o.until;
  daemon_options.scheduler.progress = PrintProgress;
  if (store::IsPostgresState(o.server.state_path)) {
    // Several `osprey serve` may share this store: run under leases.
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
    daemon_options.scheduler.worker = args.GetOr("worker", fmt::format("{}:{}", host, getpid()));
  } else if (args.Has("worker")) {
    std::fprintf(stderr, "osprey serve: --worker needs a PostgreSQL state store (--state postgres://...)\n");
    return kExitUsage;
  }
  if (auto l = args.Get("lease")) {
    char* end = nullptr;
    const long long n = std::strtoll(l->c_str(), &end, 10);
    if (end == l->c_str() || *end != '\0' || n < 5 || n > 86400) {
      std::fprintf(stderr, "osprey serve: --lease '%s' is not a number of seconds in 5-86400\n", l->c_str());
      return kExitUsage;
    }
    daemon_options.scheduler.lease_seconds = n;
  }
  daemon_options.clock_speed = speed;
  auto daemon = app::Daemon::Create(std::move(daemon_options), *clock);
  if (!daemon.ok()) return Fail(daemon.status());

  std::unique_ptr<api::Server> server;
  const bool scripted = o.once || o.until.has_value();
  if (!scripted) {
    // The API answers from the registry the scheduler runs.
    o.server.registry = &(*daemon)->registry();
    auto started = StartServing(o, *clock);
    if (!started.ok()) return Fail(started.status());
    server = *std::move(started);
    std::printf("osprey is serving the API and UI at http://%s:%d/ (state %s). Ctrl-C stops it.\n",
                o.server.bind.c_str(), server->port(), RedactSecrets(o.server.state_path).c_str());
    std::fflush(stdout);
  }

  int exit_code = kExitOk;
  const app::DaemonResult result = (*daemon)->Run();
  if (server) server->Stop();
  const auto& totals = result.totals;
  if (scripted) {
    std::fprintf(stderr, "osprey serve: %lld intervals, %lld points processed\n",
                 static_cast<long long>(totals.intervals), static_cast<long long>(totals.points));
    if (result.broken_files > 0) exit_code = kExitConfig;
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
  auto leases = (*store)->ListLeases();
  if (!leases.ok()) return Fail(leases.status());
  json out = json::array();
  auto iso = [](const std::optional<int64_t>& t) -> json {
    return t ? json(FormatIso(FromUnixSeconds(*t))) : json(nullptr);
  };
  // The worker holding a detector's lease (several `osprey serve` on one
  // PostgreSQL store) or the lease of one of its shards, or null.
  auto worker = [&](int64_t key, int64_t shard) -> json {
    for (const auto& l : *leases) {
      if (l.detector_id == key && l.shard == shard && l.held) {
        return {{"worker", l.worker},
                {"since", iso(l.acquired_at)},
                {"renewed", iso(l.renewed_at)},
                {"expires", iso(l.expires_at)}};
      }
    }
    return nullptr;
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
    j["lease"] = worker(d.id, 0);
    // A sharded detector run by several workers: each shard's watermark and
    // holder (shard 0's holder also groups: `lease` above).
    auto marks = (*store)->ShardWatermarks(d.id);
    if (!marks.ok()) return Fail(marks.status());
    if (!marks->empty()) {
      json shards = json::array();
      for (const auto& [shard, next] : *marks) {
        shards.push_back({{"shard", shard}, {"watermark", iso(next)}, {"lease", worker(d.id, shard)}});
      }
      j["shards"] = shards;
    }
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
             {"rejected_by_reason", details.is_object() && details.contains("rejected_by_reason")
                                        ? details["rejected_by_reason"]
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
    if (!j["lease"].is_null()) {
      std::cout << fmt::format(
          "  worker {} (since {}, lease renewed {})\n", j["lease"]["worker"].get<std::string>(),
          j["lease"]["since"].get<std::string>(), j["lease"]["renewed"].get<std::string>());
    }
    if (j.contains("shards")) {
      for (const json& sh : j["shards"]) {
        std::cout << fmt::format(
            "  shard {}: watermark {}, {}\n", sh["shard"].get<int64_t>(), str(sh["watermark"]),
            sh["lease"].is_null()
                ? std::string("no worker")
                : fmt::format(
                      "worker {} (since {}, lease renewed {})", sh["lease"]["worker"].get<std::string>(),
                      sh["lease"]["since"].get<std::string>(), sh["lease"]["renewed"].get<std::string>()));
      }
    }
    std::cout << "  data: " << api::HealthText(j["health"]) << "\n";
    const json& q = j["last_interval"];
    if (!q.is_null()) {
      std::cout << fmt::format(
          "  last interval {}: {} rows read, {} rejected{}, {} filtered; {} series seen, {} missing\n",
          q["interval"].get<std::string>(), q["rows_read"].get<int64_t>(), q["rows_rejected"].get<int64_t>(),
          q["rejected_by_reason"].empty() ? std::string() : " (" + q["rejected_by_reason"].dump() + ")",
          q["rows_filtered"].get<int64_t>(), q["series_seen"].get<int64_t>(),
          q["series_missing"].get<int64_t>());
    }
  }
  return kExitOk;
}

}  // namespace osprey::cli
