// Corpus discovery and header parsing for the .fasm conformance programs.
#include "conformance_corpus.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fusevm::conformance {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// GoogleTest parameter names may hold only letters, digits and underscores.
std::string sanitize(std::string_view rel) {
  std::string out;
  if (rel.size() > 5 && rel.substr(rel.size() - 5) == ".fasm") rel.remove_suffix(5);
  for (char c : rel) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string Expectations::expected_stdout() const {
  std::string out;
  for (const std::string& line : stdout_lines) out += line + "\n";
  return out;
}

std::string corpus_root() { return std::string(FUSEVM_SOURCE_DIR) + "/tests/conformance"; }

std::vector<CorpusFile> discover_corpus() {
  namespace fs = std::filesystem;
  std::vector<CorpusFile> files;
  std::error_code ec;
  const fs::path root = corpus_root();
  if (!fs::is_directory(root, ec)) return files;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().extension() != ".fasm") continue;
    CorpusFile f;
    f.path = it->path().string();
    f.relative = fs::relative(it->path(), root, ec).generic_string();
    f.test_name = sanitize(f.relative);
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(),
            [](const CorpusFile& a, const CorpusFile& b) { return a.relative < b.relative; });
  // Two paths that sanitize alike ("a-b" vs "a_b") would give GoogleTest duplicate names.
  std::set<std::string> seen;
  for (CorpusFile& f : files) {
    std::string name = f.test_name;
    for (int n = 2; !seen.insert(name).second; ++n) name = f.test_name + "_" + std::to_string(n);
    f.test_name = name;
  }
  return files;
}

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> decode_quoted(std::string_view s) {
  s = trim(s);
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return std::nullopt;
  s = s.substr(1, s.size() - 2);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') return std::nullopt;  // an unescaped quote inside the literal
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == s.size()) return std::nullopt;
    switch (s[i]) {
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case 'x': {
        if (i + 2 >= s.size()) return std::nullopt;
        int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default: return std::nullopt;
    }
  }
  return out;
}

Expectations parse_expectations(std::string_view text) {
  Expectations e;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view t = trim(line);
    if (t.empty()) continue;
    if (t.front() != ';') break;  // the header block ends at the first instruction/directive
    std::string_view body = t.substr(1);
    while (!body.empty() && body.front() == ' ') body.remove_prefix(1);
    size_t colon = body.find(':');
    std::string_view key = colon == std::string_view::npos ? body : body.substr(0, colon);
    bool is_key = colon != std::string_view::npos && !key.empty() &&
                  std::all_of(key.begin(), key.end(), [](char c) {
                    return std::isalpha(static_cast<unsigned char>(c)) || c == '-';
                  });
    if (!is_key) continue;  // free-text comment
    // Keep the expected text verbatim (trailing blanks included) after one separator blank.
    std::string_view raw = line.substr(line.find(':') + 1);
    if (!raw.empty() && raw.front() == ' ') raw.remove_prefix(1);
    std::string_view value = trim(raw);
    auto problem = [&](const std::string& what) {
      e.problems.push_back("header line " + std::to_string(line_no) + ": " + what);
    };
    if (key == "expect") {
      e.stdout_lines.emplace_back(raw);
    } else if (key == "expect-result") {
      e.result = std::string(value);
    } else if (key == "expect-error") {
      e.error = std::string(value);
    } else if (key == "exit") {
      try {
        size_t used = 0;
        int n = std::stoi(std::string(value), &used);
        if (used != value.size()) throw std::invalid_argument("trailing text");
        e.exit_status = n;
      } catch (const std::exception&) {
        problem("bad exit status '" + std::string(value) + "'");
      }
    } else if (key == "stdin") {
      if (auto s = decode_quoted(value)) e.stdin_text = *s;
      else problem("stdin must be a double-quoted literal");
    } else if (key == "tiers") {
      std::istringstream ss{std::string(value)};
      for (std::string tier; ss >> tier;) e.tiers.push_back(tier);
      if (e.tiers.empty()) problem("empty tier list");
    } else if (key.substr(0, 6) == "expect") {
      problem("unknown header '" + std::string(key) + "'");
    }
  }
  return e;
}

int cli_exit_status(const VMResult& r, int32_t last_status) {
  if (r.is_error()) return 1;
  if (r.is_ok() && r.value().is_status()) return r.value().as_status() & 255;
  return last_status & 255;
}

std::string result_repr(const VMResult& r) {
  if (r.is_halted()) return "Halted";
  if (r.is_error()) return "Error(" + r.error().message + ")";
  return r.value().repr();
}

}  // namespace fusevm::conformance
