#include "osprey/connectors/connection.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "osprey/config/detector.h"

namespace osprey::connectors {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

void SetPart(ConnectionParts& parts, const std::string& key, const std::string& value) {
  if (key == "user" || key == "username") {
    parts.user = value;
  } else if (key == "password") {
    parts.password = value;
  } else if (key == "host" || key == "hostaddr") {
    parts.host = value;
  } else if (key == "dbname" || key == "database" || key == "db") {
    parts.database = value;
  } else if (key == "socket" || key == "unix_socket") {
    parts.socket = value;
  } else if (key == "port") {
    int port = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
    if (ec == std::errc() && p == value.data() + value.size()) parts.port = port;
  } else {
    parts.params[key] = value;
  }
}

bool ParseInt(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

Result<std::string> ResolveConnection(const config::Detector& d) {
  if (!d.source.connection_env.empty()) {
    const char* env = std::getenv(d.source.connection_env.c_str());
    if (env != nullptr && *env != '\0') return Trim(env);
  }
  if (!d.source.connection_file.empty()) {
    std::ifstream in(d.source.connection_file, std::ios::binary);
    if (!in) {
      return InvalidArgument(
          fmt::format("cannot read source.connection_file '{}'", d.source.connection_file));
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string t = Trim(text.str());
    if (t.empty()) {
      return InvalidArgument(fmt::format("source.connection_file '{}' is empty", d.source.connection_file));
    }
    return t;
  }
  return InvalidArgument(fmt::format(
      "source has no connection: set the environment variable {}{}",
      d.source.connection_env.empty() ? "named by source.connection_env" : d.source.connection_env,
      d.source.connection_file.empty() ? "" : " or fill source.connection_file"));
}

bool IsJsonSecret(std::string_view text) {
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    return c == '{';
  }
  return false;
}

Result<ConnectionParts> ParseJsonSecret(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(
        "the connection looks like a JSON secret but is not a valid JSON "
        "object (content not shown)");
  }
  ConnectionParts parts;
  for (const auto& [key, value] : j.items()) {
    std::string v;
    if (value.is_string()) {
      v = value.get<std::string>();
    } else if (value.is_number_integer()) {
      v = std::to_string(value.get<int64_t>());
    } else {
      continue;  // engine, dbClusterIdentifier and the like
    }
    if (key == "engine" || key == "dbClusterIdentifier" || key == "dbInstanceIdentifier") continue;
    SetPart(parts, key, v);
  }
  if (!j.contains("port") || parts.port) return parts;
  return InvalidArgument("the JSON secret's port is not a number");
}

Result<ConnectionParts> ParseConnection(std::string_view text) {
  if (IsJsonSecret(text)) return ParseJsonSecret(text);
  ConnectionParts parts;
  const size_t scheme = text.find("://");
  if (scheme != std::string_view::npos) {
    std::string_view rest = text.substr(scheme + 3);
    std::string_view query;
    if (size_t q = rest.find('?'); q != std::string_view::npos) {
      query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    std::string_view authority = rest, path;
    if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
      authority = rest.substr(0, slash);
      path = rest.substr(slash + 1);
    }
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      authority = authority.substr(at + 1);
      if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
        parts.user = PercentDecode(userinfo.substr(0, colon));
        parts.password = PercentDecode(userinfo.substr(colon + 1));
      } else {
        parts.user = PercentDecode(userinfo);
      }
    }
    if (size_t colon = authority.rfind(':');
        colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
      SetPart(parts, "port", std::string(authority.substr(colon + 1)));
      if (!parts.port) return InvalidArgument("the connection URL's port is not a number");
      authority = authority.substr(0, colon);
    }
    parts.host = PercentDecode(authority);
    parts.database = PercentDecode(path);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view kv = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      size_t eq = kv.find('=');
      if (eq == std::string_view::npos) continue;
      SetPart(parts, PercentDecode(kv.substr(0, eq)), PercentDecode(kv.substr(eq + 1)));
    }
    return parts;
  }
  // key=value pairs, values optionally in single quotes with \' and \\ escapes.
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) {
      return InvalidArgument(
          "the connection is neither a URL, a key=value DSN nor a JSON "
          "secret (content not shown)");
    }
    std::string key = Trim(text.substr(i, eq - i));
    i = eq + 1;
    while (i < text.size() && text[i] == ' ') ++i;
    std::string value;
    if (i < text.size() && text[i] == '\'') {
      ++i;
      while (i < text.size() && text[i] != '\'') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value.push_back(text[i++]);
      }
      if (i >= text.size()) return InvalidArgument("unterminated quote in the connection DSN");
      ++i;
    } else {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
        value.push_back(text[i++]);
      }
    }
    SetPart(parts, key, value);
  }
  return parts;
}

std::string ToLibpqDsn(const ConnectionParts& parts) {
  std::string out;
  auto add = [&](std::string_view key, const std::string& value) {
    if (value.empty()) return;
    std::string quoted;
    for (char c : value) {
      if (c == '\'' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    if (!out.empty()) out.push_back(' ');
    out += fmt::format("{}='{}'", key, quoted);
  };
  add("host", parts.host.empty() ? parts.socket : parts.host);
  if (parts.port) add("port", std::to_string(*parts.port));
  add("user", parts.user);
  add("password", parts.password);
  add("dbname", parts.database);
  for (const auto& [k, v] : parts.params) add(k, v);
  return out;
}

Result<Instant> ParseDbTimestamp(std::string_view s, const TimeZone& zone) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  auto bad = [&] { return InvalidArgument(fmt::format("\"{}\" is not an ISO timestamp", s)); };
  if (!ParseInt(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !ParseInt(s, 5, 2, mo) || s[7] != '-' ||
      !ParseInt(s, 8, 2, d)) {
    return bad();
  }
  size_t i = 10;
  if (i < s.size() && (s[i] == ' ' || s[i] == 'T')) {
    if (!ParseInt(s, 11, 2, h) || s.size() < 19 || s[13] != ':' || !ParseInt(s, 14, 2, mi) || s[16] != ':' ||
        !ParseInt(s, 17, 2, sec)) {
      return bad();
    }
    i = 19;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    }
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad();
  const int64_t local =
      std::chrono::sys_days(ymd).time_since_epoch().count() * 86400 + h * 3600 + mi * 60 + sec;
  if (i == s.size()) return zone.FromLocal(local);
  if (s[i] == 'Z' && i + 1 == s.size()) return FromUnixSeconds(local);
  if (s[i] != '+' && s[i] != '-') return bad();
  const int sign = s[i] == '-' ? -1 : 1;
  int oh = 0, om = 0, os = 0;
  if (!ParseInt(s, i + 1, 2, oh)) return bad();
  i += 3;
  if (i < s.size()) {
    if (s[i] == ':') ++i;
    if (!ParseInt(s, i, 2, om)) return bad();
    i += 2;
    if (i < s.size()) {
      if (s[i] == ':') ++i;
      if (!ParseInt(s, i, 2, os)) return bad();
      i += 2;
    }
  }
  if (i != s.size()) return bad();
  return FromUnixSeconds(local - sign * (oh * 3600 + om * 60 + os));
}

std::string_view TimestampRewriter::Rewrite(std::string_view text) {
  if (format_.pattern() == "yyyy-MM-dd HH:mm:ss" && text.size() == 19 && text[10] == ' ') {
    return text;
  }
  Result<Instant> t = ParseDbTimestamp(text, zone_);
  if (!t.ok()) return text;
  buffer_ = format_.Format(*t, zone_);
  return buffer_;
}

}  // namespace osprey::connectors
