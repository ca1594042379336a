#include <fmt/format.h>

#include "osprey/connectors/source.h"

namespace osprey::connectors {

Result<PreparedQuery> PrepareQuery(std::string_view query, std::string_view style) {
  PreparedQuery out;
  enum class State { kCode, kSingle, kDouble, kLineComment, kBlockComment } state = State::kCode;
  size_t i = 0;
  int line = 1;
  while (i < query.size()) {
    char c = query[i];
    char next = i + 1 < query.size() ? query[i + 1] : '\0';
    if (c == '\n') ++line;
    if (query.substr(i, 2) == "{{") {
      size_t close = query.find("}}", i);
      if (close == std::string_view::npos) {
        return InvalidArgument(fmt::format("query line {}: '{{{{' is not closed by '}}}}'", line));
      }
      std::string_view name = query.substr(i + 2, close - i - 2);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      int which;
      if (name == "interval_start") {
        which = 0;
      } else if (name == "interval_end") {
        which = 1;
      } else {
        return InvalidArgument(
            fmt::format("query line {}: unknown placeholder {{{{{}}}}}; use {{{{interval_start}}}} or "
                        "{{{{interval_end}}}}",
                        line, name));
      }
      if (state != State::kCode) {
        return InvalidArgument(
            fmt::format("query line {}: placeholder {{{{{}}}}} is inside a quoted string or comment; "
                        "placeholders are bound as parameters, so write them without quotes",
                        line, name));
      }
      out.params.push_back(which);
      if (style == "$") {
        out.sql += fmt::format("${}", out.params.size());
      } else if (style == "?") {
        out.sql += fmt::format("?{}", out.params.size());
      } else {
        out.sql += "?";
      }
      i = close + 2;
      continue;
    }
    switch (state) {
      case State::kCode:
        if (c == '\'') state = State::kSingle;
        else if (c == '"') state = State::kDouble;
        else if (c == '-' && next == '-') state = State::kLineComment;
        else if (c == '/' && next == '*') state = State::kBlockComment;
        break;
      case State::kSingle:
        if (c == '\'') state = State::kCode;  // '' re-enters kSingle on the next char
        break;
      case State::kDouble:
        if (c == '"') state = State::kCode;
        break;
      case State::kLineComment:
        if (c == '\n') state = State::kCode;
        break;
      case State::kBlockComment:
        if (c == '*' && next == '/') {
          out.sql += "*/";
          i += 2;
          state = State::kCode;
          continue;
        }
        break;
    }
    out.sql += c;
    ++i;
  }
  return out;
}

}  // namespace osprey::connectors
