// Parsing of what a client sends the REST API: query parameter values, path
// ids and the JSON bodies of the feedback and backtest requests. Pure
// functions of their text (no httplib, no store), so that the handlers and
// the fuzz targets (fuzz/api_*_fuzz.cc) share them. Every failure is
// InvalidArgument naming the parameter or field, which the server maps to 400.
// Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "osprey/base/status.h"
#include "osprey/base/time.h"

namespace osprey::api {

// The longest feedback comment accepted, bytes.
inline constexpr size_t kMaxCommentBytes = 2000;

// A decimal integer in [min, max] (at most 18 characters).
Result<int64_t> ParseIntParam(std::string_view name, std::string_view value, int64_t min,
                              int64_t max);
// A finite decimal number in [min, max].
Result<double> ParseNumberParam(std::string_view name, std::string_view value, double min,
                                double max);
// An ISO-8601 date or date-time (ParseInstant), UTC unless it carries an
// offset; Unix seconds.
Result<int64_t> ParseTimeParam(std::string_view name, std::string_view value);
// A path id: a positive integer.
Result<int64_t> ParsePathId(std::string_view name, std::string_view value);

// PUT /api/v1/anomaly-groups/{id}/feedback: {"relevant": bool, "series_id":
// int|null, "comment": string}; relevant is required, nothing else allowed.
struct FeedbackBody {
  bool relevant = false;
  std::optional<int64_t> series_id;
  std::string comment;
};
Result<FeedbackBody> ParseFeedbackBody(std::string_view body);

// POST /api/v1/detectors/{name}/backtest: {"from": date-time, "to":
// date-time}, both optional, read in `zone` unless they carry an offset. An
// empty body is an empty object.
struct BacktestBody {
  std::optional<Instant> from;
  std::optional<Instant> to;
};
Result<BacktestBody> ParseBacktestBody(std::string_view body, const TimeZone& zone);

}  // namespace osprey::api
