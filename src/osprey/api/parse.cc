#include "osprey/api/parse.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace osprey::api {
namespace {

using nlohmann::json;

Result<json> JsonObject(std::string_view text) {
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return InvalidArgument("the request body is not valid JSON");
  if (!body.is_object()) return InvalidArgument("the request body must be a JSON object");
  return body;
}

Result<std::optional<Instant>> BodyTime(const json& body, const std::string& key, const TimeZone& zone) {
  if (!body.contains(key) || body[key].is_null()) return std::optional<Instant>();
  if (!body[key].is_string()) {
    return InvalidArgument(fmt::format("'{}' must be a date-time string", key));
  }
  auto t = ParseInstant(body[key].get<std::string>(), zone);
  if (!t.ok()) return InvalidArgument(fmt::format("'{}': {}", key, t.status().message()));
  return std::optional<Instant>(*t);
}

}  // namespace

Result<int64_t> ParseIntParam(std::string_view name, std::string_view value, int64_t min, int64_t max) {
  const std::string v(value);
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || v.size() > 18 || end != v.c_str() + v.size() || x < min || x > max) {
    return InvalidArgument(fmt::format("query parameter '{}' must be an integer in {}..{}", name, min, max));
  }
  return static_cast<int64_t>(x);
}

Result<std::vector<std::string>> ParseCursor(std::string_view value, std::string_view order,
                                             std::string_view types) {
  auto bad = [&] {
    return InvalidArgument(fmt::format(
        "query parameter 'cursor' is not a position in this list (sort={}); use the 'next' link of the "
        "previous page, or leave it out for the first page",
        order));
  };
  std::vector<std::string> parts;
  for (size_t i = 0;;) {
    const size_t j = value.find(':', i);
    parts.emplace_back(value.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  if (parts.size() != types.size() + 1 || parts[0] != order) return bad();
  parts.erase(parts.begin());
  for (size_t k = 0; k < parts.size(); ++k) {
    const std::string& v = parts[k];
    char* end = nullptr;
    bool ok = !v.empty() && v.size() <= 32;
    if (ok && types[k] == 'i') {
      errno = 0;
      (void)std::strtoll(v.c_str(), &end, 10);
      ok = errno == 0 && end == v.c_str() + v.size();
    } else if (ok) {
      const double x = std::strtod(v.c_str(), &end);
      ok = end == v.c_str() + v.size() && std::isfinite(x);
    }
    if (!ok) return bad();
  }
  return parts;
}

Result<double> ParseNumberParam(std::string_view name, std::string_view value, double min, double max) {
  const std::string v(value);
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(x) || x < min || x > max) {
    return InvalidArgument(fmt::format("query parameter '{}' must be a number in {}..{}", name, min, max));
  }
  return x;
}

Result<int64_t> ParseTimeParam(std::string_view name, std::string_view value) {
  auto t = ParseInstant(value, TimeZone::Utc());
  if (!t.ok()) {
    return InvalidArgument(fmt::format("query parameter '{}': {}", name, t.status().message()));
  }
  return ToUnixSeconds(*t);
}

Result<int64_t> ParsePathId(std::string_view name, std::string_view value) {
  const std::string v(value);
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || v.size() > 18 || end != v.c_str() + v.size() || x <= 0) {
    return InvalidArgument(fmt::format("'{}' is not a valid {} (a positive integer)", v.substr(0, 40), name));
  }
  return static_cast<int64_t>(x);
}

Result<FeedbackBody> ParseFeedbackBody(std::string_view text) {
  OSPREY_ASSIGN_OR_RETURN(json body, JsonObject(text));
  FeedbackBody f;
  bool has_relevant = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (k == "relevant") {
      if (!it->is_boolean()) return InvalidArgument("'relevant' must be true or false");
      f.relevant = it->get<bool>();
      has_relevant = true;
    } else if (k == "series_id") {
      if (!it->is_null() && !it->is_number_integer()) {
        return InvalidArgument("'series_id' must be an integer or null");
      }
      if (!it->is_null()) f.series_id = it->get<int64_t>();
    } else if (k == "comment") {
      if (!it->is_string()) return InvalidArgument("'comment' must be a string");
      f.comment = it->get<std::string>();
      if (f.comment.size() > kMaxCommentBytes) {
        return InvalidArgument(fmt::format("'comment' is longer than {} bytes", kMaxCommentBytes));
      }
    } else {
      return InvalidArgument(
          fmt::format("unknown field '{}'; feedback takes relevant, series_id, comment", k));
    }
  }
  if (!has_relevant) return InvalidArgument("give 'relevant': true or false");
  return f;
}

Result<BacktestBody> ParseBacktestBody(std::string_view text, const TimeZone& zone) {
  json body = json::object();
  if (!text.empty()) {
    OSPREY_ASSIGN_OR_RETURN(body, JsonObject(text));
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "from" && it.key() != "to") {
      return InvalidArgument(fmt::format("unknown field '{}'; a backtest takes 'from' and 'to'", it.key()));
    }
  }
  BacktestBody b;
  OSPREY_ASSIGN_OR_RETURN(b.from, BodyTime(body, "from", zone));
  OSPREY_ASSIGN_OR_RETURN(b.to, BodyTime(body, "to", zone));
  return b;
}

Result<SilenceBody> ParseSilenceBody(std::string_view text) {
  OSPREY_ASSIGN_OR_RETURN(json body, JsonObject(text));
  SilenceBody b;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (k == "detector" || k == "measure" || k == "comment") {
      if (!it->is_string()) return InvalidArgument(fmt::format("'{}' must be a string", k));
      std::string v = it->get<std::string>();
      if (v.size() > kMaxCommentBytes) {
        return InvalidArgument(fmt::format("'{}' is longer than {} bytes", k, kMaxCommentBytes));
      }
      (k == "detector" ? b.detector : k == "measure" ? b.measure : b.comment) = std::move(v);
    } else if (k == "matchers") {
      if (!it->is_object()) return InvalidArgument("'matchers' must be an object of dimension -> value");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (m.key().empty() || !m->is_string() || m->get<std::string>().empty()) {
          return InvalidArgument(fmt::format(
              "'matchers.{}' must be a non-empty dimension name with a non-empty string value", m.key()));
        }
      }
      b.matchers = it->dump();
    } else if (k == "starts_at" || k == "ends_at") {
      OSPREY_ASSIGN_OR_RETURN(std::optional<Instant> t, BodyTime(body, k, TimeZone::Utc()));
      if (t) (k == "starts_at" ? b.starts_at : b.ends_at) = ToUnixSeconds(*t);
    } else if (k == "duration_seconds") {
      if (!it->is_number_integer() || it->get<int64_t>() < 60 || it->get<int64_t>() > kMaxSilenceSeconds) {
        return InvalidArgument(
            fmt::format("'duration_seconds' must be an integer in 60..{}", kMaxSilenceSeconds));
      }
      b.duration_seconds = it->get<int64_t>();
    } else {
      return InvalidArgument(
          fmt::format("unknown field '{}'; a silence takes detector, measure, matchers, starts_at, ends_at, "
                      "duration_seconds, comment",
                      k));
    }
  }
  if (b.comment.empty()) return InvalidArgument("give a 'comment' saying why the alerts are silenced");
  if (b.ends_at.has_value() == b.duration_seconds.has_value()) {
    return InvalidArgument("give exactly one of 'ends_at' and 'duration_seconds'");
  }
  return b;
}

}  // namespace osprey::api
