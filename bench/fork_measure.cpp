#include "bench/fork_measure.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "support/fd_io.h"

namespace hakfuzz::bench {

namespace {

// What the child sends back through the pipe: plain bytes, no allocation.
struct Wire {
  std::uint8_t status;
  Throughput run;
  char note[256];
};

bool read_all(int fd, void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t k = ::read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

[[noreturn]] void child(int fd, const AllocatorSpec& spec, Workload w, std::uint64_t steps,
                        std::uint64_t seed) {
  Wire out{};
  std::string why;
  auto a = open_allocator(spec, why);
  if (!a) {
    out.status = static_cast<std::uint8_t>(Measurement::Status::unavailable);
    std::strncpy(out.note, why.c_str(), sizeof out.note - 1);
  } else {
    out.run = measure(w, a->api(), steps, seed);
    out.status = static_cast<std::uint8_t>(Measurement::Status::ok);
  }
  support::write_all(fd, &out, sizeof out);
  // _exit: no allocator teardown, no atexit handlers of the parent's state.
  ::_exit(0);
}

}  // namespace

Measurement measure_in_child(const AllocatorSpec& spec, Workload w, std::uint64_t steps, std::uint64_t seed) {
  Measurement m;
  int fds[2];
  if (::pipe(fds) != 0) {
    m.note = std::string("pipe: ") + std::strerror(errno);
    return m;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    m.note = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return m;
  }
  if (pid == 0) {
    ::close(fds[0]);
    child(fds[1], spec, w, steps, seed);
  }
  ::close(fds[1]);
  Wire in{};
  bool got = read_all(fds[0], &in, sizeof in);
  ::close(fds[0]);
  int status = 0;
  struct rusage ru {};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  m.peak_rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    m.note = WIFSIGNALED(status) ? std::string("child killed by signal ") + strsignal(WTERMSIG(status))
                                 : "child exited without a result";
    return m;
  }
  m.status = static_cast<Measurement::Status>(in.status);
  m.run = in.run;
  m.note = in.note;
  return m;
}

}  // namespace hakfuzz::bench
