// A model state stored as its changes from an earlier state of the same
// series (state-store.md, "Model state deltas"): an interval changes a few
// bytes of a state of kilobytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace osprey::store {

// `state` as its differences from `base`, which must be as long: the
// length (a varint), then runs of (unchanged bytes before it, its length:
// varints; its bytes). Unchanged gaps of under four bytes are folded into
// the run (a run's header costs about as much).
std::string EncodeStateDelta(std::string_view base, std::string_view state);
// The same delta into *out (its room reused); false, with *out partly
// written, once the delta is longer than max_size (the caller then stores
// the state whole).
bool EncodeStateDeltaInto(std::string_view base, std::string_view state, size_t max_size, std::string* out);

// The state `delta` was made from with `base` into *state; false when the
// delta does not fit the base (corrupt, or made from another one).
bool ApplyStateDelta(std::string_view base, std::string_view delta, std::string* state);

// The bytes of a state that a delta applied in place overwrote: for each
// run, its offset and length, and the bytes it had (one after the other).
struct StateDeltaUndo {
  std::vector<std::pair<uint32_t, uint32_t>> runs;  // (offset, length)
  std::string bytes;
  // *state back as it was before the delta (the runs' old bytes put back).
  void Restore(std::string* state) const;
};
// ApplyStateDelta onto `state` itself, its overwritten bytes kept in *undo
// (cleared first): one copy of a state read instead of two. false when the
// delta does not fit; the runs applied until then are in *undo.
bool ApplyStateDeltaInPlace(std::string_view delta, std::string* state, StateDeltaUndo* undo);

}  // namespace osprey::store
