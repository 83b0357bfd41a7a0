// The C API (include/fusevm/fusevm.h) over the C++ one. Every entry point catches what
// the C++ side may throw (no exception crosses into C), and a failure leaves its message
// in a thread-local for fusevm_last_error().
#include "fusevm/fusevm.h"

#include "capi/capi_internal.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fusevm/fusevm.hpp"
#include "fusevm/jit.hpp"

namespace {

using namespace fusevm_capi;

fusevm_code loaded(fusevm::LoadResult r, std::string file, fusevm_chunk** out) {
  if (!r.ok()) return fail(FUSEVM_LOAD_ERROR, r.message());
  *out = new fusevm_chunk{std::move(*r.chunk), std::move(file)};
  return FUSEVM_OK;
}

// The result of a run or call, as a code (and *result).
fusevm_code finished(fusevm_vm* vm, const fusevm::VMResult& r, fusevm_value** result) {
  if (result != nullptr) *result = nullptr;
  if (r.is_error()) {
    vm->error = r.error();
    vm->error_text = r.error().report(vm->file);
    while (!vm->error_text.empty() && vm->error_text.back() == '\n') vm->error_text.pop_back();
    return fail(FUSEVM_RUNTIME_ERROR, vm->error_text);
  }
  if (result != nullptr) *result = wrap(r.value());
  return r.is_halted() ? FUSEVM_HALTED : FUSEVM_OK;
}

void clear_error(fusevm_vm* vm) {
  vm->error.reset();
  vm->error_text.clear();
}

}  // namespace

std::string& fusevm_capi::last_error() {
  thread_local std::string message;
  return message;
}

extern "C" {

// -- Codes and errors ----------------------------------------------------------------------

const char* fusevm_last_error(void) { return last_error().c_str(); }

const char* fusevm_code_name(fusevm_code code) {
  switch (code) {
    case FUSEVM_OK: return "ok";
    case FUSEVM_HALTED: return "halted";
    case FUSEVM_RUNTIME_ERROR: return "runtime error";
    case FUSEVM_LOAD_ERROR: return "load error";
    case FUSEVM_INVALID_ARGUMENT: return "invalid argument";
    case FUSEVM_OUT_OF_MEMORY: return "out of memory";
    case FUSEVM_IO_ERROR: return "i/o error";
    case FUSEVM_UNAVAILABLE: return "unavailable";
    case FUSEVM_INTERNAL_ERROR: return "internal error";
  }
  return "unknown code";
}

const char* fusevm_version(void) { return FUSEVM_VERSION_STRING; }

void fusevm_free(void* p) { std::free(p); }

// -- Values --------------------------------------------------------------------------------

fusevm_value* fusevm_value_undef(void) {
  return guarded_ptr([] { return wrap(fusevm::Value()); });
}
fusevm_value* fusevm_value_bool(int b) {
  return guarded_ptr([b] { return wrap(fusevm::Value::Bool(b != 0)); });
}
fusevm_value* fusevm_value_int(int64_t i) {
  return guarded_ptr([i] { return wrap(fusevm::Value::Int(i)); });
}
fusevm_value* fusevm_value_float(double f) {
  return guarded_ptr([f] { return wrap(fusevm::Value::Float(f)); });
}
fusevm_value* fusevm_value_str(const char* bytes, size_t len) {
  if (bytes == nullptr && len != 0) return nullptr;
  return guarded_ptr([&] { return wrap(fusevm::Value::Str(std::string(bytes == nullptr ? "" : bytes, len))); });
}
fusevm_value* fusevm_value_array(void) {
  return guarded_ptr([] { return wrap(fusevm::Value::Array(fusevm::ValueArray{})); });
}
fusevm_value* fusevm_value_hash(void) {
  return guarded_ptr([] { return wrap(fusevm::Value::Hash(fusevm::HashMap{})); });
}
fusevm_value* fusevm_value_copy(const fusevm_value* v) {
  if (v == nullptr) return nullptr;
  return guarded_ptr([v] { return wrap(v->v.deep_copy()); });
}
void fusevm_value_free(fusevm_value* v) { delete v; }

fusevm_kind fusevm_value_kind(const fusevm_value* v) {
  return v == nullptr ? FUSEVM_UNDEF : static_cast<fusevm_kind>(v->v.kind());
}
int fusevm_value_truthy(const fusevm_value* v) { return v != nullptr && v->v.is_truthy() ? 1 : 0; }
int64_t fusevm_value_to_int(const fusevm_value* v) { return v == nullptr ? 0 : v->v.to_int(); }
double fusevm_value_to_float(const fusevm_value* v) { return v == nullptr ? 0.0 : v->v.to_float(); }
char* fusevm_value_to_str(const fusevm_value* v, size_t* len) {
  return guarded_ptr([&] { return c_string(v == nullptr ? std::string() : v->v.to_str(), len); });
}
char* fusevm_value_repr(const fusevm_value* v) {
  return guarded_ptr([&] { return c_string(v == nullptr ? std::string("Undef") : v->v.repr()); });
}
size_t fusevm_value_len(const fusevm_value* v) { return v == nullptr ? 0 : v->v.len(); }
int fusevm_value_equal(const fusevm_value* a, const fusevm_value* b) {
  const fusevm::Value undef;
  return (a == nullptr ? undef : a->v) == (b == nullptr ? undef : b->v) ? 1 : 0;
}

fusevm_code fusevm_value_array_push(fusevm_value* array, const fusevm_value* item) {
  if (array == nullptr) return null_argument("array");
  if (!array->v.is_array()) return fail(FUSEVM_INVALID_ARGUMENT, "not an Array");
  return guarded([&] {
    array->v.array_mut().push_back(item == nullptr ? fusevm::Value() : item->v);
    array->v.refresh_accounting();
    return FUSEVM_OK;
  });
}
fusevm_value* fusevm_value_array_get(const fusevm_value* array, size_t i) {
  if (array == nullptr || !array->v.is_array() || i >= array->v.as_array().size()) return nullptr;
  return guarded_ptr([&] { return wrap(array->v.as_array()[i]); });
}
fusevm_code fusevm_value_hash_set(fusevm_value* hash, const char* key, size_t key_len, const fusevm_value* item) {
  if (hash == nullptr) return null_argument("hash");
  if (key == nullptr && key_len != 0) return null_argument("key");
  if (!hash->v.is_hash()) return fail(FUSEVM_INVALID_ARGUMENT, "not a Hash");
  return guarded([&] {
    hash->v.hash_mut().insert_or_assign(std::string(key == nullptr ? "" : key, key_len),
                                        item == nullptr ? fusevm::Value() : item->v);
    hash->v.refresh_accounting();
    return FUSEVM_OK;
  });
}
fusevm_value* fusevm_value_hash_get(const fusevm_value* hash, const char* key, size_t key_len) {
  if (hash == nullptr || !hash->v.is_hash() || (key == nullptr && key_len != 0)) return nullptr;
  const fusevm::Value* found = hash->v.as_hash().find(std::string_view(key == nullptr ? "" : key, key_len));
  if (found == nullptr) return nullptr;
  return guarded_ptr([&] { return wrap(*found); });
}

// -- Chunks --------------------------------------------------------------------------------

fusevm_code fusevm_assemble(const char* text, size_t len, const char* file, fusevm_chunk** out) {
  if (out == nullptr) return null_argument("out");
  *out = nullptr;
  if (text == nullptr && len != 0) return null_argument("text");
  return guarded([&] {
    const std::string name = file ? file : "<input>";
    return loaded(fusevm::assemble(std::string_view(text == nullptr ? "" : text, len), name), name, out);
  });
}

fusevm_code fusevm_load_file(const char* path, fusevm_chunk** out) {
  if (out == nullptr) return null_argument("out");
  *out = nullptr;
  if (path == nullptr) return null_argument("path");
  // An unreadable file is an I/O error, not a load error (the loader says the same in a
  // diagnostic, but the caller may want to tell the two apart).
  if (std::FILE* f = std::fopen(path, "rb")) {
    std::fclose(f);
  } else {
    return fail(FUSEVM_IO_ERROR, std::string(path) + ": " + std::strerror(errno));
  }
  return guarded([&] { return loaded(fusevm::load_chunk_file(path), path, out); });
}

fusevm_code fusevm_load_fvc(const uint8_t* bytes, size_t len, const char* name, fusevm_chunk** out) {
  if (out == nullptr) return null_argument("out");
  *out = nullptr;
  if (bytes == nullptr && len != 0) return null_argument("bytes");
  return guarded([&] {
    const std::string file = name ? name : "<fvc>";
    return loaded(fusevm::read_fvc(std::span<const uint8_t>(bytes, len), file), file, out);
  });
}

fusevm_code fusevm_chunk_write_fvc(const fusevm_chunk* chunk, uint8_t** bytes, size_t* len) {
  if (chunk == nullptr) return null_argument("chunk");
  if (bytes == nullptr || len == nullptr) return null_argument("bytes or len");
  *bytes = nullptr;
  *len = 0;
  return guarded([&] {
    const std::vector<uint8_t> image = fusevm::write_fvc(chunk->c);
    auto* out = static_cast<uint8_t*>(std::malloc(image.empty() ? 1 : image.size()));
    if (out == nullptr) throw std::bad_alloc();
    if (!image.empty()) std::memcpy(out, image.data(), image.size());
    *bytes = out;
    *len = image.size();
    return FUSEVM_OK;
  });
}

char* fusevm_chunk_disassemble(const fusevm_chunk* chunk) {
  if (chunk == nullptr) return nullptr;
  return guarded_ptr([&] { return c_string(fusevm::disassemble(chunk->c)); });
}

size_t fusevm_chunk_op_count(const fusevm_chunk* chunk) { return chunk == nullptr ? 0 : chunk->c.ops.size(); }

void fusevm_chunk_free(fusevm_chunk* chunk) { delete chunk; }

// -- Building chunks -----------------------------------------------------------------------

fusevm_builder* fusevm_builder_new(void) {
  return guarded_ptr([] { return new fusevm_builder(); });
}
void fusevm_builder_free(fusevm_builder* b) { delete b; }

fusevm_code fusevm_builder_add_constant(fusevm_builder* b, const fusevm_value* v, uint16_t* index) {
  if (b == nullptr) return null_argument("builder");
  return guarded([&] {
    const uint16_t k = b->b.add_constant(v == nullptr ? fusevm::Value() : v->v.deep_copy());
    if (index != nullptr) *index = k;
    return FUSEVM_OK;
  });
}

fusevm_code fusevm_builder_add_name(fusevm_builder* b, const char* name, uint16_t* index) {
  if (b == nullptr) return null_argument("builder");
  if (name == nullptr) return null_argument("name");
  return guarded([&] {
    const uint16_t k = b->b.add_name(name);
    if (index != nullptr) *index = k;
    return FUSEVM_OK;
  });
}

fusevm_code fusevm_builder_emit(fusevm_builder* b, const char* mnemonic, const int64_t* operands, size_t count,
                                uint32_t line, size_t* pos) {
  if (b == nullptr) return null_argument("builder");
  if (mnemonic == nullptr) return null_argument("mnemonic");
  if (operands == nullptr && count != 0) return null_argument("operands");
  const std::optional<fusevm::OpCode> code = fusevm::op_from_name(mnemonic);
  if (!code) return fail(FUSEVM_INVALID_ARGUMENT, std::string("unknown mnemonic '") + mnemonic + "'");
  const fusevm::OpInfo& info = fusevm::op_info(*code);
  if (count != info.num_operands) {
    return fail(FUSEVM_INVALID_ARGUMENT, std::string(info.name) + " takes " + std::to_string(info.num_operands) +
                                             " operand(s), got " + std::to_string(count));
  }
  fusevm::Op op(*code);
  for (size_t k = 0; k < count; ++k) {
    const fusevm::OperandKind kind = info.kinds[k];
    const int64_t x = operands[k];
    bool fits = true;
    switch (kind) {
      case fusevm::OperandKind::F64:
        return fail(FUSEVM_INVALID_ARGUMENT, "LoadFloat's operand is a double: use fusevm_builder_emit_float");
      case fusevm::OperandKind::I64: break;
      case fusevm::OperandKind::Limit: fits = x >= INT32_MIN && x <= INT32_MAX; break;
      case fusevm::OperandKind::Target: case fusevm::OperandKind::Payload: fits = x >= 0; break;
      default: fits = x >= 0 && uint64_t(x) < (uint64_t{1} << (8 * fusevm::operand_width(kind))); break;
    }
    if (!fits) {
      return fail(FUSEVM_INVALID_ARGUMENT, "operand " + std::to_string(k + 1) + " of " + std::string(info.name) + " (" +
                                               std::string(fusevm::operand_kind_name(kind)) +
                                               ") out of range: " + std::to_string(x));
    }
    op.set_raw_operand(k, static_cast<uint64_t>(x));
  }
  return guarded([&] {
    const size_t at = b->b.emit(op, line);
    if (pos != nullptr) *pos = at;
    return FUSEVM_OK;
  });
}

fusevm_code fusevm_builder_emit_float(fusevm_builder* b, double x, uint32_t line, size_t* pos) {
  if (b == nullptr) return null_argument("builder");
  return guarded([&] {
    const size_t at = b->b.emit(fusevm::Op::LoadFloat(x), line);
    if (pos != nullptr) *pos = at;
    return FUSEVM_OK;
  });
}

size_t fusevm_builder_position(const fusevm_builder* b) { return b == nullptr ? 0 : b->b.current_pos(); }

fusevm_code fusevm_builder_patch_jump(fusevm_builder* b, size_t pos, size_t target) {
  if (b == nullptr) return null_argument("builder");
  if (pos >= b->b.current_pos()) return fail(FUSEVM_INVALID_ARGUMENT, "no op at " + std::to_string(pos));
  return guarded([&] {
    b->b.patch_jump(pos, target);
    return FUSEVM_OK;
  });
}

fusevm_code fusevm_builder_add_sub(fusevm_builder* b, const char* name, size_t entry) {
  if (b == nullptr) return null_argument("builder");
  if (name == nullptr) return null_argument("name");
  return guarded([&] {
    b->b.add_sub_entry(b->b.add_name(name), entry);
    return FUSEVM_OK;
  });
}

fusevm_code fusevm_builder_build(fusevm_builder* b, fusevm_chunk** out) {
  if (out == nullptr) return null_argument("out");
  *out = nullptr;
  if (b == nullptr) return null_argument("builder");
  return guarded([&] {
    fusevm::Chunk c = b->b.build();
    const std::vector<fusevm::Diagnostic> found = fusevm::verify(c, "<builder>");
    if (!found.empty()) {
      std::string text;
      for (const fusevm::Diagnostic& d : found) text += d.to_string() + "\n";
      return fail(FUSEVM_LOAD_ERROR, text);
    }
    *out = new fusevm_chunk{std::move(c), "<builder>"};
    return FUSEVM_OK;
  });
}

// -- VMs -----------------------------------------------------------------------------------

fusevm_vm* fusevm_vm_new(const fusevm_chunk* chunk) {
  if (chunk == nullptr) {
    null_argument("chunk");
    return nullptr;
  }
  return guarded_ptr([&] { return new fusevm_vm(chunk->c.deep_copy(), chunk->file); });
}
void fusevm_vm_free(fusevm_vm* vm) { delete vm; }

fusevm_code fusevm_vm_run(fusevm_vm* vm, fusevm_value** result) {
  if (result != nullptr) *result = nullptr;
  if (vm == nullptr) return null_argument("vm");
  return guarded([&] {
    clear_error(vm);
    return finished(vm, vm->vm.run(), result);
  });
}

fusevm_code fusevm_vm_call(fusevm_vm* vm, const char* name, const fusevm_value* const* args, size_t nargs,
                           fusevm_value** result) {
  if (result != nullptr) *result = nullptr;
  if (vm == nullptr) return null_argument("vm");
  if (name == nullptr) return null_argument("name");
  if (args == nullptr && nargs != 0) return null_argument("args");
  return guarded([&] {
    clear_error(vm);
    std::vector<fusevm::Value> values;
    values.reserve(nargs);
    for (size_t k = 0; k < nargs; ++k) values.push_back(args[k] == nullptr ? fusevm::Value() : args[k]->v);
    return finished(vm, vm->vm.call(name, std::move(values)), result);
  });
}

const char* fusevm_vm_error(const fusevm_vm* vm) {
  return vm == nullptr || !vm->error ? nullptr : vm->error_text.c_str();
}
uint64_t fusevm_vm_error_ip(const fusevm_vm* vm) { return vm == nullptr || !vm->error ? 0 : vm->error->ip; }
uint32_t fusevm_vm_error_line(const fusevm_vm* vm) { return vm == nullptr || !vm->error ? 0 : vm->error->line; }

void fusevm_vm_reset(fusevm_vm* vm) {
  if (vm == nullptr) return;
  clear_error(vm);
  vm->vm.reset();
}
void fusevm_vm_interrupt(fusevm_vm* vm) {
  if (vm != nullptr) vm->vm.interrupt();
}
int32_t fusevm_vm_last_status(const fusevm_vm* vm) { return vm == nullptr ? 0 : vm->vm.last_status(); }

fusevm_code fusevm_vm_get_global(const fusevm_vm* vm, const char* name, fusevm_value** out) {
  if (out == nullptr) return null_argument("out");
  *out = nullptr;
  if (vm == nullptr) return null_argument("vm");
  if (name == nullptr) return null_argument("name");
  const std::optional<uint16_t> k = vm->vm.chunk().find_name(name);
  if (!k) return fail(FUSEVM_INVALID_ARGUMENT, std::string("no global named '") + name + "' in the chunk");
  return guarded([&] {
    auto& globals = const_cast<fusevm::VM&>(vm->vm).globals();
    *out = wrap(*k < globals.size() ? globals[*k] : fusevm::Value());
    return FUSEVM_OK;
  });
}

fusevm_code fusevm_vm_set_global(fusevm_vm* vm, const char* name, const fusevm_value* v) {
  if (vm == nullptr) return null_argument("vm");
  if (name == nullptr) return null_argument("name");
  const std::optional<uint16_t> k = vm->vm.chunk().find_name(name);
  if (!k) return fail(FUSEVM_INVALID_ARGUMENT, std::string("no global named '") + name + "' in the chunk");
  return guarded([&] {
    auto& globals = vm->vm.globals();
    if (globals.size() <= *k) globals.resize(*k + 1u);
    globals[*k] = v == nullptr ? fusevm::Value() : v->v;
    return FUSEVM_OK;
  });
}

size_t fusevm_vm_stack_size(const fusevm_vm* vm) {
  return vm == nullptr ? 0 : const_cast<fusevm::VM&>(vm->vm).stack().size();
}
void fusevm_vm_push(fusevm_vm* vm, const fusevm_value* v) {
  if (vm == nullptr) return;
  guarded([&] {
    vm->vm.push(v == nullptr ? fusevm::Value() : v->v);
    return FUSEVM_OK;
  });
}
fusevm_value* fusevm_vm_pop(fusevm_vm* vm) {
  if (vm == nullptr) return nullptr;
  return guarded_ptr([&] { return wrap(vm->vm.pop()); });
}

void fusevm_vm_set_output(fusevm_vm* vm, fusevm_output_fn fn, void* user) {
  if (vm == nullptr) return;
  if (fn == nullptr) {
    vm->vm.set_output(nullptr);
    return;
  }
  vm->vm.set_output([fn, user](std::string_view bytes) { fn(bytes.data(), bytes.size(), user); });
}

void fusevm_limits_default(fusevm_limits* out) {
  if (out == nullptr) return;
  const fusevm::Limits l;
  *out = fusevm_limits{l.max_stack, l.max_call_depth, l.max_string, l.max_array, l.max_memory, l.fuel};
}

void fusevm_vm_set_limits(fusevm_vm* vm, const fusevm_limits* limits) {
  if (vm == nullptr || limits == nullptr) return;
  fusevm::Limits l;
  l.max_stack = limits->max_stack;
  l.max_call_depth = limits->max_call_depth;
  l.max_string = limits->max_string;
  l.max_array = limits->max_array;
  l.max_memory = limits->max_memory;
  l.fuel = limits->fuel;
  vm->vm.set_limits(l);
}

fusevm_code fusevm_vm_register_builtin(fusevm_vm* vm, uint16_t id, fusevm_builtin_fn fn, void* user) {
  if (vm == nullptr) return null_argument("vm");
  if (fn == nullptr) return null_argument("fn");
  return guarded([&] {
    // The callback sees its own handle: the lambda keeps the pointer, and the handle owns
    // the VM, so it lives as long as the VM does.
    vm->vm.register_builtin(id, [vm, fn, user](fusevm::VM&, uint8_t argc) {
      std::unique_ptr<fusevm_value> r(fn(vm, argc, user));
      return r ? std::move(r->v) : fusevm::Value();
    });
    return FUSEVM_OK;
  });
}

void fusevm_vm_set_extension_handler(fusevm_vm* vm, fusevm_extension_fn fn, void* user) {
  if (vm == nullptr) return;
  if (fn == nullptr) {
    vm->vm.set_extension_handler(nullptr);
    return;
  }
  vm->vm.set_extension_handler([vm, fn, user](fusevm::VM&, uint16_t id, uint8_t arg) { fn(vm, id, arg, user); });
}

void fusevm_vm_raise_error(fusevm_vm* vm, const char* message) {
  if (vm == nullptr) return;
  guarded([&] {
    vm->vm.raise_error(message == nullptr ? "error" : message);
    return FUSEVM_OK;
  });
}

// -- JIT -----------------------------------------------------------------------------------

fusevm_code fusevm_vm_enable_jit(fusevm_vm* vm, unsigned tiers) {
  if (vm == nullptr) return null_argument("vm");
  if (tiers > FUSEVM_JIT_ALL) return fail(FUSEVM_INVALID_ARGUMENT, "tiers is not a set of FUSEVM_JIT_* bits");
  return guarded([&] {
    vm->vm.enable_jit(static_cast<fusevm::JitTiers>(tiers));
    if (tiers != FUSEVM_JIT_OFF && !fusevm::JitCompiler::available()) {
      return fail(FUSEVM_UNAVAILABLE, fusevm::JitCompiler::unavailable_reason());
    }
    return FUSEVM_OK;
  });
}

int fusevm_jit_available(void) { return fusevm::JitCompiler::available() ? 1 : 0; }

const char* fusevm_jit_unavailable_reason(void) {
  thread_local std::string reason;
  reason = fusevm::JitCompiler::unavailable_reason();
  return reason.c_str();
}

void fusevm_jit_stats_get(fusevm_jit_stats* out) {
  if (out == nullptr) return;
  const fusevm::JitStats s = fusevm::JitCompiler::stats();
  auto tier = [](const fusevm::JitTierStats& t) {
    return fusevm_jit_tier_stats{t.compiled, t.cached, t.failed, t.entered, t.call_outs, t.fell_back, t.compile_ns};
  };
  out->available = s.available ? 1 : 0;
  out->linear = tier(s.linear);
  out->block = tier(s.block);
  out->trace = tier(s.trace);
}

void fusevm_jit_wait_idle(void) { fusevm::JitCompiler::wait_idle(); }

}  // extern "C"
