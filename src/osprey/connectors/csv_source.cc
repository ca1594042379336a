#include "osprey/connectors/csv_source.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <istream>
#include <streambuf>

#include "osprey/base/csv.h"

namespace osprey::connectors {
namespace fs = std::filesystem;
namespace {

// A read-only streambuf over a gzip file.
class GzBuf : public std::streambuf {
 public:
  explicit GzBuf(const std::string& path) : file_(gzopen(path.c_str(), "rb")) {
    if (file_ != nullptr) gzbuffer(file_, 1 << 16);
  }
  ~GzBuf() override {
    if (file_ != nullptr) gzclose(file_);
  }
  bool ok() const { return file_ != nullptr; }
  bool failed() const { return failed_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    const int n = gzread(file_, buf_, sizeof buf_);
    if (n < 0) failed_ = true;
    if (n <= 0) return traits_type::eof();
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  gzFile file_;
  char buf_[1 << 16];
  bool failed_ = false;
};

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsDataFile(const fs::path& p) {
  std::string name = p.filename().string();
  if (name.empty() || name[0] == '.') return false;
  if (EndsWith(name, ".gz")) name.resize(name.size() - 3);
  return EndsWith(name, ".csv") || EndsWith(name, ".tsv") || EndsWith(name, ".txt");
}

std::string Latin1ToUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<CsvSource>> CsvSource::Open(const std::string& directory,
                                                   const config::Detector& detector) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    return NotFound(fmt::format("CSV directory '{}' does not exist", directory));
  }
  OSPREY_ASSIGN_OR_RETURN(TimestampFormat format, TimestampFormat::Parse(detector.timestamp_format));
  std::optional<TimestampFormat> layout;
  if (!detector.source.csv.layout.empty()) {
    OSPREY_ASSIGN_OR_RETURN(layout, TimestampFormat::Parse(detector.source.csv.layout));
  }
  return std::unique_ptr<CsvSource>(
      new CsvSource(fs::path(directory), detector, std::move(format), std::move(layout)));
}

Status CsvSource::Query(const QueryRange& range, RowHandler& handler) {
  auto where = [&] {
    return fmt::format("reading [{}, {}) from '{}'", FormatIso(range.start), FormatIso(range.end),
                       dir_.string());
  };
  std::vector<fs::path> files;
  std::error_code ec;
  if (!layout_) {
    for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file() && IsDataFile(it->path())) files.push_back(it->path());
    }
  } else {
    // Each directory whose path (relative to dir_) parses with the layout
    // holds the files of the interval starting at that time; the layout is
    // read in the source zone, like the timestamps in the files.
    const TimeZone& zone = config::SourceZone(detector_);
    for (fs::recursive_directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_directory()) continue;
      const std::string rel = fs::relative(it->path(), dir_).generic_string();
      Result<Instant> t = layout_->ParseValue(rel, zone);
      if (!t.ok()) continue;
      it.disable_recursion_pending();
      if (*t < range.start || *t >= range.end) continue;
      for (fs::directory_iterator f(it->path(), ec), fend; !ec && f != fend; f.increment(ec)) {
        if (f->is_regular_file() && IsDataFile(f->path())) files.push_back(f->path());
      }
    }
  }
  if (ec) return Unavailable(fmt::format("{}: cannot list the directory: {}", where(), ec.message()));
  std::sort(files.begin(), files.end());
  std::vector<std::string> columns;
  for (const fs::path& file : files) {
    Status s = ReadFile(file, range, handler, columns);
    if (!s.ok()) return s.WithContext(where());
  }
  if (columns.empty()) {
    // No file: still announce the columns the detector expects.
    std::vector<std::string> names{detector_.timestamp_column};
    for (const auto& d : detector_.dimensions) names.push_back(d);
    for (const auto& m : detector_.measures) names.push_back(m.name);
    return handler.OnColumns(names);
  }
  return Status::Ok();
}

Status CsvSource::ReadFile(const fs::path& file, const QueryRange& range, RowHandler& handler,
                           std::vector<std::string>& columns) {
  const config::CsvSourceOptions& o = detector_.source.csv;
  const bool gz = o.gzip == "true" || (o.gzip == "auto" && EndsWith(file.string(), ".gz"));
  std::unique_ptr<std::streambuf> buf;
  if (gz) {
    auto g = std::make_unique<GzBuf>(file.string());
    if (!g->ok()) return Unavailable(fmt::format("cannot open '{}'", file.string()));
    buf = std::move(g);
  } else {
    auto f = std::make_unique<std::filebuf>();
    if (!f->open(file, std::ios::in | std::ios::binary)) {
      return Unavailable(fmt::format("cannot open '{}'", file.string()));
    }
    buf = std::move(f);
  }
  std::istream in(buf.get());
  CsvReader reader(in, file.string(), CsvOptions{o.delimiter, o.quote});
  const bool latin1 = o.charset == "latin-1";
  std::vector<std::string> fields;
  bool first = true;
  int ts_col = -1;
  std::vector<Cell> cells;
  while (true) {
    OSPREY_ASSIGN_OR_RETURN(bool more, reader.Next(fields));
    if (!more) break;
    if (latin1) {
      for (std::string& f : fields) f = Latin1ToUtf8(f);
    } else if (first && !fields.empty() && fields[0].rfind("\xEF\xBB\xBF", 0) == 0) {
      fields[0].erase(0, 3);  // byte-order mark
    }
    if (first) {
      first = false;
      std::vector<std::string> names;
      if (o.header) {
        names = fields;
      } else {
        for (size_t i = 0; i < fields.size(); ++i) names.push_back(fmt::format("column{}", i + 1));
      }
      if (columns.empty()) {
        columns = names;
        OSPREY_RETURN_IF_ERROR(handler.OnColumns(columns));
      } else if (names != columns) {
        return InvalidArgument(
            fmt::format("{}:{}: the columns ({}) differ from the first file's "
                        "({})",
                        file.string(), reader.line(), fmt::join(names, ","), fmt::join(columns, ",")));
      }
      auto it = std::find(columns.begin(), columns.end(), detector_.timestamp_column);
      if (it == columns.end()) {
        return InvalidArgument(fmt::format("{}:{}: no timestamp column \"{}\"", file.string(), reader.line(),
                                           detector_.timestamp_column));
      }
      ts_col = static_cast<int>(it - columns.begin());
      cells.resize(columns.size());
      if (o.header) continue;
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (fields.size() != columns.size()) {
      return InvalidArgument(fmt::format("{}:{}: {} fields where the header has {}", file.string(),
                                         reader.line(), fields.size(), columns.size()));
    }
    // Rows of other intervals belong to other queries; unparsable timestamps
    // go on, so that ingest counts and reports them.
    Result<Instant> t =
        format_.ParseValue(fields[static_cast<size_t>(ts_col)], config::SourceZone(detector_));
    if (t.ok() && (*t < range.start || *t >= range.end)) continue;
    for (size_t i = 0; i < fields.size(); ++i) {
      cells[i] = fields[i].empty() ? Cell::Null() : Cell::Text(fields[i]);
    }
    OSPREY_RETURN_IF_ERROR(handler.OnRow(cells));
  }
  if (in.bad() || (gz && static_cast<GzBuf*>(buf.get())->failed())) {
    return Unavailable(fmt::format("reading '{}' failed (truncated or corrupt file?)", file.string()));
  }
  return Status::Ok();
}

}  // namespace osprey::connectors
