// Number <-> text conversions with the reference's exact rules (spec/values.md §5.1, §6).
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "fusevm/value.hpp"

namespace fusevm {
namespace {

// -- Float formatting ---------------------------------------------------------

// Shortest round-trip digits of a positive finite double in scientific form:
// `digits[0..n)` with the decimal point after the first digit, times 10^exp10.
struct Shortest {
  char digits[24];
  int n = 0;
  int exp10 = 0;
};

Shortest shortest_digits(double a) {
  Shortest s;
  char buf[40];
  auto res = std::to_chars(buf, buf + sizeof buf, a, std::chars_format::scientific);
  const char* p = buf;
  s.digits[s.n++] = *p++;
  if (*p == '.') {
    ++p;
    while (*p != 'e') s.digits[s.n++] = *p++;
  }
  ++p;  // 'e'
  bool neg_exp = *p == '-';
  if (*p == '-' || *p == '+') ++p;
  int e = 0;
  while (p < res.ptr) e = e * 10 + (*p++ - '0');
  s.exp10 = neg_exp ? -e : e;
  return s;
}

int decimal_digit_count(uint64_t v) {
  int d = 1;
  while (v >= 10) {
    v /= 10;
    ++d;
  }
  return d;
}

// The exact decimal value of `a` as S * 10^pow10 with S free of trailing decimal zeros,
// when S has at most 19 digits and ends in 5 (the only shape an exact tie can have).
// Returns false otherwise. Cheap integer arithmetic replaces the spec recipe's ~1100-digit
// exact expansion; tests check both agree.
bool exact_tie_candidate(double a, uint64_t& sig, int& pow10) {
  uint64_t bits = std::bit_cast<uint64_t>(a);
  int biased = static_cast<int>((bits >> 52) & 0x7ff);
  uint64_t m = bits & ((uint64_t{1} << 52) - 1);
  int e2;
  if (biased == 0) {
    e2 = -1074;
  } else {
    m |= uint64_t{1} << 52;
    e2 = biased - 1075;
  }
  if (m == 0) return false;
  int tz = std::countr_zero(m);
  m >>= tz;
  e2 += tz;  // a == m * 2^e2 with m odd
  if (e2 >= 0) {
    // a is an integer; its significant digits end in 5 only if m holds more factors of 5
    // than e2 (otherwise a leftover factor 2 makes the last significant digit even).
    uint64_t q = m;
    for (int i = 0; i < e2; ++i) {
      if (q % 5 != 0) return false;
      q /= 5;
    }
    if (q % 5 != 0) return false;
    sig = q;  // a == q * 10^e2
    pow10 = e2;
    return true;
  }
  // a == m * 5^k / 10^k; m * 5^k is odd and divisible by 5, so it ends in 5.
  int k = -e2;
  unsigned __int128 s = m;
  constexpr unsigned __int128 kLimit = static_cast<unsigned __int128>(UINT64_MAX);
  for (int i = 0; i < k; ++i) {
    s *= 5;
    if (s > kLimit) return false;
  }
  sig = static_cast<uint64_t>(s);
  pow10 = -k;
  return true;
}

// Rust's Display breaks an exact tie between two shortest candidates toward the larger
// magnitude; std::to_chars breaks it toward the even digit. Rewrite the digits when the
// exact value sits exactly halfway (spec/values.md §5.1 rule 4).
void apply_tie_rule(double a, Shortest& s) {
  uint64_t sig;
  int pow10;
  if (!exact_tie_candidate(a, sig, pow10)) return;
  int sig_digits = decimal_digit_count(sig);
  if (sig_digits != s.n + 1) return;
  if (sig_digits - 1 + pow10 != s.exp10) return;
  uint64_t up = sig / 10 + 1;
  int up_digits = decimal_digit_count(up);
  if (up_digits > s.n) ++s.exp10;  // 99..95 rounds up to 100..0
  while (up % 10 == 0) up /= 10;
  char tmp[24];
  auto res = std::to_chars(tmp, tmp + sizeof tmp, up);
  s.n = static_cast<int>(res.ptr - tmp);
  std::memcpy(s.digits, tmp, s.n);
}

// -- Float parsing ------------------------------------------------------------

bool iequals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

// Decimal exponent of the leading non-zero digit of a validated number body, used only to
// tell overflow (-> inf) from underflow (-> 0) when from_chars reports out-of-range.
int64_t leading_exponent(std::string_view body) {
  size_t i = 0;
  int64_t int_digits = 0;
  int64_t lead = INT64_MIN;
  while (i < body.size() && is_digit(body[i])) {
    if (lead == INT64_MIN && body[i] != '0') lead = 0;
    if (lead != INT64_MIN) ++int_digits;
    ++i;
  }
  if (lead != INT64_MIN) lead = int_digits - 1;
  if (i < body.size() && body[i] == '.') {
    ++i;
    int64_t pos = 0;
    while (i < body.size() && is_digit(body[i])) {
      ++pos;
      if (lead == INT64_MIN && body[i] != '0') lead = -pos;
      ++i;
    }
  }
  if (lead == INT64_MIN) return INT64_MIN;  // all zeros
  int64_t exp = 0;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    bool neg = false;
    if (body[i] == '+' || body[i] == '-') neg = body[i++] == '-';
    for (; i < body.size(); ++i) {
      if (exp < INT64_MAX / 20) exp = exp * 10 + (body[i] - '0');
    }
    if (neg) exp = -exp;
  }
  return saturating_add(lead, exp);
}

// True if `body` (no sign) matches: digits ("." digits?)? exp? | "." digits exp?
bool valid_number_body(std::string_view body) {
  size_t i = 0, n = body.size();
  size_t int_digits = 0, frac_digits = 0;
  while (i < n && is_digit(body[i])) ++i, ++int_digits;
  if (i < n && body[i] == '.') {
    ++i;
    while (i < n && is_digit(body[i])) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < n && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < n && (body[i] == '+' || body[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < n && is_digit(body[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == n;
}

}  // namespace

void append_float(std::string& out, double f) {
  if (std::isnan(f)) {
    out += "NaN";
    return;
  }
  if (std::isinf(f)) {
    out += f < 0 ? "-inf" : "inf";
    return;
  }
  if (f == 0.0) {
    out += std::signbit(f) ? "-0" : "0";
    return;
  }
  if (f < 0) out += '-';
  double a = std::fabs(f);
  Shortest s = shortest_digits(a);
  apply_tie_rule(a, s);
  const int n = s.n, e = s.exp10;
  if (e >= n - 1) {
    out.append(s.digits, n);
    out.append(static_cast<size_t>(e - n + 1), '0');
  } else if (e >= 0) {
    out.append(s.digits, e + 1);
    out += '.';
    out.append(s.digits + e + 1, n - e - 1);
  } else {
    out += "0.";
    out.append(static_cast<size_t>(-e - 1), '0');
    out.append(s.digits, n);
  }
}

std::string format_float(double f) {
  std::string out;
  append_float(out, f);
  return out;
}

std::optional<int64_t> parse_int(std::string_view s) {
  size_t i = 0;
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) return std::nullopt;
  // Accumulate the magnitude unsigned so i64::MIN (one past i64::MAX) fits.
  const uint64_t limit = neg ? uint64_t{1} << 63 : static_cast<uint64_t>(INT64_MAX);
  uint64_t mag = 0;
  for (; i < s.size(); ++i) {
    if (!is_digit(s[i])) return std::nullopt;
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (mag > (limit - d) / 10) return std::nullopt;
    mag = mag * 10 + d;
  }
  if (neg) return static_cast<int64_t>(0 - mag);
  return static_cast<int64_t>(mag);
}

std::optional<double> parse_float(std::string_view s) {
  bool neg = false;
  std::string_view body = s;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  const double sign = neg ? -1.0 : 1.0;
  if (iequals(body, "inf") || iequals(body, "infinity")) {
    return sign * std::numeric_limits<double>::infinity();
  }
  if (iequals(body, "nan")) return sign * std::numeric_limits<double>::quiet_NaN();
  // from_chars alone would accept "nan(...)", "infinit" prefixes and hex-free forms we
  // must reject, so the grammar is checked first and from_chars only converts.
  if (!valid_number_body(body)) return std::nullopt;
  double v = 0.0;
  auto res = std::from_chars(body.data(), body.data() + body.size(), v,
                             std::chars_format::general);
  if (res.ec == std::errc::result_out_of_range) {
    int64_t lead = leading_exponent(body);
    v = lead > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  } else if (res.ec != std::errc() || res.ptr != body.data() + body.size()) {
    return std::nullopt;
  }
  return neg ? -v : v;
}

}  // namespace fusevm
