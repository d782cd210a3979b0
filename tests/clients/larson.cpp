// A larson-style server (mimalloc-bench's larson, Larson & Krishnan 1998):
// each worker owns a table of blocks and replaces random ones with blocks of
// random sizes; at the end of each round a worker hands its whole table to
// the next worker, a fresh thread, which frees what it inherited: blocks
// that outlive the thread that made them, freed by another.
// Plain C++ and libc: it runs on whatever malloc the process has. It
// prints to stderr (unbuffered), so stdio keeps no buffer allocated at exit.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    s += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

struct Slot {
  unsigned char* p = nullptr;
  std::size_t n = 0;
};

std::size_t pick_size(Rng& r) {
  // 3/4 small (glibc's), 1/4 mid-size (the pool's): 16 B .. 60 KiB.
  return r.next() % 4 ? 16 + r.next() % 1000 : 1024 + r.next() % (60 * 1024);
}

void fill(Slot& s) { std::memset(s.p, static_cast<int>(s.n & 0xFF), s.n); }
bool intact(const Slot& s) { return s.p[0] == (s.n & 0xFF) && s.p[s.n - 1] == (s.n & 0xFF); }

void worker(std::vector<Slot>* table, std::uint64_t seed, int steps, int* bad) {
  Rng r{seed};
  for (Slot& s : *table)  // the inherited table: check it, then churn it
    if (s.p && !intact(s)) ++*bad;
  for (int i = 0; i < steps; ++i) {
    Slot& s = (*table)[r.next() % table->size()];
    if (s.p) {
      if (!intact(s)) ++*bad;
      std::free(s.p);
    }
    s.n = pick_size(r);
    s.p = static_cast<unsigned char*>(std::malloc(s.n));
    fill(s);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 4;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 8;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 20000;
  std::vector<std::vector<Slot>> tables(threads, std::vector<Slot>(500));
  std::vector<int> bad(threads);
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back(worker, &tables[(t + round) % threads], 1000u * round + t, steps, &bad[t]);
    for (std::thread& t : pool) t.join();
  }
  int corrupt = 0;
  for (int b : bad) corrupt += b;
  for (auto& table : tables)
    for (Slot& s : table) std::free(s.p);
  std::fprintf(stderr, "larson: %d threads x %d rounds x %d steps, %d corrupted blocks\n", threads, rounds,
               steps, corrupt);
  return corrupt ? 1 : 0;
}
