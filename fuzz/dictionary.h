// Fuzzing dictionaries: the tokens a target's inputs are made of, in
// libFuzzer's dictionary format (one "quoted" entry per line, \xHH escapes,
// # comments), which the built-in engine reads as well. libFuzzer's byte
// mutations rarely build a malformed form two bytes from a valid one (a sign
// before a number, a doubled prefix), so the env target gets its tokens from
// the flag table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hakfuzz {

// The env target's tokens: for every environment flag of the table its
// documented forms and their near misses (every accepted word and its
// prefixes; the bounds in hex and decimal and one past them; signs, blanks,
// 0x/0X, leading zeros, digits past 2^32 and 2^64), each also as a whole
// field of the input (its length byte first), and the byte for "unset".
std::vector<std::string> env_dictionary_tokens();

// `bytes` with a quote, a backslash and every byte a terminal would not
// show as \xHH: the dictionary's entries and the env trace's values.
std::string escape_bytes(const std::string& bytes);

// The tokens as a dictionary file (what `hakfuzz fuzz env --dictionary`
// prints and fuzz/env.dict holds).
std::string dictionary_text(const std::vector<std::string>& tokens, const std::string& header);

// A dictionary file's entries. Throws std::invalid_argument naming the line
// of a malformed entry.
std::vector<std::vector<std::uint8_t>> parse_dictionary(const std::string& text);

}  // namespace hakfuzz
