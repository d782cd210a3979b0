#include "fuzz/targets.h"

#include <stdexcept>

#include "fuzz/dictionary.h"

namespace hakfuzz {

std::string program_to_text(Bytes in) { return to_text(decode(in)); }
std::string schedule_to_text(Bytes in) { return to_text(decode(in, true)); }

std::vector<std::uint8_t> program_from_text(const std::string& text) {
  Program p = parse_text(text);
  if (p.threads != 1)
    throw std::invalid_argument("trace: this target takes a single-thread program (no threads=)");
  return encode(p);
}
std::vector<std::uint8_t> schedule_from_text(const std::string& text) {
  Program p = parse_text(text);
  if (p.threads < 2)
    throw std::invalid_argument("trace: this target needs 'threads=2..8' on the config line");
  return encode(p);
}

std::string env_strings_dictionary() {
  return dictionary_text(env_dictionary_tokens(),
                         "# The env target's dictionary, generated from the flag table\n"
                         "# (allocator/include/hakmem/env_flags.def): hakfuzz fuzz env --dictionary\n");
}

namespace {
std::string (*dictionary_of(std::string_view input))() {
  return input == "env_strings" ? env_strings_dictionary : nullptr;
}
}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> table = {
#define HAKFUZZ_TARGET(name, input, doc) \
  {#name, #input, doc, run_##name##_target, input##_to_text, input##_from_text, dictionary_of(#input)},
#include "fuzz/targets.def"
#undef HAKFUZZ_TARGET
  };
  return table;
}

std::string targets_markdown() {
  std::string out = "| target | input | what it checks |\n|---|---|---|\n";
  for (const Target& t : targets())
    out += std::string("| `") + t.name + "` | " + t.input + " | " + t.doc + " |\n";
  return out;
}

const Target* find_target(std::string_view name) {
  for (const Target& t : targets())
    if (name == t.name) return &t;
  return nullptr;
}

}  // namespace hakfuzz
