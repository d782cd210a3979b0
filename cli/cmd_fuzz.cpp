// `hakfuzz fuzz TARGET [--engine=E] [--] [libFuzzer flags] [corpus dirs]`.
//
// Our `--name` options (and `-h`) are parsed with Boost, short options off;
// every other word, and every word after a bare `--`, reaches the engine
// untouched, so Boost never interprets `-jobs=4` or `-help=1`.
//
// libFuzzer runs in a supervised child: it `_Exit`s with its own codes (77
// finding, 70 timeout, 71 OOM, 72 interrupt, 1 sanitizer report) and
// re-executes argv[0] for -fork/-jobs/-merge/-minimize_crash. The child gets
// the target in HAKFUZZ_FUZZ_TARGET and an argv with no subcommand word, so
// it and every process libFuzzer starts land straight in the engine (main()
// checks). The parent maps the exit code onto ours:
//   0 -> 0 clean;  72 (interrupted) -> 2;  anything else -> 1 (a finding,
//   whose reproducer libFuzzer wrote before exiting).
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <utility>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/output_paths.h"
#include "fuzz/engine.h"
#include "fuzz/pair_coverage.h"
#include "oracle/plants.h"
#include "support/sanitizer.h"

extern char** environ;

namespace hakfuzz::cli {

namespace {

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot find my own executable (/proc/self/exe)");
  return std::string(buf, static_cast<std::size_t>(n));
}

int map_libfuzzer_status(int status) {
  if (WIFSIGNALED(status)) {
    std::cerr << "hakfuzz fuzz: engine killed by signal " << WTERMSIG(status) << " -> exit 1\n";
    return kExitFinding;
  }
  int code = WEXITSTATUS(status);
  if (code == 0) return kExitClean;
  if (code == 72) {
    std::cerr << "hakfuzz fuzz: libFuzzer was interrupted (72) -> exit 2\n";
    return kExitUsage;
  }
  const char* why = code == 77   ? "finding (deadly signal / abort)"
                    : code == 70 ? "timeout"
                    : code == 71 ? "out of memory"
                                 : "finding or sanitizer report";
  std::cerr << "hakfuzz fuzz: libFuzzer exited " << code << ": " << why << " -> exit 1\n";
  return kExitFinding;
}

po::options_description fuzz_options() {
  po::options_description ours("fuzz options (libFuzzer's -flag=value words and corpus paths pass through)");
  ours.add_options()("help,h", "show this help")("list", "print the target names, one per line")(
      "markdown", "print the target table as Markdown (docs/fuzzing.md's)")(
      "engine", po::value<std::string>(),
      have_libfuzzer() ? "libfuzzer (default in this build) or builtin"
                       : "builtin (the only engine in this build)")("plant", po::value<std::string>(),
                                                                    plant_help().c_str())(
      "no-pair-coverage",
      "interleave: leave out the pairs of dependent steps a run took as coverage (they guide the search to "
      "new interleavings; without them, to compare)")(
      "dictionary", "print the target's dictionary (libFuzzer's format) and exit")(
      "no-dictionary",
      "leave out the target's own dictionary (env: the flag table's forms and near misses), which both "
      "engines "
      "get as -dict=FILE unless a -dict= is given");
  return ours;
}

void print_fuzz_help(const po::options_description& ours) {
  std::cout
      << "usage: hakfuzz fuzz TARGET [--engine=E] [--] [-flag=value ...] [CORPUS_DIR ...]\n\ntargets:\n";
  for (const Target& t : targets()) std::cout << "  " << t.name << ": " << t.doc << "\n";
  std::cout << "\n" << ours << "\nexit: 0 clean, 1 a finding (reproducer written first), 2 usage error\n";
}

// What `hakfuzz fuzz` was asked: our options, the target, and the engine's
// words in their order.
struct FuzzCommand {
  po::variables_map vm;
  std::string target;  // the first plain word before a bare `--`
  std::vector<std::string> engine_words;
};

// libFuzzer's flags are single-dash words (`-help=1`, `-jobs=4`), which
// Boost's short options would take apart, so those stay off and this
// parser claims our one short option, `-h`, alone.
std::pair<std::string, std::string> short_help(const std::string& word) {
  if (word == "-h") return {"help", ""};
  return {};
}

FuzzCommand parse_fuzz_command(const std::vector<std::string>& args, const po::options_description& ours) {
  // The words after a bare `--` go to the engine untouched. They are split
  // off here because Boost's own `--` handling would mix them with the plain
  // words before it, where the target is looked for.
  const auto separator = std::ranges::find(args, std::string("--"));
  namespace style = po::command_line_style;
  const po::parsed_options parsed =
      po::command_line_parser(std::vector<std::string>(args.begin(), separator))
          .options(ours)
          .style(style::allow_long | style::long_allow_adjacent | style::long_allow_next)
          .extra_parser(short_help)
          .allow_unregistered()
          .run();
  // With short options off, the only unregistered options are `--name`
  // words: ours misspelt, since libFuzzer has none.
  if (const auto unknown = po::collect_unrecognized(parsed.options, po::exclude_positional); !unknown.empty())
    throw po::unknown_option(unknown.front());
  FuzzCommand cmd;
  po::store(parsed, cmd.vm);
  for (std::string& word : po::collect_unrecognized(parsed.options, po::include_positional)) {
    if (cmd.target.empty() && !word.starts_with('-'))
      cmd.target = std::move(word);
    else
      cmd.engine_words.push_back(std::move(word));
  }
  if (separator != args.end()) cmd.engine_words.insert(cmd.engine_words.end(), separator + 1, args.end());
  return cmd;
}

// A finding must leave its reproducer on disk: libFuzzer does not create a
// missing artifact directory (it would only log the failed write).
void make_artifact_dirs(const std::vector<std::string>& engine_words) {
  for (const std::string& a : engine_words)
    for (const char* flag : {"-artifact_prefix=", "-exact_artifact_path="})
      if (a.rfind(flag, 0) == 0) {
        std::filesystem::path p = a.substr(std::strlen(flag));
        std::filesystem::path dir = a.back() == '/' && flag[1] == 'a' ? p : p.parent_path();
        if (dir.empty()) continue;
        create_output_dir(dir, a);
        probe_output_dir(dir, a);
      }
}

// The target's dictionary as a file for the engine's -dict= (libFuzzer
// re-reads it in every process it starts), removed when the engine is done.
class DictionaryFile {
 public:
  DictionaryFile(const Target& target, std::vector<std::string>& engine_words) {
    const bool given =
        std::ranges::any_of(engine_words, [](const std::string& w) { return w.starts_with("-dict="); });
    if (!target.dictionary || given) return;
    std::string path = (std::filesystem::temp_directory_path() / "hakfuzz-XXXXXX.dict").string();
    const int fd = mkstemps(path.data(), 5);
    if (fd < 0)
      throw std::runtime_error("cannot write the dictionary in " + path + ": " + std::strerror(errno));
    const std::string text = target.dictionary();
    const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    path_ = path;
    if (!written) throw std::runtime_error("cannot write the dictionary " + path);
    engine_words.insert(engine_words.begin(), "-dict=" + path);
  }
  ~DictionaryFile() {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  DictionaryFile(const DictionaryFile&) = delete;
  DictionaryFile& operator=(const DictionaryFile&) = delete;

 private:
  std::string path_;
};

// ASan's quarantine keeps 256 MiB of freed heap from reuse by default, so
// nearly every allocation of a fuzz input (the pool's own objects, the
// oracle's) lands on fresh pages: page faults were a quarter of an `ops`
// input. The engine's child keeps 16 MiB, the frees of the last few hundred
// inputs, unless ASAN_OPTIONS sets a quarantine. Pool blocks are not in it:
// the pool poisons its arena itself.
void default_asan_quarantine() {
  const char* set = std::getenv("ASAN_OPTIONS");
  std::string options = set ? set : "";
  if (options.find("quarantine_size_mb") != std::string::npos) return;
  options += std::string(options.empty() ? "" : ":") + "quarantine_size_mb=16";
  setenv("ASAN_OPTIONS", options.c_str(), 1);
}

int run_libfuzzer_child(const Target& target, const std::vector<std::string>& engine_words) {
  std::string exe = self_exe();
  std::vector<std::string> child_args = {exe};
  child_args.insert(child_args.end(), engine_words.begin(), engine_words.end());
  std::vector<char*> argv;
  for (std::string& s : child_args) argv.push_back(s.data());
  argv.push_back(nullptr);
  setenv(kTargetEnv, target.name, 1);
  if (support::kAsanBuild) default_asan_quarantine();
  pid_t pid;
  if (int err = posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ))
    throw std::runtime_error(std::string("cannot start the engine: ") + std::strerror(err));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  return map_libfuzzer_status(status);
}

}  // namespace

bool is_engine_child(int argc, char** argv) {
  if (!std::getenv(kTargetEnv)) return false;
  if (argc < 2) return true;
  for (const Command& c : commands())
    if (std::string(argv[1]) == c.name) return false;
  return true;
}

void run_engine_child(int argc, char** argv) {
  const char* name = std::getenv(kTargetEnv);
  const Target* target = find_target(name);
  if (!target) {
    std::cerr << "hakfuzz: " << kTargetEnv << "='" << name << "' is not a fuzz target\n";
    std::exit(kExitUsage);
  }
  run_libfuzzer_engine(*target, argc, argv);
}

int run_fuzz(const std::vector<std::string>& args) {
  const po::options_description ours = fuzz_options();
  const FuzzCommand cmd = parse_fuzz_command(args, ours);
  const po::variables_map& vm = cmd.vm;
  if (vm.count("help")) {
    print_fuzz_help(ours);
    return kExitClean;
  }
  if (vm.count("markdown")) {
    std::cout << targets_markdown();
    return kExitClean;
  }
  if (vm.count("list")) {
    for (const Target& t : targets()) std::cout << t.name << "\n";
    return kExitClean;
  }
  if (cmd.target.empty()) throw UsageError("name a target");
  const Target* target = find_target(cmd.target);
  if (!target) throw UsageError("unknown target '" + cmd.target + "'");
  if (vm.count("dictionary")) {
    if (!target->dictionary) throw UsageError(std::string("target '") + target->name + "' has no dictionary");
    std::cout << target->dictionary();
    return kExitClean;
  }
  std::string engine = vm.count("engine") ? vm["engine"].as<std::string>()
                       : have_libfuzzer() ? "libfuzzer"
                                          : "builtin";
  if (engine != "builtin" && engine != "libfuzzer") throw UsageError("--engine must be libfuzzer or builtin");
  if (vm.count("plant")) set_plant(vm["plant"].as<std::string>(), target->name);
  if (vm.count("no-pair-coverage")) setenv(kPairCoverageEnv, "0", 1);  // the engine's processes read it
  if (engine == "libfuzzer" && !have_libfuzzer())
    throw UsageError("this build has no libFuzzer; build the clang-asan preset or use --engine=builtin");

  make_artifact_dirs(cmd.engine_words);
  std::vector<std::string> engine_words = cmd.engine_words;
  std::optional<DictionaryFile> dictionary;
  if (!vm.count("no-dictionary")) dictionary.emplace(*target, engine_words);
  std::cout << "hakfuzz fuzz: target " << target->name << ", engine " << engine << "; " << build_info()
            << "\n"
            << std::flush;
  if (engine == "builtin") return run_builtin_engine(*target, engine_words);
  return run_libfuzzer_child(*target, engine_words);
}

}  // namespace hakfuzz::cli
