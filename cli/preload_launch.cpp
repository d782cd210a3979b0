#include "cli/preload_launch.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/options.h"

extern char** environ;

namespace hakfuzz::cli {

namespace fs = std::filesystem;

std::vector<std::string> parse_program_command(const std::vector<std::string>& args,
                                               po::options_description& desc, po::variables_map& vm) {
  const auto dashes = std::ranges::find(args, std::string("--"));
  const std::vector<std::string> ours(args.begin(), dashes);
  desc.add_options()("shim", po::value<std::string>()->value_name("PATH"),
                     "the preload library (default: libhakmem_preload.so beside the hakfuzz binary)")(
      "help,h", "show this command's options");
  po::store(po::command_line_parser(ours).options(desc).run(), vm);
  if (dashes == args.end()) return {};
  return {dashes + 1, args.end()};
}

namespace {

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

fs::path shim_path(const po::variables_map& vm) {
  fs::path shim;
  if (vm.count("shim")) {
    shim = vm["shim"].as<std::string>();
  } else {
    std::error_code ec;
    shim = fs::read_symlink("/proc/self/exe", ec).parent_path() / "libhakmem_preload.so";
  }
  if (!fs::exists(shim))
    throw UsageError("the preload library " + shim.string() +
                     " is missing (it is not built in sanitizer, libFuzzer or coverage builds)");
  return shim;
}

std::vector<std::string> preload_env(const fs::path& shim, const hakmem::Config& cfg) {
  std::vector<std::string> env = {
      "LD_PRELOAD=" + fs::absolute(shim).string() +
      (std::getenv("LD_PRELOAD") ? std::string(":") + std::getenv("LD_PRELOAD") : std::string())};
  for (const auto& [name, value] : cfg.env_vars()) env.push_back(name + "=" + value);
  return env;
}

int spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
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
  if (exec_failed) throw UsageError("cannot run '" + argv[0] + "': " + std::strerror(err));
  return status;
}

}  // namespace

PreloadLaunch preload_launch(std::vector<std::string> program, const po::variables_map& vm,
                             const std::string& usage) {
  if (program.empty()) throw UsageError("no program given: " + usage);
  fs::path shim = shim_path(vm);
  return {std::move(program), std::move(shim), resolve_config(vm)};
}

fs::path scratch_dir(const std::string& what) {
  std::string templ = (fs::temp_directory_path() / ("hakfuzz-" + what + "-XXXXXX")).string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  return templ;
}

int spawn_preloaded(const std::string& command, const PreloadLaunch& launch,
                    const std::vector<std::string>& own_env, const std::string& note,
                    const fs::path& scratch) {
  std::vector<std::string> env = preload_env(launch.shim, launch.cfg);
  env.insert(env.end(), own_env.begin(), own_env.end());
  std::cerr << fmt::format("hakfuzz {}: {} on {}; {}{}\n", command, join_words(launch.program),
                           launch.shim.filename().string(), launch.cfg.describe(),
                           note.empty() ? "" : "; " + note);
  try {
    return spawn(launch.program, env);
  } catch (const UsageError&) {
    if (!scratch.empty()) fs::remove_all(scratch);
    throw;
  }
}

ProgramEnd program_end(int status) {
  if (WIFEXITED(status)) return {WEXITSTATUS(status), fmt::format("exit status {}", WEXITSTATUS(status))};
  return {128 + WTERMSIG(status), fmt::format("killed by SIG{}", sigabbrev_np(WTERMSIG(status)))};
}

}  // namespace hakfuzz::cli
