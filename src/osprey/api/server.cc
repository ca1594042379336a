#include "osprey/api/server.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "osprey/api/assets.h"
#include "osprey/api/http_front.h"
#include "osprey/api/internal.h"
#include "osprey/api/reply_cache.h"
#include "osprey/base/log.h"

namespace osprey::api {

using internal::AccessEntry;
using internal::Context;
using internal::FrontServer;
using internal::json;
using internal::Reply;
using internal::Route;

namespace {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

std::string_view TitleFor(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

std::string_view TypeSlug(int status) {
  switch (status) {
    case 400: return "invalid-request";
    case 401: return "unauthenticated";
    case 403: return "forbidden";
    case 404: return "not-found";
    case 405: return "method-not-allowed";
    case 409: return "conflict";
    case 413: return "too-large";
    case 503: return "unavailable";
    case 504: return "deadline-exceeded";
    default: return "internal";
  }
}

// RFC 9457 problem details.
void SetProblem(httplib::Response& res, int status, const std::string& detail, const std::string& instance,
                std::string_view code = "") {
  json p = {{"type", fmt::format("urn:osprey:problem:{}", TypeSlug(status))},
            {"title", TitleFor(status)},
            {"status", status},
            {"detail", RedactSecrets(detail)},
            {"instance", instance}};
  if (!code.empty()) p["code"] = code;
  res.status = status;
  // A decoded path may hold any bytes: replace invalid UTF-8 rather than throw.
  res.set_content(p.dump(-1, ' ', false, json::error_handler_t::replace), "application/problem+json");
}

std::string ContentTypeFor(std::string_view path) {
  auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.substr(path.size() - s.size()) == s;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "text/plain; charset=utf-8";
}

// The path template as a regex: each {param} matches one segment.
std::string RouteRegex(const std::string& path, std::vector<std::string>* params) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      size_t end = path.find('}', i);
      params->push_back(path.substr(i + 1, end - i - 1));
      out += "([^/]+)";
      i = end;
    } else if (std::string_view(".+*?()[]^$|\\").find(path[i]) != std::string_view::npos) {
      out += '\\';
      out += path[i];
    } else {
      out += path[i];
    }
  }
  return out;
}

// Connections to the state store, one per concurrent request at most.
class StorePool {
 public:
  explicit StorePool(std::string path) : path_(std::move(path)) {}

  Result<std::unique_ptr<store::Store>> Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        auto s = std::move(idle_.back());
        idle_.pop_back();
        return s;
      }
    }
    return store::OpenStore(path_);
  }
  void Give(std::unique_ptr<store::Store> s) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(s));
  }

 private:
  const std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<store::Store>> idle_;  // guarded by mu_
};

// Request counts and latency histograms per route, for /metrics.
class RequestMetrics {
 public:
  static constexpr double kBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1,     2.5,  5,     10};
  static constexpr size_t kBucketCount = sizeof(kBuckets) / sizeof(kBuckets[0]);

  void Observe(const std::string& method, const std::string& route, int status, double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[{method, route, status}];
    Histogram& h = latency_[{method, route}];
    for (size_t i = 0; i < kBucketCount; ++i) {
      if (seconds <= kBuckets[i]) ++h.buckets[i];
    }
    ++h.count;
    h.sum += seconds;
  }

  void Render(std::string& out) {
    std::lock_guard<std::mutex> lock(mu_);
    out +=
        "# HELP osprey_http_requests_total HTTP requests by route and status code.\n"
        "# TYPE osprey_http_requests_total counter\n";
    for (const auto& [key, n] : counts_) {
      const auto& [method, route, status] = key;
      out += fmt::format("osprey_http_requests_total{{method=\"{}\",route=\"{}\",code=\"{}\"}} {}\n", method,
                         route, status, n);
    }
    out +=
        "# HELP osprey_http_request_duration_seconds Time to handle a request, by route.\n"
        "# TYPE osprey_http_request_duration_seconds histogram\n";
    for (const auto& [key, h] : latency_) {
      const auto& [method, route] = key;
      std::string labels = fmt::format("method=\"{}\",route=\"{}\"", method, route);
      for (size_t i = 0; i < kBucketCount; ++i) {
        out += fmt::format("osprey_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                           kBuckets[i], h.buckets[i]);
      }
      out +=
          fmt::format("osprey_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, h.count);
      out += fmt::format("osprey_http_request_duration_seconds_sum{{{}}} {}\n", labels, h.sum);
      out += fmt::format("osprey_http_request_duration_seconds_count{{{}}} {}\n", labels, h.count);
    }
  }

 private:
  struct Histogram {
    uint64_t buckets[kBucketCount] = {};
    uint64_t count = 0;
    double sum = 0;
  };
  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> counts_;  // guarded by mu_
  std::map<std::pair<std::string, std::string>, Histogram> latency_;      // guarded by mu_
};

std::optional<std::string> BearerToken(const httplib::Request& req) {
  if (!req.has_header("Authorization")) return std::nullopt;
  std::string h = req.get_header_value("Authorization");
  constexpr std::string_view kPrefix = "Bearer ";
  if (h.size() <= kPrefix.size() || h.compare(0, kPrefix.size(), kPrefix) != 0) return std::string();
  return h.substr(kPrefix.size());
}

// One structured access-log line: "access {json}".
void WriteAccessLog(const AccessEntry& e) {
  json line = {{"method", e.method},
               {"path", e.path},
               {"status", e.status},
               {"bytes", e.bytes},
               {"duration_ms", std::round(e.seconds * 1e6) / 1e3},
               {"token", e.token_name.empty() ? json(nullptr) : json(e.token_name)}};
  Log(LogLevel::kInfo, "access " + line.dump(-1, ' ', false, json::error_handler_t::replace));
}

internal::FrontLimits LimitsFor(const ServerOptions& o) {
  internal::FrontLimits limits;
  limits.max_body = o.max_body_bytes;
  return limits;
}

// How long GET /api/v1/status's body and a list page are reused at most
// (reply_cache.h).
constexpr std::chrono::seconds kStatusTtl{1};
constexpr std::chrono::seconds kPageTtl{1};

}  // namespace

struct Server::Impl {
  Impl(const ServerOptions& o, const Clock& c)
      : options(o),
        clock(c),
        http(static_cast<size_t>(o.threads), LimitsFor(o),
             o.access_log ? std::function<void(const AccessEntry&)>(WriteAccessLog) : nullptr),
        pool(o.state_path),
        verifier(c),
        status_cache(c, kStatusTtl),
        page_cache(c, kPageTtl),
        started(c.Now()) {}

  void AddBuiltinRoutes();
  void Register(const Route& route);
  void Handle(const Route& route, const std::vector<std::string>& params, const httplib::Request& req,
              httplib::Response& res);
  void AddStaticRoutes();

  const ServerOptions options;
  const Clock& clock;
  FrontServer http;
  std::thread thread;
  int port = 0;
  bool running = false;
  StorePool pool;
  TokenVerifier verifier;
  internal::ReplyCache status_cache;
  internal::PageCache page_cache;
  RequestMetrics metrics;
  std::vector<Route> routes;
  std::vector<RouteInfo> infos;
  const Instant started;
};

void Server::Impl::Handle(const Route& route, const std::vector<std::string>& params,
                          const httplib::Request& req, httplib::Response& res) {
  const auto t0 = std::chrono::steady_clock::now();
  auto finish = [&] {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    metrics.Observe(route.info.method, route.info.path, res.status, seconds);
  };
  try {
    auto taken = pool.Take();
    if (!taken.ok()) {
      SetProblem(res, HttpStatusFor(taken.status().code()), taken.status().message(), req.path);
      finish();
      return;
    }
    std::unique_ptr<store::Store> store = std::move(taken).value();
    struct Return {
      StorePool& pool;
      std::unique_ptr<store::Store>& store;
      ~Return() { pool.Give(std::move(store)); }
    } give_back{pool, store};

    std::optional<Principal> principal;
    if (!route.info.public_route) {
      auto token = BearerToken(req);
      if (!token || token->empty()) {
        res.set_header("WWW-Authenticate", "Bearer");
        SetProblem(res, 401,
                   token ? "the Authorization header must be 'Bearer TOKEN'"
                         : "this endpoint needs an API token: send 'Authorization: Bearer TOKEN'",
                   req.path);
        finish();
        return;
      }
      auto verified = verifier.Verify(*token, *store);
      if (!verified.ok()) {
        SetProblem(res, HttpStatusFor(verified.status().code()), verified.status().message(), req.path);
        finish();
        return;
      }
      if (!*verified) {
        res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        SetProblem(res, 401, "the API token is unknown or revoked", req.path);
        finish();
        return;
      }
      principal = **verified;
      FrontServer::SetTokenName(principal->name);
      if (route.info.write && principal->role != Role::kAdmin) {
        SetProblem(res, 403,
                   fmt::format("token '{}' has the viewer role; {} {} needs an admin token", principal->name,
                               route.info.method, route.info.path),
                   req.path);
        finish();
        return;
      }
    }
    for (const auto& [name, value] : req.params) {
      if (std::find(route.query.begin(), route.query.end(), name) == route.query.end()) {
        std::string accepted;
        for (const auto& q : route.query) accepted += (accepted.empty() ? "" : ", ") + q;
        SetProblem(res, 400,
                   fmt::format("unknown query parameter '{}'; accepted: {}", name,
                               accepted.empty() ? "none" : accepted),
                   req.path);
        finish();
        return;
      }
    }
    Context ctx{req,           *store,     principal ? &*principal : nullptr, options, clock, {},
                &status_cache, &page_cache};
    for (size_t i = 0; i < params.size() && i + 1 < req.matches.size(); ++i) {
      ctx.path[params[i]] = req.matches[i + 1].str();
    }
    Result<Reply> reply = route.handler(ctx);
    // Whatever a write did, even one that failed half-way, shows at once.
    if (route.info.write) {
      status_cache.Invalidate();
      page_cache.Invalidate();
    }
    if (!reply.ok()) {
      SetProblem(res, HttpStatusFor(reply.status().code()), reply.status().message(), req.path,
                 StatusCodeName(reply.status().code()));
    } else {
      res.status = reply->status;
      if (!reply->location.empty()) res.set_header("Location", reply->location);
      // The body is moved in, not copied as set_content would (a list page
      // is some 50 KB).
      if (!reply->text.empty()) {
        res.body = std::move(reply->text);
        res.set_header("Content-Type", reply->content_type);
      } else if (reply->status != 204) {
        res.body = reply->body.dump();
        res.set_header("Content-Type", "application/json");
      }
    }
  } catch (const std::exception& e) {
    SetProblem(res, 500, fmt::format("internal error: {}", e.what()), req.path);
  }
  finish();
}

void Server::Impl::Register(const Route& route) {
  std::vector<std::string> params;
  std::string pattern = RouteRegex(route.info.path, &params);
  routes.push_back(route);
  infos.push_back(route.info);
  const Route* r = &routes.back();
  auto handler = [this, r, params](const httplib::Request& req, httplib::Response& res) {
    Handle(*r, params, req, res);
  };
  const std::string& m = route.info.method;
  if (m == "GET") http.Get(pattern, handler);
  else if (m == "POST") http.Post(pattern, handler);
  else if (m == "PUT") http.Put(pattern, handler);
  else if (m == "DELETE") http.Delete(pattern, handler);
}

void Server::Impl::AddBuiltinRoutes() {
  routes.push_back({{"GET", "/healthz", true, false}, {}, [](Context&) -> Result<Reply> {
                      Reply r;
                      r.text = "ok\n";
                      r.content_type = "text/plain; charset=utf-8";
                      return r;
                    }});
  routes.push_back({{"GET", "/api/openapi.json", false, false}, {}, [](Context&) -> Result<Reply> {
                      Reply r;
                      r.text = std::string(OpenApiAssets().at(0).data);
                      r.content_type = "application/json";
                      return r;
                    }});
  routes.push_back(
      {{"GET", "/metrics", false, false}, {}, [this](Context& c) -> Result<Reply> {
         OSPREY_ASSIGN_OR_RETURN(store::StoreTotals t, c.store.Totals());
         OSPREY_ASSIGN_OR_RETURN(auto detectors, c.store.ListDetectors());
         int64_t active = 0;
         for (const auto& d : detectors) active += d.active ? 1 : 0;
         std::string out;
         auto gauge = [&](const char* name, const char* help, int64_t v) {
           out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, v);
         };
         gauge("osprey_detectors", "Detectors in the state store.", t.detectors);
         gauge("osprey_detectors_active", "Active detectors.", active);
         gauge("osprey_intervals_processed", "Intervals processed (stored data-quality rows).", t.intervals);
         gauge("osprey_rows_read", "Source rows read over the stored intervals.", t.rows_read);
         gauge("osprey_rows_rejected", "Source rows rejected over the stored intervals.", t.rows_rejected);
         gauge("osprey_anomalies", "Anomalies stored.", t.anomalies);
         gauge("osprey_anomaly_groups", "Anomaly groups stored.", t.groups);
         out += fmt::format(
             "# HELP osprey_alert_deliveries_total Alert delivery attempts made.\n"
             "# TYPE osprey_alert_deliveries_total counter\nosprey_alert_deliveries_total {}\n"
             "# HELP osprey_alert_messages Alert messages in the outbox, by status.\n"
             "# TYPE osprey_alert_messages gauge\n"
             "osprey_alert_messages{{status=\"pending\"}} {}\n"
             "osprey_alert_messages{{status=\"delivered\"}} {}\n"
             "osprey_alert_messages{{status=\"dead\"}} {}\n"
             "osprey_alert_messages{{status=\"silenced\"}} {}\n",
             t.delivery_attempts, t.alerts_pending, t.alerts_delivered, t.alerts_dead, t.alerts_silenced);
         out += fmt::format(
             "# HELP osprey_uptime_seconds Seconds since the server started.\n"
             "# TYPE osprey_uptime_seconds gauge\nosprey_uptime_seconds {}\n",
             (c.clock.Now() - started).count());
         metrics.Render(out);
         Reply r;
         r.text = std::move(out);
         r.content_type = "text/plain; version=0.0.4; charset=utf-8";
         return r;
       }});
}

void Server::Impl::AddStaticRoutes() {
  auto serve = [this](const std::string& asset) {
    return [this, asset](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("X-Frame-Options", "DENY");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("Cache-Control", "no-cache");
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
      if (!options.web_dir.empty()) {
        std::ifstream in(std::filesystem::path(options.web_dir) / asset, std::ios::binary);
        if (!in) {
          SetProblem(res, 404, fmt::format("no file '{}' under the web directory", asset), req.path);
          return;
        }
        std::stringstream s;
        s << in.rdbuf();
        res.set_content(s.str(), ContentTypeFor(asset).c_str());
        return;
      }
      for (const auto& a : WebAssets()) {
        if (a.path == asset) {
          res.set_content(std::string(a.data), ContentTypeFor(asset).c_str());
          return;
        }
      }
      SetProblem(res, 404, "no such file", req.path);
    };
  };
  http.Get("/", serve("index.html"));
  for (const auto& a : WebAssets()) {
    std::vector<std::string> unused;
    std::string url = "/";  // appended, not `"/" + ...`: avoids GCC 12's false -Wrestrict
    url += a.path;
    http.Get(RouteRegex(url, &unused), serve(std::string(a.path)));
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

Result<std::unique_ptr<Server>> Server::Create(const ServerOptions& options, const Clock& clock) {
  if (options.port < 0 || options.port > 65535) {
    return InvalidArgument(fmt::format("port {} is not in 0..65535", options.port));
  }
  if (options.threads < 1 || options.threads > 256) {
    return InvalidArgument(fmt::format("threads {} is not in 1..256", options.threads));
  }
  if (options.state_path.empty()) return InvalidArgument("no state store path given");
  auto impl = std::make_unique<Impl>(options, clock);
  {
    // Open once now, so a broken store fails here and not on the first request.
    OSPREY_ASSIGN_OR_RETURN(auto store, store::OpenStore(options.state_path));
    impl->pool.Give(std::move(store));
  }
  impl->AddBuiltinRoutes();
  internal::AddResourceRoutes(impl->routes);
  // Register() appends to `routes`; register from a copy so pointers stay valid.
  std::vector<Route> all = std::move(impl->routes);
  impl->routes.clear();
  impl->routes.reserve(all.size());
  for (const auto& r : all) impl->Register(r);
  impl->AddStaticRoutes();

  Impl* p = impl.get();
  p->http.set_read_timeout(30, 0);
  p->http.set_write_timeout(30, 0);
  p->http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string detail = res.status == 404   ? "no such resource"
                         : res.status == 413 ? "the request body is larger than the server accepts"
                                             : "the request could not be handled";
    SetProblem(res, res.status, detail, req.path);
  });
  if (options.access_log) {
    p->http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      // Never headers (tokens) or query strings.
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - FrontServer::RequestStart())
              .count();
      WriteAccessLog({req.method, req.path, res.status, res.body.size(), seconds, FrontServer::TokenName()});
    });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status Server::Start() {
  Impl& p = *impl_;
  if (p.running) return FailedPrecondition("the server is already running");
  int port = 0;
  if (p.options.port == 0) {
    port = p.http.bind_to_any_port(p.options.bind);
  } else {
    port = p.http.bind_to_port(p.options.bind, p.options.port) ? p.options.port : -1;
  }
  if (port <= 0) {
    return Unavailable(fmt::format("cannot listen on {}:{} (in use, or not an address of this host)",
                                   p.options.bind, p.options.port));
  }
  p.port = port;
  p.running = true;
  p.http.StartWatcher();
  p.thread = std::thread([&p] { p.http.listen_after_bind(); });
  return Status::Ok();
}

void Server::Stop() {
  Impl& p = *impl_;
  if (!p.running) return;
  p.http.StopWatcher();
  p.http.stop();
  if (p.thread.joinable()) p.thread.join();
  p.running = false;
}

int Server::port() const { return impl_->port; }

const std::vector<RouteInfo>& Server::routes() const { return impl_->infos; }

}  // namespace osprey::api
