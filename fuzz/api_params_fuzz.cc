// The REST API's query parameter and path id parsers (api/parse.h). The
// first byte picks the parser; the rest is the value. Invariants: errors are
// InvalidArgument naming the parameter; accepted integers and numbers lie in
// the range asked for, come from text without NUL bytes, and print as text
// that parses back equal; accepted times print (FormatIso) as text that
// parses back equal.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "osprey/api/parse.h"

namespace {

void CheckError(const osprey::Status& s, std::string_view name) {
  FUZZ_CHECK(s.code() == osprey::StatusCode::kInvalidArgument, s.ToString());
  FUZZ_CHECK(s.message().find(name) != std::string::npos, s.ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view value(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto x = osprey::api::ParseIntParam("limit", value, 1, 500);
      if (!x.ok()) {
        CheckError(x.status(), "limit");
        break;
      }
      FUZZ_CHECK(*x >= 1 && *x <= 500, std::to_string(*x));
      FUZZ_CHECK(value.find('\0') == std::string_view::npos, "accepted text with a NUL");
      auto back = osprey::api::ParseIntParam("limit", std::to_string(*x), 1, 500);
      FUZZ_CHECK(back.ok() && *back == *x, std::to_string(*x));
      break;
    }
    case 1: {
      auto x = osprey::api::ParseNumberParam("min_severity", value, 0, 100);
      if (!x.ok()) {
        CheckError(x.status(), "min_severity");
        break;
      }
      FUZZ_CHECK(std::isfinite(*x) && *x >= 0 && *x <= 100, std::to_string(*x));
      FUZZ_CHECK(value.find('\0') == std::string_view::npos, "accepted text with a NUL");
      break;
    }
    case 2: {
      auto t = osprey::api::ParseTimeParam("from", value);
      if (!t.ok()) {
        CheckError(t.status(), "from");
        break;
      }
      const std::string iso = osprey::FormatIso(osprey::FromUnixSeconds(*t));
      auto back = osprey::api::ParseTimeParam("from", iso);
      FUZZ_CHECK(back.ok() && *back == *t, iso);
      break;
    }
    default: {
      auto id = osprey::api::ParsePathId("id", value);
      if (!id.ok()) {
        CheckError(id.status(), "id");
        break;
      }
      FUZZ_CHECK(*id > 0, std::to_string(*id));
      FUZZ_CHECK(value.find('\0') == std::string_view::npos, "accepted text with a NUL");
      break;
    }
  }
  return 0;
}
