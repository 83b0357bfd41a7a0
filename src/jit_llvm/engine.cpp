// The plugin's engine: ORC LLJIT set-up, runtime helper symbols and the per-unit compile path.
#include "jit_llvm/engine.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <unordered_set>
#include <vector>

#include <llvm/ExecutionEngine/Orc/EPCEHFrameRegistrar.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/MapperJITLinkMemoryManager.h>
#include <llvm/ExecutionEngine/Orc/MemoryMapper.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/SmallVectorMemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include "jit_llvm/build_id.hpp"
#include "jit_llvm/codegen.hpp"
#include "jit_llvm/debug_support.hpp"
#include "jit_llvm/emit.hpp"
#include "jit_llvm/object_info.hpp"
#include "jit_llvm/perf_map.hpp"
#include "jit_llvm/runtime_helpers.hpp"
#include "jit_llvm/slab_memory.hpp"

namespace fusevm::jit_llvm {

namespace {

namespace orc = llvm::orc;

// Address space reserved per slab of JIT memory (committed only as pages are touched).
constexpr size_t kSlabBytes = size_t{16} << 20;

// JITLink's object layer, explicitly: the GDB and jitdump plugins need it, and unwinding
// through JIT frames needs its eh-frame registration.
llvm::Expected<std::unique_ptr<orc::ObjectLayer>> create_object_layer(orc::ExecutionSession& es,
                                                                      const llvm::Triple&) {
  // Units are small and many: carve them from reserved slabs rather than mapping pages
  // for each one (a mapping per unit costs system calls on every compile).
  auto memory = create_slab_memory_manager(kSlabBytes);
  if (!memory) return memory.takeError();
  auto layer = std::make_unique<orc::ObjectLinkingLayer>(es, std::move(*memory));
  auto eh_frames = orc::EPCEHFrameRegistrar::Create(es);
  if (!eh_frames) return eh_frames.takeError();
  layer->addPlugin(std::make_unique<orc::EHFrameRegistrationPlugin>(es, std::move(*eh_frames)));
  return std::unique_ptr<orc::ObjectLayer>(std::move(layer));
}

char* copy_to_malloc(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out != nullptr) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

class LlvmEngine final : public Engine {
 public:
  ~LlvmEngine() override {
    // GDB must forget the objects before their memory goes away.
    if (gdb_) withdraw_gdb(*gdb_);
    for (auto it = units_.rbegin(); it != units_.rend(); ++it) {
      if (llvm::Error err = (*it)->remove()) llvm::consumeError(std::move(err));
    }
    units_.clear();
    jit_.reset();
    if (jitdump_) release_jitdump();
  }

  bool init(const jit_abi::EngineOptions& options, std::string& error) {
    if (options.perf_map > 2) {
      error = "EngineOptions::perf_map must be 0 (off), 1 (perf map) or 2 (jitdump)";
      return false;
    }
    tm_linear_ = create_host_target_machine(false, error);
    if (!tm_linear_) return false;
    tm_block_ = create_host_target_machine(true, error);
    if (!tm_block_) return false;
    auto jtmb = orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) {
      error = llvm::toString(jtmb.takeError());
      return false;
    }
    // Units arrive as objects we compiled ourselves, so the LLJIT's own IR layer idles;
    // no platform either: units have no initialisers, atexit handlers or TLS.
    auto jit = orc::LLJITBuilder()
                   .setJITTargetMachineBuilder(std::move(*jtmb))
                   .setObjectLinkingLayerCreator(create_object_layer)
                   .setPlatformSetUp(orc::setUpInactivePlatform)
                   .create();
    if (!jit) {
      error = "cannot create the ORC LLJIT: " + llvm::toString(jit.takeError());
      return false;
    }
    jit_ = std::move(*jit);
    // Link failures are reported into the unit's reason rather than printed.
    jit_->getExecutionSession().setErrorReporter([this](llvm::Error err) {
      session_error_ = llvm::toString(std::move(err));
    });
    if (!define_helpers(error)) return false;
    auto* layer = llvm::dyn_cast<orc::ObjectLinkingLayer>(&jit_->getObjLinkingLayer());
    if (layer == nullptr) {
      error = "the LLJIT did not get a JITLink object layer";
      return false;
    }
    if (options.gdb != 0) gdb_ = enable_gdb(*layer, jit_->getExecutionSession());
    if (options.perf_map == 1 && !perf_map_open(error)) return false;
    if (options.perf_map == 2) {
      if (!enable_jitdump(*layer, jit_->getExecutionSession(), error)) return false;
      jitdump_ = true;
    }
    perf_map_ = options.perf_map == 1;
    debug_frames_ = options.gdb != 0 || options.perf_map != 0;
    // Both TargetMachines come from one host description, so one key covers both tiers.
    target_key_ = tm_linear_->getTargetTriple().str() + ";cpu=" + tm_linear_->getTargetCPU().str() +
                  ";features=" + tm_linear_->getTargetFeatureString().str() +
                  ";frames=" + (debug_frames_ ? "1" : "0") + ";plugin=" + plugin_build_id();
    return true;
  }

  const char* target_key() const override { return target_key_.c_str(); }

  bool compile(const jit_abi::UnitRequest& req, jit_abi::UnitResult& result) override {
    result = jit_abi::UnitResult{};
    return guarded(result, "compilation failed",
                   [&](std::string& reason) { return compile_unit(req, result, reason); });
  }

  bool load_object(const char* name, const void* bytes, uint64_t size,
                   jit_abi::UnitResult& result) override {
    result = jit_abi::UnitResult{};
    return guarded(result, "cannot load the object",
                   [&](std::string& reason) { return load_unit(name, bytes, size, result, reason); });
  }

 private:
  // Runs `work` (which fills `result` and says whether it succeeded) so that no exception
  // crosses into the core, then records the failure reason and the wall time in `result`.
  template <typename Work>
  static bool guarded(jit_abi::UnitResult& result, const char* default_reason, Work&& work) {
    const auto start = std::chrono::steady_clock::now();
    std::string reason;
    bool ok = false;
    try {
      ok = work(reason);
    } catch (const std::exception& e) {
      reason = std::string("internal error: ") + e.what();
    } catch (...) {
      reason = "internal error: unknown exception";
    }
    if (!ok) {
      result.entry = nullptr;
      if (reason.empty()) reason = default_reason;
      std::snprintf(result.reason, sizeof result.reason, "%s", reason.c_str());
    }
    result.compile_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
            .count());
    return ok;
  }

  // Generated code names helpers symbolically; binding the names here (absolute symbols)
  // keeps process addresses out of the objects.
  bool define_helpers(std::string& error) {
    size_t count = 0;
    const RuntimeHelper* helpers = runtime_helpers(&count);
    orc::SymbolMap symbols;
    for (size_t i = 0; i < count; ++i) {
      symbols[jit_->mangleAndIntern(helpers[i].name)] =
          orc::ExecutorSymbolDef(orc::ExecutorAddr::fromPtr(helpers[i].address),
                                 llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
    }
    if (llvm::Error err = jit_->getMainJITDylib().define(orc::absoluteSymbols(std::move(symbols)))) {
      error = "cannot define the runtime helpers: " + llvm::toString(std::move(err));
      return false;
    }
    return true;
  }

  static bool check_request(const jit_abi::UnitRequest& req, std::string& reason) {
    if (req.name == nullptr || req.name[0] == '\0') {
      reason = "the unit has no function name";
    } else if (req.num_ops != 0 && req.ops == nullptr) {
      reason = "the unit's ops are missing";
    } else if (req.num_consts != 0 && req.consts == nullptr) {
      reason = "the unit's constants are missing";
    } else if (req.kind != jit_abi::kUnitLinear && req.kind != jit_abi::kUnitBlock &&
               req.kind != jit_abi::kUnitVm && req.kind != jit_abi::kUnitFn) {
      reason = "unknown unit kind " + std::to_string(req.kind);
    } else {
      return true;
    }
    return false;
  }

  std::string dumps(llvm::Module& module, llvm::TargetMachine& tm, uint32_t flags) {
    std::string text;
    if (flags & jit_abi::kDumpIr) {
      llvm::raw_string_ostream os(text);
      module.print(os, nullptr);
    }
    if (flags & jit_abi::kDumpAsm) {
      // Codegen rewrites the IR it runs on, so assembly comes from a copy and the object
      // from the original, both from the same optimised IR.
      std::unique_ptr<llvm::Module> copy = llvm::CloneModule(module);
      llvm::SmallVector<char, 0> asm_text;
      std::string error;
      if (emit_machine_code(*copy, tm, true, asm_text, error)) {
        text.append(asm_text.data(), asm_text.size());
      } else {
        text += "; " + error + "\n";
      }
    }
    return text;
  }

  bool compile_unit(const jit_abi::UnitRequest& req, jit_abi::UnitResult& result, std::string& reason) {
    if (!check_request(req, reason)) return false;
    if (names_.count(req.name) != 0) {
      reason = std::string("a unit named ") + req.name + " already exists in this engine";
      return false;
    }
    // A VM unit of the block tier is optimised as the block tier is; of the linear tier,
    // not at all (the VM compiles those on first run, where compile time is what counts).
    const bool vm = req.kind == jit_abi::kUnitVm || req.kind == jit_abi::kUnitFn;
    const bool block = req.kind == jit_abi::kUnitBlock || (vm && req.vm_tier == jit_abi::kVmTierBlock);
    llvm::TargetMachine& tm = block ? *tm_block_ : *tm_linear_;

    // Each unit gets its own context and module, dropped as soon as its object exists:
    // nothing LLVM-side is shared between units or outlives the compile.
    llvm::LLVMContext context;
    auto module = std::make_unique<llvm::Module>(req.name, context);
    module->setDataLayout(tm.createDataLayout());
    module->setTargetTriple(tm.getTargetTriple().str());
    uint32_t max_exit_stack = 0;
    const bool built = vm ? build_vm(*module, req, max_exit_stack, reason)
                       : req.kind == jit_abi::kUnitBlock ? build_block(*module, req, reason)
                                                         : build_linear(*module, req, reason);
    if (!built) return false;
    std::string broken;
    llvm::raw_string_ostream broken_os(broken);
    if (llvm::verifyModule(*module, &broken_os)) {
      reason = "internal error: invalid IR: " + broken;
      return false;
    }
    if (block) optimize_block_module(*module, tm);
    if (debug_frames_) add_debug_frames(*module);
    std::string dump =
        req.flags & (jit_abi::kDumpIr | jit_abi::kDumpAsm) ? dumps(*module, tm, req.flags) : "";

    llvm::SmallVector<char, 0> object;
    if (!emit_machine_code(*module, tm, false, object, reason)) return false;
    ObjectFacts facts;
    if (!inspect_object(object.data(), object.size(), req.name, facts, reason)) return false;
    // Copied before the link consumes the buffer; handed over only on success.
    std::unique_ptr<char, decltype(&std::free)> object_copy(nullptr, &std::free);
    if (req.flags & jit_abi::kWantObject) {
      object_copy.reset(static_cast<char*>(std::malloc(object.size())));
      if (!object_copy) {
        reason = "out of memory copying the object";
        return false;
      }
      std::memcpy(object_copy.get(), object.data(), object.size());
    }
    const uint64_t object_size = object.size();

    orc::ResourceTrackerSP tracker = jit_->getMainJITDylib().createResourceTracker();
    session_error_.clear();
    auto buffer = std::make_unique<llvm::SmallVectorMemoryBuffer>(std::move(object), req.name, false);
    if (llvm::Error err = jit_->addObjectFile(tracker, std::move(buffer))) {
      reason = "cannot add the object: " + llvm::toString(std::move(err));
      discard(tracker);
      return false;
    }
    auto address = jit_->lookup(req.name);
    if (!address) {
      reason = "cannot link the unit: " + llvm::toString(address.takeError());
      if (!session_error_.empty()) reason += " (" + session_error_ + ")";
      discard(tracker);
      return false;
    }
    units_.push_back(tracker);
    names_.insert(req.name);
    if (perf_map_) perf_map_add(address->getValue(), facts.symbol_size, req.name);
    result.entry = address->toPtr<void*>();
    result.code_bytes = facts.code_bytes;
    result.max_exit_stack = max_exit_stack;
    if (!dump.empty()) result.dump = copy_to_malloc(dump);
    if (object_copy) {
      result.object = object_copy.release();
      result.object_size = object_size;
    }
    return true;
  }

  // A cached object links into a JITDylib of its own: its symbol names were chosen by
  // another process (or an earlier engine) and may repeat names this engine already holds.
  // The dylib links against the main one, which binds the runtime helpers by name.
  bool load_unit(const char* name, const void* bytes, uint64_t size, jit_abi::UnitResult& result,
                 std::string& reason) {
    if (name == nullptr || name[0] == '\0') {
      reason = "the unit has no function name";
      return false;
    }
    if (bytes == nullptr || size == 0) {
      reason = "the object is empty";
      return false;
    }
    // The copy is suitably aligned for the ELF reader, whatever the caller's bytes were.
    std::unique_ptr<llvm::MemoryBuffer> buffer = llvm::MemoryBuffer::getMemBufferCopy(
        llvm::StringRef(static_cast<const char*>(bytes), size), name);
    // All checked before JITLink sees the bytes: it trusts its input (a malformed object
    // can crash it), links whatever architecture it is given, and a function named `name`
    // must exist for the entry to mean anything.
    if (!validate_object(buffer->getBufferStart(), buffer->getBufferSize(), reason)) return false;
    ObjectFacts facts;
    if (!inspect_object(buffer->getBufferStart(), buffer->getBufferSize(), name, facts, reason)) return false;
    if (!facts.relocatable) {
      reason = "not a relocatable object file";
      return false;
    }
    if (facts.arch != static_cast<unsigned>(tm_linear_->getTargetTriple().getArch())) {
      reason = "the object was built for another architecture";
      return false;
    }
    if (!facts.has_function) {
      reason = std::string("the object defines no function ") + name;
      return false;
    }
    auto dylib = jit_->createJITDylib("fusevm_object_" + std::to_string(loaded_objects_++));
    if (!dylib) {
      reason = "cannot create a JITDylib: " + llvm::toString(dylib.takeError());
      return false;
    }
    orc::JITDylib& jd = *dylib;
    jd.addToLinkOrder(jit_->getMainJITDylib());
    orc::ResourceTrackerSP tracker = jd.createResourceTracker();
    auto forget = [&] {
      discard(tracker);
      if (llvm::Error err = jit_->getExecutionSession().removeJITDylib(jd)) llvm::consumeError(std::move(err));
    };
    session_error_.clear();
    if (llvm::Error err = jit_->addObjectFile(tracker, std::move(buffer))) {
      reason = "cannot add the object: " + llvm::toString(std::move(err));
      forget();
      return false;
    }
    auto address = jit_->lookup(jd, name);
    if (!address) {
      reason = "cannot link the object: " + llvm::toString(address.takeError());
      if (!session_error_.empty()) reason += " (" + session_error_ + ")";
      forget();
      return false;
    }
    units_.push_back(tracker);
    if (perf_map_) perf_map_add(address->getValue(), facts.symbol_size, name);
    result.entry = address->toPtr<void*>();
    result.code_bytes = facts.code_bytes;
    return true;
  }

  // Unwind tables and frame pointers let GDB and perf walk through JIT frames. Without a
  // debugger or profiler they are left out: the eh-frame section and its registration
  // cost about a sixth of a linear unit's compile time, and no exception crosses JIT code.
  static void add_debug_frames(llvm::Module& module) {
    for (llvm::Function& f : module) {
      if (f.isDeclaration()) continue;
      f.setUWTableKind(llvm::UWTableKind::Async);
      f.addFnAttr("frame-pointer", "all");
    }
  }

  static void discard(const orc::ResourceTrackerSP& tracker) {
    if (llvm::Error err = tracker->remove()) llvm::consumeError(std::move(err));
  }

  std::unique_ptr<llvm::TargetMachine> tm_linear_;  // CodeGenOptLevel::None
  std::unique_ptr<llvm::TargetMachine> tm_block_;   // CodeGenOptLevel::Default
  std::unique_ptr<orc::LLJIT> jit_;
  std::vector<orc::ResourceTrackerSP> units_;  // one per unit, released at destroy
  std::unordered_set<std::string> names_;
  std::shared_ptr<GdbRegistrations> gdb_;
  bool perf_map_ = false;
  bool jitdump_ = false;
  bool debug_frames_ = false;
  std::string session_error_;
  std::string target_key_;
  uint64_t loaded_objects_ = 0;  // names the loaded objects' JITDylibs
};

}  // namespace

std::unique_ptr<Engine> Engine::create(const jit_abi::EngineOptions& options, std::string& error) {
  auto engine = std::make_unique<LlvmEngine>();
  if (!engine->init(options, error)) return nullptr;
  return engine;
}

}  // namespace fusevm::jit_llvm
