// Unit tests for the opcode table, the Op record, its factories and the constant-name tables.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "fusevm/error.hpp"
#include "fusevm/op.hpp"

using namespace fusevm;

namespace {

// spec/ops.md §22, transcribed in enum order.
const char* const kSpecOrder[] = {
    "Nop", "LoadInt", "LoadFloat", "LoadConst", "LoadTrue", "LoadFalse", "LoadUndef", "Pop",
    "Dup", "Dup2", "Swap", "Rot", "GetVar", "SetVar", "DeclareVar", "GetSlot", "SetSlot",
    "SlotArrayGet", "SlotArraySet", "GetArray", "SetArray", "DeclareArray", "ArrayGet",
    "ArraySet", "ArrayPush", "ArrayPop", "ArrayShift", "ArrayLen", "MakeArray", "GetHash",
    "SetHash", "DeclareHash", "HashGet", "HashSet", "HashDelete", "HashExists", "HashKeys",
    "HashValues", "MakeHash", "Add", "Sub", "Mul", "Div", "Mod", "Pow", "Negate", "Inc",
    "Dec", "Concat", "StringRepeat", "StringLen", "NumEq", "NumNe", "NumLt", "NumGt",
    "NumLe", "NumGe", "Spaceship", "StrEq", "StrNe", "StrLt", "StrGt", "StrLe", "StrGe",
    "StrCmp", "LogNot", "LogAnd", "LogOr", "BitAnd", "BitOr", "BitXor", "BitNot", "Shl",
    "Shr", "Jump", "JumpIfTrue", "JumpIfFalse", "JumpIfTrueKeep", "JumpIfFalseKeep", "Call",
    "Return", "ReturnValue", "PushFrame", "PopFrame", "Print", "PrintLn", "ReadLine",
    "Range", "RangeStep", "MapBlock", "GrepBlock", "SortBlock", "SortDefault",
    "ForEachBlock", "PreIncSlot", "SlotLtIntJumpIfFalse", "SlotIncLtIntJumpBack",
    "AccumSumLoop", "ConcatConstLoop", "PushIntRangeLoop", "AddAssignSlotVoid",
    "PreIncSlotVoid", "CallBuiltin", "Extended", "ExtendedWide", "Exec", "ExecBg",
    "PipelineBegin", "PipelineStage", "PipelineEnd", "Redirect", "HereDoc", "HereString",
    "CmdSubst", "SubshellBegin", "SubshellEnd", "ProcessSubIn", "ProcessSubOut", "Glob",
    "GlobRecursive", "TestFile", "SetStatus", "GetStatus", "TrapSet", "TrapCheck",
    "ExpandParam", "WordSplit", "BraceExpand", "TildeExpand", "CallFunction", "StrMatch",
    "RegexMatch", "WithRedirectsBegin", "WithRedirectsEnd"
};

// A distinctive sample for operand k of a given kind: high bits set where the width
// allows, so a truncated or misplaced operand cannot pass.
template <OperandKind K>
operand_t<K> sample(size_t k) {
  if constexpr (K == OperandKind::I64) {
    return -1234567890123LL - static_cast<int64_t>(k);
  } else if constexpr (K == OperandKind::F64) {
    return -2.75 - static_cast<double>(k);
  } else if constexpr (K == OperandKind::Limit) {
    return -100000 - static_cast<int32_t>(k);
  } else if constexpr (K == OperandKind::Target || K == OperandKind::Payload) {
    return 0x123456789ULL + k;
  } else if constexpr (operand_width(K) == 1) {
    return static_cast<uint8_t>(200 + k);
  } else {
    return static_cast<uint16_t>(40000 + k);
  }
}

// The raw_operand() encoding of a sample.
template <OperandKind K>
uint64_t raw_of(operand_t<K> v) {
  if constexpr (K == OperandKind::F64) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    return bits;
  } else if constexpr (K == OperandKind::I64 || K == OperandKind::Limit) {
    return static_cast<uint64_t>(static_cast<int64_t>(v));
  } else {
    return static_cast<uint64_t>(v);
  }
}

struct FactoryCase {
  Op op;
  OpCode code;
  std::vector<uint64_t> raw;
};

// One case per opcode, built through its factory with sample operands.
std::vector<FactoryCase> factory_cases() {
  std::vector<FactoryCase> cases;
#define S(K, i) sample<OperandKind::K>(i)
#define R(K, i) raw_of<OperandKind::K>(S(K, i))
#define FUSEVM_OP0(N_, po, pu, fl) cases.push_back({Op::N_(), OpCode::N_, {}});
#define FUSEVM_OP1(N_, po, pu, fl, k1, n1) \
  cases.push_back({Op::N_(S(k1, 0)), OpCode::N_, {R(k1, 0)}});
#define FUSEVM_OP2(N_, po, pu, fl, k1, n1, k2, n2) \
  cases.push_back({Op::N_(S(k1, 0), S(k2, 1)), OpCode::N_, {R(k1, 0), R(k2, 1)}});
#define FUSEVM_OP3(N_, po, pu, fl, k1, n1, k2, n2, k3, n3)                     \
  cases.push_back({Op::N_(S(k1, 0), S(k2, 1), S(k3, 2)), OpCode::N_,          \
                   {R(k1, 0), R(k2, 1), R(k3, 2)}});
#define FUSEVM_OP4(N_, po, pu, fl, k1, n1, k2, n2, k3, n3, k4, n4)             \
  cases.push_back({Op::N_(S(k1, 0), S(k2, 1), S(k3, 2), S(k4, 3)), OpCode::N_, \
                   {R(k1, 0), R(k2, 1), R(k3, 2), R(k4, 3)}});
#include "fusevm/ops.def"
#undef S
#undef R
  return cases;
}

}  // namespace

TEST(OpTable, Has134OpsInSpecOrder) {
  ASSERT_EQ(kNumOps, 134u);
  ASSERT_EQ(std::size(kSpecOrder), kNumOps);
  for (size_t i = 0; i < kNumOps; ++i) {
    EXPECT_EQ(kOpInfo[i].name, kSpecOrder[i]) << "index " << i;
  }
}

TEST(OpTable, SpotChecksEnumIndices) {
  EXPECT_EQ(static_cast<int>(OpCode::Nop), 0);
  EXPECT_EQ(static_cast<int>(OpCode::LoadInt), 1);
  EXPECT_EQ(static_cast<int>(OpCode::MakeArray), 28);
  EXPECT_EQ(static_cast<int>(OpCode::Add), 39);
  EXPECT_EQ(static_cast<int>(OpCode::Jump), 74);
  EXPECT_EQ(static_cast<int>(OpCode::Call), 79);
  EXPECT_EQ(static_cast<int>(OpCode::MapBlock), 89);
  EXPECT_EQ(static_cast<int>(OpCode::PreIncSlot), 94);
  EXPECT_EQ(static_cast<int>(OpCode::PreIncSlotVoid), 101);
  EXPECT_EQ(static_cast<int>(OpCode::CallBuiltin), 102);
  EXPECT_EQ(static_cast<int>(OpCode::Exec), 105);
  EXPECT_EQ(static_cast<int>(OpCode::TestFile), 120);
  EXPECT_EQ(static_cast<int>(OpCode::CallFunction), 129);
  EXPECT_EQ(static_cast<int>(OpCode::WithRedirectsEnd), 133);
}

TEST(OpTable, OperandKindsAndNamesMatchSpecSignatures) {
  const OpInfo& call = op_info(OpCode::Call);
  ASSERT_EQ(call.num_operands, 2);
  EXPECT_EQ(call.kinds[0], OperandKind::Name);
  EXPECT_EQ(call.kinds[1], OperandKind::Argc);
  EXPECT_EQ(call.operand_names[0], "name");
  EXPECT_EQ(call.operand_names[1], "argc");
  const OpInfo& ccl = op_info(OpCode::ConcatConstLoop);
  ASSERT_EQ(ccl.num_operands, 4);
  EXPECT_EQ(ccl.kinds[0], OperandKind::Const);
  EXPECT_EQ(ccl.kinds[1], OperandKind::Slot);
  EXPECT_EQ(ccl.kinds[2], OperandKind::Slot);
  EXPECT_EQ(ccl.kinds[3], OperandKind::Limit);
  EXPECT_EQ(ccl.operand_names[3], "limit");
  const OpInfo& sl = op_info(OpCode::SlotLtIntJumpIfFalse);
  ASSERT_EQ(sl.num_operands, 3);
  EXPECT_EQ(sl.kinds[2], OperandKind::Target);
  EXPECT_EQ(op_info(OpCode::ExtendedWide).kinds[1], OperandKind::Payload);
  EXPECT_EQ(op_info(OpCode::Redirect).kinds[0], OperandKind::Fd);
  EXPECT_EQ(op_info(OpCode::Redirect).kinds[1], OperandKind::RedirOp);
  EXPECT_EQ(op_info(OpCode::Nop).num_operands, 0);
  EXPECT_EQ(op_info(OpCode::LoadFloat).kinds[0], OperandKind::F64);
}

TEST(OpTable, StackEffectsAndFlagsComeFromOpsDef) {
  EXPECT_EQ(op_info(OpCode::Add).pops, 2);
  EXPECT_EQ(op_info(OpCode::Add).pushes, 1);
  EXPECT_TRUE(op_info(OpCode::Add).flags & kGuarded);
  EXPECT_EQ(op_info(OpCode::MakeArray).pops, kVar);
  EXPECT_EQ(op_info(OpCode::Call).pushes, kVar);
  EXPECT_EQ(op_info(OpCode::JumpIfTrue).flags, uint32_t{kJump | kBranch});
  EXPECT_EQ(op_info(OpCode::Jump).flags, uint32_t{kJump});
  EXPECT_EQ(op_info(OpCode::AccumSumLoop).flags, uint32_t{kFused | kLoop});
  EXPECT_EQ(op_info(OpCode::Exec).flags, uint32_t{kShell});
  EXPECT_EQ(op_info(OpCode::Nop).flags, uint32_t{kNone});
}

TEST(OpTable, OpIs24Bytes) { EXPECT_EQ(sizeof(Op), 24u); }

TEST(OpTable, EveryFactorySetsCodeAndOperands) {
  auto cases = factory_cases();
  ASSERT_EQ(cases.size(), kNumOps);
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(op_name(c.code)));
    EXPECT_EQ(c.op.code(), c.code);
    EXPECT_EQ(c.op.name(), op_name(c.code));
    ASSERT_EQ(c.op.info().num_operands, c.raw.size());
    for (size_t i = 0; i < c.raw.size(); ++i) EXPECT_EQ(c.op.raw_operand(i), c.raw[i]) << i;
  }
}

TEST(OpTable, TypedGettersReadFactoryOperands) {
  EXPECT_EQ(Op::LoadInt(-7).imm_int(), -7);
  EXPECT_EQ(Op::LoadFloat(0.5).imm_float(), 0.5);
  EXPECT_EQ(Op::Jump(42).target(), 42u);
  Op call = Op::Call(3, 2);
  EXPECT_EQ(call.small(0), 3);
  EXPECT_EQ(call.small(1), 2);
  Op sl = Op::SlotLtIntJumpIfFalse(1, -5, 9);
  EXPECT_EQ(sl.small(0), 1);
  EXPECT_EQ(sl.limit(), -5);
  EXPECT_EQ(sl.target(), 9u);
  Op ccl = Op::ConcatConstLoop(4, 5, 6, 7);
  EXPECT_EQ(ccl.small(0), 4);
  EXPECT_EQ(ccl.small(1), 5);
  EXPECT_EQ(ccl.small(2), 6);
  EXPECT_EQ(ccl.limit(), 7);
  EXPECT_EQ(Op::ExtendedWide(9, 0xdeadbeefcafeULL).wide(), 0xdeadbeefcafeULL);
}

TEST(OpTable, RawOperandRoundTripsThroughSetRawOperand) {
  for (const auto& c : factory_cases()) {
    SCOPED_TRACE(std::string(op_name(c.code)));
    Op rebuilt(c.code);
    for (size_t i = 0; i < c.raw.size(); ++i) rebuilt.set_raw_operand(i, c.op.raw_operand(i));
    EXPECT_EQ(rebuilt, c.op);
    EXPECT_EQ(rebuilt.hash(), c.op.hash());
  }
}

TEST(OpTable, SetRawOperandTruncatesToWidth) {
  Op call(OpCode::Call);
  call.set_raw_operand(0, 0x12345);  // u16 name
  call.set_raw_operand(1, 0x1ff);    // u8 argc
  EXPECT_EQ(call.raw_operand(0), 0x2345u);
  EXPECT_EQ(call.raw_operand(1), 0xffu);
  Op loop(OpCode::AccumSumLoop);
  loop.set_raw_operand(2, 0xffffffffULL);  // i32 -1
  EXPECT_EQ(loop.limit(), -1);
  EXPECT_EQ(loop.raw_operand(2), ~uint64_t{0});
}

TEST(OpTable, OperandIndexPastOperandCountThrows) {
  EXPECT_THROW(Op::Nop().raw_operand(0), Error);
  EXPECT_THROW(Op::LoadInt(1).raw_operand(1), Error);
  Op add = Op::Add();
  EXPECT_THROW(add.set_raw_operand(0, 1), Error);
}

TEST(OpTable, HasTargetOnlyForOpsWithTargetOperand) {
  std::set<OpCode> with_target = {OpCode::Jump, OpCode::JumpIfTrue, OpCode::JumpIfFalse,
                                  OpCode::JumpIfTrueKeep, OpCode::JumpIfFalseKeep,
                                  OpCode::SlotLtIntJumpIfFalse, OpCode::SlotIncLtIntJumpBack};
  for (const auto& c : factory_cases()) {
    EXPECT_EQ(c.op.has_target(), with_target.count(c.code) == 1) << op_name(c.code);
  }
}

TEST(OpTable, OpEqualityComparesFloatsByBits) {
  EXPECT_EQ(Op::LoadFloat(0.0), Op::LoadFloat(0.0));
  EXPECT_NE(Op::LoadFloat(0.0), Op::LoadFloat(-0.0));
  double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Op::LoadFloat(nan), Op::LoadFloat(nan));
  EXPECT_NE(Op::LoadInt(1), Op::LoadInt(2));
  EXPECT_NE(Op::Add(), Op::Sub());
}

TEST(OpTable, EqualOpsHashEqualAndStdHashUsesIt) {
  EXPECT_EQ(Op::Call(1, 2).hash(), Op::Call(1, 2).hash());
  EXPECT_EQ(std::hash<Op>{}(Op::Jump(5)), Op::Jump(5).hash());
  EXPECT_NE(Op::Call(1, 2).hash(), Op::Call(2, 1).hash());
}

TEST(OpTable, OpFromNameFindsEveryMnemonic) {
  for (size_t i = 0; i < kNumOps; ++i) {
    auto code = op_from_name(kOpInfo[i].name);
    ASSERT_TRUE(code.has_value()) << kOpInfo[i].name;
    EXPECT_EQ(static_cast<size_t>(*code), i);
  }
}

TEST(OpTable, OpFromNameRejectsUnknownAndWrongCase) {
  EXPECT_FALSE(op_from_name("").has_value());
  EXPECT_FALSE(op_from_name("loadint").has_value());
  EXPECT_FALSE(op_from_name("LOADINT").has_value());
  EXPECT_FALSE(op_from_name("Jum").has_value());
  EXPECT_FALSE(op_from_name("Jumpx").has_value());
  EXPECT_FALSE(op_from_name("Halt").has_value());
}

TEST(OpTable, OperandKindNamesAreDistinct) {
  EXPECT_EQ(operand_kind_name(OperandKind::Const), "Const");
  EXPECT_EQ(operand_kind_name(OperandKind::Target), "Target");
  EXPECT_EQ(operand_kind_name(OperandKind::Payload), "Payload");
  std::set<std::string_view> seen;
  for (int k = 0; k <= static_cast<int>(OperandKind::Payload); ++k) {
    seen.insert(operand_kind_name(static_cast<OperandKind>(k)));
  }
  EXPECT_EQ(seen.size(), 19u);
}

TEST(OpTable, FileTestNamesRoundTrip) {
  EXPECT_EQ(file_test::name(file_test::IS_FILE), "IS_FILE");
  EXPECT_EQ(file_test::name(file_test::IS_CHAR_DEV), "IS_CHAR_DEV");
  EXPECT_EQ(file_test::name(12), "");
  EXPECT_EQ(file_test::from_name("EXISTS"), file_test::EXISTS);
  EXPECT_FALSE(file_test::from_name("exists").has_value());
  for (uint8_t c = 0; c < 12; ++c) EXPECT_EQ(file_test::from_name(file_test::name(c)), c);
}

TEST(OpTable, RedirectOpNamesRoundTrip) {
  EXPECT_EQ(redirect_op::name(redirect_op::WRITE), "WRITE");
  EXPECT_EQ(redirect_op::name(redirect_op::APPEND_BOTH), "APPEND_BOTH");
  EXPECT_EQ(redirect_op::name(9), "");
  EXPECT_EQ(redirect_op::from_name("DUP_WRITE"), redirect_op::DUP_WRITE);
  EXPECT_FALSE(redirect_op::from_name("NOPE").has_value());
  for (uint8_t c = 0; c < 9; ++c) EXPECT_EQ(redirect_op::from_name(redirect_op::name(c)), c);
}

TEST(OpTable, ParamModNamesRoundTripAndArgCounts) {
  EXPECT_EQ(param_mod::name(param_mod::DEFAULT), "DEFAULT");
  EXPECT_EQ(param_mod::name(param_mod::SLICE), "SLICE");
  EXPECT_EQ(param_mod::name(18), "");
  EXPECT_EQ(param_mod::from_name("SUBST_ALL"), param_mod::SUBST_ALL);
  for (uint8_t c = 0; c < 18; ++c) EXPECT_EQ(param_mod::from_name(param_mod::name(c)), c);
  EXPECT_EQ(param_mod::arg_count(param_mod::SUBST_FIRST), 2u);
  EXPECT_EQ(param_mod::arg_count(param_mod::LENGTH), 0u);
  EXPECT_EQ(param_mod::arg_count(param_mod::STRIP_LONG), 1u);
  EXPECT_EQ(param_mod::arg_count(200), 0u);
}
