#include "cli/output_paths.h"

#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <system_error>
#include <vector>

#include "cli/commands.h"

namespace hakfuzz::cli {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void cannot(const std::string& named, const std::string& doing, const std::error_code& ec) {
  throw UsageError(fmt::format("{}: {}: {}", named, doing, ec.message()));
}

// The directories of `dir` that do not exist yet, outermost first.
std::vector<fs::path> missing_dirs(const fs::path& dir) {
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path p = fs::absolute(dir); p.has_relative_path() && !fs::exists(p, ec) && !ec;
       p = p.parent_path())
    missing.insert(missing.begin(), p);
  return missing;
}

// Runs `probe` with `dir` created, then removes what was created for it.
// A test of write access that asks the file system itself: access() grants
// everything to root, and /proc refuses a mkdir that its modes allow.
template <class Probe>
void with_dir(const fs::path& dir, const std::string& named, Probe&& probe) {
  const std::vector<fs::path> missing = missing_dirs(dir);
  std::vector<fs::path> created;
  std::error_code ec;
  for (const fs::path& p : missing) {
    if (!fs::create_directory(p, ec)) break;
    created.push_back(p);
  }
  const bool dir_made = created.size() == missing.size();
  if (dir_made) ec = probe();
  std::error_code ignored;
  for (auto it = created.rbegin(); it != created.rend(); ++it) fs::remove(*it, ignored);
  if (!ec) return;
  if (!dir_made) cannot(named, fmt::format("cannot create the directory '{}'", dir.string()), ec);
  cannot(named, "cannot write", ec);
}

std::error_code errno_code() { return {errno, std::generic_category()}; }

}  // namespace

void create_output_dir(const fs::path& dir, const std::string& named) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) cannot(named, fmt::format("cannot create the directory '{}'", dir.string()), ec);
}

void probe_output_dir(const fs::path& dir, const std::string& named) {
  with_dir(dir, named, [&] {
    std::string probe = (fs::absolute(dir) / ".hakfuzz-probe-XXXXXX").string();
    const int fd = ::mkstemp(probe.data());
    if (fd < 0) return errno_code();
    ::close(fd);
    ::unlink(probe.c_str());
    return std::error_code();
  });
}

void probe_output_file(const fs::path& file, const std::string& named, ParentDir parent) {
  const auto open_for_append = [&] {
    std::error_code ec;
    const bool existed = fs::exists(file, ec);
    if (!std::ofstream(file, std::ios::app)) return errno_code();
    if (!existed) fs::remove(file, ec);
    return std::error_code();
  };
  if (parent == ParentDir::must_exist) {
    if (const std::error_code ec = open_for_append()) cannot(named, "cannot write", ec);
    return;
  }
  with_dir(file.has_parent_path() ? file.parent_path() : fs::path("."), named, open_for_append);
}

void write_output_file(const fs::path& file, const std::string& text, const std::string& named) {
  std::ofstream out(file);
  out << text;
  if (!out.flush()) cannot(named, "cannot write", errno_code());
}

}  // namespace hakfuzz::cli
