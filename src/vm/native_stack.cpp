// Native stack bounds of the current thread, read once per thread with pthread_getattr_np.
#include "vm/native_stack.hpp"

#include <pthread.h>

#include <cstdint>

namespace fusevm {

namespace {

struct Bounds {
  uintptr_t low = 0;
  size_t size = 0;
};

const Bounds& bounds() {
  thread_local Bounds b = [] {
    Bounds r;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* addr = nullptr;
      size_t size = 0;
      if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        r.low = reinterpret_cast<uintptr_t>(addr);
        r.size = size;
      }
      pthread_attr_destroy(&attr);
    }
    return r;
  }();
  return b;
}

}  // namespace

bool native_stack_ok() {
  const Bounds& b = bounds();
  if (b.low == 0) return true;  // unknown bounds: rely on the depth limits alone
  char here;
  const uintptr_t sp = reinterpret_cast<uintptr_t>(&here);
  return sp > b.low && sp - b.low > kNativeStackReserve;
}

size_t native_stack_budget() {
  const Bounds& b = bounds();
  return b.size > kNativeStackReserve ? b.size - kNativeStackReserve : 0;
}

}  // namespace fusevm
