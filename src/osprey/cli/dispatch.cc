#include "osprey/cli/dispatch.h"

#include <cstdio>
#include <string>
#include <vector>

#include "osprey/cli/commands.h"

namespace {

void PrintOverview() {
  std::printf(
      "osprey — anomaly detection for metrics in SQL databases\n\n"
      "usage: osprey COMMAND [OPTIONS]\n\ncommands:\n");
  for (const auto& c : osprey::cli::Commands()) {
    std::printf("  %-18s %s\n", c.spec.name.c_str(), c.spec.summary.c_str());
  }
  std::printf(
      "\n'osprey COMMAND --help' (or 'osprey help COMMAND') explains one command.\n"
      "Exit codes: 0 ok, 1 failure, 2 usage error, 78 bad configuration.\n");
}

}  // namespace

namespace osprey::cli {

int Main(int argc, char** argv) {
  using osprey::cli::Commands;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    PrintOverview();
    return args.empty() ? osprey::cli::kExitUsage : osprey::cli::kExitOk;
  }
  if (args[0] == "--version") {
    std::printf("osprey %s\n", OSPREY_VERSION);
    return 0;
  }
  bool help = false;
  if (args[0] == "help") {
    help = true;
    args.erase(args.begin());
    if (args.empty()) {
      PrintOverview();
      return 0;
    }
  }
  for (const auto& c : Commands()) {
    // Match one- or two-word command names.
    size_t words = c.spec.name.find(' ') == std::string::npos ? 1 : 2;
    if (args.size() < words) continue;
    std::string name = words == 1 ? args[0] : args[0] + " " + args[1];
    if (name != c.spec.name) continue;
    std::vector<std::string> rest(args.begin() + static_cast<long>(words), args.end());
    if (help) rest.push_back("--help");
    auto parsed = osprey::cli::Args::Parse(c.spec, rest);
    if (!parsed.ok()) {
      std::fprintf(stderr, "%s\n", parsed.status().message().c_str());
      return osprey::cli::kExitUsage;
    }
    if (parsed->help()) {
      std::printf("%s", osprey::cli::HelpText(c.spec).c_str());
      return 0;
    }
    return c.run(*parsed);
  }
  // `osprey help WORD` for a group of two-word commands: each of them.
  if (help && args.size() == 1) {
    bool any = false;
    for (const auto& c : Commands()) {
      if (c.spec.name.rfind(args[0] + " ", 0) != 0) continue;
      std::printf("%s  %s\n    %s\n", any ? "\n" : "", c.spec.name.c_str(), c.spec.summary.c_str());
      std::printf("    %s\n", c.spec.usage.c_str());
      any = true;
    }
    if (any) {
      std::printf("\n'osprey help %s SUBCOMMAND' explains one in full.\n", args[0].c_str());
      return 0;
    }
  }
  // A known first word with a wrong or missing second word.
  for (const auto& c : Commands()) {
    if (c.spec.name.rfind(args[0] + " ", 0) == 0) {
      std::fprintf(stderr, "osprey %s: say what to do, e.g. 'osprey %s'\n", args[0].c_str(),
                   c.spec.name.c_str());
      return osprey::cli::kExitUsage;
    }
  }
  std::fprintf(stderr, "osprey: unknown command '%s' (see 'osprey --help')\n", args[0].c_str());
  return osprey::cli::kExitUsage;
}

}  // namespace osprey::cli
