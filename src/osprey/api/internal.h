// Shared by the api module's .cc files only: the route table, the request
// context handed to each resource handler, and input-parsing helpers that
// turn bad input into InvalidArgument (400). Includes httplib and JSON; never
// include it from outside src/osprey/api/.
#pragma once

#include <httplib.h>

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "osprey/api/auth.h"
#include "osprey/api/server.h"
#include "osprey/base/clock.h"
#include "osprey/base/status.h"
#include "osprey/store/store.h"

namespace osprey::api::internal {

using nlohmann::json;

class ReplyCache;
class PageCache;

struct Reply {
  int status = 200;
  json body;                 // sent as application/json unless `text` is set
  std::string text;          // a non-JSON body (metrics, OpenAPI document)
  std::string content_type;  // for `text`
  std::string location;      // Location header for 201
};

struct Context {
  const httplib::Request& req;
  store::Store& store;
  const Principal* principal;  // null on public routes
  const ServerOptions& options;
  const Clock& clock;
  std::map<std::string, std::string> path;  // path parameters by name
  ReplyCache* status_cache = nullptr;       // GET /api/v1/status's body (reply_cache.h)
  PageCache* page_cache = nullptr;          // list pages (reply_cache.h)
};

using Handler = std::function<Result<Reply>(Context&)>;

struct Route {
  RouteInfo info;
  std::vector<std::string> query;  // accepted query parameters; others are 400
  Handler handler;
};

// The /api/v1 resources (handlers.cc).
void AddResourceRoutes(std::vector<Route>& routes);

// Input helpers over parse.h's pure parsers. Each returns InvalidArgument
// naming the parameter.
Result<int64_t> PathId(const Context& c, const std::string& name);
Result<std::optional<int64_t>> IntQuery(const Context& c, const std::string& name, int64_t min, int64_t max);
Result<std::optional<double>> NumberQuery(const Context& c, const std::string& name, double min, double max);
// An ISO-8601 date or date-time; UTC unless it carries an offset.
Result<std::optional<int64_t>> TimeQuery(const Context& c, const std::string& name);
std::optional<std::string> StringQuery(const Context& c, const std::string& name);

}  // namespace osprey::api::internal
