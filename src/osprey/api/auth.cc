#include "osprey/api/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <mutex>

namespace osprey::api {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string ToHex(const unsigned char* p, size_t n) {
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

std::string RawDigest(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

std::optional<std::string> HexToRaw(std::string_view hex) {
  if (hex.size() != 2 * SHA256_DIGEST_LENGTH) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

std::string_view RoleName(Role role) { return role == Role::kAdmin ? "admin" : "viewer"; }

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "viewer") return Role::kViewer;
  return std::nullopt;
}

Result<std::string> GenerateToken() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return Unavailable("the random generator failed; cannot create a token");
  }
  return "osp_" + ToHex(bytes.data(), bytes.size());
}

std::string HashToken(std::string_view token) {
  std::string raw = RawDigest(token);
  return ToHex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

Status TokenVerifier::Reload(store::Store& store) {
  OSPREY_ASSIGN_OR_RETURN(auto tokens, store.ListTokens());
  std::vector<Entry> entries;
  for (const auto& t : tokens) {
    if (t.revoked_at) continue;
    auto raw = HexToRaw(t.hash);
    auto role = ParseRole(t.role);
    if (!raw || !role) continue;
    entries.push_back({*raw, Principal{t.id, t.name, *role}});
  }
  entries_ = std::move(entries);
  loaded_at_ = clock_.Now();
  ++loads_;
  return Status::Ok();
}

bool TokenVerifier::Fresh() const { return loaded_at_ && clock_.Now() - *loaded_at_ < refresh_; }

std::optional<Principal> TokenVerifier::Match(const std::string& digest) const {
  // Every entry is compared, in constant time, whether or not one matched.
  const Entry* match = nullptr;
  for (const auto& e : entries_) {
    if (CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0) match = &e;
  }
  if (!match) return std::nullopt;
  return match->principal;
}

Result<std::optional<Principal>> TokenVerifier::Verify(std::string_view token, store::Store& store) {
  const std::string digest = RawDigest(token);
  uint64_t seen = 0;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (Fresh()) {
      if (auto p = Match(digest)) return p;
    }
    seen = loads_;
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  // A re-read done while this request waited is as new as one it would do.
  if (loads_ == seen) OSPREY_RETURN_IF_ERROR(Reload(store));
  return Match(digest);
}

}  // namespace osprey::api
