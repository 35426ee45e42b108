// One way to spread independent work items over threads: fn(i) for every i in [0, n), the
// calling thread working too, items handed out one at a time (they may differ in cost). The
// first exception thrown by any item is rethrown once every thread has stopped; the items not
// yet started are skipped.
#pragma once

#include <cstddef>
#include <functional>

namespace chickenseg {

// threads: at most this many (the caller included); 0 = std::thread::hardware_concurrency().
void parallel_for(size_t n, unsigned threads, const std::function<void(size_t)>& fn);

}  // namespace chickenseg
