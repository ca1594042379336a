// Timestamp and duration parsing (base/time.h): TimestampFormat::Parse and
// ParseValue as CSV and SQL sources use them, ISO-8601 durations and
// ParseInstant. The input is "PATTERN\nVALUE". Invariants: errors are
// InvalidArgument; a parsed value formats (Format) to text that parses back
// to the same instant, in UTC and in a zone with DST; a parsed duration
// prints (ToString) as text that parses back equal; a parsed instant prints
// (FormatIso) as text that parses back equal.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "osprey/base/time.h"

namespace {

using osprey::StatusCode;

void CheckError(const osprey::Status& s) {
  FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument, s.ToString());
  FUZZ_CHECK(!s.message().empty(), "an error says what is wrong");
}

void CheckValue(const osprey::TimestampFormat& f, std::string_view value, const osprey::TimeZone& zone) {
  auto t = f.ParseValue(value, zone);
  if (!t.ok()) return CheckError(t.status());
  const std::string text = f.Format(*t, zone);
  auto back = f.ParseValue(text, zone);
  FUZZ_CHECK(back.ok(), back.status().ToString() + " (formatted as '" + text + "')");
  FUZZ_CHECK(*back == *t,
             "'" + text + "' parses to another instant (" + f.pattern() + ", " + zone.name() + ")");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view pattern = input.substr(0, nl);
  const std::string_view value = nl == std::string_view::npos ? "" : input.substr(nl + 1);
  static const osprey::TimeZone berlin = *osprey::TimeZone::Load("Europe/Berlin");

  auto f = osprey::TimestampFormat::Parse(pattern);
  if (f.ok()) {
    CheckValue(*f, value, osprey::TimeZone::Utc());
    CheckValue(*f, value, berlin);
  } else {
    CheckError(f.status());
  }

  for (std::string_view text : {pattern, value}) {
    auto d = osprey::Duration::Parse(text);
    if (d.ok()) {
      auto back = osprey::Duration::Parse(d->ToString());
      FUZZ_CHECK(back.ok() && *back == *d, d->ToString());
      FUZZ_CHECK(d->NominalSeconds() > 0, d->ToString());
    } else {
      CheckError(d.status());
    }
    auto t = osprey::ParseInstant(text, berlin);
    if (t.ok()) {
      auto back = osprey::ParseInstant(osprey::FormatIso(*t), berlin);
      FUZZ_CHECK(back.ok() && *back == *t, osprey::FormatIso(*t));
    } else {
      CheckError(t.status());
    }
  }
  return 0;
}
