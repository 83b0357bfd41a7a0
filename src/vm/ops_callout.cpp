// Out-of-line call-outs: CallBuiltin, Extended, ExtendedWide (spec/chunk-and-vm.md §7–8).
#include <exception>

#include "vm/interp.hpp"

namespace fusevm {


OpStatus exec_callout_op(VMState& st, VM& vm, const Insn& in) {
  const uint16_t id = in.a;
  const uint64_t next_ip = st.ip;
  switch (static_cast<OpCode>(in.op)) {
    case OpCode::CallBuiltin: {
      // Unregistered id: nothing happens, arguments stay (spec/ops.md §18).
      if (id >= st.builtins.size() || !st.builtins[id]) return OpStatus::Next;
      Value r;
      // No copy: while it runs, registering builtins keeps this table alive
      // (VMState::builtins_running).
      const BuiltinFn& fn = st.builtins[id];
      ++st.builtins_running;
      const bool ok = contained_call(st, [id] { return "builtin " + std::to_string(id); },
                                     [&] { r = fn(vm, static_cast<uint8_t>(in.b)); });
      if (--st.builtins_running == 0 && !st.retired_builtins.empty()) st.retired_builtins.clear();
      if (!ok) return OpStatus::Error;
      if (!stack_push(st, std::move(r))) return OpStatus::Error;
      break;
    }
    case OpCode::Extended: {
      if (!st.ext_handler) return OpStatus::Next;
      // Detached during the call, so a re-entrant Extended is a no-op (as the reference);
      // unlike the reference, a replacement installed by the handler is kept.
      ExtensionHandler h = std::move(st.ext_handler);
      st.ext_handler = nullptr;
      const bool ok = contained_call(st, [id] { return "extension " + std::to_string(id); },
                                [&] { h(vm, id, static_cast<uint8_t>(in.b)); });
      if (!st.ext_handler) st.ext_handler = std::move(h);
      if (!ok) return OpStatus::Error;
      break;
    }
    case OpCode::ExtendedWide: {
      if (!st.ext_wide_handler) return OpStatus::Next;
      ExtensionWideHandler h = std::move(st.ext_wide_handler);
      st.ext_wide_handler = nullptr;
      const bool ok = contained_call(st, [id] { return "extension " + std::to_string(id); },
                                [&] { h(vm, id, in.w.u); });
      if (!st.ext_wide_handler) st.ext_wide_handler = std::move(h);
      if (!ok) return OpStatus::Error;
      break;
    }
    default:
      st.set_error("internal: op routed to call-outs by mistake", st.ip - 1);
      return OpStatus::Error;
  }
  // The handler may have jumped by assigning vm.ip.
  return st.ip == next_ip ? OpStatus::Next : OpStatus::Jumped;
}

}  // namespace fusevm
