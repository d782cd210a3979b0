// Options every command shares, declared in one place: numeric options with
// their range (checked while parsing: a value out of range, a sign on an
// unsigned count, trailing junk, all exit 2 with the option named), and the
// allocator environment, read the way the pool reads it.
#pragma once
#include <boost/program_options.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exec/memory_model.h"
#include "hakmem/types.h"

namespace hakfuzz::cli {

namespace po = boost::program_options;

// A number option of type T; validate() below parses it strictly.
template <class T>
struct Number {
  T value{};
};

// Parses one word strictly into T (integers: decimal digits with an optional
// '-' only for signed types; doubles: a finite decimal). Throws
// po::invalid_option_value on anything else.
template <class T>
T parse_number(const std::string& word);

template <class T>
void validate(boost::any& out, const std::vector<std::string>& words, Number<T>*, int) {
  po::validators::check_first_occurrence(out);
  out = Number<T>{parse_number<T>(po::validators::get_single_string(words))};
}

// `--name` takes a T in [min, max], `def` when absent. The range is part of
// the help text and checked when the command line is parsed.
template <class T>
po::typed_value<Number<T>>* number(const char* name, T def, T min, T max, const char* value_name = "N");
// The same without a default: absent unless given.
template <class T>
po::typed_value<Number<T>>* optional_number(const char* name, T min, T max, const char* value_name = "N");

template <class T>
T get(const po::variables_map& vm, const char* name) {
  return vm[name].as<Number<T>>().value;
}

// "K/N" of --shard: part K (1-based) of N. UsageError otherwise.
std::pair<int, int> parse_shard(const std::string& text);

// ---------------------------------------------------------------- env
// Adds `--env NAME=VALUE` (repeatable) to a command's options.
void add_env_option(po::options_description& d);
// The allocator's flags for this command: the process environment, as the
// pool itself reads it (a user who exported HAKMEM_POOL_V2_ENABLED=1 gets
// v2), with each --env on top. A name that is no env flag is a UsageError; a
// malformed value a hakmem::ConfigError (both exit 2).
std::vector<std::pair<std::string, std::string>> resolve_env(const po::variables_map& vm);
// The same as a Config (validated).
hakmem::Config resolve_config(const po::variables_map& vm);

// ---------------------------------------------------------------- plant
// --plant NAME: validates a planted-bug name for the checker (a target name,
// `stress`, `sweep`) and exports it (HAKFUZZ_PLANT) to this process and the
// engines it starts; UsageError for an unknown name or one the checker
// cannot reach.
void set_plant(const std::string& name, std::string_view checker);

// ---------------------------------------------------------------- memory
// Adds `--memory sc|c11|tso`, defaulting to `def`.
void add_memory_option(po::options_description& d, MemoryKind def);
// The model asked for. UsageError for an unknown name, or for a weak model
// named on the TSan build (TSan keeps its own); a weak default is sc there.
MemoryKind memory_option(const po::variables_map& vm);
// --history, which add_memory_option adds too.
int history_option(const po::variables_map& vm);

}  // namespace hakfuzz::cli
