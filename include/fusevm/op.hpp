// Op: one bytecode instruction (an OpCode plus its operands), generated from ops.def.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace fusevm {

/// Every opcode, in the reference's enum order (spec/ops.md §22).
enum class OpCode : uint8_t {
#define FUSEVM_OP(name, pops, pushes, flags) name,
#include "fusevm/ops.def"
};

/// Number of opcodes (134).
inline constexpr size_t kNumOps = 0
#define FUSEVM_OP(name, pops, pushes, flags) +1
#include "fusevm/ops.def"
    ;
static_assert(kNumOps == 134, "ops.def must hold the reference's 134 ops");
// ORDER JUMP: the five patchable jumps are contiguous, Jump first.
static_assert(uint8_t(OpCode::JumpIfFalseKeep) == uint8_t(OpCode::Jump) + 4);
static_assert(uint8_t(OpCode::WithRedirectsEnd) == 133 && uint8_t(OpCode::CallBuiltin) == 102);

/// What an operand means; fixes its width (u8, u16, i32, i64, f64 or usize).
enum class OperandKind : uint8_t {
  I64,       ///< inline integer literal
  F64,       ///< inline float literal
  Const,     ///< u16 index into Chunk::constants
  Name,      ///< u16 index into Chunk::names (also the global-variable id)
  Slot,      ///< u16 slot of the current frame
  Count,     ///< u16 number of stack values
  Block,     ///< u16 index into Chunk::block_ranges
  SubChunk,  ///< u16 index into Chunk::sub_chunks
  Id,        ///< u16 builtin or extension id
  Argc,      ///< u8 argument count
  N,         ///< u8 small count
  Arg,       ///< u8 extension argument
  Fd,        ///< u8 file descriptor
  RedirOp,   ///< u8 redirect_op code
  FileTest,  ///< u8 file_test code
  ParamMod,  ///< u8 param_mod code
  Limit,     ///< i32 loop bound of a fused op
  Target,    ///< usize absolute op index of a jump
  Payload,   ///< usize wide extension payload
};

/// Where an operand is stored inside an Op.
enum class OperandStorage : uint8_t { Small, I32, Wide };

/// Storage class of an operand kind.
constexpr OperandStorage operand_storage(OperandKind k) {
  switch (k) {
    case OperandKind::I64: case OperandKind::F64: case OperandKind::Target:
    case OperandKind::Payload: return OperandStorage::Wide;
    case OperandKind::Limit: return OperandStorage::I32;
    default: return OperandStorage::Small;
  }
}

/// Width in bytes of an operand kind, as hashed by op_hash and written by .fvc.
constexpr size_t operand_width(OperandKind k) {
  switch (k) {
    case OperandKind::I64: case OperandKind::F64: case OperandKind::Target:
    case OperandKind::Payload: return 8;
    case OperandKind::Limit: return 4;
    case OperandKind::Argc: case OperandKind::N: case OperandKind::Arg: case OperandKind::Fd:
    case OperandKind::RedirOp: case OperandKind::FileTest: case OperandKind::ParamMod: return 1;
    default: return 2;
  }
}

/// Name of an operand kind ("Const", "Target", ...).
std::string_view operand_kind_name(OperandKind k);

namespace detail {
template <OperandKind K> struct OperandType { using type = uint16_t; };
template <> struct OperandType<OperandKind::I64> { using type = int64_t; };
template <> struct OperandType<OperandKind::F64> { using type = double; };
template <> struct OperandType<OperandKind::Limit> { using type = int32_t; };
template <> struct OperandType<OperandKind::Target> { using type = uint64_t; };
template <> struct OperandType<OperandKind::Payload> { using type = uint64_t; };
#define FUSEVM_U8_OPERAND(K) \
  template <> struct OperandType<OperandKind::K> { using type = uint8_t; };
FUSEVM_U8_OPERAND(Argc) FUSEVM_U8_OPERAND(N) FUSEVM_U8_OPERAND(Arg) FUSEVM_U8_OPERAND(Fd)
FUSEVM_U8_OPERAND(RedirOp) FUSEVM_U8_OPERAND(FileTest) FUSEVM_U8_OPERAND(ParamMod)
#undef FUSEVM_U8_OPERAND
}  // namespace detail

/// C++ type of an operand kind.
template <OperandKind K> using operand_t = typename detail::OperandType<K>::type;

/// Op flags (ops.def column 4).
enum OpFlags : uint32_t {
  kNone = 0,
  kGuarded = 1u << 0,   ///< does nothing when the stack is too shallow (spec/ops.md §0)
  kJump = 1u << 1,      ///< one of the five patchable jumps
  kBranch = 1u << 2,    ///< may transfer control to its Target
  kCall = 1u << 3,      ///< pushes a call frame
  kReturn = 1u << 4,    ///< pops a call frame
  kFrame = 1u << 5,     ///< PushFrame / PopFrame
  kIO = 1u << 6,        ///< reads stdin or writes stdout
  kBlock = 1u << 7,     ///< runs a block range
  kFused = 1u << 8,     ///< fused superinstruction
  kLoop = 1u << 9,      ///< runs a whole loop inside one op
  kCallOut = 1u << 10,  ///< calls a builtin or extension handler
  kShell = 1u << 11,    ///< shell op (may call the ShellHost)
};

/// "Variable" stack effect in OpInfo::pops / pushes.
inline constexpr int8_t kVar = -1;

/// Static facts about one opcode, generated from ops.def.
struct OpInfo {
  std::string_view name;           ///< mnemonic, e.g. "LoadInt"
  int8_t pops;                     ///< nominal values popped (kVar: depends)
  int8_t pushes;                   ///< nominal values pushed (kVar: depends)
  uint32_t flags;                  ///< OpFlags
  uint8_t num_operands;            ///< 0..4
  OperandKind kinds[4];            ///< operand kinds in declaration order
  std::string_view operand_names[4];  ///< operand names as written in ops.def
};

/// The opcode table, indexed by OpCode.
extern const OpInfo kOpInfo[kNumOps];

/// Facts about `code`.
inline const OpInfo& op_info(OpCode code) { return kOpInfo[static_cast<size_t>(code)]; }

/// Mnemonic of `code`.
inline std::string_view op_name(OpCode code) { return op_info(code).name; }

/// Opcode whose mnemonic is exactly `name` (case-sensitive).
std::optional<OpCode> op_from_name(std::string_view name);

/// One instruction: an OpCode and up to four operands.
///
/// Layout (24 bytes): code, 3 small operands (u8/u16, in order), one i32, one 8-byte
/// wide operand (i64 / f64 bits / usize). Operand i of an op lives in the storage of
/// its kind, counting only earlier operands of the same storage class.
class Op {
 public:
  /// A Nop.
  constexpr Op() = default;
  /// An op with the given code and all operands zero.
  constexpr explicit Op(OpCode code) : code_(code) {}

  /// The opcode.
  constexpr OpCode code() const { return code_; }
  /// The opcode's table entry.
  const OpInfo& info() const { return op_info(code_); }
  /// The mnemonic.
  std::string_view name() const { return op_info(code_).name; }

  /// k-th small (u8/u16) operand.
  constexpr uint16_t small(size_t k) const { return small_[k]; }
  /// The i32 operand (fused ops' limit).
  constexpr int32_t limit() const { return i32_; }
  /// The wide operand as an unsigned value (jump target, payload).
  constexpr uint64_t wide() const { return wide_; }
  /// The wide operand as a signed integer (LoadInt).
  constexpr int64_t imm_int() const { return static_cast<int64_t>(wide_); }
  /// The wide operand as a double (LoadFloat).
  double imm_float() const { double d; std::memcpy(&d, &wide_, 8); return d; }
  /// Jump target of a branching op (the wide operand).
  constexpr uint64_t target() const { return wide_; }

  /// True if this op has a Target operand.
  bool has_target() const;
  /// Rewrite the Target operand (only valid when has_target()).
  void set_target(uint64_t t) { wide_ = t; }

  /// Operand i as raw bits: unsigned for u8/u16/usize, sign-extended for i32/i64,
  /// IEEE bits for f64.
  uint64_t raw_operand(size_t i) const;
  /// Set operand i from raw bits (truncated to the operand's width).
  void set_raw_operand(size_t i, uint64_t raw);

  /// Structural equality; floats compare by bits.
  friend bool operator==(const Op& a, const Op& b) {
    return a.code_ == b.code_ && a.small_[0] == b.small_[0] && a.small_[1] == b.small_[1] &&
           a.small_[2] == b.small_[2] && a.i32_ == b.i32_ && a.wide_ == b.wide_;
  }
  friend bool operator!=(const Op& a, const Op& b) { return !(a == b); }
  /// Hash of the op (code and operand bits).
  size_t hash() const;

  // -- Factories, one per opcode, named as the reference's variants ------------
#define FUSEVM_OP0(N_, pops, pushes, flags) \
  static Op N_() { return Op(OpCode::N_); }
#define FUSEVM_OP1(N_, pops, pushes, flags, k1, n1)                 \
  static Op N_(operand_t<OperandKind::k1> n1) {                     \
    Op o_(OpCode::N_); Writer w(o_); w.put<OperandKind::k1>(n1); return o_; \
  }
#define FUSEVM_OP2(N_, pops, pushes, flags, k1, n1, k2, n2)                     \
  static Op N_(operand_t<OperandKind::k1> n1, operand_t<OperandKind::k2> n2) { \
    Op o_(OpCode::N_); Writer w(o_); w.put<OperandKind::k1>(n1); w.put<OperandKind::k2>(n2); \
    return o_;                                                                \
  }
#define FUSEVM_OP3(N_, pops, pushes, flags, k1, n1, k2, n2, k3, n3)               \
  static Op N_(operand_t<OperandKind::k1> n1, operand_t<OperandKind::k2> n2,     \
               operand_t<OperandKind::k3> n3) {                                  \
    Op o_(OpCode::N_); Writer w(o_); w.put<OperandKind::k1>(n1); w.put<OperandKind::k2>(n2); \
    w.put<OperandKind::k3>(n3); return o_;                                      \
  }
#define FUSEVM_OP4(N_, pops, pushes, flags, k1, n1, k2, n2, k3, n3, k4, n4)       \
  static Op N_(operand_t<OperandKind::k1> n1, operand_t<OperandKind::k2> n2,     \
               operand_t<OperandKind::k3> n3, operand_t<OperandKind::k4> n4) {   \
    Op o_(OpCode::N_); Writer w(o_); w.put<OperandKind::k1>(n1); w.put<OperandKind::k2>(n2); \
    w.put<OperandKind::k3>(n3); w.put<OperandKind::k4>(n4); return o_;          \
  }
#include "fusevm/ops.def"

 private:
  // Fills operands in declaration order into the storage of their class. Holds a
  // reference because Op is still incomplete inside its own class body.
  struct Writer {
    Op& op;
    size_t next_small = 0;
    explicit Writer(Op& o) : op(o) {}
    template <OperandKind K> void put(operand_t<K> v) {
      if constexpr (operand_storage(K) == OperandStorage::Small) {
        op.small_[next_small++] = static_cast<uint16_t>(v);
      } else if constexpr (operand_storage(K) == OperandStorage::I32) {
        op.i32_ = v;
      } else if constexpr (K == OperandKind::F64) {
        std::memcpy(&op.wide_, &v, 8);
      } else {
        op.wide_ = static_cast<uint64_t>(v);
      }
    }
  };

  OpCode code_ = OpCode::Nop;
  [[maybe_unused]] uint8_t pad_ = 0;
  uint16_t small_[3] = {0, 0, 0};
  int32_t i32_ = 0;
  [[maybe_unused]] uint32_t pad2_ = 0;
  uint64_t wide_ = 0;
};
static_assert(sizeof(Op) == 24, "an Op record is 24 bytes");

/// Operand codes of TestFile (spec/ops.md §21.1).
namespace file_test {
inline constexpr uint8_t IS_FILE = 0, IS_DIR = 1, IS_READABLE = 2, IS_WRITABLE = 3,
                         IS_EXECUTABLE = 4, EXISTS = 5, IS_NONEMPTY = 6, IS_SYMLINK = 7,
                         IS_SOCKET = 8, IS_FIFO = 9, IS_BLOCK_DEV = 10, IS_CHAR_DEV = 11;
/// Symbolic name of a code ("IS_FILE"), or empty if unknown.
std::string_view name(uint8_t code);
/// Code of a symbolic name.
std::optional<uint8_t> from_name(std::string_view name);
}  // namespace file_test

/// Operand codes of Redirect's second operand (spec/ops.md §21.2).
namespace redirect_op {
inline constexpr uint8_t WRITE = 0, APPEND = 1, READ = 2, READ_WRITE = 3, CLOBBER = 4,
                         DUP_READ = 5, DUP_WRITE = 6, WRITE_BOTH = 7, APPEND_BOTH = 8;
/// Symbolic name of a code ("WRITE"), or empty if unknown.
std::string_view name(uint8_t code);
/// Code of a symbolic name.
std::optional<uint8_t> from_name(std::string_view name);
}  // namespace redirect_op

/// Operand codes of ExpandParam (spec/ops.md §21.3).
namespace param_mod {
inline constexpr uint8_t DEFAULT = 0, ASSIGN = 1, ERROR = 2, ALTERNATE = 3, LENGTH = 4,
                         STRIP_SHORT = 5, STRIP_LONG = 6, RSTRIP_SHORT = 7, RSTRIP_LONG = 8,
                         SUBST_FIRST = 9, SUBST_ALL = 10, UPPER = 11, LOWER = 12,
                         UPPER_FIRST = 13, LOWER_FIRST = 14, INDIRECT = 15, KEYS = 16,
                         SLICE = 17;
/// Symbolic name of a code ("DEFAULT"), or empty if unknown.
std::string_view name(uint8_t code);
/// Code of a symbolic name.
std::optional<uint8_t> from_name(std::string_view name);
/// Number of argument values ExpandParam pops for `mod` (besides the name).
constexpr size_t arg_count(uint8_t mod) {
  switch (mod) {
    case 0: case 1: case 2: case 3: case 5: case 6: case 7: case 8: return 1;
    case 9: case 10: case 17: return 2;
    default: return 0;
  }
}
}  // namespace param_mod

}  // namespace fusevm

/// std::hash for Op.
template <> struct std::hash<fusevm::Op> {
  size_t operator()(const fusevm::Op& op) const { return op.hash(); }
};
