#include "osprey/cli/args.h"

#include <gtest/gtest.h>

namespace osprey::cli {
namespace {

const CommandSpec kSpec{"backtest",
                        "Replay.",
                        "osprey backtest -c FILE",
                        "",
                        {{"config", 'c', "FILE", "detector file"}, {"json", 0, "", "JSON"}},
                        0,
                        1};

TEST(ArgsTest, ParsesLongShortInlineAndFlags) {
  auto a = *Args::Parse(kSpec, {"-c", "x.yaml", "--json", "pos"});
  EXPECT_EQ(*a.Get("config"), "x.yaml");
  EXPECT_TRUE(a.Has("json"));
  EXPECT_EQ(a.positional(), std::vector<std::string>{"pos"});
  EXPECT_EQ(*Args::Parse(kSpec, {"--config=y.yaml"})->Get("config"), "y.yaml");
}

TEST(ArgsTest, UsageErrorsNameTheProblem) {
  auto unknown = Args::Parse(kSpec, {"--frm", "x"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown option '--frm'"), std::string::npos);
  auto missing = Args::Parse(kSpec, {"-c"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("needs a value"), std::string::npos);
  EXPECT_FALSE(Args::Parse(kSpec, {"a", "b"}).ok());
  EXPECT_FALSE(Args::Parse(kSpec, {"--json=yes"}).ok());
}

TEST(ArgsTest, HelpListsEveryOption) {
  EXPECT_TRUE(Args::Parse(kSpec, {"--help"})->help());
  std::string h = HelpText(kSpec);
  EXPECT_NE(h.find("-c, --config FILE"), std::string::npos);
  EXPECT_NE(h.find("--json"), std::string::npos);
}

}  // namespace
}  // namespace osprey::cli
