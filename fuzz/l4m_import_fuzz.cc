// Import of a Lookout for Metrics params.json (config/l4m_import.h).
// Invariants: an error is InvalidArgument starting "params.json"; an
// imported detector is valid: DetectorToYaml of it loads back with
// LoadDetector, as the header promises.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "osprey/config/l4m_import.h"
#include "osprey/config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = osprey::config::ImportL4mParams(text, "params.json");
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == osprey::StatusCode::kInvalidArgument, r.status().ToString());
    FUZZ_CHECK(r.status().message().rfind("params.json", 0) == 0, r.status().ToString());
    return 0;
  }
  const std::string yaml = osprey::config::DetectorToYaml(r->detector);
  auto back = osprey::config::LoadDetector(yaml, "imported.yaml");
  FUZZ_CHECK(back.ok(), back.status().ToString() + "\n" + yaml);
  return 0;
}
