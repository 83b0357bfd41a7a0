// The linear tier's validation (spec/jit.md §2.2): a simulation over a typed abstract stack.
#pragma once

#include <string>

#include "fusevm/chunk.hpp"

namespace fusevm::jit {

/// What the validation found.
struct LinearPlan {
  bool eligible = false;        ///< is_linear_eligible's answer
  bool result_is_float = false;  ///< the final cell is ConstF or DynF (spec §2.3)
  bool has_fused_loop = false;  ///< a fused loop op: eligible but never compiled (quirk Q-L3)
  std::string reason;           ///< why not eligible
};

/// Validate `chunk` for the linear tier.
LinearPlan check_linear(const Chunk& chunk);

}  // namespace fusevm::jit
