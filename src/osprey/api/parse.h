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
#include <vector>

#include "osprey/base/status.h"
#include "osprey/base/time.h"

namespace osprey::api {

// The longest feedback comment accepted, bytes.
inline constexpr size_t kMaxCommentBytes = 2000;

// A decimal integer in [min, max] (at most 18 characters).
Result<int64_t> ParseIntParam(std::string_view name, std::string_view value, int64_t min, int64_t max);
// A finite decimal number in [min, max].
Result<double> ParseNumberParam(std::string_view name, std::string_view value, double min, double max);
// An ISO-8601 date or date-time (ParseInstant), UTC unless it carries an
// offset; Unix seconds.
Result<int64_t> ParseTimeParam(std::string_view name, std::string_view value);
// A path id: a positive integer.
Result<int64_t> ParsePathId(std::string_view name, std::string_view value);

// A list's `cursor`: the position after the previous page's last item, as
// the `next` link carries it: "{order}:{field}:{field}...", one field per
// letter of `types` ('i' a decimal integer, 'n' a finite number). Returns the
// fields; InvalidArgument naming 'cursor' when the value is not a cursor of
// that order (as when the sort changed).
Result<std::vector<std::string>> ParseCursor(std::string_view value, std::string_view order,
                                             std::string_view types);

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

// The longest silence accepted, seconds (a year).
inline constexpr int64_t kMaxSilenceSeconds = 366 * 86400;

// POST /api/v1/silences: {"detector": string, "measure": string, "matchers":
// {dimension: value}, "starts_at": date-time, "ends_at": date-time,
// "duration_seconds": int, "comment": string}. A non-empty comment is
// required, and exactly one of ends_at and duration_seconds (60 s .. a year,
// counted from starts_at, or from now when that is not given); the rest is
// optional. Times are UTC unless they carry an offset.
struct SilenceBody {
  std::string detector, measure;
  std::string matchers = "{}";  // the JSON object, as text
  std::optional<int64_t> starts_at, ends_at, duration_seconds;
  std::string comment;
};
Result<SilenceBody> ParseSilenceBody(std::string_view body);

}  // namespace osprey::api
