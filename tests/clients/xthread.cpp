// Cross-thread producer/consumer (mimalloc-bench's xmalloc-test shape):
// producers allocate mid-size and small blocks, write a pattern, and push
// them through a mutex-guarded queue; consumers check and free them. Every
// mid-size free is a remote free on the pool. One producer also uses
// calloc, realloc and posix_memalign, and C++ new/delete travel the same way.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Item {
  unsigned char* p;
  std::size_t n;
  std::unique_ptr<std::string> text;  // operator new / delete, across threads
};

std::mutex mu;
std::condition_variable cv;
std::deque<Item> queue;
int producers_left;

void produce(int id, int count) {
  std::uint64_t x = 88172645463325252ull + id;
  for (int i = 0; i < count; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::size_t n = x % 3 ? 2048 + x % (50 * 1024) : 8 + x % 512;
    unsigned char* p;
    switch (i % 4) {
      case 0:
        p = static_cast<unsigned char*>(std::calloc(1, n));
        break;
      case 1: {
        void* q = nullptr;
        if (posix_memalign(&q, 64, n) != 0) std::abort();
        p = static_cast<unsigned char*>(q);
        break;
      }
      case 2:
        p = static_cast<unsigned char*>(std::realloc(std::malloc(n / 2 + 1), n));
        break;
      default:
        p = static_cast<unsigned char*>(std::malloc(n));
    }
    std::memset(p, id + 1, n);
    Item item{p, n, std::make_unique<std::string>(std::string(3000 + i % 100, 'x'))};
    std::lock_guard lock(mu);
    queue.push_back(std::move(item));
    cv.notify_one();
  }
  std::lock_guard lock(mu);
  --producers_left;
  cv.notify_all();
}

void consume(long* bad, long* seen) {
  for (;;) {
    std::unique_lock lock(mu);
    cv.wait(lock, [] { return !queue.empty() || producers_left == 0; });
    if (queue.empty()) return;
    Item item = std::move(queue.front());
    queue.pop_front();
    lock.unlock();
    unsigned char v = item.p[0];
    if (v == 0 || item.p[item.n - 1] != v || item.text->size() < 3000) ++*bad;
    std::free(item.p);
    ++*seen;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int pairs = argc > 1 ? std::atoi(argv[1]) : 2;
  const int count = argc > 2 ? std::atoi(argv[2]) : 50000;
  producers_left = pairs;
  std::vector<long> bad(pairs), seen(pairs);
  std::vector<std::thread> threads;
  for (int i = 0; i < pairs; ++i) threads.emplace_back(produce, i, count);
  for (int i = 0; i < pairs; ++i) threads.emplace_back(consume, &bad[i], &seen[i]);
  for (std::thread& t : threads) t.join();
  long total_bad = 0, total = 0;
  for (int i = 0; i < pairs; ++i) total_bad += bad[i], total += seen[i];
  std::fprintf(stderr, "xthread: %d producers, %d consumers, %ld blocks handed over, %ld corrupted\n", pairs,
               pairs, total, total_bad);
  return total_bad || total != static_cast<long>(pairs) * count ? 1 : 0;
}
