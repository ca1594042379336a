#include "osprey/cli/args.h"

#include <fmt/format.h>

namespace osprey::cli {

Result<Args> Args::Parse(const CommandSpec& spec, const std::vector<std::string>& argv) {
  Args a;
  auto find_long = [&](const std::string& n) -> const OptionSpec* {
    for (const auto& o : spec.options) {
      if (o.name == n) return &o;
    }
    return nullptr;
  };
  auto find_short = [&](char c) -> const OptionSpec* {
    for (const auto& o : spec.options) {
      if (o.short_name == c) return &o;
    }
    return nullptr;
  };
  bool only_positional = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& tok = argv[i];
    if (only_positional || tok.size() < 2 || tok[0] != '-' || tok == "-") {
      a.positional_.push_back(tok);
      continue;
    }
    if (tok == "--") {
      only_positional = true;
      continue;
    }
    if (tok == "--help" || tok == "-h") {
      a.help_ = true;
      continue;
    }
    const OptionSpec* o = nullptr;
    std::string value;
    bool has_inline = false;
    if (tok.rfind("--", 0) == 0) {
      std::string name = tok.substr(2);
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline = true;
      }
      o = find_long(name);
      if (!o) {
        return InvalidArgument(fmt::format("osprey {}: unknown option '--{}' (see 'osprey {} --help')",
                                           spec.name, name, spec.name));
      }
    } else {
      o = tok.size() == 2 ? find_short(tok[1]) : nullptr;
      if (!o) {
        return InvalidArgument(fmt::format("osprey {}: unknown option '{}' (see 'osprey {} --help')",
                                           spec.name, tok, spec.name));
      }
    }
    if (o->value.empty()) {
      if (has_inline) {
        return InvalidArgument(fmt::format("osprey {}: option '--{}' takes no value", spec.name, o->name));
      }
      a.values_[o->name] = "true";
      continue;
    }
    if (!has_inline) {
      if (i + 1 >= argv.size()) {
        return InvalidArgument(
            fmt::format("osprey {}: option '--{}' needs a value ({})", spec.name, o->name, o->value));
      }
      value = argv[++i];
    }
    a.values_[o->name] = value;
  }
  if (a.help_) return a;
  int n = static_cast<int>(a.positional_.size());
  if (n < spec.min_positional || n > spec.max_positional) {
    return InvalidArgument(fmt::format("osprey {}: {}\nusage: {}", spec.name,
                                       n < spec.min_positional ? "missing argument" : "too many arguments",
                                       spec.usage));
  }
  return a;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::GetOr(const std::string& name, const std::string& fallback) const {
  return Get(name).value_or(fallback);
}

std::string HelpText(const CommandSpec& spec) {
  std::string out = fmt::format("{}\n\nusage: {}\n", spec.summary, spec.usage);
  if (!spec.options.empty()) {
    out += "\noptions:\n";
    for (const auto& o : spec.options) {
      std::string flag =
          o.short_name ? fmt::format("-{}, --{}", o.short_name, o.name) : fmt::format("    --{}", o.name);
      if (!o.value.empty()) flag += " " + o.value;
      out += fmt::format("  {:<28} {}\n", flag, o.help);
    }
    out += fmt::format("  {:<28} {}\n", "-h, --help", "show this help");
  }
  if (!spec.details.empty()) out += "\n" + spec.details + "\n";
  return out;
}

}  // namespace osprey::cli
