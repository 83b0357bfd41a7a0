// Parsing and printing of .fasm constant literals (ints, floats, strings, nested values).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "asm/lexer.hpp"
#include "fusevm/asm.hpp"
#include "fusevm/op.hpp"
#include "fusevm/value.hpp"

namespace fusevm::fasm {

/// A problem in the statement being parsed; caught once per line by the assembler.
struct SyntaxError {
  std::string message;  ///< text of the diagnostic (without `file:line: `)
};

/// Deepest nesting of [ ] / { } / ref( ) in one literal: the limit shared by every format.
inline constexpr size_t kMaxLiteralDepth = kMaxNesting;

/// A read-only walk over tokens [begin, end) of one line.
class Cursor {
 public:
  /// Cursor over `tokens[begin, end)`.
  Cursor(const std::vector<Token>& tokens, size_t begin, size_t end)
      : tokens_(tokens), pos_(begin), end_(end) {}
  /// True if no token is left.
  bool done() const { return pos_ >= end_; }
  /// The next token (precondition: !done()).
  const Token& peek() const { return tokens_[pos_]; }
  /// The next token; throws SyntaxError "missing <what>" when done.
  const Token& peek_required(std::string_view what) const;
  /// Consume and return the next token; throws SyntaxError "missing <what>" when done.
  const Token& next(std::string_view what);
  /// Consume punctuation `c` if it is next.
  bool accept(char c);
  /// Consume punctuation `c` or throw "expected 'c' ...".
  void expect(char c, std::string_view context);
  /// Throw "unexpected X after <context>" unless done().
  void expect_end(std::string_view context) const;

 private:
  const std::vector<Token>& tokens_;
  size_t pos_;
  size_t end_;
};

/// A parsed integer literal: sign and magnitude, so both i64 and u64 ranges can be checked.
struct IntLiteral {
  bool negative = false;  ///< written with a leading '-'
  uint64_t magnitude = 0;  ///< absolute value
  /// The value if it fits in [lo, hi].
  std::optional<int64_t> in_signed(int64_t lo, int64_t hi) const;
  /// The value if it fits in [0, hi].
  std::optional<uint64_t> in_unsigned(uint64_t hi) const;
  /// The literal as written (for messages).
  std::string to_string() const;
};

/// True if `w` has the shape of an integer literal: -?[0-9]+ or -?0x[0-9A-Fa-f]+.
bool looks_int(std::string_view w);
/// The integer literal `w` (precondition: looks_int); nullopt if its magnitude exceeds u64.
std::optional<IntLiteral> parse_int_word(std::string_view w);
/// True if `w` is a float literal: digits with '.' or an exponent, or nan, inf, -inf.
bool looks_float(std::string_view w);
/// The float literal `w` (precondition: looks_float); nullopt if it overflows a double.
std::optional<double> parse_float_word(std::string_view w);

/// `t` as an integer literal; throws SyntaxError naming `what` otherwise.
IntLiteral int_from_token(const Token& t, std::string_view what);
/// Next token as an integer literal; throws SyntaxError naming `what` otherwise.
IntLiteral parse_int(Cursor& c, std::string_view what);
/// A float operand (LoadFloat): a float literal, `f64(BITS)`, or an integer literal.
double parse_float_operand(Cursor& c);
/// One constant literal (docs/fasm.md "Literals").
Value parse_literal(Cursor& c);

/// Float text that parse_float_operand reads back to the same bits: shortest round-trip
/// digits, always with '.', 'e', nan or inf; other NaNs as `f64(0x...)`.
std::string print_float(double f);
/// Literal text that parse_literal reads back to an identical value.
std::string print_literal(const Value& v);
/// An operand of kind `kind` that is a number (I64, Limit, F64) as .fasm writes it (signed,
/// or print_float of its bits); nullopt for other kinds.
std::optional<std::string> print_number_operand(OperandKind kind, uint64_t raw);

}  // namespace fusevm::fasm
