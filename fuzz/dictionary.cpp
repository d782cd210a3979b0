#include "fuzz/dictionary.h"

#include <cctype>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "fuzz/targets.h"
#include "hakmem/types.h"

namespace hakfuzz {

namespace {

std::string hex_text(std::uint64_t v, bool upper_prefix, bool upper_digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, upper_digits ? "%02llX" : "%02llx", static_cast<unsigned long long>(v));
  return std::string(upper_prefix ? "0X" : "0x") + buf;
}

// A number's forms that a parser takes, or wrongly takes: both hex prefixes
// and cases, decimal, leading zeros (octal to strtoul), signs, blanks, a
// doubled prefix, and the values that wrap to it in 32 and 64 bits.
void number_forms(std::uint64_t v, std::vector<std::string>& out) {
  const std::string dec = std::to_string(v);
  for (bool upper_prefix : {false, true})
    for (bool upper_digits : {false, true}) out.push_back(hex_text(v, upper_prefix, upper_digits));
  for (const std::string& s : {dec, "0" + dec, "00" + dec, "+" + dec, "-" + dec, " " + dec, dec + " ",
                               "\t" + dec, "0x0x" + dec, dec + "x"})
    out.push_back(s);
  out.push_back(std::to_string((std::uint64_t{1} << 32) + v));
  out.push_back(hex_text((std::uint64_t{1} << 32) + v, false, true));
  if (v < 1000) out.push_back("1844674407370955" + std::to_string(1616 + v));  // 2^64 + v
}

// A word's forms: itself, every prefix, another case, a blank or sign around it.
void word_forms(const std::string& word, std::vector<std::string>& out) {
  for (std::size_t n = 1; n <= word.size(); ++n) out.push_back(word.substr(0, n));
  std::string upper = word;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (const std::string& s : {upper, " " + word, word + " ", "+" + word, word + word}) out.push_back(s);
}

void flag_forms(const hakmem::FlagSpec& spec, std::vector<std::string>& out) {
  if (spec.kind == hakmem::FlagKind::kMask) {
    for (std::uint64_t v : {std::uint64_t{spec.min}, std::uint64_t{spec.max}, std::uint64_t{spec.max} + 1})
      number_forms(v, out);
    return;
  }
  const std::string accepted = spec.accepted;
  for (std::size_t start = 0; start <= accepted.size();) {
    std::size_t bar = accepted.find('|', start);
    if (bar == std::string::npos) bar = accepted.size();
    word_forms(accepted.substr(start, bar - start), out);
    start = bar + 1;
  }
}

int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// One entry's bytes: `"..."` or `name="..."`, escapes \\ \" \xHH (libFuzzer's rules).
std::vector<std::uint8_t> parse_entry(const std::string& line, int lineno) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("dictionary line " + std::to_string(lineno) + ": " + why + ": " + line);
  };
  const std::size_t open = line.find('"');
  if (open == std::string::npos || line.size() < open + 2 || line.back() != '"')
    fail("expected \"value\" or name=\"value\"");
  std::vector<std::uint8_t> out;
  for (std::size_t i = open + 1; i + 1 < line.size(); ++i) {
    if (line[i] != '\\') {
      out.push_back(static_cast<std::uint8_t>(line[i]));
      continue;
    }
    if (i + 2 < line.size() && (line[i + 1] == '\\' || line[i + 1] == '"')) {
      out.push_back(static_cast<std::uint8_t>(line[++i]));
      continue;
    }
    if (i + 3 >= line.size() || line[i + 1] != 'x' || hex_digit(line[i + 2]) < 0 ||
        hex_digit(line[i + 3]) < 0)
      fail("bad escape (use \\\\, \\\" or \\xHH)");
    out.push_back(static_cast<std::uint8_t>(hex_digit(line[i + 2]) * 16 + hex_digit(line[i + 3])));
    i += 3;
  }
  return out;
}

}  // namespace

std::string escape_bytes(const std::string& bytes) {
  std::string out;
  for (unsigned char ch : bytes) {
    if (ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

std::vector<std::string> env_dictionary_tokens() {
  std::vector<std::string> values = {"", " ", "\t", "+", "-", "0x", "0X", "x", "0x0x"};
  for (const hakmem::FlagSpec& spec : hakmem::flag_table())
    if (!spec.build_switch) flag_forms(spec, values);
  // Each value alone (to splice into a field) and as a whole field.
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& token) {
    if (!token.empty() && seen.insert(token).second) out.push_back(token);
  };
  for (const std::string& v : values) add(v);
  for (const std::string& v : values)
    if (v.size() <= kEnvMaxValue) add(static_cast<char>(v.size()) + v);
  add(std::string(1, static_cast<char>(kEnvUnset)));
  return out;
}

std::string dictionary_text(const std::vector<std::string>& tokens, const std::string& header) {
  std::string out = header;
  for (const std::string& t : tokens) out += "\"" + escape_bytes(t) + "\"\n";
  return out;
}

std::vector<std::vector<std::uint8_t>> parse_dictionary(const std::string& text) {
  std::vector<std::vector<std::uint8_t>> out;
  int lineno = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++lineno;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::vector<std::uint8_t> entry = parse_entry(line.substr(first), lineno);
    if (!entry.empty()) out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace hakfuzz
