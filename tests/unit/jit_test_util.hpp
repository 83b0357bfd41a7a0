// Shared setup for the JIT test files: fresh caches per test, the forced-tier rule
// (skip without the plugin, fail under FUSEVM_JIT_STRICT=1) and small chunk builders.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "fusevm/jit.hpp"
#include "vm_test_util.hpp"

namespace fusevm_test {

/// True when FUSEVM_JIT_STRICT is exactly "1". CI sets it, so a JIT that silently failed
/// to load (missing plugin, wrong LLVM, ABI mismatch) fails the run instead of skipping.
/// The reference's counter-loop shape (spec/jit.md §4.14): `do { ++i } while (i < limit)`
/// returning i; header at ip 2, fallthrough at ip 7.
inline std::string counter_loop(int64_t limit) {
  return "    LoadInt 0\n    SetSlot 0\ntop:\n    PreIncSlotVoid 0\n    GetSlot 0\n    LoadInt " +
         std::to_string(limit) + "\n    NumLt\n    JumpIfTrue top\n    GetSlot 0\n    ReturnValue\n";
}

// A loop of 4,000 laps (header at ip 2) whose every third lap runs JumpIfTrueKeep, an op
// no trace holds (not even through a call-out: it jumps): a side path no trace can hold,
// so its guard keeps exiting.
inline const char* const kUntraceableOpEveryThirdLap = R"(
    LoadInt 0
    SetSlot 0
top:
    GetSlot 0
    LoadInt 3
    Mod
    JumpIfTrue skip
    LoadTrue
    JumpIfTrueKeep kept
kept:
    Pop
skip:
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 4000
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)";

inline bool jit_strict() {
  const char* s = std::getenv("FUSEVM_JIT_STRICT");
  return s != nullptr && std::strcmp(s, "1") == 0;
}

}  // namespace fusevm_test

/// Reset the JIT's caches and counters, then skip the test when the plugin is unavailable,
/// or fail it when FUSEVM_JIT_STRICT=1. Use at the top of a test body or in SetUp().
#define FUSEVM_REQUIRE_JIT()                                                                  \
  do {                                                                                        \
    ::fusevm::JitCompiler::reset();                                                           \
    if (!::fusevm::JitCompiler::available()) {                                                \
      if (::fusevm_test::jit_strict()) {                                                      \
        FAIL() << "FUSEVM_JIT_STRICT=1 but the JIT is unavailable: "                          \
               << ::fusevm::JitCompiler::unavailable_reason();                                \
      }                                                                                       \
      GTEST_SKIP() << "JIT unavailable: " << ::fusevm::JitCompiler::unavailable_reason();     \
    }                                                                                         \
  } while (0)

namespace fusevm_test {

/// A chunk of `ops` with the constant pool `consts`, built through ChunkBuilder so it has
/// a real op_hash (hand-built chunks with op_hash 0 are made explicitly where tested).
inline Chunk chunk_of(std::initializer_list<Op> ops, std::initializer_list<Value> consts = {}) {
  ChunkBuilder b;
  for (const Value& v : consts) b.add_constant(v);
  uint32_t line = 1;
  for (const Op& op : ops) b.emit(op, line++);
  return b.build();
}

/// Fixture for JIT tests that need no compiled code (eligibility, regions): every test
/// starts with empty caches and zero counters, since GoogleTest runs all tests on one
/// thread and the engine is process-wide.
class JitFixture : public ::testing::Test {
 protected:
  void SetUp() override { JitCompiler::reset(); }
  void TearDown() override { JitCompiler::reset(); }
  JitCompiler jit;  ///< the compiler under test (caches are shared process-wide anyway)
};

/// Fixture for tests that compile: as JitFixture, and the test is skipped when the
/// plugin is unavailable, or fails when FUSEVM_JIT_STRICT=1 (a fatal failure in SetUp
/// keeps the body from running).
class JitRequired : public JitFixture {
 protected:
  void SetUp() override { FUSEVM_REQUIRE_JIT(); }
};

}  // namespace fusevm_test
