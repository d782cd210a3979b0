// `hakfuzz run [options] -- PROGRAM ARGS...`: an unmodified program on the
// pool through libhakmem_preload.so (found beside this binary), with the
// checks a foreign process allows. Each process the program starts that
// loads the shim leaves a report (preload/report.h) in a scratch directory;
// after the program ends they are read back and judged here: rejected frees
// (with their backtraces), the invariant walk at exit (and on --walk-signal),
// and, at exit, the nothing-kept rules of fuzz/model.h: no page kept against
// the reuse contract, and an empty pool when the program freed everything.
// Exit status: the program's own, 1 when a check fails, 2 for a usage error
// or a program that cannot be started.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "fuzz/model.h"
#include "preload/report.h"

extern char** environ;

namespace hakfuzz::cli {

namespace fs = std::filesystem;
using hakmem::preload::ProcessReport;

namespace {

po::options_description run_desc() {
  po::options_description d("run options");
  add_env_option(d);
  d.add_options()("walk-signal", po::value<std::string>()->value_name("SIGNAL"),
                  "also run the invariant walk when the program receives SIGNAL (a name such as USR2, or a "
                  "number); it runs at the next pool call, when the process has one thread")(
      "reports", po::value<std::string>()->value_name("DIR"),
      "keep the per-process reports in DIR (default: a scratch directory, removed afterwards)")(
      "shim", po::value<std::string>()->value_name("PATH"),
      "the preload library (default: libhakmem_preload.so beside the hakfuzz binary)");
  return d;
}

int parse_signal(const std::string& word) {
  std::string name = word;
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int s = 1; s < NSIG; ++s)
    if (const char* abbrev = sigabbrev_np(s); abbrev && name == abbrev) return s;
  try {
    std::size_t used = 0;
    int s = std::stoi(word, &used);
    if (used == word.size() && s > 0 && s < NSIG) return s;
  } catch (const std::exception&) {
  }
  throw UsageError("--walk-signal '" + word + "': expected a signal name (USR2, SIGUSR2) or number 1.." +
                   std::to_string(NSIG - 1));
}

fs::path default_shim() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return self.parent_path() / "libhakmem_preload.so";
}

// Starts PROGRAM with the shim preloaded; its wait status, or -1 with `error`
// set when it could not be started at all.
int spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
          std::string& error) {
  std::vector<std::string> env_words;
  for (char** e = environ; *e; ++e) {
    std::string w = *e;
    bool replaced = false;
    for (const std::string& x : extra_env)
      replaced |= w.substr(0, w.find('=') + 1) == x.substr(0, x.find('=') + 1);
    if (!replaced) env_words.push_back(w);
  }
  env_words.insert(env_words.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp, args;
  for (std::string& w : env_words) envp.push_back(w.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    ::close(pipefd[0]);
    ::execvpe(args[0], args.data(), envp.data());
    const int err = errno;
    (void)!::write(pipefd[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(pipefd[1]);
  int err = 0;
  const bool exec_failed = ::read(pipefd[0], &err, sizeof err) == static_cast<ssize_t>(sizeof err);
  ::close(pipefd[0]);
  // The program owns the terminal's Ctrl-C; we wait for it to end.
  struct sigaction ignore = {}, old_int = {}, old_quit = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGQUIT, &old_quit, nullptr);
  if (exec_failed) {
    error = "cannot run '" + argv[0] + "': " + std::strerror(err);
    return -1;
  }
  return status;
}

// What one process's report says; the failures it counts.
int judge(const ProcessReport& r, std::ostream& out) {
  int failures = 0;
  const std::string who =
      fmt::format("pid {}{} ({})", r.pid, r.forked ? ", forked" : "", fs::path(r.exe).filename().string());
  for (const hakmem::preload::Rejection& j : r.rejections) {
    ++failures;
    out << fmt::format("hakfuzz run: {}: rejected free of {}: {} (class {})\n", who, j.ptr, j.reason, j.cls);
    for (const std::string& f : j.frames) out << "    " << f << "\n";
  }
  std::vector<std::string> notes;
  for (const hakmem::preload::WalkRecord& w : r.walks) {
    if (w.skipped) {
      notes.push_back(fmt::format("walk at {} skipped ({} threads running)", w.when, w.threads));
      continue;
    }
    if (!w.ok) {
      ++failures;
      notes.push_back(fmt::format("walk at {} FAILED: {}", w.when, w.error));
    } else {
      notes.push_back(
          fmt::format("walk at {} clean ({} live blocks, {} bytes)", w.when, w.live_blocks, w.live_bytes));
    }
    if (w.when != "exit" || !r.census) continue;
    if (std::optional<std::string> why = model::check_retention(*r.census)) {
      ++failures;
      notes.push_back("KEPT: " + *why);
    } else if (w.live_blocks == w.startup_live && w.startup_live == w.startup_large) {
      // Everything the program allocated is freed; what stays is start-up's
      // (large blocks only, so the class pages must be exactly empty).
      hakmem::Census c = *r.census;
      c.large_blocks -= w.startup_large;
      if (std::optional<std::string> why = model::check_empty(c)) {
        ++failures;
        notes.push_back("NOT EMPTY: " + *why);
      } else {
        notes.push_back(
            w.startup_live
                ? fmt::format("everything freed but {} start-up block(s), the pool is empty", w.startup_live)
                : std::string("everything freed, the pool is empty"));
      }
    } else {
      notes.push_back(fmt::format("nothing kept ({} blocks still live, so no empty-pool check)",
                                  w.live_blocks - w.startup_live));
    }
  }
  if (!r.exited) notes.push_back("no exit report (ended by _exit, exec or a signal)");
  std::string line =
      fmt::format("hakfuzz run: {}: {} pool allocs, {} pool frees, {} foreign frees, {} rejected", who,
                  r.pool_allocs, r.pool_frees, r.foreign_frees, r.rejections.size());
  for (const std::string& n : notes) line += "; " + n;
  out << line << "\n";
  return failures;
}

}  // namespace

int run_run(const std::vector<std::string>& args) {
  const auto dashes = std::ranges::find(args, std::string("--"));
  const std::vector<std::string> ours(args.begin(), dashes);
  po::options_description desc = run_desc();
  desc.add_options()("help,h", "show this command's options");
  po::variables_map vm;
  po::store(po::command_line_parser(ours).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout
        << "usage: hakfuzz run [options] -- PROGRAM [ARGS...]\n\n"
           "run an unmodified program on the pool (LD_PRELOAD of libhakmem_preload.so) and check it: "
           "rejected frees with backtraces, the invariant walk at exit, nothing kept, an empty pool when "
           "everything was freed\n\n"
        << desc;
    return kExitClean;
  }
  po::notify(vm);
  if (dashes == args.end() || dashes + 1 == args.end())
    throw UsageError("no program given: hakfuzz run [options] -- PROGRAM [ARGS...]");
  const std::vector<std::string> program(dashes + 1, args.end());

  const fs::path shim = vm.count("shim") ? fs::path(vm["shim"].as<std::string>()) : default_shim();
  if (!fs::exists(shim))
    throw UsageError("the preload library " + shim.string() +
                     " is missing (it is not built in sanitizer, libFuzzer or coverage builds)");
  const std::vector<std::pair<std::string, std::string>> env = resolve_env(vm);
  const hakmem::Config cfg = hakmem::parse_config(hakmem::map_env(env));  // a bad value: exit 2, here

  const bool keep = vm.count("reports") > 0;
  fs::path dir;
  if (keep) {
    dir = vm["reports"].as<std::string>();
    fs::create_directories(dir);
    for (const fs::directory_entry& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".report") fs::remove(e.path());
  } else {
    std::string templ = (fs::temp_directory_path() / "hakfuzz-run-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
    dir = templ;
  }

  std::vector<std::string> extra = {
      "LD_PRELOAD=" + fs::absolute(shim).string() +
          (std::getenv("LD_PRELOAD") ? std::string(":") + std::getenv("LD_PRELOAD") : std::string()),
      std::string(hakmem::preload::kReportDirEnv) + "=" + fs::absolute(dir).string()};
  for (const auto& [name, value] : cfg.env_vars()) extra.push_back(name + "=" + value);
  if (vm.count("walk-signal"))
    extra.push_back(std::string(hakmem::preload::kWalkSignalEnv) + "=" +
                    std::to_string(parse_signal(vm["walk-signal"].as<std::string>())));

  std::string command;
  for (const std::string& w : program) command += (command.empty() ? "" : " ") + w;
  std::cerr << fmt::format("hakfuzz run: {} on {}; {}\n", command, shim.filename().string(), cfg.describe());
  std::string error;
  const int status = spawn(program, extra, error);
  if (status < 0) {
    if (!keep) fs::remove_all(dir);
    throw UsageError(error);
  }

  std::vector<ProcessReport> reports;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".report") continue;
    std::ifstream in(e.path());
    reports.push_back(hakmem::preload::parse_report(in));
    reports.back().file = e.path().string();
  }
  std::ranges::sort(reports, {}, &ProcessReport::pid);
  int failures = 0;
  for (const ProcessReport& r : reports) failures += judge(r, std::cerr);
  if (!keep) fs::remove_all(dir);

  int code;
  std::string how;
  if (WIFEXITED(status)) {
    code = WEXITSTATUS(status);
    how = fmt::format("exit status {}", code);
  } else {
    code = 128 + WTERMSIG(status);
    how = fmt::format("killed by SIG{}", sigabbrev_np(WTERMSIG(status)));
  }
  if (reports.empty()) {
    std::cerr << "hakfuzz run: no process loaded the shim (a static or setuid program?)\n";
    ++failures;
  }
  std::cerr << fmt::format(
      "hakfuzz run: {} process(es) on the pool, program {}; {}\n", reports.size(), how,
      failures ? fmt::format("{} check(s) FAILED", failures) : std::string("checks clean"));
  return failures ? kExitFinding : code;
}

}  // namespace hakfuzz::cli
