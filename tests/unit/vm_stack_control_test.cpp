// Interpreter tests: stack ops, control flow, frames, top-level return and I/O.
// Sources: spec/ops.md §2, §12–14, tests-inventory §4–5 and §14, ARCHITECTURE §9.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <optional>

#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

Value I(int64_t i) { return Value::Int(i); }

// -- tests-inventory §4 -------------------------------------------------------------------

TEST(VmStack, dup) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(21), Op::Dup(), Op::Add()}).result, I(42)));
}

TEST(VmStack, dup_preserves_value) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(7), Op::Dup(), Op::Add()}).result, I(14)));
}

TEST(VmStack, swap) {
  EXPECT_TRUE(
      IsOk(run_ops({Op::LoadInt(10), Op::LoadInt(3), Op::Swap(), Op::Sub()}).result, I(-7)));
}

TEST(VmStack, swap_exchanges_top_two) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(3), Op::LoadInt(7), Op::Swap(), Op::Sub()}).result, I(4)));
}

TEST(VmStack, dup2) {
  Ran r = run_ops({Op::LoadInt(3), Op::LoadInt(4), Op::Dup2(), Op::Add(), Op::Add(), Op::Add()});
  EXPECT_TRUE(IsOk(r.result, I(14)));
}

TEST(VmStack, dup2_copies_pair_in_order) {
  Ran r = run_ops({Op::LoadInt(3), Op::LoadInt(4), Op::Dup2(), Op::MakeArray(4)});
  EXPECT_TRUE(IsOk(r.result, ints({3, 4, 3, 4})));
}

TEST(VmStack, rot_left_rotates_top_three) {
  Ran sum =
      run_ops({Op::LoadInt(10), Op::LoadInt(20), Op::LoadInt(30), Op::Rot(), Op::Add(), Op::Add()});
  EXPECT_TRUE(IsOk(sum.result, I(60)));
  Ran order =
      run_ops({Op::LoadInt(10), Op::LoadInt(20), Op::LoadInt(30), Op::Rot(), Op::MakeArray(3)});
  EXPECT_TRUE(IsOk(order.result, ints({20, 30, 10})));
}

TEST(VmStack, rot_moves_third_to_top) {
  Ran r = run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::LoadInt(3), Op::Rot(), Op::MakeArray(3)});
  EXPECT_TRUE(IsOk(r.result, ints({2, 3, 1})));
}

TEST(VmStack, rot_with_only_two_elements_is_noop) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(5), Op::LoadInt(10), Op::Rot(), Op::Sub()}).result, I(-5)));
}

TEST(VmStack, pop_on_empty_stack_is_safe) { EXPECT_TRUE(IsHalted(run_ops({Op::Pop()}).result)); }

TEST(VmStack, pop_removes_top) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::Pop()}).result, I(1)));
}

TEST(VmStack, dup_on_empty_stack_pushes_undef) {
  Ran r = run_ops({Op::Dup()});
  EXPECT_TRUE(IsOk(r.result, Value::Undef()));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmStack, guarded_swap_and_dup2_with_one_value_do_nothing) {
  EXPECT_TRUE(SameValues(run_ops({Op::LoadInt(5), Op::Swap()}).full_stack(), {I(5)}));
  EXPECT_TRUE(SameValues(run_ops({Op::LoadInt(5), Op::Dup2()}).full_stack(), {I(5)}));
}

TEST(VmStack, load_ops_push_their_kinds) {
  Program p;
  uint16_t c = p.constant(Value::Str("k"));
  p.emit({Op::LoadInt(-3), Op::LoadFloat(0.25), Op::LoadConst(c), Op::LoadTrue(), Op::LoadFalse(),
          Op::LoadUndef(), Op::LoadConst(77), Op::Nop(), Op::MakeArray(7)});
  EXPECT_TRUE(IsOk(run(p).result,
                   Value::Array({I(-3), Value::Float(0.25), Value::Str("k"), Value::Bool(true),
                                 Value::Bool(false), Value::Undef(), Value::Undef()})));
}

// -- tests-inventory §5 -------------------------------------------------------------------

TEST(VmControl, jump_if_false_taken) {
  Ran r = run_ops({Op::LoadInt(99), Op::LoadFalse(), Op::JumpIfFalse(4), Op::LoadInt(999)});
  EXPECT_TRUE(IsOk(r.result, I(99)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmControl, jump_if_true_not_taken) {
  Ran r = run_ops({Op::LoadInt(1), Op::LoadFalse(), Op::JumpIfTrue(4), Op::LoadInt(2), Op::Add()});
  EXPECT_TRUE(IsOk(r.result, I(3)));
}

TEST(VmControl, short_circuit_or) {
  Ran r = run_ops({Op::LoadInt(42), Op::JumpIfTrueKeep(3), Op::LoadInt(999)});
  EXPECT_TRUE(IsOk(r.result, I(42)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmControl, short_circuit_and_false) {
  Ran r = run_ops({Op::LoadInt(0), Op::JumpIfFalseKeep(3), Op::LoadInt(999)});
  EXPECT_TRUE(IsOk(r.result, I(0)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmControl, keep_jumps_not_taken_keep_value) {
  EXPECT_TRUE(SameValues(
      run_ops({Op::LoadInt(0), Op::JumpIfTrueKeep(3), Op::LoadInt(9)}).full_stack(), {I(0), I(9)}));
  EXPECT_TRUE(
      SameValues(run_ops({Op::LoadInt(1), Op::JumpIfFalseKeep(3), Op::LoadInt(9)}).full_stack(),
                 {I(1), I(9)}));
}

TEST(VmControl, test_jump) {
  EXPECT_TRUE(IsOk(
      run_ops({Op::LoadInt(1), Op::Jump(3), Op::LoadInt(999), Op::LoadInt(2), Op::Add()}).result,
      I(3)));
}

TEST(VmControl, empty_chunk_halts) {
  ChunkBuilder b;
  VM vm(b.build());
  EXPECT_TRUE(IsHalted(vm.run()));
}

TEST(VmControl, fibonacci_iterative) {
  Program p;
  p.emit(Op::PushFrame());
  p.emit({Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(1), Op::SetSlot(1), Op::LoadInt(0),
          Op::SetSlot(2)});
  size_t top = p.pos();
  p.emit({Op::GetSlot(2), Op::LoadInt(10), Op::NumGe()});
  size_t exit_jump = p.emit(Op::JumpIfTrue(0));
  p.emit({Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(3), Op::GetSlot(1), Op::SetSlot(0),
          Op::GetSlot(3), Op::SetSlot(1), Op::PreIncSlotVoid(2), Op::Jump(top)});
  p.patch(exit_jump, p.pos());
  p.emit(Op::GetSlot(0));
  EXPECT_TRUE(IsOk(run(p).result, I(55)));
}

// -- §14 control flow ----------------------------------------------------------------------

TEST(VmControl, jump_if_false_keep_on_empty_stack_jumps) {
  Ran r = run_ops({Op::JumpIfFalseKeep(2), Op::LoadInt(999), Op::LoadInt(7)});
  EXPECT_TRUE(SameValues(r.full_stack(), {I(7)}));
}

TEST(VmControl, jump_if_true_keep_on_empty_stack_does_not_jump) {
  Ran r = run_ops({Op::JumpIfTrueKeep(2), Op::LoadInt(999), Op::LoadInt(7)});
  EXPECT_TRUE(SameValues(r.full_stack(), {I(999), I(7)}));
}

TEST(VmControl, conditional_jumps_pop_their_condition) {
  EXPECT_TRUE(IsHalted(run_ops({Op::LoadInt(1), Op::JumpIfTrue(2)}).result));
  EXPECT_TRUE(IsHalted(run_ops({Op::LoadInt(0), Op::JumpIfFalse(2)}).result));
  EXPECT_TRUE(IsHalted(run_ops({Op::LoadInt(0), Op::JumpIfTrue(2)}).result));
}

TEST(VmControl, jump_past_the_end_ends_normally) {
  Ran r = run_ops({Op::LoadInt(5), Op::Jump(100), Op::LoadInt(6)});
  EXPECT_TRUE(IsOk(r.result, I(5)));
  EXPECT_FALSE(r.vm.is_halted());
}

// -- Frames (ops.md §13) ------------------------------------------------------------------

TEST(VmFrames, pop_frame_drops_values_pushed_since_push_frame) {
  Ran r =
      run_ops({Op::LoadInt(1), Op::PushFrame(), Op::LoadInt(2), Op::LoadInt(3), Op::PopFrame()});
  EXPECT_TRUE(SameValues(r.full_stack(), {I(1)}));
}

TEST(VmFrames, pop_frame_three_times_on_fresh_vm_is_safe) {
  Ran r = run_ops({Op::PopFrame(), Op::PopFrame(), Op::PopFrame(), Op::LoadInt(1)});
  EXPECT_TRUE(IsOk(r.result, I(1)));
  EXPECT_EQ(r.vm.frames().size(), 0u);
}

TEST(VmFrames, slot_ops_without_any_frame_read_undef_and_drop_writes) {
  Ran r = run_ops({Op::PopFrame(), Op::LoadInt(5), Op::SetSlot(0), Op::GetSlot(0),
                   Op::PreIncSlot(1), Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(r.result, Value::Array({Value::Undef(), I(1)})));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmFrames, push_frame_gives_fresh_slots_and_pop_frame_restores_outer) {
  Ran r = run_ops({Op::LoadInt(11), Op::SetSlot(0), Op::PushFrame(), Op::GetSlot(0),
                   Op::LoadInt(22), Op::SetSlot(0), Op::GetSlot(0), Op::SetVar(0), Op::SetVar(1),
                   Op::PopFrame(), Op::GetSlot(0)});
  EXPECT_TRUE(IsOk(r.result, I(11)));
  ASSERT_GE(r.vm.globals().size(), 2u);
  EXPECT_TRUE(Same(r.vm.globals()[0], I(22)));
  EXPECT_TRUE(Same(r.vm.globals()[1], Value::Undef()));
}

// -- Top-level return (ARCHITECTURE §9: sane halt instead of the reference re-run) -------

TEST(VmControl, top_level_return_value_halts_and_prints_once) {
  Program p;
  p.str("x");
  p.emit({Op::PrintLn(1), Op::LoadInt(5), Op::ReturnValue()});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(5)));
  EXPECT_EQ(r.output(), "x\n");
  EXPECT_TRUE(r.vm.is_halted());
}

TEST(VmControl, top_level_return_value_inside_push_frame_halts) {
  Program p;
  p.emit(Op::PushFrame());
  p.str("x");
  p.emit({Op::PrintLn(1), Op::LoadInt(5), Op::ReturnValue()});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(5)));
  EXPECT_EQ(r.output(), "x\n");
  EXPECT_TRUE(r.vm.is_halted());
}

TEST(VmControl, top_level_return_halts_without_running_the_rest) {
  Program p;
  p.str("x");
  p.emit({Op::PrintLn(1), Op::Return()});
  p.str("y");
  p.emit(Op::PrintLn(1));
  Ran r = run(p);
  EXPECT_EQ(r.output(), "x\n");
  EXPECT_TRUE(r.vm.is_halted());
  EXPECT_FALSE(r.result.is_error());
}

TEST(VmControl, top_level_return_inside_push_frame_halts) {
  Program p;
  p.emit(Op::PushFrame());
  p.str("x");
  p.emit({Op::PrintLn(1), Op::Return()});
  p.str("y");
  p.emit(Op::PrintLn(1));
  Ran r = run(p);
  EXPECT_EQ(r.output(), "x\n");
  EXPECT_TRUE(r.vm.is_halted());
}

TEST(VmControl, return_value_on_empty_stack_gives_undef) {
  Ran r = run_ops({Op::ReturnValue()});
  EXPECT_TRUE(IsOk(r.result, Value::Undef()));
  EXPECT_TRUE(r.vm.is_halted());
}

TEST(VmControl, top_level_return_value_keeps_values_below) {
  Ran r = run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::ReturnValue(), Op::LoadInt(3)});
  EXPECT_TRUE(IsOk(r.result, I(2)));
  EXPECT_TRUE(SameValues(r.vm.stack().to_vector(), {I(1)}));
}

// -- I/O (ops.md §14) -----------------------------------------------------------------------

TEST(VmIo, println_of_mixed_values_concatenates_without_separator) {
  Program p;
  p.emit({Op::LoadInt(1), Op::LoadFloat(2.0), Op::LoadTrue(), Op::LoadUndef()});
  p.load(ints({1, 2}));
  p.emit(Op::PrintLn(5));
  Ran r = run(p);
  EXPECT_EQ(r.output(), "1211 2\n");
  EXPECT_TRUE(IsHalted(r.result));
}

TEST(VmIo, print_zero_prints_nothing) {
  Ran r = run_ops({Op::LoadInt(4), Op::Print(0)});
  EXPECT_EQ(r.output(), "");
  EXPECT_TRUE(IsOk(r.result, I(4)));
}

TEST(VmIo, println_zero_prints_newline) {
  Ran r = run_ops({Op::LoadInt(4), Op::PrintLn(0)});
  EXPECT_EQ(r.output(), "\n");
  EXPECT_TRUE(IsOk(r.result, I(4)));
}

TEST(VmIo, print_more_than_stack_prints_what_is_there) {
  Ran r = run_ops({Op::LoadInt(7), Op::Print(9)});
  EXPECT_EQ(r.output(), "7");
  EXPECT_TRUE(IsHalted(r.result));
}

TEST(VmIo, print_takes_top_n_in_push_order) {
  Program p;
  p.i(1);
  p.str("a");
  p.str("b");
  p.emit(Op::Print(2));
  Ran r = run(p);
  EXPECT_EQ(r.output(), "ab");
  EXPECT_TRUE(IsOk(r.result, I(1)));
}

TEST(VmIo, print_formats_floats_like_the_reference) {
  Ran r = run_ops({Op::LoadFloat(1e20), Op::LoadFloat(-0.0), Op::LoadFloat(0.1), Op::PrintLn(3)});
  EXPECT_EQ(r.output(), "100000000000000000000-00.1\n");
}

TEST(VmIo, read_line_reads_lines_and_gives_empty_at_eof) {
  Program p;
  p.emit({Op::ReadLine(), Op::ReadLine(), Op::ReadLine(), Op::MakeArray(3)});
  auto lines = std::make_shared<std::deque<std::string>>(std::deque<std::string>{"first", "sec\r"});
  Ran r = run(p, [lines](VM& vm) {
    vm.set_input([lines]() -> std::optional<std::string> {
      if (lines->empty()) return std::nullopt;
      std::string s = lines->front();
      lines->pop_front();
      return s;
    });
  });
  EXPECT_TRUE(IsOk(r.result, strs({"first", "sec\r", ""})));
}

// Runs `p` with fd `fd` temporarily redirected to `path` (opened with `flags`) and no
// output/input hooks installed, so the VM's default fd 1 / fd 0 paths are used.
VMResult run_with_fd(Program& p, int fd, const std::string& path, int flags) {
  fflush(nullptr);
  int saved = dup(fd);
  int target = open(path.c_str(), flags, 0644);
  dup2(target, fd);
  close(target);
  VM vm(p.build());
  VMResult r = vm.run();
  vm.flush_output();
  fflush(nullptr);
  dup2(saved, fd);
  close(saved);
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(VmIo, default_output_goes_to_fd_1) {
  TempDir dir;
  std::string out = dir / "out";
  Program p;
  p.str("hi");
  p.emit({Op::PrintLn(1), Op::LoadInt(3)});
  VMResult r = run_with_fd(p, 1, out, O_WRONLY | O_CREAT | O_TRUNC);
  EXPECT_TRUE(IsOk(r, I(3)));
  EXPECT_EQ(slurp(out), "hi\n");
}

TEST(VmIo, default_output_is_flushed_before_a_spawn) {
  TempDir dir;
  std::string out = dir / "out";
  Program p;
  p.str("a");
  p.emit(Op::Print(1));
  p.str("sh");
  p.str("-c");
  p.str("printf b");
  p.emit({Op::Exec(3), Op::Pop()});
  p.str("c");
  p.emit(Op::PrintLn(1));
  VMResult r = run_with_fd(p, 1, out, O_WRONLY | O_CREAT | O_TRUNC);
  EXPECT_TRUE(IsHalted(r));
  EXPECT_EQ(slurp(out), "abc\n");
}

TEST(VmIo, default_input_reads_fd_0_and_strips_newlines) {
  TempDir dir;
  std::string in = dir.write("in", "l1\nl2\r\n\nlast");
  Program p;
  p.emit({Op::ReadLine(), Op::ReadLine(), Op::ReadLine(), Op::ReadLine(), Op::ReadLine(),
          Op::MakeArray(5)});
  VMResult r = run_with_fd(p, 0, in, O_RDONLY);
  EXPECT_TRUE(IsOk(r, strs({"l1", "l2\r", "", "last", ""})));
}

}  // namespace
}  // namespace fusevm_test
