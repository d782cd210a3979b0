#include "cli/options.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <type_traits>

#include "cli/commands.h"
#include "exec/scheduler.h"
#include "oracle/plants.h"
#include "support/parse.h"

namespace hakfuzz::cli {

template <class T>
T parse_number(const std::string& word) {
  if (const std::optional<T> v = support::parse_whole<T>(word)) return *v;
  throw po::invalid_option_value(word);
}

namespace {
template <class T>
std::string text(T v) {
  if constexpr (std::is_floating_point_v<T>) return fmt::format("{:g}", v);
  return std::to_string(v);
}

template <class T>
auto range_check(const char* name, T min, T max) {
  return [name, min, max](const Number<T>& n) {
    if (n.value < min || n.value > max)
      throw UsageError(
          fmt::format("--{} {}: out of range (accepted: {}..{})", name, text(n.value), text(min), text(max)));
  };
}
}  // namespace

template <class T>
po::typed_value<Number<T>>* number(const char* name, T def, T min, T max, const char* value_name) {
  return po::value<Number<T>>()
      ->default_value(Number<T>{def}, text(def))
      ->value_name(value_name)
      ->notifier(range_check(name, min, max));
}

template <class T>
po::typed_value<Number<T>>* optional_number(const char* name, T min, T max, const char* value_name) {
  return po::value<Number<T>>()->value_name(value_name)->notifier(range_check(name, min, max));
}

#define HAKFUZZ_NUMBER_TYPES(X) X(int) X(std::int64_t) X(std::uint64_t) X(double)
#define HAKFUZZ_INSTANTIATE(T)                                                       \
  template T parse_number<T>(const std::string&);                                    \
  template po::typed_value<Number<T>>* number<T>(const char*, T, T, T, const char*); \
  template po::typed_value<Number<T>>* optional_number<T>(const char*, T, T, const char*);
HAKFUZZ_NUMBER_TYPES(HAKFUZZ_INSTANTIATE)
#undef HAKFUZZ_INSTANTIATE
#undef HAKFUZZ_NUMBER_TYPES

void add_env_option(po::options_description& d) {
  d.add_options()(
      "env", po::value<std::vector<std::string>>()->composing()->value_name("NAME=VALUE"),
      "allocator environment flag, over the process environment (repeatable; see 'hakfuzz flags')");
}

std::vector<std::pair<std::string, std::string>> resolve_env(const po::variables_map& vm) {
  std::vector<std::pair<std::string, std::string>> env;
  const hakmem::EnvSource process = hakmem::process_env();
  for (const hakmem::FlagSpec& f : hakmem::flag_table())
    if (!f.build_switch)
      if (std::optional<std::string> v = process(f.name)) env.emplace_back(f.name, *v);
  if (!vm.count("env")) return env;
  for (const std::string& w : vm["env"].as<std::vector<std::string>>()) {
    const auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--env '" + w + "': expected NAME=VALUE");
    const std::string name = w.substr(0, eq);
    bool known = false;
    for (const hakmem::FlagSpec& f : hakmem::flag_table()) known |= !f.build_switch && name == f.name;
    if (!known)
      throw UsageError("--env '" + w + "': " + name + " is no HAKMEM environment flag (see 'hakfuzz flags')");
    std::erase_if(env, [&](const auto& kv) { return kv.first == name; });
    env.emplace_back(name, w.substr(eq + 1));
  }
  return env;
}

hakmem::Config resolve_config(const po::variables_map& vm) {
  return hakmem::parse_config(hakmem::map_env(resolve_env(vm)));
}

void add_memory_option(po::options_description& d, MemoryKind def) {
  d.add_options()(
      "memory", po::value<std::string>()->default_value(memory_kind_name(def))->value_name("M"),
      "what an atomic load may read: sc (the latest store: sequentially consistent runs) | c11 (any "
      "store the C11 model allows, within the last --history per location) | tso (x86-TSO: "
      "stores wait in store buffers that a locked instruction drains). Which store is read is a "
      "decision like a thread pick, an older one costing a preemption; dfs keeps hb under c11, "
      "runs with reduction none otherwise")(
      "history", number<int>("history", kDefaultStoreHistory, 1, kMaxStoreHistory, "N"),
      "c11, tso: the stores per location a load may choose among (loom keeps 7, Relacy 3); a finding's "
      "file keeps it");
}

int history_option(const po::variables_map& vm) { return get<int>(vm, "history"); }

MemoryKind memory_option(const po::variables_map& vm) {
  const std::string name = vm["memory"].as<std::string>();
  const std::optional<MemoryKind> m = parse_memory_kind(name);
  if (!m) throw UsageError("--memory '" + name + "': expected sc, c11 or tso");
  if (*m == MemoryKind::sc || Scheduler::kModelsMemory) return *m;
  if (vm["memory"].defaulted()) return MemoryKind::sc;
  throw UsageError("--memory " + name + " needs a build without ThreadSanitizer (TSan keeps its own model)");
}

void set_plant(const std::string& name, std::string_view checker) {
  try {
    activate_plant(name, checker);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

std::pair<int, int> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  const std::string_view all = text;
  const auto k = support::parse_whole<int>(all.substr(0, slash));
  const auto n = slash == std::string::npos ? std::nullopt : support::parse_whole<int>(all.substr(slash + 1));
  if (!k || !n || *n < 1 || *k < 1 || *k > *n)
    throw UsageError("--shard '" + text + "': expected K/N with 1 <= K <= N, e.g. 2/4");
  return {*k, *n};
}

}  // namespace hakfuzz::cli
