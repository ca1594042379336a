// `osprey rca` as a user runs it: a leaf table in CSV (quoted fields, gzip),
// the printed set and --json, ratio KPIs, and the errors for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "osprey/testing/files.h"

namespace {

struct Ran {
  int code;
  std::string out;  // stdout
  std::string all;  // stdout and stderr
};

Ran OspreyRca(const std::string& args) {
  auto capture = [](const std::string& cmd) {
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int status = pclose(p);
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
  };
  const std::string base = std::string(OSPREY_BINARY) + " rca " + args;
  auto [code, out] = capture(base + " 2>/dev/null");
  auto [code2, all] = capture(base + " 2>&1");
  EXPECT_EQ(code, code2);
  return {code, out, all};
}

// city x device x channel leaves; city "New York, NY" (a quoted field) drops
// by 40 %, everything else has 5 % forecast noise. With `ratio`, the values
// are failures and attempts and the failure rate of device "tv" doubles.
std::string Table(bool ratio) {
  const char* cities[] = {"\"New York, NY\"", "Boston", "\"Austin \"\"TX\"\"\"", "Denver", "Miami"};
  const char* devices[] = {"ios", "android", "web", "tv"};
  const char* channels[] = {"ads", "direct", "mail"};
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> size(100, 3000);
  std::normal_distribution<double> noise(0, 0.05);
  std::string csv = ratio ? "city,device,channel,failures,failures_expected,attempts,attempts_expected\n"
                          : "city,device,channel,real,predict\n";
  for (int c = 0; c < 5; ++c) {
    for (int d = 0; d < 4; ++d) {
      for (int ch = 0; ch < 3; ++ch) {
        const double expected = size(rng);
        std::string row = std::string(cities[c]) + "," + devices[d] + "," + channels[ch] + ",";
        if (ratio) {
          const double rate = d == 3 ? 0.10 : 0.05;
          row += std::to_string(expected * rate * (1 + noise(rng))) + "," + std::to_string(expected * 0.05) +
                 "," + std::to_string(expected * (1 + noise(rng))) + "," + std::to_string(expected);
        } else {
          const double actual = expected * (1 + noise(rng)) * (c == 0 ? 0.6 : 1.0);
          row += std::to_string(actual) + "," + std::to_string(expected);
        }
        csv += row + "\n";
      }
    }
  }
  return csv;
}

class RcaCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = new osprey::testing::TempDir("osprey_rca_cli_"); }
  static void TearDownTestSuite() { delete dir_; }
  static std::string File(const std::string& name, const std::string& text) {
    const std::string path = dir_->path().string() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  static inline osprey::testing::TempDir* dir_ = nullptr;
};

TEST_F(RcaCliTest, PrintsTheSetOfAQuotedCsv) {
  const std::string csv = File("leaves.csv", Table(false));
  Ran r = OspreyRca("--csv " + csv);
  ASSERT_EQ(r.code, 0) << r.all;
  EXPECT_NE(r.out.find("root-cause set: city=New York, NY\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("down"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("confidence"), std::string::npos) << r.out;

  Ran j = OspreyRca("--csv " + csv + " --json");
  ASSERT_EQ(j.code, 0) << j.all;
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["set"], "city=New York, NY");
  ASSERT_EQ(doc["elements"].size(), 1u);
  const auto& e = doc["elements"][0];
  EXPECT_EQ(e["pairs"]["city"], "New York, NY");
  EXPECT_EQ(e["direction"], "down");
  EXPECT_LT(e["contribution"].get<double>(), 0);
  EXPECT_GT(e["confidence"].get<double>(), 0.5);
  EXPECT_LE(e["confidence"].get<double>(), 1.0);
  EXPECT_EQ(doc["leaves"], 60);

  // Only the dimensions named: channel is then summed over.
  Ran dims = OspreyRca("--csv " + csv + " --dimensions device,channel --json");
  ASSERT_EQ(dims.code, 0) << dims.all;
  EXPECT_EQ(nlohmann::json::parse(dims.out)["leaves"], 60);
}

TEST_F(RcaCliTest, ReadsGzipAndRatioColumns) {
  const std::string path = dir_->path().string() + "/ratio.csv.gz";
  const std::string text = Table(true);
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(gz);
  Ran r = OspreyRca("--csv " + path +
                    " --real failures --expected failures_expected --denominator-real attempts "
                    "--denominator-expected attempts_expected --json");
  ASSERT_EQ(r.code, 0) << r.all;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["set"], "device=tv");
  EXPECT_EQ(doc["ratio"], true);
  EXPECT_NEAR(doc["elements"][0]["actual"].get<double>(), 0.10, 0.01);
  EXPECT_EQ(doc["elements"][0]["direction"], "up");
}

TEST_F(RcaCliTest, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(OspreyRca("").code, 2);
  EXPECT_EQ(OspreyRca("--csv x.csv --denominator-real a").code, 2);

  Ran missing = OspreyRca("--csv " + dir_->path().string() + "/nope.csv");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.all.find("nope.csv: cannot read the file"), std::string::npos) << missing.all;

  const std::string bad = File("bad.csv", "region,real,expected\neu,1,2\n\"us\",abc,3\n");
  Ran r = OspreyRca("--csv " + bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.all.find("bad.csv:3: column 'real': 'abc' is not a number"), std::string::npos) << r.all;

  const std::string empty = File("empty_value.csv", "region,real,expected\neu,,2\n");
  Ran e = OspreyRca("--csv " + empty);
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.all.find("empty_value.csv:2: column 'real': empty value"), std::string::npos) << e.all;

  const std::string nocol = File("nocol.csv", "region,actual,expected\neu,1,2\n");
  Ran n = OspreyRca("--csv " + nocol);
  EXPECT_EQ(n.code, 1);
  EXPECT_NE(n.all.find("nocol.csv:1: no column 'real' in the header"), std::string::npos) << n.all;

  const std::string fields = File("fields.csv", "region,real,expected\neu,1,2\nus,1\n");
  Ran f = OspreyRca("--csv " + fields);
  EXPECT_EQ(f.code, 1);
  EXPECT_NE(f.all.find("fields.csv:3: 2 fields where the header has 3"), std::string::npos) << f.all;

  const std::string quote = File("quote.csv", "region,real,expected\n\"eu,1,2\n");
  Ran q = OspreyRca("--csv " + quote);
  EXPECT_EQ(q.code, 1);
  EXPECT_NE(q.all.find("quote.csv:2: quoted field is not closed"), std::string::npos) << q.all;

  Ran d = OspreyRca("--csv " + fields + " --dimensions country");
  EXPECT_EQ(d.code, 1);
  EXPECT_NE(d.all.find("fields.csv:1: no column 'country' in the header"), std::string::npos) << d.all;
}

}  // namespace
