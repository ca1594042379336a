// CSV reading and writing (RFC 4180): quoted fields, doubled quotes inside
// them, CRLF or LF line ends, a configurable delimiter and quote character.
// One reader for every CSV osprey reads (`osprey score --csv`, CSV sources,
// benchmarks) and one field writer for every CSV it writes. Not thread-safe;
// one reader per stream.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"

namespace osprey {

struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
};

class CsvReader {
 public:
  // `name` names the input in error messages ("data.csv").
  CsvReader(std::istream& in, std::string name, CsvOptions options = {})
      : in_(in), name_(std::move(name)), options_(options) {}

  // Reads the next record into `fields`. Returns false at the end of the
  // input. InvalidArgument "name:line: ..." for an unterminated quoted field.
  Result<bool> Next(std::vector<std::string>& fields);

  // The line on which the last record returned started (1-based).
  int64_t line() const { return record_line_; }
  const std::string& name() const { return name_; }

 private:
  std::istream& in_;
  std::string name_;
  CsvOptions options_;
  int64_t next_line_ = 1;
  int64_t record_line_ = 0;
};

// Appends `field` to `out` as one CSV field: as it is, or quoted (with quotes
// inside doubled) when it holds the delimiter, the quote character, CR or LF.
void AppendCsvField(std::string_view field, std::string& out, CsvOptions options = {});

}  // namespace osprey
