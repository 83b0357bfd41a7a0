// GDB JIT-interface and perf jitdump plugins for the engine's object linking layer.
#include "jit_llvm/debug_support.hpp"

#include <cstdlib>
#include <mutex>
#include <vector>

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/DebugObjectManagerPlugin.h>
#include <llvm/ExecutionEngine/Orc/Debugging/PerfSupportPlugin.h>
#include <llvm/ExecutionEngine/Orc/EPCDebugObjectRegistrar.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/ExecutionEngine/Orc/TargetProcess/JITLoaderGDB.h>
#include <llvm/ExecutionEngine/Orc/TargetProcess/JITLoaderPerf.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>

// Defined by LLVM's OrcTargetProcess library, linked into this plugin: GDB sets a
// breakpoint on the function and walks the descriptor's list.
extern "C" {
extern struct jit_descriptor __jit_debug_descriptor;
void __jit_debug_register_code();
}

namespace fusevm::jit_llvm {

namespace {

// Guards our edits of GDB's list against registrations from other engines. LLVM takes its
// own lock inside registration too; this one makes our unlinking atomic with respect to it.
std::mutex& gdb_list_mutex() {
  static std::mutex m;
  return m;
}

std::mutex g_jitdump_mutex;
bool g_jitdump_taken = false;

}  // namespace

class GdbRegistrations {
 public:
  std::vector<const char*> symfiles;  // start of each debug object registered with GDB
};

namespace {

// Calls LLVM's in-process registration function directly (by address: this plugin hides
// its symbols, so ORC's lookup of it by name would fail) and remembers what it registered.
class TrackingRegistrar final : public llvm::orc::DebugObjectRegistrar {
 public:
  TrackingRegistrar(llvm::orc::ExecutionSession& es, std::shared_ptr<GdbRegistrations> regs)
      : inner_(es, llvm::orc::ExecutorAddr::fromPtr(&llvm_orc_registerJITLoaderGDBWrapper)),
        regs_(std::move(regs)) {}

  llvm::Error registerDebugObject(llvm::orc::ExecutorAddrRange mem, bool auto_register) override {
    std::lock_guard<std::mutex> lock(gdb_list_mutex());
    if (llvm::Error err = inner_.registerDebugObject(mem, auto_register)) return err;
    regs_->symfiles.push_back(mem.Start.toPtr<const char*>());
    return llvm::Error::success();
  }

 private:
  llvm::orc::EPCDebugObjectRegistrar inner_;
  std::shared_ptr<GdbRegistrations> regs_;
};

}  // namespace

std::shared_ptr<GdbRegistrations> enable_gdb(llvm::orc::ObjectLinkingLayer& layer,
                                             llvm::orc::ExecutionSession& es) {
  auto regs = std::make_shared<GdbRegistrations>();
  // Objects have no DWARF: GDB still gets the symbol table, so backtraces name JIT frames.
  layer.addPlugin(std::make_unique<llvm::orc::DebugObjectManagerPlugin>(
      es, std::make_unique<TrackingRegistrar>(es, regs), /*RequireDebugSections=*/false,
      /*AutoRegisterCode=*/true));
  return regs;
}

void withdraw_gdb(GdbRegistrations& regs) {
  std::lock_guard<std::mutex> lock(gdb_list_mutex());
  for (const char* symfile : regs.symfiles) {
    for (jit_code_entry* e = __jit_debug_descriptor.first_entry; e != nullptr; e = e->next_entry) {
      if (e->symfile_addr != symfile) continue;
      if (e->prev_entry != nullptr) {
        e->prev_entry->next_entry = e->next_entry;
      } else {
        __jit_debug_descriptor.first_entry = e->next_entry;
      }
      if (e->next_entry != nullptr) e->next_entry->prev_entry = e->prev_entry;
      __jit_debug_descriptor.relevant_entry = e;
      __jit_debug_descriptor.action_flag = JIT_UNREGISTER_FN;
      __jit_debug_register_code();
      delete e;  // LLVM allocated it with new, in this same library
      break;
    }
  }
  __jit_debug_descriptor.relevant_entry = nullptr;
  __jit_debug_descriptor.action_flag = JIT_NOACTION;
  regs.symfiles.clear();
}

bool enable_jitdump(llvm::orc::ObjectLinkingLayer& layer, llvm::orc::ExecutionSession& es,
                    std::string& error) {
  std::lock_guard<std::mutex> lock(g_jitdump_mutex);
  if (g_jitdump_taken) {
    error = "perf jitdump is already active in another JIT engine of this process";
    return false;
  }
  // LLVM's start-up cannot report failure through PerfSupportPlugin (it would abort), so
  // check first that the directory it writes into can exist.
  llvm::SmallString<128> dir;
  if (const char* base = std::getenv("JITDUMPDIR")) {
    dir = base;
  } else if (!llvm::sys::path::home_directory(dir)) {
    dir = ".";
  }
  llvm::sys::path::append(dir, ".debug", "jit");
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    error = "cannot create the jitdump directory " + std::string(dir) + ": " + ec.message();
    return false;
  }
  // Addresses, not names, for the same reason as the GDB registrar. No unwind records:
  // LLVM 19 prints a debug line to stderr for each one.
  layer.addPlugin(std::make_unique<llvm::orc::PerfSupportPlugin>(
      es.getExecutorProcessControl(),
      llvm::orc::ExecutorAddr::fromPtr(&llvm_orc_registerJITLoaderPerfStart),
      llvm::orc::ExecutorAddr::fromPtr(&llvm_orc_registerJITLoaderPerfEnd),
      llvm::orc::ExecutorAddr::fromPtr(&llvm_orc_registerJITLoaderPerfImpl), /*EmitDebugInfo=*/false,
      /*EmitUnwindInfo=*/false));
  g_jitdump_taken = true;
  return true;
}

void release_jitdump() {
  std::lock_guard<std::mutex> lock(g_jitdump_mutex);
  g_jitdump_taken = false;
}

}  // namespace fusevm::jit_llvm
