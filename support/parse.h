// A whole string as a number, or nothing: every character consumed, no sign
// on an unsigned type, no blanks, no overflow, a finite floating value.
// std::from_chars, because it reads no locale and never allocates (the
// preload shim parses its environment before the pool is up).
#pragma once

#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace support {

template <class T>
std::optional<T> parse_whole(std::string_view text, int base = 10) {
  if (text.empty()) return std::nullopt;
  if constexpr (std::is_unsigned_v<T>)
    if (text[0] == '-' || text[0] == '+') return std::nullopt;
  T value{};
  std::from_chars_result r;
  if constexpr (std::is_floating_point_v<T>)
    r = std::from_chars(text.data(), text.data() + text.size(), value);
  else
    r = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
  if constexpr (std::is_floating_point_v<T>)
    if (!std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace support
