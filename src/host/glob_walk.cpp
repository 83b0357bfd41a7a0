// Directory walker shared by fs_glob and shell::shell_glob (see glob_walk.hpp).
#include "host/glob_walk.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace fusevm::glob_walk {
namespace {

std::string join(const std::string& prefix, const std::string& name) {
  if (prefix.empty()) return name;
  if (prefix.back() == '/') return prefix + name;
  return prefix + "/" + name;
}

const char* os_path(const std::string& path) { return path.empty() ? "." : path.c_str(); }

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(os_path(path), &st) == 0 && S_ISDIR(st.st_mode);
}

// Entries of `dir` ("" = the current directory) except . and .., in byte order; nullopt
// if it cannot be read completely (the reference drops the whole directory then).
std::optional<std::vector<std::string>> list_dir(const std::string& dir) {
  DIR* d = ::opendir(os_path(dir));
  if (d == nullptr) return std::nullopt;
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) break;
    const std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return std::nullopt;
  std::sort(names.begin(), names.end());  // char_traits<char> compares as unsigned bytes
  return names;
}

class Walker {
 public:
  Walker(const std::vector<Component>& comps, const WalkOptions& options)
      : comps_(comps), options_(options) {}

  std::vector<std::string> take() { return std::move(out_); }

  // Match comps_[idx..] below `prefix` (the output text so far; "" = relative start).
  void walk(size_t idx, const std::string& prefix) {
    const Component& c = comps_[idx];
    if (c.recursive) {
      walk_recursive(idx, prefix);
      return;
    }
    if (c.literal) {
      const std::string next = join(prefix, c.text);
      if (last(idx)) {
        struct stat st {};
        if (::lstat(next.c_str(), &st) == 0) emit(next);
      } else {
        walk(idx + 1, next);
      }
      return;
    }
    const auto names = list_dir(prefix);
    if (!names) return;
    for (const std::string& name : *names) match_at(idx, name, join(prefix, name));
  }

 private:
  bool last(size_t idx) const { return idx + 1 == comps_.size(); }

  void emit(const std::string& path) {
    if (options_.require_dir) {
      if (!is_dir(path)) return;
      if (options_.trailing_slash) {
        out_.push_back(path + "/");
        return;
      }
    }
    out_.push_back(path);
  }

  // `name` (at `path`) against comps_[idx], then the rest of the pattern below it.
  void match_at(size_t idx, const std::string& name, const std::string& path) {
    const Component& c = comps_[idx];
    // split_pattern never leaves two `**` adjacent, so a recursive component is only
    // reached through walk(); refuse it here rather than call an empty matcher.
    if (c.recursive) return;
    const bool ok = c.literal ? name == c.text : (c.match && c.match(name));
    if (!ok) return;
    if (last(idx)) {
      emit(path);
    } else {
      walk(idx + 1, path);
    }
  }

  // Whether `**` skips the entry `name` altogether (neither yields nor enters it).
  bool hidden(const std::string& name) const {
    return !options_.hidden_in_recursion && !name.empty() && name.front() == '.';
  }

  // Whether `**` descends into the directory `path` when it is a symlink to one. A
  // symlinked directory is still yielded by a trailing `**` either way.
  bool descends_link(const std::string& path) const {
    if (options_.follow_links_in_recursion) return true;
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && !S_ISLNK(st.st_mode);
  }

  // `**` at comps_[idx] listing `dir`: each entry is first tried as "zero more
  // directories" (matched against the next component), then descended into. A trailing
  // `**` yields every directory below `dir` but neither `dir` itself nor files, as the
  // reference does.
  void walk_recursive(size_t idx, const std::string& dir) {
    struct stat st {};
    if (::stat(os_path(dir), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    // Symlinks may be followed, so a link back to an ancestor would recurse forever;
    // stop at any directory already on the current path.
    const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
    if (std::find(ancestors_.begin(), ancestors_.end(), id) != ancestors_.end()) return;
    const auto names = list_dir(dir);
    if (!names) return;
    ancestors_.push_back(id);
    for (const std::string& name : *names) {
      const std::string path = join(dir, name);
      // The next component decides about hidden names itself (`**/.*` finds them).
      if (!last(idx)) match_at(idx + 1, name, path);
      if (hidden(name)) continue;
      const bool dir_entry = is_dir(path);
      if (last(idx) && dir_entry) emit(path);
      if (dir_entry && descends_link(path)) walk_recursive(idx, path);
    }
    ancestors_.pop_back();
  }

  const std::vector<Component>& comps_;
  const WalkOptions& options_;
  std::vector<std::pair<dev_t, ino_t>> ancestors_;
  std::vector<std::string> out_;
};

}  // namespace

std::optional<std::vector<Component>> split_pattern(std::string_view pattern,
                                                    const ComponentParser& parse) {
  std::vector<Component> comps;
  size_t i = 0;
  while (i < pattern.size()) {
    size_t j = pattern.find('/', i);
    if (j == std::string_view::npos) j = pattern.size();
    if (j > i) {
      auto c = parse(std::string(pattern.substr(i, j - i)));
      if (!c) return std::nullopt;
      // `**/**` is the same as `**`.
      if (!(c->recursive && !comps.empty() && comps.back().recursive)) {
        comps.push_back(std::move(*c));
      }
    }
    i = j + 1;
  }
  return comps;
}

std::vector<std::string> walk(const std::vector<Component>& comps, const std::string& root,
                              const WalkOptions& options) {
  if (comps.empty()) return {};
  Walker w(comps, options);
  w.walk(0, root);
  return w.take();
}

}  // namespace fusevm::glob_walk
