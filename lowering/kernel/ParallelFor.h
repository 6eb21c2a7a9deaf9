// A minimal parallel loop for host-side work (the reference, attnc bench):
// `threads` threads (the caller is one of them) take indices 0..n-1 in turn.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace attnc {

template <typename F>
void parallelFor(int threads, int64_t n, F &&fn) {
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto &t : pool) t.join();
}

}  // namespace attnc
