// One line naming the build a result came from: compiler, build type,
// sanitizers, allocator flavours, oneTBB.
#pragma once
#include <string>

namespace hakfuzz::cli {
std::string build_info();
}
