// The REST API and web UI server (cpp-httplib behind a pimpl, so this header
// pulls in neither httplib nor JSON). Resources follow the Lookout for
// Metrics concepts under /api/v1 (see docs/api.md and the OpenAPI document
// at /api/openapi.json); /metrics and /healthz sit beside them, and the UI
// is served from the files embedded at build time.
//
// Every route except /healthz and the UI's static files needs a bearer
// token; viewers read, admins also write. Errors are RFC 9457
// problem+json. Requests run on a thread pool; each borrows its own
// connection to the state store, so a long backtest does not block reads.
// Start and Stop are called from one thread; handlers run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "osprey/base/clock.h"
#include "osprey/base/status.h"

namespace osprey::app {
class DetectorRegistry;
}

namespace osprey::api {

struct ServerOptions {
  // Address to listen on. Default loopback only: exposing osprey to a
  // network is an explicit choice.
  std::string bind = "127.0.0.1";
  // TCP port; 0 picks a free one (see Server::port()).
  int port = 8080;
  // The state store (store::OpenStore: a SQLite path or a PostgreSQL URL or
  // DSN); each worker thread opens its own connection.
  std::string state_path;
  // Serve the UI from this directory instead of the embedded copy (for UI
  // development: edit and reload without rebuilding). Empty: embedded.
  std::string web_dir;
  // Largest request body accepted, bytes, whether sent with Content-Length
  // or chunked; larger ones get 413. Detector files are a few KB; default
  // 1 MiB. (A request line over 8 KiB gets 414; header fields over 8 KiB
  // each, 32 KiB together or 100 in number get 431.)
  size_t max_body_bytes = 1 << 20;
  // Worker threads. Each holds at most one store connection. A worker is
  // busy only while a request is read, handled and answered: idle
  // keep-alive connections wait without one.
  int threads = 8;
  // One log line per request on stderr: method, path (never the query
  // string), status, body bytes, duration and the name of the token used
  // (never the token).
  bool access_log = true;
  // Largest backtest a request may run synchronously, in intervals (a year
  // of hourly intervals is 8,760). Longer ones: use `osprey backtest`.
  int64_t max_backtest_intervals = 10000;
  // The registry of the daemon in this process (`osprey serve`), which the
  // API answers from: which version of each detector runs, and the error of
  // a newer one that does not load. The API refreshes it after it changes a
  // detector. Null (an API without a scheduler): every stored detector is
  // shown as stored, none as scheduled.
  app::DetectorRegistry* registry = nullptr;
};

// One registered route, as the OpenAPI document names it.
struct RouteInfo {
  std::string method;         // GET, POST, PUT, DELETE
  std::string path;           // OpenAPI template: /api/v1/detectors/{name}
  bool public_route = false;  // needs no token
  bool write = false;         // needs the admin role
};

class Server {
 public:
  // Checks the options and that the state store opens (migrating it).
  // InvalidArgument for bad options, the store's error otherwise.
  static Result<std::unique_ptr<Server>> Create(const ServerOptions& options, const Clock& clock);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on a background thread. Unavailable when the
  // address cannot be bound.
  Status Start();
  // Stops accepting, finishes running requests and joins. Idempotent.
  void Stop();
  // The bound port (after Start).
  int port() const;
  // The API routes (not the UI's static files), for docs and the OpenAPI test.
  const std::vector<RouteInfo>& routes() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace osprey::api
