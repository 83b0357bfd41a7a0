// Interpreter tests: VM state and the embedding API (re-run, halt, call, reset).
// Sources: spec/chunk-and-vm.md §3–5, ARCHITECTURE §9 "API details", tests-inventory §13–14.
#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

Value I(int64_t i) { return Value::Int(i); }

TEST(VmState, run_twice_continues_with_the_remaining_stack) {
  Program p;
  p.emit({Op::LoadInt(1), Op::LoadInt(2)});
  VM vm(p.build());
  EXPECT_TRUE(IsOk(vm.run(), I(2)));
  EXPECT_TRUE(IsOk(vm.run(), I(1)));
  EXPECT_TRUE(IsHalted(vm.run()));
}

TEST(VmState, run_continues_from_the_current_ip) {
  Program p;
  p.emit({Op::LoadInt(1), Op::LoadInt(2)});
  VM vm(p.build());
  EXPECT_TRUE(IsOk(vm.run(), I(2)));
  EXPECT_EQ(vm.ip(), 2u);
  vm.set_ip(0);
  EXPECT_TRUE(IsOk(vm.run(), I(2)));
  EXPECT_TRUE(SameValues(vm.stack().to_vector(), {I(1), I(1)}));
}

TEST(VmState, set_ip_before_run_starts_there) {
  Program p;
  p.emit({Op::LoadInt(999), Op::Pop(), Op::LoadInt(5)});
  VM vm(p.build());
  vm.set_ip(2);
  EXPECT_TRUE(IsOk(vm.run(), I(5)));
  EXPECT_TRUE(vm.stack().empty());
}

TEST(VmState, halted_is_never_cleared) {
  Program p;
  p.emit({Op::LoadInt(1), Op::LoadInt(2), Op::ReturnValue(), Op::LoadInt(3)});
  VM vm(p.build());
  EXPECT_TRUE(IsOk(vm.run(), I(2)));
  EXPECT_TRUE(vm.is_halted());
  EXPECT_TRUE(IsOk(vm.run(), I(1)));
  EXPECT_TRUE(IsHalted(vm.run()));
  vm.set_ip(0);
  EXPECT_TRUE(IsHalted(vm.run()));
  EXPECT_TRUE(vm.is_halted());
  EXPECT_TRUE(vm.stack().empty());
}

TEST(VmState, stack_frames_and_globals_are_inspectable_after_run) {
  Program p;
  uint16_t g = p.name("g");
  p.emit({Op::PushFrame(), Op::LoadInt(1), Op::SetSlot(0), Op::LoadInt(7), Op::SetVar(g),
          Op::LoadInt(3), Op::LoadInt(4), Op::LoadInt(9), Op::SetStatus()});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(4)));
  EXPECT_TRUE(SameValues(r.vm.stack().to_vector(), {I(3)}));
  ASSERT_EQ(r.vm.frames().size(), 2u);
  EXPECT_TRUE(SameValues(r.vm.frames().back().slots, {I(1)}));
  EXPECT_TRUE(r.vm.frames().front().slots.empty());
  EXPECT_EQ(r.vm.frames().back().stack_base, 0u);
  EXPECT_EQ(r.vm.frames().back().kind, FrameKind::Scope);
  EXPECT_EQ(r.vm.frames().front().kind, FrameKind::Main);
  EXPECT_TRUE(Same(r.vm.globals()[g], I(7)));
  EXPECT_EQ(r.vm.last_status(), 9);
  EXPECT_EQ(r.vm.ip(), r.vm.chunk().ops.size());
}

TEST(VmState, a_fresh_vm_has_one_main_frame_and_sized_globals) {
  Program p;
  p.name("a");
  p.name("b");
  p.emit(Op::Nop());
  VM vm(p.build());
  ASSERT_EQ(vm.frames().size(), 1u);
  EXPECT_EQ(vm.frames().back().return_ip, 0u);
  EXPECT_EQ(vm.frames().back().stack_base, 0u);
  EXPECT_TRUE(vm.frames().back().slots.empty());
  EXPECT_EQ(vm.globals().size(), 2u);
  EXPECT_EQ(vm.ip(), 0u);
  EXPECT_EQ(vm.last_status(), 0);
  EXPECT_FALSE(vm.is_halted());
  EXPECT_TRUE(vm.stack().empty());
  EXPECT_EQ(vm.chunk().ops.size(), 1u);
}

TEST(VmState, callee_slots_are_private) {
  Program p;
  uint16_t seen = p.name("seen");
  uint16_t f = p.sub("f", [&] {
    p.emit({Op::GetSlot(0), Op::SetVar(seen), Op::LoadInt(22), Op::SetSlot(0), Op::Return()});
  });
  p.emit({Op::LoadInt(11), Op::SetSlot(0), Op::Call(f, 0), Op::GetSlot(0)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(11)));
  EXPECT_TRUE(Same(r.vm.globals()[seen], Value::Undef()));
}

TEST(VmState, recursive_calls_each_get_their_own_slots) {
  // f(n): slot0 = n; if n > 0 { f(n - 1) }; return slot0 (must still be n).
  Program p;
  uint16_t f = p.name("f");
  p.sub("f", [&] {
    p.emit({Op::SetSlot(0), Op::GetSlot(0), Op::LoadInt(0), Op::NumGt()});
    size_t j = p.emit(Op::JumpIfFalse(0));
    p.emit({Op::GetSlot(0), Op::LoadInt(1), Op::Sub(), Op::Call(f, 1), Op::Pop()});
    p.patch(j, p.pos());
    p.emit({Op::GetSlot(0), Op::ReturnValue()});
  });
  p.emit({Op::LoadInt(5), Op::Call(f, 1)});
  EXPECT_TRUE(IsOk(run(p).result, I(5)));
}

TEST(VmState, main_frame_slots_can_be_pre_sized_before_run) {
  Program p;
  p.emit({Op::PreIncSlot(0), Op::GetSlot(1), Op::GetSlot(7), Op::MakeArray(3)});
  VM vm(p.build());
  vm.frames().back().slots.resize(8);
  vm.frames().back().slots[0] = I(41);
  vm.frames().back().slots[1] = Value::Float(1.5);
  EXPECT_TRUE(IsOk(vm.run(), Value::Array({I(42), Value::Float(1.5), Value::Undef()})));
  EXPECT_EQ(vm.frames().back().slots.size(), 8u);
  EXPECT_TRUE(Same(vm.frames().back().slots[0], I(42)));
}

TEST(VmState, globals_and_stack_can_be_seeded_before_run) {
  Program p;
  uint16_t g = p.name("g");
  p.emit({Op::GetVar(g), Op::Add()});
  VM vm(p.build());
  vm.globals()[g] = I(2);
  vm.push(I(40));
  EXPECT_TRUE(IsOk(vm.run(), I(42)));
}

TEST(VmState, push_pop_and_peek) {
  ChunkBuilder b;
  VM vm(b.build());
  EXPECT_TRUE(Same(vm.pop(), Value::Undef()));
  EXPECT_TRUE(Same(vm.peek(), Value::Undef()));
  vm.push(I(1));
  vm.push(Value::Str("two"));
  EXPECT_TRUE(Same(vm.peek(), Value::Str("two")));
  EXPECT_EQ(vm.stack().size(), 2u);
  EXPECT_TRUE(Same(vm.pop(), Value::Str("two")));
  EXPECT_TRUE(Same(vm.stack().back(), I(1)));
  EXPECT_TRUE(Same(vm.stack()[0], I(1)));
}

TEST(VmState, moved_vm_keeps_running) {
  Program p;
  p.emit({Op::LoadInt(1), Op::LoadInt(2)});
  VM a(p.build());
  EXPECT_TRUE(IsOk(a.run(), I(2)));
  VM b(std::move(a));
  EXPECT_TRUE(IsOk(b.run(), I(1)));
  VM c(ChunkBuilder().build());
  c = std::move(b);
  EXPECT_TRUE(IsHalted(c.run()));
}

// -- VM::call ---------------------------------------------------------------------------------

// A chunk whose main code must not run, with subs `double`, `quiet`, `pack3` and `bump`.
Chunk call_chunk() {
  Program p;
  uint16_t g = p.name("g");
  p.str("main ran");
  p.emit(Op::SetVar(g));
  size_t skip = p.emit(Op::Jump(0));
  p.sub("double", [&] {
    p.emit({Op::SetSlot(0), Op::GetSlot(0), Op::GetSlot(0), Op::Add(), Op::ReturnValue()});
  });
  p.sub("quiet", [&] { p.emit({Op::Pop(), Op::Return()}); });
  p.sub("pack3", [&] { p.emit({Op::MakeArray(3), Op::ReturnValue()}); });
  p.sub("bump", [&] {
    p.emit({Op::GetVar(g), Op::Inc(), Op::Dup(), Op::SetVar(g), Op::ReturnValue()});
  });
  p.patch(skip, p.pos());
  return p.build();
}

TEST(VmState, call_returns_a_subs_value) {
  VM vm(call_chunk());
  EXPECT_TRUE(IsOk(vm.call("double", {I(21)}), I(42)));
  EXPECT_TRUE(Same(vm.globals()[0], Value::Undef())) << "main code ran";
  EXPECT_EQ(vm.frames().size(), 1u);
  EXPECT_TRUE(vm.stack().empty());
}

TEST(VmState, call_passes_args_as_values_in_order) {
  VM vm(call_chunk());
  EXPECT_TRUE(IsOk(vm.call("pack3", {I(1), Value::Str("x"), ints({2})}),
                   Value::Array({I(1), Value::Str("x"), ints({2})})));
}

TEST(VmState, call_of_a_sub_with_plain_return_is_halted) {
  VM vm(call_chunk());
  EXPECT_TRUE(IsHalted(vm.call("quiet", {I(1)})));
  EXPECT_TRUE(vm.stack().empty());
}

TEST(VmState, call_of_unknown_name_is_an_error) {
  VM vm(call_chunk());
  EXPECT_TRUE(IsErrorWith(vm.call("nope", {}), "nope"));
}

TEST(VmState, call_keeps_the_rest_of_the_vm_state) {
  VM vm(call_chunk());
  vm.push(I(100));
  vm.globals()[0] = I(1);
  EXPECT_TRUE(IsOk(vm.call("bump", {}), I(2)));
  EXPECT_TRUE(IsOk(vm.call("bump", {}), I(3)));
  EXPECT_TRUE(Same(vm.globals()[0], I(3)));
  EXPECT_TRUE(SameValues(vm.stack().to_vector(), {I(100)}));
  EXPECT_EQ(vm.frames().size(), 1u);
}

TEST(VmState, call_after_run_sees_globals_set_by_run) {
  Program p;
  uint16_t g = p.name("g");
  p.emit({Op::LoadInt(41), Op::SetVar(g)});
  size_t skip = p.emit(Op::Jump(0));
  p.sub("get", [&] { p.emit({Op::GetVar(g), Op::Inc(), Op::ReturnValue()}); });
  p.patch(skip, p.pos());
  VM vm(p.build());
  EXPECT_TRUE(IsHalted(vm.run()));
  EXPECT_TRUE(IsOk(vm.call("get", {}), I(42)));
}

// -- reset()
// ---------------------------------------------------------------------------------------

TEST(VmState, reset_returns_to_the_initial_state) {
  Program p;
  uint16_t g = p.name("g");
  p.emit({Op::LoadInt(1), Op::SetSlot(3), Op::PushFrame(), Op::LoadInt(7), Op::SetVar(g),
          Op::LoadInt(5), Op::SetStatus(), Op::LoadInt(8), Op::LoadInt(9), Op::ReturnValue()});
  VM vm(p.build());
  EXPECT_TRUE(IsOk(vm.run(), I(9)));
  EXPECT_TRUE(vm.is_halted());
  vm.reset();
  EXPECT_FALSE(vm.is_halted());
  EXPECT_TRUE(vm.stack().empty());
  ASSERT_EQ(vm.frames().size(), 1u);
  // A popped frame may keep its slot storage (ARCHITECTURE §9), but every slot reads Undef.
  for (const Value& slot : vm.frames().back().slots) EXPECT_TRUE(Same(slot, Value::Undef()));
  ASSERT_EQ(vm.globals().size(), 1u);
  EXPECT_TRUE(Same(vm.globals()[g], Value::Undef()));
  EXPECT_EQ(vm.ip(), 0u);
  EXPECT_EQ(vm.last_status(), 0);
  EXPECT_TRUE(IsOk(vm.run(), I(9)));
  EXPECT_TRUE(Same(vm.globals()[g], I(7)));
  EXPECT_EQ(vm.last_status(), 5);
}

TEST(VmState, reset_keeps_registered_builtins_and_output) {
  Program p;
  p.emit({Op::LoadInt(4), Op::CallBuiltin(0, 1), Op::Dup(), Op::PrintLn(1)});
  auto out = std::make_shared<std::string>();
  VM vm(p.build());
  vm.set_output([out](std::string_view s) { out->append(s); });
  vm.register_builtin(0, [](VM& v, uint8_t) { return Value::Int(v.pop().as_int() * 2); });
  EXPECT_TRUE(IsOk(vm.run(), I(8)));
  vm.reset();
  EXPECT_TRUE(IsOk(vm.run(), I(8)));
  vm.flush_output();
  EXPECT_EQ(*out, "8\n8\n");
}

}  // namespace
}  // namespace fusevm_test
