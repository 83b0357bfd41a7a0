// Shared helpers for the DefaultHost tests: temp dirs, fd and child counting, fd capture,
// and VMs built from .fasm text with a DefaultHost installed.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fusevm/default_host.hpp"
#include "fusevm/fusevm.hpp"

namespace fusevm_test {

using namespace fusevm;

/// repr() of a Value: tests compare Values through it (kinds included, readable output).
inline std::string R(const Value& v) { return v.repr(); }

/// A fresh directory from mkdtemp, removed with its contents at scope end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fusevm_dhost_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The directory.
  const std::string& path() const { return path_; }
  /// A path inside it.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Whole contents of a file ("" if it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Write a file.
inline void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// Number of open fds of this process.
inline int count_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the directory stream's own fd
}

/// Pids of this process's children, zombies included (from /proc/*/stat).
inline std::vector<pid_t> child_pids() {
  std::vector<pid_t> out;
  const pid_t self = ::getpid();
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = slurp("/proc/" + name + "/stat");
    const size_t rp = stat.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream fields(stat.substr(rp + 2));
    std::string state;
    long ppid = 0;
    fields >> state >> ppid;
    if (ppid == self) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  ::closedir(d);
  return out;
}

/// Points fd `fd` at a file for the capture's lifetime; stop() restores it and returns
/// what was written. Nothing must print through gtest while a capture of 1 or 2 is on.
class FdCapture {
 public:
  FdCapture(int fd, const std::string& file) : fd_(fd), file_(file) {
    std::fflush(nullptr);
    saved_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 100);
    const int f = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ::dup2(f, fd);
    ::close(f);
  }
  ~FdCapture() { stop(); }
  FdCapture(const FdCapture&) = delete;
  FdCapture& operator=(const FdCapture&) = delete;
  /// Restore the fd; the captured bytes.
  std::string stop() {
    if (saved_ >= 0) {
      ::dup2(saved_, fd_);
      ::close(saved_);
      saved_ = -1;
    }
    return slurp(file_);
  }

 private:
  int fd_;
  std::string file_;
  int saved_ = -1;
};

/// A VM running `chunk` with a DefaultHost; output goes to fd 1 unless a sink is set.
struct HostedVM {
  std::unique_ptr<VM> vm;
  DefaultHost* host = nullptr;
  /// Run once.
  VMResult run() { return vm->run(); }
  /// A context for calling the host directly.
  HostContext cx() { return HostContext(*vm); }
};

/// Assemble `text` (the test fails on a diagnostic) and install a DefaultHost.
inline HostedVM hosted(const std::string& text, DefaultHostOptions options = {}) {
  LoadResult r = assemble(text, "test.fasm");
  EXPECT_TRUE(r.ok()) << r.message();
  HostedVM h;
  h.vm = std::make_unique<VM>(r.ok() ? std::move(*r.chunk) : Chunk{});
  auto host = std::make_unique<DefaultHost>(options);
  h.host = host.get();
  h.vm->set_shell_host(std::move(host));
  return h;
}

/// A .fasm string literal for `s` (quotes and escapes).
inline std::string q(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

/// `LoadConst` of each word then `Exec n`: one command as .fasm lines.
inline std::string cmd(const std::vector<std::string>& argv, const char* op = "Exec") {
  std::string out;
  for (const std::string& a : argv) out += "  LoadConst " + q(a) + "\n";
  return out + "  " + op + " " + std::to_string(argv.size()) + "\n";
}

/// Waits up to ~5 s for the child count to drop to `n` (children exiting asynchronously,
/// e.g. after their pipe closed); the final count.
inline size_t settle_children(size_t n) {
  for (int k = 0; k < 500; ++k) {
    const size_t c = child_pids().size();
    if (c <= n) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return child_pids().size();
}

/// Checks that a test leaves no extra fds or children behind.
class LeakCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    fds_before_ = count_fds();
    children_before_ = child_pids().size();
  }
  void TearDown() override {
    EXPECT_EQ(count_fds(), fds_before_) << "fd leak";
    EXPECT_EQ(settle_children(children_before_), children_before_) << "child leak or zombie";
  }
  /// Children (zombies included) that existed before the test.
  size_t children_before() const { return children_before_; }

 private:
  int fds_before_ = 0;
  size_t children_before_ = 0;
};

}  // namespace fusevm_test
