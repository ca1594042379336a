#include "osprey/base/log.h"

#include <gtest/gtest.h>

#include <string>

namespace osprey {
namespace {

TEST(LogTest, RedactsPasswords) {
  EXPECT_EQ(RedactSecrets("host=db user=a password=hunter2 dbname=x"),
            "host=db user=a password=*** dbname=x");
  EXPECT_EQ(RedactSecrets("postgresql://alice:s3cr3t@db:5432/w"), "postgresql://alice:***@db:5432/w");
  EXPECT_EQ(RedactSecrets("no secrets here"), "no secrets here");
}

TEST(LogTest, RedactsEveryFormTheMessagesUse) {
  EXPECT_EQ(RedactSecrets("PassWord = 'a b c' port=5"), "PassWord=*** port=5");
  EXPECT_EQ(RedactSecrets("x?token=abc&y=1;secret=s pwd=q"), "x?token=***&y=1;secret=*** pwd=***");
  EXPECT_EQ(RedactSecrets("password='unclosed rest"), "password=*** rest");
  EXPECT_EQ(RedactSecrets("password= & token="), "password= & token=");
  EXPECT_EQ(RedactSecrets("a://b/c then mysql://u:p:q@h/d"), "a://b/c then mysql://u:***@h/d");
  EXPECT_EQ(RedactSecrets("http://host:8080/x"), "http://host:8080/x");
}

// std::regex recursed once per character and overflowed the stack here.
TEST(LogTest, RedactsMessagesOfAMebibyte) {
  const std::string value(1 << 20, 'x');
  EXPECT_EQ(RedactSecrets("password=" + value), "password=***");
  const std::string url = "postgresql://alice:" + value + "@db/w";
  EXPECT_EQ(RedactSecrets(url), "postgresql://alice:***@db/w");
  EXPECT_EQ(RedactSecrets(value), value);
}

}  // namespace
}  // namespace osprey
