#include "fuzz/inputs.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace hakfuzz {

namespace fs = std::filesystem;

namespace {

// Inputs are named as libFuzzer names them (a sha1, crash-<sha1>, or a
// plain word): no extension. That skips the readable *.txt traces, READMEs,
// dotfiles and scripts that live beside them.
bool is_fuzz_input(const fs::directory_entry& e) {
  if (!e.is_regular_file() || e.path().has_extension() || e.path().filename().string()[0] == '.')
    return false;
  return (e.status().permissions() & fs::perms::owner_exec) == fs::perms::none;
}

std::string target_names() {
  std::string all;
  for (const Target& t : targets()) all += (all.empty() ? "" : ", ") + std::string(t.name);
  return all;
}

}  // namespace

const Target& resolve_target(const std::optional<std::string>& flag, const fs::path& input) {
  if (flag) {
    if (const Target* t = find_target(*flag)) return *t;
    throw UserError("unknown target '" + *flag + "' (targets: " + target_names() + ")");
  }
  fs::path abs = fs::absolute(input);
  for (fs::path p = abs.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
    if (const Target* t = find_target(p.filename().string())) return *t;
  throw UserError("cannot tell the target of '" + input.string() + "' from its path; pass --target (" +
                  target_names() + ")");
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
      throw UserError("no such file or directory: '" + p + "'");
    }
  }
  if (out.empty()) throw UserError("no input files found");
  return out;
}

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw UserError("cannot read '" + p.string() + "'");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw UserError("cannot read '" + p.string() + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace hakfuzz
