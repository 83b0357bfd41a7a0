/* fusevm's C API: build or load chunks, run them, read results and values, register
 * builtins and extension handlers as C callbacks, enable the JIT and read its counters.
 *
 * Conventions
 * - Opaque handles: fusevm_chunk, fusevm_builder, fusevm_vm, fusevm_value. Each `*_new`,
 *   loader or getter that returns a handle gives the caller one to free with the matching
 *   `*_free` (NULL is accepted by every `*_free`). Strings and byte buffers the API returns
 *   are freed with fusevm_free().
 * - Functions that can fail return a fusevm_code; the message of the last failure on the
 *   calling thread is fusevm_last_error(). No C++ exception crosses this API: one thrown
 *   inside (out of memory, say) becomes a code and a message.
 * - A fusevm_vm is used by one thread at a time; only fusevm_vm_interrupt() may be called
 *   from another thread or a signal handler. Values cross threads only as copies
 *   (fusevm_value_copy makes a deep copy).
 * - Strings are byte strings with a length; they need not be NUL-terminated on the way
 *   in, and are NUL-terminated (with the length also given) on the way out.
 */
#ifndef FUSEVM_H
#define FUSEVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* -- Codes and errors ---------------------------------------------------------------- */

typedef enum fusevm_code {
  FUSEVM_OK = 0,               /* success; a run that ended with a value (its top of stack) */
  FUSEVM_HALTED = 1,           /* a run that ended with an empty stack (no value) */
  FUSEVM_RUNTIME_ERROR = 2,    /* the program failed: fusevm_vm_error() says how */
  FUSEVM_LOAD_ERROR = 3,       /* text or bytecode refused (assembler, loader, verifier) */
  FUSEVM_INVALID_ARGUMENT = 4, /* a NULL handle, an unknown name, an operand out of range */
  FUSEVM_OUT_OF_MEMORY = 5,
  FUSEVM_IO_ERROR = 6,         /* a file could not be read */
  FUSEVM_UNAVAILABLE = 7,      /* the JIT plugin cannot be loaded */
  FUSEVM_INTERNAL_ERROR = 8    /* an unexpected exception inside fusevm */
} fusevm_code;

/* The message of the last call on this thread that did not return FUSEVM_OK (valid until
 * the thread's next failing call); "" when there was none. */
const char* fusevm_last_error(void);
/* A short name for a code ("ok", "runtime error", ...). */
const char* fusevm_code_name(fusevm_code code);
/* The library's version, "MAJOR.MINOR.PATCH". */
const char* fusevm_version(void);
/* Frees a string or buffer the API returned. */
void fusevm_free(void* p);

/* -- Values -------------------------------------------------------------------------- */

typedef struct fusevm_value fusevm_value;

typedef enum fusevm_kind {
  FUSEVM_UNDEF = 0,
  FUSEVM_BOOL = 1,
  FUSEVM_INT = 2,
  FUSEVM_FLOAT = 3,
  FUSEVM_STR = 4,
  FUSEVM_ARRAY = 5,
  FUSEVM_HASH = 6,
  FUSEVM_STATUS = 7,
  FUSEVM_REF = 8,
  FUSEVM_NATIVE_FN = 9
} fusevm_kind;

fusevm_value* fusevm_value_undef(void);
fusevm_value* fusevm_value_bool(int b);
fusevm_value* fusevm_value_int(int64_t i);
fusevm_value* fusevm_value_float(double f);
fusevm_value* fusevm_value_str(const char* bytes, size_t len);
/* An empty Array / Hash, filled with fusevm_value_array_push / fusevm_value_hash_set. */
fusevm_value* fusevm_value_array(void);
fusevm_value* fusevm_value_hash(void);
/* A deep copy (also the way to hand a value to another thread). */
fusevm_value* fusevm_value_copy(const fusevm_value* v);
void fusevm_value_free(fusevm_value* v);

fusevm_kind fusevm_value_kind(const fusevm_value* v);
/* The VM's coercions (spec/values.md): truthiness, to_int, to_float. */
int fusevm_value_truthy(const fusevm_value* v);
int64_t fusevm_value_to_int(const fusevm_value* v);
double fusevm_value_to_float(const fusevm_value* v);
/* to_str as a new NUL-terminated string (fusevm_free it); its length in *len if len. */
char* fusevm_value_to_str(const fusevm_value* v, size_t* len);
/* The debug form: Int(42), Str("a"), Array[...] (fusevm_free it). */
char* fusevm_value_repr(const fusevm_value* v);
/* Bytes of a Str, elements of an Array or Hash, else bytes of to_str. */
size_t fusevm_value_len(const fusevm_value* v);
/* Equal as ARCHITECTURE §9 defines it (same kind, floats bitwise, recursively). */
int fusevm_value_equal(const fusevm_value* a, const fusevm_value* b);

/* Arrays: append a copy of `item`; a copy of element i (NULL past the end). */
fusevm_code fusevm_value_array_push(fusevm_value* array, const fusevm_value* item);
fusevm_value* fusevm_value_array_get(const fusevm_value* array, size_t i);
/* Hashes: set key to a copy of `item`; a copy of the value at key (NULL if absent). */
fusevm_code fusevm_value_hash_set(fusevm_value* hash, const char* key, size_t key_len, const fusevm_value* item);
fusevm_value* fusevm_value_hash_get(const fusevm_value* hash, const char* key, size_t key_len);

/* -- Chunks -------------------------------------------------------------------------- */

typedef struct fusevm_chunk fusevm_chunk;

/* Assembles .fasm text; `file` names it in diagnostics (NULL: "<input>"). On
 * FUSEVM_LOAD_ERROR fusevm_last_error() holds every diagnostic, one `file:line: message`
 * per line. */
fusevm_code fusevm_assemble(const char* text, size_t len, const char* file, fusevm_chunk** out);
/* Loads a file of any format, detected by content (.fvc, reference JSON, .fasm). */
fusevm_code fusevm_load_file(const char* path, fusevm_chunk** out);
/* Reads an .fvc image from memory. */
fusevm_code fusevm_load_fvc(const uint8_t* bytes, size_t len, const char* name, fusevm_chunk** out);
/* The chunk as an .fvc image (fusevm_free *bytes). */
fusevm_code fusevm_chunk_write_fvc(const fusevm_chunk* chunk, uint8_t** bytes, size_t* len);
/* Text that assembles to an identical chunk (fusevm_free it). */
char* fusevm_chunk_disassemble(const fusevm_chunk* chunk);
/* Number of ops. */
size_t fusevm_chunk_op_count(const fusevm_chunk* chunk);
void fusevm_chunk_free(fusevm_chunk* chunk);

/* -- Building chunks ----------------------------------------------------------------- */

typedef struct fusevm_builder fusevm_builder;

fusevm_builder* fusevm_builder_new(void);
void fusevm_builder_free(fusevm_builder* b);
/* Appends a copy of `v` to the constant pool; its index in *index. */
fusevm_code fusevm_builder_add_constant(fusevm_builder* b, const fusevm_value* v, uint16_t* index);
/* Interns a name (a global variable or sub); its index in *index. */
fusevm_code fusevm_builder_add_name(fusevm_builder* b, const char* name, uint16_t* index);
/* Appends the op `mnemonic` (as in .fasm and ops.def) with its operands in declaration
 * order, each checked against its kind's range (jump targets may point forward: patch
 * them later); `line` is the source line. Its position in *pos if pos. LoadFloat takes
 * its operand through fusevm_builder_emit_float. */
fusevm_code fusevm_builder_emit(fusevm_builder* b, const char* mnemonic, const int64_t* operands, size_t count,
                                uint32_t line, size_t* pos);
fusevm_code fusevm_builder_emit_float(fusevm_builder* b, double x, uint32_t line, size_t* pos);
/* Number of ops emitted so far (the position of the next). */
size_t fusevm_builder_position(const fusevm_builder* b);
/* Sets the target of the jump at `pos`. */
fusevm_code fusevm_builder_patch_jump(fusevm_builder* b, size_t pos, size_t target);
/* Declares sub `name` starting at op `entry`. */
fusevm_code fusevm_builder_add_sub(fusevm_builder* b, const char* name, size_t entry);
/* Verifies and returns the chunk; the builder is left empty (reusable). On
 * FUSEVM_LOAD_ERROR the verifier's findings are in fusevm_last_error(). */
fusevm_code fusevm_builder_build(fusevm_builder* b, fusevm_chunk** out);

/* -- VMs ----------------------------------------------------------------------------- */

typedef struct fusevm_vm fusevm_vm;

/* A VM over a copy of `chunk` (the chunk may be freed afterwards). */
fusevm_vm* fusevm_vm_new(const fusevm_chunk* chunk);
void fusevm_vm_free(fusevm_vm* vm);

/* Runs from the current op: FUSEVM_OK (the value in *result if result), FUSEVM_HALTED
 * (no value: *result is Undef), or FUSEVM_RUNTIME_ERROR (*result NULL); an interrupted
 * run resumes with another fusevm_vm_run. */
fusevm_code fusevm_vm_run(fusevm_vm* vm, fusevm_value** result);
/* Calls sub `name` with copies of `args`. */
fusevm_code fusevm_vm_call(fusevm_vm* vm, const char* name, const fusevm_value* const* args, size_t nargs,
                           fusevm_value** result);
/* After FUSEVM_RUNTIME_ERROR: the error's text ("FILE:LINE: runtime error: ..." as the
 * CLI prints it, with the backtrace), the op it happened at and its source line. Valid
 * until the VM's next run, call or free. */
const char* fusevm_vm_error(const fusevm_vm* vm);
uint64_t fusevm_vm_error_ip(const fusevm_vm* vm);
uint32_t fusevm_vm_error_line(const fusevm_vm* vm);
/* Back to the initial state (stack, frames, globals, ip). */
void fusevm_vm_reset(fusevm_vm* vm);
/* Stops a running program at its next interrupt point (thread- and signal-safe). */
void fusevm_vm_interrupt(fusevm_vm* vm);
/* The shell's $?. */
int32_t fusevm_vm_last_status(const fusevm_vm* vm);

/* Globals by name (a name in the chunk's pool). */
fusevm_code fusevm_vm_get_global(const fusevm_vm* vm, const char* name, fusevm_value** out);
fusevm_code fusevm_vm_set_global(fusevm_vm* vm, const char* name, const fusevm_value* v);
/* The value stack (builtins take their arguments from it). */
size_t fusevm_vm_stack_size(const fusevm_vm* vm);
void fusevm_vm_push(fusevm_vm* vm, const fusevm_value* v);
/* Pops the top value (Undef when the stack is empty). */
fusevm_value* fusevm_vm_pop(fusevm_vm* vm);

/* Program output (Print, PrintLn, echo) goes to `fn` instead of fd 1. */
typedef void (*fusevm_output_fn)(const char* bytes, size_t len, void* user);
void fusevm_vm_set_output(fusevm_vm* vm, fusevm_output_fn fn, void* user);

/* Resource limits (0 in max_memory or fuel: off). fusevm_limits_default fills the defaults. */
typedef struct fusevm_limits {
  size_t max_stack;      /* values on the value stack */
  size_t max_call_depth; /* frames plus active blocks */
  size_t max_string;     /* bytes in one string */
  size_t max_array;      /* elements in one array */
  size_t max_memory;     /* approximate bytes held by heap values */
  uint64_t fuel;         /* ops per run */
} fusevm_limits;
void fusevm_limits_default(fusevm_limits* out);
void fusevm_vm_set_limits(fusevm_vm* vm, const fusevm_limits* limits);

/* Builtin `id` (CallBuiltin id, argc): pops its `argc` arguments with fusevm_vm_pop and
 * returns its result (NULL: Undef; the VM takes ownership). To fail the run, call
 * fusevm_vm_raise_error and return NULL. */
typedef fusevm_value* (*fusevm_builtin_fn)(fusevm_vm* vm, uint8_t argc, void* user);
fusevm_code fusevm_vm_register_builtin(fusevm_vm* vm, uint16_t id, fusevm_builtin_fn fn, void* user);
/* The handler of Extended(id, arg) ops: works on the stack with push and pop. */
typedef void (*fusevm_extension_fn)(fusevm_vm* vm, uint16_t id, uint8_t arg, void* user);
void fusevm_vm_set_extension_handler(fusevm_vm* vm, fusevm_extension_fn fn, void* user);
/* From inside a builtin or handler: end the run with `message`. */
void fusevm_vm_raise_error(fusevm_vm* vm, const char* message);

/* -- Shell host ---------------------------------------------------------------------- */

/* A list of strings a host callback hands back: call fusevm_list_add once per item. */
typedef struct fusevm_list fusevm_list;
void fusevm_list_add(fusevm_list* list, const char* bytes, size_t len);

/* The shell ops' host (spec/host.md) as C callbacks. Every member may be NULL: that op
 * keeps the default behaviour of fusevm's base host (exec spawns the command through
 * PATH, glob walks the file system, ...). Strings arrive as (pointer, length) pairs,
 * NUL-terminated. `vm` is the VM the host was set on (also for the child VMs of command
 * substitutions and traps, which share it). Set `size` to sizeof(fusevm_host): a
 * program built against an older, shorter table gets NULL for the members added since. */
typedef struct fusevm_host {
  size_t size;
  void* user; /* passed to every callback */
  /* Exec: run argv[0..argc) and wait; its exit status (127: cannot start). */
  int32_t (*exec)(fusevm_vm* vm, const char* const* argv, const size_t* lens, size_t argc, void* user);
  /* ExecBg: start it in the background; its pid, 0 on failure. */
  int32_t (*exec_bg)(fusevm_vm* vm, const char* const* argv, const size_t* lens, size_t argc, void* user);
  /* Glob: add each match to `out` (none: no match). */
  void (*glob)(fusevm_vm* vm, const char* pattern, size_t len, int recursive, fusevm_list* out, void* user);
  /* ExpandParam: the value of ${name} with modifier `mod` and its args; NULL for Str(""). */
  fusevm_value* (*expand_param)(fusevm_vm* vm, const char* name, size_t len, uint8_t mod,
                                const fusevm_value* const* args, size_t nargs, void* user);
  /* CallFunction: a shell function's status; return 0 and leave *status alone for "not a
   * function", 1 when it ran. */
  int (*call_function)(fusevm_vm* vm, const char* name, size_t len, const char* const* args,
                       const size_t* lens, size_t nargs, int32_t* status, void* user);
  /* StrMatch: 1 if `s` matches the shell pattern. */
  int (*str_match)(fusevm_vm* vm, const char* s, size_t s_len, const char* pattern, size_t p_len, void* user);
} fusevm_host;

/* Installs a host built from `host` (copied; NULL removes the host: shell ops then behave
 * as without one). */
fusevm_code fusevm_vm_set_host(fusevm_vm* vm, const fusevm_host* host);

/* -- JIT ----------------------------------------------------------------------------- */

enum {
  FUSEVM_JIT_OFF = 0,
  FUSEVM_JIT_LINEAR = 1,
  FUSEVM_JIT_BLOCK = 2,
  FUSEVM_JIT_TRACE = 4,
  FUSEVM_JIT_ALL = 7
};
/* Lets the VM compile hot code with `tiers` (a FUSEVM_JIT_* set). FUSEVM_UNAVAILABLE (and
 * the VM interprets) when the plugin cannot be loaded. */
fusevm_code fusevm_vm_enable_jit(fusevm_vm* vm, unsigned tiers);
/* 1 when the JIT plugin can be loaded; else 0, and fusevm_jit_unavailable_reason says why. */
int fusevm_jit_available(void);
const char* fusevm_jit_unavailable_reason(void);

typedef struct fusevm_jit_tier_stats {
  uint64_t compiled, cached, failed, entered, call_outs, fell_back, compile_ns;
} fusevm_jit_tier_stats;
typedef struct fusevm_jit_stats {
  int available;
  fusevm_jit_tier_stats linear, block, trace;
} fusevm_jit_stats;
/* The process's JIT counters (all VMs share one engine). */
void fusevm_jit_stats_get(fusevm_jit_stats* out);
/* Waits until every queued compile has finished (VMs compile in the background). */
void fusevm_jit_wait_idle(void);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* FUSEVM_H */
