// Finding and loading the LLVM plugin (libfusevm_jit.so) the first time code is compiled.
#pragma once

#include <string>

#include "jit_abi/plugin_abi.hpp"

namespace fusevm::jit {

/// The loaded plugin, or why there is none.
struct LoadedPlugin {
  const jit_abi::PluginApi* api = nullptr;  ///< null when unavailable
  std::string path;                         ///< the file loaded
  std::string error;                        ///< why it is unavailable
};

/// Load the plugin once per process (later calls return the same answer). Looks at
/// $FUSEVM_JIT_PLUGIN if set, else beside the core (the library or executable holding
/// this code), then in ../lib and ../LIBDIR relative to it.
const LoadedPlugin& load_plugin();

}  // namespace fusevm::jit
