// Interpreter tests: calls, runtime errors, extension ops, builtins, status, builtin ids.
// Sources: spec/ops.md §13, §18–19, chunk-and-vm §5–8, tests-inventory §8, §12 and §14.
#include <stdexcept>

#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

Value I(int64_t i) { return Value::Int(i); }

// Sub `double`: [x] -> x + x.
uint16_t define_double(Program& p) {
  return p.sub("double", [&] {
    p.emit({Op::SetSlot(0), Op::GetSlot(0), Op::GetSlot(0), Op::Add(), Op::ReturnValue()});
  });
}

// -- Calls (tests-inventory §8) ------------------------------------------------------------

TEST(VmCalls, test_function_call) {
  Program p;
  uint16_t dbl = define_double(p);
  p.emit({Op::LoadInt(21), Op::Call(dbl, 1)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(42)));
  EXPECT_EQ(r.vm.frames().size(), 1u);
}

TEST(VmCalls, nested_function_calls) {
  Program p;
  uint16_t add_one = p.sub("add_one", [&] {
    p.emit({Op::SetSlot(0), Op::GetSlot(0), Op::LoadInt(1), Op::Add(), Op::ReturnValue()});
  });
  uint16_t dbl = define_double(p);
  p.emit({Op::LoadInt(20), Op::Call(add_one, 1), Op::Call(dbl, 1)});
  EXPECT_TRUE(IsOk(run(p).result, I(42)));
}

TEST(VmCalls, function_can_return_early_with_returnvalue) {
  Program p;
  uint16_t early = p.sub("early", [&] {
    p.emit({Op::SetSlot(0), Op::GetSlot(0), Op::LoadInt(0), Op::NumEq()});
    size_t j = p.emit(Op::JumpIfFalse(0));
    p.emit({Op::LoadInt(99), Op::ReturnValue()});
    p.patch(j, p.pos());
    p.emit({Op::LoadInt(1), Op::ReturnValue()});
  });
  p.emit(
      {Op::LoadInt(0), Op::Call(early, 1), Op::LoadInt(5), Op::Call(early, 1), Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, ints({99, 1})));
}

TEST(VmCalls, function_recursion_terminates_at_base) {
  Program p;
  uint16_t fact = p.name("fact");
  p.sub("fact", [&] {
    p.emit({Op::SetSlot(0), Op::GetSlot(0), Op::LoadInt(1), Op::NumLe()});
    size_t j = p.emit(Op::JumpIfFalse(0));
    p.emit({Op::LoadInt(1), Op::ReturnValue()});
    p.patch(j, p.pos());
    p.emit({Op::GetSlot(0), Op::GetSlot(0), Op::LoadInt(1), Op::Sub(), Op::Call(fact, 1), Op::Mul(),
            Op::ReturnValue()});
  });
  p.emit({Op::LoadInt(5), Op::Call(fact, 1)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(120)));
  EXPECT_EQ(r.vm.frames().size(), 1u);
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmCalls, arguments_arrive_in_push_order_last_on_top) {
  Program p;
  uint16_t sub = p.sub("minus", [&] {
    p.emit({Op::SetSlot(1), Op::SetSlot(0), Op::GetSlot(0), Op::GetSlot(1), Op::Sub(),
            Op::ReturnValue()});
  });
  p.emit({Op::LoadInt(1), Op::LoadInt(2), Op::Call(sub, 2)});
  EXPECT_TRUE(IsOk(run(p).result, I(-1)));
}

TEST(VmCalls, call_then_return_pops_args_and_pushes_nothing) {
  Program p;
  uint16_t f = p.sub("f", [&] { p.emit({Op::LoadInt(99), Op::Return()}); });
  p.emit({Op::LoadInt(5), Op::LoadInt(7), Op::Call(f, 1)});
  Ran r = run(p);
  EXPECT_TRUE(SameValues(r.full_stack(), {I(5)}));
}

TEST(VmCalls, return_value_drops_everything_the_callee_left) {
  Program p;
  uint16_t f = p.sub("f", [&] {
    p.emit({Op::LoadInt(1), Op::LoadInt(2), Op::LoadInt(3), Op::ReturnValue()});
  });
  p.emit({Op::LoadInt(5), Op::LoadInt(6), Op::Call(f, 1)});
  EXPECT_TRUE(SameValues(run(p).full_stack(), {I(5), I(3)}));
}

TEST(VmCalls, call_with_argc_above_stack_depth_clamps_base_to_zero) {
  Program p;
  uint16_t f = p.sub("f", [&] { p.emit(Op::ReturnValue()); });
  p.emit({Op::LoadInt(7), Op::Call(f, 5)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(7)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
  EXPECT_EQ(r.vm.frames().size(), 1u);
}

TEST(VmCalls, call_with_argc_above_stack_depth_then_return_clears_stack) {
  Program p;
  uint16_t f = p.sub("f", [&] { p.emit(Op::Return()); });
  p.emit({Op::LoadInt(1), Op::LoadInt(2), Op::Call(f, 5)});
  EXPECT_TRUE(IsHalted(run(p).result));
}

TEST(VmCalls, duplicate_sub_entries_use_the_first) {
  Program p;
  uint16_t f = p.name("f");
  size_t skip = p.emit(Op::Jump(0));
  uint64_t first = p.pos();
  p.emit({Op::LoadInt(1), Op::ReturnValue()});
  uint64_t second = p.pos();
  p.emit({Op::LoadInt(2), Op::ReturnValue()});
  p.patch(skip, p.pos());
  p.builder().add_sub_entry(f, first);
  p.builder().add_sub_entry(f, second);
  p.emit(Op::Call(f, 0));
  EXPECT_TRUE(IsOk(run(p).result, I(1)));
}

TEST(VmCalls, sub_entry_past_the_end_ends_the_run) {
  Program p;
  uint16_t f = p.name("f");
  p.builder().add_sub_entry(f, 1000);
  p.emit({Op::LoadInt(5), Op::Call(f, 0), Op::LoadInt(6)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(5)));
}

// -- Runtime errors ---------------------------------------------------------------------------

TEST(VmErrors, undefined_function_errors) {
  Program p;
  uint16_t f = p.name("nonexistent");
  p.emit(Op::Call(f, 0));
  Ran r = run(p);
  ASSERT_TRUE(r.result.is_error());
  EXPECT_EQ(r.result.error().message, "undefined function: nonexistent");
}

TEST(VmErrors, calling_unknown_function_returns_error) {
  Program p;
  uint16_t f = p.name("does_not_exist");
  p.emit(Op::Call(f, 0));
  EXPECT_TRUE(IsErrorWith(run(p).result, "does_not_exist"));
}

TEST(VmErrors, undefined_function_with_name_index_past_pool_prints_question_mark) {
  Program p;
  p.name("only");
  p.emit(Op::Call(5, 0));
  Ran r = run(p);
  ASSERT_TRUE(r.result.is_error());
  EXPECT_EQ(r.result.error().message, "undefined function: ?");
}

TEST(VmErrors, error_carries_ip_line_source_and_leaves_stack) {
  Program p;
  p.builder().set_source("prog.fasm");
  uint16_t f = p.name("nope");
  p.emit({Op::LoadInt(1), Op::LoadInt(2), Op::Call(f, 1)});
  Ran r = run(p);
  ASSERT_TRUE(r.result.is_error());
  const RuntimeError& e = r.result.error();
  EXPECT_EQ(e.message, "undefined function: nope");
  EXPECT_EQ(e.ip, 2u);
  EXPECT_EQ(e.line, 3u);
  EXPECT_EQ(e.source, "prog.fasm");
  EXPECT_EQ(e.to_string(), "prog.fasm:3: runtime error: undefined function: nope");
  EXPECT_TRUE(SameValues(r.vm.stack().to_vector(), {I(1), I(2)}));
}

TEST(VmErrors, error_inside_a_sub_has_a_backtrace_to_the_caller) {
  Program p;
  uint16_t missing = p.name("missing");
  uint16_t f = p.sub("f", [&] { p.emit(Op::Call(missing, 0)); });
  size_t call_at = p.emit(Op::Call(f, 0));
  Ran r = run(p);
  ASSERT_TRUE(r.result.is_error());
  EXPECT_EQ(r.result.error().message, "undefined function: missing");
  EXPECT_EQ(r.result.error().ip, 1u);
  ASSERT_FALSE(r.result.error().backtrace.empty());
  uint64_t caller_ip = r.result.error().backtrace.back().ip;
  EXPECT_TRUE(caller_ip == call_at || caller_ip == call_at + 1) << caller_ip;
}

TEST(VmErrors, builtin_raise_error_ends_the_run) {
  Program p;
  p.emit({Op::LoadInt(1), Op::CallBuiltin(4, 0), Op::LoadInt(2)});
  Ran r = run(p, [](VM& vm) {
    vm.register_builtin(4, [](VM& v, uint8_t) {
      v.raise_error("boom from builtin");
      return Value::Undef();
    });
  });
  EXPECT_TRUE(IsErrorWith(r.result, "boom from builtin"));
  EXPECT_EQ(r.result.error().ip, 1u);
}

TEST(VmErrors, builtin_exception_is_contained) {
  Program p;
  p.emit(Op::CallBuiltin(7, 0));
  Ran r = run(p, [](VM& vm) {
    vm.register_builtin(7, [](VM&, uint8_t) -> Value { throw std::runtime_error("kaput"); });
  });
  ASSERT_TRUE(r.result.is_error());
  EXPECT_EQ(r.result.error().message.rfind("builtin 7 threw: ", 0), 0u) << r.result.error().message;
  EXPECT_NE(r.result.error().message.find("kaput"), std::string::npos);
}

TEST(VmErrors, extension_exception_is_contained) {
  Program p;
  p.emit(Op::Extended(3, 0));
  Ran r = run(p, [](VM& vm) {
    vm.set_extension_handler([](VM&, uint16_t, uint8_t) { throw std::runtime_error("ext kaput"); });
  });
  EXPECT_TRUE(IsErrorWith(r.result, "ext kaput"));
  EXPECT_TRUE(IsErrorWith(r.result, "threw"));
}

// -- Extensions (chunk-and-vm §7) ------------------------------------------------------------

TEST(VmExtensions, extension_handler) {
  Program p;
  p.emit({Op::LoadInt(40), Op::Extended(0, 2), Op::Add()});
  Ran r = run(p, [](VM& vm) {
    vm.set_extension_handler([](VM& v, uint16_t, uint8_t arg) { v.push(Value::Int(arg)); });
  });
  EXPECT_TRUE(IsOk(r.result, I(42)));
}

TEST(VmExtensions, extension_wide_handler) {
  Program p;
  p.emit(Op::ExtendedWide(0, 42));
  Ran r = run(p, [](VM& vm) {
    vm.set_extension_wide_handler([](VM& v, uint16_t, uint64_t payload) {
      v.push(Value::Int(static_cast<int64_t>(payload)));
    });
  });
  EXPECT_TRUE(IsOk(r.result, I(42)));
}

TEST(VmExtensions, extension_without_handler_is_noop) {
  EXPECT_TRUE(SameValues(run_ops({Op::LoadInt(42), Op::Extended(99, 0)}).full_stack(), {I(42)}));
  EXPECT_TRUE(
      SameValues(run_ops({Op::LoadInt(42), Op::ExtendedWide(99, 7)}).full_stack(), {I(42)}));
}

TEST(VmExtensions, handler_receives_id_and_arg) {
  Program p;
  p.emit({Op::Extended(513, 7), Op::ExtendedWide(9, 0xFFFFFFFFFFull)});
  auto seen = std::make_shared<std::vector<uint64_t>>();
  Ran r = run(p, [seen](VM& vm) {
    vm.set_extension_handler([seen](VM&, uint16_t id, uint8_t arg) {
      seen->push_back(id);
      seen->push_back(arg);
    });
    vm.set_extension_wide_handler([seen](VM&, uint16_t id, uint64_t payload) {
      seen->push_back(id);
      seen->push_back(payload);
    });
  });
  EXPECT_TRUE(IsHalted(r.result));
  EXPECT_EQ(*seen, (std::vector<uint64_t>{513, 7, 9, 0xFFFFFFFFFFull}));
}

TEST(VmExtensions, handler_sees_next_ip_and_may_jump) {
  Program p;
  p.emit({Op::Extended(0, 0), Op::LoadInt(999), Op::LoadInt(7)});
  auto seen_ip = std::make_shared<uint64_t>(12345);
  Ran r = run(p, [seen_ip](VM& vm) {
    vm.set_extension_handler([seen_ip](VM& v, uint16_t, uint8_t) {
      *seen_ip = v.ip();
      v.set_ip(2);
    });
  });
  EXPECT_EQ(*seen_ip, 1u);
  EXPECT_TRUE(SameValues(r.full_stack(), {I(7)}));
}

TEST(VmExtensions, handler_can_pop_and_touch_globals_and_status) {
  Program p;
  uint16_t g = p.name("g");
  p.emit({Op::LoadInt(3), Op::LoadInt(4), Op::Extended(1, 0), Op::GetVar(g)});
  Ran r = run(p, [g](VM& vm) {
    vm.set_extension_handler([g](VM& v, uint16_t, uint8_t) {
      int64_t b = v.pop().as_int();
      int64_t a = v.pop().as_int();
      v.globals()[g] = Value::Int(a * b);
      v.set_last_status(9);
    });
  });
  EXPECT_TRUE(IsOk(r.result, I(12)));
  EXPECT_EQ(r.vm.last_status(), 9);
}

// -- Builtins (chunk-and-vm §8) ---------------------------------------------------------------

Value pop_and_double(VM& vm, uint8_t) { return Value::Int(vm.pop().to_int() * 2); }

TEST(VmBuiltins, test_builtin_cache) {
  Program p;
  p.emit({Op::LoadInt(10), Op::CallBuiltin(0, 1)});
  Ran r = run(p, [](VM& vm) { vm.register_builtin(0, pop_and_double); });
  EXPECT_TRUE(IsOk(r.result, I(20)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmBuiltins, builtin_can_be_called_multiple_times) {
  Program p;
  p.emit(
      {Op::LoadInt(10), Op::CallBuiltin(0, 1), Op::LoadInt(5), Op::CallBuiltin(0, 1), Op::Add()});
  Ran r = run(p, [](VM& vm) { vm.register_builtin(0, pop_and_double); });
  EXPECT_TRUE(IsOk(r.result, I(30)));
}

TEST(VmBuiltins, unregistered_builtin_leaves_stack_untouched) {
  Ran r = run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::CallBuiltin(3, 2)});
  EXPECT_TRUE(SameValues(r.full_stack(), {I(1), I(2)}));
}

TEST(VmBuiltins, id_beyond_the_registered_table_does_nothing) {
  Program p;
  p.emit({Op::LoadInt(1), Op::CallBuiltin(500, 1)});
  Ran r = run(p, [](VM& vm) { vm.register_builtin(0, pop_and_double); });
  EXPECT_TRUE(SameValues(r.full_stack(), {I(1)}));
}

TEST(VmBuiltins, builtin_gets_argc_and_args_last_on_top) {
  Program p;
  p.emit({Op::LoadInt(7), Op::LoadInt(3), Op::CallBuiltin(1, 2)});
  auto argc_seen = std::make_shared<int>(-1);
  Ran r = run(p, [argc_seen](VM& vm) {
    vm.register_builtin(1, [argc_seen](VM& v, uint8_t argc) {
      *argc_seen = argc;
      int64_t b = v.pop().as_int();
      int64_t a = v.pop().as_int();
      return Value::Int(a - b);
    });
  });
  EXPECT_EQ(*argc_seen, 2);
  EXPECT_TRUE(IsOk(r.result, I(4)));
}

TEST(VmBuiltins, re_registering_replaces) {
  Program p;
  p.emit({Op::LoadInt(10), Op::CallBuiltin(2, 1)});
  Ran r = run(p, [](VM& vm) {
    vm.register_builtin(2, pop_and_double);
    vm.register_builtin(2, [](VM& v, uint8_t) { return Value::Int(v.pop().as_int() + 1); });
  });
  EXPECT_TRUE(IsOk(r.result, I(11)));
}

// A builtin that replaces itself and grows the table while it runs (so the table's storage
// moves) goes on with its own captures; the next call runs the replacement. Builtins are
// called without copying them first, so this is what keeps the running one alive.
TEST(VmBuiltins, regression_a_builtin_that_re_registers_builtins_while_running_keeps_its_captures) {
  Program p;
  p.emit({Op::LoadInt(10), Op::CallBuiltin(0, 1), Op::LoadInt(1), Op::CallBuiltin(0, 1), Op::Add(),
          Op::CallBuiltin(0, 0), Op::Add()});
  Ran r = run(p, [](VM& vm) {
    const std::string tag(64, 'x');  // a capture on the heap: a freed closure would show
    vm.register_builtin(0, [tag](VM& v, uint8_t argc) {
      for (uint16_t id = 1; id < 300; ++id) v.register_builtin(id, pop_and_double);
      v.register_builtin(0, [](VM& w, uint8_t n) { return Value::Int(n == 0 ? 1000 : w.pop().as_int() + 1); });
      return Value::Int(static_cast<int64_t>(tag.size()) + (argc ? v.pop().as_int() : 0));
    });
  });
  EXPECT_TRUE(IsOk(r.result, I(64 + 10 + 2 + 1000)));
}

TEST(VmBuiltins, builtin_result_of_any_kind_is_pushed) {
  Program p;
  p.emit(Op::CallBuiltin(9, 0));
  Ran r = run(p, [](VM& vm) {
    vm.register_builtin(9, [](VM&, uint8_t) { return strs({"a", "b"}); });
  });
  EXPECT_TRUE(IsOk(r.result, strs({"a", "b"})));
}

// -- Status (ops.md §19) ----------------------------------------------------------------------

TEST(VmStatus, last_status_tracked_across_set_get) {
  Ran r = run_ops({Op::LoadInt(127), Op::SetStatus(), Op::GetStatus()});
  EXPECT_TRUE(IsOk(r.result, Value::Status(127)));
  EXPECT_EQ(r.vm.last_status(), 127);
}

TEST(VmStatus, set_status_keeps_low_32_bits) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(4294967297LL), Op::SetStatus(), Op::GetStatus()}).result,
                   Value::Status(1)));
  EXPECT_TRUE(
      IsOk(run_ops({Op::LoadInt(-1), Op::SetStatus(), Op::GetStatus()}).result, Value::Status(-1)));
}

TEST(VmStatus, status_starts_at_zero_and_is_settable_from_the_api) {
  Program p;
  p.emit(Op::GetStatus());
  VM vm(p.build());
  EXPECT_EQ(vm.last_status(), 0);
  vm.set_last_status(5);
  EXPECT_TRUE(IsOk(vm.run(), Value::Status(5)));
}

// -- shell_builtins (tests-inventory §12, host.md §5) -----------------------------------------

TEST(VmShellBuiltins, test_builtin_lookup) {
  using namespace fusevm::shell_builtins;
  EXPECT_EQ(builtin_id("cd"), std::optional<uint16_t>(BUILTIN_CD));
  EXPECT_EQ(builtin_id("chdir"), std::optional<uint16_t>(BUILTIN_CD));
  EXPECT_EQ(builtin_id("echo"), std::optional<uint16_t>(BUILTIN_ECHO));
  EXPECT_EQ(builtin_id("typeset"), std::optional<uint16_t>(BUILTIN_TYPESET));
  EXPECT_EQ(builtin_id("declare"), std::optional<uint16_t>(BUILTIN_TYPESET));
  EXPECT_EQ(builtin_id("ls"), std::nullopt);
  EXPECT_EQ(builtin_id("grep"), std::nullopt);
}

TEST(VmShellBuiltins, test_is_builtin) {
  using namespace fusevm::shell_builtins;
  for (const char* n : {"cd", "export", "cat", "head", "tail", "sort", "find"})
    EXPECT_TRUE(is_builtin(n)) << n;
  EXPECT_FALSE(is_builtin("ls"));
}

TEST(VmShellBuiltins, aliases_and_exceptions) {
  using namespace fusevm::shell_builtins;
  EXPECT_EQ(builtin_id("source"), std::optional<uint16_t>(7));
  EXPECT_EQ(builtin_id("."), std::optional<uint16_t>(7));
  for (const char* n : {"exit", "bye", "logout"})
    EXPECT_EQ(builtin_id(n), std::optional<uint16_t>(8)) << n;
  EXPECT_EQ(builtin_id("test"), std::optional<uint16_t>(12));
  EXPECT_EQ(builtin_id("["), std::optional<uint16_t>(12));
  EXPECT_EQ(builtin_id(":"), std::optional<uint16_t>(13));
  EXPECT_EQ(builtin_id("mapfile"), std::optional<uint16_t>(31));
  EXPECT_EQ(builtin_id("readarray"), std::optional<uint16_t>(31));
  EXPECT_EQ(builtin_id("bind"), std::optional<uint16_t>(142));
  EXPECT_EQ(builtin_id("pcre_match"), std::optional<uint16_t>(181));
  EXPECT_EQ(builtin_id("intercept_proceed"), std::optional<uint16_t>(221));
  EXPECT_EQ(builtin_id("mktemp"), std::optional<uint16_t>(262));
  EXPECT_EQ(builtin_id("Cd"), std::nullopt);
  EXPECT_EQ(builtin_id(""), std::nullopt);
  EXPECT_EQ(BUILTIN_MAX, 280);
}

}  // namespace
}  // namespace fusevm_test
