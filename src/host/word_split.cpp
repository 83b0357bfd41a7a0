// WordSplit without a host: split UTF-8 text on runs of Unicode White_Space.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/host.hpp"

namespace fusevm {
namespace {

// The Unicode White_Space property (PropList.txt); the list is closed and short, so a
// switch beats pulling in ICU for it.
bool is_white_space(uint32_t cp) {
  if (cp >= 0x09 && cp <= 0x0D) return true;
  if (cp >= 0x2000 && cp <= 0x200A) return true;
  switch (cp) {
    case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return false;
  }
}

// Length of the well-formed UTF-8 sequence at s[i] and its code point; 0 if the bytes
// there are not one (overlong, surrogate, out of range or truncated). Invalid bytes must
// stay word bytes, so a failed decode never swallows a following separator.
size_t decode_utf8(std::string_view s, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

std::vector<std::string> unicode_word_split(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    size_t n = decode_utf8(s, i, cp);
    if (n != 0 && is_white_space(cp)) {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      i += n;
      continue;
    }
    if (n == 0) n = 1;  // an invalid byte is kept as part of the word
    cur.append(s.substr(i, n));
    in_word = true;
    i += n;
  }
  if (in_word) words.push_back(std::move(cur));
  return words;
}

}  // namespace fusevm
