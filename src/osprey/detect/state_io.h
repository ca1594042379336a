// Helpers the models share: raw little-endian (host order) state encoding for
// SaveState/Restore, and the normal tail used to turn z-scores into
// probabilities. Internal to detect/ and the stream engines (stream/); pure
// and thread-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
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

// Reads n T's from the front of `in` into v and drops them; false when `in`
// is too short.
template <typename T>
bool GetArray(std::string_view& in, T* v, size_t n) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (in.size() / sizeof(T) < n) return false;
  std::memcpy(v, in.data(), n * sizeof(T));
  in.remove_prefix(n * sizeof(T));
  return true;
}

// Writes a state into a string through a pointer, the bytes Put would
// append (a state of thousands of fields appended one at a time costs more
// than its bytes): replaces the string's contents and reuses its capacity.
// Finish() must be called last.
class StateWriter {
 public:
  // `expected`: the state's likely size (the string grows past it if need
  // be). A string that already holds as much (a buffer reused from save to
  // save) is written over as it is: resizing it to its room would clear
  // the bytes past its size on every save (a third of a save's time at a
  // million saves an interval).
  StateWriter(std::string* out, size_t expected) : out_(out) {
    if (out_->size() < expected) out_->resize(expected);
    at_ = 0;
  }
  template <typename T>
  void Put(const T& v) {
    PutArray(&v, 1);
  }
  template <typename T>
  void PutArray(const T* v, size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    Room(n * sizeof(T));
    std::memcpy(out_->data() + at_, v, n * sizeof(T));
    at_ += n * sizeof(T);
  }
  void Finish() { out_->resize(at_); }

 private:
  void Room(size_t n) {
    if (out_->size() - at_ < n) [[unlikely]]
      Grow(n);
  }
  void Grow(size_t n) { out_->resize(std::max(out_->size() * 2, at_ + n)); }
  std::string* out_;
  size_t at_ = 0;
};

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
// The same over a container of floats or doubles (a state's arrays).
template <typename C>
bool AllFiniteIn(const C& values) {
  for (auto v : values) {
    if (!std::isfinite(v)) return false;
  }
  return true;
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
