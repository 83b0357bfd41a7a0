// Each fused superinstruction against its unfused expansion (spec/ops.md §17.1): equal
// slots, globals, stack and result on Int inputs, plus every documented deviation.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "fusevm/chunk.hpp"
#include "fusevm/vm.hpp"

namespace fusevm {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int32_t kMin32 = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();
// Marks the bottom of the stack so an op that pops or pushes too much shows up.
constexpr int64_t kSentinel = 77;
constexpr uint64_t kSeed = 0x5eed'f05e;

// -- Running a program and capturing what it leaves behind ---------------------

struct Start {
  std::vector<Value> slots;                         ///< main frame's slots before the run
  std::vector<std::pair<uint16_t, Value>> globals;  ///< globals set before the run
};

struct Outcome {
  std::string result;                     ///< "Halted", Value::repr() or "Error(...)"
  std::vector<Value> stack;               ///< what is left after the popped result
  std::vector<Value> globals;
  std::vector<std::vector<Value>> slots;  ///< per live frame, trailing Undef trimmed
};

// A slot past the end reads as Undef, so trailing Undefs are not observable.
std::vector<Value> trimmed(std::vector<Value> v) {
  while (!v.empty() && v.back().is_undef()) v.pop_back();
  return v;
}

Chunk make_chunk(const std::vector<Op>& ops, const std::vector<Value>& constants = {},
                 const std::vector<std::string>& names = {}) {
  ChunkBuilder b;
  for (const Value& c : constants) b.add_constant(c);
  for (const std::string& n : names) b.add_name(n);
  for (const Op& op : ops) b.emit(op, 1);
  return b.build();
}

Outcome run(const Chunk& chunk, const Start& start) {
  VM vm(chunk);
  Limits limits;
  limits.fuel = 50'000'000;  // a broken loop op must fail the test, not hang it
  vm.set_limits(limits);
  vm.frames().back().slots = start.slots;
  for (const auto& [index, v] : start.globals) {
    if (vm.globals().size() <= index) vm.globals().resize(index + 1);
    vm.globals()[index] = v;
  }
  VMResult r = vm.run();
  Outcome o;
  if (r.is_halted()) o.result = "Halted";
  else if (r.is_error()) o.result = "Error(" + r.error().message + ")";
  else o.result = r.value().repr();
  o.stack = vm.stack().to_vector();
  o.globals = trimmed(vm.globals());
  for (const Frame& f : vm.frames()) o.slots.push_back(trimmed(f.slots));
  return o;
}

std::string show(const std::vector<Value>& vs) {
  std::string s = "[";
  for (size_t i = 0; i < vs.size(); ++i) s += (i ? ", " : "") + vs[i].repr();
  return s + "]";
}

bool same_values(const std::vector<Value>& a, const std::vector<Value>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!identical(a[i], b[i])) return false;
  }
  return true;
}

void expect_same(const Outcome& fused, const Outcome& unfused, const std::string& what) {
  EXPECT_EQ(fused.result, unfused.result) << what;
  EXPECT_TRUE(same_values(fused.stack, unfused.stack))
      << what << ": stack " << show(fused.stack) << " vs " << show(unfused.stack);
  EXPECT_TRUE(same_values(fused.globals, unfused.globals))
      << what << ": globals " << show(fused.globals) << " vs " << show(unfused.globals);
  ASSERT_EQ(fused.slots.size(), unfused.slots.size()) << what;
  for (size_t f = 0; f < fused.slots.size(); ++f) {
    EXPECT_TRUE(same_values(fused.slots[f], unfused.slots[f]))
        << what << ": frame " << f << " slots " << show(fused.slots[f]) << " vs "
        << show(unfused.slots[f]);
  }
}

std::string ints(std::initializer_list<int64_t> xs) {
  std::string s;
  for (int64_t x : xs) s += std::to_string(x) + " ";
  return s;
}

// -- Inputs: boundaries first, then seeded random values -----------------------

std::vector<int64_t> int_inputs(size_t random_count) {
  std::vector<int64_t> v = {kMin, kMin + 1, -1, 0, 1, 2, kMin32, kMax32, int64_t(kMax32) + 1,
                            kMax - 1, kMax};
  std::mt19937_64 rng(kSeed);
  for (size_t i = 0; i < random_count; ++i) {
    switch (i % 3) {
      case 0: v.push_back(static_cast<int64_t>(rng())); break;
      case 1: v.push_back(static_cast<int32_t>(rng())); break;
      default: v.push_back(static_cast<int64_t>(rng() % 2001) - 1000); break;
    }
  }
  return v;
}

std::vector<int32_t> limit_inputs(size_t random_count) {
  std::vector<int32_t> v = {kMin32, kMin32 + 1, -1, 0, 1, 100, kMax32 - 1, kMax32};
  std::mt19937_64 rng(kSeed + 1);
  for (size_t i = 0; i < random_count; ++i) {
    v.push_back(i % 2 ? static_cast<int32_t>(rng()) : static_cast<int32_t>(rng() % 401) - 200);
  }
  return v;
}

// `top: GetSlot i; LoadInt L; NumLt; JumpIfFalse end; BODY; PreIncSlotVoid i; Jump top;
// end:` placed at op index `at` (spec/ops.md §17.1's loop shape).
std::vector<Op> counted_loop(size_t at, uint16_t i, int32_t limit, const std::vector<Op>& body) {
  const uint64_t top = at, end = at + 4 + body.size() + 2;
  std::vector<Op> ops = {Op::GetSlot(i), Op::LoadInt(limit), Op::NumLt(), Op::JumpIfFalse(end)};
  ops.insert(ops.end(), body.begin(), body.end());
  ops.push_back(Op::PreIncSlotVoid(i));
  ops.push_back(Op::Jump(top));
  return ops;
}

std::vector<Op> with_sentinel(std::vector<Op> ops) {
  ops.insert(ops.begin(), Op::LoadInt(kSentinel));
  return ops;
}

// -- Equivalences on Int inputs ------------------------------------------------

TEST(FusedEquivalence, PreIncSlotMatchesGetIncDupSet) {
  for (int64_t x : int_inputs(200)) {
    Start s{{Value::Int(3), Value::Int(x)}, {}};
    Outcome fused = run(make_chunk(with_sentinel({Op::PreIncSlot(1)})), s);
    Outcome plain = run(make_chunk(with_sentinel(
                            {Op::GetSlot(1), Op::Inc(), Op::Dup(), Op::SetSlot(1)})), s);
    expect_same(fused, plain, "PreIncSlot on " + std::to_string(x));
  }
}

TEST(FusedEquivalence, PreIncSlotOnUndefAndMaxWraps) {
  Outcome undef = run(make_chunk({Op::PreIncSlot(3)}), Start{});
  EXPECT_EQ(undef.result, "Int(1)");
  Outcome wrap = run(make_chunk({Op::PreIncSlot(0)}), Start{{Value::Int(kMax)}, {}});
  EXPECT_EQ(wrap.result, Value::Int(kMin).repr());
  ASSERT_EQ(wrap.slots.size(), 1u);
  EXPECT_TRUE(same_values(wrap.slots[0], {Value::Int(kMin)}));
}

TEST(FusedEquivalence, PreIncSlotVoidMatchesGetIncSet) {
  for (int64_t x : int_inputs(200)) {
    Start s{{Value::Int(x)}, {}};
    Outcome fused = run(make_chunk(with_sentinel({Op::PreIncSlotVoid(0)})), s);
    Outcome plain =
        run(make_chunk(with_sentinel({Op::GetSlot(0), Op::Inc(), Op::SetSlot(0)})), s);
    expect_same(fused, plain, "PreIncSlotVoid on " + std::to_string(x));
  }
}

TEST(FusedEquivalence, SlotLtIntJumpIfFalseMatchesCompareAndBranch) {
  const std::vector<int64_t> xs = int_inputs(60);
  const std::vector<int32_t> limits = limit_inputs(30);
  for (int64_t x : xs) {
    for (int32_t limit : limits) {
      Start s{{Value::Undef(), Value::Int(x)}, {}};
      // Both programs leave Int(1) when the branch falls through and Int(2) when it jumps.
      Outcome fused = run(make_chunk(with_sentinel({Op::SlotLtIntJumpIfFalse(1, limit, 4),
                                                    Op::LoadInt(1), Op::Jump(5),
                                                    Op::LoadInt(2)})),
                          s);
      Outcome plain = run(make_chunk(with_sentinel(
                              {Op::GetSlot(1), Op::LoadInt(limit), Op::NumLt(),
                               Op::JumpIfFalse(7), Op::LoadInt(1), Op::Jump(8), Op::LoadInt(2)})),
                          s);
      expect_same(fused, plain, "SlotLtIntJumpIfFalse " + ints({x, limit}));
    }
  }
}

TEST(FusedEquivalence, SlotLtIntJumpIfFalseAgreesOnBoolUndefAndStatusSlots) {
  const std::vector<Value> slot_values = {Value::Bool(true), Value::Bool(false), Value::Undef(),
                                          Value::Status(3), Value::Status(-2)};
  for (const Value& v : slot_values) {
    for (int32_t limit : {-3, 0, 1, 2, 4}) {
      Start s{{v}, {}};
      Outcome fused = run(make_chunk({Op::SlotLtIntJumpIfFalse(0, limit, 3), Op::LoadInt(1),
                                      Op::Jump(4), Op::LoadInt(2)}),
                          s);
      Outcome plain = run(make_chunk({Op::GetSlot(0), Op::LoadInt(limit), Op::NumLt(),
                                      Op::JumpIfFalse(6), Op::LoadInt(1), Op::Jump(7),
                                      Op::LoadInt(2)}),
                          s);
      expect_same(fused, plain, "slot " + v.repr() + " limit " + std::to_string(limit));
    }
  }
}

TEST(FusedEquivalence, SlotIncLtIntJumpBackSingleStepMatchesExpansion) {
  const std::vector<int64_t> xs = int_inputs(60);
  const std::vector<int32_t> limits = limit_inputs(30);
  for (int64_t x : xs) {
    for (int32_t limit : limits) {
      Start s{{Value::Int(x)}, {}};
      // The target is forward here so every input (MAX included) runs one step only;
      // the op does not care which direction it jumps.
      Outcome fused = run(make_chunk(with_sentinel({Op::SlotIncLtIntJumpBack(0, limit, 4),
                                                    Op::LoadInt(1), Op::Jump(5),
                                                    Op::LoadInt(2)})),
                          s);
      Outcome plain = run(make_chunk(with_sentinel(
                              {Op::PreIncSlotVoid(0), Op::GetSlot(0), Op::LoadInt(limit),
                               Op::NumLt(), Op::JumpIfTrue(8), Op::LoadInt(1), Op::Jump(9),
                               Op::LoadInt(2)})),
                          s);
      expect_same(fused, plain, "SlotIncLtIntJumpBack " + ints({x, limit}));
    }
  }
}

TEST(FusedEquivalence, SlotIncLtIntJumpBackLoopMatchesExpansion) {
  std::mt19937_64 rng(kSeed + 2);
  for (int32_t limit : limit_inputs(40)) {
    for (int k = 0; k < 4; ++k) {
      // Start up to 500 below the limit (or a little above it) to bound the trip count.
      int64_t start = int64_t(limit) - static_cast<int64_t>(rng() % 504) + 3;
      Start s{{Value::Int(start), Value::Int(0)}, {}};
      std::vector<Op> body = {Op::GetSlot(1), Op::Inc(), Op::SetSlot(1)};  // counts trips
      std::vector<Op> fused_ops = with_sentinel(body);
      fused_ops.push_back(Op::SlotIncLtIntJumpBack(0, limit, 1));
      std::vector<Op> plain_ops = with_sentinel(body);
      for (Op op : {Op::PreIncSlotVoid(0), Op::GetSlot(0), Op::LoadInt(limit), Op::NumLt(),
                    Op::JumpIfTrue(1)}) {
        plain_ops.push_back(op);
      }
      expect_same(run(make_chunk(fused_ops), s), run(make_chunk(plain_ops), s),
                  "SlotIncLtIntJumpBack loop " + ints({start, limit}));
    }
  }
}

TEST(FusedEquivalence, AccumSumLoopMatchesUnfusedLoop) {
  std::mt19937_64 rng(kSeed + 3);
  const std::vector<int64_t> sums = int_inputs(40);
  const std::vector<int32_t> limits = limit_inputs(40);
  size_t n = 0;
  for (int32_t limit : limits) {
    for (int k = 0; k < 4; ++k, ++n) {
      int64_t start = int64_t(limit) - static_cast<int64_t>(rng() % 1504) + 3;
      int64_t sum0 = sums[n % sums.size()];
      // Slot numbers vary too: sum below or above i.
      const uint16_t sum = n % 2 ? 0 : 2, i = n % 2 ? 1 : 0;
      Start s;
      s.slots.resize(3);
      s.slots[sum] = Value::Int(sum0);
      s.slots[i] = Value::Int(start);
      Outcome fused = run(make_chunk(with_sentinel({Op::AccumSumLoop(sum, i, limit)})), s);
      Outcome plain = run(make_chunk(with_sentinel(counted_loop(
                              1, i, limit,
                              {Op::GetSlot(sum), Op::GetSlot(i), Op::Add(), Op::SetSlot(sum)}))),
                          s);
      expect_same(fused, plain, "AccumSumLoop sum0 i0 limit = " + ints({sum0, start, limit}));
    }
  }
}

TEST(FusedEquivalence, AccumSumLoopReferenceValues) {
  Outcome a = run(make_chunk({Op::AccumSumLoop(0, 1, 100), Op::GetSlot(0)}),
                  Start{{Value::Int(0), Value::Int(0)}, {}});
  EXPECT_EQ(a.result, "Int(4950)");
  Outcome b = run(make_chunk({Op::AccumSumLoop(0, 1, 1001), Op::GetSlot(0)}),
                  Start{{Value::Int(0), Value::Int(1)}, {}});
  EXPECT_EQ(b.result, "Int(500500)");
  for (int32_t n : {10, 100, 1000, 10000}) {
    Outcome c = run(make_chunk({Op::AccumSumLoop(0, 1, n), Op::GetSlot(0)}),
                    Start{{Value::Int(0), Value::Int(0)}, {}});
    EXPECT_EQ(c.result, Value::Int(int64_t(n) * (n - 1) / 2).repr());
  }
}

TEST(FusedEquivalence, ConcatConstLoopMatchesUnfusedLoop) {
  std::mt19937_64 rng(kSeed + 4);
  const std::vector<std::string> pieces = {"x", "", "yz", "\xc3\xa9"};
  const std::vector<std::string> starts = {"", "ab", "h\xc3\xa9llo"};
  size_t n = 0;
  for (int32_t limit : limit_inputs(30)) {
    for (int k = 0; k < 3; ++k, ++n) {
      int64_t start = int64_t(limit) - static_cast<int64_t>(rng() % 64) + 3;
      const std::string& piece = pieces[n % pieces.size()];
      Start s{{Value::Int(start), Value::Str(starts[n % starts.size()])}, {}};
      const std::vector<Value> constants = {Value::Str("unused"), Value::Str(piece)};
      Outcome fused =
          run(make_chunk(with_sentinel({Op::ConcatConstLoop(1, 1, 0, limit)}), constants), s);
      Outcome plain = run(make_chunk(with_sentinel(counted_loop(
                                         1, 0, limit,
                                         {Op::GetSlot(1), Op::LoadConst(1), Op::Concat(),
                                          Op::SetSlot(1)})),
                                     constants),
                          s);
      expect_same(fused, plain, "ConcatConstLoop \"" + piece + "\" i0 limit " +
                                    ints({start, limit}));
    }
  }
}

TEST(FusedEquivalence, PushIntRangeLoopMatchesUnfusedLoop) {
  std::mt19937_64 rng(kSeed + 5);
  const std::vector<std::string> names = {"other", "arr"};
  size_t n = 0;
  for (int32_t limit : limit_inputs(30)) {
    for (int k = 0; k < 3; ++k, ++n) {
      int64_t start = int64_t(limit) - static_cast<int64_t>(rng() % 204) + 3;
      ValueArray initial;
      for (size_t e = 0; e < n % 4; ++e) initial.push_back(Value::Int(static_cast<int64_t>(rng())));
      Start s{{Value::Int(start)}, {{0, Value::Str("untouched")}, {1, Value::Array(initial)}}};
      Outcome fused =
          run(make_chunk(with_sentinel({Op::PushIntRangeLoop(1, 0, limit)}), {}, names), s);
      Outcome plain = run(make_chunk(with_sentinel(counted_loop(
                                         1, 0, limit, {Op::GetSlot(0), Op::ArrayPush(1)})),
                                     {}, names),
                          s);
      expect_same(fused, plain, "PushIntRangeLoop i0 limit " + ints({start, limit}));
    }
  }
}

TEST(FusedEquivalence, AddAssignSlotVoidMatchesGetGetAddSet) {
  const std::vector<int64_t> xs = int_inputs(40);
  for (size_t i = 0; i < xs.size(); ++i) {
    for (size_t j = 0; j < xs.size(); j += 3) {
      Start s{{Value::Int(xs[i]), Value::Int(xs[j])}, {}};
      Outcome fused = run(make_chunk(with_sentinel({Op::AddAssignSlotVoid(0, 1)})), s);
      Outcome plain = run(make_chunk(with_sentinel(
                              {Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(0)})),
                          s);
      expect_same(fused, plain, "AddAssignSlotVoid " + ints({xs[i], xs[j]}));
    }
    // a == b doubles the slot in both forms.
    Start same{{Value::Int(xs[i])}, {}};
    expect_same(run(make_chunk({Op::AddAssignSlotVoid(0, 0)}), same),
                run(make_chunk({Op::GetSlot(0), Op::GetSlot(0), Op::Add(), Op::SetSlot(0)}), same),
                "AddAssignSlotVoid same slot " + std::to_string(xs[i]));
  }
}

// -- Documented deviations of the fused forms -----------------------------------

TEST(FusedDeviation, SlotLtIntJumpIfFalseTruncatesFloatAndStrSlots) {
  const Chunk fused = make_chunk(
      {Op::SlotLtIntJumpIfFalse(0, 0, 3), Op::LoadInt(1), Op::Jump(4), Op::LoadInt(2)});
  const Chunk plain = make_chunk({Op::GetSlot(0), Op::LoadInt(0), Op::NumLt(),
                                  Op::JumpIfFalse(6), Op::LoadInt(1), Op::Jump(7),
                                  Op::LoadInt(2)});
  // -0.5 truncates to 0, and 0 >= 0 jumps; the unfused -0.5 < 0 falls through.
  Start half{{Value::Float(-0.5)}, {}};
  EXPECT_EQ(run(fused, half).result, "Int(2)");
  EXPECT_EQ(run(plain, half).result, "Int(1)");
  // "3.7" is 0 for to_int (strict parse) but 3.7 for NumLt; against limit 1 they split.
  const Chunk fused1 = make_chunk(
      {Op::SlotLtIntJumpIfFalse(0, 1, 3), Op::LoadInt(1), Op::Jump(4), Op::LoadInt(2)});
  const Chunk plain1 = make_chunk({Op::GetSlot(0), Op::LoadInt(1), Op::NumLt(),
                                   Op::JumpIfFalse(6), Op::LoadInt(1), Op::Jump(7),
                                   Op::LoadInt(2)});
  Start str{{Value::Str("3.7")}, {}};
  EXPECT_EQ(run(fused1, str).result, "Int(1)");
  EXPECT_EQ(run(plain1, str).result, "Int(2)");
  // 5 >= 5 jumps (tests-inventory §14).
  EXPECT_EQ(run(fused, Start{{Value::Int(5)}, {}}).result, "Int(2)");
}

TEST(FusedDeviation, AccumSumLoopTruncatesFloatSlots) {
  Start s{{Value::Float(0.5), Value::Float(1.5)}, {}};
  Outcome fused = run(make_chunk({Op::AccumSumLoop(0, 1, 4)}), s);
  ASSERT_EQ(fused.slots.size(), 1u);
  EXPECT_TRUE(same_values(fused.slots[0], {Value::Int(6), Value::Int(4)}))
      << show(fused.slots[0]);
  // Unfused: 0.5 + 1.5 + 2 + 3 stays Float; i becomes Int at the first PreIncSlotVoid.
  Outcome plain = run(make_chunk(counted_loop(
                          0, 1, 4, {Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(0)})),
                      s);
  EXPECT_TRUE(same_values(plain.slots[0], {Value::Float(7.0), Value::Int(4)}))
      << show(plain.slots[0]);
}

TEST(FusedDeviation, AccumSumLoopRewritesSlotsEvenWithZeroIterations) {
  Outcome fused = run(make_chunk({Op::AccumSumLoop(0, 1, 0)}), Start{});
  ASSERT_EQ(fused.slots.size(), 1u);
  EXPECT_TRUE(same_values(fused.slots[0], {Value::Int(0), Value::Int(0)}))
      << show(fused.slots[0]);
  Outcome plain = run(make_chunk(counted_loop(
                          0, 1, 0, {Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(0)})),
                      Start{});
  EXPECT_TRUE(plain.slots[0].empty()) << show(plain.slots[0]);
  // i already past the limit: no iteration, but a Float i still comes back as Int.
  Outcome past = run(make_chunk({Op::AccumSumLoop(0, 1, 3)}),
                     Start{{Value::Float(2.9), Value::Float(7.9)}, {}});
  EXPECT_TRUE(same_values(past.slots[0], {Value::Int(2), Value::Int(7)})) << show(past.slots[0]);
}

TEST(FusedDeviation, AccumSumLoopWithSumAndISameSlotKeepsFinalI) {
  Outcome o = run(make_chunk({Op::AccumSumLoop(0, 0, 10)}), Start{{Value::Int(3)}, {}});
  ASSERT_EQ(o.slots.size(), 1u);
  EXPECT_TRUE(same_values(o.slots[0], {Value::Int(10)})) << show(o.slots[0]);
  Outcome none = run(make_chunk({Op::AccumSumLoop(0, 0, 2)}), Start{{Value::Int(5)}, {}});
  EXPECT_TRUE(same_values(none.slots[0], {Value::Int(5)})) << show(none.slots[0]);
}

TEST(FusedDeviation, AccumSumLoopWrapsOnOverflow) {
  Start s{{Value::Int(kMax), Value::Int(1)}, {}};
  Outcome fused = run(make_chunk({Op::AccumSumLoop(0, 1, 3)}), s);
  EXPECT_TRUE(same_values(fused.slots[0], {Value::Int(kMin + 2), Value::Int(3)}))
      << show(fused.slots[0]);
  Outcome plain = run(make_chunk(counted_loop(
                          0, 1, 3, {Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(0)})),
                      s);
  expect_same(fused, plain, "AccumSumLoop wrap");
}

TEST(FusedDeviation, ConcatConstLoopRewritesSlotsEvenWithZeroIterations) {
  // s = Int 5, i = 9 >= 3: no iteration, yet s comes back as Str "5", i as Int 9.
  Outcome fused = run(make_chunk({Op::ConcatConstLoop(0, 0, 1, 3)}, {Value::Str("x")}),
                      Start{{Value::Int(5), Value::Float(9.5)}, {}});
  EXPECT_TRUE(same_values(fused.slots[0], {Value::Str("5"), Value::Int(9)}))
      << show(fused.slots[0]);
  // A missing constant appends "" and Undef slots become "" and the limit.
  Outcome missing = run(make_chunk({Op::ConcatConstLoop(99, 0, 1, 3)}), Start{});
  EXPECT_TRUE(same_values(missing.slots[0], {Value::Str(""), Value::Int(3)}))
      << show(missing.slots[0]);
  Outcome five = run(make_chunk({Op::ConcatConstLoop(0, 0, 1, 5)}, {Value::Str("x")}),
                     Start{{Value::Str(""), Value::Int(0)}, {}});
  EXPECT_TRUE(same_values(five.slots[0], {Value::Str("xxxxx"), Value::Int(5)}))
      << show(five.slots[0]);
}

TEST(FusedDeviation, PushIntRangeLoopReplacesNonArrayGlobal) {
  const std::vector<std::string> names = {"arr"};
  Start s{{Value::Int(2)}, {{0, Value::Int(7)}}};
  Outcome fused = run(make_chunk({Op::PushIntRangeLoop(0, 0, 5)}, {}, names), s);
  ASSERT_EQ(fused.globals.size(), 1u);
  EXPECT_TRUE(identical(fused.globals[0],
                        Value::Array({Value::Int(2), Value::Int(3), Value::Int(4)})))
      << fused.globals[0].repr();
  EXPECT_TRUE(same_values(fused.slots[0], {Value::Int(5)}));
  // Unfused ArrayPush drops values aimed at a non-Array global.
  Outcome plain = run(
      make_chunk(counted_loop(0, 0, 5, {Op::GetSlot(0), Op::ArrayPush(0)}), {}, names), s);
  EXPECT_TRUE(identical(plain.globals[0], Value::Int(7))) << plain.globals[0].repr();
  // Zero iterations still write back a fresh array and the Int counter.
  Outcome zero = run(make_chunk({Op::PushIntRangeLoop(0, 0, 5)}, {}, names),
                     Start{{Value::Float(9.5)}, {{0, Value::Int(7)}}});
  EXPECT_TRUE(identical(zero.globals[0], Value::Array({}))) << zero.globals[0].repr();
  EXPECT_TRUE(same_values(zero.slots[0], {Value::Int(9)})) << show(zero.slots[0]);
}

TEST(FusedDeviation, PushIntRangeLoopPushesTruncatedInts) {
  const std::vector<std::string> names = {"arr"};
  Start s{{Value::Float(1.5)}, {{0, Value::Array({})}}};
  Outcome fused = run(make_chunk({Op::PushIntRangeLoop(0, 0, 4)}, {}, names), s);
  EXPECT_TRUE(identical(fused.globals[0], Value::Array({Value::Int(1), Value::Int(2),
                                                        Value::Int(3)})))
      << fused.globals[0].repr();
  Outcome plain = run(
      make_chunk(counted_loop(0, 0, 4, {Op::GetSlot(0), Op::ArrayPush(0)}), {}, names), s);
  EXPECT_TRUE(identical(plain.globals[0], Value::Array({Value::Float(1.5), Value::Int(2),
                                                        Value::Int(3)})))
      << plain.globals[0].repr();
}

TEST(FusedDeviation, AddAssignSlotVoidTruncatesFloatSlots) {
  Start s{{Value::Float(1.5), Value::Float(1.5)}, {}};
  Outcome fused = run(make_chunk({Op::AddAssignSlotVoid(0, 1)}), s);
  EXPECT_TRUE(same_values(fused.slots[0], {Value::Int(2), Value::Float(1.5)}))
      << show(fused.slots[0]);
  Outcome plain =
      run(make_chunk({Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(0)}), s);
  EXPECT_TRUE(same_values(plain.slots[0], {Value::Float(3.0), Value::Float(1.5)}))
      << show(plain.slots[0]);
}

TEST(FusedDeviation, AddAssignSlotVoidWrapsOnOverflow) {
  Outcome o = run(make_chunk({Op::AddAssignSlotVoid(0, 1)}),
                  Start{{Value::Int(kMax), Value::Int(1)}, {}});
  EXPECT_TRUE(same_values(o.slots[0], {Value::Int(kMin), Value::Int(1)})) << show(o.slots[0]);
  Outcome p = run(make_chunk({Op::AddAssignSlotVoid(0, 1)}),
                  Start{{Value::Int(40), Value::Int(2)}, {}});
  EXPECT_TRUE(same_values(p.slots[0], {Value::Int(42), Value::Int(2)})) << show(p.slots[0]);
}

TEST(FusedDeviation, FusedOpsOnNoFrameDropWritesAndReadUndef) {
  // After PopFrame removes the main frame, slot writes are dropped and reads are Undef.
  Outcome o = run(make_chunk({Op::PopFrame(), Op::LoadInt(5), Op::SetSlot(0),
                              Op::AddAssignSlotVoid(0, 1), Op::AccumSumLoop(0, 1, 3),
                              Op::PreIncSlot(0)}),
                  Start{});
  EXPECT_EQ(o.result, "Int(1)");
  EXPECT_TRUE(o.slots.empty());
}

}  // namespace
}  // namespace fusevm
