// API tokens: generation, hashing and verification. A token is "osp_" and 64
// hex digits (32 random bytes); the store keeps only its SHA-256, and the
// verifier compares digests in constant time, so neither the store nor the
// timing of a request reveals a token. TokenVerifier is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/clock.h"
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

// Verifies presented tokens against the store's active tokens, which it
// keeps in memory and re-reads when they are `refresh` old on `clock` (the
// server's injected clock): a token revoked by `osprey token revoke` is
// refused within that time. A token the cached list does not hold makes it
// re-read the list at once (one reader at a time: requests that wait on a
// re-read use its result), so a token created a moment ago works on its
// first request. On the hot path a request hashes its token and compares it
// with the cached digests under a shared lock: requests do not wait on each
// other, only on a re-read.
class TokenVerifier {
 public:
  explicit TokenVerifier(const Clock& clock, std::chrono::seconds refresh = std::chrono::seconds(2))
      : clock_(clock), refresh_(refresh) {}

  // nullopt when the token is unknown or revoked; the store's error when the
  // tokens must be read and cannot be.
  Result<std::optional<Principal>> Verify(std::string_view token, store::Store& store);

 private:
  struct Entry {
    std::string digest;  // 32 raw bytes
    Principal principal;
  };
  Status Reload(store::Store& store);                               // mu_ held exclusively
  bool Fresh() const;                                               // mu_ held
  std::optional<Principal> Match(const std::string& digest) const;  // mu_ held

  const Clock& clock_;
  const std::chrono::seconds refresh_;

  mutable std::shared_mutex mu_;
  std::vector<Entry> entries_;        // guarded by mu_
  std::optional<Instant> loaded_at_;  // guarded by mu_
  uint64_t loads_ = 0;                // guarded by mu_; re-reads done
};

}  // namespace osprey::api
