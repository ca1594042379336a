// The CSV reader (base/csv.h). The first byte picks the delimiter and quote
// character; the rest is the input. Invariants: an error is InvalidArgument
// located as "fuzz.csv:LINE:"; record lines increase; the records written
// back as CSV (every field quoted) read back to the same records.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "osprey/base/csv.h"

namespace {

using Records = std::vector<std::vector<std::string>>;

// Reads every record; false (after checking the error) on a malformed input.
bool ReadAll(const std::string& text, const osprey::CsvOptions& options, Records& out) {
  std::istringstream in(text);
  osprey::CsvReader reader(in, "fuzz.csv", options);
  std::vector<std::string> fields;
  int64_t last_line = 0;
  while (true) {
    auto more = reader.Next(fields);
    if (!more.ok()) {
      FUZZ_CHECK(more.status().code() == osprey::StatusCode::kInvalidArgument, more.status().ToString());
      FUZZ_CHECK(more.status().message().rfind("fuzz.csv:", 0) == 0, more.status().ToString());
      return false;
    }
    if (!*more) return true;
    FUZZ_CHECK(reader.line() > last_line, "record lines must increase");
    FUZZ_CHECK(!fields.empty(), "a record has at least one field");
    last_line = reader.line();
    out.push_back(fields);
  }
}

std::string Write(const Records& records, const osprey::CsvOptions& o) {
  std::string out;
  for (const auto& r : records) {
    for (size_t i = 0; i < r.size(); ++i) {
      if (i > 0) out += o.delimiter;
      out += o.quote;
      for (char c : r[i]) {
        if (c == o.quote) out += o.quote;
        out += c;
      }
      out += o.quote;
    }
    out += '\n';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr char kDelimiters[] = {',', ';', '\t', '|'};
  static constexpr char kQuotes[] = {'"', '\''};
  osprey::CsvOptions options;
  options.delimiter = kDelimiters[data[0] % 4];
  options.quote = kQuotes[(data[0] / 4) % 2];
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Records records;
  if (!ReadAll(text, options, records)) return 0;
  const std::string written = Write(records, options);
  Records again;
  FUZZ_CHECK(ReadAll(written, options, again), written);
  FUZZ_CHECK(again == records, "written records read back differently:\n" + written);
  return 0;
}
