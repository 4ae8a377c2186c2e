// Names the calling thread (at most 15 characters show), so `top -H`, perf and /proc tell an
// operator which of a process's threads is busy. Best effort: a failure changes nothing.
#pragma once
#include <pthread.h>

namespace hf {

inline void name_this_thread(const char* name) { (void)pthread_setname_np(pthread_self(), name); }

}  // namespace hf
