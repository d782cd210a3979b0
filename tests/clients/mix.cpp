// Many threads, small and mid-size mixed (mimalloc-bench's mstress /
// cache-scratch spirit), with what real programs do around malloc: threads
// that never free (their blocks freed by main after they exit), detached
// thread exit with blocks live, fork() with a child that keeps allocating,
// and dlopen() of a library while threads run.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace {

std::mutex leftovers_mu;
std::vector<void*> leftovers;  // blocks of threads that never free

void churn(int id, int steps, bool frees) {
  std::vector<void*> mine(64, nullptr);
  std::uint64_t x = 0x2545F4914F6CDD1Dull * (id + 1);
  for (int i = 0; i < steps; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    void*& slot = mine[x % mine.size()];
    if (slot && frees) std::free(slot);
    if (slot && !frees) {
      std::lock_guard lock(leftovers_mu);
      leftovers.push_back(slot);
    }
    std::size_t n = x % 5 < 3 ? 8 + x % 256 : 1024 + x % (56 * 1024);
    slot = std::malloc(n);
    static_cast<char*>(slot)[0] = static_cast<char>(id);
    static_cast<char*>(slot)[n - 1] = static_cast<char>(id);
  }
  std::lock_guard lock(leftovers_mu);
  for (void* p : mine)
    if (p) leftovers.push_back(p);  // freed by main after this thread exits
}

int child_work() {
  std::vector<void*> v;
  for (int i = 0; i < 2000; ++i) v.push_back(std::malloc(1024 + (i * 37) % 50000));
  for (void* p : v) std::free(p);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 16;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 20000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(churn, t, steps, t % 4 != 3);
  void* lib = dlopen("libm.so.6", RTLD_NOW);
  if (!lib) return std::fprintf(stderr, "mix: dlopen: %s\n", dlerror()), 1;
  auto* cosine = reinterpret_cast<double (*)(double)>(dlsym(lib, "cos"));
  // fork() while the other threads allocate: the child allocates and frees.
  pid_t pid = fork();
  if (pid == 0) std::exit(child_work());
  int status = 0;
  waitpid(pid, &status, 0);
  for (std::thread& t : pool) t.join();
  std::atomic<bool> done{false};
  std::thread([&] {  // a detached thread that exits with nothing freed
    void* p = std::malloc(8192);
    std::lock_guard lock(leftovers_mu);
    leftovers.push_back(p);
    done = true;
  })
      .detach();
  while (!done) std::this_thread::yield();
  usleep(10000);  // let the detached thread finish exiting
  for (void* p : leftovers) std::free(p);
  dlclose(lib);
  std::fprintf(stderr, "mix: %d threads x %d steps, fork child %s, cos(0)=%g\n", threads, steps,
               WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "FAILED", cosine(0.0));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
