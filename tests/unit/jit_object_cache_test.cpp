// The JIT's on-disk object cache (src/jit/object_cache): format checks, atomicity, LRU, keys.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fusevm/op.hpp"
#include "jit/object_cache.hpp"

namespace fusevm::jit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKeyA = "0123456789abcdef0123456789abcdef";
constexpr const char* kKeyB = "fedcba9876543210fedcba9876543210";
constexpr size_t kHeaderSize = 36;  // the format's fixed header (object_cache.cpp)

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

mode_t mode_of(const fs::path& p) {
  struct stat st{};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Sets a file's mtime to `seconds_ago` before now.
void age(const fs::path& p, int seconds_ago) {
  struct timespec times[2];
  ::clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds_ago;
  times[1] = times[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0) << p;
}

int64_t mtime_ns(const fs::path& p) {
  struct stat st{};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// The number of files whose names end in `suffix`.
size_t count_files(const fs::path& dir, const std::string& suffix) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) ++n;
  }
  return n;
}

class JitObjectCache : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/fusevm_object_cache_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    dir_ = root_ / "cache";
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(root_, fs::perms::owner_all, ec);
    if (fs::exists(dir_, ec)) fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(root_, ec);
  }
  fs::path entry(const char* key) const { return dir_ / (std::string(key) + ".fvo"); }

  fs::path root_;
  fs::path dir_;
};

TEST_F(JitObjectCache, StoredEntryLoadsBackWithSymbolMetaAndObject) {
  ObjectCache cache(dir_.string());
  ASSERT_TRUE(cache.enabled()) << cache.last_error();
  const std::string object("\x7f" "ELF\0\1\2binary", 13);
  const std::string meta("meta\0data", 9);
  ASSERT_TRUE(cache.store(kKeyA, "fusevm_lin_1_0", object, meta));
  auto hit = cache.load(kKeyA);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->symbol, "fusevm_lin_1_0");
  EXPECT_EQ(hit->object, object);
  EXPECT_EQ(hit->meta, meta);
  ObjectCacheStats s = cache.stats();
  EXPECT_EQ(s.stores, 1u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 0u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(cache.last_error(), "");
}

TEST_F(JitObjectCache, SecondCacheOnTheSameDirectorySeesTheEntry) {
  {
    ObjectCache writer(dir_.string());
    ASSERT_TRUE(writer.store(kKeyA, "sym", std::string(5000, 'x')));
  }
  ObjectCache reader(dir_.string());
  auto hit = reader.load(kKeyA);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->object, std::string(5000, 'x'));
  EXPECT_EQ(hit->meta, "");
}

TEST_F(JitObjectCache, UnknownKeyIsAMiss) {
  ObjectCache cache(dir_.string());
  EXPECT_FALSE(cache.load(kKeyB).has_value());
  EXPECT_EQ(cache.stats().misses, 1u);
  EXPECT_EQ(cache.stats().corrupt, 0u);
  EXPECT_EQ(cache.stats().errors, 0u);
}

TEST_F(JitObjectCache, StoreReplacesAnExistingEntry) {
  ObjectCache cache(dir_.string());
  ASSERT_TRUE(cache.store(kKeyA, "one", "first object"));
  ASSERT_TRUE(cache.store(kKeyA, "two", "second object"));
  auto hit = cache.load(kKeyA);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->symbol, "two");
  EXPECT_EQ(hit->object, "second object");
  EXPECT_EQ(count_files(dir_, ".tmp"), 0u);
}

TEST_F(JitObjectCache, CreatesTheDirectoryAndItsParentsWithMode0700AndFilesWith0600) {
  const fs::path deep = root_ / "a" / "b" / "fusevm";
  ObjectCache cache(deep.string());
  ASSERT_TRUE(cache.enabled()) << cache.last_error();
  EXPECT_EQ(mode_of(root_ / "a"), 0700u);
  EXPECT_EQ(mode_of(root_ / "a" / "b"), 0700u);
  EXPECT_EQ(mode_of(deep), 0700u);
  ASSERT_TRUE(cache.store(kKeyA, "sym", "obj"));
  EXPECT_EQ(mode_of(deep / (std::string(kKeyA) + ".fvo")), 0600u);
}

TEST_F(JitObjectCache, ExistingDirectoryOpenToOthersIsRestrictedTo0700) {
  fs::create_directory(dir_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  ObjectCache cache(dir_.string());
  ASSERT_TRUE(cache.enabled()) << cache.last_error();
  EXPECT_EQ(mode_of(dir_), 0700u);
}

TEST_F(JitObjectCache, EmptyDirectoryMeansOffAndEveryCallIsANoOp) {
  ObjectCache cache("");
  EXPECT_FALSE(cache.enabled());
  EXPECT_FALSE(cache.store(kKeyA, "sym", "obj"));
  EXPECT_FALSE(cache.load(kKeyA).has_value());
  EXPECT_EQ(cache.last_error(), "");
  EXPECT_EQ(cache.stats().errors, 0u);
}

TEST_F(JitObjectCache, ResolveDirectoryFollowsTheSettingThenXdgThenHome) {
  EXPECT_EQ(ObjectCache::resolve_directory("off", "/xdg", "/home/u"), "");
  EXPECT_EQ(ObjectCache::resolve_directory("/my/cache", "/xdg", "/home/u"), "/my/cache");
  EXPECT_EQ(ObjectCache::resolve_directory("", "/xdg", "/home/u"), "/xdg/fusevm");
  EXPECT_EQ(ObjectCache::resolve_directory(nullptr, "/xdg", "/home/u"), "/xdg/fusevm");
  EXPECT_EQ(ObjectCache::resolve_directory(nullptr, "relative/xdg", "/home/u"), "/home/u/.cache/fusevm");
  EXPECT_EQ(ObjectCache::resolve_directory(nullptr, "", "/home/u"), "/home/u/.cache/fusevm");
  EXPECT_EQ(ObjectCache::resolve_directory(nullptr, nullptr, "/home/u"), "/home/u/.cache/fusevm");
  EXPECT_EQ(ObjectCache::resolve_directory(nullptr, nullptr, nullptr), "");
  EXPECT_EQ(ObjectCache::resolve_directory(nullptr, nullptr, ""), "");
}

// Restores one environment variable when the test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    had_ = old != nullptr;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST_F(JitObjectCache, FromEnvironmentOffIsDisabledWithoutAnError) {
  ScopedEnv setting(ObjectCache::kEnvVar, "off");
  auto cache = ObjectCache::from_environment();
  EXPECT_FALSE(cache->enabled());
  EXPECT_EQ(cache->directory(), "");
  EXPECT_EQ(cache->last_error(), "");
}

TEST_F(JitObjectCache, FromEnvironmentUsesXdgCacheHome) {
  ScopedEnv setting(ObjectCache::kEnvVar, nullptr);
  ScopedEnv xdg("XDG_CACHE_HOME", root_.c_str());
  auto cache = ObjectCache::from_environment();
  EXPECT_TRUE(cache->enabled()) << cache->last_error();
  EXPECT_EQ(cache->directory(), (root_ / "fusevm").string());
  EXPECT_TRUE(fs::is_directory(root_ / "fusevm"));
}

TEST_F(JitObjectCache, FromEnvironmentUsesAnExplicitDirectory) {
  ScopedEnv setting(ObjectCache::kEnvVar, dir_.c_str());
  auto cache = ObjectCache::from_environment(1234);
  EXPECT_TRUE(cache->enabled()) << cache->last_error();
  EXPECT_EQ(cache->directory(), dir_.string());
  EXPECT_EQ(cache->budget(), 1234u);
}

// ---- Corruption -----------------------------------------------------------------------

struct Damage {
  const char* what;
  size_t offset;  // byte to flip (from the end when from_end)
  bool from_end;
};

TEST_F(JitObjectCache, DamageToAnyHeaderFieldOrPartIsAMissAndDeletesTheFile) {
  const std::string key = kKeyA;
  const std::string symbol = "fusevm_blk_7_3";
  const std::string meta = "M";
  const size_t key_at = kHeaderSize;
  const size_t symbol_at = key_at + key.size();
  const size_t meta_at = symbol_at + symbol.size();
  const size_t object_at = meta_at + meta.size();
  const Damage damages[] = {
      {"magic", 0, false},          {"magic end", 7, false},       {"format version", 8, false},
      {"key length", 12, false},    {"symbol length", 16, false},  {"meta length", 20, false},
      {"object length", 24, false}, {"object length high", 31, false}, {"crc", 32, false},
      {"key echo", key_at, false},  {"symbol", symbol_at, false},  {"meta", meta_at, false},
      {"object start", object_at, false}, {"object end", 1, true},
  };
  for (const Damage& d : damages) {
    SCOPED_TRACE(d.what);
    ObjectCache cache(dir_.string());
    ASSERT_TRUE(cache.store(key, symbol, std::string(300, 'o'), meta));
    std::string bytes = read_file(entry(kKeyA));
    const size_t at = d.from_end ? bytes.size() - d.offset : d.offset;
    ASSERT_LT(at, bytes.size());
    bytes[at] = static_cast<char>(bytes[at] ^ 0x41);
    write_file(entry(kKeyA), bytes);
    EXPECT_FALSE(cache.load(key).has_value());
    EXPECT_FALSE(fs::exists(entry(kKeyA)));
    EXPECT_EQ(cache.stats().corrupt, 1u);
    EXPECT_EQ(cache.stats().misses, 1u);
  }
}

TEST_F(JitObjectCache, TruncationAtEveryLengthIsAMiss) {
  ObjectCache cache(dir_.string());
  ASSERT_TRUE(cache.store(kKeyA, "sym", std::string(64, 'o'), "meta"));
  const std::string whole = read_file(entry(kKeyA));
  for (size_t n = 0; n < whole.size(); ++n) {
    write_file(entry(kKeyA), whole.substr(0, n));
    EXPECT_FALSE(cache.load(kKeyA).has_value()) << "length " << n;
    EXPECT_FALSE(fs::exists(entry(kKeyA))) << "length " << n;
  }
  EXPECT_EQ(cache.stats().corrupt, whole.size());
  write_file(entry(kKeyA), whole);
  EXPECT_TRUE(cache.load(kKeyA).has_value());
}

TEST_F(JitObjectCache, TrailingBytesAreAMiss) {
  ObjectCache cache(dir_.string());
  ASSERT_TRUE(cache.store(kKeyA, "sym", "object"));
  write_file(entry(kKeyA), read_file(entry(kKeyA)) + "x");
  EXPECT_FALSE(cache.load(kKeyA).has_value());
  EXPECT_FALSE(fs::exists(entry(kKeyA)));
}

TEST_F(JitObjectCache, EntryRenamedToAnotherKeyIsAMiss) {
  ObjectCache cache(dir_.string());
  ASSERT_TRUE(cache.store(kKeyA, "sym", "object"));
  fs::copy_file(entry(kKeyA), entry(kKeyB));
  EXPECT_FALSE(cache.load(kKeyB).has_value());
  EXPECT_FALSE(fs::exists(entry(kKeyB)));
  EXPECT_TRUE(cache.load(kKeyA).has_value());
}

TEST_F(JitObjectCache, ForeignFileIsAMissAndIsDeleted) {
  ObjectCache cache(dir_.string());
  write_file(entry(kKeyA), std::string(100, 'z'));
  EXPECT_FALSE(cache.load(kKeyA).has_value());
  EXPECT_FALSE(fs::exists(entry(kKeyA)));
  EXPECT_EQ(cache.stats().corrupt, 1u);
}

TEST_F(JitObjectCache, SymlinkAtAnEntryNameIsNeverFollowed) {
  ObjectCache cache(dir_.string());
  ASSERT_TRUE(cache.store(kKeyA, "sym", "object"));
  fs::create_symlink(entry(kKeyA), entry(kKeyB));
  EXPECT_FALSE(cache.load(kKeyB).has_value());
  EXPECT_FALSE(fs::is_symlink(entry(kKeyB)));
  EXPECT_TRUE(fs::exists(entry(kKeyA)));  // the link's target is left alone
}

TEST_F(JitObjectCache, DirectoryAtAnEntryNameIsAMiss) {
  ObjectCache cache(dir_.string());
  fs::create_directory(entry(kKeyA));
  EXPECT_FALSE(cache.load(kKeyA).has_value());
}

TEST_F(JitObjectCache, InvalidKeysAreRefusedWithAnError) {
  ObjectCache cache(dir_.string());
  for (const std::string& key : {std::string(), std::string("../escape"), std::string("a/b"),
                                 std::string("dot.ted"), std::string(129, 'a')}) {
    SCOPED_TRACE(key);
    EXPECT_FALSE(cache.store(key, "sym", "object"));
    EXPECT_FALSE(cache.load(key).has_value());
  }
  EXPECT_NE(cache.last_error().find("invalid cache key"), std::string::npos) << cache.last_error();
  EXPECT_EQ(count_files(root_, ".fvo"), 0u);
  EXPECT_EQ(count_files(dir_, ".fvo"), 0u);
  // A refused key is not a write failure: stores still work.
  EXPECT_TRUE(cache.store(kKeyA, "sym", "object"));
}

TEST_F(JitObjectCache, EmptySymbolOrObjectIsRefused) {
  ObjectCache cache(dir_.string());
  EXPECT_FALSE(cache.store(kKeyA, "", "object"));
  EXPECT_FALSE(cache.store(kKeyA, "sym", ""));
  EXPECT_FALSE(fs::exists(entry(kKeyA)));
}

TEST_F(JitObjectCache, RemoveDeletesTheEntry) {
  ObjectCache cache(dir_.string());
  ASSERT_TRUE(cache.store(kKeyA, "sym", "object"));
  cache.remove(kKeyA);
  EXPECT_FALSE(fs::exists(entry(kKeyA)));
  EXPECT_FALSE(cache.load(kKeyA).has_value());
}

// ---- Concurrency ----------------------------------------------------------------------

// The object a writer stores for `key` in round `round`: self-describing, so a reader can
// tell a whole entry from a mixture of two.
std::string object_for(int writer, int round) {
  std::string head = "w" + std::to_string(writer) + "r" + std::to_string(round) + ":";
  return head + std::string(2000 + 37 * writer + round, static_cast<char>('a' + writer));
}

bool is_whole(const CachedObject& o) {
  size_t colon = o.object.find(':');
  if (colon == std::string::npos || o.object[0] != 'w') return false;
  int writer = std::atoi(o.object.c_str() + 1);
  int round = std::atoi(o.object.c_str() + o.object.find('r') + 1);
  return o.object == object_for(writer, round) && o.symbol == "sym_w" + std::to_string(writer);
}

const char* const kSharedKeys[] = {"00000000000000000000000000000001", "00000000000000000000000000000002",
                                   "00000000000000000000000000000003"};

void write_rounds(ObjectCache& cache, int writer, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    for (const char* key : kSharedKeys) {
      cache.store(key, "sym_w" + std::to_string(writer), object_for(writer, r));
    }
  }
}

TEST_F(JitObjectCache, TwoThreadsWritingTheSameKeysLeaveWholeEntries) {
  ObjectCache shared(dir_.string());
  ObjectCache own(dir_.string());
  std::thread a([&] { write_rounds(shared, 0, 100); });
  std::thread b([&] { write_rounds(own, 1, 100); });
  std::thread c([&] { write_rounds(shared, 2, 100); });
  // Reads race with the writers: each sees a whole entry or none, never a torn one.
  ObjectCache reader(dir_.string());
  size_t seen = 0;
  for (int i = 0; i < 300; ++i) {
    for (const char* key : kSharedKeys) {
      if (auto hit = reader.load(key)) {
        EXPECT_TRUE(is_whole(*hit));
        ++seen;
      }
    }
  }
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(reader.stats().corrupt, 0u);
  for (const char* key : kSharedKeys) {
    auto hit = reader.load(key);
    ASSERT_TRUE(hit.has_value()) << key;
    EXPECT_TRUE(is_whole(*hit));
  }
  EXPECT_EQ(shared.stats().stores + own.stats().stores, 900u);
  EXPECT_EQ(shared.stats().errors + own.stats().errors, 0u);
  EXPECT_EQ(count_files(dir_, ".tmp"), 0u);
  EXPECT_EQ(count_files(dir_, ".fvo"), 3u);
  (void)seen;
}

TEST_F(JitObjectCache, TwoProcessesWritingTheSameKeysLeaveWholeEntries) {
  { ObjectCache create(dir_.string()); }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ObjectCache cache(dir_.string());
    write_rounds(cache, 1, 150);
    ::_exit(cache.stats().stores == 450 && cache.stats().errors == 0 ? 0 : 1);
  }
  ObjectCache cache(dir_.string());
  ObjectCache reader(dir_.string());
  for (int r = 0; r < 150; ++r) {
    write_rounds(cache, 0, 1);
    for (const char* key : kSharedKeys) {
      if (auto hit = reader.load(key)) {
        EXPECT_TRUE(is_whole(*hit));
      }
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(reader.stats().corrupt, 0u);
  for (const char* key : kSharedKeys) {
    auto hit = reader.load(key);
    ASSERT_TRUE(hit.has_value()) << key;
    EXPECT_TRUE(is_whole(*hit));
  }
  EXPECT_EQ(count_files(dir_, ".tmp"), 0u);
}

// ---- Budget and LRU -------------------------------------------------------------------

const char* const kLruKeys[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                                "cccccccccccccccccccccccccccccccc", "dddddddddddddddddddddddddddddddd"};

TEST_F(JitObjectCache, OverBudgetEvictsTheLeastRecentlyUsedEntryFirst) {
  const std::string object(1000, 'o');
  const uint64_t entry_size = kHeaderSize + 32 + 3 + object.size();
  // Three entries fit; a fourth goes over, and eviction stops an eighth below budget.
  ObjectCache cache(dir_.string(), entry_size * 7 / 2);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.store(kLruKeys[i], "sym", object));
  age(entry(kLruKeys[0]), 300);
  age(entry(kLruKeys[1]), 200);
  age(entry(kLruKeys[2]), 100);
  ASSERT_TRUE(cache.load(kLruKeys[0]).has_value());  // a is now the most recently used
  ASSERT_TRUE(cache.store(kLruKeys[3], "sym", object));
  EXPECT_TRUE(fs::exists(entry(kLruKeys[0])));
  EXPECT_FALSE(fs::exists(entry(kLruKeys[1])));
  EXPECT_TRUE(fs::exists(entry(kLruKeys[2])));
  EXPECT_TRUE(fs::exists(entry(kLruKeys[3])));
  EXPECT_EQ(cache.stats().evictions, 1u);
}

TEST_F(JitObjectCache, EvictionContinuesInAgeOrderUntilUnderBudget) {
  const std::string object(1000, 'o');
  const uint64_t entry_size = kHeaderSize + 32 + 3 + object.size();
  {
    ObjectCache big(dir_.string(), entry_size * 10);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(big.store(kLruKeys[i], "sym", object));
  }
  age(entry(kLruKeys[0]), 100);
  age(entry(kLruKeys[1]), 300);
  age(entry(kLruKeys[2]), 200);
  // A new process with a smaller budget: only its own new entry and one more can stay.
  ObjectCache small(dir_.string(), entry_size * 2 + entry_size / 2);
  ASSERT_TRUE(small.store(kLruKeys[3], "sym", object));
  EXPECT_FALSE(fs::exists(entry(kLruKeys[1])));
  EXPECT_FALSE(fs::exists(entry(kLruKeys[2])));
  EXPECT_TRUE(fs::exists(entry(kLruKeys[0])));
  EXPECT_TRUE(fs::exists(entry(kLruKeys[3])));
  EXPECT_EQ(small.stats().evictions, 2u);
}

TEST_F(JitObjectCache, HitRefreshesTheEntryMtime) {
  ObjectCache cache(dir_.string());
  ASSERT_TRUE(cache.store(kKeyA, "sym", "object"));
  age(entry(kKeyA), 1000);
  const int64_t before = mtime_ns(entry(kKeyA));
  ASSERT_TRUE(cache.load(kKeyA).has_value());
  EXPECT_GT(mtime_ns(entry(kKeyA)), before + int64_t{900} * 1000000000);
}

TEST_F(JitObjectCache, EntryLargerThanTheBudgetIsNotStored) {
  ObjectCache cache(dir_.string(), 500);
  EXPECT_FALSE(cache.store(kKeyA, "sym", std::string(1000, 'o')));
  EXPECT_FALSE(fs::exists(entry(kKeyA)));
  EXPECT_EQ(cache.stats().errors, 0u);
  EXPECT_TRUE(cache.store(kKeyB, "sym", std::string(100, 'o')));
}

TEST_F(JitObjectCache, StaleTemporaryFilesAreCleanedAndFreshOnesKept) {
  fs::create_directories(dir_);
  const fs::path stale = dir_ / ".deadbeef.123.0.tmp";
  const fs::path fresh = dir_ / ".cafebabe.456.0.tmp";
  write_file(stale, "half");
  write_file(fresh, "half");
  age(stale, 2 * 3600);
  ObjectCache cache(dir_.string());
  ASSERT_TRUE(cache.store(kKeyA, "sym", "object"));  // the first store scans the directory
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
}

TEST_F(JitObjectCache, EvictionLeavesOtherFilesAlone) {
  fs::create_directories(dir_);
  write_file(dir_ / "notes.txt", std::string(5000, 'n'));
  ObjectCache cache(dir_.string(), 1000);
  ASSERT_TRUE(cache.store(kKeyA, "sym", std::string(600, 'o')));
  ASSERT_TRUE(cache.store(kKeyB, "sym", std::string(600, 'o')));
  EXPECT_TRUE(fs::exists(dir_ / "notes.txt"));
  EXPECT_TRUE(fs::exists(entry(kKeyB)));
  EXPECT_FALSE(fs::exists(entry(kKeyA)));
}

// ---- Errors ---------------------------------------------------------------------------

TEST_F(JitObjectCache, DirectoryThatCannotBeCreatedDisablesTheCacheWithAReason) {
  write_file(root_ / "file", "not a directory");
  ObjectCache cache((root_ / "file" / "cache").string());
  EXPECT_FALSE(cache.enabled());
  EXPECT_NE(cache.last_error().find("cannot create"), std::string::npos) << cache.last_error();
  EXPECT_EQ(cache.stats().errors, 1u);
  EXPECT_FALSE(cache.store(kKeyA, "sym", "object"));
  EXPECT_FALSE(cache.load(kKeyA).has_value());
}

TEST_F(JitObjectCache, DirectoryOwnedByAnotherUserIsRefused) {
  std::string other = dir_.string();
  uid_t owner = 65534;
  if (::geteuid() == 0) {
    fs::create_directories(dir_);
    ASSERT_EQ(::chown(dir_.c_str(), owner, owner), 0);
  } else {
    // Without root nothing can be given away: use a system directory someone else owns
    // (checked first, since the cache would restrict a directory of ours to 0700).
    other.clear();
    for (const char* candidate : {"/", "/usr", "/tmp"}) {
      struct stat st{};
      if (::stat(candidate, &st) == 0 && st.st_uid != ::geteuid()) {
        other = candidate;
        owner = st.st_uid;
        break;
      }
    }
    if (other.empty()) GTEST_SKIP() << "no directory owned by another user";
  }
  ObjectCache cache(other);
  EXPECT_FALSE(cache.enabled());
  EXPECT_NE(cache.last_error().find("owned by uid " + std::to_string(owner)), std::string::npos)
      << cache.last_error();
}

// In a child process (its exit status is the number of failed checks): a store into a
// directory this user may not write fails, is reported, disables later stores, and
// leaves loads working.
TEST_F(JitObjectCache, UnwritableDirectoryMakesStoresANoOpWithAReason) {
  {
    ObjectCache setup(dir_.string());
    ASSERT_TRUE(setup.store(kKeyA, "sym", "object"));
  }
  const bool root = ::geteuid() == 0;
  if (root) {
    // Root writes anywhere: hand everything to an unprivileged user first.
    ASSERT_EQ(::chown(root_.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chown(entry(kKeyA).c_str(), 65534, 65534), 0);
  }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (root && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(100);
    if (::chmod(dir_.c_str(), 0500) != 0) ::_exit(101);
    int failures = 0;
    ObjectCache cache(dir_.string());
    failures += !cache.enabled();
    failures += cache.store(kKeyB, "sym", "object");
    failures += cache.last_error().find("cannot create") == std::string::npos;
    failures += cache.stats().errors != 1;
    failures += !cache.load(kKeyA).has_value();
    ::chmod(dir_.c_str(), 0700);
    failures += cache.store(kKeyB, "sym", "object");  // disabled for the rest of the process
    ::_exit(failures);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(fs::exists(entry(kKeyB)));
  if (root) {
    ASSERT_EQ(::chown(root_.c_str(), 0, 0), 0);
  }
}

// A full disk, simulated with RLIMIT_FSIZE in a child: the write fails, the temporary
// file is removed, the reason is kept, and the cache goes quiet.
TEST_F(JitObjectCache, FailedWriteRemovesTheTemporaryFileAndDisablesStores) {
  { ObjectCache create(dir_.string()); }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit{};
    limit.rlim_cur = limit.rlim_max = 4096;
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(100);
    int failures = 0;
    ObjectCache cache(dir_.string());
    failures += cache.store(kKeyA, "sym", std::string(10000, 'o'));
    failures += cache.last_error().find("cannot write") == std::string::npos;
    failures += cache.store(kKeyB, "sym", "small");
    ::_exit(failures);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(fs::exists(entry(kKeyA)));
  EXPECT_FALSE(fs::exists(entry(kKeyB)));
  EXPECT_EQ(count_files(dir_, ".tmp"), 0u);
}

// ---- Keys -----------------------------------------------------------------------------

struct KeyInput {
  std::vector<Op> ops = {Op::LoadInt(40), Op::LoadInt(2), Op::Add()};
  std::vector<jit_abi::AbiConst> consts;
  std::vector<uint8_t> slot_tags;
  jit_abi::UnitRequest req{};
  std::string name = "fusevm_lin_1_0";
  Chunk chunk;
  std::string llvm = "19.1.7";
  std::string target = "x86_64-pc-linux-gnu;cpu=znver3";
  std::string extra;

  std::string key() {
    req.ops = reinterpret_cast<const jit_abi::AbiOp*>(ops.data());
    req.num_ops = ops.size();
    req.consts = consts.data();
    req.num_consts = consts.size();
    req.slot_tags = slot_tags.empty() ? nullptr : slot_tags.data();
    req.name = name.c_str();
    return cache_key(req, {llvm, target, &chunk, extra});
  }
};

TEST(JitObjectCacheKey, IsThirtyTwoHexDigitsAndDeterministic) {
  KeyInput a, b;
  a.req.kind = b.req.kind = jit_abi::kUnitLinear;
  const std::string k = a.key();
  EXPECT_EQ(k.size(), 32u);
  EXPECT_EQ(k.find_first_not_of("0123456789abcdef"), std::string::npos) << k;
  EXPECT_EQ(k, b.key());
}

TEST(JitObjectCacheKey, IgnoresTheNameAndOutputOnlyFlags) {
  KeyInput a;
  const std::string base = a.key();
  a.name = "fusevm_lin_1_99";
  EXPECT_EQ(a.key(), base);
  a.req.flags = jit_abi::kDumpIr | jit_abi::kDumpAsm | jit_abi::kWantObject;
  EXPECT_EQ(a.key(), base);
}

TEST(JitObjectCacheKey, ChangesWithEveryInputThatShapesCode) {
  KeyInput base_input;
  const std::string base = base_input.key();
  std::set<std::string> keys = {base};
  auto differs = [&](const char* what, auto&& change) {
    KeyInput in;
    change(in);
    const std::string k = in.key();
    EXPECT_NE(k, base) << what;
    EXPECT_TRUE(keys.insert(k).second) << what << " collides with another variation";
  };
  differs("kind", [](KeyInput& in) { in.req.kind = jit_abi::kUnitBlock; });
  differs("unknown flag", [](KeyInput& in) { in.req.flags = 1u << 20; });
  differs("result type", [](KeyInput& in) { in.req.result_is_float = 1; });
  differs("num_slots", [](KeyInput& in) { in.req.num_slots = 2; });
  differs("vm tier", [](KeyInput& in) { in.req.vm_tier = jit_abi::kVmTierBlock; });
  differs("entry depth", [](KeyInput& in) { in.req.entry_depth = 1; });
  differs("range begin", [](KeyInput& in) { in.req.range_begin = 1; });
  differs("range end", [](KeyInput& in) { in.req.range_end = 3; });
  differs("entry ip", [](KeyInput& in) { in.req.entry_ip = 2; });
  differs("slot tags", [](KeyInput& in) {
    in.req.num_slots = 2;
    in.slot_tags = {jit_abi::kTagInt, jit_abi::kTagFloat};
  });
  differs("an operand", [](KeyInput& in) { in.ops[1] = Op::LoadInt(3); });
  differs("an opcode", [](KeyInput& in) { in.ops[2] = Op::Sub(); });
  differs("one more op", [](KeyInput& in) { in.ops.push_back(Op::Nop()); });
  differs("a constant", [](KeyInput& in) { in.consts.push_back({jit_abi::kConstInt, {}, 5}); });
  differs("llvm version", [](KeyInput& in) { in.llvm = "19.1.8"; });
  differs("target", [](KeyInput& in) { in.target += "+avx512f"; });
  differs("chunk names", [](KeyInput& in) { in.chunk.names.push_back("f"); });
  differs("sub entries", [](KeyInput& in) { in.chunk.sub_entries.push_back({0, 1}); });
  differs("extra", [](KeyInput& in) { in.extra = "trace"; });
}

TEST(JitObjectCacheKey, FieldBoundariesCannotBeShifted) {
  KeyInput a, b;
  a.llvm = "19.1.7x";
  a.target = "y";
  b.llvm = "19.1.7";
  b.target = "xy";
  EXPECT_NE(a.key(), b.key());
}

}  // namespace
}  // namespace fusevm::jit
