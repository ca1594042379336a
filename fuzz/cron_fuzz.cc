// Cron expressions (base/cron.h), POSIX and AWS forms. Invariants: errors
// are InvalidArgument; a parsed expression's next firing, when there is one,
// is at or after the start instant, in UTC and in a zone with DST, and is
// itself a firing (asking again from it returns it).
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "osprey/base/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = osprey::ParseCron(text);
  if (!spec.ok()) {
    FUZZ_CHECK(spec.status().code() == osprey::StatusCode::kInvalidArgument, spec.status().ToString());
    return 0;
  }
  FUZZ_CHECK(spec->minutes.any() && spec->hours.any() && spec->months.any(), spec->text);
  static const osprey::TimeZone berlin = *osprey::TimeZone::Load("Europe/Berlin");
  const osprey::Instant start = osprey::FromUnixSeconds(1711846800);  // 2024-03-31T01:00Z, DST day
  static const osprey::TimeZone utc = osprey::TimeZone::Utc();
  for (const osprey::TimeZone* zone : {&utc, &berlin}) {
    auto next = osprey::NextCronTime(*spec, *zone, start);
    if (!next) continue;
    FUZZ_CHECK(*next >= start, spec->text);
    auto again = osprey::NextCronTime(*spec, *zone, *next);
    FUZZ_CHECK(again && *again == *next, spec->text + ": a firing is not its own next firing");
  }
  return 0;
}
