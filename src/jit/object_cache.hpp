// The JIT's on-disk object cache (ARCHITECTURE §7 "Object cache", §9 FUSEVM_JIT_CACHE):
// compiled units' relocatable objects, keyed by everything their code depends on.
//
// How the engine uses it (all on the compile thread; an ObjectCache is also thread-safe):
//
//   1. Once, when the plugin's engine is created: `cache = ObjectCache::from_environment()`.
//      FUSEVM_JIT_CACHE=off (what the test suites set), DIR, or unset for
//      $XDG_CACHE_HOME/fusevm, else ~/.cache/fusevm. A cache that cannot be set up is
//      simply disabled (enabled() false, last_error() says why); nothing ever fails a
//      compile because of the cache.
//   2. For each unit, build the UnitRequest exactly as for compiling (with its usual
//      unique name), then
//        key = cache_key(request, {api->llvm_version, api->target_key(engine), &chunk, extra})
//      `extra` is whatever else shapes the code that the request does not show: for the
//      tracing tier, the recorded ops, ips and value kinds, serialised by the caller.
//   3. `if (auto hit = cache.load(key))`: call
//        api->load_object(engine, hit->symbol.c_str(), hit->object.data(), hit->object.size(), &r)
//      and use r.entry; restore from hit->meta whatever the unit's UnitResult carried besides
//      its code (kUnitVm: max_exit_stack). load_object links every object into a JITDylib of
//      its own, so the stored symbol never clashes with names this engine already has. If
//      load_object refuses the bytes (it should not: the key covers the target), call
//      cache.remove(key) and compile as in 4.
//   4. On a miss, compile with `request.flags |= kWantObject` (only when enabled()); on
//      success call cache.store(key, request.name, {r.object, r.object_size}, meta) and
//      release r.object with api->free_text. A store that fails is counted and disables
//      further stores; the compiled unit is used all the same.
//
// Entries are files <key>.fvo in the directory (mode 0700, files 0600), each a header
// (magic, format version, lengths, CRC-32 of everything) followed by the key, the symbol,
// the meta bytes and the object. A file that is truncated, corrupt, foreign or for
// another key is a miss and is deleted. Writes go to a temporary file that is fsync'd and
// renamed over the entry, so readers in any process see a whole entry or none. The
// directory is kept under a byte budget: a hit refreshes the entry's mtime, and when a
// store takes the total over the budget the least recently used entries are deleted.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/chunk.hpp"
#include "jit_abi/plugin_abi.hpp"

namespace fusevm::jit {

/// Bumped whenever the core changes what a UnitRequest means in a way its fields do not
/// show; the plugin's own code generation is covered by PluginApi::target_key (its build ID).
inline constexpr uint32_t kCodegenVersion = 1;

/// Everything besides the UnitRequest that a unit's code may depend on.
struct CacheKeyContext {
  std::string_view llvm_version;  ///< PluginApi::llvm_version
  std::string_view target_key;    ///< PluginApi::target_key(engine)
  const Chunk* chunk = nullptr;   ///< its names and sub_entries are hashed (ops and constants come from the request)
  std::string_view extra;         ///< more bytes the code depends on (a trace's recorded ops, ips and kinds)
};

/// The cache key of a unit: 32 hex digits of XXH3-128 over kCodegenVersion, the ABI
/// version, the context, and every field of `request` that shapes code (kind, tier, result
/// type, slots and their tags, entry depth and tags, range, entry ip, ops, constants, flags
/// other than the dump and kWantObject flags). Not the name: a cached object keeps the
/// name it was compiled with (CachedObject::symbol).
std::string cache_key(const jit_abi::UnitRequest& request, const CacheKeyContext& context);

/// One cache entry.
struct CachedObject {
  std::string symbol;  ///< the unit's function inside `object` (UnitRequest::name when compiled)
  std::string meta;    ///< the caller's bytes stored with the object (e.g. max_exit_stack)
  std::string object;  ///< the relocatable object file (UnitResult::object)
};

/// What a cache has done since it was created.
struct ObjectCacheStats {
  uint64_t hits = 0;       ///< load() found a valid entry
  uint64_t misses = 0;     ///< load() found none (including discarded ones)
  uint64_t stores = 0;     ///< entries written
  uint64_t corrupt = 0;    ///< truncated, corrupt or foreign files deleted by load()
  uint64_t evictions = 0;  ///< entries deleted to stay within the budget
  uint64_t errors = 0;     ///< I/O and set-up failures (last_error() holds the latest)
};

/// The on-disk cache (see the top of this file).
class ObjectCache {
 public:
  /// The default byte budget of the directory (ARCHITECTURE §9).
  static constexpr uint64_t kDefaultBudget = uint64_t{256} << 20;
  /// The environment variable: a directory, or `off`.
  static constexpr const char* kEnvVar = "FUSEVM_JIT_CACHE";

  /// The cache directory for a FUSEVM_JIT_CACHE value `setting`, XDG_CACHE_HOME and HOME
  /// (each may be null): `setting` unless empty; "" (off) when it is "off"; else
  /// $XDG_CACHE_HOME/fusevm when that is absolute (the XDG spec ignores relative ones);
  /// else $HOME/.cache/fusevm; else "" (off: no home directory).
  static std::string resolve_directory(const char* setting, const char* xdg_cache_home, const char* home);

  /// A cache configured from the environment (HOME falls back to the password database).
  static std::unique_ptr<ObjectCache> from_environment(uint64_t budget = kDefaultBudget);

  /// A cache in `directory`, created (mode 0700, parents too) if missing; "" makes a
  /// disabled cache. A directory owned by another user is refused; one readable or
  /// writable by others is restricted to 0700.
  explicit ObjectCache(std::string directory, uint64_t budget = kDefaultBudget);
  ~ObjectCache();
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  /// True if the directory is usable (loads work; stores may have been disabled since).
  bool enabled() const { return dir_fd_ >= 0; }
  /// The directory ("" when the cache was configured off).
  const std::string& directory() const { return directory_; }
  /// The byte budget.
  uint64_t budget() const { return budget_; }

  /// The entry for `key`, or nullopt. A hit refreshes the entry's position in the LRU
  /// order; a bad file is deleted and counted in stats().corrupt.
  std::optional<CachedObject> load(std::string_view key);

  /// Writes the entry for `key` atomically, replacing any other; then evicts the least
  /// recently used entries while the directory is over budget. False if the cache is
  /// disabled, the entry is larger than the budget, or writing failed (which is counted,
  /// recorded in last_error() and disables later stores).
  bool store(std::string_view key, std::string_view symbol, std::string_view object,
             std::string_view meta = {});

  /// Deletes the entry for `key` if there is one (an entry the plugin refused).
  void remove(std::string_view key);

  /// The latest error ("" if none): set-up failures, I/O errors, refused keys.
  std::string last_error() const;
  /// The counters.
  ObjectCacheStats stats() const;

 private:
  struct Entry;
  void fail(const std::string& what, int error_number);
  void discard(int fd, std::string_view key);
  uint64_t scan(std::vector<Entry>* entries);
  void evict(std::string_view keep);

  std::string directory_;
  uint64_t budget_;
  int dir_fd_ = -1;

  mutable std::mutex mu_;       // guards everything below
  ObjectCacheStats stats_;
  std::string last_error_;
  bool stores_disabled_ = false;
  bool scanned_ = false;        // known_bytes_ comes from a scan of the directory
  uint64_t known_bytes_ = 0;    // the directory's size as this process last saw it
};

}  // namespace fusevm::jit
