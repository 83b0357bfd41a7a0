// Pre-decoded instruction streams: Chunk::ops lowered once per VM for the dispatch loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "fusevm/chunk.hpp"

namespace fusevm {

/// Internal opcodes: the 134 public ops (same numbers) followed by sentinels and
/// decoded variants that never appear in a Chunk.
enum class XOp : uint16_t {
#define FUSEVM_OP(name, pops, pushes, flags) name,
#include "fusevm/ops.def"
  End,            // end of the main stream (also every jump past the end)
  BlockEnd,       // end of a block stream: the activation is done
  BlockEscape,    // a jump (or set_ip) from a block to outside its range
  BlockBadOp,     // Return/ReturnValue/PushFrame/PopFrame at block level
  CallReturn,     // where VM::call's frame returns to
  CallUndefined,  // Call whose name has no sub entry (decoded once)
  // Decode-time superinstructions (see fuse_stream in code.cpp). Each sits on the first
  // op of its sequence; the sequence's own decoded ops stay in place behind it, so a jump
  // into the middle runs them unfused and the slow path is "run the first op alone".
  SlotCmpImmJump,      // GetSlot s; LoadInt k; NumXX; JumpIfTrue/False t
  SlotSlotArithStore,  // GetSlot a; GetSlot b; Add/Sub/Mul; SetSlot c
  SlotArithImm,        // GetSlot s; LoadInt k; Add/Sub/Mul
  SlotSlotArith,       // GetSlot a; GetSlot b; Add/Sub/Mul
  CmpJump,             // NumXX; JumpIfTrue/False t
  StackSlotArithStore,  // GetSlot s; Add/Sub/Mul; SetSlot d   (top op slot -> d)
  StackSlotArith,       // GetSlot s; Add/Sub/Mul             (top op slot -> top)
  Count_,
};
inline constexpr size_t kNumXOps = static_cast<size_t>(XOp::Count_);

/// One decoded instruction (16 bytes, so ip arithmetic is a shift). Small operands keep
/// Op's order in a, b, c. A fused op's i32 limit lives in w when the op has no target
/// (AccumSumLoop, ConcatConstLoop, PushIntRangeLoop) and packed into b|c<<16 when it has
/// one (SlotLtIntJumpIfFalse, SlotIncLtIntJumpBack). Jump targets and constants are
/// resolved to pointers so the loop never indexes the chunk.
struct Insn {
  uint16_t op;          // XOp
  uint16_t a, b, c;     // small operands
  union {
    int64_t i;
    double f;
    uint64_t u;
    const Insn* target;
    const Value* konst;
  } w;
  /// The limit of SlotLtIntJumpIfFalse / SlotIncLtIntJumpBack.
  int32_t packed_limit() const {
    return static_cast<int32_t>(static_cast<uint32_t>(b) | (static_cast<uint32_t>(c) << 16));
  }
};
static_assert(sizeof(Insn) == 16);

/// A contiguous run of decoded ops. code[k] is chunk op ip_base + k; code[len] is the
/// stream's sentinel and code[len + 1] an escape target (blocks only).
struct CodeStream {
  std::vector<Insn> code;
  uint64_t ip_base = 0;
  uint64_t len = 0;
  int32_t block = -1;   // block index for block streams, -1 otherwise
  uint32_t index = 0;   // position in CodeSet::streams (stored in Frame::return_code)

  /// Decoded op for chunk index `ip`: inside the stream, its sentinel (ip past the end
  /// of the main stream, or exactly the block end) or the escape insn.
  const Insn* at(uint64_t ip) const;
  /// Chunk index of a decoded op in this stream.
  uint64_t ip_of(const Insn* pc) const { return ip_base + static_cast<uint64_t>(pc - code.data()); }
};

/// Every stream of one VM. Stream 0 is the main stream, 1 the VM::call return stub;
/// block streams are decoded on first use.
class CodeSet {
 public:
  static constexpr uint32_t kMain = 0, kCallStub = 1;
  /// Decode `chunk` afresh. `fuse` = false leaves out the decode-time superinstructions
  /// (a profile counts each chunk op as it is dispatched).
  void build(const Chunk& chunk, bool fuse = true);
  CodeStream& main() { return fixed_[kMain]; }
  CodeStream& stream(uint32_t i) { return i < 2 ? fixed_[i] : *blocks_[i - 2]; }
  /// The stream of block `b` (decoded on first use); precondition b < block_ranges.size().
  CodeStream& block(const Chunk& chunk, uint16_t b);
  /// Entry of an in-chunk function named `name` for Exec (first name-pool match that has
  /// a sub entry), or nullptr.
  const uint64_t* exec_entry(const Chunk& chunk, const std::string& name);

 private:
  void lower(const Chunk& chunk, CodeStream& s, uint64_t start, uint64_t end);
  static void fuse_stream(CodeStream& s);
  // The main stream and the call stub in place (a new VM allocates only their code);
  // block streams, decoded on first use, as streams 2, 3, ...
  CodeStream fixed_[2];
  std::vector<std::unique_ptr<CodeStream>> blocks_;
  std::vector<int32_t> block_stream_;
  std::unordered_map<std::string, uint64_t> exec_entries_;  // built by the first exec_entry
  bool exec_built_ = false;
  bool fuse_ = true;
};

}  // namespace fusevm
