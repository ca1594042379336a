#include "osprey/base/csv.h"

#include <gtest/gtest.h>

#include <sstream>

namespace osprey {
namespace {

std::vector<std::vector<std::string>> ReadAll(const std::string& text, CsvOptions o = {}) {
  std::istringstream in(text);
  CsvReader r(in, "t.csv", o);
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> f;
  while (*r.Next(f)) out.push_back(f);
  return out;
}

TEST(CsvTest, QuotesDelimitersAndLineEnds) {
  auto rows = ReadAll("a,b,c\r\n1,\"x,y\",\"he said \"\"hi\"\"\"\n,,\n\"multi\nline\",2,3\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "x,y", "he said \"hi\""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"", "", ""}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"multi\nline", "2", "3"}));
  auto semi = ReadAll("a;'b;c'\n", {';', '\''});
  EXPECT_EQ(semi[0], (std::vector<std::string>{"a", "b;c"}));
}

TEST(CsvTest, CarriageReturnInsideQuotesIsData) {
  // Only the CR of a CRLF line end is dropped (found by fuzz/csv_fuzz.cc).
  auto rows = ReadAll("\"ab\r\"\r\nx,\"y\r\"\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"ab\r"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"x", "y\r"}));
}

TEST(CsvTest, WrittenFieldsReadBackUnchanged) {
  const std::vector<std::string> fields = {"plain",       "",         "x,y",     "he said \"hi\"",
                                           "multi\nline", "cr\rhere", " spaced "};
  std::string line;
  for (const std::string& f : fields) {
    if (!line.empty()) line += ',';
    AppendCsvField(f, line);
  }
  EXPECT_EQ(line.substr(0, 10), "plain,,\"x,");  // only fields that need it are quoted
  auto rows = ReadAll(line + "\r\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], fields);
  std::string semi;
  AppendCsvField("a;b", semi, {';', '\''});
  EXPECT_EQ(semi, "'a;b'");
}

TEST(CsvTest, UnclosedQuoteNamesTheLine) {
  std::istringstream in("a\n\"open\n");
  CsvReader r(in, "t.csv");
  std::vector<std::string> f;
  ASSERT_TRUE(*r.Next(f));
  auto bad = r.Next(f);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "t.csv:2: quoted field is not closed");
}

}  // namespace
}  // namespace osprey
