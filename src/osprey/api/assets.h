// Files embedded into the binary at build time (cmake/embed.cmake): the web
// UI from web/ and the OpenAPI document. The data lives for the whole
// program; reading it is thread-safe.
#pragma once

#include <string_view>
#include <vector>

namespace osprey::api {

struct Asset {
  std::string_view path;  // relative to web/ ("index.html", "vendor/uPlot.min.css")
  std::string_view data;
};

// The UI files under web/.
const std::vector<Asset>& WebAssets();
// One entry, "openapi.json": the OpenAPI 3 document of the REST API.
const std::vector<Asset>& OpenApiAssets();

}  // namespace osprey::api
