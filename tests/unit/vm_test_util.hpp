// Shared helpers for the interpreter test files: a program builder, a runner that
// captures output, and gtest predicates that compare Values exactly (kind included).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fusevm/fusevm.hpp"

namespace fusevm_test {

using namespace fusevm;

inline constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
inline const double kNaN = std::numeric_limits<double>::quiet_NaN();
inline const double kInf = std::numeric_limits<double>::infinity();

/// Builds a chunk op by op; each op's line is its index + 1, so errors name a line.
class Program {
 public:
  /// Append one op; returns its index.
  size_t emit(Op op) { return b_.emit(op, static_cast<uint32_t>(b_.current_pos() + 1)); }
  /// Append several ops; returns the index of the last.
  size_t emit(std::initializer_list<Op> ops) {
    size_t last = 0;
    for (const Op& op : ops) last = emit(op);
    return last;
  }
  /// LoadConst of a fresh constant.
  size_t load(Value v) { return emit(Op::LoadConst(b_.add_constant(std::move(v)))); }
  /// LoadConst of a Str constant.
  size_t str(std::string_view s) { return load(Value::Str(s)); }
  /// LoadInt.
  size_t i(int64_t n) { return emit(Op::LoadInt(n)); }
  /// LoadFloat.
  size_t f(double x) { return emit(Op::LoadFloat(x)); }
  /// Intern a name.
  uint16_t name(std::string_view n) { return b_.add_name(n); }
  /// Add a constant.
  uint16_t constant(Value v) { return b_.add_constant(std::move(v)); }
  /// Index the next op will get.
  size_t pos() const { return b_.current_pos(); }
  /// Rewrite a jump's target.
  void patch(size_t at, uint64_t target) { b_.patch_jump(at, target); }
  /// Emit `Jump over; body; over:` and register the body as sub `n`; returns the name id.
  template <class F>
  uint16_t sub(std::string_view n, F&& body) {
    size_t skip = emit(Op::Jump(0));
    uint16_t id = name(n);
    b_.add_sub_entry(id, pos());
    body();
    patch(skip, pos());
    return id;
  }
  /// Emit `Jump over; body; over:` and register the body as a block range; returns its index.
  template <class F>
  uint16_t block(F&& body) {
    size_t skip = emit(Op::Jump(0));
    uint64_t start = pos();
    body();
    uint64_t end = pos();
    patch(skip, end);
    return b_.add_block_range(start, end);
  }
  /// Add a nested chunk.
  uint16_t sub_chunk(Chunk c) { return b_.add_sub_chunk(std::move(c)); }
  /// The underlying builder.
  ChunkBuilder& builder() { return b_; }
  /// Finish.
  Chunk build() { return b_.build(); }

 private:
  ChunkBuilder b_;
};

/// A finished run: the VM (for inspection), its result and the captured output.
struct Ran {
  VM vm;
  VMResult result;
  std::shared_ptr<std::string> out;
  /// Bytes written by Print, PrintLn and the inline echo.
  const std::string& output() const { return *out; }
  /// The whole final stack, bottom first, with the value run() popped put back on top.
  std::vector<Value> full_stack() {
    std::vector<Value> s = vm.stack().to_vector();
    if (result.is_ok()) s.push_back(result.value());
    return s;
  }
};

/// Build a VM for `chunk` with captured output, let `setup` adjust it, run once.
inline Ran run(Chunk chunk, const std::function<void(VM&)>& setup = nullptr) {
  auto out = std::make_shared<std::string>();
  VM vm(std::move(chunk));
  vm.set_output([out](std::string_view s) { out->append(s); });
  if (setup) setup(vm);
  VMResult r = vm.run();
  vm.flush_output();
  return Ran{std::move(vm), std::move(r), out};
}

/// Run a program.
inline Ran run(Program& p, const std::function<void(VM&)>& setup = nullptr) {
  return run(p.build(), setup);
}

/// Run a plain list of ops.
inline Ran run_ops(std::initializer_list<Op> ops) {
  Program p;
  p.emit(ops);
  return run(p);
}

/// Same kind, floats by bits (any NaN equals any NaN), collections recursively,
/// hashes order-free. Stricter than Value::operator== (which says NaN != NaN).
inline bool exact(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case ValueKind::Float: {
      double x = a.as_float(), y = b.as_float();
      if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
      uint64_t bx, by;
      std::memcpy(&bx, &x, 8);
      std::memcpy(&by, &y, 8);
      return bx == by;
    }
    case ValueKind::Array: {
      const ValueArray& x = a.as_array();
      const ValueArray& y = b.as_array();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!exact(x[i], y[i])) return false;
      return true;
    }
    case ValueKind::Hash: {
      const HashMap& x = a.as_hash();
      const HashMap& y = b.as_hash();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* w = y.find(k);
        if (w == nullptr || !exact(v, *w)) return false;
      }
      return true;
    }
    case ValueKind::Ref:
      return exact(a.as_ref(), b.as_ref());
    default:
      return a == b;
  }
}

/// Predicate: `actual` is exactly `expected`.
inline ::testing::AssertionResult Same(const Value& actual, const Value& expected) {
  if (exact(actual, expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << actual.repr() << ", expected " << expected.repr();
}

/// Predicate: the run gave Ok(expected) exactly.
inline ::testing::AssertionResult IsOk(const VMResult& r, const Value& expected) {
  if (r.is_ok() && exact(r.value(), expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << r.repr() << ", expected Ok(" << expected.repr() << ")";
}

/// Predicate: the run ended Halted.
inline ::testing::AssertionResult IsHalted(const VMResult& r) {
  if (r.is_halted()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << r.repr() << ", expected Halted";
}

/// Predicate: the run failed and the message contains `text`.
inline ::testing::AssertionResult IsErrorWith(const VMResult& r, std::string_view text) {
  if (r.is_error() && r.error().message.find(text) != std::string::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << r.repr() << ", expected an error containing \"" << text << "\"";
}

/// Predicate: `actual` holds exactly `expected`, bottom first.
inline ::testing::AssertionResult SameValues(const std::vector<Value>& actual,
                                             const std::vector<Value>& expected) {
  bool ok = actual.size() == expected.size();
  for (size_t i = 0; ok && i < actual.size(); ++i) ok = exact(actual[i], expected[i]);
  if (ok) return ::testing::AssertionSuccess();
  auto show = [](const std::vector<Value>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i].repr();
    return s + "]";
  };
  return ::testing::AssertionFailure() << "got " << show(actual) << ", expected " << show(expected);
}

/// A fresh directory under the system temp dir, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fusevm-vmtest-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The directory.
  const std::string& path() const { return path_; }
  /// path()/name.
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }
  /// Create (or overwrite) file `name` with `content`; returns its path.
  std::string write(std::string_view name, std::string_view content = "") const {
    std::string p = *this / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::string path_;
};

/// Array of Ints.
inline Value ints(std::initializer_list<int64_t> xs) {
  ValueArray a;
  for (int64_t x : xs) a.push_back(Value::Int(x));
  return Value::Array(std::move(a));
}

/// Array of Strs.
inline Value strs(std::initializer_list<const char*> xs) {
  ValueArray a;
  for (const char* x : xs) a.push_back(Value::Str(x));
  return Value::Array(std::move(a));
}

}  // namespace fusevm_test
