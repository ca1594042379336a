// API tokens: generation, hashing and verification. A token is "osp_" and 64
// hex digits (32 random bytes); the store keeps only its SHA-256, and the
// verifier compares digests in constant time, so neither the store nor the
// timing of a request reveals a token. TokenVerifier is thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/store/store.h"

namespace osprey::api {

enum class Role { kViewer = 0, kAdmin = 1 };

std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

// A new random token (from OpenSSL's CSPRNG). Unavailable if the generator fails.
Result<std::string> GenerateToken();
// Lowercase hex SHA-256 of `token`.
std::string HashToken(std::string_view token);

struct Principal {
  int64_t token_id = 0;
  std::string name;
  Role role = Role::kViewer;
};

// Verifies presented tokens against the store's active tokens, cached for
// `refresh` (revocations take effect within that time). On the hot path a
// request hashes its token and compares it with the cached digests under a
// shared lock: requests do not wait on each other, only on a reload.
class TokenVerifier {
 public:
  explicit TokenVerifier(std::chrono::steady_clock::duration refresh = std::chrono::seconds(2))
      : refresh_(refresh) {}

  // nullopt when the token is unknown or revoked. `load` reads the tokens
  // from the store when the cache is stale; its error is returned.
  Result<std::optional<Principal>> Verify(std::string_view token, store::Store& store);

 private:
  struct Entry {
    std::string digest;  // 32 raw bytes
    Principal principal;
  };
  Status Reload(store::Store& store);

  const std::chrono::steady_clock::duration refresh_;
  std::optional<Principal> Match(const std::string& digest) const;  // mu_ held

  std::shared_mutex mu_;
  std::vector<Entry> entries_;                                      // guarded by mu_
  std::optional<std::chrono::steady_clock::time_point> loaded_at_;  // guarded by mu_
};

}  // namespace osprey::api
