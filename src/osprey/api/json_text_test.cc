// The directly written JSON against nlohmann::json: strings and numbers
// byte for byte as dump() writes them, the validator accepting what
// json::accept accepts, and an anomaly group written by AppendGroupJson
// against the same group built as a tree (views_reference.h).
#include "osprey/api/json_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "osprey/api/views.h"
#include "osprey/api/views_reference.h"

namespace osprey::api {
namespace {

using nlohmann::json;

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}
std::string Num(double v) {
  std::string out;
  AppendJsonNumber(out, v);
  return out;
}

// A code point as UTF-8.
std::string Utf8(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

TEST(JsonTextTest, StringsAreWrittenAsDumpWritesThem) {
  std::vector<std::string> cases = {"",
                                    "plain",
                                    "quote\" back\\slash /",
                                    "\b\f\n\r\t",
                                    "\x7f",
                                    "ünïcødé 日本語 🦅",
                                    std::string("nul\0byte", 8)};
  for (int c = 0; c < 0x20; ++c) cases.push_back(std::string(1, static_cast<char>(c)) + "x");
  std::mt19937_64 rng(16);
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) {
      // Mostly ASCII, with every width of UTF-8 and no surrogates.
      uint32_t cp = 0;
      switch (rng() % 4) {
        case 0: cp = static_cast<uint32_t>(rng() % 0x80); break;
        case 1: cp = 0x80 + static_cast<uint32_t>(rng() % 0x780); break;
        case 2: cp = 0x800 + static_cast<uint32_t>(rng() % (0xD800 - 0x800)); break;
        default: cp = 0x10000 + static_cast<uint32_t>(rng() % 0x100000); break;
      }
      s += Utf8(cp);
    }
    cases.push_back(s);
  }
  for (const std::string& s : cases) EXPECT_EQ(Str(s), json(s).dump()) << s;
}

TEST(JsonTextTest, InvalidUtf8IsWrittenAsTheReplacementCharacter) {
  // A stray continuation byte, a lead byte without its continuation, an
  // overlong form, an encoded surrogate and a byte never in UTF-8.
  for (const char* bad : {"a\x80z", "a\xE6\x97z", "a\xC0\xAFz", "a\xED\xA0\x80z", "a\xFFz"}) {
    const std::string out = Str(bad);
    EXPECT_TRUE(json::accept(out)) << out;
    EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos) << out;
    EXPECT_EQ(out.front(), '"');
    EXPECT_EQ(out.substr(out.size() - 2), "z\"");
  }
}

TEST(JsonTextTest, NumbersAreWrittenAsDumpWritesThem) {
  std::vector<double> cases = {0.0,
                               -0.0,
                               1.0,
                               100.0,
                               0.1,
                               -2.5,
                               1e-5,
                               1e-4,
                               1e15,
                               1e16,
                               1e17,
                               1e21,
                               123.456,
                               1.0 / 3,
                               5e-324,
                               2.2250738585072014e-308,
                               1e308,
                               1.7976931348623157e308,
                               123456789012345678.0};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uniform(-1e6, 1e6);
  for (int i = 0; i < 20000; ++i) {
    // Random bit patterns (every exponent) and everyday figures.
    const uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (std::isfinite(v)) cases.push_back(v);
    cases.push_back(uniform(rng));
    cases.push_back(std::round(uniform(rng) * 100) / 100);
  }
  for (double v : cases) EXPECT_EQ(Num(v), json(v).dump()) << v;
  for (double v :
       {std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(Num(v), "null");
    EXPECT_EQ(json(v).dump(), "null");
  }
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{42}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    std::string out;
    AppendJsonInt(out, v);
    EXPECT_EQ(out, json(v).dump());
  }
}

TEST(JsonTextTest, ValidatorAcceptsWhatNlohmannAccepts) {
  const std::vector<std::string> seeds = {
      R"({"marketplace":[{"actual":291.74,"expected":226.87289433715364,"share":30.9,"value":"jp"}]})",
      R"([{"element":{"市場":"東京 \"q\""},"ratio":{"denominator":"visits"},"score":0.4,"share":32.5}])",
      R"([{"deviation_pct":-12.5,"incident_start":1735689600,"measure":"orders","relation":"same"}])",
      R"( [1, -0, 0.5e-3, 2E+10, true, false, null, "\u00e9\ud83e\udd85\/\b\f\n\r\t"] )",
      R"({"a":{"b":[[],{}]},"c":""})",
      "\xEF\xBB\xBF{\"bom\":1}"};
  std::vector<std::string> cases = seeds;
  for (const char* extra : {"",
                            " ",
                            "{",
                            "}",
                            "[",
                            "[1,]",
                            "{\"a\":1,}",
                            "{\"a\" 1}",
                            "{1:2}",
                            "01",
                            "-",
                            "1.",
                            ".5",
                            "1e",
                            "1e+",
                            "-01",
                            "1e400",
                            "-1e400",
                            "1e-400",
                            "tru",
                            "truex",
                            "nul",
                            "\"\\x\"",
                            "\"\\u12\"",
                            "\"\\ud800\"",
                            "\"\\udc00\"",
                            "\"\\ud800\\u0041\"",
                            "\"\\ud800\\udc00\"",
                            "\"a\tb\"",
                            "\"\xC0\xAF\"",
                            "\"\xED\xA0\x80\"",
                            "\"\xF4\x90\x80\x80\"",
                            "\"\xF0\x9F\xA6\x85\"",
                            "[1] [2]",
                            "[1]]",
                            "\"\\u0000\"",
                            "1 2",
                            "\v1",
                            "\xEF\xBB\xBF",
                            "\xEF\xBB",
                            " \xEF\xBB\xBF[]"}) {
    cases.push_back(extra);
  }
  cases.push_back(std::string(400, '9'));
  cases.push_back(std::string(310, '9'));
  cases.push_back(std::string(2000, '[') + std::string(2000, ']'));
  cases.push_back(std::string(2000, '[') + std::string(1999, ']'));
  // Mutations of the seeds: a byte deleted, replaced or inserted, or the
  // text cut short.
  const std::string alphabet = "{}[]\",:\\/ 0123456789.eE+-tfnulasr\x80\xC3\xA9\xED\xA0\xEF\xBB\xBF\x01";
  std::mt19937_64 rng(2026);
  for (int i = 0; i < 30000; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = rng() % s.size();
      const char ch = alphabet[rng() % alphabet.size()];
      switch (rng() % 4) {
        case 0: s.erase(at, 1); break;
        case 1: s[at] = ch; break;
        case 2: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), ch); break;
        default: s.resize(at); break;
      }
    }
    cases.push_back(s);
  }
  int accepted = 0;
  for (const std::string& s : cases) {
    const bool expected = json::accept(s);
    EXPECT_EQ(IsJsonValue(s), expected) << "'" << s << "'";
    accepted += expected ? 1 : 0;
  }
  // Both kinds are well represented.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(static_cast<int>(cases.size()) - accepted, 1000);
}

// Groups of every kind a store holds, written directly and as a tree.
std::vector<store::GroupRecord> VariedGroups() {
  std::vector<store::GroupRecord> out;
  store::GroupRecord full;
  full.id = 361;
  full.detector_id = 1;
  full.detector = "ecommerce";
  full.measure = "revenue";
  full.ts = 1751090400;
  full.end_ts = 1751094000;
  full.severity = 100;
  full.anomaly_count = 5;
  full.contributions =
      json{{"市場",
            {{{"value", "東京 \"quoted\""}, {"share", 30.9}, {"actual", 291.74}, {"expected", 226.8728943}}}},
           {"platform",
            {{{"value", "pc_web"}, {"share", 92.5}, {"actual", 401.68}, {"expected", 205.17571780287562}}}}}
          .dump();
  full.root_causes = json::array({{{"element", {{"市場", "東京"}, {"platform", "pc_web"}}},
                                   {"share", 32.5},
                                   {"score", 0.40107097263717395},
                                   {"ratio",
                                    {{"numerator", "orders"},
                                     {"denominator", "visits"},
                                     {"numerator_actual", 12.0},
                                     {"numerator_expected", 30.25},
                                     {"denominator_actual", 1000.0},
                                     {"denominator_expected", 998.5}}}}})
                         .dump();
  full.related = json::array({{{"measure", "orders"},
                               {"relation", "same"},
                               {"deviation_pct", -12.5},
                               {"incident_start", 1751086800}}})
                     .dump();
  full.incident_ts = 1751086800;
  full.incident_end_ts = 1751094000;
  full.incident_intervals = 2;
  full.incident_severity = 100;
  out.push_back(full);

  // Written before the fields were filled, read without incident figures.
  store::GroupRecord bare;
  bare.id = 1;
  bare.detector = "d";
  bare.measure = "m";
  bare.ts = 0;
  bare.end_ts = 3600;
  bare.severity = 51.25;
  out.push_back(bare);

  // Names that need escaping, a fractional severity, an incident's figures.
  store::GroupRecord names = full;
  names.id = 2;
  names.detector = "über \"detector\"\t\\";
  names.measure = "conversion rate 📈";
  names.severity = 77.123456789;
  names.incident_severity = 88.5;
  names.incident_intervals = 7;
  names.root_causes = "[]";
  names.related = "[]";
  names.contributions = "{}";
  out.push_back(names);

  // Stored text that does not parse: the fallbacks.
  store::GroupRecord corrupt = full;
  corrupt.id = 3;
  corrupt.contributions = R"({"marketplace":[{"value":"jp","share":3)";
  corrupt.root_causes = "not json";
  corrupt.related = "[1,]";
  out.push_back(corrupt);

  // Other values than the usual object or array: as stored.
  store::GroupRecord other = full;
  other.id = 4;
  other.contributions = "5";
  other.root_causes = "\"text\"";
  other.related = "null";
  out.push_back(other);

  // Not written by osprey's dump(): spaces, keys out of order, "1.10",
  // an escaped solidus, a byte-order mark.
  store::GroupRecord foreign = full;
  foreign.id = 5;
  foreign.contributions = "\xEF\xBB\xBF  {\"b\": [ {\"share\": 1.10, \"value\": \"a\\/b\"} ], \"a\": {} } \n";
  foreign.root_causes = " [ ] ";
  foreign.related = "[1E2]";
  out.push_back(foreign);
  return out;
}

TEST(JsonTextTest, AGroupIsWrittenAsTheTreeWasDumped) {
  for (const store::GroupRecord& g : VariedGroups()) {
    SCOPED_TRACE(g.id);
    std::string direct;
    AppendGroupJson(direct, g);
    ASSERT_TRUE(json::accept(direct)) << direct;
    const json tree = reference::GroupTree(g);
    EXPECT_EQ(json::parse(direct), tree) << direct;
    EXPECT_EQ(GroupJson(g), tree);
    // Stored text written by dump() comes out byte for byte.
    if (g.id != 5) {
      EXPECT_EQ(direct, tree.dump());
    }
  }
}

TEST(JsonTextTest, AGroupIsAppendedToWhatIsThere) {
  const auto groups = VariedGroups();
  std::string list = "[";
  json tree = json::array();
  for (size_t i = 0; i < groups.size(); ++i) {
    if (i > 0) list += ',';
    AppendGroupJson(list, groups[i]);
    tree.push_back(reference::GroupTree(groups[i]));
  }
  list += ']';
  EXPECT_EQ(json::parse(list), tree);
}

}  // namespace
}  // namespace osprey::api
