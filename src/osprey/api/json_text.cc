#include "osprey/api/json_text.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace osprey::api {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The length of the well-formed UTF-8 sequence of a non-ASCII lead byte at
// p[0] (Unicode table 3-7), or 0 when it is not one.
size_t Utf8Length(const unsigned char* p, size_t n) {
  auto in = [](unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; };
  const unsigned char c = p[0];
  if (in(c, 0xC2, 0xDF)) return n >= 2 && in(p[1], 0x80, 0xBF) ? 2 : 0;
  if (in(c, 0xE0, 0xEF)) {
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return n >= 3 && in(p[1], lo, hi) && in(p[2], 0x80, 0xBF) ? 3 : 0;
  }
  if (in(c, 0xF0, 0xF4)) {
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return n >= 4 && in(p[1], lo, hi) && in(p[2], 0x80, 0xBF) && in(p[3], 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

// The bytes that end a run of plain characters in a JSON string: the quote,
// the backslash, control characters and the lead bytes of UTF-8 sequences.
constexpr auto kStringStop = [] {
  std::array<bool, 256> stop{};
  for (int c = 0; c < 256; ++c) stop[static_cast<size_t>(c)] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return stop;
}();

// A scanner over one JSON text; each Scan* moves past what it accepts.
class Scanner {
 public:
  explicit Scanner(std::string_view text)
      : p_(reinterpret_cast<const unsigned char*>(text.data())), end_(p_ + text.size()) {}

  bool AtEnd() const { return p_ == end_; }
  // The next byte, or 0 at the end (never accepted where a byte is expected).
  unsigned char Peek() const { return p_ == end_ ? 0 : *p_; }
  void SkipSpace() {
    while (p_ != end_ && IsJsonSpace(static_cast<char>(*p_))) ++p_;
  }
  bool Take(unsigned char c) {
    if (Peek() != c) return false;
    ++p_;
    return true;
  }

  bool ScanLiteral(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size()) return false;
    if (std::string_view(reinterpret_cast<const char*>(p_), word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  bool ScanString() {
    if (!Take('"')) return false;
    while (p_ != end_) {
      // Plain bytes (most of a stored text) in a loop of their own.
      while (!kStringStop[*p_]) {
        if (++p_ == end_) return false;
      }
      const unsigned char c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        ++p_;
        if (!ScanEscape()) return false;
      } else if (c >= 0x80) {
        const size_t len = Utf8Length(p_, static_cast<size_t>(end_ - p_));
        if (len == 0) return false;
        p_ += len;
      } else {
        ++p_;
      }
    }
    return false;
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? that does not overflow a
  // double (nlohmann's parser rejects those).
  bool ScanNumber() {
    const unsigned char* start = p_;
    Take('-');
    if (!Take('0') && !ScanDigits()) return false;
    bool exponent = false;
    if (Take('.') && !ScanDigits()) return false;
    if (Take('e') || Take('E')) {
      exponent = true;
      if (!Take('+')) Take('-');
      if (!ScanDigits()) return false;
    }
    // Only an exponent or some 309 digits make a number a double cannot hold.
    if (exponent || p_ - start > 300) {
      std::string text(reinterpret_cast<const char*>(start), static_cast<size_t>(p_ - start));
      if (!std::isfinite(std::strtod(text.c_str(), nullptr))) return false;
    }
    return true;
  }

 private:
  static bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
  static int HexValue(unsigned char c) {
    if (IsDigit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool ScanDigits() {
    if (!IsDigit(Peek())) return false;
    while (IsDigit(Peek())) ++p_;
    return true;
  }

  // Four hex digits after "\u"; -1 when they are not.
  int ScanHex4() {
    if (end_ - p_ < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = HexValue(p_[i]);
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    p_ += 4;
    return v;
  }

  // After a backslash. A \u escape of a high surrogate must be followed by
  // one of a low surrogate; a low one alone is not a character.
  bool ScanEscape() {
    const unsigned char c = Peek();
    ++p_;
    switch (c) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't': return true;
      case 'u': {
        const int unit = ScanHex4();
        if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return false;
        if (unit < 0xD800 || unit > 0xDBFF) return true;
        if (!Take('\\') || !Take('u')) return false;
        const int low = ScanHex4();
        return low >= 0xDC00 && low <= 0xDFFF;
      }
      default: return false;
    }
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  out.push_back('"');
  size_t run = 0;  // the start of the bytes not yet copied
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const size_t len = Utf8Length(p + i, n - i); len > 0) {
        i += len;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c >= 0x80) {
          out += kReplacement;
        } else {
          constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        }
    }
    run = ++i;
  }
  out.append(s.data() + run, n - run);
  out.push_back('"');
}

void AppendJsonNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  // The conversion dump() uses (grisu2, then ".0" or an exponent as needed).
  char buf[64];
  const char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(end - buf));
}

void AppendJsonInt(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

std::string_view TrimJsonSpace(std::string_view text) {
  if (text.substr(0, kByteOrderMark.size()) == kByteOrderMark) text.remove_prefix(kByteOrderMark.size());
  while (!text.empty() && IsJsonSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsJsonSpace(text.back())) text.remove_suffix(1);
  return text;
}

bool IsJsonValue(std::string_view text) {
  Scanner s(TrimJsonSpace(text));
  // The open containers, innermost last: '{' or '['. A string: the usual
  // few levels fit in it without an allocation.
  std::string open;
  // A member's key and colon, before its value.
  auto member_key = [&s] {
    s.SkipSpace();
    if (!s.ScanString()) return false;
    s.SkipSpace();
    return s.Take(':');
  };
  for (;;) {
    // A value.
    s.SkipSpace();
    const unsigned char c = s.Peek();
    if (c == '{' || c == '[') {
      s.Take(c);
      s.SkipSpace();
      if (!s.Take(c == '{' ? '}' : ']')) {
        open.push_back(static_cast<char>(c));
        if (c == '{' && !member_key()) return false;
        continue;  // its first value
      }
    } else if (c == '"') {
      if (!s.ScanString()) return false;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      if (!s.ScanNumber()) return false;
    } else if (!s.ScanLiteral("true") && !s.ScanLiteral("false") && !s.ScanLiteral("null")) {
      return false;
    }
    // After a value: close containers until the next value or the end.
    for (;;) {
      s.SkipSpace();
      if (open.empty()) return s.AtEnd();
      if (s.Take(',')) {
        if (open.back() == '{' && !member_key()) return false;
        break;
      }
      if (!s.Take(open.back() == '{' ? '}' : ']')) return false;
      open.pop_back();
    }
  }
}

}  // namespace osprey::api
