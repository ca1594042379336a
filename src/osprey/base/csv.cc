#include "osprey/base/csv.h"

#include <fmt/format.h>

namespace osprey {

Result<bool> CsvReader::Next(std::vector<std::string>& fields) {
  fields.clear();
  std::string line;
  if (!std::getline(in_, line)) return false;
  record_line_ = next_line_++;
  std::string field;
  bool quoted = false;
  size_t i = 0;
  while (true) {
    if (i >= line.size()) {
      if (quoted) {
        // A quoted field continues on the next line.
        if (!std::getline(in_, line)) {
          return InvalidArgument(fmt::format("{}:{}: quoted field is not closed", name_, record_line_));
        }
        ++next_line_;
        field += '\n';
        i = 0;
        continue;
      }
      fields.push_back(std::move(field));
      return true;
    }
    char c = line[i];
    if (!quoted && c == '\r' && i + 1 == line.size()) {
      // The CR of a CRLF line end; a CR inside quotes is data.
      ++i;
      continue;
    }
    if (quoted) {
      if (c == options_.quote) {
        if (i + 1 < line.size() && line[i + 1] == options_.quote) {
          field += c;
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == options_.quote && field.empty()) {
      quoted = true;
    } else if (c == options_.delimiter) {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
    ++i;
  }
}

void AppendCsvField(std::string_view field, std::string& out, CsvOptions options) {
  if (field.find_first_of(std::string{options.delimiter, options.quote, '\r', '\n'}) ==
      std::string_view::npos) {
    out.append(field);
    return;
  }
  out += options.quote;
  for (char c : field) {
    if (c == options.quote) out += c;
    out += c;
  }
  out += options.quote;
}

}  // namespace osprey
