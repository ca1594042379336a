#include "osprey/cli/serve.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "osprey/base/log.h"
#include "osprey/cli/commands.h"
#include "osprey/config/loader.h"
#include "osprey/store/store.h"

namespace osprey::cli {
namespace {

Status RegisterDetectors(const std::string& dir, const std::string& state_path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return InvalidArgument(fmt::format("--config {}: not a directory", dir));
  }
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::pair<std::string, std::string>> loaded;  // name, text
  for (const auto& f : files) {
    OSPREY_ASSIGN_OR_RETURN(config::Detector d, config::LoadDetectorFile(f.string()));
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    loaded.push_back({d.name, text.str()});
  }
  OSPREY_ASSIGN_OR_RETURN(auto store, store::OpenStore(state_path));
  for (const auto& [name, text] : loaded) {
    OSPREY_RETURN_IF_ERROR(store->UpsertDetector(name, text));
    Log(LogLevel::kInfo, fmt::format("registered detector '{}'", name));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<api::Server>> StartServing(const ServeOptions& options, const Clock& clock) {
  if (!options.config_dir.empty()) {
    OSPREY_RETURN_IF_ERROR(RegisterDetectors(options.config_dir, options.server.state_path));
  }
  OSPREY_ASSIGN_OR_RETURN(auto server, api::Server::Create(options.server, clock));
  OSPREY_RETURN_IF_ERROR(server->Start());
  // Scheduler hook: the continuous detection loop (due intervals, catch-up,
  // watermarks) starts here, beside the API server, and stops with it.
  return server;
}

int RunServeCommand(const Args& args) {
  ServeOptions o;
  o.config_dir = args.GetOr("config", "");
  o.server.state_path = StatePath(args);
  o.server.bind = args.GetOr("bind", "127.0.0.1");
  o.server.web_dir = args.GetOr("web-dir", "");
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
  // Block the signals before any thread starts, so every thread inherits the
  // mask and this one receives them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  SystemClock clock;
  auto server = StartServing(o, clock);
  if (!server.ok()) {
    bool config_error = !o.config_dir.empty() && server.status().code() == StatusCode::kInvalidArgument;
    return Fail(server.status(), config_error);
  }
  std::printf("osprey is serving the API and UI at http://%s:%d/ (state %s). Ctrl-C stops it.\n",
              o.server.bind.c_str(), (*server)->port(), RedactSecrets(o.server.state_path).c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  std::fprintf(stderr, "osprey serve: %s received, stopping\n", received == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->Stop();
  return kExitOk;
}

}  // namespace osprey::cli
