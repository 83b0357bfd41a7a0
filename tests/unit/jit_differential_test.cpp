// Differential tests of the JIT tiers against the interpreter (issue 5 item 8): seeded
// random straight-line int/float programs for the linear tier (also run through the block
// tier) and random looped programs for the block tier, compared under the direct APIs'
// reference typing (ARCHITECTURE §9 "Typing", spec/jit.md §2.3, §3.5, §6).
//
// FUSEVM_JIT_DIFF_COUNT=N runs N programs per suite instead of 3000;
// FUSEVM_JIT_DIFF_SEED=S replaces the base seed (program k uses seed S + k).
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "jit_program_gen.hpp"
#include "jit_test_util.hpp"

namespace {

using namespace fusevm_test;
using namespace fusevm_test::jitgen;

// -- Settings -----------------------------------------------------------------------------

constexpr size_t kDefaultPrograms = 3000;
constexpr size_t kMaxReported = 8;        // mismatches printed in full per suite
constexpr size_t kResetEvery = 250;       // free compiled code now and then
constexpr uint64_t kLinearSeed = 0x11AEA5D1FF000000ULL;
constexpr uint64_t kBlockSeed = 0xB10C5D1FF0000000ULL;

size_t program_count() {
  const char* s = std::getenv("FUSEVM_JIT_DIFF_COUNT");
  if (s == nullptr || *s == '\0') return kDefaultPrograms;
  char* end = nullptr;
  unsigned long long n = std::strtoull(s, &end, 10);
  return (end != nullptr && *end == '\0' && n > 0) ? static_cast<size_t>(n) : kDefaultPrograms;
}

uint64_t base_seed(uint64_t fallback) {
  const char* s = std::getenv("FUSEVM_JIT_DIFF_SEED");
  if (s == nullptr || *s == '\0') return fallback;
  char* end = nullptr;
  unsigned long long n = std::strtoull(s, &end, 0);
  return (end != nullptr && *end == '\0') ? n : fallback;
}

// -- Formatting ---------------------------------------------------------------------------

std::string hex(uint64_t x) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, x);
  return buf;
}

std::string show_slots(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t k = 0; k < s.size(); ++k) out += (k ? ", " : "") + std::to_string(s[k]);
  return out + "]";
}

std::string show_values(const std::vector<Value>& s) {
  std::string out = "[";
  for (size_t k = 0; k < s.size(); ++k) out += (k ? ", " : "") + s[k].repr();
  return out + "]";
}

// -- Running under the interpreter -----------------------------------------------------------

struct Interpreted {
  VMResult result = VMResult::Halted();
  std::vector<Value> slots;
};

// Run `chunk` with the main frame's slots set to `init` (as Ints).
Interpreted interpret(const Chunk& chunk, const std::vector<int64_t>& init) {
  VM vm(chunk);
  vm.set_output([](std::string_view) {});
  std::vector<Value>& slots = vm.frames().back().slots;
  slots.clear();
  for (int64_t x : init) slots.push_back(Value::Int(x));
  Interpreted out;
  out.result = vm.run();
  out.slots = vm.frames().back().slots;
  return out;
}

// "" if the tier's slots equal the interpreter's under the slot typing, else why not.
std::string compare_slots(const std::vector<int64_t>& tier, const std::vector<Value>& interp,
                          const std::vector<SlotTy>& types) {
  for (size_t s = 0; s < tier.size(); ++s) {
    Value iv = s < interp.size() ? interp[s] : Value();
    if (tier[s] != iv.to_int()) {
      return "slot " + std::to_string(s) + ": tier " + std::to_string(tier[s]) + ", interpreter " + iv.repr();
    }
    if (s < types.size() && types[s] == SlotTy::Int && !iv.is_int()) {
      return "slot " + std::to_string(s) + ": interpreter holds " + iv.repr() + " where an Int was expected";
    }
  }
  return "";
}

// The block tier's result for the interpreter's: the top truncated to i64 (0 if empty).
int64_t block_expected(const VMResult& r) { return r.is_ok() ? r.value().to_int() : 0; }

// -- Mismatch reporting -------------------------------------------------------------------------

struct Tally {
  size_t programs = 0;
  size_t meant_eligible = 0;  // generated to be accepted by the tier
  size_t ran = 0;             // the tier produced a result
  size_t rejected_ok = 0;     // generated to be rejected, and the tier declined
  size_t bailed = 0;          // block tier bail-outs (nullopt, slots untouched)
  size_t mismatches = 0;
  std::vector<std::string> unexpected_nullopt;  // first few, for the message
};

void report(Tally& t, const char* suite, uint64_t seed, const Chunk& chunk, const std::vector<int64_t>& init,
            const std::string& what) {
  ++t.mismatches;
  if (t.mismatches > kMaxReported) return;
  ADD_FAILURE() << suite << " mismatch, seed " << hex(seed) << ": " << what
                << "\ninitial slots " << show_slots(init) << "\nprogram:\n"
                << disassemble(chunk);
}

std::string why_no_result(const char* tier) {
  JitStats s = JitCompiler::stats();
  const JitTierStats& t = std::string(tier) == "linear" ? s.linear : s.block;
  std::string out;
  for (const auto& [reason, n] : t.reasons) out += "\n  " + reason + " x" + std::to_string(n);
  return out;
}

// "" if the linear tier's value equals the interpreter's for a value of type `ty`.
std::string compare_linear(Ty ty, const Value& tier, const VMResult& interp, bool final_div) {
  if (!interp.is_ok()) return "interpreter gave " + interp.repr();
  const Value& iv = interp.value();
  const std::string both = "tier " + tier.repr() + ", interpreter " + iv.repr();
  if (final_div && iv.is_undef()) {
    // Division by zero: Undef in the interpreter, IEEE ±inf or NaN in native code.
    bool ok = tier.is_float() && (std::isinf(tier.as_float()) || std::isnan(tier.as_float()));
    return ok ? "" : both;
  }
  switch (ty) {
    case Ty::Float:
      return tier.is_float() && iv.is_float() && exact(tier, iv) ? "" : both;
    case Ty::Int:
      return tier.is_int() && iv.is_int() && tier.as_int() == iv.as_int() ? "" : both;
    case Ty::Bool:
      return tier.is_int() && (tier.as_int() == 0 || tier.as_int() == 1) && (iv.is_bool() || iv.is_int()) &&
                     iv.to_int() == tier.as_int()
                 ? ""
                 : both;
    case Ty::Mixed:
      return tier.is_int() && iv.is_float() && iv.as_float() == static_cast<double>(tier.as_int()) ? "" : both;
  }
  return both;
}

// -- The suites ------------------------------------------------------------------------------------

using JitDifferential = JitRequired;

void print_summary(const char* suite, const Tally& t) {
  std::printf("[ jit-diff ] %s: %zu programs, %zu meant eligible, %zu ran natively, %zu declined as expected, "
              "%zu bailed out, %zu mismatches\n",
              suite, t.programs, t.meant_eligible, t.ran, t.rejected_ok, t.bailed, t.mismatches);
}

TEST_F(JitDifferential, random_straight_line_programs_match_the_interpreter_under_the_linear_tier) {
  const size_t count = program_count();
  const uint64_t base = base_seed(kLinearSeed);
  Tally t;
  for (size_t k = 0; k < count; ++k) {
    if (k % kResetEvery == 0) JitCompiler::reset();
    const uint64_t seed = base + k;
    Rand r(seed);
    LinearProgram p = LinearGen(r).make();
    ++t.programs;
    Interpreted interp = interpret(p.chunk, p.slots);
    std::vector<int64_t> slots = p.slots;
    if (jit.is_linear_eligible(p.chunk) != p.eligible) {
      report(t, "linear", seed, p.chunk, p.slots,
             std::string("is_linear_eligible is ") + (p.eligible ? "false" : "true") + " for a program generated " +
                 (p.eligible ? "eligible" : "ineligible"));
      continue;
    }
    std::optional<Value> native = jit.try_run_linear(p.chunk, slots);
    if (!p.eligible) {
      if (native) {
        report(t, "linear", seed, p.chunk, p.slots, "ineligible program ran: " + native->repr());
      } else if (slots != p.slots) {
        report(t, "linear", seed, p.chunk, p.slots, "declined program changed slots to " + show_slots(slots));
      } else {
        ++t.rejected_ok;
      }
      continue;
    }
    ++t.meant_eligible;
    if (!native) {
      if (t.unexpected_nullopt.size() < 5) {
        t.unexpected_nullopt.push_back("seed " + hex(seed) + ":\n" + disassemble(p.chunk));
      }
      continue;
    }
    ++t.ran;
    std::string bad = compare_linear(p.result, *native, interp.result, p.final_div);
    if (bad.empty()) bad = compare_slots(slots, interp.slots, p.slot_types);
    if (!bad.empty()) {
      report(t, "linear", seed, p.chunk, p.slots,
             bad + "\ntier slots " + show_slots(slots) + ", interpreter slots " + show_values(interp.slots));
    }
  }
  print_summary("linear", t);
  EXPECT_EQ(t.mismatches, 0u);
  EXPECT_GE(t.ran * 10, t.meant_eligible * 8) << "fewer than 80% of eligible programs compiled; first failures:\n"
                                              << [&] {
                                                   std::string s;
                                                   for (const std::string& u : t.unexpected_nullopt) s += u + "\n";
                                                   return s + why_no_result("linear");
                                                 }();
  EXPECT_GT(t.rejected_ok, 0u) << "the generator should include some ineligible programs";
}

TEST_F(JitDifferential, random_straight_line_programs_match_the_interpreter_under_the_block_tier) {
  // Every linear op is in the block set, and the generated typing means the same there;
  // the block tier returns the top truncated to i64 and writes slots back.
  const size_t count = program_count();
  const uint64_t base = base_seed(kLinearSeed);
  Tally t;
  for (size_t k = 0; k < count; ++k) {
    if (k % kResetEvery == 0) JitCompiler::reset();
    const uint64_t seed = base + k;
    Rand r(seed);
    LinearProgram p = LinearGen(r).make();
    if (!p.eligible) continue;  // a Nop is fine here, but an extra value is not comparable
    ++t.programs;
    Interpreted interp = interpret(p.chunk, p.slots);
    if (p.final_div && interp.result.is_ok() && interp.result.value().is_undef()) continue;  // Undef vs ±inf
    ++t.meant_eligible;
    if (!jit.is_block_eligible(p.chunk)) {
      report(t, "block(linear)", seed, p.chunk, p.slots, "not block-eligible");
      continue;
    }
    std::vector<int64_t> slots = p.slots;
    std::optional<int64_t> native = jit.try_run_block_eager(p.chunk, slots);
    if (!native) {
      report(t, "block(linear)", seed, p.chunk, p.slots, "block tier gave nullopt:" + why_no_result("block"));
      continue;
    }
    ++t.ran;
    std::string bad;
    int64_t want = block_expected(interp.result);
    if (!interp.result.is_ok()) bad = "interpreter gave " + interp.result.repr();
    else if (*native != want) bad = "tier " + std::to_string(*native) + ", interpreter " + interp.result.value().repr();
    if (bad.empty()) bad = compare_slots(slots, interp.slots, p.slot_types);
    if (!bad.empty()) {
      report(t, "block(linear)", seed, p.chunk, p.slots,
             bad + "\ntier slots " + show_slots(slots) + ", interpreter slots " + show_values(interp.slots));
    }
  }
  print_summary("block(linear)", t);
  EXPECT_EQ(t.mismatches, 0u);
  EXPECT_EQ(t.ran, t.meant_eligible);
}

TEST_F(JitDifferential, random_looped_programs_match_the_interpreter_under_the_block_tier) {
  const size_t count = program_count();
  const uint64_t base = base_seed(kBlockSeed);
  const std::vector<SlotTy> types = block_slot_types();
  Tally t;
  for (size_t k = 0; k < count; ++k) {
    if (k % kResetEvery == 0) JitCompiler::reset();
    const uint64_t seed = base + k;
    Rand r(seed);
    BlockProgram p = BlockGen(r).make();
    ++t.programs;
    ++t.meant_eligible;
    Interpreted interp = interpret(p.chunk, p.slots);
    if (!jit.is_block_eligible(p.chunk)) {
      report(t, "block", seed, p.chunk, p.slots, "not block-eligible");
      continue;
    }
    std::vector<int64_t> slots = p.slots;
    std::optional<int64_t> native = jit.try_run_block_eager(p.chunk, slots);
    if (!native) {
      if (!p.may_bail) {
        report(t, "block", seed, p.chunk, p.slots, "block tier gave nullopt:" + why_no_result("block"));
      } else if (slots != p.slots) {
        report(t, "block", seed, p.chunk, p.slots, "bail-out changed slots to " + show_slots(slots));
      } else {
        ++t.bailed;
      }
      continue;
    }
    ++t.ran;
    std::string bad;
    if (interp.result.is_error()) {
      bad = "interpreter gave " + interp.result.repr();
    } else if (*native != block_expected(interp.result)) {
      bad = "tier " + std::to_string(*native) + ", interpreter " + interp.result.repr();
    }
    if (bad.empty()) bad = compare_slots(slots, interp.slots, types);
    if (!bad.empty()) {
      report(t, "block", seed, p.chunk, p.slots,
             bad + "\ntier slots " + show_slots(slots) + ", interpreter slots " + show_values(interp.slots));
    }
  }
  print_summary("block", t);
  EXPECT_EQ(t.mismatches, 0u);
  EXPECT_GE(t.ran * 10, t.meant_eligible * 8) << "too many bail-outs";
}

TEST_F(JitDifferential, block_programs_give_the_same_result_after_warm_up_and_on_repeat) {
  // The 11th try_run_block call compiles; calls after it reuse the code with fresh slots.
  const uint64_t base = base_seed(kBlockSeed) ^ 0x5A5A5A5AULL;
  size_t compared = 0;
  for (size_t k = 0; k < 40; ++k) {
    Rand r(base + k);
    BlockProgram p = BlockGen(r).make();
    if (p.may_bail) continue;
    Interpreted interp = interpret(p.chunk, p.slots);
    for (int call = 1; call <= 10; ++call) {
      std::vector<int64_t> slots = p.slots;
      ASSERT_FALSE(jit.try_run_block(p.chunk, slots).has_value()) << "call " << call << " of program " << k;
      ASSERT_EQ(slots, p.slots);
    }
    for (int call = 11; call <= 13; ++call) {
      std::vector<int64_t> slots = p.slots;
      std::optional<int64_t> native = jit.try_run_block(p.chunk, slots);
      ASSERT_TRUE(native.has_value()) << "call " << call << " of program " << k << "\n" << disassemble(p.chunk);
      EXPECT_EQ(*native, block_expected(interp.result)) << disassemble(p.chunk);
      EXPECT_EQ(compare_slots(slots, interp.slots, block_slot_types()), "") << disassemble(p.chunk);
    }
    ++compared;
  }
  EXPECT_GT(compared, 20u);
}

TEST(JitDifferentialGen, generators_are_deterministic_per_seed) {
  Rand a(42), b(42);
  LinearProgram x = LinearGen(a).make(), y = LinearGen(b).make();
  EXPECT_EQ(x.chunk, y.chunk);
  EXPECT_EQ(x.slots, y.slots);
  Rand c(7), d(7);
  BlockProgram u = BlockGen(c).make(), v = BlockGen(d).make();
  EXPECT_EQ(u.chunk, v.chunk);
  EXPECT_EQ(u.slots, v.slots);
}

TEST(JitDifferentialGen, generated_programs_pass_the_verifier_and_run_in_the_interpreter) {
  // The generators' own sanity, without the JIT: every program is well formed, the linear
  // ones are accepted by the linear validator as generated, and the looped ones terminate.
  JitCompiler::reset();
  JitCompiler jit;
  size_t eligible = 0, made = 0;
  for (uint64_t k = 0; k < 300; ++k) {
    Rand r(kLinearSeed + k);
    LinearProgram p = LinearGen(r).make();
    EXPECT_EQ(jit.is_linear_eligible(p.chunk), p.eligible) << disassemble(p.chunk);
    eligible += p.eligible;
    ++made;
    Interpreted i = interpret(p.chunk, p.slots);
    EXPECT_TRUE(i.result.is_ok()) << i.result.repr() << "\n" << disassemble(p.chunk);
    Rand q(kBlockSeed + k);
    BlockProgram b = BlockGen(q).make();
    EXPECT_TRUE(jit.is_block_eligible(b.chunk)) << disassemble(b.chunk);
    Interpreted j = interpret(b.chunk, b.slots);
    EXPECT_FALSE(j.result.is_error()) << j.result.repr() << "\n" << disassemble(b.chunk);
    EXPECT_TRUE(verify(b.chunk).empty()) << disassemble(b.chunk);
  }
  EXPECT_GE(eligible * 10, made * 8);
}

}  // namespace
