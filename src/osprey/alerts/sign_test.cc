#include "osprey/alerts/sign.h"

#include <gtest/gtest.h>

namespace osprey::alerts {
namespace {

TEST(SignTest, Base64RoundTrips) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_FALSE(Base64Decode("Zm9").ok());
  EXPECT_FALSE(Base64Decode("Zm!v").ok());
}

// The example of the Standard Webhooks specification and reference libraries.
TEST(SignTest, MatchesTheStandardWebhooksReferenceVector) {
  auto key = DecodeSigningKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(SignStandardWebhook(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232314}"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(SignTest, KeyErrorsDoNotEchoTheKey) {
  auto bad = DecodeSigningKey("whsec_not*base64");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("not*base64"), std::string::npos);
  EXPECT_FALSE(DecodeSigningKey("").ok());
  EXPECT_EQ(*DecodeSigningKey("raw-secret"), "raw-secret");
}

}  // namespace
}  // namespace osprey::alerts
