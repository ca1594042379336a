// A small command-line parser: each command declares its options (with help
// text), and Parse checks the arguments against them, so `--help` and the
// usage errors come from one table.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "osprey/base/status.h"

namespace osprey::cli {

struct OptionSpec {
  std::string name;   // long name without dashes: "from"
  char short_name;    // 'c', or 0
  std::string value;  // value placeholder ("TIME"); empty for a flag
  std::string help;
};

struct CommandSpec {
  std::string name;     // "backtest" or "anomalies list"
  std::string summary;  // one line
  std::string usage;    // "osprey backtest -c FILE [--from TIME] [--to TIME]"
  std::string details;  // paragraphs after the options
  std::vector<OptionSpec> options;
  int min_positional = 0;
  int max_positional = 0;
};

class Args {
 public:
  // InvalidArgument with a message for the user on an unknown option, a
  // missing value or a wrong count of positional arguments.
  static Result<Args> Parse(const CommandSpec& spec, const std::vector<std::string>& argv);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }
  bool help() const { return help_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

// The command's full help text.
std::string HelpText(const CommandSpec& spec);

}  // namespace osprey::cli
