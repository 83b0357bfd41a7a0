// The on-disk object cache: key hashing, entry format, atomic stores, LRU eviction.
#include "jit/object_cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

// Header-only use: the core gains no shared-library dependency for the key hash.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace fusevm::jit {

namespace {

// ---- Keys -----------------------------------------------------------------------------

// Every field is length-prefixed or fixed-width, so no two different inputs feed the
// hash the same byte stream.
class KeyHasher {
 public:
  KeyHasher() { XXH3_128bits_reset(&state_); }
  void u64(uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    XXH3_128bits_update(&state_, b, sizeof b);
  }
  void bytes(const void* data, size_t size) {
    u64(size);
    if (size != 0) XXH3_128bits_update(&state_, data, size);
  }
  void text(std::string_view s) { bytes(s.data(), s.size()); }
  std::string hex() {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(&state_));
    static const char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : canonical.digest) {
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
    return out;
  }

 private:
  XXH3_state_t state_;
};

// Flags that only ask for side outputs; they never change the code.
constexpr uint32_t kOutputOnlyFlags = jit_abi::kDumpIr | jit_abi::kDumpAsm | jit_abi::kWantObject;

// ---- Entry format ---------------------------------------------------------------------

// magic[8] version:u32 key_len:u32 symbol_len:u32 meta_len:u32 object_len:u64 crc:u32,
// little-endian, then the four strings. The CRC covers the header (its own field as zero)
// and everything after it.
constexpr char kMagic[8] = {'F', 'V', 'M', 'J', 'I', 'T', 'O', '\n'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderSize = 36;
constexpr size_t kCrcOffset = 32;
constexpr size_t kMaxKey = 128;
constexpr size_t kMaxSymbol = 4096;
constexpr size_t kMaxMeta = size_t{1} << 20;
constexpr const char* kSuffix = ".fvo";
constexpr const char* kTempSuffix = ".tmp";
// A temporary file this old belongs to a writer that died before its rename.
constexpr time_t kStaleTempSeconds = 3600;

void put32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
void put64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint32_t get32(const unsigned char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t get64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// zlib answers a null buffer with the initial CRC, which would drop everything before an
// empty part (an empty string_view's data() may be null).
uint32_t crc_update(uint32_t crc, const void* data, size_t size) {
  if (size == 0) return crc;
  return static_cast<uint32_t>(::crc32_z(crc, static_cast<const Bytef*>(data), size));
}

// Keys become file names: only characters that need no escaping anywhere.
bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKey) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
  });
}

std::string entry_name(std::string_view key) { return std::string(key) + kSuffix; }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size != 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads exactly `size` bytes; false on an error or an early end of file.
bool read_all(int fd, char* out, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Parses a whole entry file; nullopt if anything about it is off.
std::optional<CachedObject> parse_entry(const std::string& file, std::string_view key) {
  if (file.size() < kHeaderSize) return std::nullopt;
  const auto* h = reinterpret_cast<const unsigned char*>(file.data());
  if (std::memcmp(h, kMagic, sizeof kMagic) != 0) return std::nullopt;
  if (get32(h + 8) != kFormatVersion) return std::nullopt;
  const uint64_t key_len = get32(h + 12);
  const uint64_t symbol_len = get32(h + 16);
  const uint64_t meta_len = get32(h + 20);
  const uint64_t object_len = get64(h + 24);
  if (key_len > kMaxKey || symbol_len > kMaxSymbol || meta_len > kMaxMeta) return std::nullopt;
  // The small lengths are bounded, so only object_len can make the sum overflow.
  const uint64_t fixed = kHeaderSize + key_len + symbol_len + meta_len;
  if (object_len > file.size() || fixed + object_len != file.size()) return std::nullopt;
  unsigned char header[kHeaderSize];
  std::memcpy(header, h, kHeaderSize);
  put32(header + kCrcOffset, 0);
  uint32_t crc = crc_update(0, header, kHeaderSize);
  crc = crc_update(crc, file.data() + kHeaderSize, file.size() - kHeaderSize);
  if (crc != get32(h + kCrcOffset)) return std::nullopt;
  size_t at = kHeaderSize;
  if (std::string_view(file.data() + at, key_len) != key) return std::nullopt;
  at += key_len;
  CachedObject out;
  out.symbol.assign(file, at, symbol_len);
  at += symbol_len;
  out.meta.assign(file, at, meta_len);
  at += meta_len;
  out.object.assign(file, at, object_len);
  if (out.symbol.empty() || out.object.empty()) return std::nullopt;
  return out;
}

// mkdir -p, each missing component 0700 (XDG: cache directories are private).
bool make_directories(const std::string& path, int& error_number) {
  for (size_t at = 1; at <= path.size(); ++at) {
    if (at != path.size() && path[at] != '/') continue;
    std::string prefix = path.substr(0, at);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      error_number = errno;
      return false;
    }
  }
  return true;
}

}  // namespace

std::string cache_key(const jit_abi::UnitRequest& request, const CacheKeyContext& context) {
  KeyHasher h;
  h.text("fusevm object cache key");
  h.u64(kCodegenVersion);
  h.u64(jit_abi::kAbiVersion);
  h.text(context.llvm_version);
  h.text(context.target_key);
  h.u64(request.kind);
  h.u64(request.flags & ~kOutputOnlyFlags);
  h.u64(request.result_is_float);
  h.u64(request.num_slots);
  h.u64(request.vm_tier);
  h.u64(request.entry_depth);
  h.u64(request.range_begin);
  h.u64(request.range_end);
  h.u64(request.entry_ip);
  h.bytes(request.slot_tags, request.slot_tags != nullptr ? request.num_slots : 0);
  h.bytes(request.entry_stack_tags, request.entry_stack_tags != nullptr ? request.entry_depth : 0);
  // Field by field: the ops' and constants' padding bytes carry nothing.
  h.u64(request.num_ops);
  for (uint64_t i = 0; request.ops != nullptr && i < request.num_ops; ++i) {
    const jit_abi::AbiOp& op = request.ops[i];
    h.u64(op.code);
    h.u64(op.small[0]);
    h.u64(op.small[1]);
    h.u64(op.small[2]);
    h.u64(static_cast<uint32_t>(op.i32));
    h.u64(op.wide);
  }
  h.bytes(request.quiet_jumps, request.quiet_jumps != nullptr ? request.num_ops : 0);
  h.u64(request.call_outs != nullptr ? 1 : 0);
  h.bytes(request.call_outs, request.call_outs != nullptr ? request.num_ops * sizeof(jit_abi::AbiCallOut) : 0);
  h.u64(request.num_call_out_tags);
  h.bytes(request.call_out_tags, request.call_out_tags != nullptr ? request.num_call_out_tags : 0);
  h.u64(request.num_consts);
  for (uint64_t i = 0; request.consts != nullptr && i < request.num_consts; ++i) {
    h.u64(request.consts[i].kind);
    h.u64(request.consts[i].bits);
  }
  if (context.chunk != nullptr) {
    h.u64(context.chunk->names.size());
    for (const std::string& name : context.chunk->names) h.text(name);
    h.u64(context.chunk->sub_entries.size());
    for (const auto& [name_index, entry] : context.chunk->sub_entries) {
      h.u64(name_index);
      h.u64(entry);
    }
  } else {
    h.u64(UINT64_MAX);  // no chunk differs from a chunk with empty pools
  }
  h.text(context.extra);
  return h.hex();
}

struct ObjectCache::Entry {
  std::string name;
  uint64_t size;
  struct timespec mtime;
};

std::string ObjectCache::resolve_directory(const char* setting, const char* xdg_cache_home,
                                           const char* home) {
  if (setting != nullptr && setting[0] != '\0') {
    return std::string(setting) == "off" ? std::string() : std::string(setting);
  }
  if (xdg_cache_home != nullptr && xdg_cache_home[0] == '/') return std::string(xdg_cache_home) + "/fusevm";
  if (home != nullptr && home[0] != '\0') return std::string(home) + "/.cache/fusevm";
  return {};
}

std::unique_ptr<ObjectCache> ObjectCache::from_environment(uint64_t budget) {
  const char* home = std::getenv("HOME");
  std::string passwd_home;
  if (home == nullptr || home[0] == '\0') {
    struct passwd pw{};
    struct passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(::geteuid(), &pw, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
        pw.pw_dir != nullptr) {
      passwd_home = pw.pw_dir;
    }
    home = passwd_home.c_str();
  }
  const char* setting = std::getenv(kEnvVar);
  auto cache = std::make_unique<ObjectCache>(
      resolve_directory(setting, std::getenv("XDG_CACHE_HOME"), home), budget);
  const bool configured_off = setting != nullptr && std::string(setting) == "off";
  if (cache->directory().empty() && !configured_off) {
    std::lock_guard<std::mutex> lock(cache->mu_);
    cache->last_error_ = "no cache directory: neither XDG_CACHE_HOME nor a home directory is known";
  }
  return cache;
}

ObjectCache::ObjectCache(std::string directory, uint64_t budget)
    : directory_(std::move(directory)), budget_(budget) {
  if (directory_.empty()) return;
  int error_number = 0;
  if (!make_directories(directory_, error_number)) {
    fail("cannot create " + directory_, error_number);
    return;
  }
  int fd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    fail("cannot open " + directory_, errno);
    return;
  }
  // Objects in this directory become executable code: nobody else may be able to put
  // files there.
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    fail("cannot stat " + directory_, errno);
    ::close(fd);
    return;
  }
  if (st.st_uid != ::geteuid()) {
    fail(directory_ + " is owned by uid " + std::to_string(st.st_uid) + ", not by this user", 0);
    ::close(fd);
    return;
  }
  if ((st.st_mode & 077) != 0 && ::fchmod(fd, 0700) != 0) {
    fail("cannot restrict " + directory_ + " to mode 0700", errno);
    ::close(fd);
    return;
  }
  dir_fd_ = fd;
}

ObjectCache::~ObjectCache() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

void ObjectCache::fail(const std::string& what, int error_number) {
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.errors;
  last_error_ = error_number != 0 ? what + ": " + std::strerror(error_number) : what;
}

std::string ObjectCache::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

ObjectCacheStats ObjectCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

// Deletes a bad entry, unless another process has meanwhile renamed a fresh one over it
// (then the name points at a different inode, which is left alone).
void ObjectCache::discard(int fd, std::string_view key) {
  struct stat opened{};
  struct stat current{};
  const std::string name = entry_name(key);
  if (::fstat(fd, &opened) == 0 && ::fstatat(dir_fd_, name.c_str(), &current, AT_SYMLINK_NOFOLLOW) == 0 &&
      opened.st_dev == current.st_dev && opened.st_ino == current.st_ino) {
    ::unlinkat(dir_fd_, name.c_str(), 0);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.corrupt;
  ++stats_.misses;
}

std::optional<CachedObject> ObjectCache::load(std::string_view key) {
  if (!enabled()) return std::nullopt;
  if (!valid_key(key)) {
    fail("invalid cache key '" + std::string(key.substr(0, kMaxKey)) + "'", 0);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.misses;
    return std::nullopt;
  }
  const std::string name = entry_name(key);
  int fd = ::openat(dir_fd_, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    const int error_number = errno;
    if (error_number == ELOOP) {
      ::unlinkat(dir_fd_, name.c_str(), 0);  // a symlink is never an entry of ours
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.corrupt;
    } else if (error_number != ENOENT) {
      fail("cannot open " + directory_ + "/" + name, error_number);
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.misses;
    return std::nullopt;
  }
  struct stat st{};
  std::optional<CachedObject> entry;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
      static_cast<uint64_t>(st.st_size) >= kHeaderSize &&
      static_cast<uint64_t>(st.st_size) <= std::max<uint64_t>(budget_, kHeaderSize + kMaxKey + kMaxSymbol + kMaxMeta)) {
    std::string file(static_cast<size_t>(st.st_size), '\0');
    if (read_all(fd, file.data(), file.size())) entry = parse_entry(file, key);
  }
  if (!entry) {
    discard(fd, key);
    ::close(fd);
    return std::nullopt;
  }
  ::futimens(fd, nullptr);  // most recently used; a failure only ages the entry
  ::close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.hits;
  return entry;
}

bool ObjectCache::store(std::string_view key, std::string_view symbol, std::string_view object,
                        std::string_view meta) {
  if (!enabled()) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stores_disabled_) return false;
  }
  if (!valid_key(key)) {
    fail("invalid cache key '" + std::string(key.substr(0, kMaxKey)) + "'", 0);
    return false;
  }
  if (symbol.empty() || symbol.size() > kMaxSymbol || meta.size() > kMaxMeta || object.empty()) {
    fail("refused to store an entry with an empty or oversized part", 0);
    return false;
  }
  const uint64_t total = kHeaderSize + key.size() + symbol.size() + meta.size() + object.size();
  if (total > budget_) return false;  // could never stay: not an error

  unsigned char header[kHeaderSize];
  std::memcpy(header, kMagic, sizeof kMagic);
  put32(header + 8, kFormatVersion);
  put32(header + 12, static_cast<uint32_t>(key.size()));
  put32(header + 16, static_cast<uint32_t>(symbol.size()));
  put32(header + 20, static_cast<uint32_t>(meta.size()));
  put64(header + 24, object.size());
  put32(header + kCrcOffset, 0);
  uint32_t crc = crc_update(0, header, kHeaderSize);
  for (std::string_view part : {key, symbol, meta, object}) crc = crc_update(crc, part.data(), part.size());
  put32(header + kCrcOffset, crc);

  // A name no other writer uses: other processes differ in pid, threads in the counter.
  static std::atomic<uint64_t> counter{0};
  const std::string temp = "." + std::string(key) + "." + std::to_string(::getpid()) + "." +
                           std::to_string(counter.fetch_add(1)) + kTempSuffix;
  const std::string name = entry_name(key);
  const char* failed = nullptr;  // the step that failed, with errno set by it
  int fd = ::openat(dir_fd_, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    failed = "create";
  } else {
    bool ok = write_all(fd, header, kHeaderSize);
    for (std::string_view part : {key, symbol, meta, object}) ok = ok && write_all(fd, part.data(), part.size());
    if (!ok) failed = "write";
    // fsync before rename: after a crash the name holds the old entry or the whole new one.
    if (failed == nullptr && ::fsync(fd) != 0) failed = "sync";
    const int saved = errno;
    if (::close(fd) != 0 && failed == nullptr) failed = "close";
    if (failed != nullptr && std::strcmp(failed, "close") != 0) errno = saved;
    if (failed == nullptr && ::renameat(dir_fd_, temp.c_str(), dir_fd_, name.c_str()) != 0) failed = "rename";
  }
  if (failed != nullptr) {
    const int error_number = errno;
    if (fd >= 0) ::unlinkat(dir_fd_, temp.c_str(), 0);
    fail(std::string("cannot ") + failed + " " + directory_ + "/" + temp, error_number);
    std::lock_guard<std::mutex> lock(mu_);
    stores_disabled_ = true;
    return false;
  }

  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.stores;
  if (scanned_) {
    known_bytes_ += total;
  } else {
    known_bytes_ = scan(nullptr);
    scanned_ = true;
  }
  if (known_bytes_ > budget_) evict(key);
  return true;
}

void ObjectCache::remove(std::string_view key) {
  if (!enabled() || !valid_key(key)) return;
  ::unlinkat(dir_fd_, entry_name(key).c_str(), 0);
}

// With mu_ held. The entries' total size, listing them in `entries` if given; stale
// temporary files are deleted on the way.
uint64_t ObjectCache::scan(std::vector<Entry>* entries) {
  int fd = ::openat(dir_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return known_bytes_;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return known_bytes_;
  }
  struct timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  uint64_t total = 0;
  while (struct dirent* d = ::readdir(dir)) {
    std::string_view name = d->d_name;
    const bool entry = ends_with(name, kSuffix) && valid_key(name.substr(0, name.size() - std::strlen(kSuffix)));
    const bool temp = name.size() > 1 && name[0] == '.' && ends_with(name, kTempSuffix);
    if (!entry && !temp) continue;
    struct stat st{};
    if (::fstatat(dir_fd_, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    if (temp) {
      if (now.tv_sec - st.st_mtim.tv_sec > kStaleTempSeconds) ::unlinkat(dir_fd_, d->d_name, 0);
      continue;
    }
    total += static_cast<uint64_t>(st.st_size);
    if (entries != nullptr) entries->push_back({std::string(name), static_cast<uint64_t>(st.st_size), st.st_mtim});
  }
  ::closedir(dir);
  return total;
}

// With mu_ held. Deletes least recently used entries (never `keep`, just stored) until
// the directory is an eighth below budget, so that a full cache is not rescanned on
// every store.
void ObjectCache::evict(std::string_view keep) {
  std::vector<Entry> entries;
  uint64_t total = scan(&entries);
  const uint64_t target = budget_ - budget_ / 8;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.mtime.tv_sec != b.mtime.tv_sec) return a.mtime.tv_sec < b.mtime.tv_sec;
    if (a.mtime.tv_nsec != b.mtime.tv_nsec) return a.mtime.tv_nsec < b.mtime.tv_nsec;
    return a.name < b.name;
  });
  const std::string kept = entry_name(keep);
  for (const Entry& e : entries) {
    if (total <= target) break;
    if (e.name == kept) continue;
    if (::unlinkat(dir_fd_, e.name.c_str(), 0) == 0) {
      total -= e.size;
      ++stats_.evictions;
    } else if (errno == ENOENT) {
      total -= e.size;  // another process evicted it first
    }
  }
  known_bytes_ = total;
}

}  // namespace fusevm::jit
