// A program with the bugs `hakfuzz run` must report: a double free and a
// free of a pointer into the middle of a block. On the pool both are
// rejected (state untouched) and the program runs on; glibc would abort.
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main() {
  char* volatile a = static_cast<char*>(std::malloc(4096));
  char* volatile b = static_cast<char*>(std::malloc(20000));
  std::memset(a, 1, 4096);
  std::free(a);
  std::free(a);  // double free
  const std::size_t volatile interior = 100;
  std::free(b + interior);  // interior pointer
  std::free(b);
  std::fputs("bad_free: done\n", stderr);
  return 0;
}
