// CsvSource: reads a detector's rows from a directory of CSV files laid out
// by time, as Lookout for Metrics' S3 layout did (prefix/YYYYMMDD/HHmm/*.csv).
// source.csv.layout is a timestamp pattern for the sub-directory of each
// interval; a query for [start, end) reads the files (*.csv, *.tsv, *.txt,
// optionally .gz) of the directories whose time falls in the range, plus —
// with no layout — every file directly in the directory, and hands on the
// rows whose timestamp lies in the range. Files are streamed, never loaded
// whole. There is no SQL: the detector's query must be empty. One thread at
// a time.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "osprey/config/detector.h"
#include "osprey/connectors/source.h"

namespace osprey::connectors {

class CsvSource final : public Source {
 public:
  // NotFound when `directory` does not exist; InvalidArgument for a bad
  // layout or timestamp format.
  static Result<std::unique_ptr<CsvSource>> Open(const std::string& directory,
                                                 const config::Detector& detector);

  // InvalidArgument for a malformed file (unterminated quote, a header that
  // differs between files, no timestamp column) naming the file and line;
  // Unavailable when the directory or a file cannot be read. Each names the
  // range.
  Status Query(const QueryRange& range, RowHandler& handler) override;

 private:
  CsvSource(std::filesystem::path dir, config::Detector detector, TimestampFormat format,
            std::optional<TimestampFormat> layout)
      : dir_(std::move(dir)),
        detector_(std::move(detector)),
        format_(std::move(format)),
        layout_(std::move(layout)) {}
  Status ReadFile(const std::filesystem::path& file, const QueryRange& range, RowHandler& handler,
                  std::vector<std::string>& columns);
  std::filesystem::path dir_;
  config::Detector detector_;
  TimestampFormat format_;
  std::optional<TimestampFormat> layout_;
};

}  // namespace osprey::connectors
