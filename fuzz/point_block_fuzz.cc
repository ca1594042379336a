// Point blocks (store/point_block.h), as read back from a state store.
// Invariants: a block that does not decode is DataLoss naming its series and
// day; a decoded block's times are strictly increasing within its day, and
// its points encode exactly → decode to the same bits, and encode quantized
// → decode to the same times and present fields.
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "osprey/store/point_block.h"

namespace {

constexpr int64_t kDay = 1704067200;  // 2024-01-01T00:00:00Z

using Field = std::optional<double> osprey::store::PointRecord::*;
constexpr Field kFields[] = {&osprey::store::PointRecord::value, &osprey::store::PointRecord::expected,
                             &osprey::store::PointRecord::lower, &osprey::store::PointRecord::upper,
                             &osprey::store::PointRecord::severity};

std::vector<osprey::store::PointRecord> Decode(std::string_view data) {
  std::vector<osprey::store::PointRecord> out;
  osprey::Status s = osprey::store::DecodePointBlock(data, 7, kDay, &out);
  FUZZ_CHECK(s.ok(), s.ToString());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view block(reinterpret_cast<const char*>(data), size);
  std::vector<osprey::store::PointRecord> points;
  osprey::Status s = osprey::store::DecodePointBlock(block, 7, kDay, &points);
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == osprey::StatusCode::kDataLoss, s.ToString());
    FUZZ_CHECK(s.message().find("series 7 starting 2024-01-01T00:00:00Z") != std::string::npos, s.message());
    FUZZ_CHECK(points.empty(), "a failed decode appended points");
    return 0;
  }
  FUZZ_CHECK(!points.empty(), "a block without points decoded");
  for (size_t i = 0; i < points.size(); ++i) {
    FUZZ_CHECK(points[i].series_id == 7, "series id");
    FUZZ_CHECK(osprey::store::PointBlockStart(points[i].ts) == kDay, "a point outside its day");
    FUZZ_CHECK(i == 0 || points[i - 1].ts < points[i].ts, "times out of order");
  }
  auto exact = osprey::store::EncodePointBlock(points, kDay, /*exact=*/true);
  FUZZ_CHECK(exact.ok(), exact.status().ToString());
  const auto again = Decode(*exact);
  FUZZ_CHECK(again.size() == points.size(), "exact round trip changed the count");
  auto quantized = osprey::store::EncodePointBlock(points, kDay);
  FUZZ_CHECK(quantized.ok(), quantized.status().ToString());
  const auto rounded = Decode(*quantized);
  FUZZ_CHECK(rounded.size() == points.size(), "quantized round trip changed the count");
  for (size_t i = 0; i < points.size(); ++i) {
    FUZZ_CHECK(again[i].ts == points[i].ts && rounded[i].ts == points[i].ts, "a time changed");
    for (Field f : kFields) {
      FUZZ_CHECK((again[i].*f).has_value() == (points[i].*f).has_value(), "presence changed");
      FUZZ_CHECK((rounded[i].*f).has_value() == (points[i].*f).has_value(), "presence changed (quantized)");
      if (points[i].*f) {
        FUZZ_CHECK(std::bit_cast<uint64_t>(*(again[i].*f)) == std::bit_cast<uint64_t>(*(points[i].*f)),
                   "an exact field changed");
      }
    }
    if (points[i].value) {
      FUZZ_CHECK(std::bit_cast<uint64_t>(*rounded[i].value) == std::bit_cast<uint64_t>(*points[i].value),
                 "a value changed (values are exact)");
    }
  }
  return 0;
}
