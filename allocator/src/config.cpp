// Strict parsing of the flag table (env_flags.def). A malformed value is an
// error naming the variable, the value and the accepted forms; unlike
// mimalloc's warn-and-default we never guess what the user meant.
#include <algorithm>
#include <cstdlib>

#include "hakmem/types.h"
#include "support/parse.h"

namespace hakmem {

namespace {

// f(index, token) for each '|'-separated token of a choice, until f returns
// true; whether it did. No copies: a fuzz input refreshes its config often,
// and each refresh writes and reads every flag.
template <class F>
bool find_token(std::string_view accepted, F f) {
  std::size_t start = 0;
  for (std::uint32_t i = 0; start <= accepted.size(); ++i) {
    std::size_t bar = accepted.find('|', start);
    if (bar == std::string_view::npos) bar = accepted.size();
    if (f(i, accepted.substr(start, bar - start))) return true;
    start = bar + 1;
  }
  return false;
}

std::string hex_byte(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%02X", v);
  return buf;
}

}  // namespace

std::string FlagSpec::value_text(std::uint32_t v) const {
  if (kind == FlagKind::kMask) return hex_byte(v);
  std::string_view token;
  if (find_token(accepted, [&](std::uint32_t i, std::string_view t) { return token = t, i == v; }))
    return std::string(token);
  return std::to_string(v);
}

const std::vector<FlagSpec>& flag_table() {
  static const std::vector<FlagSpec> table = {
#define HAKMEM_ENV_FLAG(field, NAME, kind, def, lo, hi, acc, swept, doc) \
  {#field, NAME, FlagKind::kind, def, lo, hi, acc, swept, doc, false},
#define HAKMEM_BUILD_SWITCH(field, NAME, def, acc, swept, doc) \
  {#field, NAME, FlagKind::kChoice, def, 0, 1, acc, swept, doc, true},
#include "hakmem/env_flags.def"
#undef HAKMEM_ENV_FLAG
#undef HAKMEM_BUILD_SWITCH
  };
  return table;
}

const FlagSpec& env_flag_spec(EnvFlag f) { return flag_table()[static_cast<int>(f)]; }

// The fields by flag, in .def order: get and set index it rather than switch
// over every flag.
namespace {
constexpr std::uint32_t Config::*kConfigFields[] = {
#define HAKMEM_ENV_FLAG(field, NAME, kind, def, lo, hi, acc, swept, doc) &Config::field,
#include "hakmem/env_flags.def"
#undef HAKMEM_ENV_FLAG
};
}  // namespace

std::uint32_t Config::get(EnvFlag f) const { return this->*kConfigFields[static_cast<int>(f)]; }
void Config::set(EnvFlag f, std::uint32_t v) { this->*kConfigFields[static_cast<int>(f)] = v; }

std::vector<std::pair<std::string, std::string>> Config::env_vars() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const FlagSpec& spec : flag_table())
    if (!spec.build_switch) out.emplace_back(spec.name, spec.value_text(get(env_flag_of(spec))));
  return out;
}

std::string Config::describe() const {
  std::string out;
  for (const auto& [name, value] : env_vars()) out += (out.empty() ? "" : " ") + name + "=" + value;
  return out;
}

// Escapes bytes a terminal would not show (a NUL would also cut what() short).
static std::string printable(const std::string& raw) {
  std::string out;
  for (unsigned char ch : raw) {
    if (ch >= 0x20 && ch < 0x7F && ch != '\\') {
      out += static_cast<char>(ch);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", ch);
      out += buf;
    }
  }
  return out;
}

ConfigError::ConfigError(std::string variable_, std::string value_, std::string accepted_, std::string why)
    : std::runtime_error(variable_ + "='" + printable(value_) + "': " + why + "; accepted: " + accepted_),
      variable(std::move(variable_)),
      value(std::move(value_)),
      accepted(std::move(accepted_)) {}

std::uint32_t parse_flag_value(const FlagSpec& spec, std::string_view text) {
  if (spec.kind == FlagKind::kChoice) {
    std::uint32_t index = 0;
    if (find_token(spec.accepted, [&](std::uint32_t i, std::string_view t) { return index = i, t == text; }))
      return index;
    std::string list;
    find_token(spec.accepted, [&](std::uint32_t, std::string_view token) {
      (list += list.empty() ? "" : ", ") += token;
      return false;
    });
    throw ConfigError(spec.name, std::string(text), "one of " + list,
                      text.empty() ? "empty value" : "not an accepted value");
  }
  auto accepted = [&] {
    return hex_byte(spec.min) + ".." + hex_byte(spec.max) + " (hex with 0x prefix, or decimal " +
           std::to_string(spec.min) + ".." + std::to_string(spec.max) + ")";
  };
  std::optional<std::uint64_t> v;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
    v = support::parse_whole<std::uint64_t>(text.substr(2), 16);
  else
    v = support::parse_whole<std::uint64_t>(text);
  if (!v)
    throw ConfigError(spec.name, std::string(text), accepted(),
                      text.empty() ? "empty value" : "not a number");
  if (*v < spec.min || *v > spec.max)
    throw ConfigError(spec.name, std::string(text), accepted(), "out of range");
  return static_cast<std::uint32_t>(*v);
}

Config parse_config(const EnvSource& env) {
  Config cfg;
  for (const FlagSpec& spec : flag_table()) {
    if (spec.build_switch) continue;
    if (std::optional<std::string> text = env(spec.name))
      cfg.set(env_flag_of(spec), parse_flag_value(spec, *text));
  }
  return cfg;
}

EnvSource process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

EnvSource config_env(const Config& config) {
  return [config](std::string_view name) -> std::optional<std::string> {
    for (const FlagSpec& spec : flag_table())
      if (!spec.build_switch && name == spec.name) return spec.value_text(config.get(env_flag_of(spec)));
    return std::nullopt;
  };
}

EnvSource map_env(std::vector<std::pair<std::string, std::string>> vars) {
  // Sorted in place rather than copied into a map: the harness makes one per
  // refresh. The first of equal names wins, as a map's construction keeps it.
  std::stable_sort(vars.begin(), vars.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = std::lower_bound(vars.begin(), vars.end(), name,
                               [](const auto& kv, std::string_view n) { return kv.first < n; });
    if (it == vars.end() || it->first != name) return std::nullopt;
    return it->second;
  };
}

}  // namespace hakmem
