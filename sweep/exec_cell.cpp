#include "sweep/exec_cell.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "sweep/report_json.h"

extern char** environ;

namespace hakfuzz::sweep {

namespace {

CellResult harness_error(const Cell& cell, std::string why) {
  CellResult r;
  r.cell = cell;
  r.raise(CellStatus::harness_error, std::move(why));
  return r;
}

// This process's environment with the cell's flags set (replacing any the
// caller had exported, so the parent's shell never leaks into a cell).
std::vector<std::string> child_environment(const EnvVars& cell_env) {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    bool overridden = false;
    for (const auto& [name, value] : cell_env)
      overridden |= kv.starts_with(name) && kv.size() > name.size() && kv[name.size()] == '=';
    if (!overridden) out.emplace_back(kv);
  }
  for (const auto& [name, value] : cell_env) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

CellResult run_cell_in_child(const Matrix& m, const Cell& cell, const CellOptions& opts,
                             const std::string& self_exe) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> args = {self_exe,       "sweep",
                                   "--exec-child", std::to_string(cell.index),
                                   "--seed",       std::to_string(opts.seed),
                                   "--ops",        std::to_string(opts.ops),
                                   "--threads",    std::to_string(opts.threads)};
  std::vector<std::string> env = child_environment(m.env(cell));
  std::vector<char*> argv = pointers(args), envp = pointers(env);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return harness_error(cell, fmt::format("pipe: {}", std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // dup2 clears CLOEXEC on the copy
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, self_exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return harness_error(cell, fmt::format("posix_spawn {}: {}", self_exe, std::strerror(rc)));
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(wstatus))
    return harness_error(
        cell, fmt::format("child killed by signal {} ({})", WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus))));
  if (WEXITSTATUS(wstatus) != 0)
    return harness_error(cell, fmt::format("child exited {}: {}", WEXITSTATUS(wstatus), out.substr(0, 300)));

  try {
    CellResult r = cell_from_json(m, nlohmann::json::parse(out));
    if (r.cell.index != cell.index) return harness_error(cell, "child ran another cell");
    // Wall time includes the spawn: that is what --exec costs.
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  } catch (const std::exception& e) {
    return harness_error(cell, fmt::format("unreadable child result ({}): {}", e.what(), out.substr(0, 300)));
  }
}

}  // namespace hakfuzz::sweep
