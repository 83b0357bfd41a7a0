/* Embedding fusevm from C: assemble a program that calls a builtin the host provides,
 * run it and read its result and a global; build a second chunk op by op; run a hot loop
 * with the JIT on and read the JIT's counters; report a runtime error as the CLI would.
 * Built and run by CI (ctest: example_c_embed). Exit status 0 when every step agrees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fusevm/fusevm.h>

static int failures = 0;

#define CHECK(cond)                                                \
  do {                                                             \
    if (!(cond)) {                                                 \
      fprintf(stderr, "c-embed: check failed: %s (line %d): %s\n", \
              #cond, __LINE__, fusevm_last_error());               \
      ++failures;                                                  \
    }                                                              \
  } while (0)

/* Builtin 0: the product of its Int arguments, times the factor the host passes in. */
static fusevm_value* product(fusevm_vm* vm, uint8_t argc, void* user) {
  int64_t p = *(const int64_t*)user;
  for (uint8_t k = 0; k < argc; ++k) {
    fusevm_value* v = fusevm_vm_pop(vm);
    p *= fusevm_value_to_int(v);
    fusevm_value_free(v);
  }
  return fusevm_value_int(p);
}

/* Program output collected into a buffer. */
typedef struct {
  char text[256];
  size_t len;
} sink;
static void collect(const char* bytes, size_t len, void* user) {
  sink* s = (sink*)user;
  if (s->len + len < sizeof s->text) {
    memcpy(s->text + s->len, bytes, len);
    s->len += len;
  }
}

static const char* const kProgram =
    "    LoadInt 6\n"
    "    LoadInt 7\n"
    "    CallBuiltin 0, 2\n"
    "    SetVar @answer\n"
    "    LoadConst \"answer: \"\n"
    "    GetVar @answer\n"
    "    Concat\n"
    "    PrintLn 1\n"
    "    GetVar @answer\n";

/* The embedder's own commands: Exec ops reach this instead of spawning processes. */
static int32_t run_command(fusevm_vm* vm, const char* const* argv, const size_t* lens, size_t argc, void* user) {
  (void)vm;
  sink* log = (sink*)user;
  for (size_t k = 0; k < argc; ++k) collect(argv[k], lens[k], log), collect(k + 1 < argc ? " " : "\n", 1, log);
  return argc > 0 && lens[0] == 4 && memcmp(argv[0], "true", 4) == 0 ? 0 : 3;
}

static const char* const kHotLoop = /* sum of i for i < 1,000,000, as a while loop */
    "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "top:\n    GetSlot 1\n    LoadInt 1000000\n    NumLt\n    JumpIfFalse done\n"
    "    GetSlot 0\n    GetSlot 1\n    Add\n    SetSlot 0\n"
    "    GetSlot 1\n    LoadInt 1\n    Add\n    SetSlot 1\n    Jump top\n"
    "done:\n    GetSlot 0\n";

int main(void) {
  printf("fusevm %s from C\n", fusevm_version());

  /* 1. Assemble, register a builtin, run, read the result, a global and the output. */
  fusevm_chunk* chunk = NULL;
  CHECK(fusevm_assemble(kProgram, strlen(kProgram), "embed.fasm", &chunk) == FUSEVM_OK);
  fusevm_vm* vm = fusevm_vm_new(chunk);
  fusevm_chunk_free(chunk); /* the VM keeps its own copy */
  int64_t factor = 1;
  sink out = {{0}, 0};
  CHECK(fusevm_vm_register_builtin(vm, 0, product, &factor) == FUSEVM_OK);
  fusevm_vm_set_output(vm, collect, &out);
  fusevm_value* result = NULL;
  CHECK(fusevm_vm_run(vm, &result) == FUSEVM_OK);
  CHECK(fusevm_value_kind(result) == FUSEVM_INT && fusevm_value_to_int(result) == 42);
  fusevm_value_free(result);
  CHECK(out.len == strlen("answer: 42\n") && memcmp(out.text, "answer: 42\n", out.len) == 0);
  fusevm_value* answer = NULL;
  CHECK(fusevm_vm_get_global(vm, "answer", &answer) == FUSEVM_OK);
  char* repr = fusevm_value_repr(answer);
  printf("1. program printed \"%.*s\", global answer = %s\n", (int)out.len - 1, out.text, repr);
  fusevm_free(repr);
  fusevm_value_free(answer);
  fusevm_vm_free(vm);

  /* 2. A chunk built op by op: sub double(x) = x + x, called from main with 21. */
  fusevm_builder* b = fusevm_builder_new();
  size_t jump = 0;
  const int64_t zero = 0;
  CHECK(fusevm_builder_emit(b, "Jump", &zero, 1, 1, &jump) == FUSEVM_OK); /* over the sub */
  const size_t entry = fusevm_builder_position(b);
  const int64_t slot0 = 0;
  CHECK(fusevm_builder_emit(b, "SetSlot", &slot0, 1, 2, NULL) == FUSEVM_OK);
  CHECK(fusevm_builder_emit(b, "GetSlot", &slot0, 1, 3, NULL) == FUSEVM_OK);
  CHECK(fusevm_builder_emit(b, "GetSlot", &slot0, 1, 3, NULL) == FUSEVM_OK);
  CHECK(fusevm_builder_emit(b, "Add", NULL, 0, 3, NULL) == FUSEVM_OK);
  CHECK(fusevm_builder_emit(b, "ReturnValue", NULL, 0, 3, NULL) == FUSEVM_OK);
  CHECK(fusevm_builder_add_sub(b, "double", entry) == FUSEVM_OK);
  CHECK(fusevm_builder_patch_jump(b, jump, fusevm_builder_position(b)) == FUSEVM_OK);
  uint16_t name = 0;
  CHECK(fusevm_builder_add_name(b, "double", &name) == FUSEVM_OK);
  const int64_t call[2] = {name, 1};
  const int64_t arg = 21;
  CHECK(fusevm_builder_emit(b, "LoadInt", &arg, 1, 5, NULL) == FUSEVM_OK);
  CHECK(fusevm_builder_emit(b, "Call", call, 2, 5, NULL) == FUSEVM_OK);
  const int64_t too_big = 70000; /* a u16 slot */
  CHECK(fusevm_builder_emit(b, "GetSlot", &too_big, 1, 6, NULL) == FUSEVM_INVALID_ARGUMENT);
  printf("2. builder refused an operand: %s\n", fusevm_last_error());
  fusevm_chunk* built = NULL;
  CHECK(fusevm_builder_build(b, &built) == FUSEVM_OK);
  fusevm_builder_free(b);
  vm = fusevm_vm_new(built);
  CHECK(fusevm_vm_run(vm, &result) == FUSEVM_OK && fusevm_value_to_int(result) == 42);
  fusevm_value_free(result);
  fusevm_value* seven = fusevm_value_int(7);
  const fusevm_value* args[1] = {seven};
  CHECK(fusevm_vm_call(vm, "double", args, 1, &result) == FUSEVM_OK && fusevm_value_to_int(result) == 14);
  printf("2. built %zu ops; double(7) = %lld\n", fusevm_chunk_op_count(built), (long long)fusevm_value_to_int(result));
  fusevm_value_free(result);
  fusevm_value_free(seven);
  fusevm_vm_free(vm);
  fusevm_chunk_free(built);

  /* 3. A hot loop with the JIT on (it falls back to the interpreter without the plugin).
   * The loop compiles in the background while the first run goes on interpreting; after
   * the compile has finished, a second run enters the native code. */
  CHECK(fusevm_assemble(kHotLoop, strlen(kHotLoop), "loop.fasm", &chunk) == FUSEVM_OK);
  vm = fusevm_vm_new(chunk);
  fusevm_chunk_free(chunk);
  const fusevm_code jit = fusevm_vm_enable_jit(vm, FUSEVM_JIT_ALL);
  CHECK(jit == FUSEVM_OK || jit == FUSEVM_UNAVAILABLE);
  for (int run = 0; run < 2; ++run) {
    fusevm_vm_reset(vm);
    CHECK(fusevm_vm_run(vm, &result) == FUSEVM_OK && fusevm_value_to_int(result) == 499999500000LL);
    fusevm_value_free(result);
    fusevm_jit_wait_idle();
  }
  fusevm_jit_stats stats;
  fusevm_jit_stats_get(&stats);
  if (fusevm_jit_available()) {
    CHECK(stats.block.entered + stats.trace.entered > 0);
    printf("3. sum = 499999500000; JIT entries: block %llu, trace %llu\n", (unsigned long long)stats.block.entered,
           (unsigned long long)stats.trace.entered);
  } else {
    printf("3. sum = 499999500000; no JIT: %s\n", fusevm_jit_unavailable_reason());
  }
  fusevm_vm_free(vm);

  /* 4. Errors: a call of an unknown sub is a runtime error with its line; bad text a load
   * error. */
  const char* bad = "    LoadInt 1\n    Pop\n    Call @nowhere, 0\n";
  CHECK(fusevm_assemble(bad, strlen(bad), "bad.fasm", &chunk) == FUSEVM_OK);
  vm = fusevm_vm_new(chunk);
  fusevm_chunk_free(chunk);
  CHECK(fusevm_vm_run(vm, NULL) == FUSEVM_RUNTIME_ERROR);
  CHECK(fusevm_vm_error_line(vm) == 3);
  printf("4. runtime error: %s\n", fusevm_vm_error(vm));
  fusevm_vm_free(vm);
  const char* typo = "    LoadIntt 1\n";
  CHECK(fusevm_assemble(typo, strlen(typo), "typo.fasm", &chunk) == FUSEVM_LOAD_ERROR && chunk == NULL);
  printf("4. load error: %s\n", fusevm_last_error());

  /* 5. A shell host from C callbacks: Exec goes to run_command; a NULL member would keep
   * the default (spawning the command). */
  const char* script = "    LoadConst \"deploy\"\n    LoadConst \"--now\"\n    Exec 2\n";
  CHECK(fusevm_assemble(script, strlen(script), "host.fasm", &chunk) == FUSEVM_OK);
  vm = fusevm_vm_new(chunk);
  fusevm_chunk_free(chunk);
  sink commands = {{0}, 0};
  fusevm_host host;
  memset(&host, 0, sizeof host);
  host.size = sizeof host;
  host.user = &commands;
  host.exec = run_command;
  CHECK(fusevm_vm_set_host(vm, &host) == FUSEVM_OK);
  CHECK(fusevm_vm_run(vm, &result) == FUSEVM_OK);
  CHECK(fusevm_value_kind(result) == FUSEVM_STATUS && fusevm_value_to_int(result) == 3);
  CHECK(commands.len == strlen("deploy --now\n") && memcmp(commands.text, "deploy --now\n", commands.len) == 0);
  repr = fusevm_value_repr(result);
  printf("5. the host ran \"%.*s\" -> %s\n", (int)commands.len - 1, commands.text, repr);
  fusevm_free(repr);
  fusevm_value_free(result);
  fusevm_vm_free(vm);

  if (failures != 0) {
    fprintf(stderr, "c-embed: %d check(s) failed\n", failures);
    return 1;
  }
  printf("c-embed: all checks passed\n");
  return 0;
}
