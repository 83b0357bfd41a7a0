// Object files through the plugin ABI: kWantObject, load_object (same and other process), target_key.
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "plugin_harness.hpp"

extern char** environ;

namespace fusevm::jit_plugin_test {
namespace {

namespace fs = std::filesystem;

// A unit and the inputs it runs on; the parent and the child process share the table.
struct Recipe {
  const char* label;
  uint32_t kind;
  std::vector<Op> ops;
  std::vector<jit_abi::AbiConst> consts;
  bool is_float;
  std::vector<int64_t> slots;  ///< inputs; num_slots is their count
  // kUnitVm only: the tier and the frame's slots (the range is the whole chunk).
  uint32_t vm_tier = 0;
  std::vector<jit_abi::AbiValue> vm_slots = {};
  std::vector<uint8_t> slot_tags = {};
};

jit_abi::AbiValue vm_value(uint8_t tag, uint64_t bits) {
  jit_abi::AbiValue v{};
  v.bits = bits;
  v.tag = tag;
  return v;
}

jit_abi::AbiValue vm_float(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return vm_value(jit_abi::kTagFloat, bits);
}

Recipe vm_recipe(const char* label, uint32_t tier, std::vector<Op> ops, std::vector<jit_abi::AbiValue> slots) {
  Recipe r{label, jit_abi::kUnitVm, std::move(ops), {}, false, {}};
  r.vm_tier = tier;
  r.vm_slots = std::move(slots);
  for (const jit_abi::AbiValue& v : r.vm_slots) r.slot_tags.push_back(v.tag);
  return r;
}

// x = x ** 1.5 % 7.0 twenty times, counted by slot 1: C pow, fmod and a polling backedge.
std::vector<Op> vm_loop_ops() {
  return {Op::GetSlot(0), Op::LoadFloat(1.5), Op::Pow(),    Op::LoadFloat(7.0),
          Op::Mod(),      Op::SetSlot(0),     Op::SlotIncLtIntJumpBack(1, 20, 0)};
}

// Units covering every way generated code reaches something outside itself: each runtime
// helper (integer pow, C pow, fmod), constant-pool loads, slot memory, loops, bail-outs.
const std::vector<Recipe>& recipes() {
  static const std::vector<Recipe> table = {
      {"add", jit_abi::kUnitLinear, {Op::LoadInt(40), Op::LoadInt(2), Op::Add()}, {}, false, {}},
      {"int pow", jit_abi::kUnitLinear, {Op::LoadInt(3), Op::LoadInt(13), Op::Pow()}, {}, false, {}},
      {"float pow", jit_abi::kUnitLinear, {Op::LoadFloat(2.0), Op::LoadFloat(0.5), Op::Pow()}, {}, true, {}},
      {"float mod", jit_abi::kUnitLinear, {Op::LoadFloat(7.5), Op::LoadFloat(2.0), Op::Mod()}, {}, true, {}},
      {"constant pool", jit_abi::kUnitLinear, {Op::LoadConst(0), Op::LoadConst(1), Op::Mul()},
       {const_float(1.25), const_float(3.5)}, true, {}},
      {"slots", jit_abi::kUnitLinear, {Op::GetSlot(0), Op::GetSlot(1), Op::Mul()}, {}, false, {6, 7}},
      {"block loop",
       jit_abi::kUnitBlock,
       {Op::SlotLtIntJumpIfFalse(1, 100, 7), Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(0),
        Op::PreIncSlotVoid(1), Op::Jump(0), Op::GetSlot(0)},
       {},
       false,
       {0, 0, 0, 0}},
      {"block pow", jit_abi::kUnitBlock,
       {Op::GetSlot(0), Op::GetSlot(1), Op::Pow(), Op::SetSlot(2), Op::GetSlot(2)}, {}, false, {2, 10, 0}},
      {"block fmod", jit_abi::kUnitBlock,
       {Op::LoadFloat(9.5), Op::LoadFloat(4.0), Op::Mod(), Op::LoadFloat(10.0), Op::Mul()}, {}, false, {}},
      {"block bail", jit_abi::kUnitBlock,
       {Op::GetSlot(0), Op::GetSlot(1), Op::Div(), Op::SetSlot(2), Op::GetSlot(2)}, {}, false, {1, 0, 5}},
      vm_recipe("vm loop (linear tier)", jit_abi::kVmTierLinear, vm_loop_ops(),
                {vm_float(1.1), vm_value(jit_abi::kTagInt, 0)}),
      vm_recipe("vm loop (block tier)", jit_abi::kVmTierBlock, vm_loop_ops(),
                {vm_float(1.1), vm_value(jit_abi::kTagInt, 0)}),
  };
  return table;
}

// The request points into `r` and `name`, which must outlive it (ASan caught a temporary).
jit_abi::UnitRequest request_for(const Recipe& r, const std::string& name, uint32_t flags) {
  jit_abi::UnitRequest req{};
  req.kind = r.kind;
  req.flags = flags;
  req.ops = reinterpret_cast<const jit_abi::AbiOp*>(r.ops.data());
  req.num_ops = r.ops.size();
  req.consts = r.consts.data();
  req.num_consts = r.consts.size();
  req.result_is_float = r.is_float ? 1 : 0;
  req.num_slots = static_cast<uint32_t>(r.slots.size());
  req.name = name.c_str();
  if (r.kind == jit_abi::kUnitVm) {
    req.num_slots = static_cast<uint32_t>(r.vm_slots.size());
    req.vm_tier = r.vm_tier;
    req.range_end = r.ops.size();
    req.slot_tags = r.slot_tags.data();
  }
  return req;
}

// What compiling with kWantObject produced.
struct Compiled {
  void* entry = nullptr;
  std::string object;
  std::string reason;
};

Compiled compile_with_object(void* engine, const Recipe& r, const std::string& name) {
  jit_abi::UnitRequest req = request_for(r, name, jit_abi::kWantObject);
  jit_abi::UnitResult result;
  std::memset(&result, 0xA5, sizeof result);
  Compiled out;
  if (api().compile(engine, &req, &result) == 1) {
    out.entry = result.entry;
    if (result.object != nullptr) out.object.assign(result.object, result.object_size);
  } else {
    out.reason = result.reason;
  }
  if (result.object != nullptr) api().free_text(result.object);
  if (result.dump != nullptr) api().free_text(result.dump);
  return out;
}

// Loads `object` into `engine`; the entry, or null with `reason`.
void* load(void* engine, const std::string& name, const std::string& object, std::string* reason = nullptr) {
  jit_abi::UnitResult result;
  std::memset(&result, 0xA5, sizeof result);
  const int ok = api().load_object(engine, name.c_str(), object.data(), object.size(), &result);
  EXPECT_EQ(result.dump, nullptr);
  EXPECT_EQ(result.object, nullptr);
  if (ok != 1) {
    EXPECT_EQ(result.entry, nullptr);
    EXPECT_NE(result.reason[0], '\0');
    if (reason != nullptr) *reason = result.reason;
    return nullptr;
  }
  EXPECT_EQ(result.reason[0], '\0');
  EXPECT_GT(result.code_bytes, 0u);
  return result.entry;
}

// Runs a unit of `r` at `entry`: its result (a Float by its bits), whether it bailed, and
// the slots afterwards, as text to compare.
std::string run(const Recipe& r, void* entry) {
  std::vector<int64_t> slots = r.slots;
  int64_t* p = slots.empty() ? nullptr : slots.data();
  std::ostringstream out;
  if (r.kind == jit_abi::kUnitVm) {
    std::vector<jit_abi::AbiValue> vm_slots = r.vm_slots;
    std::vector<jit_abi::AbiValue> stack(64);  // more than any recipe's max_exit_stack
    const uint8_t poll = 0;
    jit_abi::VmUnitFrame frame{vm_slots.data(), stack.data(), &poll, 0, 0, 0, nullptr, nullptr};  // no call-outs
    const uint32_t returned = reinterpret_cast<uint32_t (*)(jit_abi::VmUnitFrame*)>(entry)(&frame);
    out << "returned=" << returned << " exit=" << frame.exit_reason << " ip=" << frame.resume_ip
        << " depth=" << frame.exit_depth << std::hex;
    for (const jit_abi::AbiValue& v : vm_slots) out << " " << int{v.tag} << ":" << v.bits;
    for (uint32_t k = 0; k < frame.exit_depth && k < stack.size(); ++k) {
      out << " s" << int{stack[k].tag} << ":" << stack[k].bits;
    }
    return out.str();
  }
  if (r.kind == jit_abi::kUnitBlock) {
    int32_t bailed = 0;
    out << reinterpret_cast<int64_t (*)(int64_t*, int32_t*)>(entry)(p, &bailed) << " bailed=" << bailed;
  } else if (r.is_float) {
    double d = reinterpret_cast<double (*)(int64_t*)>(entry)(p);
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    out << d << " bits=" << std::hex << bits << std::dec;
  } else {
    out << reinterpret_cast<int64_t (*)(int64_t*)>(entry)(p);
  }
  for (int64_t s : slots) out << " " << s;
  return out.str();
}

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

// ---- target_key and kWantObject ------------------------------------------------------

TEST(JitPluginObject, TargetKeyNamesTripleCpuFeaturesFramesAndPluginBuild) {
  Engine a;
  Engine b;
  ASSERT_NE(a.handle(), nullptr) << a.error();
  const std::string key = api().target_key(a.handle());
  EXPECT_NE(key.find(";cpu="), std::string::npos) << key;
  EXPECT_NE(key.find(";features="), std::string::npos) << key;
  EXPECT_NE(key.find(";frames=0"), std::string::npos) << key;
  const size_t plugin = key.find(";plugin=");
  ASSERT_NE(plugin, std::string::npos) << key;
  EXPECT_GE(key.size() - plugin, std::strlen(";plugin=") + 16) << "a build ID of at least 8 bytes";
  EXPECT_NE(key.find("-linux"), std::string::npos) << "starts with the target triple: " << key;
  EXPECT_EQ(key, api().target_key(b.handle())) << "the same host gives the same key";
}

TEST(JitPluginObject, TargetKeyDiffersWhenUnwindTablesAreEmitted) {
  Engine plain;
  jit_abi::EngineOptions options{};
  options.gdb = 1;
  Engine debug(options);
  ASSERT_NE(debug.handle(), nullptr) << debug.error();
  const std::string key = api().target_key(debug.handle());
  EXPECT_NE(key.find(";frames=1"), std::string::npos) << key;
  EXPECT_NE(key, api().target_key(plain.handle()));
}

TEST(JitPluginObject, TargetKeyOfNoEngineIsEmptyNotACrash) {
  EXPECT_STREQ(api().target_key(nullptr), "");
}

TEST(JitPluginObject, WantObjectReturnsARelocatableElfObject) {
  Engine engine;
  Compiled c = compile_with_object(engine.handle(), recipes()[0], "fusevm_lin_obj_elf");
  ASSERT_NE(c.entry, nullptr) << c.reason;
  ASSERT_GE(c.object.size(), 64u);
  EXPECT_EQ(c.object.substr(0, 4), "\x7f" "ELF");
  EXPECT_EQ(c.object[16], 1) << "ET_REL";
  EXPECT_NE(c.object.find("fusevm_lin_obj_elf"), std::string::npos) << "the symbol is in the object";
  EXPECT_EQ(reinterpret_cast<int64_t (*)(int64_t*)>(c.entry)(nullptr), 42);
}

TEST(JitPluginObject, WithoutWantObjectNoObjectIsReturned) {
  Engine engine;
  const std::string name = "fusevm_lin_no_obj";  // outlives the request that points at it
  jit_abi::UnitRequest req = request_for(recipes()[0], name, 0);
  jit_abi::UnitResult result;
  std::memset(&result, 0xA5, sizeof result);
  ASSERT_EQ(api().compile(engine.handle(), &req, &result), 1) << result.reason;
  EXPECT_EQ(result.object, nullptr);
  EXPECT_EQ(result.object_size, 0u);
}

TEST(JitPluginObject, FailedCompileReturnsNoObject) {
  Engine engine;
  Recipe bad{"bad", 99, {Op::LoadInt(1)}, {}, false, {}};
  const std::string name = "fusevm_bad_obj";
  jit_abi::UnitRequest req = request_for(bad, name, jit_abi::kWantObject);
  jit_abi::UnitResult result;
  std::memset(&result, 0xA5, sizeof result);
  ASSERT_EQ(api().compile(engine.handle(), &req, &result), 0);
  EXPECT_EQ(result.object, nullptr);
  EXPECT_EQ(result.object_size, 0u);
}

// ---- load_object in this process -----------------------------------------------------

TEST(JitPluginObject, EveryRecipeLoadedIntoASecondEngineGivesTheSameResult) {
  Engine first;
  Engine second;
  int n = 0;
  for (const Recipe& r : recipes()) {
    SCOPED_TRACE(r.label);
    const std::string name = "fusevm_obj_same_" + std::to_string(n++);
    Compiled c = compile_with_object(first.handle(), r, name);
    ASSERT_NE(c.entry, nullptr) << c.reason;
    ASSERT_FALSE(c.object.empty());
    void* loaded = load(second.handle(), name, c.object);
    ASSERT_NE(loaded, nullptr);
    EXPECT_EQ(run(r, loaded), run(r, c.entry));
  }
}

TEST(JitPluginObject, RecipesGiveTheirKnownResults) {
  Engine first;
  Engine second;
  const auto& t = recipes();
  auto loaded_run = [&](size_t i) {
    const std::string name = "fusevm_obj_known_" + std::to_string(i);
    Compiled c = compile_with_object(first.handle(), t[i], name);
    void* e = load(second.handle(), name, c.object);
    return e != nullptr ? run(t[i], e) : std::string("not loaded");
  };
  EXPECT_EQ(loaded_run(0), "42");
  EXPECT_EQ(loaded_run(1), "1594323");
  EXPECT_EQ(loaded_run(2).substr(0, 8), "1.41421 ");
  EXPECT_EQ(loaded_run(3).substr(0, 4), "1.5 ");
  EXPECT_EQ(loaded_run(4).substr(0, 6), "4.375 ");
  EXPECT_EQ(loaded_run(5), "42 6 7");
  EXPECT_EQ(loaded_run(6), "4950 bailed=0 4950 100 0 0");
  EXPECT_EQ(loaded_run(7), "1024 bailed=0 2 10 1024");
  EXPECT_EQ(loaded_run(8), "15 bailed=0");
  EXPECT_EQ(loaded_run(9), "0 bailed=1 1 0 5");
  // Left the range at its end, twenty rounds counted, x a Float in [0, 7).
  for (size_t vm : {size_t{10}, size_t{11}}) {
    const std::string text = loaded_run(vm);
    EXPECT_EQ(text.rfind("returned=0 exit=0 ip=7 depth=0 3:", 0), 0u) << text;
    EXPECT_NE(text.find(" 2:14"), std::string::npos) << text;
  }
}

// With a debugger or profiler attached, objects carry unwind tables (.eh_frame and its
// relocations), which the loader's checks must accept too.
TEST(JitPluginObject, ObjectsWithUnwindTablesLoadIntoADebugEngine) {
  jit_abi::EngineOptions options{};
  options.gdb = 1;
  Engine first(options);
  Engine second(options);
  int n = 0;
  for (const Recipe& r : recipes()) {
    SCOPED_TRACE(r.label);
    const std::string name = "fusevm_obj_frames_" + std::to_string(n++);
    Compiled c = compile_with_object(first.handle(), r, name);
    ASSERT_NE(c.entry, nullptr) << c.reason;
    ASSERT_NE(c.object.find(".eh_frame"), std::string::npos);
    void* loaded = load(second.handle(), name, c.object);
    ASSERT_NE(loaded, nullptr);
    EXPECT_EQ(run(r, loaded), run(r, c.entry));
  }
}

TEST(JitPluginObject, LoadedCodeOutlivesTheEngineThatCompiledIt) {
  Engine second;
  void* loaded = nullptr;
  {
    Engine first;
    Compiled c = compile_with_object(first.handle(), recipes()[1], "fusevm_obj_outlive");
    ASSERT_NE(c.entry, nullptr) << c.reason;
    loaded = load(second.handle(), "fusevm_obj_outlive", c.object);
  }
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(run(recipes()[1], loaded), "1594323");
}

TEST(JitPluginObject, LoadedNamesNeverClashWithCompiledOrLoadedUnits) {
  const std::string name = "fusevm_lin_5_0";  // the same name, as two processes would pick
  Engine other;
  Compiled c = compile_with_object(other.handle(), recipes()[1], name);  // 1594323
  ASSERT_NE(c.entry, nullptr) << c.reason;

  Engine engine;
  Job job;
  job.ops = recipes()[0].ops;  // 42
  job.name = name;
  Unit own = engine.compile(job);
  ASSERT_TRUE(own.ok) << own.reason;
  void* loaded = load(engine.handle(), name, c.object);
  void* again = load(engine.handle(), name, c.object);
  ASSERT_NE(loaded, nullptr);
  ASSERT_NE(again, nullptr);
  EXPECT_NE(loaded, again);
  EXPECT_NE(loaded, own.entry);
  EXPECT_EQ(own.run_int(), 42);
  EXPECT_EQ(run(recipes()[1], loaded), "1594323");
  EXPECT_EQ(run(recipes()[1], again), "1594323");
  // A unit compiled after the loads may reuse the name too, and compiling a name twice is
  // still refused.
  Engine fresh;
  ASSERT_NE(load(fresh.handle(), name, c.object), nullptr);
  Unit after = fresh.compile(job);
  ASSERT_TRUE(after.ok) << after.reason;
  EXPECT_EQ(after.run_int(), 42);
  EXPECT_FALSE(fresh.compile(job).ok);
}

// ---- Bad bytes -----------------------------------------------------------------------

class JitPluginObjectRefusal : public ::testing::Test {
 protected:
  void SetUp() override {
    Compiled c = compile_with_object(compiler_.handle(), recipes()[7], kName);
    ASSERT_NE(c.entry, nullptr) << c.reason;
    object_ = c.object;
  }
  // The engine is still sound after the refusals: the real object loads and runs.
  void TearDown() override {
    void* e = load(engine_.handle(), kName, object_);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(run(recipes()[7], e), "1024 bailed=0 2 10 1024");
  }
  std::string refusal(const std::string& bytes, const char* name = kName) {
    std::string reason;
    EXPECT_EQ(load(engine_.handle(), name, bytes, &reason), nullptr);
    return reason;
  }

  static constexpr const char* kName = "fusevm_blk_refusal";
  Engine compiler_;
  Engine engine_;
  std::string object_;
};

TEST_F(JitPluginObjectRefusal, RandomBytesAreRefused) {
  std::mt19937_64 rng(12345);
  for (size_t size : {1u, 16u, 64u, 4096u}) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    EXPECT_NE(refusal(bytes).find("not an ELF object"), std::string::npos);
  }
}

TEST_F(JitPluginObjectRefusal, GarbageAfterAnElfMagicIsRefused) {
  std::string bytes = "\x7f" "ELF" + std::string(200, '\x55');
  EXPECT_NE(refusal(bytes).find("ELF64"), std::string::npos);
}

TEST_F(JitPluginObjectRefusal, EveryTruncationIsRefused) {
  for (size_t n = 1; n < object_.size(); ++n) {
    SCOPED_TRACE(n);
    EXPECT_FALSE(refusal(object_.substr(0, n)).empty());
  }
}

TEST_F(JitPluginObjectRefusal, EmptyOrMissingBytesAndNamesAreRefused) {
  jit_abi::UnitResult result;
  std::memset(&result, 0xA5, sizeof result);
  EXPECT_EQ(api().load_object(engine_.handle(), kName, nullptr, 100, &result), 0);
  EXPECT_NE(std::string(result.reason).find("empty"), std::string::npos) << result.reason;
  EXPECT_EQ(api().load_object(engine_.handle(), kName, object_.data(), 0, &result), 0);
  EXPECT_EQ(api().load_object(engine_.handle(), nullptr, object_.data(), object_.size(), &result), 0);
  EXPECT_NE(std::string(result.reason).find("name"), std::string::npos) << result.reason;
  EXPECT_EQ(api().load_object(engine_.handle(), "", object_.data(), object_.size(), &result), 0);
  EXPECT_EQ(result.entry, nullptr);
  EXPECT_EQ(api().load_object(nullptr, kName, object_.data(), object_.size(), &result), 0);
  EXPECT_STREQ(result.reason, "no engine");
  EXPECT_EQ(api().load_object(engine_.handle(), kName, object_.data(), object_.size(), nullptr), 0);
}

// An object that passes every check but names a helper nobody defines fails only after
// JITLink has taken memory for it. That must leave the engine whole: LLVM 19's slab
// manager unmapped the slab when such a link was the first in it (slab_memory.hpp), so
// the next unit crashed.
TEST_F(JitPluginObjectRefusal, ALinkThatFailsAfterAllocationLeavesTheEngineUsable) {
  std::string bytes = object_;
  const size_t helper = bytes.find("fusevm_jit_pow_i64");
  ASSERT_NE(helper, std::string::npos);
  bytes[helper + std::strlen("fusevm_jit_pow_i64") - 1] = 'X';
  Engine fresh;
  std::string reason;
  EXPECT_EQ(load(fresh.handle(), kName, bytes, &reason), nullptr);
  EXPECT_NE(reason.find("fusevm_jit_pow_i6X"), std::string::npos) << reason;
  void* good = load(fresh.handle(), kName, object_);
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(run(recipes()[7], good), "1024 bailed=0 2 10 1024");
  Job job;
  job.ops = recipes()[1].ops;
  Unit compiled = fresh.compile(job);
  ASSERT_TRUE(compiled.ok) << compiled.reason;
  EXPECT_EQ(compiled.run_int(), 1594323);
}

TEST_F(JitPluginObjectRefusal, AnotherSymbolNameIsRefused) {
  EXPECT_NE(refusal(object_, "fusevm_blk_other").find("defines no function fusevm_blk_other"),
            std::string::npos);
}

TEST_F(JitPluginObjectRefusal, SharedObjectTypeIsRefused) {
  std::string bytes = object_;
  bytes[16] = 3;  // e_type = ET_DYN
  EXPECT_NE(refusal(bytes).find("not a relocatable object"), std::string::npos);
}

TEST_F(JitPluginObjectRefusal, ObjectForAnotherArchitectureIsRefused) {
  std::string bytes = object_;
  const bool host_is_aarch64 = bytes[18] == static_cast<char>(183);
  bytes[18] = static_cast<char>(host_is_aarch64 ? 62 : 183);  // e_machine: EM_X86_64 / EM_AARCH64
  bytes[19] = 0;
  EXPECT_NE(refusal(bytes).find("another architecture"), std::string::npos);
}

// The cache's CRC rejects damaged files before they get here; this pins that the loader
// itself survives damaged bytes too (loading, not running: a flipped code byte is still a
// valid object). Objects with relocations into constant pools and loops are included.
TEST_F(JitPluginObjectRefusal, AnySingleDamagedByteNeverCrashesTheLoader) {
  size_t refused = 0;
  for (size_t k : {size_t{4}, size_t{6}, size_t{7}}) {
    const std::string name = "fusevm_obj_damaged_" + std::to_string(k);
    const std::string object = compile_with_object(compiler_.handle(), recipes()[k], name).object;
    ASSERT_FALSE(object.empty());
    for (size_t i = 0; i < object.size(); ++i) {
      for (int value : {-1, 0}) {  // -1: every bit inverted
        std::string bytes = object;
        bytes[i] = static_cast<char>(value < 0 ? ~bytes[i] : value);
        jit_abi::UnitResult result;
        std::memset(&result, 0xA5, sizeof result);
        if (api().load_object(engine_.handle(), name.c_str(), bytes.data(), bytes.size(), &result) == 0) {
          EXPECT_NE(result.reason[0], '\0') << recipes()[k].label << " byte " << i;
          ++refused;
        }
      }
    }
  }
  EXPECT_GT(refused, 0u);
}

TEST_F(JitPluginObjectRefusal, RandomlyDamagedObjectsNeverCrashTheLoader) {
  std::mt19937_64 rng(20240611);
  std::vector<std::string> objects;
  for (size_t k = 0; k < recipes().size(); ++k) {
    const std::string name = "fusevm_obj_fuzz_" + std::to_string(k);
    objects.push_back(compile_with_object(compiler_.handle(), recipes()[k], name).object);
  }
  for (int round = 0; round < 1000; ++round) {
    const size_t k = rng() % objects.size();
    std::string bytes = objects[k];
    for (int n = 1 + static_cast<int>(rng() % 4); n > 0; --n) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    const std::string name = "fusevm_obj_fuzz_" + std::to_string(k);
    jit_abi::UnitResult result;
    std::memset(&result, 0xA5, sizeof result);
    if (api().load_object(engine_.handle(), name.c_str(), bytes.data(), bytes.size(), &result) == 0) {
      EXPECT_NE(result.reason[0], '\0') << "round " << round;
    }
  }
}

// ---- Another process -----------------------------------------------------------------

constexpr const char* kChildDirVar = "FUSEVM_OBJECT_TEST_DIR";

// Where this process mapped the plugin: differs between processes under ASLR.
std::string plugin_base() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<const void*>(&api()), &info) == 0) return "?";
  std::ostringstream out;
  out << info.dli_fbase;
  return out.str();
}

// Run by the parent below in a freshly executed copy of this binary, where the plugin and
// its runtime helpers sit at other addresses: an object that embedded a process address
// would call into nowhere here.
TEST(JitPluginObjectChild, DISABLED_RunsObjectsCompiledByTheParent) {
  const char* dir_text = std::getenv(kChildDirVar);
  ASSERT_NE(dir_text, nullptr);
  const fs::path dir = dir_text;
  write_file(dir / "child_base", plugin_base());
  Engine engine;
  ASSERT_EQ(read_file(dir / "target_key"), api().target_key(engine.handle()));
  for (size_t i = 0; i < recipes().size(); ++i) {
    SCOPED_TRACE(recipes()[i].label);
    const std::string object = read_file(dir / (std::to_string(i) + ".o"));
    void* entry = load(engine.handle(), "fusevm_obj_child_" + std::to_string(i), object);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(run(recipes()[i], entry), read_file(dir / (std::to_string(i) + ".expected")));
  }
}

TEST(JitPluginObject, ObjectsRunInAnotherProcess) {
  char pattern[] = "/tmp/fusevm_objects_XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const fs::path dir = pattern;
  Engine engine;
  write_file(dir / "target_key", api().target_key(engine.handle()));
  for (size_t i = 0; i < recipes().size(); ++i) {
    Compiled c = compile_with_object(engine.handle(), recipes()[i], "fusevm_obj_child_" + std::to_string(i));
    ASSERT_NE(c.entry, nullptr) << recipes()[i].label << ": " << c.reason;
    write_file(dir / (std::to_string(i) + ".o"), c.object);
    write_file(dir / (std::to_string(i) + ".expected"), run(recipes()[i], c.entry));
  }

  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const std::string filter = "--gtest_filter=JitPluginObjectChild.DISABLED_RunsObjectsCompiledByTheParent";
  std::vector<std::string> args = {self, "--gtest_also_run_disabled_tests", filter};
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) env_text.emplace_back(*e);
  env_text.push_back(std::string(kChildDirVar) + "=" + dir.string());
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string log = (dir / "child.log").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t child = 0;
  const int spawned = ::posix_spawn(&child, self.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ASSERT_EQ(spawned, 0) << std::strerror(spawned);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  const std::string output = read_file(log);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_NE(output.find("[  PASSED  ] 1 test"), std::string::npos) << output;
  if (read_file("/proc/sys/kernel/randomize_va_space").substr(0, 1) != "0") {
    EXPECT_NE(read_file(dir / "child_base"), plugin_base()) << "the child mapped the plugin elsewhere";
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace fusevm::jit_plugin_test
