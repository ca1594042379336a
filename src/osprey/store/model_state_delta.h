// A model state stored as its changes from an earlier state of the same
// series (state-store.md, "Model state deltas"): an interval changes a few
// bytes of a state of kilobytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

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

}  // namespace osprey::store
