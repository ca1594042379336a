// Writes the seed corpus of the model_state fuzz target: the saved state of
// each model after 0, 30 and 400 hourly values of a daily cycle with a spike
// and a gap, each prefixed with the byte the target reads (0 the pipeline's
// default model, 3 the novelty and 4 the ART stream engine).
//   fuzz_model_state_seeds fuzz/corpus/model_state
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "osprey/detect/model.h"
#include "osprey/stream/engine.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  for (int kind : {0, 3, 4}) {
    osprey::stream::EngineOptions engine;
    engine.engine = kind == 3 ? osprey::stream::Engine::kNovelty : osprey::stream::Engine::kArt;
    auto model = kind == 0 ? osprey::detect::CreateModel(osprey::detect::ModelOptions())
                           : osprey::stream::CreateEngine(engine);
    if (!model.ok()) return 1;
    int64_t t = 1735689600;
    int written = 0;
    for (int i = 0; i <= 400; ++i, t += 3600) {
      if (i == 0 || i == 30 || i == 400) {
        const std::string path =
            std::string(argv[1]) + "/kind" + std::to_string(kind) + "_after" + std::to_string(i) + ".bin";
        std::ofstream(path, std::ios::binary) << static_cast<char>(kind) << (*model)->SaveState();
        ++written;
      }
      osprey::detect::Observation obs;
      obs.time = t;
      obs.local_time = t;
      if (i % 97 != 5) obs.value = 100 + 30 * std::sin(2 * M_PI * (i % 24) / 24.0) + (i == 200 ? 400 : 0);
      (*model)->Observe(obs);
    }
  }
  return 0;
}
