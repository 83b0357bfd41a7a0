// Native C++ baselines for the bench/*.fasm programs and the reference's trace benchmarks.
//
// Every loop bound and argument goes through benchmark::DoNotOptimize, so the compiler cannot
// constant-fold a whole benchmark into its answer. Where a loop would still collapse (a sum has a
// closed form, an empty counter loop is just `i = n`), the `_scalar` variants also pass the loop
// variable through DoNotOptimize each iteration: that keeps one add and one compare per
// iteration, the work an interpreter does, at the cost of a register barrier.
//
// The block tier's "Must reach" loops (bench/jit_bench.cpp) pair with: sum_1m / sum_1m_scalar,
// nested_100x100 / nested_100x100_scalar, counter_loop/100000 (scalar only: with opaque bounds
// alone the loop is just `i = n`) and branch_loop_100k / branch_loop_100k_scalar.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

namespace {

// -- sum 1..1,000,000 (sum_unfused.fasm / sum_fused.fasm) --------------------------

// Bounds opaque only: the compiler may vectorize or use a closed form (clang does).
void sum_1m(benchmark::State& state) {
  for (auto _ : state) {
    int64_t limit = 1'000'001;
    benchmark::DoNotOptimize(limit);
    int64_t sum = 0;
    for (int64_t i = 1; i < limit; ++i) sum += i;
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(sum_1m)->Unit(benchmark::kMicrosecond);

// One scalar add per iteration, as the interpreter's loop does.
void sum_1m_scalar(benchmark::State& state) {
  for (auto _ : state) {
    int64_t limit = 1'000'001;
    benchmark::DoNotOptimize(limit);
    int64_t sum = 0;
    for (int64_t i = 1; i < limit; ++i) {
      sum += i;
      benchmark::DoNotOptimize(sum);
    }
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(sum_1m_scalar)->Unit(benchmark::kMicrosecond);

// -- nested 100 x 100 adding i + j (nested_loop.fasm) ------------------------------

void nested_100x100(benchmark::State& state) {
  for (auto _ : state) {
    int64_t outer = 100;
    int64_t inner = 100;
    benchmark::DoNotOptimize(outer);
    benchmark::DoNotOptimize(inner);
    int64_t sum = 0;
    for (int64_t i = 0; i < outer; ++i) {
      for (int64_t j = 0; j < inner; ++j) sum += i + j;
    }
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(nested_100x100)->Unit(benchmark::kMicrosecond);

void nested_100x100_scalar(benchmark::State& state) {
  for (auto _ : state) {
    int64_t outer = 100;
    int64_t inner = 100;
    benchmark::DoNotOptimize(outer);
    benchmark::DoNotOptimize(inner);
    int64_t sum = 0;
    for (int64_t i = 0; i < outer; ++i) {
      for (int64_t j = 0; j < inner; ++j) {
        sum += i + j;
        benchmark::DoNotOptimize(sum);
      }
    }
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(nested_100x100_scalar)->Unit(benchmark::kMicrosecond);

// -- counter loop and loop with branch (spec/jit.md §7.6 benches/jit_trace.rs) -------

// `i = 0; do { ++i } while (i < n)`: without the per-iteration barrier this is just `i = n`.
void counter_loop(benchmark::State& state) {
  for (auto _ : state) {
    int64_t limit = state.range(0);
    benchmark::DoNotOptimize(limit);
    int64_t i = 0;
    do {
      ++i;
      benchmark::DoNotOptimize(i);
    } while (i < limit);
  }
}
BENCHMARK(counter_loop)->Arg(1000)->Arg(10000)->Arg(100000);

// The counter plus an always-true `if (i > 0) { nop }`; the empty asm keeps the branch's body.
void loop_with_branch(benchmark::State& state) {
  for (auto _ : state) {
    int64_t limit = state.range(0);
    benchmark::DoNotOptimize(limit);
    int64_t i = 0;
    do {
      ++i;
      benchmark::DoNotOptimize(i);
      if (i > 0) benchmark::ClobberMemory();
    } while (i < limit);
  }
}
BENCHMARK(loop_with_branch)->Arg(1000)->Arg(10000)->Arg(100000);

// -- loop with a data-dependent branch, 100,000 iterations (branch_loop.fasm) -------

// `if (i % 2 == 0) a += i; else b += 1;` with opaque bounds only: the compiler may unroll by
// two (dropping the branch) or vectorize.
void branch_loop_100k(benchmark::State& state) {
  for (auto _ : state) {
    int64_t limit = 100'000;
    benchmark::DoNotOptimize(limit);
    int64_t a = 0;
    int64_t b = 0;
    for (int64_t i = 0; i < limit; ++i) {
      if (i % 2 == 0) {
        a += i;
      } else {
        b += 1;
      }
    }
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(branch_loop_100k)->Unit(benchmark::kMicrosecond);

// The counter is opaque every iteration, so the parity test stays a per-iteration test (a
// branch or a conditional move) and the loop runs one iteration at a time.
void branch_loop_100k_scalar(benchmark::State& state) {
  for (auto _ : state) {
    int64_t limit = 100'000;
    benchmark::DoNotOptimize(limit);
    int64_t a = 0;
    int64_t b = 0;
    for (int64_t i = 0; i < limit; ++i) {
      benchmark::DoNotOptimize(i);
      if (i % 2 == 0) {
        a += i;
      } else {
        b += 1;
      }
    }
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(branch_loop_100k_scalar)->Unit(benchmark::kMicrosecond);

// -- fib and ackermann (fib_iterative.fasm, fib_recursive.fasm, ackermann.fasm) -----

[[gnu::noinline]] int64_t fib_iter(int64_t n) {
  int64_t a = 0;
  int64_t b = 1;
  for (int64_t i = 0; i < n; ++i) {
    int64_t t = a + b;
    a = b;
    b = t;
  }
  return a;
}

void fib_iterative_35(benchmark::State& state) {
  for (auto _ : state) {
    int64_t n = 35;
    benchmark::DoNotOptimize(n);
    int64_t r = fib_iter(n);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(fib_iterative_35);

[[gnu::noinline]] int64_t fib_rec(int64_t n) {
  if (n < 2) return n;
  return fib_rec(n - 1) + fib_rec(n - 2);
}

void fib_recursive_20(benchmark::State& state) {
  for (auto _ : state) {
    int64_t n = 20;
    benchmark::DoNotOptimize(n);
    int64_t r = fib_rec(n);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(fib_recursive_20)->Unit(benchmark::kMicrosecond);

[[gnu::noinline]] int64_t ack(int64_t m, int64_t n) {
  if (m == 0) return n + 1;
  if (n == 0) return ack(m - 1, 1);
  return ack(m - 1, ack(m, n - 1));
}

void ackermann_3_4(benchmark::State& state) {
  for (auto _ : state) {
    int64_t m = 3;
    int64_t n = 4;
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(n);
    int64_t r = ack(m, n);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(ackermann_3_4)->Unit(benchmark::kMicrosecond);

// -- string_build 10k (string_build.fasm) -------------------------------------------

void string_build_10k(benchmark::State& state) {
  for (auto _ : state) {
    int64_t limit = 10'000;
    benchmark::DoNotOptimize(limit);
    std::string s;
    for (int64_t i = 0; i < limit; ++i) s += 'x';
    benchmark::DoNotOptimize(s.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(string_build_10k)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
