// JitCompiler: the reference's direct tier APIs over the process's engine and caches.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "fusevm/jit.hpp"
#include "jit/compiler_shared.hpp"
#include "jit/engine.hpp"
#include "jit/linear_check.hpp"
#include "jit/op_sets.hpp"
#include "jit/trace_store.hpp"
#include "jit/unit_cache.hpp"
#include "jit/vm_units.hpp"

namespace fusevm {

JitExtension::~JitExtension() = default;

namespace {

using jit::Engine;
using jit::Tier;

// The reference's block threshold: calls 1..10 warm up, call 11 compiles.
constexpr uint32_t kBlockThreshold = 10;

struct LinearEntry {
  void* fn = nullptr;
  bool is_float = false;
  uint32_t num_slots = 0;
};

struct BlockEntry {
  uint32_t hot_count = 0;
  void* fn = nullptr;
  bool failed = false;   // failures are cached (the spec's "Do"), never retried
  std::string reason;
  uint32_t num_slots = 0;
};

struct Caches {
  std::mutex mu;
  jit::UnitCache<LinearEntry> linear;
  jit::UnitCache<BlockEntry> block;
};

Caches& caches() {
  static Caches* c = new Caches();  // never destroyed: compiled code outlives statics
  return *c;
}

uint32_t slots_needed(const Chunk& chunk) {
  std::optional<uint16_t> top = jit::max_slot(chunk.ops, 0, chunk.ops.size());
  return top ? static_cast<uint32_t>(*top) + 1 : 0;
}

jit::Compiled compile_unit(const Chunk& chunk, jit_abi::UnitKind kind, bool result_is_float,
                           uint32_t num_slots, uint64_t hash) {
  std::vector<jit_abi::AbiConst> consts = jit::abi_constants(chunk);
  // Two chunks may share an op_hash (a collision, or a hash set by hand), so the symbol
  // also carries a sequence number: names must be unique within the plugin's engine.
  static std::atomic<uint64_t> sequence{0};
  std::string name = std::string(kind == jit_abi::kUnitLinear ? "fusevm_lin_" : "fusevm_blk_") +
                     std::to_string(hash) + "_" + std::to_string(sequence.fetch_add(1));
  jit_abi::UnitRequest req{};
  req.kind = kind;
  req.ops = reinterpret_cast<const jit_abi::AbiOp*>(chunk.ops.data());
  req.num_ops = chunk.ops.size();
  req.consts = consts.data();
  req.num_consts = consts.size();
  req.result_is_float = result_is_float ? 1 : 0;
  req.num_slots = num_slots;
  req.name = name.c_str();
  jit::Compiled c = Engine::get().compile(req);
  Engine::get().count_compile(kind == jit_abi::kUnitLinear ? Tier::Linear : Tier::Block, c);
  return c;
}

bool block_eligible(const Chunk& chunk) {
  if (chunk.ops.empty()) return false;
  for (const Op& op : chunk.ops) {
    if (!jit::in_block_set(op.code())) return false;
  }
  return true;
}

// The block tier's checks beyond op membership: targets inside the chunk (a target
// above the end made the reference panic).
bool block_targets_ok(const Chunk& chunk) {
  for (const Op& op : chunk.ops) {
    if (jit::is_block_branch(op.code()) && op.target() > chunk.ops.size()) return false;
  }
  return true;
}

std::optional<int64_t> run_block(const Chunk& chunk, std::span<int64_t> slots, uint32_t threshold) {
  Engine& engine = Engine::get();
  if (!block_eligible(chunk)) return std::nullopt;
  const uint64_t hash = jit::code_hash(chunk);
  Caches& c = caches();
  void* fn = nullptr;
  uint32_t num_slots = 0;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    BlockEntry& e = c.block.find_or_add(chunk, hash);
    if (e.fn == nullptr) {
      if (e.failed) {
        engine.count_fallback(Tier::Block, e.reason);
        return std::nullopt;
      }
      if (e.hot_count < UINT32_MAX) ++e.hot_count;
      if (e.hot_count <= threshold) return std::nullopt;  // warming up
    }
    fn = e.fn;
    num_slots = e.num_slots;
  }
  if (fn == nullptr) {
    num_slots = slots_needed(chunk);
    jit::Compiled compiled = block_targets_ok(chunk)
                                 ? compile_unit(chunk, jit_abi::kUnitBlock, false, num_slots, hash)
                                 : jit::Compiled{nullptr, "jump target past the end", 0};
    std::lock_guard<std::mutex> lock(c.mu);
    BlockEntry& e = c.block.find_or_add(chunk, hash);
    if (e.fn == nullptr && !e.failed) {
      e.fn = compiled.entry;
      e.failed = compiled.entry == nullptr;
      e.reason = compiled.reason;
      e.num_slots = num_slots;
    }
    if (e.fn == nullptr) {
      engine.count_fallback(Tier::Block, e.reason);
      return std::nullopt;
    }
    fn = e.fn;
  }
  if (slots.size() < num_slots) {
    engine.count_fallback(Tier::Block, "slot span shorter than the slots the chunk uses");
    return std::nullopt;
  }
  int32_t bailed = 0;
  auto f = reinterpret_cast<int64_t (*)(int64_t*, int32_t*)>(fn);
  int64_t r = f(num_slots ? slots.data() : nullptr, &bailed);
  if (bailed) {
    engine.count_fallback(Tier::Block, "bailed out (integer division by zero)");
    return std::nullopt;
  }
  engine.count_entry(Tier::Block);
  return r;
}

}  // namespace

namespace jit {

jit::Lowerings owned_lowerings(const Chunk& chunk, const std::vector<std::unique_ptr<JitExtension>>& owned) {
  std::vector<std::shared_ptr<const JitExtension>> extensions;
  for (const auto& e : owned) extensions.emplace_back(std::shared_ptr<const JitExtension>(), e.get());
  return jit::lowerings_for(chunk, extensions);
}

TraceJitConfig& thread_trace_config() {
  thread_local TraceJitConfig config;
  return config;
}

}  // namespace jit

JitCompiler::JitCompiler() = default;
JitCompiler::~JitCompiler() = default;
JitCompiler::JitCompiler(JitCompiler&&) noexcept = default;
JitCompiler& JitCompiler::operator=(JitCompiler&&) noexcept = default;

void JitCompiler::register_extension(std::unique_ptr<JitExtension> extension) {
  if (extension) extensions_.push_back(std::move(extension));
}

bool JitCompiler::is_eligible(const Chunk& chunk) const {
  for (const Op& op : chunk.ops) {
    if (jit::in_universal_set(op.code())) continue;
    if (op.code() == OpCode::Extended || op.code() == OpCode::ExtendedWide) {
      uint16_t id = op.small(0);
      bool accepted = false;
      for (const auto& e : extensions_) accepted = accepted || e->can_jit(id);
      if (accepted) continue;
    }
    return false;
  }
  return true;
}

bool JitCompiler::available() { return Engine::get().available(); }

std::string JitCompiler::unavailable_reason() { return Engine::get().unavailable_reason(); }

bool JitCompiler::is_linear_eligible(const Chunk& chunk) const { return jit::check_linear(chunk).eligible; }

std::optional<Value> JitCompiler::try_run_linear(const Chunk& chunk, std::span<int64_t> slots) {
  Engine& engine = Engine::get();
  const uint64_t hash = jit::code_hash(chunk);
  Caches& c = caches();
  LinearEntry entry;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (LinearEntry* e = c.linear.find(chunk, hash)) entry = *e;
  }
  if (entry.fn == nullptr) {
    // Failures are not cached (spec §2.1): every call validates again.
    jit::LinearPlan plan = jit::check_linear(chunk);
    if (!plan.eligible) {
      engine.count_fallback(Tier::Linear, "not linear-eligible");
      return std::nullopt;
    }
    if (plan.has_fused_loop) {
      engine.count_fallback(Tier::Linear, "fused loop op (eligible, never compiled: quirk Q-L3)");
      return std::nullopt;
    }
    uint32_t num_slots = slots_needed(chunk);
    if (slots.size() < num_slots) {
      engine.count_fallback(Tier::Linear, "slot span shorter than the slots the chunk uses");
      return std::nullopt;
    }
    jit::Compiled compiled = compile_unit(chunk, jit_abi::kUnitLinear, plan.result_is_float, num_slots, hash);
    if (compiled.entry == nullptr) return std::nullopt;
    std::lock_guard<std::mutex> lock(c.mu);
    LinearEntry& e = c.linear.find_or_add(chunk, hash);
    if (e.fn == nullptr) e = LinearEntry{compiled.entry, plan.result_is_float, num_slots};
    entry = e;
  }
  if (slots.size() < entry.num_slots) {
    engine.count_fallback(Tier::Linear, "slot span shorter than the slots the chunk uses");
    return std::nullopt;
  }
  int64_t* s = entry.num_slots ? slots.data() : nullptr;
  engine.count_entry(Tier::Linear);
  if (entry.is_float) return Value::Float(reinterpret_cast<double (*)(int64_t*)>(entry.fn)(s));
  return Value::Int(reinterpret_cast<int64_t (*)(int64_t*)>(entry.fn)(s));
}

bool JitCompiler::is_block_eligible(const Chunk& chunk) const { return block_eligible(chunk); }

std::optional<int64_t> JitCompiler::try_run_block(const Chunk& chunk, std::span<int64_t> slots) {
  return run_block(chunk, slots, kBlockThreshold);
}

std::optional<int64_t> JitCompiler::try_run_block_eager(const Chunk& chunk, std::span<int64_t> slots) {
  return run_block(chunk, slots, 0);
}

std::optional<std::pair<size_t, size_t>> JitCompiler::find_jit_region(const Chunk& chunk) const {
  // The longest run of block-eligible ops (>= 4; the first of equal runs wins).
  constexpr size_t kMinRun = 4;
  size_t best_start = 0, best_len = 0, run_start = 0;
  for (size_t i = 0; i <= chunk.ops.size(); ++i) {
    bool in = i < chunk.ops.size() && jit::in_block_set(chunk.ops[i].code());
    if (in) continue;
    size_t len = i - run_start;
    if (len >= kMinRun && len > best_len) {
      best_start = run_start;
      best_len = len;
    }
    run_start = i + 1;
  }
  if (best_len == 0) return std::nullopt;
  size_t s = best_start, e = best_start + best_len;
  // Only the best run is considered; a jump to exactly `e` counts as escaping (reference).
  for (size_t i = s; i < e; ++i) {
    const Op& op = chunk.ops[i];
    if (jit::is_block_branch(op.code()) && (op.target() < s || op.target() >= e)) return std::nullopt;
  }
  return std::make_pair(s, e);
}

Chunk JitCompiler::extract_region(const Chunk& chunk, size_t start, size_t end) const {
  Chunk out;
  end = std::min(end, chunk.ops.size());
  start = std::min(start, end);
  out.ops.assign(chunk.ops.begin() + static_cast<std::ptrdiff_t>(start), chunk.ops.begin() + static_cast<std::ptrdiff_t>(end));
  for (Op& op : out.ops) {
    if (jit::is_block_branch(op.code())) op.set_target(op.target() - start);
  }
  out.constants = chunk.constants;
  out.names = chunk.names;
  if (start < chunk.lines.size()) {
    size_t line_end = std::min(end, chunk.lines.size());
    out.lines.assign(chunk.lines.begin() + static_cast<std::ptrdiff_t>(start), chunk.lines.begin() + static_cast<std::ptrdiff_t>(line_end));
  }
  out.source = chunk.source;
  out.op_hash = out.compute_op_hash();
  return out;
}

JitStats JitCompiler::stats() { return Engine::get().stats(); }

void JitCompiler::reset() {
  {
    Caches& c = caches();
    std::lock_guard<std::mutex> lock(c.mu);
    c.linear.clear();
    c.block.clear();
  }
  jit::clear_vm_units();
  jit::clear_stored_traces();
  Engine::get().reset();
}

void JitCompiler::wait_idle() { Engine::get().wait_idle(); }

void JitCompiler::set_dump(JitDump what) {
  uint32_t flags = 0;
  if (what == JitDump::Llvm) flags = jit_abi::kDumpIr;
  if (what == JitDump::Asm) flags = jit_abi::kDumpAsm;
  Engine::get().set_dump_flags(flags);
  Engine::get().set_dump_traces(what == JitDump::Trace);
}

}  // namespace fusevm
