// Where a command writes what it found. A path that cannot be written is
// the user's error: a UsageError (exit 2) that names it, never an internal
// error. `named` is the path as the user gave it, with its option
// ("--reports DIR", "-artifact_prefix=DIR/"), for the message.
#pragma once
#include <filesystem>
#include <string>

namespace hakfuzz::cli {

// Creates `dir` and its parents now.
void create_output_dir(const std::filesystem::path& dir, const std::string& named);

// Proves now that `dir` can be created and written to later, and leaves
// nothing behind: a long run should not end in a finding whose reproducer
// cannot be written.
void probe_output_dir(const std::filesystem::path& dir, const std::string& named);

// Whether a file's writer creates its directory (record, stress, encode)
// or opens the file where it is, the directory a given (the reports of
// sweep, bench and ab).
enum class ParentDir : bool { must_exist, created_by_writer };

// The same for a file: its directory as `parent` says, and the file itself
// opened for appending (an existing file is left as it was, a new one is
// removed again).
void probe_output_file(const std::filesystem::path& file, const std::string& named, ParentDir parent);

// Writes `text` to `file` whole, or a UsageError naming it.
void write_output_file(const std::filesystem::path& file, const std::string& text, const std::string& named);

}  // namespace hakfuzz::cli
