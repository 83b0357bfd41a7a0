// The C API (include/fusevm/fusevm.h): every handle, code and message an embedder in C
// (or Python's ctypes) relies on. examples/c-embed is the same API from real C.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "fusevm/fusevm.h"

namespace {

// Owns a C string the API returned.
std::string take(char* s) {
  std::string out = s == nullptr ? std::string("(null)") : std::string(s);
  fusevm_free(s);
  return out;
}

fusevm_chunk* assembled(const std::string& text) {
  fusevm_chunk* c = nullptr;
  EXPECT_EQ(fusevm_assemble(text.data(), text.size(), "t.fasm", &c), FUSEVM_OK) << fusevm_last_error();
  return c;
}

// A VM over `text` (the chunk is freed at once: the VM keeps a copy).
fusevm_vm* vm_of(const std::string& text) {
  fusevm_chunk* c = assembled(text);
  fusevm_vm* vm = fusevm_vm_new(c);
  fusevm_chunk_free(c);
  return vm;
}

TEST(CApi, ValuesOfEveryKindConvertAndPrint) {
  fusevm_value* i = fusevm_value_int(-42);
  fusevm_value* f = fusevm_value_float(2.5);
  fusevm_value* b = fusevm_value_bool(1);
  fusevm_value* u = fusevm_value_undef();
  fusevm_value* s = fusevm_value_str("a\0b", 3);
  EXPECT_EQ(fusevm_value_kind(i), FUSEVM_INT);
  EXPECT_EQ(fusevm_value_kind(f), FUSEVM_FLOAT);
  EXPECT_EQ(fusevm_value_kind(b), FUSEVM_BOOL);
  EXPECT_EQ(fusevm_value_kind(u), FUSEVM_UNDEF);
  EXPECT_EQ(fusevm_value_kind(s), FUSEVM_STR);
  EXPECT_EQ(fusevm_value_to_int(i), -42);
  EXPECT_EQ(fusevm_value_to_float(f), 2.5);
  EXPECT_EQ(fusevm_value_to_int(f), 2);
  EXPECT_TRUE(fusevm_value_truthy(b));
  EXPECT_FALSE(fusevm_value_truthy(u));
  size_t len = 0;
  char* bytes = fusevm_value_to_str(s, &len);
  ASSERT_EQ(len, 3u);
  EXPECT_EQ(std::memcmp(bytes, "a\0b", 3), 0);
  EXPECT_EQ(bytes[3], '\0');
  fusevm_free(bytes);
  EXPECT_EQ(fusevm_value_len(s), 3u);
  EXPECT_EQ(take(fusevm_value_repr(i)), "Int(-42)");
  EXPECT_EQ(take(fusevm_value_to_str(f, nullptr)), "2.5");
  for (fusevm_value* v : {i, f, b, u, s}) fusevm_value_free(v);
  fusevm_value_free(nullptr);
  EXPECT_EQ(fusevm_value_kind(nullptr), FUSEVM_UNDEF);
}

TEST(CApi, ArraysAndHashesHoldCopiesAndDeepCopiesAreIndependent) {
  fusevm_value* arr = fusevm_value_array();
  fusevm_value* one = fusevm_value_int(1);
  fusevm_value* word = fusevm_value_str("w", 1);
  ASSERT_EQ(fusevm_value_array_push(arr, one), FUSEVM_OK);
  ASSERT_EQ(fusevm_value_array_push(arr, word), FUSEVM_OK);
  EXPECT_EQ(fusevm_value_array_push(one, word), FUSEVM_INVALID_ARGUMENT);
  EXPECT_STREQ(fusevm_last_error(), "not an Array");
  EXPECT_EQ(fusevm_value_len(arr), 2u);
  fusevm_value* second = fusevm_value_array_get(arr, 1);
  EXPECT_TRUE(fusevm_value_equal(second, word));
  EXPECT_EQ(fusevm_value_array_get(arr, 2), nullptr);

  fusevm_value* h = fusevm_value_hash();
  ASSERT_EQ(fusevm_value_hash_set(h, "list", 4, arr), FUSEVM_OK);
  fusevm_value* copy = fusevm_value_copy(h);
  ASSERT_EQ(fusevm_value_array_push(arr, one), FUSEVM_OK);  // the hash holds its own copy
  fusevm_value* list = fusevm_value_hash_get(h, "list", 4);
  EXPECT_EQ(fusevm_value_len(list), 2u);
  EXPECT_EQ(fusevm_value_hash_get(h, "none", 4), nullptr);
  EXPECT_TRUE(fusevm_value_equal(copy, h));
  EXPECT_EQ(take(fusevm_value_repr(h)), "Hash{\"list\": Array[Int(1), Str(\"w\")]}");
  for (fusevm_value* v : {arr, one, word, second, h, copy, list}) fusevm_value_free(v);
}

TEST(CApi, ChunksRoundTripThroughTextAndFvc) {
  fusevm_chunk* c = assembled("    LoadInt 40\n    LoadInt 2\n    Add\n");
  EXPECT_EQ(fusevm_chunk_op_count(c), 3u);
  const std::string text = take(fusevm_chunk_disassemble(c));
  EXPECT_NE(text.find("LoadInt 40"), std::string::npos);
  uint8_t* bytes = nullptr;
  size_t len = 0;
  ASSERT_EQ(fusevm_chunk_write_fvc(c, &bytes, &len), FUSEVM_OK);
  fusevm_chunk* back = nullptr;
  ASSERT_EQ(fusevm_load_fvc(bytes, len, "m.fvc", &back), FUSEVM_OK) << fusevm_last_error();
  EXPECT_EQ(take(fusevm_chunk_disassemble(back)), text);
  bytes[len - 1] ^= 1;  // the CRC no longer matches
  fusevm_chunk* damaged = nullptr;
  EXPECT_EQ(fusevm_load_fvc(bytes, len, "m.fvc", &damaged), FUSEVM_LOAD_ERROR);
  EXPECT_EQ(damaged, nullptr);
  EXPECT_NE(std::string(fusevm_last_error()).find("m.fvc"), std::string::npos);
  fusevm_free(bytes);
  fusevm_chunk_free(c);
  fusevm_chunk_free(back);
}

TEST(CApi, LoadFailuresAreCodesWithMessages) {
  fusevm_chunk* c = reinterpret_cast<fusevm_chunk*>(1);
  EXPECT_EQ(fusevm_assemble("Nop\nLoadIntt 1\n", 15, "bad.fasm", &c), FUSEVM_LOAD_ERROR);
  EXPECT_EQ(c, nullptr);
  EXPECT_NE(std::string(fusevm_last_error()).find("bad.fasm:2: unknown mnemonic 'LoadIntt'"), std::string::npos);
  EXPECT_EQ(fusevm_load_file("/nonexistent/x.fasm", &c), FUSEVM_IO_ERROR);
  EXPECT_NE(std::string(fusevm_last_error()).find("No such file"), std::string::npos);
  EXPECT_EQ(fusevm_assemble(nullptr, 3, nullptr, &c), FUSEVM_INVALID_ARGUMENT);
  EXPECT_STREQ(fusevm_last_error(), "text is NULL");
  EXPECT_EQ(fusevm_assemble("Nop", 3, nullptr, nullptr), FUSEVM_INVALID_ARGUMENT);
  EXPECT_STREQ(fusevm_code_name(FUSEVM_LOAD_ERROR), "load error");
}

TEST(CApi, BuilderChecksMnemonicsOperandsAndTheResult) {
  fusevm_builder* b = fusevm_builder_new();
  const int64_t big = 1 << 20;
  EXPECT_EQ(fusevm_builder_emit(b, "Frobnicate", nullptr, 0, 1, nullptr), FUSEVM_INVALID_ARGUMENT);
  EXPECT_STREQ(fusevm_last_error(), "unknown mnemonic 'Frobnicate'");
  EXPECT_EQ(fusevm_builder_emit(b, "GetSlot", nullptr, 0, 1, nullptr), FUSEVM_INVALID_ARGUMENT);
  EXPECT_STREQ(fusevm_last_error(), "GetSlot takes 1 operand(s), got 0");
  EXPECT_EQ(fusevm_builder_emit(b, "GetSlot", &big, 1, 1, nullptr), FUSEVM_INVALID_ARGUMENT);
  EXPECT_EQ(fusevm_builder_emit(b, "LoadFloat", &big, 1, 1, nullptr), FUSEVM_INVALID_ARGUMENT);
  EXPECT_EQ(fusevm_builder_position(b), 0u);
  // A jump past the end: the verifier refuses the chunk.
  const int64_t far = 99;
  ASSERT_EQ(fusevm_builder_emit(b, "Jump", &far, 1, 1, nullptr), FUSEVM_OK);
  fusevm_chunk* c = nullptr;
  EXPECT_EQ(fusevm_builder_build(b, &c), FUSEVM_LOAD_ERROR);
  EXPECT_NE(std::string(fusevm_last_error()).find("<builder>"), std::string::npos) << fusevm_last_error();
  EXPECT_EQ(c, nullptr);
  // The builder is empty again: build 2.5 * 4 with a constant and a float.
  fusevm_value* four = fusevm_value_int(4);
  uint16_t k = 0;
  ASSERT_EQ(fusevm_builder_add_constant(b, four, &k), FUSEVM_OK);
  const int64_t kk = k;
  ASSERT_EQ(fusevm_builder_emit_float(b, 2.5, 1, nullptr), FUSEVM_OK);
  ASSERT_EQ(fusevm_builder_emit(b, "LoadConst", &kk, 1, 1, nullptr), FUSEVM_OK);
  ASSERT_EQ(fusevm_builder_emit(b, "Mul", nullptr, 0, 1, nullptr), FUSEVM_OK);
  ASSERT_EQ(fusevm_builder_build(b, &c), FUSEVM_OK) << fusevm_last_error();
  fusevm_vm* vm = fusevm_vm_new(c);
  fusevm_value* r = nullptr;
  ASSERT_EQ(fusevm_vm_run(vm, &r), FUSEVM_OK);
  EXPECT_EQ(take(fusevm_value_repr(r)), "Float(10.0)");
  fusevm_value_free(r);
  fusevm_value_free(four);
  fusevm_vm_free(vm);
  fusevm_chunk_free(c);
  fusevm_builder_free(b);
}

TEST(CApi, RunsEndOkHaltedOrWithAnErrorThatCanBeResumedPast) {
  fusevm_vm* vm = vm_of("    LoadInt 1\n    ReturnValue\n");
  fusevm_value* r = nullptr;
  EXPECT_EQ(fusevm_vm_run(vm, &r), FUSEVM_OK);
  EXPECT_EQ(fusevm_value_to_int(r), 1);
  fusevm_value_free(r);
  fusevm_vm_free(vm);

  vm = vm_of("    Return\n");
  EXPECT_EQ(fusevm_vm_run(vm, &r), FUSEVM_HALTED);
  fusevm_value_free(r);
  fusevm_vm_free(vm);

  // An error names the file, line and op; the VM can be reset and run again.
  vm = vm_of("    LoadInt 7\n    SetVar @x\n    Call @nowhere, 0\n");
  EXPECT_EQ(fusevm_vm_run(vm, &r), FUSEVM_RUNTIME_ERROR);
  EXPECT_EQ(r, nullptr);
  EXPECT_STREQ(fusevm_vm_error(vm), "t.fasm:3: runtime error: undefined function: nowhere");
  EXPECT_STREQ(fusevm_last_error(), fusevm_vm_error(vm));
  EXPECT_EQ(fusevm_vm_error_ip(vm), 2u);
  EXPECT_EQ(fusevm_vm_error_line(vm), 3u);
  fusevm_value* x = nullptr;
  ASSERT_EQ(fusevm_vm_get_global(vm, "x", &x), FUSEVM_OK);
  EXPECT_EQ(fusevm_value_to_int(x), 7);  // the state stays inspectable
  fusevm_value_free(x);
  fusevm_vm_reset(vm);
  EXPECT_EQ(fusevm_vm_error(vm), nullptr);
  fusevm_vm_free(vm);
}

TEST(CApi, GlobalsStackOutputAndCalls) {
  fusevm_vm* vm = vm_of(R"(
    Jump main
.sub add
    Add
    ReturnValue
main:
    GetVar @in
    LoadInt 1
    Add
    SetVar @out
    LoadConst "hi"
    PrintLn 1
)");
  fusevm_value* five = fusevm_value_int(5);
  ASSERT_EQ(fusevm_vm_set_global(vm, "in", five), FUSEVM_OK);
  EXPECT_EQ(fusevm_vm_set_global(vm, "nope", five), FUSEVM_INVALID_ARGUMENT);
  EXPECT_STREQ(fusevm_last_error(), "no global named 'nope' in the chunk");
  std::string out;
  fusevm_vm_set_output(
      vm, [](const char* bytes, size_t len, void* user) { static_cast<std::string*>(user)->append(bytes, len); },
      &out);
  ASSERT_EQ(fusevm_vm_run(vm, nullptr), FUSEVM_HALTED);  // it ends with an empty stack
  EXPECT_EQ(out, "hi\n");
  fusevm_value* got = nullptr;
  ASSERT_EQ(fusevm_vm_get_global(vm, "out", &got), FUSEVM_OK);
  EXPECT_EQ(fusevm_value_to_int(got), 6);
  fusevm_value_free(got);
  fusevm_value* two = fusevm_value_int(2);
  const fusevm_value* args[] = {five, two};
  fusevm_value* sum = nullptr;
  ASSERT_EQ(fusevm_vm_call(vm, "add", args, 2, &sum), FUSEVM_OK);
  EXPECT_EQ(fusevm_value_to_int(sum), 7);
  fusevm_value_free(sum);
  fusevm_vm_push(vm, two);
  EXPECT_EQ(fusevm_vm_stack_size(vm), 1u);
  fusevm_value* popped = fusevm_vm_pop(vm);
  EXPECT_TRUE(fusevm_value_equal(popped, two));
  fusevm_value_free(popped);
  popped = fusevm_vm_pop(vm);  // empty: Undef
  EXPECT_EQ(fusevm_value_kind(popped), FUSEVM_UNDEF);
  fusevm_value_free(popped);
  fusevm_value_free(two);
  fusevm_value_free(five);
  fusevm_vm_free(vm);
}

TEST(CApi, BuiltinsAndExtensionHandlersAreCCallbacks) {
  fusevm_vm* vm = vm_of("    LoadInt 3\n    LoadInt 4\n    CallBuiltin 9, 2\n    Extended 5, 10\n");
  int calls = 0;
  ASSERT_EQ(fusevm_vm_register_builtin(
                vm, 9,
                [](fusevm_vm* v, uint8_t argc, void* user) -> fusevm_value* {
                  ++*static_cast<int*>(user);
                  int64_t s = 0;
                  for (uint8_t k = 0; k < argc; ++k) {
                    fusevm_value* a = fusevm_vm_pop(v);
                    s += fusevm_value_to_int(a);
                    fusevm_value_free(a);
                  }
                  return fusevm_value_int(s);
                },
                &calls),
            FUSEVM_OK);
  // Extended(id, arg): multiplies the top by id + arg.
  fusevm_vm_set_extension_handler(
      vm,
      [](fusevm_vm* v, uint16_t id, uint8_t arg, void*) {
        fusevm_value* top = fusevm_vm_pop(v);
        fusevm_value* r = fusevm_value_int(fusevm_value_to_int(top) * (id + arg));
        fusevm_vm_push(v, r);
        fusevm_value_free(r);
        fusevm_value_free(top);
      },
      nullptr);
  fusevm_value* r = nullptr;
  ASSERT_EQ(fusevm_vm_run(vm, &r), FUSEVM_OK) << fusevm_last_error();
  EXPECT_EQ(fusevm_value_to_int(r), 7 * 15);
  EXPECT_EQ(calls, 1);
  fusevm_value_free(r);

  // A builtin that fails the run.
  ASSERT_EQ(fusevm_vm_register_builtin(
                vm, 9,
                [](fusevm_vm* v, uint8_t, void*) -> fusevm_value* {
                  fusevm_vm_raise_error(v, "no can do");
                  return nullptr;
                },
                nullptr),
            FUSEVM_OK);
  fusevm_vm_reset(vm);
  EXPECT_EQ(fusevm_vm_run(vm, &r), FUSEVM_RUNTIME_ERROR);
  EXPECT_STREQ(fusevm_vm_error(vm), "t.fasm:3: runtime error: no can do");
  fusevm_vm_free(vm);
}

TEST(CApi, LimitsAndInterruptsEndRunsWithErrors) {
  fusevm_vm* vm = vm_of("top:\n    Jump top\n");
  fusevm_limits limits;
  fusevm_limits_default(&limits);
  EXPECT_EQ(limits.max_stack, 1000000u);
  limits.fuel = 1000;
  fusevm_vm_set_limits(vm, &limits);
  EXPECT_EQ(fusevm_vm_run(vm, nullptr), FUSEVM_RUNTIME_ERROR);
  EXPECT_NE(std::string(fusevm_vm_error(vm)).find("limit exceeded: fuel (1000)"), std::string::npos);
  limits.fuel = 0;
  fusevm_vm_set_limits(vm, &limits);
  std::atomic<bool> done{false};
  std::thread other([&] {
    while (!done.load()) {
      fusevm_vm_interrupt(vm);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  EXPECT_EQ(fusevm_vm_run(vm, nullptr), FUSEVM_RUNTIME_ERROR);
  done = true;
  other.join();
  EXPECT_NE(std::string(fusevm_vm_error(vm)).find("interrupted"), std::string::npos);
  fusevm_vm_free(vm);
}

// A host made of C callbacks: each shell op reaches its callback with its strings, and what
// the callback gives back is what the program sees; a NULL member keeps the default.
struct HostLog {
  std::string seen;
};

TEST(CApi, AShellHostOfCCallbacksServesTheShellOps) {
  fusevm_vm* vm = vm_of(R"(
    LoadConst "tool"
    LoadConst "-x"
    Exec 2
    SetVar @status
    LoadConst "*.c"
    Glob
    SetVar @files
    LoadConst "HOME"
    ExpandParam 4
    SetVar @home
    LoadConst "arg"
    CallFunction @greet, 1
    SetVar @fn
    CallFunction @nosuch, 0
    SetVar @none
    LoadConst "abc"
    LoadConst "a*"
    StrMatch
)");
  fusevm_host host{};
  host.size = sizeof host;
  HostLog log;
  host.user = &log;
  host.exec = [](fusevm_vm*, const char* const* argv, const size_t* lens, size_t argc, void* user) -> int32_t {
    for (size_t k = 0; k < argc; ++k) static_cast<HostLog*>(user)->seen += std::string(argv[k], lens[k]) + " ";
    return 7;
  };
  host.glob = [](fusevm_vm*, const char* pattern, size_t len, int, fusevm_list* out, void*) {
    const std::string p(pattern, len);
    fusevm_list_add(out, "a.c", 3);
    fusevm_list_add(out, p.c_str(), p.size());
  };
  host.expand_param = [](fusevm_vm*, const char* name, size_t len, uint8_t mod, const fusevm_value* const*, size_t nargs,
                         void*) -> fusevm_value* {
    const std::string v = "/home/" + std::string(name, len) + std::to_string(mod) + std::to_string(nargs);
    return fusevm_value_str(v.data(), v.size());
  };
  host.call_function = [](fusevm_vm*, const char* name, size_t len, const char* const* args, const size_t* lens,
                          size_t nargs, int32_t* status, void* user) -> int {
    if (std::string(name, len) != "greet") return 0;
    static_cast<HostLog*>(user)->seen += "greet(" + std::string(args[0], lens[0]) + ")";
    *status = static_cast<int32_t>(nargs) + 40;
    return 1;
  };
  host.str_match = [](fusevm_vm*, const char* s, size_t, const char* pattern, size_t, void*) -> int {
    return s[0] == pattern[0];
  };
  ASSERT_EQ(fusevm_vm_set_host(vm, &host), FUSEVM_OK);
  fusevm_value* r = nullptr;
  ASSERT_EQ(fusevm_vm_run(vm, &r), FUSEVM_OK) << fusevm_last_error();
  EXPECT_EQ(take(fusevm_value_repr(r)), "Bool(true)");
  fusevm_value_free(r);
  EXPECT_EQ(log.seen, "tool -x greet(arg)nosuch ");
  auto global = [&](const char* name) {
    fusevm_value* v = nullptr;
    EXPECT_EQ(fusevm_vm_get_global(vm, name, &v), FUSEVM_OK);
    std::string text = take(fusevm_value_repr(v));
    fusevm_value_free(v);
    return text;
  };
  EXPECT_EQ(global("status"), "Status(7)");
  EXPECT_EQ(global("files"), "Array[Str(\"a.c\"), Str(\"*.c\")]");
  EXPECT_EQ(global("home"), "Str(\"/home/HOME40\")");  // ${#HOME}: LENGTH (4), no args
  EXPECT_EQ(global("fn"), "Status(41)");
  // "Not a function" runs it as a command: through the exec callback.
  EXPECT_EQ(global("none"), "Status(7)");

  host.size = 3;
  EXPECT_EQ(fusevm_vm_set_host(vm, &host), FUSEVM_INVALID_ARGUMENT);
  EXPECT_EQ(fusevm_vm_set_host(vm, nullptr), FUSEVM_OK);
  fusevm_vm_free(vm);
}

TEST(CApi, TheJitIsEnabledThroughTiersAndCounted) {
  fusevm_vm* vm = vm_of(
      "    LoadInt 0\n    SetSlot 0\ntop:\n    GetSlot 0\n    LoadInt 1\n    Add\n    SetSlot 0\n"
      "    GetSlot 0\n    LoadInt 100000\n    NumLt\n    JumpIfTrue top\n    GetSlot 0\n");
  EXPECT_EQ(fusevm_vm_enable_jit(vm, 8), FUSEVM_INVALID_ARGUMENT);
  const fusevm_code enabled = fusevm_vm_enable_jit(vm, FUSEVM_JIT_BLOCK);
  fusevm_jit_stats before;
  fusevm_jit_stats_get(&before);
  for (int run = 0; run < 2; ++run) {
    fusevm_vm_reset(vm);
    fusevm_value* r = nullptr;
    ASSERT_EQ(fusevm_vm_run(vm, &r), FUSEVM_OK);
    EXPECT_EQ(fusevm_value_to_int(r), 100000);
    fusevm_value_free(r);
    fusevm_jit_wait_idle();
  }
  fusevm_jit_stats after;
  fusevm_jit_stats_get(&after);
  if (fusevm_jit_available()) {
    EXPECT_EQ(enabled, FUSEVM_OK);
    EXPECT_EQ(after.available, 1);
    EXPECT_GT(after.block.entered, before.block.entered);
  } else {
    EXPECT_EQ(enabled, FUSEVM_UNAVAILABLE);
    EXPECT_STRNE(fusevm_jit_unavailable_reason(), "");
  }
  fusevm_vm_free(vm);
}

}  // namespace
