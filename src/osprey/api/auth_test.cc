#include "osprey/api/auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

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
  TokenVerifier v(std::chrono::seconds(0));
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

}  // namespace
}  // namespace osprey::api
