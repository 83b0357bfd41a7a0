// Which ops each JIT tier admits, and slot facts the tiers share (spec/jit.md §1.2, §2.2, §3.1).
#pragma once

#include <cstdint>
#include <optional>

#include "fusevm/chunk.hpp"

namespace fusevm::jit {

/// The reference's "universal" set used by JitCompiler::is_eligible.
bool in_universal_set(OpCode code);
/// The block tier's 46 ops.
bool in_block_set(OpCode code);
/// One of the five jump kinds whose Target the block tier and regions follow (Jump,
/// JumpIfTrue, JumpIfFalse, SlotLtIntJumpIfFalse, SlotIncLtIntJumpBack).
bool is_block_branch(OpCode code);
/// Highest slot any op of `ops[begin, end)` references, or nullopt if none does.
std::optional<uint16_t> max_slot(const std::vector<Op>& ops, size_t begin, size_t end);

}  // namespace fusevm::jit
