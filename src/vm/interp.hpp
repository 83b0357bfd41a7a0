// The dispatch loop's entry point and the out-of-line op families it calls.
#pragma once

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

/// Report a limit breach unless `n <= max`.
inline bool within(VMState& st, const char* name, uint64_t n, uint64_t max) {
  if (n <= max) return true;
  st.set_limit_error(name, max, st.ip == 0 ? 0 : st.ip - 1);
  return false;
}

}  // namespace fusevm
