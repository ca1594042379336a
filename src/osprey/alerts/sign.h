// Standard Webhooks signing (https://www.standardwebhooks.com): an
// HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}" sent as
// "webhook-signature: v1,<base64>", so a receiver can check that a body comes
// from osprey and is fresh. Pure functions over OpenSSL's HMAC; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "osprey/base/status.h"

namespace osprey::alerts {

std::string Base64Encode(std::string_view bytes);
// InvalidArgument on characters outside the standard alphabet or bad padding.
Result<std::string> Base64Decode(std::string_view text);

// The key bytes of a signing secret: "whsec_<base64>" is decoded (the
// Standard Webhooks form); anything else is used as raw bytes. InvalidArgument
// for an empty key or a whsec_ key that is not base64 (the message never
// contains the key).
Result<std::string> DecodeSigningKey(std::string_view secret);

// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>".
std::string SignStandardWebhook(std::string_view key, std::string_view id, int64_t timestamp,
                                std::string_view body);

}  // namespace osprey::alerts
