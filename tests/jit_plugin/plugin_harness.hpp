// Test harness: loads the built JIT plugin once and compiles hand-built units through its ABI.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fusevm/op.hpp"
#include "jit_abi/plugin_abi.hpp"

namespace fusevm::jit_plugin_test {

/// The plugin's API table. Loaded once and never unloaded: LLVM's statics live in the
/// plugin, and unloading it would turn their memory into leaks that LSan reports.
const jit_abi::PluginApi& api();

/// A compile job as the core would submit it.
struct Job {
  uint32_t kind = jit_abi::kUnitLinear;
  std::vector<Op> ops;
  std::vector<jit_abi::AbiConst> consts;
  bool result_is_float = false;
  int64_t num_slots = -1;  ///< -1: highest slot any op names + 1, as the core computes it
  uint32_t flags = 0;
  std::string name;        ///< empty: a fresh unique name
};

/// What compiling a Job produced.
struct Unit {
  bool ok = false;
  void* entry = nullptr;
  std::string reason;
  std::string dump;
  uint64_t compile_ns = 0;
  uint64_t code_bytes = 0;
  std::string name;

  /// Calls a linear unit with an Int result.
  int64_t run_int(int64_t* slots = nullptr) const;
  /// Calls a linear unit with a Float result.
  double run_float(int64_t* slots = nullptr) const;
  /// Calls a block unit; `bailed` is zeroed first.
  int64_t run_block(int64_t* slots, int32_t* bailed) const;
};

/// An engine of the plugin, destroyed with the object.
class Engine {
 public:
  explicit Engine(jit_abi::EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Compiles `job` in this engine.
  Unit compile(const Job& job);
  /// The raw engine handle (null if creation failed).
  void* handle() const { return handle_; }
  /// The creation error, if any.
  const std::string& error() const { return error_; }

 private:
  void* handle_ = nullptr;
  std::string error_;
  int next_name_ = 0;
};

/// A Float constant-pool entry.
jit_abi::AbiConst const_float(double x);
/// An Int constant-pool entry.
jit_abi::AbiConst const_int(int64_t n);

/// Compiles a linear unit with an Int result in a fresh engine and runs it; fails the
/// current test if it does not compile.
int64_t linear_int(const std::vector<Op>& ops, int64_t* slots = nullptr);
/// Same with a Float result.
double linear_float(const std::vector<Op>& ops, int64_t* slots = nullptr);
/// Compiles a block unit in a fresh engine and runs it once on `slots`.
int64_t block_run(const std::vector<Op>& ops, std::vector<int64_t>& slots, int32_t* bailed = nullptr);

}  // namespace fusevm::jit_plugin_test
