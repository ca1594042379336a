// The REST API's JSON request bodies (api/parse.h): feedback and backtest.
// The first byte picks the body; the rest is the body text. Invariants:
// errors are InvalidArgument; accepted feedback has a comment within the
// limit; accepted backtest times print (FormatIso) as text that parses back
// to the same instant.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "osprey/api/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto f = osprey::api::ParseFeedbackBody(body);
    if (!f.ok()) {
      FUZZ_CHECK(f.status().code() == osprey::StatusCode::kInvalidArgument, f.status().ToString());
      return 0;
    }
    FUZZ_CHECK(f->comment.size() <= osprey::api::kMaxCommentBytes, "comment too long");
    return 0;
  }
  static const osprey::TimeZone berlin = *osprey::TimeZone::Load("Europe/Berlin");
  auto b = osprey::api::ParseBacktestBody(body, berlin);
  if (!b.ok()) {
    FUZZ_CHECK(b.status().code() == osprey::StatusCode::kInvalidArgument, b.status().ToString());
    return 0;
  }
  for (const auto& t : {b->from, b->to}) {
    if (!t) continue;
    auto back = osprey::ParseInstant(osprey::FormatIso(*t), berlin);
    FUZZ_CHECK(back.ok() && *back == *t, osprey::FormatIso(*t));
  }
  return 0;
}
