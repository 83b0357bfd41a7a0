// The dispatch loop's entry point and the out-of-line op families it calls.
#pragma once

#include <exception>
#include <string>

#include "vm/code.hpp"
#include "vm/vm_state.hpp"

namespace fusevm {

/// Outcome of an out-of-line op body.
enum class OpStatus : uint8_t {
  Next,    ///< continue with the next op
  Jumped,  ///< continue at st.ip (the op or a handler changed it)
  Error,   ///< st.error is set
  Exit,    ///< the whole run ended inside (st.exit_reason says how)
};

class Interp {
 public:
  /// Run from `pc` in stream `cur` until an exit (end, halt, block end, call return,
  /// error). On return the stack is synced and st.ip/st.cur_stream name the next op.
  static ExitReason execute(VMState& st, VM& vm, CodeStream* cur, const Insn* pc);

 private:
  template <bool kMetered>
  static ExitReason run_loop(VMState& st, VM& vm, CodeStream* cur, const Insn* pc);
  static bool ensure_stack(VMState& st, size_t n);
  static Value* stack_end(VMState& st);
};

// Out-of-line op families. Preconditions: st.stack is synced, st.ip is the NEXT op's
// index and st.cur_stream the current stream. They may push, pop, jump (set st.ip and
// return Jumped) or fail (set st.error and return Error).
OpStatus exec_collection_op(VMState& st, const Insn& in);
OpStatus exec_shell_op(VMState& st, VM& vm, const Insn& in);
OpStatus exec_block_op(VMState& st, VM& vm, const Insn& in);
OpStatus exec_io_op(VMState& st, const Insn& in);
OpStatus exec_callout_op(VMState& st, VM& vm, const Insn& in);

/// Push a call frame for an in-chunk function and continue at `entry` (Exec and
/// CallFunction without a host): args are pushed as Str values.
OpStatus enter_function(VMState& st, uint64_t entry, const std::vector<std::string>& args);

/// Pop the top value for an out-of-line op (Undef when empty: pop-with-default).
inline Value stack_pop(VMState& st) {
  if (st.stack.empty()) return Value();
  Value v = std::move(st.stack.back());
  st.stack.pop_back();
  return v;
}

/// Push a result of an out-of-line op; false (with the error set) past max_stack.
inline bool stack_push(VMState& st, Value v) {
  if (st.stack.size() >= st.limits.max_stack) {
    st.set_limit_error("value stack", st.limits.max_stack, st.ip - 1);
    return false;
  }
  st.stack.push_back(std::move(v));
  return true;
}

/// Run a call-out (builtin, extension handler, host method): an exception it throws, or
/// an error it raised with VM::raise_error, ends the run with an error naming what
/// `name()` returns. The name is made only then: building it for every call cost a
/// builtin call a fifth of its time.
template <class Name, class F>
bool contained_call(VMState& st, Name&& name, F&& fn) {
  try {
    fn();
  } catch (const StringLimitExceeded& e) {  // a value's text it made passed the string limit
    st.set_limit_error("string size", e.limit, st.ip - 1);
    return false;
  } catch (const std::exception& e) {
    st.set_error(std::string(name()) + " threw: " + e.what(), st.ip - 1);
    return false;
  } catch (...) {
    st.set_error(std::string(name()) + " threw an unknown exception", st.ip - 1);
    return false;
  }
  if (st.has_pending_error) {
    st.has_pending_error = false;
    st.set_error(std::move(st.pending_error), st.ip - 1);
    st.pending_error.clear();
    return false;
  }
  return true;
}

/// Report a limit breach unless `n <= max`.
inline bool within(VMState& st, const char* name, uint64_t n, uint64_t max) {
  if (n <= max) return true;
  st.set_limit_error(name, max, st.ip == 0 ? 0 : st.ip - 1);
  return false;
}

}  // namespace fusevm
