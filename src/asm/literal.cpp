// Parsing and printing of .fasm constant literals; floats round-trip bit-exactly.
#include "asm/literal.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

namespace fusevm::fasm {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The only NaN that prints as `nan`; every other NaN keeps its sign and payload via f64().
constexpr uint64_t kCanonicalNan = 0x7ff8000000000000ULL;

uint64_t bits_of(double f) {
  uint64_t b;
  std::memcpy(&b, &f, 8);
  return b;
}

double from_bits(uint64_t b) {
  double f;
  std::memcpy(&f, &b, 8);
  return f;
}

std::string hex64(uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 60; shift >= 0; shift -= 4) s.push_back(kDigits[(v >> shift) & 15]);
  return s;
}

// Parses `( INT )` after a keyword such as status or native.
IntLiteral parenthesized_int(Cursor& c, std::string_view keyword) {
  c.expect('(', "after " + std::string(keyword));
  IntLiteral v = parse_int(c, std::string(keyword) + " argument");
  c.expect(')', "to close " + std::string(keyword) + "(");
  return v;
}

double f64_bits(Cursor& c) {
  IntLiteral bits = parenthesized_int(c, "f64");
  auto raw = bits.in_unsigned(std::numeric_limits<uint64_t>::max());
  if (!raw) throw SyntaxError{"f64 bits " + bits.to_string() + " out of range (0..2^64-1)"};
  return from_bits(*raw);
}

std::optional<int_fast8_t> digit_value(char c) {
  if (is_digit(c)) return static_cast<int_fast8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int_fast8_t>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int_fast8_t>(c - 'A' + 10);
  return std::nullopt;
}

void enter(size_t depth) {
  if (depth >= kMaxLiteralDepth) {
    throw SyntaxError{"literal nested too deeply (limit " + std::to_string(kMaxLiteralDepth) +
                      ")"};
  }
}

Value parse_value(Cursor& c, size_t depth) {
  const Token& t = c.next("literal");
  if (t.kind == TokKind::String) return Value::Str(t.text);
  if (t.is('[')) {
    enter(depth);
    ValueArray items;
    if (c.accept(']')) return Value::Array(std::move(items));
    do {
      items.push_back(parse_value(c, depth + 1));
    } while (c.accept(','));
    c.expect(']', "to close the array");
    return Value::Array(std::move(items));
  }
  if (t.is('{')) {
    enter(depth);
    HashMap map;
    if (c.accept('}')) return Value::Hash(std::move(map));
    do {
      const Token& key = c.next("hash key");
      if (key.kind != TokKind::String) {
        throw SyntaxError{"hash key must be a string, got " + show_token(key)};
      }
      if (map.contains(key.text)) throw SyntaxError{"duplicate hash key " + show_token(key)};
      std::string k = key.text;
      c.expect(':', "after the hash key");
      map.insert_or_assign(std::move(k), parse_value(c, depth + 1));
    } while (c.accept(','));
    c.expect('}', "to close the hash");
    return Value::Hash(std::move(map));
  }
  if (t.kind != TokKind::Word) throw SyntaxError{"bad literal " + show_token(t)};
  const std::string& w = t.text;
  if (w == "true") return Value::Bool(true);
  if (w == "false") return Value::Bool(false);
  if (w == "undef") return Value::Undef();
  if (w == "status") {
    IntLiteral v = parenthesized_int(c, "status");
    auto code = v.in_signed(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
    if (!code) throw SyntaxError{"status " + v.to_string() + " out of range for i32"};
    return Value::Status(static_cast<int32_t>(*code));
  }
  if (w == "native") {
    IntLiteral v = parenthesized_int(c, "native");
    auto id = v.in_unsigned(std::numeric_limits<uint16_t>::max());
    if (!id) throw SyntaxError{"native " + v.to_string() + " out of range (0..65535)"};
    return Value::NativeFn(static_cast<uint16_t>(*id));
  }
  if (w == "ref") {
    enter(depth);
    c.expect('(', "after ref");
    Value inner = parse_value(c, depth + 1);
    c.expect(')', "to close ref(");
    return Value::Ref(std::move(inner));
  }
  if (w == "f64") return Value::Float(f64_bits(c));
  if (looks_float(w)) {
    auto f = parse_float_word(w);
    if (!f) throw SyntaxError{"float literal " + show_token(t) + " out of range"};
    return Value::Float(*f);
  }
  if (looks_int(w)) {
    auto v = parse_int_word(w);
    auto i = v ? v->in_signed(std::numeric_limits<int64_t>::min(),
                              std::numeric_limits<int64_t>::max())
               : std::nullopt;
    if (!i) throw SyntaxError{"integer literal " + show_token(t) + " out of range for i64"};
    return Value::Int(*i);
  }
  throw SyntaxError{"bad literal " + show_token(t)};
}

void print_value(std::string& out, const Value& v) {
  switch (v.kind()) {
    case ValueKind::Undef: out += "undef"; return;
    case ValueKind::Bool: out += v.as_bool() ? "true" : "false"; return;
    case ValueKind::Int: out += std::to_string(v.as_int()); return;
    case ValueKind::Float: out += print_float(v.as_float()); return;
    case ValueKind::Str: out += quote_string(v.as_str()); return;
    case ValueKind::Status: out += "status(" + std::to_string(v.as_status()) + ")"; return;
    case ValueKind::NativeFn: out += "native(" + std::to_string(v.as_native_fn()) + ")"; return;
    case ValueKind::Ref:
      out += "ref(";
      print_value(out, v.as_ref());
      out += ")";
      return;
    case ValueKind::Array: {
      out += "[";
      bool first = true;
      for (const Value& e : v.as_array()) {
        if (!first) out += ", ";
        first = false;
        print_value(out, e);
      }
      out += "]";
      return;
    }
    case ValueKind::Hash: {
      out += "{";
      bool first = true;
      for (const auto& [key, e] : v.as_hash()) {
        if (!first) out += ", ";
        first = false;
        out += quote_string(key);
        out += ": ";
        print_value(out, e);
      }
      out += "}";
      return;
    }
  }
}

}  // namespace

// -- Cursor ---------------------------------------------------------------------------

const Token& Cursor::peek_required(std::string_view what) const {
  if (done()) throw SyntaxError{"missing " + std::string(what)};
  return tokens_[pos_];
}

const Token& Cursor::next(std::string_view what) {
  if (done()) throw SyntaxError{"missing " + std::string(what)};
  return tokens_[pos_++];
}

bool Cursor::accept(char c) {
  if (!done() && tokens_[pos_].is(c)) {
    ++pos_;
    return true;
  }
  return false;
}

void Cursor::expect(char c, std::string_view context) {
  if (accept(c)) return;
  std::string got = done() ? "end of operand" : show_token(peek());
  throw SyntaxError{std::string("expected '") + c + "' " + std::string(context) + ", got " + got};
}

void Cursor::expect_end(std::string_view context) const {
  if (!done()) {
    throw SyntaxError{"unexpected " + show_token(peek()) + " after " + std::string(context)};
  }
}

// -- Numbers ----------------------------------------------------------------------------

std::optional<int64_t> IntLiteral::in_signed(int64_t lo, int64_t hi) const {
  if (!negative) {
    if (hi < 0 || magnitude > static_cast<uint64_t>(hi)) return std::nullopt;
    auto v = static_cast<int64_t>(magnitude);
    return v >= lo ? std::optional<int64_t>(v) : std::nullopt;
  }
  if (magnitude == 0) return lo <= 0 && hi >= 0 ? std::optional<int64_t>(0) : std::nullopt;
  // -magnitude >= lo  <=>  magnitude <= -lo, computed in unsigned to cover i64 min.
  if (lo >= 0 || magnitude > 0 - static_cast<uint64_t>(lo)) return std::nullopt;
  auto v = static_cast<int64_t>(0 - magnitude);
  return v <= hi ? std::optional<int64_t>(v) : std::nullopt;
}

std::optional<uint64_t> IntLiteral::in_unsigned(uint64_t hi) const {
  if (negative && magnitude != 0) return std::nullopt;
  if (magnitude > hi) return std::nullopt;
  return magnitude;
}

std::string IntLiteral::to_string() const {
  return (negative ? "-" : "") + std::to_string(magnitude);
}

bool looks_int(std::string_view w) {
  if (!w.empty() && w[0] == '-') w.remove_prefix(1);
  if (w.size() > 2 && w[0] == '0' && w[1] == 'x') {
    for (char c : w.substr(2)) {
      if (!is_hex_digit(c)) return false;
    }
    return true;
  }
  if (w.empty()) return false;
  for (char c : w) {
    if (!is_digit(c)) return false;
  }
  return true;
}

std::optional<IntLiteral> parse_int_word(std::string_view w) {
  IntLiteral out;
  if (!w.empty() && w[0] == '-') {
    out.negative = true;
    w.remove_prefix(1);
  }
  uint64_t base = 10;
  if (w.size() > 2 && w[0] == '0' && w[1] == 'x') {
    base = 16;
    w.remove_prefix(2);
  }
  for (char c : w) {
    auto d = digit_value(c);
    if (!d) return std::nullopt;
    if (out.magnitude > (std::numeric_limits<uint64_t>::max() - *d) / base) return std::nullopt;
    out.magnitude = out.magnitude * base + static_cast<uint64_t>(*d);
  }
  return out;
}

bool looks_float(std::string_view w) {
  if (w == "nan" || w == "inf" || w == "-inf") return true;
  if (!w.empty() && w[0] == '-') w.remove_prefix(1);
  size_t i = 0, int_digits = 0, frac_digits = 0;
  while (i < w.size() && is_digit(w[i])) ++i, ++int_digits;
  bool dot = i < w.size() && w[i] == '.';
  if (dot) {
    ++i;
    while (i < w.size() && is_digit(w[i])) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  bool exponent = i < w.size() && (w[i] == 'e' || w[i] == 'E');
  if (exponent) {
    ++i;
    if (i < w.size() && (w[i] == '+' || w[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < w.size() && is_digit(w[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == w.size() && (dot || exponent);
}

std::optional<double> parse_float_word(std::string_view w) {
  if (w == "nan") return from_bits(kCanonicalNan);
  if (w == "inf") return std::numeric_limits<double>::infinity();
  if (w == "-inf") return -std::numeric_limits<double>::infinity();
  double f = 0;
  auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), f);
  if (ec != std::errc() || end != w.data() + w.size() || std::isinf(f)) return std::nullopt;
  return f;
}

IntLiteral parse_int(Cursor& c, std::string_view what) { return int_from_token(c.next(what), what); }

IntLiteral int_from_token(const Token& t, std::string_view what) {
  if (t.kind != TokKind::Word || !looks_int(t.text)) {
    throw SyntaxError{"expected an integer for " + std::string(what) + ", got " + show_token(t)};
  }
  auto v = parse_int_word(t.text);
  if (!v) throw SyntaxError{"integer literal " + show_token(t) + " out of range"};
  return *v;
}

double parse_float_operand(Cursor& c) {
  const Token& t = c.next("float literal");
  if (t.kind == TokKind::Word) {
    if (t.text == "f64") return f64_bits(c);
    if (looks_float(t.text)) {
      auto f = parse_float_word(t.text);
      if (!f) throw SyntaxError{"float literal " + show_token(t) + " out of range"};
      return *f;
    }
    if (looks_int(t.text)) {
      auto v = parse_int_word(t.text);
      if (!v) throw SyntaxError{"integer literal " + show_token(t) + " out of range"};
      auto m = static_cast<double>(v->magnitude);
      return v->negative ? -m : m;
    }
  }
  throw SyntaxError{"expected a float literal, got " + show_token(t)};
}

Value parse_literal(Cursor& c) { return parse_value(c, 0); }

// -- Printing ---------------------------------------------------------------------------

std::string print_float(double f) {
  if (std::isnan(f)) return bits_of(f) == kCanonicalNan ? "nan" : "f64(" + hex64(bits_of(f)) + ")";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  // Shortest digits that round-trip (fixed or scientific, whichever is shorter); a form
  // without '.' or an exponent would read back as an Int, so it gets ".0".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
  std::string s(buf, ec == std::errc() ? end : buf);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string print_literal(const Value& v) {
  std::string out;
  print_value(out, v);
  return out;
}

std::optional<std::string> print_number_operand(OperandKind kind, uint64_t raw) {
  switch (kind) {
    case OperandKind::I64:
    case OperandKind::Limit: return std::to_string(static_cast<int64_t>(raw));
    case OperandKind::F64: {
      double f;
      std::memcpy(&f, &raw, sizeof f);
      return print_float(f);
    }
    default: return std::nullopt;
  }
}

}  // namespace fusevm::fasm
