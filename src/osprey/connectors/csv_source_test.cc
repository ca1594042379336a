#include "osprey/connectors/csv_source.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "osprey/connectors/collect_rows.h"
#include "osprey/testing/files.h"

namespace osprey::connectors {
namespace {
namespace fs = std::filesystem;

class CsvSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    d_.name = "shop";
    d_.source.type = config::SourceType::kCsv;
    d_.timestamp_column = "ts";
    d_.timestamp_format = "yyyy-MM-dd HH:mm:ss";
  }
  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories((dir_.path() / rel).parent_path());
    std::ofstream(dir_.path() / rel, std::ios::binary) << text;
  }
  void WriteGz(const std::string& rel, const std::string& text) {
    fs::create_directories((dir_.path() / rel).parent_path());
    gzFile f = gzopen((dir_.path() / rel).c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
  }
  Result<CollectedRows> Read(const std::string& from, const std::string& to) {
    auto src = CsvSource::Open(dir_.path().string(), d_);
    if (!src.ok()) return src.status();
    CollectedRows rows;
    QueryRange r{*ParseInstant(from, TimeZone::Utc()), *ParseInstant(to, TimeZone::Utc())};
    OSPREY_RETURN_IF_ERROR((*src)->Query(r, rows));
    return rows;
  }
  testing::TempDir dir_{"osprey_csv_"};
  config::Detector d_;
};

TEST_F(CsvSourceTest, ReadsTheL4mLayoutAndKeepsOnlyTheRange) {
  d_.source.csv.layout = "yyyyMMdd/HHmm";
  Write("20250101/0000/a.csv", "ts,platform,views\n2025-01-01 00:00:00,web,3\n");
  WriteGz("20250101/0100/b.csv.gz",
          "ts,platform,views\n2025-01-01 01:00:00,\"app, ios\",4\n2025-01-01 01:30:00,web,\n");
  Write("20250101/0200/c.csv", "ts,platform,views\n2025-01-01 02:00:00,web,5\n");
  Write("20250101/0100/notes.md", "ignored");
  auto rows = Read("2025-01-01T00:00:00Z", "2025-01-01T02:00:00Z");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->columns, (std::vector<std::string>{"ts", "platform", "views"}));
  ASSERT_EQ(rows->rows.size(), 3u);
  EXPECT_EQ(rows->rows[1][1], "app, ios");
  EXPECT_EQ(rows->rows[2][2], "NULL");
}

// A Tokyo detector over files laid out and stamped in UTC: the layout and the
// rows are read in the source zone (timestamp.timezone), not the detector's.
TEST_F(CsvSourceTest, LayoutAndRowsAreReadInTheSourceZone) {
  d_.timezone = *TimeZone::Load("Asia/Tokyo");
  d_.timestamp_timezone = TimeZone::Utc();
  d_.source.csv.layout = "yyyyMMdd/HHmm";
  Write("20250101/0000/a.csv", "ts,views\n2025-01-01 00:00:00,3\n2025-01-01 00:59:59,4\n");
  Write("20250101/0100/b.csv", "ts,views\n2025-01-01 01:00:00,5\n");
  Write("20250101/0900/c.csv", "ts,views\n2025-01-01 09:00:00,6\n");
  auto rows = Read("2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(rows->rows[0][1], "3");
  EXPECT_EQ(rows->rows[1][1], "4");
  // Unset, the detector's zone: 09:00 Tokyo is 00:00Z.
  d_.timestamp_timezone.reset();
  rows = Read("2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0][1], "6");
}

TEST_F(CsvSourceTest, FlatDirectoryWithOptions) {
  d_.source.csv.delimiter = ';';
  d_.source.csv.quote = '\'';
  d_.source.csv.header = false;
  d_.source.csv.charset = "latin-1";
  d_.timestamp_column = "column1";
  Write("x.csv", "2025-01-01 00:00:00;'M\xfcnchen;Nord';1\n2025-01-02 00:00:00;b;2\n");
  auto rows = Read("2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0][1], "M\xc3\xbcnchen;Nord");
}

TEST_F(CsvSourceTest, ErrorsNameTheFileAndLine) {
  Write("a.csv", "ts,v\n2025-01-01 00:00:00,1\n");
  Write("b.csv", "ts,w\n2025-01-01 00:00:00,1\n");
  auto mismatch = Read("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.status().message().find("b.csv:1"), std::string::npos) << mismatch.status().message();
  EXPECT_NE(mismatch.status().message().find("[2025-01-01T00:00:00Z"), std::string::npos);
  fs::remove(dir_.path() / "b.csv");
  Write("c.csv", "ts,v\n\"2025-01-01 00:00:00,1\n");
  auto quote = Read("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  ASSERT_FALSE(quote.ok());
  EXPECT_NE(quote.status().message().find("c.csv:2"), std::string::npos) << quote.status().message();
  EXPECT_EQ(CsvSource::Open(dir_.File("nope"), d_).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace osprey::connectors
