#include "osprey/rca/cube.h"

#include <gtest/gtest.h>

#include <cmath>

#include <string_view>
#include <vector>

namespace osprey::rca {
namespace {

TEST(CubeTest, InternsValuesPerDimension) {
  auto cube = Cube::Create({"platform", "marketplace"});
  ASSERT_TRUE(cube.ok());
  std::vector<std::string_view> l1 = {"web", "jp"};
  std::vector<std::string_view> l2 = {"app", "jp"};
  ASSERT_TRUE(cube->AddLeaf(l1, 1, 2).ok());
  ASSERT_TRUE(cube->AddLeaf(l2, 3, 4).ok());
  EXPECT_EQ(cube->num_leaves(), 2u);
  EXPECT_EQ(cube->num_values(0), 2u);
  EXPECT_EQ(cube->num_values(1), 1u);
  EXPECT_EQ(cube->code(1, 0), 1u);
  EXPECT_EQ(cube->value_name(0, cube->code(1, 0)), "app");
  EXPECT_EQ(cube->actual(1), 3);
  EXPECT_EQ(cube->expected(1), 4);
}

TEST(CubeTest, RatioLeavesAreAllOrNothing) {
  auto cube = *Cube::Create({"x"});
  const uint32_t code[] = {cube.InternValue(0, "a")};
  ASSERT_TRUE(cube.AddRatioLeafCodes(code, 1, 2, 10, 20).ok());
  EXPECT_TRUE(cube.is_ratio());
  EXPECT_EQ(cube.denominator_actual(0), 10);
  EXPECT_EQ(cube.denominator_expected(0), 20);
  EXPECT_FALSE(cube.AddLeafCodes(code, 1, 2).ok());
  EXPECT_FALSE(cube.AddRatioLeafCodes(code, 1, 2, std::nan(""), 20).ok());
  EXPECT_EQ(cube.num_leaves(), 1u);
  auto additive = *Cube::Create({"x"});
  const uint32_t c2[] = {additive.InternValue(0, "a")};
  ASSERT_TRUE(additive.AddLeafCodes(c2, 1, 2).ok());
  EXPECT_FALSE(additive.AddRatioLeafCodes(c2, 1, 2, 3, 4).ok());
  EXPECT_FALSE(additive.is_ratio());
}

TEST(CubeTest, RejectsBadInput) {
  EXPECT_FALSE(Cube::Create({}).ok());
  EXPECT_FALSE(Cube::Create({"a", "a"}).ok());
  EXPECT_FALSE(Cube::Create({""}).ok());
  std::vector<std::string> many;
  for (size_t d = 0; d <= Cube::kMaxDimensions; ++d) many.push_back(std::to_string(d));
  EXPECT_FALSE(Cube::Create(many).ok());
  auto cube = Cube::Create({"a", "b"});
  ASSERT_TRUE(cube.ok());
  std::vector<std::string_view> one = {"x"};
  EXPECT_EQ(cube->AddLeaf(one, 1, 1).code(), StatusCode::kInvalidArgument);
  std::vector<std::string_view> two = {"x", "y"};
  EXPECT_FALSE(cube->AddLeaf(two, std::nan(""), 1).ok());
  std::vector<uint32_t> codes = {5, 0};
  EXPECT_FALSE(cube->AddLeafCodes(codes, 1, 1).ok());
  EXPECT_EQ(cube->num_leaves(), 0u);
}

}  // namespace
}  // namespace osprey::rca
