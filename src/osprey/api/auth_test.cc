#include "osprey/api/auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "osprey/testing/clock.h"

namespace osprey::api {
namespace {

TEST(AuthTest, TokensAreRandomAndHashed) {
  std::string a = *GenerateToken(), b = *GenerateToken();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 4u + 64u);
  EXPECT_EQ(a.rfind("osp_", 0), 0u);
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuthTest, VerifierAcceptsActiveTokensOnly) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("osprey_auth_" + std::to_string(::getpid()) + ".db"))
          .string();
  std::filesystem::remove(path);
  auto store = std::move(store::OpenSqliteStore(path)).value();
  std::string admin = *GenerateToken(), viewer = *GenerateToken();
  ASSERT_TRUE(store->CreateToken({0, "ops", "admin", HashToken(admin), 1, std::nullopt}).ok());
  int64_t vid = *store->CreateToken({0, "dash", "viewer", HashToken(viewer), 1, std::nullopt});
  testing::FakeClock clock(FromUnixSeconds(1000));
  TokenVerifier v(clock, std::chrono::seconds(0));
  auto p = *v.Verify(admin, *store);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->role, Role::kAdmin);
  EXPECT_EQ(p->name, "ops");
  EXPECT_EQ((*v.Verify(viewer, *store))->role, Role::kViewer);
  EXPECT_FALSE(v.Verify("osp_nope", *store)->has_value());
  EXPECT_FALSE(v.Verify("", *store)->has_value());
  ASSERT_TRUE(store->RevokeToken(vid, 2).ok());
  EXPECT_FALSE(v.Verify(viewer, *store)->has_value());
  store.reset();
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
}

// The cached token list on an injected clock: a new token works on its first
// request, a revoked one is refused once the list is `refresh` old (and not
// before: the bound is what the docs promise), a token re-created with
// another role has that role, and an unknown token does not extend the life
// of a revoked one.
TEST(AuthTest, CachedTokensFollowTheStoreOnTheInjectedClock) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("osprey_auth_cache_" + std::to_string(::getpid()) + ".db"))
          .string();
  std::filesystem::remove(path);
  auto store = std::move(store::OpenSqliteStore(path)).value();
  testing::FakeClock clock(FromUnixSeconds(1000));
  TokenVerifier v(clock, std::chrono::seconds(2));
  std::string viewer = *GenerateToken();
  int64_t vid = *store->CreateToken({0, "dash", "viewer", HashToken(viewer), 1, std::nullopt});
  ASSERT_TRUE(v.Verify(viewer, *store)->has_value());  // loads the list

  // Created after the list was loaded, used at the same instant.
  std::string admin = *GenerateToken();
  int64_t aid = *store->CreateToken({0, "ops", "admin", HashToken(admin), 1, std::nullopt});
  auto a = *v.Verify(admin, *store);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->role, Role::kAdmin);

  // Revoked: still in the list until it is 2 s old, even when an unknown
  // token makes the verifier re-read it, then refused.
  ASSERT_TRUE(store->RevokeToken(vid, 2).ok());
  clock.Advance(std::chrono::seconds(1));
  EXPECT_FALSE(v.Verify("osp_unknown", *store)->has_value());
  EXPECT_FALSE(v.Verify(viewer, *store)->has_value()) << "the unknown token's re-read saw the revocation";
  ASSERT_TRUE(store->RevokeToken(aid, 3).ok());
  EXPECT_TRUE(v.Verify(admin, *store)->has_value()) << "re-read 0 s ago: within the refresh period";
  clock.Advance(std::chrono::seconds(2));
  EXPECT_FALSE(v.Verify(admin, *store)->has_value());

  // The same name again with the viewer role: the new token has that role,
  // the revoked admin token stays refused.
  std::string again = *GenerateToken();
  ASSERT_TRUE(store->CreateToken({0, "ops", "viewer", HashToken(again), 4, std::nullopt}).ok());
  auto p = *v.Verify(again, *store);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->role, Role::kViewer);
  EXPECT_FALSE(v.Verify(admin, *store)->has_value());
  store.reset();
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
}

}  // namespace
}  // namespace osprey::api
