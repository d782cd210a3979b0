// SHA-1 of a byte string, as lowercase hex. Our own because none of our
// dependencies exposes one, and libFuzzer names artifacts and corpus units
// by SHA-1: the built-in engine must produce the same names.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace hakfuzz {
std::string sha1_hex(std::span<const std::uint8_t> data);
}
