// Tests for Value: coercions, repr, equality, hashing, copy-on-write, accounting, HashMap.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>

#include "fusevm/value.hpp"

using fusevm::HashMap;
using fusevm::identical;
using fusevm::Value;
using fusevm::ValueArray;
using fusevm::ValueKind;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Value S(const char* s) { return Value::Str(s); }
Value I(int64_t i) { return Value::Int(i); }
Value F(double f) { return Value::Float(f); }

// Little-endian bytes of an integer, as the §8.4 stream writes them.
std::string le(uint64_t v, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

std::string stream_of(const Value& v) {
  std::string out;
  v.hash_bytes(out);
  return out;
}

// SipHash-1-3 with keys (0, 0): Rust's DefaultHasher, used by the reference's op_hash.
uint64_t siphash13(const std::string& data) {
  uint64_t v0 = 0x736f6d6570736575ULL, v1 = 0x646f72616e646f6dULL,
           v2 = 0x6c7967656e657261ULL, v3 = 0x7465646279746573ULL;
  auto round = [&] {
    v0 += v1; v1 = std::rotl(v1, 13); v1 ^= v0; v0 = std::rotl(v0, 32);
    v2 += v3; v3 = std::rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = std::rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = std::rotl(v1, 17); v1 ^= v2; v2 = std::rotl(v2, 32);
  };
  size_t n = data.size(), i = 0;
  auto byte = [&](size_t k) { return static_cast<uint64_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 8 <= n; i += 8) {
    uint64_t m = 0;
    for (int k = 0; k < 8; ++k) m |= byte(i + k) << (8 * k);
    v3 ^= m;
    round();
    v0 ^= m;
  }
  uint64_t b = static_cast<uint64_t>(n & 0xff) << 56;
  for (int k = 0; i + k < n; ++k) b |= byte(i + k) << (8 * k);
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xff;
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

Value nested_arrays(int depth) {
  Value v = I(7);
  for (int i = 0; i < depth; ++i) {
    ValueArray a;
    a.push_back(std::move(v));
    v = Value::Array(std::move(a));
  }
  return v;
}

}  // namespace

// -- Layout ------------------------------------------------------------------------------

TEST(ValueLayout, IsSixteenBytesWithTagAtOffsetEightAndHeapBit) {
  static_assert(sizeof(Value) == 16);
  Value i = I(5);
  Value s = S("x");
  EXPECT_EQ(reinterpret_cast<const unsigned char*>(&i)[8], Value::kTagInt);
  EXPECT_EQ(reinterpret_cast<const unsigned char*>(&s)[8], Value::kTagStr);
  EXPECT_TRUE(s.is_heap());
  EXPECT_EQ(s.tag() & Value::kHeapBit, Value::kHeapBit);
  EXPECT_FALSE(i.is_heap());
}

TEST(ValueLayout, KindsAreNumberedAsTheReferenceVariants) {
  EXPECT_EQ(static_cast<int>(Value().kind()), 0);
  EXPECT_EQ(static_cast<int>(Value::Bool(true).kind()), 1);
  EXPECT_EQ(static_cast<int>(I(1).kind()), 2);
  EXPECT_EQ(static_cast<int>(F(1).kind()), 3);
  EXPECT_EQ(static_cast<int>(S("").kind()), 4);
  EXPECT_EQ(static_cast<int>(Value::Array({}).kind()), 5);
  EXPECT_EQ(static_cast<int>(Value::Hash({}).kind()), 6);
  EXPECT_EQ(static_cast<int>(Value::Status(0).kind()), 7);
  EXPECT_EQ(static_cast<int>(Value::Ref(I(1)).kind()), 8);
  EXPECT_EQ(static_cast<int>(Value::NativeFn(1).kind()), 9);
}

TEST(ValueLayout, KindNamesMatchVariantNames) {
  EXPECT_EQ(fusevm::kind_name(ValueKind::Undef), "Undef");
  EXPECT_EQ(fusevm::kind_name(ValueKind::Bool), "Bool");
  EXPECT_EQ(fusevm::kind_name(ValueKind::Int), "Int");
  EXPECT_EQ(fusevm::kind_name(ValueKind::Float), "Float");
  EXPECT_EQ(fusevm::kind_name(ValueKind::Str), "Str");
  EXPECT_EQ(fusevm::kind_name(ValueKind::Array), "Array");
  EXPECT_EQ(fusevm::kind_name(ValueKind::Hash), "Hash");
  EXPECT_EQ(fusevm::kind_name(ValueKind::Status), "Status");
  EXPECT_EQ(fusevm::kind_name(ValueKind::Ref), "Ref");
  EXPECT_EQ(fusevm::kind_name(ValueKind::NativeFn), "NativeFn");
}

TEST(ValueLayout, MovedFromValueIsUndef) {
  Value a = S("payload");
  Value b = std::move(a);
  EXPECT_TRUE(a.is_undef());  // NOLINT(bugprone-use-after-move): documented behaviour
  EXPECT_EQ(b.as_str(), "payload");
}

// -- Truthiness (values.md §2) ---------------------------------------------------------

TEST(ValueTruthy, BasicKinds) {
  EXPECT_FALSE(Value().is_truthy());
  EXPECT_FALSE(I(0).is_truthy());
  EXPECT_TRUE(I(1).is_truthy());
  EXPECT_TRUE(I(-1).is_truthy());
  EXPECT_FALSE(S("").is_truthy());
  EXPECT_FALSE(S("0").is_truthy());
  EXPECT_TRUE(S("hello").is_truthy());
  EXPECT_TRUE(Value::Status(0).is_truthy());
  EXPECT_FALSE(Value::Status(1).is_truthy());
  EXPECT_TRUE(Value::Bool(true).is_truthy());
  EXPECT_FALSE(Value::Bool(false).is_truthy());
}

TEST(ValueTruthy, FloatsZeroAndNegativeZeroFalseNanAndInfTrue) {
  EXPECT_FALSE(F(0.0).is_truthy());
  EXPECT_FALSE(F(-0.0).is_truthy());
  EXPECT_TRUE(F(0.1).is_truthy());
  EXPECT_TRUE(F(kNaN).is_truthy());
  EXPECT_TRUE(F(kInf).is_truthy());
  EXPECT_TRUE(F(-kInf).is_truthy());
}

TEST(ValueTruthy, CollectionsTruthyIffNonEmpty) {
  EXPECT_FALSE(Value::Array({}).is_truthy());
  EXPECT_TRUE(Value::Array({Value()}).is_truthy());
  EXPECT_TRUE(Value::Array({I(0)}).is_truthy());
  EXPECT_FALSE(Value::Hash({}).is_truthy());
  EXPECT_TRUE(Value::Hash({{"k", I(0)}}).is_truthy());
}

TEST(ValueTruthy, StatusZeroIsTruthyShellSemantics) {
  EXPECT_TRUE(Value::Status(0).is_truthy());
  EXPECT_FALSE(Value::Status(1).is_truthy());
  EXPECT_FALSE(Value::Status(127).is_truthy());
  EXPECT_FALSE(Value::Status(-3).is_truthy());
}

TEST(ValueTruthy, OnlyEmptyAndExactZeroStringsAreFalse) {
  EXPECT_FALSE(S("").is_truthy());
  EXPECT_FALSE(S("0").is_truthy());
  for (const char* s : {"00", "0.0", " 0", "-0", "0\n", "false"}) {
    EXPECT_TRUE(S(s).is_truthy()) << s;
  }
}

TEST(ValueTruthy, RefAndNativeFnAlwaysTrue) {
  EXPECT_TRUE(Value::Ref(I(0)).is_truthy());
  EXPECT_TRUE(Value::Ref(Value()).is_truthy());
  EXPECT_TRUE(Value::NativeFn(0).is_truthy());
}

// -- Integer coercion (values.md §3) ---------------------------------------------------

TEST(ValueToInt, ReferenceCoercionExamples) {
  EXPECT_EQ(S("42").to_int(), 42);
  EXPECT_EQ(F(3.14).to_int(), 3);
  EXPECT_EQ(Value::Bool(true).to_int(), 1);
}

TEST(ValueToInt, HandlesAllVariants) {
  EXPECT_EQ(Value().to_int(), 0);
  EXPECT_EQ(I(-7).to_int(), -7);
  EXPECT_EQ(F(3.99).to_int(), 3);
  EXPECT_EQ(F(-3.99).to_int(), -3);
  EXPECT_EQ(F(-0.0).to_int(), 0);
  EXPECT_EQ(Value::Bool(true).to_int(), 1);
  EXPECT_EQ(Value::Bool(false).to_int(), 0);
  EXPECT_EQ(Value::Status(42).to_int(), 42);
  EXPECT_EQ(Value::Status(-1).to_int(), -1);
  EXPECT_EQ(S("not a number").to_int(), 0);
  EXPECT_EQ(Value::Array({I(1), I(2)}).to_int(), 2);
  EXPECT_EQ(Value::Ref(I(5)).to_int(), 0);
  EXPECT_EQ(Value::NativeFn(9).to_int(), 0);
}

TEST(ValueToInt, StringsParseStrictlyOrGiveZero) {
  EXPECT_EQ(S("42").to_int(), 42);
  EXPECT_EQ(S("-7").to_int(), -7);
  EXPECT_EQ(S("not a number").to_int(), 0);
  EXPECT_EQ(S("").to_int(), 0);
  EXPECT_EQ(S(" 42").to_int(), 0);
  EXPECT_EQ(S("+42").to_int(), 42);
  EXPECT_EQ(S("3.7").to_int(), 0);
  EXPECT_EQ(S("1e3").to_int(), 0);
  EXPECT_EQ(S("0x1F").to_int(), 0);
  EXPECT_EQ(S("9223372036854775808").to_int(), 0);
}

TEST(ValueToInt, ArrayGivesLengthButHashGivesZero) {
  EXPECT_EQ(Value::Array({I(1), I(2), I(3)}).to_int(), 3);
  Value h = Value::Hash({{"a", I(1)}});
  EXPECT_EQ(h.to_int(), 0);
  EXPECT_EQ(h.len(), 1u);
}

TEST(ValueToInt, FloatTruncationSaturates) {
  EXPECT_EQ(F(kNaN).to_int(), 0);
  EXPECT_EQ(F(kInf).to_int(), INT64_MAX);
  EXPECT_EQ(F(-kInf).to_int(), INT64_MIN);
  EXPECT_EQ(F(1e20).to_int(), INT64_MAX);
  EXPECT_EQ(F(-1e20).to_int(), INT64_MIN);
  EXPECT_EQ(F(9223372036854775808.0).to_int(), INT64_MAX);
  EXPECT_EQ(F(-9223372036854775808.0).to_int(), INT64_MIN);
  EXPECT_EQ(F(9223372036854774784.0).to_int(), 9223372036854774784);  // largest below 2^63
}

// -- Float coercion (values.md §4) -------------------------------------------------------

TEST(ValueToFloat, HandlesAllVariants) {
  EXPECT_EQ(I(5).to_float(), 5.0);
  EXPECT_EQ(F(2.5).to_float(), 2.5);
  EXPECT_EQ(Value::Bool(true).to_float(), 1.0);
  EXPECT_EQ(Value::Bool(false).to_float(), 0.0);
  EXPECT_EQ(Value::Status(7).to_float(), 7.0);
  EXPECT_EQ(S("3.14").to_float(), 3.14);
  EXPECT_EQ(S("garbage").to_float(), 0.0);
  EXPECT_EQ(Value().to_float(), 0.0);
  EXPECT_EQ(Value::Hash({{"a", I(1)}}).to_float(), 0.0);
  EXPECT_EQ(Value::Ref(I(3)).to_float(), 0.0);
  EXPECT_EQ(Value::NativeFn(3).to_float(), 0.0);
  EXPECT_EQ(I(INT64_MAX).to_float(), 9223372036854775808.0);
}

TEST(ValueToFloat, ArrayGivesZeroWhileToIntGivesLength) {
  Value a = Value::Array({I(1), I(2)});
  EXPECT_EQ(a.to_float(), 0.0);
  EXPECT_EQ(a.to_int(), 2);
}

TEST(ValueToFloat, StringsParseStrictly) {
  EXPECT_EQ(S(" 3.14").to_float(), 0.0);
  EXPECT_EQ(S("1e3").to_float(), 1000.0);
  EXPECT_EQ(S(".5").to_float(), 0.5);
  EXPECT_EQ(S("5.").to_float(), 5.0);
  EXPECT_EQ(S("inf").to_float(), kInf);
  EXPECT_EQ(S("Infinity").to_float(), kInf);
  EXPECT_TRUE(std::isnan(S("nan").to_float()));
  EXPECT_EQ(S("1e400").to_float(), kInf);
  EXPECT_EQ(S("0x10").to_float(), 0.0);
}

TEST(ValueToFloat, IntAndFloatCoercionsOfTheSameStringDiffer) {
  EXPECT_EQ(S("3.7").to_int(), 0);
  EXPECT_EQ(S("3.7").to_float(), 3.7);
}

// -- String coercion (values.md §5) --------------------------------------------------------

TEST(ValueToStr, ScalarKinds) {
  EXPECT_EQ(S("hello").to_str(), "hello");
  EXPECT_EQ(Value::Bool(true).to_str(), "1");
  EXPECT_EQ(Value::Bool(false).to_str(), "");
  EXPECT_EQ(Value().to_str(), "");
  EXPECT_EQ(I(42).to_str(), "42");
  EXPECT_EQ(I(-42).to_str(), "-42");
  EXPECT_EQ(I(INT64_MIN).to_str(), "-9223372036854775808");
  EXPECT_EQ(F(3.14).to_str(), "3.14");
  EXPECT_EQ(Value::Status(-3).to_str(), "-3");
  EXPECT_EQ(Value::Hash({{"a", I(1)}}).to_str(), "(hash)");
  EXPECT_EQ(Value::Hash({}).to_str(), "(hash)");
  EXPECT_EQ(Value::Ref(I(1)).to_str(), "(ref)");
  EXPECT_EQ(Value::NativeFn(7).to_str(), "(builtin:7)");
  EXPECT_EQ(Value::NativeFn(65535).to_str(), "(builtin:65535)");
}

TEST(ValueToStr, FloatsUseDisplayFormatting) {
  EXPECT_EQ(F(3.0).to_str(), "3");
  EXPECT_EQ(F(1e20).to_str(), "100000000000000000000");
  EXPECT_EQ(F(1e-7).to_str(), "0.0000001");
  EXPECT_EQ(F(-0.0).to_str(), "-0");
  EXPECT_EQ(F(kNaN).to_str(), "NaN");
  EXPECT_EQ(F(kInf).to_str(), "inf");
  EXPECT_EQ(F(0.1 + 0.2).to_str(), "0.30000000000000004");
  EXPECT_EQ(F(1238149735313913.25).to_str(), "1238149735313913.3");
}

TEST(ValueToStr, ArrayJoinsWithSingleSpace) {
  EXPECT_EQ(Value::Array({I(1), I(2), I(3)}).to_str(), "1 2 3");
  EXPECT_EQ(Value::Array({}).to_str(), "");
  EXPECT_EQ(Value::Array({S(""), S("")}).to_str(), " ");
}

TEST(ValueToStr, NestedArraysFlattenTextually) {
  Value v = Value::Array({I(1), Value::Array({I(2), I(3)}), S("x"), F(2.0), Value()});
  EXPECT_EQ(v.to_str(), "1 2 3 x 2 ");
  EXPECT_EQ(Value::Array({I(1), Value::Array({}), I(2)}).to_str(), "1  2");
  EXPECT_EQ(Value::Array({Value::Array({Value::Array({I(1)})}), I(2)}).to_str(), "1 2");
  EXPECT_EQ(Value::Array({Value::Hash({}), Value::Ref(I(1))}).to_str(), "(hash) (ref)");
}

TEST(ValueToStr, AppendStrAppendsWithoutReplacing) {
  std::string out = "x=";
  Value::Array({I(1), F(2.5)}).append_str(out);
  I(3).append_str(out);
  EXPECT_EQ(out, "x=1 2.53");
}

// -- Length (values.md §7) -----------------------------------------------------------------

TEST(ValueLen, ReturnsCorrectSizePerVariant) {
  EXPECT_EQ(S("abc").len(), 3u);
  EXPECT_EQ(Value::Array({I(1), I(2), I(3), I(4), I(5)}).len(), 5u);
  EXPECT_EQ(Value::Hash({}).len(), 0u);
  EXPECT_EQ(Value::Hash({{"a", I(1)}, {"b", I(2)}}).len(), 2u);
  EXPECT_EQ(I(12345).len(), 5u);
}

TEST(ValueLen, StringLengthIsInBytes) { EXPECT_EQ(S("h\xc3\xa9llo").len(), 6u); }

TEST(ValueLen, OtherKindsUseTheirStringForm) {
  EXPECT_EQ(Value().len(), 0u);
  EXPECT_EQ(Value::Bool(true).len(), 1u);
  EXPECT_EQ(Value::Bool(false).len(), 0u);
  EXPECT_EQ(F(3.0).len(), 1u);
  EXPECT_EQ(F(3.14).len(), 4u);
  EXPECT_EQ(Value::Status(-3).len(), 2u);
  EXPECT_EQ(Value::Ref(I(1)).len(), 5u);
  EXPECT_EQ(Value::NativeFn(7).len(), 11u);
}

TEST(ValueLen, IsEmptyMatchesLenZero) {
  EXPECT_TRUE(S("").is_empty());
  EXPECT_FALSE(S("x").is_empty());
  EXPECT_TRUE(Value::Array({}).is_empty());
  EXPECT_FALSE(Value::Array({I(0)}).is_empty());
  EXPECT_TRUE(Value().is_empty());
}

// -- repr ----------------------------------------------------------------------------------

TEST(ValueRepr, ScalarForms) {
  EXPECT_EQ(Value().repr(), "Undef");
  EXPECT_EQ(Value::Bool(true).repr(), "Bool(true)");
  EXPECT_EQ(Value::Bool(false).repr(), "Bool(false)");
  EXPECT_EQ(I(42).repr(), "Int(42)");
  EXPECT_EQ(I(-1).repr(), "Int(-1)");
  EXPECT_EQ(Value::Status(3).repr(), "Status(3)");
  EXPECT_EQ(Value::NativeFn(7).repr(), "NativeFn(7)");
}

TEST(ValueRepr, FloatsAlwaysLookLikeFloats) {
  EXPECT_EQ(F(2.5).repr(), "Float(2.5)");
  EXPECT_EQ(F(2.0).repr(), "Float(2.0)");
  EXPECT_EQ(F(-0.0).repr(), "Float(-0.0)");
  EXPECT_EQ(F(1e20).repr(), "Float(100000000000000000000.0)");
  EXPECT_EQ(F(kNaN).repr(), "Float(NaN)");
  EXPECT_EQ(F(kInf).repr(), "Float(inf)");
  EXPECT_EQ(F(-kInf).repr(), "Float(-inf)");
}

TEST(ValueRepr, StringsUseCStyleEscapes) {
  EXPECT_EQ(S("a\"b\n").repr(), "Str(\"a\\\"b\\n\")");
  EXPECT_EQ(S("\\\t\r").repr(), "Str(\"\\\\\\t\\r\")");
  EXPECT_EQ(Value::Str(std::string("a\0b", 3)).repr(), "Str(\"a\\0b\")");
  EXPECT_EQ(S("\x01\x1f\x7f").repr(), "Str(\"\\x01\\x1f\\x7f\")");
  EXPECT_EQ(S("\xc3\xa9").repr(), "Str(\"\\xc3\\xa9\")");
  EXPECT_EQ(S("").repr(), "Str(\"\")");
}

TEST(ValueRepr, ContainersAndRefs) {
  EXPECT_EQ(Value::Array({I(1), S("x")}).repr(), "Array[Int(1), Str(\"x\")]");
  EXPECT_EQ(Value::Array({}).repr(), "Array[]");
  EXPECT_EQ(Value::Hash({{"k", I(1)}}).repr(), "Hash{\"k\": Int(1)}");
  EXPECT_EQ(Value::Hash({}).repr(), "Hash{}");
  EXPECT_EQ(Value::Ref(I(1)).repr(), "Ref(Int(1))");
  EXPECT_EQ(Value::Ref(Value::Ref(Value())).repr(), "Ref(Ref(Undef))");
}

TEST(ValueRepr, HashEntriesInInsertionOrderWithEscapedKeys) {
  Value h = Value::Hash({{"z", I(1)}, {"a\n", Value::Array({F(1.5)})}, {"m", Value()}});
  EXPECT_EQ(h.repr(), "Hash{\"z\": Int(1), \"a\\n\": Array[Float(1.5)], \"m\": Undef}");
}

TEST(ValueRepr, NestedContainers) {
  Value v = Value::Array({Value::Array({I(1), Value::Array({})}), Value::Hash({{"k", Value::Ref(S("r"))}})});
  EXPECT_EQ(v.repr(), "Array[Array[Int(1), Array[]], Hash{\"k\": Ref(Str(\"r\"))}]");
}

// -- Equality (values.md §8.1) and identity (ARCHITECTURE §9) ------------------------------

TEST(ValueEquality, ScalarsByKindAndPayload) {
  EXPECT_EQ(I(42), I(42));
  EXPECT_NE(I(42), I(43));
  EXPECT_EQ(S("hi"), S("hi"));
  EXPECT_NE(S("hi"), S("ho"));
  EXPECT_EQ(Value(), Value());
  EXPECT_EQ(Value::Bool(true), Value::Bool(true));
  EXPECT_NE(Value::Bool(true), Value::Bool(false));
  EXPECT_EQ(Value::Status(3), Value::Status(3));
  EXPECT_EQ(Value::NativeFn(7), Value::NativeFn(7));
  EXPECT_NE(Value::NativeFn(7), Value::NativeFn(8));
}

TEST(ValueEquality, KindsMustMatch) {
  EXPECT_NE(I(1), F(1.0));
  EXPECT_NE(Value::Status(0), I(0));
  EXPECT_NE(S("1"), I(1));
  EXPECT_NE(Value(), S(""));
  EXPECT_NE(Value::Bool(true), I(1));
}

TEST(ValueEquality, FloatsUseIeeeRules) {
  EXPECT_NE(F(kNaN), F(kNaN));
  Value n = F(kNaN);
  EXPECT_NE(n, n);
  EXPECT_EQ(F(0.0), F(-0.0));
  EXPECT_EQ(F(kInf), F(kInf));
}

TEST(ValueEquality, ArraysElementWiseAndOrdered) {
  EXPECT_EQ(Value::Array({I(1), S("x")}), Value::Array({I(1), S("x")}));
  EXPECT_NE(Value::Array({I(1), I(2)}), Value::Array({I(2), I(1)}));
  EXPECT_NE(Value::Array({I(1)}), Value::Array({I(1), I(1)}));
  Value withnan = Value::Array({F(kNaN)});
  Value copy = withnan;  // shares the payload, still unequal under IEEE rules
  EXPECT_NE(withnan, copy);
}

TEST(ValueEquality, HashesCompareAsMapsIgnoringOrder) {
  Value a = Value::Hash({{"x", I(1)}, {"y", I(2)}});
  Value b = Value::Hash({{"y", I(2)}, {"x", I(1)}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, Value::Hash({{"x", I(1)}, {"y", I(3)}}));
  EXPECT_NE(a, Value::Hash({{"x", I(1)}}));
  EXPECT_NE(a, Value::Hash({{"x", I(1)}, {"z", I(2)}}));
  EXPECT_TRUE(a.as_hash() == b.as_hash());
}

TEST(ValueEquality, RefsCompareBoxedValues) {
  EXPECT_EQ(Value::Ref(I(1)), Value::Ref(I(1)));
  EXPECT_NE(Value::Ref(I(1)), Value::Ref(I(2)));
  EXPECT_NE(Value::Ref(I(1)), I(1));
}

TEST(ValueIdentical, FloatsByBitsWithAnyNanEqual) {
  EXPECT_TRUE(identical(F(kNaN), F(kNaN)));
  EXPECT_TRUE(identical(F(kNaN), F(std::bit_cast<double>(0xfff0000000000123ULL))));
  EXPECT_FALSE(identical(F(0.0), F(-0.0)));
  EXPECT_TRUE(identical(F(1.5), F(1.5)));
  EXPECT_FALSE(identical(I(1), F(1.0)));
}

TEST(ValueIdentical, RecursesThroughContainers) {
  EXPECT_TRUE(identical(Value::Array({F(kNaN), S("a")}), Value::Array({F(kNaN), S("a")})));
  EXPECT_FALSE(identical(Value::Array({F(0.0)}), Value::Array({F(-0.0)})));
  EXPECT_TRUE(identical(Value::Hash({{"a", F(kNaN)}, {"b", I(1)}}),
                        Value::Hash({{"b", I(1)}, {"a", F(kNaN)}})));
  EXPECT_FALSE(identical(Value::Hash({{"a", I(1)}}), Value::Hash({{"b", I(1)}})));
  EXPECT_TRUE(identical(Value::Ref(F(kNaN)), Value::Ref(F(kNaN))));
  EXPECT_FALSE(identical(Value::Ref(I(1)), Value::Ref(I(2))));
}

// -- Hashing (values.md §8.4) ----------------------------------------------------------------

TEST(ValueHash, TwoNanValuesHashEqual) {
  EXPECT_EQ(F(kNaN).hash(), F(kNaN).hash());
  EXPECT_EQ(F(kNaN).hash(), F(-kNaN).hash());  // consistent with identical()
  EXPECT_EQ(std::hash<Value>{}(F(kNaN)), F(kNaN).hash());
}

TEST(ValueHash, AgreesWithIdentical) {
  EXPECT_EQ(I(5).hash(), I(5).hash());
  EXPECT_NE(I(5).hash(), F(5.0).hash());
  EXPECT_NE(F(0.0).hash(), F(-0.0).hash());
  EXPECT_EQ(S("abc").hash(), S("abc").hash());
  EXPECT_NE(S("abc").hash(), S("abd").hash());
  EXPECT_EQ(Value::Hash({{"a", I(1)}, {"b", F(kNaN)}}).hash(),
            Value::Hash({{"b", F(-kNaN)}, {"a", I(1)}}).hash());
  EXPECT_EQ(Value::Array({I(1), Value::Ref(S("x"))}).hash(),
            Value::Array({I(1), Value::Ref(S("x"))}).hash());
  Value moved_from = I(99);
  Value sink = std::move(moved_from);
  EXPECT_EQ(moved_from.hash(), Value().hash());  // NOLINT(bugprone-use-after-move)
}

TEST(ValueHashBytes, ScalarStreams) {
  EXPECT_EQ(stream_of(Value()), le(0, 8));
  EXPECT_EQ(stream_of(Value::Bool(true)), le(1, 8) + le(1, 1));
  EXPECT_EQ(stream_of(I(-2)), le(2, 8) + le(static_cast<uint64_t>(-2), 8));
  EXPECT_EQ(stream_of(F(2.5)), le(3, 8) + le(std::bit_cast<uint64_t>(2.5), 8));
  EXPECT_EQ(stream_of(S("hi")), le(4, 8) + "hi\xff");
  EXPECT_EQ(stream_of(Value::Status(-3)), le(7, 8) + le(0xfffffffd, 4));
  EXPECT_EQ(stream_of(Value::Ref(I(1))), le(8, 8) + le(2, 8) + le(1, 8));
  EXPECT_EQ(stream_of(Value::NativeFn(0x1234)), le(9, 8) + le(0x1234, 2));
}

TEST(ValueHashBytes, FloatStreamKeepsRawBits) {
  EXPECT_NE(stream_of(F(0.0)), stream_of(F(-0.0)));
  EXPECT_EQ(stream_of(F(kNaN)), stream_of(F(kNaN)));
}

TEST(ValueHashBytes, ArrayStreamIsCountThenElements) {
  EXPECT_EQ(stream_of(Value::Array({I(1), S("a")})),
            le(5, 8) + le(2, 8) + le(2, 8) + le(1, 8) + le(4, 8) + "a\xff");
}

TEST(ValueHashBytes, HashStreamSortsEntriesByKeyBytes) {
  Value a = Value::Hash({{"b", I(1)}, {"a", I(2)}, {"\xc3\xa9", I(3)}});
  Value b = Value::Hash({{"\xc3\xa9", I(3)}, {"a", I(2)}, {"b", I(1)}});
  std::string expected = le(6, 8) + le(3, 8) + "a\xff" + le(2, 8) + le(2, 8) + "b\xff" +
                         le(2, 8) + le(1, 8) + "\xc3\xa9\xff" + le(2, 8) + le(3, 8);
  EXPECT_EQ(stream_of(a), expected);
  EXPECT_EQ(stream_of(b), expected);
}

TEST(ValueHashBytes, ReproducesReferenceOpHashVectors) {
  // spec/chunk-and-vm.md §1.1: SipHash-1-3 over the op stream plus the constants' Value
  // streams; matching the reference's hashes checks our Value stream bit for bit.
  EXPECT_EQ(siphash13(le(0, 8) + le(0, 8)), 0x76be999e3e25b2a0ULL);

  std::string v3 = le(1, 8) + le(3, 8) + le(0, 2) + le(1, 8);  // LoadConst 0
  S("hello").hash_bytes(v3);
  EXPECT_EQ(siphash13(v3), 0x558049d6bf2ac466ULL);

  std::string v4 = le(6, 8) + le(0, 8)                              // Nop
                   + le(74, 8) + le(7, 8)                           // Jump 7
                   + le(79, 8) + le(3, 2) + le(2, 1)                // Call(3, 2)
                   + le(95, 8) + le(1, 2) + le(static_cast<uint32_t>(-5), 4) + le(9, 8)
                   + le(2, 8) + le(std::bit_cast<uint64_t>(0.5), 8)  // LoadFloat 0.5
                   + le(133, 8)                                     // WithRedirectsEnd
                   + le(4, 8);
  F(2.5).hash_bytes(v4);
  Value().hash_bytes(v4);
  Value::Bool(true).hash_bytes(v4);
  Value::Array({I(-1), Value::Status(3)}).hash_bytes(v4);
  EXPECT_EQ(siphash13(v4), 0x96a48d64dfb3750dULL);
}

// -- Copy-on-write value semantics (values.md §1.1) ----------------------------------------

TEST(ValueCow, ArrayPushAfterCopyLeavesEarlierCopyUnchanged) {
  // DeclareArray a; push 1; GetArray a; push 2; GetArray a -> [1] and [1,2].
  Value global = Value::Array({});
  global.array_mut().push_back(I(1));
  Value first_read = global;
  global.array_mut().push_back(I(2));
  Value second_read = global;
  EXPECT_EQ(Value::Array({first_read, second_read}).repr(),
            "Array[Array[Int(1)], Array[Int(1), Int(2)]]");
}

TEST(ValueCow, WritingAStackCopyLeavesTheGlobalUnchanged) {
  Value global = Value::Array({I(1)});
  Value on_stack = global;
  EXPECT_TRUE(global.is_shared());
  on_stack.array_mut()[0] = I(9);
  EXPECT_EQ(global.as_array()[0], I(1));
  EXPECT_EQ(on_stack.as_array()[0], I(9));
  EXPECT_FALSE(global.is_shared());
  EXPECT_FALSE(on_stack.is_shared());
}

TEST(ValueCow, UnsharedPayloadIsMutatedInPlace) {
  Value a = Value::Array({I(1), I(2)});
  const Value* before = a.as_array().data();
  a.array_mut()[1] = I(5);
  EXPECT_EQ(a.as_array().data(), before);
  Value s = S("abc");
  const std::string* sp = &s.as_str();
  s.str_mut() += "d";
  EXPECT_EQ(&s.as_str(), sp);
  EXPECT_EQ(s.as_str(), "abcd");
}

TEST(ValueCow, StrMutCopiesSharedString) {
  Value a = S("abc");
  Value b = a;
  b.str_mut() += "!";
  EXPECT_EQ(a.as_str(), "abc");
  EXPECT_EQ(b.as_str(), "abc!");
}

TEST(ValueCow, HashMutCopiesSharedMap) {
  Value a = Value::Hash({{"k", I(1)}});
  Value b = a;
  b.hash_mut().insert_or_assign("k", I(2));
  b.hash_mut().insert_or_assign("n", I(3));
  EXPECT_EQ(a.repr(), "Hash{\"k\": Int(1)}");
  EXPECT_EQ(b.repr(), "Hash{\"k\": Int(2), \"n\": Int(3)}");
}

TEST(ValueCow, RefOwnsItsCopyAndCopiesDoNotAlias) {
  Value inner = Value::Array({I(1)});
  Value r = Value::Ref(inner);
  inner.array_mut().push_back(I(2));  // the Ref owns a copy: unaffected
  EXPECT_EQ(r.as_ref().as_array().size(), 1u);
  Value r2 = r;
  r2.ref_mut() = I(5);
  EXPECT_EQ(r.as_ref().repr(), "Array[Int(1)]");
  EXPECT_EQ(r2.as_ref(), I(5));
  Value r3 = r;
  r3.ref_mut().array_mut().push_back(I(7));
  EXPECT_EQ(r.as_ref().repr(), "Array[Int(1)]");
  EXPECT_EQ(r3.as_ref().repr(), "Array[Int(1), Int(7)]");
}

TEST(ValueCow, NestedArrayWriteThroughOuterCopyLeavesOriginalUnchanged) {
  Value original = Value::Array({Value::Array({I(1)})});
  Value copy = original;
  copy.array_mut()[0].array_mut().push_back(I(2));
  EXPECT_EQ(original.repr(), "Array[Array[Int(1)]]");
  EXPECT_EQ(copy.repr(), "Array[Array[Int(1), Int(2)]]");
}

TEST(ValueCow, SelfAssignmentKeepsThePayload) {
  Value a = Value::Array({S("x")});
  Value& alias = a;
  a = alias;
  EXPECT_EQ(a.repr(), "Array[Str(\"x\")]");
  EXPECT_FALSE(a.is_shared());
}

TEST(ValueCow, AssigningFromAnElementOfTheOwnPayloadKeepsTheElement) {
  // The source lives inside the payload the assignment releases (caught by ASan if the
  // operators read it after release()).
  Value v = Value::Array({Value::Str(std::string(40, 'a'))});
  v = v.as_array()[0];
  EXPECT_EQ(v.as_str(), std::string(40, 'a'));
  Value w = Value::Array({Value::Array({I(1)})});
  w = std::move(w.array_mut()[0]);
  EXPECT_EQ(w.repr(), "Array[Int(1)]");
  Value r = Value::Ref(S("boxed"));
  r = r.as_ref();
  EXPECT_EQ(r, S("boxed"));
}

// -- Heap accounting --------------------------------------------------------------------------

TEST(ValueAccounting, StringCountsItsCapacityAndReturnsToBaseline) {
  int64_t base = fusevm::heap_bytes_live();
  {
    Value s = Value::Str(std::string(1000, 'x'));
    EXPECT_GE(fusevm::heap_bytes_live() - base, 1000);
    Value copy = s;  // shared: no new payload
    int64_t shared = fusevm::heap_bytes_live();
    copy.str_mut() += "y";  // copy-on-write: a second payload
    EXPECT_GE(fusevm::heap_bytes_live() - shared, 1000);
  }
  EXPECT_EQ(fusevm::heap_bytes_live(), base);
}

TEST(ValueAccounting, RefreshAfterGrowthAdjustsByTheDelta) {
  int64_t base = fusevm::heap_bytes_live();
  {
    Value a = Value::Array({});
    int64_t empty = fusevm::heap_bytes_live();
    for (int i = 0; i < 1000; ++i) a.array_mut().push_back(I(i));
    a.refresh_accounting();
    EXPECT_GE(fusevm::heap_bytes_live() - empty,
              static_cast<int64_t>(1000 * sizeof(Value)));
    a.array_mut().clear();
    a.array_mut().shrink_to_fit();
    a.refresh_accounting();
    EXPECT_EQ(fusevm::heap_bytes_live(), empty);
  }
  EXPECT_EQ(fusevm::heap_bytes_live(), base);
}

TEST(ValueAccounting, StaleRecordIsSubtractedExactlyOnDestruction) {
  int64_t base = fusevm::heap_bytes_live();
  {
    Value s = S("");
    s.str_mut().assign(5000, 'z');  // grown without refresh: still counts the old size
  }
  EXPECT_EQ(fusevm::heap_bytes_live(), base);
}

TEST(ValueAccounting, HashEntriesAndNestedPayloadsAreCounted) {
  int64_t base = fusevm::heap_bytes_live();
  {
    Value h = Value::Hash({});
    int64_t empty = fusevm::heap_bytes_live();
    for (int i = 0; i < 100; ++i) h.hash_mut().insert_or_assign(std::to_string(i), I(i));
    h.refresh_accounting();
    EXPECT_GE(fusevm::heap_bytes_live() - empty, 100 * 32);
    Value nested = Value::Array({Value::Array({S("a"), Value::Ref(S("b"))}), h});
    EXPECT_GT(fusevm::heap_bytes_live(), empty);
  }
  EXPECT_EQ(fusevm::heap_bytes_live(), base);
}

TEST(ValueAccounting, ScalarsAndRefreshOnScalarsCostNothing) {
  int64_t base = fusevm::heap_bytes_live();
  Value i = I(5);
  i.refresh_accounting();
  Value f = F(1.5);
  EXPECT_EQ(fusevm::heap_bytes_live(), base);
}

// -- deep_copy ---------------------------------------------------------------------------------

TEST(ValueDeepCopy, SharesNoPayloadAtAnyDepth) {
  Value v = Value::Array({S("s"), Value::Hash({{"k", Value::Array({I(1)})}}),
                          Value::Ref(S("r")), F(kNaN)});
  Value alias = v;
  Value d = v.deep_copy();
  EXPECT_TRUE(identical(d, v));
  EXPECT_FALSE(d.is_shared());
  EXPECT_NE(d.raw_bits(), v.raw_bits());
  const ValueArray& x = v.as_array();
  const ValueArray& y = d.as_array();
  EXPECT_NE(x[0].raw_bits(), y[0].raw_bits());
  EXPECT_NE(x[1].raw_bits(), y[1].raw_bits());
  EXPECT_NE(x[1].as_hash().find("k")->raw_bits(), y[1].as_hash().find("k")->raw_bits());
  EXPECT_NE(x[2].raw_bits(), y[2].raw_bits());
  EXPECT_NE(x[2].as_ref().raw_bits(), y[2].as_ref().raw_bits());
  EXPECT_FALSE(y[0].is_shared());
  EXPECT_FALSE(y[1].as_hash().find("k")->is_shared());
}

TEST(ValueDeepCopy, KeepsHashInsertionOrderAndScalars) {
  Value h = Value::Hash({{"z", I(1)}, {"a", Value::Status(2)}, {"m", Value::NativeFn(3)}});
  EXPECT_EQ(h.deep_copy().repr(), h.repr());
  EXPECT_TRUE(identical(F(-0.0).deep_copy(), F(-0.0)));
  EXPECT_TRUE(Value().deep_copy().is_undef());
}

TEST(ValueDeepCopy, CopyCanBeUsedAndDestroyedOnAnotherThread) {
  Value v = Value::Array({S("x"), Value::Array({I(1), I(2)})});
  Value d = v.deep_copy();
  std::string seen;
  std::thread t([moved = std::move(d), &seen]() mutable {
    moved.array_mut().push_back(S("y"));
    seen = moved.to_str();
    moved = Value();
  });
  t.join();
  EXPECT_EQ(seen, "x 1 2 y");
  EXPECT_EQ(v.to_str(), "x 1 2");
}

// -- Deep nesting must not overflow the native stack -------------------------------------------

TEST(ValueDeepNesting, VeryDeepArrayWalksAndDestroysIteratively) {
  constexpr int kDepth = 200000;  // far past what recursion survives on an 8 MiB stack
  Value v = nested_arrays(kDepth);
  EXPECT_EQ(v.to_str(), "7");
  std::string r = v.repr();
  EXPECT_EQ(r.size(), static_cast<size_t>(kDepth) * 7 + 6);  // "Array[" + "]" per level
  Value other = nested_arrays(kDepth);
  EXPECT_TRUE(v == other);
  EXPECT_TRUE(identical(v, other));
  EXPECT_EQ(v.hash(), other.hash());
  std::string bytes;
  v.hash_bytes(bytes);
  EXPECT_EQ(bytes.size(), static_cast<size_t>(kDepth) * 16 + 16);
  Value d = v.deep_copy();
  EXPECT_TRUE(identical(d, v));
  int64_t before = fusevm::heap_bytes_live();
  v = Value();
  other = Value();
  d = Value();
  EXPECT_LT(fusevm::heap_bytes_live(), before);
}

TEST(ValueDeepNesting, VeryDeepRefsAndHashesDestroyIteratively) {
  constexpr int kDepth = 200000;  // far past what recursion survives on an 8 MiB stack
  Value r = I(1);
  for (int i = 0; i < kDepth; ++i) r = Value::Ref(std::move(r));
  Value h = I(1);
  for (int i = 0; i < kDepth; ++i) {
    HashMap m;
    m.insert_or_assign("k", std::move(h));
    h = Value::Hash(std::move(m));
  }
  EXPECT_EQ(r.deep_copy().hash(), r.hash());
  EXPECT_TRUE(h == h.deep_copy());
  r = Value();
  h = Value();
  EXPECT_TRUE(r.is_undef());
}

// -- HashMap ------------------------------------------------------------------------------------

TEST(ValueHashMap, KeepsInsertionOrderAndOverwritesInPlace) {
  HashMap m;
  m.insert_or_assign("b", I(1));
  m.insert_or_assign("a", I(2));
  m.insert_or_assign("b", I(3));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.entries()[0].first, "b");
  EXPECT_EQ(m.entries()[0].second, I(3));
  EXPECT_EQ(m.entries()[1].first, "a");
}

TEST(ValueHashMap, InitializerListLaterDuplicateOverwritesKeepingFirstPosition) {
  HashMap m{{"x", I(1)}, {"y", I(2)}, {"x", I(3)}};
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.entries()[0].first, "x");
  EXPECT_EQ(*m.find("x"), I(3));
}

TEST(ValueHashMap, FindContainsAndMutableFind) {
  HashMap m{{"k", I(1)}};
  EXPECT_TRUE(m.contains("k"));
  EXPECT_FALSE(m.contains("K"));
  EXPECT_EQ(m.find("missing"), nullptr);
  *m.find("k") = S("v");
  EXPECT_EQ(*m.find("k"), S("v"));
  EXPECT_TRUE(m.contains(std::string_view("k\0", 1)));
  EXPECT_FALSE(m.contains(std::string_view("k\0", 2)));
}

TEST(ValueHashMap, EraseKeepsOrderAndReturnsTheValue) {
  HashMap m{{"a", I(1)}, {"b", I(2)}, {"c", I(3)}};
  auto removed = m.erase("b");
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(*removed, I(2));
  EXPECT_EQ(m.erase("b"), std::nullopt);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.entries()[0].first, "a");
  EXPECT_EQ(m.entries()[1].first, "c");
  m.insert_or_assign("b", I(4));
  EXPECT_EQ(m.entries()[2].first, "b");
}

TEST(ValueHashMap, IndexedMapsStayConsistentAcrossThresholdAndErasure) {
  HashMap m;
  constexpr int kN = 200;
  for (int i = 0; i < kN; ++i) m.insert_or_assign("key" + std::to_string(i), I(i));
  for (int i = 0; i < kN; ++i) {
    const Value* v = m.find("key" + std::to_string(i));
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(*v, I(i));
  }
  for (int i = 0; i < kN; i += 2) ASSERT_TRUE(m.erase("key" + std::to_string(i)).has_value());
  ASSERT_EQ(m.size(), static_cast<size_t>(kN / 2));
  for (int i = 0; i < kN; ++i) {
    const Value* v = m.find("key" + std::to_string(i));
    if (i % 2 == 0) {
      EXPECT_EQ(v, nullptr) << i;
    } else {
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(*v, I(i));
    }
  }
  for (size_t j = 0; j < m.size(); ++j) {
    EXPECT_EQ(m.entries()[j].first, "key" + std::to_string(2 * j + 1));
  }
  // Shrink below the threshold and grow back past it.
  while (m.size() > 3) m.erase(m.entries().front().first);
  EXPECT_EQ(*m.find("key199"), I(199));
  EXPECT_EQ(m.find("key1"), nullptr);
  for (int i = 0; i < 20; ++i) m.insert_or_assign("n" + std::to_string(i), I(-i));
  EXPECT_EQ(*m.find("key199"), I(199));
  EXPECT_EQ(*m.find("n19"), I(-19));
  m.insert_or_assign("n5", I(55));
  EXPECT_EQ(*m.find("n5"), I(55));
  EXPECT_EQ(m.size(), 23u);
}

TEST(ValueHashMap, EqualityIgnoresOrder) {
  HashMap a{{"x", I(1)}, {"y", I(2)}};
  HashMap b{{"y", I(2)}, {"x", I(1)}};
  EXPECT_TRUE(a == b);
  b.insert_or_assign("y", I(3));
  EXPECT_FALSE(a == b);
  HashMap c{{"x", I(1)}};
  EXPECT_FALSE(a == c);
}

TEST(ValueHashMap, ClearEmptiesIndexedAndSmallMaps) {
  HashMap m;
  for (int i = 0; i < 50; ++i) m.insert_or_assign(std::to_string(i), I(i));
  m.clear();
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.find("3"), nullptr);
  m.insert_or_assign("3", I(3));
  EXPECT_EQ(*m.find("3"), I(3));
  EXPECT_EQ(m.size(), 1u);
}
