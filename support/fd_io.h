// Writing to a file descriptor without allocating: for a fork()ed child's
// pipe (bench/) and for a preloaded malloc's own reports (preload/), where
// stdio and iostreams may allocate.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace support {

// Writes all n bytes, retrying after signals; gives up silently on an error.
inline void write_all(int fd, const void* data, std::size_t n) {
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}

}  // namespace support
