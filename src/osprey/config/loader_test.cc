#include "osprey/config/loader.h"

#include <gtest/gtest.h>

namespace osprey::config {
namespace {
TEST(LoaderTest, Placeholder) {}
}  // namespace
}  // namespace osprey::config
