// Files for tests: a fresh temporary directory that removes itself, and a
// whole file read into a string. Test-only code; not thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace osprey::testing {

// A new, empty directory under the system temp directory (mkdtemp, so
// concurrent test processes never share one), removed with all it holds by
// the destructor. Aborts when the directory cannot be created: no test can
// run without it.
class TempDir {
 public:
  // `prefix` starts the directory's name, e.g. "osprey_pipeline_".
  explicit TempDir(std::string_view prefix = "osprey_test_");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The path of `name` inside the directory (not created).
  std::string File(std::string_view name) const;

 private:
  std::filesystem::path path_;
};

// A new directory like TempDir's, kept: empty when it cannot be created.
std::string MakeTempDir(std::string_view prefix);

// The whole file, bytes as they are; nullopt when it cannot be opened.
std::optional<std::string> ReadFile(const std::filesystem::path& path);

}  // namespace osprey::testing
