#include "osprey/stream/engine.h"

#include "osprey/stream/art_model.h"
#include "osprey/stream/novelty_model.h"

namespace osprey::stream {

Result<std::unique_ptr<Model>> CreateEngine(const EngineOptions& options) {
  if (options.engine == Engine::kArt) return ArtModel::Create(options);
  return NoveltyModel::Create(options);
}

Result<std::unique_ptr<Model>> RestoreEngine(const EngineOptions& options, std::string_view state) {
  if (options.engine == Engine::kArt) return ArtModel::Restore(options, state);
  return NoveltyModel::Restore(options, state);
}

}  // namespace osprey::stream
