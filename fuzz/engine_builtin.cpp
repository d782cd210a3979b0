// The built-in engine for builds without libFuzzer (g++): replays corpus
// paths, then mutates corpus entries and random bytes with a seeded
// generator. Its only coverage feedback is the interleaving pairs of the
// `interleave` target (fuzz/pair_coverage.h): an input that reaches a new
// pair, or a pair's count in a new power-of-two bucket, is kept to mutate
// further, as libFuzzer keeps it; so it finds bugs more slowly than
// libFuzzer, but every feature of the tool works with it. It never writes to
// the corpus dirs (grow a corpus with libFuzzer's -merge=1 in a clang build).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "fuzz/dictionary.h"
#include "fuzz/engine.h"
#include "fuzz/pair_coverage.h"
#include "fuzz/sha1.h"
#include "support/parse.h"
#include "support/rng.h"

namespace hakfuzz {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

using flag_int = long long;
using flag_str = std::string;
using Inputs = std::vector<std::vector<std::uint8_t>>;

bool parse_value(const std::string& text, long long min, flag_int& out) {
  const std::optional<flag_int> v = support::parse_whole<flag_int>(text);
  if (v) out = *v;
  return v && *v >= min;
}
bool parse_value(const std::string& text, long long, flag_str& out) {
  out = text;
  return true;
}

struct Flags {
#define HAKFUZZ_ENGINE_FLAG(name, type, def, min, doc) flag_##type name = def;
#include "fuzz/builtin_flags.def"
#undef HAKFUZZ_ENGINE_FLAG
  std::vector<std::string> inputs;
};

// libFuzzer's conventions: only -name=value is a flag, any other word an
// input; an unknown flag warns, a bad value of a known one is an error.
bool parse_flags(const std::vector<std::string>& args, Flags& f) {
  for (const std::string& a : args) {
    const std::size_t eq = a.find('=');
    if (a.size() < 2 || a[0] != '-' || a[1] == '-' || eq == std::string::npos) {
      f.inputs.push_back(a);
      continue;
    }
    const std::string name = a.substr(1, eq - 1), value = a.substr(eq + 1);
    bool known = false, ok = true;
#define HAKFUZZ_ENGINE_FLAG(flag, type, def, min, doc) \
  if (name == #flag) known = true, ok = parse_value(value, min, f.flag);
#include "fuzz/builtin_flags.def"
#undef HAKFUZZ_ENGINE_FLAG
    if (!known)
      std::fprintf(stderr, "WARNING: unrecognized flag '%s' (built-in engine); use -help=1 to list flags\n",
                   a.c_str());
    if (!ok) {
      std::fprintf(stderr, "ERROR: bad value in '%s'\n", a.c_str());
      std::exit(2);
    }
  }
  if (f.help) {
    std::printf("built-in engine flags (libFuzzer spelling), then corpus dirs or files:\n");
#define HAKFUZZ_ENGINE_FLAG(flag, type, def, min, doc) std::printf("  -%-20s %s\n", #flag "=", doc);
#include "fuzz/builtin_flags.def"
#undef HAKFUZZ_ENGINE_FLAG
    return false;
  }
  return true;
}

std::vector<std::uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A corpus path's files: the file itself, or a directory's files in name order.
std::vector<fs::path> corpus_files(const fs::path& in) {
  std::vector<fs::path> files;
  if (!fs::is_directory(in)) return {in};
  for (const auto& e : fs::recursive_directory_iterator(in))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// libFuzzer's -dict: a missing or malformed file is an error (false, printed).
bool read_dictionary(const std::string& path, Inputs& out) {
  if (!fs::is_regular_file(path)) {
    std::fprintf(stderr, "ERROR: no such dictionary file: %s\n", path.c_str());
    return false;
  }
  const std::vector<std::uint8_t> bytes = read_file(path);
  try {
    out = parse_dictionary(std::string(bytes.begin(), bytes.end()));
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "ERROR: %s: %s\n", path.c_str(), e.what());
    return false;
  }
  std::printf("INFO: dictionary %s: %zu entries\n", path.c_str(), out.size());
  return true;
}

std::string write_artifact(const Flags& f, std::span<const std::uint8_t> input) {
  std::string path =
      f.exact_artifact_path.empty() ? f.artifact_prefix + "crash-" + sha1_hex(input) : f.exact_artifact_path;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
  out.close();
  std::fprintf(stderr, "artifact_prefix='%s'; Test unit written to %s\n", f.artifact_prefix.c_str(),
               path.c_str());
  return path;
}

// A dictionary entry inserted at `at`, or written over the bytes there.
void splice_entry(std::vector<std::uint8_t>& d, const Inputs& dictionary, std::uint64_t x, std::size_t at) {
  const auto& entry = dictionary[(x >> 16) % dictionary.size()];
  if ((x >> 44) & 1 || d.size() < at + entry.size()) {
    d.insert(d.begin() + static_cast<std::ptrdiff_t>(at), entry.begin(), entry.end());
  } else {
    std::copy(entry.begin(), entry.end(), d.begin() + static_cast<std::ptrdiff_t>(at));
  }
}

void mutate(std::vector<std::uint8_t>& d, const Inputs& corpus, const Inputs& dictionary,
            support::SplitMix64& rng, std::size_t max_len) {
  static const std::uint8_t kInteresting[] = {0, 1, 0x7F, 0x80, 0xFF, 0x40, 0x20};
  int rounds = 1 + static_cast<int>(rng.next() % 4);
  // Without a dictionary the choices are the first seven, as they always were.
  const std::uint64_t kinds = dictionary.empty() ? 7 : 8;
  for (int r = 0; r < rounds; ++r) {
    std::uint64_t x = rng.next();
    std::size_t at = d.empty() ? 0 : x % d.size();
    switch ((x >> 32) % kinds) {
      case 0:
        if (!d.empty()) d[at] ^= static_cast<std::uint8_t>(1u << ((x >> 40) % 8));
        break;
      case 1:
        if (!d.empty()) d[at] = static_cast<std::uint8_t>(x >> 48);
        break;
      case 2:
        d.insert(d.begin() + static_cast<std::ptrdiff_t>(at), 1 + (x >> 50) % 8,
                 static_cast<std::uint8_t>(x >> 24));
        break;
      case 3:
        if (!d.empty())
          d.erase(d.begin() + static_cast<std::ptrdiff_t>(at),
                  d.begin() + static_cast<std::ptrdiff_t>(std::min(d.size(), at + 1 + (x >> 50) % 8)));
        break;
      case 4:
        if (!d.empty()) d[at] = kInteresting[(x >> 40) % std::size(kInteresting)];
        break;
      case 5:
        if (!corpus.empty()) {
          const auto& other = corpus[(x >> 16) % corpus.size()];
          std::size_t from = other.empty() ? 0 : (x >> 40) % other.size();
          d.insert(d.begin() + static_cast<std::ptrdiff_t>(at),
                   other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        }
        break;
      case 6:
        for (int k = 0; k < 8; ++k) d.push_back(static_cast<std::uint8_t>(rng.next()));
        break;
      default:
        splice_entry(d, dictionary, x, at);
        break;
    }
  }
  if (d.size() > max_len) d.resize(max_len);
}

// What the pair counters of one input add: libFuzzer's count buckets (1, 2,
// 3, 4-7, 8-15, 16-31, 32-127, 128+), one bit each per counter.
class PairFeedback {
 public:
  PairFeedback() : seen_(pair_counters().size(), 0) {}
  void clear() { std::fill(pair_counters().begin(), pair_counters().end(), 0); }
  // Whether the last input reached a bucket of a counter no input had.
  bool novel() {
    bool any = false;
    const std::span<std::uint8_t> counts = pair_counters();
    for (std::size_t i = 0; i < counts.size(); ++i) {
      if (!counts[i]) continue;
      const std::uint8_t bit = bucket(counts[i]);
      any = any || !(seen_[i] & bit);
      seen_[i] |= bit;
    }
    return any;
  }

 private:
  static std::uint8_t bucket(std::uint8_t n) {
    const int b = n <= 3 ? n - 1 : n < 8 ? 3 : n < 16 ? 4 : n < 32 ? 5 : n < 128 ? 6 : 7;
    return static_cast<std::uint8_t>(1u << b);
  }
  std::vector<std::uint8_t> seen_;
};

}  // namespace

int run_builtin_engine(const Target& target, const std::vector<std::string>& args) {
  Flags f;
  if (!parse_flags(args, f)) return 0;
  if (f.seed == 0)
    f.seed = static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()) % 4000000000u + 1;
  std::printf("INFO: built-in engine (no libFuzzer in this build), target '%s'\nINFO: Seed: %llu\n",
              target.name, static_cast<unsigned long long>(f.seed));
  const auto start = Clock::now();
  long long execs = 0;
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  PairFeedback feedback;
  auto check = [&](std::span<const std::uint8_t> input, bool save) -> bool {
    feedback.clear();
    RunResult r = target.run(input, false);
    ++execs;
    if (!r.finding) return true;
    if (save) write_artifact(f, input);
    print_finding(target, input, r);
    return false;
  };

  // Files only: replay them (libFuzzer's mode for reproducers); each file is its own reproducer.
  Inputs corpus;
  bool any_dir = false;
  for (const std::string& in : f.inputs) any_dir = any_dir || fs::is_directory(in);
  for (const std::string& in : f.inputs) {
    if (!fs::exists(in)) {
      std::fprintf(stderr, "ERROR: no such corpus path: %s\n", in.c_str());
      return 2;
    }
    for (const fs::path& p : corpus_files(in)) {
      auto data = read_file(p);
      if (!any_dir) std::printf("Running: %s\n", p.c_str());
      if (!check(data, any_dir)) return 1;
      (void)feedback.novel();  // what the corpus reaches is not new
      corpus.push_back(std::move(data));
    }
  }
  std::printf("INFO: seed corpus: files: %zu\n", corpus.size());
  if (!f.inputs.empty() && !any_dir) {
    std::printf("Executed %zu inputs; no finding\n", corpus.size());
    return 0;
  }

  Inputs dictionary;
  if (!f.dict.empty() && !read_dictionary(f.dict, dictionary)) return 2;
  support::SplitMix64 rng(static_cast<std::uint64_t>(f.seed));
  long long next_report = 1;
  for (long long i = 0; f.runs < 0 || i < f.runs; ++i) {
    if (f.max_total_time > 0 && elapsed() >= static_cast<double>(f.max_total_time)) break;
    std::vector<std::uint8_t> input;
    if (!corpus.empty() && rng.next() % 8 != 0) input = corpus[rng.next() % corpus.size()];
    mutate(input, corpus, dictionary, rng, static_cast<std::size_t>(f.max_len));
    if (!check(input, true)) return 1;
    // New interleaving pairs, or (no signal) a random sample: mutated further.
    if (feedback.novel() || rng.next() % 8 == 0) {
      if (corpus.size() < 4096)
        corpus.push_back(std::move(input));
      else
        corpus[rng.next() % corpus.size()] = std::move(input);
    }
    if (execs >= next_report) {
      std::printf("#%lld\tpulse  corp: %zu exec/s: %.0f\n", execs, corpus.size(),
                  execs / std::max(elapsed(), 1e-9));
      std::fflush(stdout);
      next_report *= 2;
    }
  }
  std::printf("Done %lld runs in %.0f second(s)\n", execs, elapsed());
  if (f.print_final_stats)
    std::printf("stat::number_of_executed_units: %lld\nstat::average_exec_per_sec:     %.0f\n", execs,
                execs / std::max(elapsed(), 1e-9));
  return 0;
}

}  // namespace hakfuzz
