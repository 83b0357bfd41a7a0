// shell::tilde_expand and shell::passwd_home: `~` and `~user` at the start of a word.
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/shell_expand.hpp"

namespace fusevm::shell {

std::optional<std::string> passwd_home(std::string_view user) {
  // getpwnam_r takes a C string: an empty name or one holding a NUL names nobody, and
  // passing it on would look up a different (truncated) name.
  if (user.empty() || user.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string name(user);
  const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<size_t>(hint) : 1024);
  for (;;) {
    passwd pw{};
    passwd* found = nullptr;
    const int rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    // Entries with huge member lists outgrow the hint; grow the buffer up to a sane cap.
    if (rc == ERANGE && buf.size() < (size_t{1} << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0 || found == nullptr || pw.pw_dir == nullptr) return std::nullopt;
    return std::string(pw.pw_dir);
  }
}

std::string tilde_expand(std::string_view word, const std::optional<std::string>& home,
                         const HomeLookup& lookup) {
  if (word.empty() || word.front() != '~') return std::string(word);
  const size_t slash = word.find('/');
  const std::string_view user = word.substr(1, slash == std::string_view::npos ? word.size() - 1
                                                                               : slash - 1);
  const std::string_view rest =
      slash == std::string_view::npos ? std::string_view() : word.substr(slash);
  std::optional<std::string> dir;
  if (user.empty()) {
    dir = home;
  } else if (lookup) {
    dir = lookup(user);
  }
  // An unknown user or an unset HOME leaves the word as written, as bash does.
  if (!dir) return std::string(word);
  return *dir + std::string(rest);
}

}  // namespace fusevm::shell
