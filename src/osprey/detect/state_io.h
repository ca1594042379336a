// Helpers the models share: raw little-endian (host order) state encoding for
// SaveState/Restore, and the normal tail used to turn z-scores into
// probabilities. Internal to detect/ and the stream engines (stream/); pure
// and thread-safe.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace osprey::detect::internal {

// Appends the bytes of `v` to `out`.
template <typename T>
void Put(std::string& out, const T& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

// Reads a T from the front of `in` and drops it; false when `in` is too short.
template <typename T>
bool Get(std::string_view& in, T& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (in.size() < sizeof(T)) return false;
  std::memcpy(&v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

// Bounds a restored state must respect before a model may use it: counts
// from a corrupt state could overflow when incremented or subtracted, and
// NaN or infinite statistics would turn every later score into NaN.
inline constexpr int64_t kMaxStateCount = int64_t{1} << 48;
// Times and periods in a state: Unix seconds (or fewer units) within
// about 35,000 years of 1970.
inline constexpr int64_t kMaxStateTime = int64_t{1} << 40;
inline bool CountOk(int64_t n) { return n >= 0 && n <= kMaxStateCount; }
template <typename... T>
bool AllFinite(T... v) {
  return (std::isfinite(static_cast<double>(v)) && ...);
}

// -log10 of the upper tail probability of a standard normal at z.
inline double NegLog10Tail(double z) {
  if (z <= 0) return -std::log10(0.5 * std::erfc(z / std::sqrt(2.0)));
  if (z < 30) {
    double p = 0.5 * std::erfc(z / std::sqrt(2.0));
    if (p > 1e-300) return -std::log10(p);
  }
  // Asymptotic: p ~ phi(z) / z.
  return (0.5 * z * z + std::log(z * std::sqrt(2 * M_PI))) / std::log(10.0);
}

}  // namespace osprey::detect::internal
