// JSON text written straight into a string, for the replies that are too
// large to build as a nlohmann::json tree on every request (the lists). The
// values come out byte for byte as nlohmann::json's dump() writes them, so a
// reply written here reads the same as one built as a tree; JSON text osprey
// stored (an anomaly group's contributions, root causes, related measures) is
// copied in as it is, once IsJsonValue has checked it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace osprey::api {

// `s` as a JSON string, quotes included. Invalid UTF-8 is written as U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);
// A number as dump() writes it: the shortest text that reads back as `v`,
// with ".0" on integral values; NaN and infinities as null.
void AppendJsonNumber(std::string& out, double v);
void AppendJsonInt(std::string& out, int64_t v);
// Whether `text` is exactly one JSON value (RFC 8259, UTF-8, whitespace
// around it allowed), as nlohmann::json::parse accepts it: also no number
// that overflows a double.
bool IsJsonValue(std::string_view text);
// `text` with the JSON whitespace around it removed.
std::string_view TrimJsonSpace(std::string_view text);

}  // namespace osprey::api
