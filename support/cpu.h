// A spin-wait's pause: tells the core (and a hypervisor watching for
// spinning vCPUs) that the loop only waits.
#pragma once

namespace support {
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
}  // namespace support
