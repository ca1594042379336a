#include "osprey/store/model_state_delta.h"

#include <cstdint>
#include <cstring>

namespace osprey::store {
namespace {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return true;
  }
  return false;
}

uint64_t Word(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

}  // namespace

std::string EncodeStateDelta(std::string_view base, std::string_view state) {
  std::string out;
  EncodeStateDeltaInto(base, state, std::string::npos, &out);
  return out;
}

bool EncodeStateDeltaInto(std::string_view base, std::string_view state, size_t max_size, std::string* out) {
  out->clear();
  const size_t n = state.size();
  PutVarint(*out, n);
  size_t done = 0;  // bytes covered so far
  size_t i = 0;
  while (i < n) {
    // Unchanged bytes are skipped 64 at a time (libc's memcmp compares them
    // in a few vector steps; most of a state is unchanged), then eight.
    while (i + 64 <= n && std::memcmp(base.data() + i, state.data() + i, 64) == 0) i += 64;
    while (i + 8 <= n && Word(base.data() + i) == Word(state.data() + i)) i += 8;
    while (i < n && base[i] == state[i]) ++i;
    if (i == n) break;
    // A run of changes from i, through gaps of under four unchanged bytes.
    size_t end = i + 1;
    for (size_t j = end; j < n;) {
      if (base[j] != state[j]) {
        end = ++j;
        continue;
      }
      size_t same = j;
      while (same < n && same - j < 4 && base[same] == state[same]) ++same;
      if (same - j >= 4 || same == n) break;
      j = same;
    }
    PutVarint(*out, i - done);
    PutVarint(*out, end - i);
    out->append(state.data() + i, end - i);
    if (out->size() > max_size) return false;
    done = i = end;
  }
  return out->size() <= max_size;
}

namespace {

// Calls run(at, bytes, len) for each run of changed bytes a delta writes into
// a state of `size` bytes, in order; false when the delta is not one for
// that size or is malformed (a run past the end, a truncated run), possibly
// after some runs.
template <class Run>
bool ForEachDeltaRun(std::string_view delta, size_t size, Run&& run) {
  uint64_t n = 0;
  if (!GetVarint(delta, &n) || n != size) return false;
  size_t at = 0;
  while (!delta.empty()) {
    uint64_t skip = 0, len = 0;
    if (!GetVarint(delta, &skip) || !GetVarint(delta, &len)) return false;
    if (skip > n - at || len > n - at - skip || len > delta.size()) return false;
    at += skip;
    run(at, delta.data(), static_cast<size_t>(len));
    delta.remove_prefix(len);
    at += len;
  }
  return true;
}

}  // namespace

bool ApplyStateDelta(std::string_view base, std::string_view delta, std::string* state) {
  state->assign(base);
  return ForEachDeltaRun(delta, base.size(), [&](size_t at, const char* bytes, size_t len) {
    std::memcpy(state->data() + at, bytes, len);
  });
}

void StateDeltaUndo::Restore(std::string* state) const {
  size_t from = 0;
  for (const auto& [at, len] : runs) {
    std::memcpy(state->data() + at, bytes.data() + from, len);
    from += len;
  }
}

bool ApplyStateDeltaInPlace(std::string_view delta, std::string* state, StateDeltaUndo* undo) {
  undo->runs.clear();
  undo->bytes.clear();
  return ForEachDeltaRun(delta, state->size(), [&](size_t at, const char* bytes, size_t len) {
    undo->runs.emplace_back(static_cast<uint32_t>(at), static_cast<uint32_t>(len));
    undo->bytes.append(state->data() + at, len);
    std::memcpy(state->data() + at, bytes, len);
  });
}

}  // namespace osprey::store
