#include "osprey/schedule/shards.h"

namespace osprey::schedule {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t Fnv1a(uint64_t h, std::string_view text) {
  for (unsigned char c : text) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

}  // namespace

int ShardOf(std::string_view measure, std::string_view dims_json, int64_t shards) {
  if (shards <= 1) return 0;
  uint64_t h = Fnv1a(kFnvOffset, measure);
  h = Fnv1a(h, std::string_view("\0", 1));
  h = Fnv1a(h, dims_json);
  return static_cast<int>(h % static_cast<uint64_t>(shards));
}

}  // namespace osprey::schedule
