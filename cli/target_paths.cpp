#include "cli/target_paths.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "fuzz/sha1.h"
#include "oracle/plants.h"

namespace hakfuzz::cli {

namespace fs = std::filesystem;

const Target& resolve_target(const std::optional<std::string>& flag, const fs::path& input) {
  auto names = [] {
    std::string all;
    for (const Target& t : targets()) all += (all.empty() ? "" : ", ") + std::string(t.name);
    return all;
  };
  if (flag) {
    if (const Target* t = find_target(*flag)) return *t;
    throw UsageError("unknown target '" + *flag + "' (targets: " + names() + ")");
  }
  fs::path abs = fs::absolute(input);
  for (fs::path p = abs.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
    if (const Target* t = find_target(p.filename().string())) return *t;
  throw UsageError("cannot tell the target of '" + input.string() + "' from its path; pass --target (" +
                   names() + ")");
}

// Inputs are named as libFuzzer names them (a sha1, crash-<sha1>, or a
// plain word): no extension. That skips the readable *.txt traces, READMEs,
// dotfiles and scripts that live beside them.
static bool is_fuzz_input(const fs::directory_entry& e) {
  if (!e.is_regular_file() || e.path().has_extension() || e.path().filename().string()[0] == '.')
    return false;
  return (e.status().permissions() & fs::perms::owner_exec) == fs::perms::none;
}

std::vector<fs::path> collect_inputs(const std::vector<std::string>& paths) {
  std::vector<fs::path> out;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (is_fuzz_input(e)) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      out.insert(out.end(), files.begin(), files.end());
    } else if (fs::is_regular_file(p, ec)) {
      out.emplace_back(p);
    } else {
      throw UsageError("no such file or directory: '" + p + "'");
    }
  }
  if (out.empty()) throw UsageError("no input files found");
  return out;
}

void set_plant(const std::string& name, std::string_view checker) {
  try {
    activate_plant(name, checker);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

std::string write_interleave_finding(const std::string& dir, const Minimized& m) {
  const std::vector<std::uint8_t> bytes = encode_interleave({m.program, m.schedule});
  const std::filesystem::path under = std::filesystem::path(dir) / "interleave";
  std::filesystem::create_directories(under);
  const std::string path = (under / sha1_hex(bytes)).string();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  std::ofstream(path + ".txt") << find_target("interleave")->to_text(bytes);
  return path;
}

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw UsageError("cannot read '" + p.string() + "'");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw UsageError("cannot read '" + p.string() + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace hakfuzz::cli
