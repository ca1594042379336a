// The detector file loader (config/loader.h) on arbitrary YAML or JSON text.
// Invariants: an error is InvalidArgument located as "fuzz.yaml:LINE:"; a
// loaded detector serialises (DetectorToYaml) to YAML that loads back and
// serialises to the same text.
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "osprey/config/loader.h"

namespace {

bool Located(const std::string& message, std::string_view origin) {
  if (message.rfind(origin, 0) != 0 || message.size() <= origin.size() + 1) return false;
  size_t i = origin.size();
  if (message[i++] != ':') return false;
  const size_t digits = i;
  while (i < message.size() && std::isdigit(static_cast<unsigned char>(message[i]))) ++i;
  return i > digits && i < message.size() && message[i] == ':';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = osprey::config::LoadDetector(text, "fuzz.yaml");
  if (!d.ok()) {
    FUZZ_CHECK(d.status().code() == osprey::StatusCode::kInvalidArgument, d.status().ToString());
    FUZZ_CHECK(Located(d.status().message(), "fuzz.yaml"), d.status().ToString());
    return 0;
  }
  const std::string yaml = osprey::config::DetectorToYaml(*d);
  auto back = osprey::config::LoadDetector(yaml, "round-trip.yaml");
  FUZZ_CHECK(back.ok(), back.status().ToString() + "\n" + yaml);
  FUZZ_CHECK(osprey::config::DetectorToYaml(*back) == yaml, yaml);
  return 0;
}
