// Tests for float formatting and strict number parsing (spec/values.md §5.1, §6).
#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "fusevm/value.hpp"

using fusevm::format_float;
using fusevm::parse_float;
using fusevm::parse_int;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The spec's C++ recipe, literally (a ~1100-digit exact expansion detects ties). The
// library uses cheaper integer arithmetic for the same decision; this is the oracle.
std::string recipe_format(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  double a = std::fabs(v);
  auto split = [](const char* b, const char* e, std::string& digits, int& exp10) {
    digits.clear();
    const char* p = b;
    digits += *p++;
    if (*p == '.') {
      ++p;
      while (*p != 'e') digits += *p++;
    }
    ++p;
    exp10 = std::stoi(std::string(p, e));
  };
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, a, std::chars_format::scientific);
  std::string d;
  int e;
  split(buf, r.ptr, d, e);
  static char big[1200];
  auto rb = std::to_chars(big, big + sizeof big, a, std::chars_format::scientific, 1100);
  std::string x;
  int ex;
  split(big, rb.ptr, x, ex);
  size_t n = d.size();
  if (ex == e && x[n] == '5' && x.find_first_not_of('0', n + 1) == std::string::npos) {
    std::string up = x.substr(0, n);
    int i = static_cast<int>(n) - 1;
    while (i >= 0 && up[i] == '9') up[i--] = '0';
    if (i >= 0) {
      ++up[i];
    } else {
      up.insert(up.begin(), '1');
      ++e;
    }
    while (up.size() > 1 && up.back() == '0') up.pop_back();
    d = up;
    n = d.size();
  }
  std::string out = v < 0 ? "-" : "";
  int ni = static_cast<int>(n);
  if (e >= ni - 1) {
    out += d + std::string(e - ni + 1, '0');
  } else if (e >= 0) {
    out += d.substr(0, e + 1) + "." + d.substr(e + 1);
  } else {
    out += "0." + std::string(-e - 1, '0') + d;
  }
  return out;
}

double from_bits(uint64_t b) { return std::bit_cast<double>(b); }

}  // namespace

// -- format_float: every row of values.md §5.1 -----------------------------------------

TEST(FormatFloat, IntegralValuesPrintWithoutPointOrZeroFraction) {
  EXPECT_EQ(format_float(3.0), "3");
  EXPECT_EQ(format_float(100.0), "100");
}

TEST(FormatFloat, SimpleFractionsPrintPositionally) {
  EXPECT_EQ(format_float(2.5), "2.5");
  EXPECT_EQ(format_float(-1.5), "-1.5");
}

TEST(FormatFloat, ShortestRoundTripDigits) {
  EXPECT_EQ(format_float(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(format_float(1.0 / 3.0), "0.3333333333333333");
}

TEST(FormatFloat, LargePowersOfTenNeverUseAnExponent) {
  EXPECT_EQ(format_float(1e15), "1000000000000000");
  EXPECT_EQ(format_float(1e20), "100000000000000000000");
  EXPECT_EQ(format_float(1e21), "1000000000000000000000");
}

TEST(FormatFloat, SmallValuesUseLeadingZeros) { EXPECT_EQ(format_float(1e-7), "0.0000001"); }

TEST(FormatFloat, TwoToThe63PrintsShortestDigitsPaddedWithZeros) {
  EXPECT_EQ(format_float(9223372036854775808.0), "9223372036854776000");
}

TEST(FormatFloat, MaxDoubleIs309DigitsOfShortestDigitsThenZeros) {
  std::string s = format_float(DBL_MAX);
  EXPECT_EQ(s.size(), 309u);
  EXPECT_EQ(s, "17976931348623157" + std::string(292, '0'));
}

TEST(FormatFloat, MinSubnormalIsPointThen323ZerosThen5) {
  EXPECT_EQ(format_float(5e-324), "0." + std::string(323, '0') + "5");
  EXPECT_EQ(format_float(-5e-324), "-0." + std::string(323, '0') + "5");
}

TEST(FormatFloat, ExactTieRoundsToLargerMagnitude) {
  // std::to_chars alone gives ...913.2 (round half to even).
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, 1238149735313913.25);
  EXPECT_EQ(std::string(buf, r.ptr), "1238149735313913.2");
  EXPECT_EQ(format_float(1238149735313913.25), "1238149735313913.3");
  EXPECT_EQ(format_float(-1238149735313913.25), "-1238149735313913.3");
}

TEST(FormatFloat, NanAndInfinities) {
  EXPECT_EQ(format_float(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(format_float(-std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(format_float(from_bits(0x7ff0000000000001ULL)), "NaN");  // signalling payload
  EXPECT_EQ(format_float(kInf), "inf");
  EXPECT_EQ(format_float(-kInf), "-inf");
}

TEST(FormatFloat, ZeroAndNegativeZero) {
  EXPECT_EQ(format_float(0.0), "0");
  EXPECT_EQ(format_float(-0.0), "-0");
}

TEST(FormatFloat, AppendFloatAppendsToExistingText) {
  std::string s = "x=";
  fusevm::append_float(s, 2.5);
  EXPECT_EQ(s, "x=2.5");
}

TEST(FormatFloat, MatchesSpecRecipeOnRandomBitPatterns) {
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 25000; ++i) {  // the oracle is slow in Debug builds
    double v = from_bits(rng());
    ASSERT_EQ(format_float(v), recipe_format(v)) << std::bit_cast<uint64_t>(v);
  }
}

TEST(FormatFloat, MatchesSpecRecipeOnConstructedTieCandidates) {
  // Doubles whose exact decimal expansion is 16-19 digits long ending in 5 are where
  // exact ties live; check the tie rule fires and agrees with the recipe.
  std::mt19937_64 rng(7);
  int rewritten = 0;
  for (int i = 0; i < 30000; ++i) {
    uint64_t m = (rng() >> 11) | (uint64_t{1} << 52);  // 53-bit significand
    int k = 1 + static_cast<int>(rng() % 6);
    double v = std::ldexp(static_cast<double>(m), -k - static_cast<int>(rng() % 4));
    std::string got = format_float(v);
    ASSERT_EQ(got, recipe_format(v)) << std::bit_cast<uint64_t>(v);
    ASSERT_EQ(parse_float(got), v) << got;  // rounding the tie up still round-trips
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    if (got != std::string(buf, r.ptr)) ++rewritten;
  }
  EXPECT_GT(rewritten, 10) << "the tie rule was rarely exercised";
}

TEST(FormatFloat, MatchesSpecRecipeOnIntegersWithFactorsOfFive) {
  // Integral doubles m*2^e whose significant digits end in 5 (m carries powers of 5).
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    uint64_t p5 = 1;
    int j = 1 + static_cast<int>(rng() % 22);
    for (int t = 0; t < j; ++t) p5 *= 5;
    uint64_t q = 1 + rng() % ((uint64_t{1} << 53) / p5);
    double v = std::ldexp(static_cast<double>(q * p5), static_cast<int>(rng() % 23));
    ASSERT_EQ(format_float(v), recipe_format(v)) << std::bit_cast<uint64_t>(v);
  }
}

TEST(FormatFloat, RoundTripsThroughParseFloatFor200kRandomBitPatterns) {
  std::mt19937_64 rng(42);
  int checked = 0;
  for (int i = 0; i < 220000; ++i) {
    double v = from_bits(rng());
    if (!std::isfinite(v)) continue;
    std::string s = format_float(v);
    ASSERT_EQ(s.find_first_of("eE"), std::string::npos) << s;
    auto back = parse_float(s);
    ASSERT_TRUE(back.has_value()) << s;
    ASSERT_EQ(std::bit_cast<uint64_t>(*back), std::bit_cast<uint64_t>(v)) << s;
    ++checked;
  }
  EXPECT_GE(checked, 200000);
}

TEST(FormatFloat, RoundTripsSubnormalsAndBinadeEdges) {
  const double vals[] = {DBL_MIN, DBL_MIN * (1 - DBL_EPSILON), DBL_TRUE_MIN, DBL_MAX,
                         std::nextafter(1.0, 2.0), std::nextafter(1.0, 0.0), 0.5, 0.1};
  for (double v : vals) {
    auto back = parse_float(format_float(v));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(std::bit_cast<uint64_t>(*back), std::bit_cast<uint64_t>(v)) << format_float(v);
  }
}

// -- parse_int: every row of values.md §6.1 ----------------------------------------------

TEST(ParseInt, AcceptsOptionalSignAndLeadingZeros) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int("+42"), 42);
  EXPECT_EQ(parse_int("-42"), -42);
  EXPECT_EQ(parse_int("0042"), 42);
  EXPECT_EQ(parse_int("-0"), 0);
  EXPECT_EQ(parse_int("0000000000000000000000000000042"), 42);
}

TEST(ParseInt, AcceptsTheFullI64Range) {
  EXPECT_EQ(parse_int("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_int("-9223372036854775808"), INT64_MIN);
}

TEST(ParseInt, RejectsOverflowInsteadOfSaturating) {
  EXPECT_EQ(parse_int("9223372036854775808"), std::nullopt);
  EXPECT_EQ(parse_int("-9223372036854775809"), std::nullopt);
  EXPECT_EQ(parse_int("99999999999999999999999"), std::nullopt);
}

TEST(ParseInt, RejectsEmptyAndBareSigns) {
  EXPECT_EQ(parse_int(""), std::nullopt);
  EXPECT_EQ(parse_int("-"), std::nullopt);
  EXPECT_EQ(parse_int("+"), std::nullopt);
  EXPECT_EQ(parse_int("+-1"), std::nullopt);
  EXPECT_EQ(parse_int("-+1"), std::nullopt);
}

TEST(ParseInt, RejectsWhitespaceAndTrailingGarbage) {
  EXPECT_EQ(parse_int(" 42"), std::nullopt);
  EXPECT_EQ(parse_int("42 "), std::nullopt);
  EXPECT_EQ(parse_int("42\n"), std::nullopt);
  EXPECT_EQ(parse_int("12abc"), std::nullopt);
}

TEST(ParseInt, RejectsOtherBasesSeparatorsFloatsAndNonAsciiDigits) {
  EXPECT_EQ(parse_int("0x1F"), std::nullopt);
  EXPECT_EQ(parse_int("1_000"), std::nullopt);
  EXPECT_EQ(parse_int("3.7"), std::nullopt);
  EXPECT_EQ(parse_int("1e3"), std::nullopt);
  EXPECT_EQ(parse_int("\xd9\xa3"), std::nullopt);  // U+0663 ARABIC-INDIC DIGIT THREE
}

TEST(ParseInt, RejectsEmbeddedNul) {
  EXPECT_EQ(parse_int(std::string_view("4\0" "2", 3)), std::nullopt);
}

// -- parse_float: every row of values.md §6.2 ---------------------------------------------

TEST(ParseFloat, AcceptsPlainAndSignedDecimals) {
  EXPECT_EQ(parse_float("3.14"), 3.14);
  EXPECT_EQ(parse_float("+3.14"), 3.14);
}

TEST(ParseFloat, AcceptsExponentForms) {
  EXPECT_EQ(parse_float("1e3"), 1000.0);
  EXPECT_EQ(parse_float("1E3"), 1000.0);
  EXPECT_EQ(parse_float("1.e3"), 1000.0);
  EXPECT_EQ(parse_float("-.5e-2"), -0.005);
  EXPECT_EQ(parse_float("2E+2"), 200.0);
}

TEST(ParseFloat, AcceptsMissingIntegerOrFractionDigits) {
  EXPECT_EQ(parse_float(".5"), 0.5);
  EXPECT_EQ(parse_float("+.5"), 0.5);
  EXPECT_EQ(parse_float("5."), 5.0);
}

TEST(ParseFloat, AcceptsInfinityWordsCaseInsensitively) {
  for (const char* s : {"inf", "INF", "Infinity", "iNfInItY", "+inf"}) {
    EXPECT_EQ(parse_float(s), kInf) << s;
  }
  EXPECT_EQ(parse_float("-inf"), -kInf);
  EXPECT_EQ(parse_float("-Infinity"), -kInf);
}

TEST(ParseFloat, AcceptsNanWordsCaseInsensitively) {
  for (const char* s : {"nan", "NaN", "+nan", "-nan", "NAN"}) {
    auto v = parse_float(s);
    ASSERT_TRUE(v.has_value()) << s;
    EXPECT_TRUE(std::isnan(*v)) << s;
  }
}

TEST(ParseFloat, RejectsWhitespaceGarbageHexAndSeparators) {
  for (const char* s : {" 3.14", "3.14 ", "12abc", "0x10", "1_0", "3.14\n"}) {
    EXPECT_EQ(parse_float(s), std::nullopt) << s;
  }
}

TEST(ParseFloat, RejectsIncompleteNumbers) {
  for (const char* s : {"", "+", "-", ".", ".e5", "e5", "1e", "1e+", "+-1", "-+1", "1e3.5",
                        "1..2", "1.2.3", "inff", "infinit", "nan(1)", "nan()", "na"}) {
    EXPECT_EQ(parse_float(s), std::nullopt) << s;
  }
}

TEST(ParseFloat, OverflowGivesSignedInfinity) {
  EXPECT_EQ(parse_float("1e400"), kInf);
  EXPECT_EQ(parse_float("-1e400"), -kInf);
  EXPECT_EQ(parse_float("1e99999999999999999999999999"), kInf);
  EXPECT_EQ(parse_float("179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792"), kInf);
}

TEST(ParseFloat, UnderflowGivesSignedZero) {
  auto pos = parse_float("1e-400");
  ASSERT_TRUE(pos.has_value());
  EXPECT_EQ(std::bit_cast<uint64_t>(*pos), std::bit_cast<uint64_t>(0.0));
  auto neg = parse_float("-1e-400");
  ASSERT_TRUE(neg.has_value());
  EXPECT_EQ(std::bit_cast<uint64_t>(*neg), std::bit_cast<uint64_t>(-0.0));
  EXPECT_EQ(parse_float("0.000000000000000000001e-99999999999999999999"), 0.0);
}

TEST(ParseFloat, NegativeZeroKeepsItsSign) {
  for (const char* s : {"-0", "-.0", "-0.0", "-0e10"}) {
    auto v = parse_float(s);
    ASSERT_TRUE(v.has_value()) << s;
    EXPECT_EQ(*v, 0.0) << s;
    EXPECT_TRUE(std::signbit(*v)) << s;
  }
  EXPECT_FALSE(std::signbit(*parse_float("0e99999")));
}

TEST(ParseFloat, CorrectlyRoundsSubnormalsAndLongMantissas) {
  EXPECT_EQ(parse_float("5e-324"), DBL_TRUE_MIN);
  EXPECT_EQ(parse_float("2.4703282292062328e-324"), DBL_TRUE_MIN);  // just above half
  EXPECT_EQ(parse_float("0.1000000000000000055511151231257827021181583404541015625"), 0.1);
  EXPECT_EQ(parse_float(std::string(400, '0') + "1.5"), 1.5);
}
