#include "osprey/base/log.h"

#include <gtest/gtest.h>

namespace osprey {
namespace {

TEST(LogTest, RedactsPasswords) {
  EXPECT_EQ(RedactSecrets("host=db user=a password=hunter2 dbname=x"),
            "host=db user=a password=*** dbname=x");
  EXPECT_EQ(RedactSecrets("postgresql://alice:s3cr3t@db:5432/w"), "postgresql://alice:***@db:5432/w");
  EXPECT_EQ(RedactSecrets("no secrets here"), "no secrets here");
}

}  // namespace
}  // namespace osprey
