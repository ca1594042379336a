// Model state restore on arbitrary bytes: a stored state may be truncated or
// corrupted on disk. The first byte picks the model (byte % 5: 3 the novelty
// stream engine, 4 the ART stream engine, anything else the pipeline's
// default model; the numbering of the seed files in corpus/model_state/); the
// rest is the state. Invariants: corrupt bytes give DataLoss, never a crash
// or another code; a restored model scores values, and its saved state
// restores to a model that saves the same state.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "osprey/detect/model.h"
#include "osprey/stream/engine.h"

namespace {

osprey::Result<std::unique_ptr<osprey::detect::Model>> Restore(uint8_t kind, std::string_view state) {
  if (kind % 5 == 3 || kind % 5 == 4) {
    osprey::stream::EngineOptions options;
    options.engine = kind % 5 == 3 ? osprey::stream::Engine::kNovelty : osprey::stream::Engine::kArt;
    options.interval_seconds = 3600;
    return osprey::stream::RestoreEngine(options, state);
  }
  osprey::detect::ModelOptions options;
  options.interval_seconds = 3600;
  return osprey::detect::RestoreModel(options, state);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view state(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto m = Restore(data[0], state);
  if (!m.ok()) {
    FUZZ_CHECK(m.status().code() == osprey::StatusCode::kDataLoss, m.status().ToString());
    return 0;
  }
  const std::string saved = (*m)->SaveState();
  auto again = Restore(data[0], saved);
  FUZZ_CHECK(again.ok(), again.status().ToString());
  FUZZ_CHECK((*again)->SaveState() == saved, "save -> restore -> save changed the state");
  int64_t t = 1735689600;
  for (int i = 0; i < 8; ++i, t += 3600) {
    osprey::detect::Observation obs;
    obs.time = t;
    obs.local_time = t;
    if (i != 3) obs.value = 100.0 + i;
    const osprey::detect::Score s = (*m)->Observe(obs);
    if (s.ready) FUZZ_CHECK(s.severity >= 0 && s.severity <= 100, std::to_string(s.severity));
  }
  return 0;
}
