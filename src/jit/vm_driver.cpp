// The JIT side of a VM (vm/jit_hook.hpp): when a chunk or loop is hot, get its unit
// compiled for the slot kinds it meets, and enter it with the frame's own slots.
#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "jit/vm_units.hpp"
#include "vm/jit_hook.hpp"
#include "vm/vm_state.hpp"

namespace fusevm {

namespace {

using jit::Engine;
using jit::Tier;
using jit::VmSite;
using jit::VmUnit;

static_assert(kValueLayoutVersion == 1, "kUnitVm code reads and writes Value's layout");
static_assert(sizeof(Value) == sizeof(jit_abi::AbiValue));
static_assert(Value::kTagUndef == jit_abi::kTagUndef && Value::kTagBool == jit_abi::kTagBool &&
              Value::kTagInt == jit_abi::kTagInt && Value::kTagFloat == jit_abi::kTagFloat);
static_assert(sizeof(std::atomic<bool>) == 1, "native code polls VMState::poll as a byte");

// Kind specialisations one site may have before it stays interpreted.
constexpr size_t kMaxSpecs = 4;
// Counter values after a visit: how many backedges until the next one.
constexpr int32_t kAgainNow = -1;        // a unit ran: enter again at the next backedge
constexpr int32_t kAgainSoon = -16;      // compiling
constexpr int32_t kAgainLater = -1024;   // slot kinds no unit takes (they may change)
constexpr int32_t kNever = INT32_MIN;    // no unit can cover this loop

Tier stats_tier(jit_abi::VmTier t) { return t == jit_abi::kVmTierLinear ? Tier::Linear : Tier::Block; }
const char* tier_name(jit_abi::VmTier t) { return t == jit_abi::kVmTierLinear ? "linear" : "block"; }

Value value_of(const jit_abi::AbiValue& v) {
  switch (v.tag) {
    case jit_abi::kTagBool: return Value::Bool(v.bits != 0);
    case jit_abi::kTagInt: return Value::Int(static_cast<int64_t>(v.bits));
    case jit_abi::kTagFloat: return Value::Float(std::bit_cast<double>(v.bits));
    default: return Value();
  }
}

class VmDriver final : public JitHook {
 public:
  VmDriver(const Chunk& chunk, const JitOptions& options) : options_(options) {
    // The first backedge to any op comes due after block_threshold of them.
    const uint32_t t = std::max<uint32_t>(options.block_threshold, 1);
    hot_counters.assign(chunk.ops.size() + 1,
                        has_tiers(options.tiers, JitTiers::Block) ? -static_cast<int32_t>(t) : kNever);
  }

  const JitOptions& options() const override { return options_; }

  JitOutcome on_run_start(VMState& st) override {
    if (!chunk_site_.resolved) {
      chunk_site_.resolved = true;
      chunk_site_.site = jit::chunk_site(st.chunk, chunk_site_.reason);
    }
    if (!chunk_site_.site) return JitOutcome::Interpret;
    const VmSite& site = *chunk_site_.site;
    const bool linear = site.straight_line && site.end == st.chunk.ops.size();
    jit_abi::VmTier tier;
    uint32_t threshold;
    if (linear && has_tiers(options_.tiers, JitTiers::Linear)) {
      tier = jit_abi::kVmTierLinear;
      threshold = 1;  // compiled on the first run
    } else if (has_tiers(options_.tiers, JitTiers::Block)) {
      tier = jit_abi::kVmTierBlock;
      threshold = std::max<uint32_t>(options_.block_threshold, 1);
    } else {
      return JitOutcome::Interpret;
    }
    if (chunk_site_.runs < UINT32_MAX) ++chunk_site_.runs;
    // Below the threshold only a unit another VM already compiled is used.
    return visit(st, chunk_site_, tier, chunk_site_.runs >= threshold);
  }

  JitOutcome on_backedge(VMState& st, uint64_t from) override {
    const uint64_t header = st.ip;
    int32_t& counter = hot_counters[header];
    Site& s = loops_[header];
    if (!s.resolved) {
      s.resolved = true;
      s.site = jit::loop_site(st.chunk, header, from, s.reason);
      if (!s.site) Engine::get().count_fallback(Tier::Block, s.reason);
    }
    if (!s.site) {
      counter = kNever;
      return JitOutcome::Interpret;
    }
    const JitOutcome o = visit(st, s, jit_abi::kVmTierBlock, true);
    counter = o == JitOutcome::Ran ? kAgainNow : s.next_counter;
    return o;
  }

 private:
  struct Spec {
    std::vector<uint8_t> tags;
    std::shared_ptr<VmUnit> unit;
    bool failure_seen = false;
  };
  struct Site {
    bool resolved = false;
    std::optional<VmSite> site;
    std::string reason;
    std::vector<Spec> specs;
    uint32_t runs = 0;
    int32_t next_counter = kAgainSoon;  // set by visit() when it does not enter
  };

  // The unit of `s` for the frame's current slot kinds: found, compiled (when `may_compile`)
  // or failed; entered when ready.
  JitOutcome visit(VMState& st, Site& s, jit_abi::VmTier tier, bool may_compile) {
    if (st.frames.empty()) return JitOutcome::Interpret;
    const VmSite& site = *s.site;
    std::vector<uint8_t> tags;
    if (!entry_tags(st.frames.back(), site, tags)) {
      s.next_counter = kAgainLater;
      return JitOutcome::Interpret;
    }
    Spec* spec = nullptr;
    for (Spec& candidate : s.specs) {
      if (candidate.tags == tags) spec = &candidate;
    }
    if (spec == nullptr) {
      if (s.specs.size() >= kMaxSpecs) {
        Engine::get().count_fallback(stats_tier(tier), "more than 4 slot-kind specialisations of one site");
        s.next_counter = kAgainLater;
        return JitOutcome::Interpret;
      }
      bool created = false;
      std::shared_ptr<VmUnit> unit = jit::find_vm_unit(st.chunk, site, tier, tags, may_compile ? &created : nullptr);
      if (unit == nullptr) return JitOutcome::Interpret;  // not hot yet, and nobody compiled it
      if (created) jit::compile_vm_unit(*unit, st.chunk, site, tags, options_.sync);
      s.specs.push_back(Spec{std::move(tags), std::move(unit)});
      spec = &s.specs.back();
    }
    VmUnit& unit = *spec->unit;
    if (!unit.finished()) {
      s.next_counter = kAgainSoon;
      return JitOutcome::Interpret;
    }
    const jit::Compiled& result = unit.pending->result;
    if (!unit.outcome_counted.exchange(true)) Engine::get().count_compile(stats_tier(tier), result);
    if (result.entry == nullptr) {
      s.next_counter = kNever;
      if (!spec->failure_seen) {
        spec->failure_seen = true;
        if (options_.strict) {
          st.set_error(std::string("jit-strict: the ") + tier_name(tier) + " tier fell back at ip " +
                           std::to_string(site.entry) + ": " + result.reason,
                       site.entry);
          return JitOutcome::Error;
        }
      }
      return JitOutcome::Interpret;
    }
    // A unit does not check max_stack; near the limit the interpreter runs the ops, so a
    // breach is reported at the op that makes it, with the same state.
    if (st.stack.size() + std::max<size_t>(site.max_depth, result.max_exit_stack) > st.limits.max_stack) {
      s.next_counter = kAgainLater;
      return JitOutcome::Interpret;
    }
    return enter(st, site, result, tier);
  }

  // The entry kinds of the site's slots in `frame`; false when one is not a scalar.
  static bool entry_tags(const Frame& frame, const VmSite& site, std::vector<uint8_t>& tags) {
    tags.assign(site.num_slots, jit_abi::kTagUnused);
    for (uint16_t s : site.slots) {
      const uint8_t tag = s < frame.slots.size() ? frame.slots[s].tag() : Value::kTagUndef;
      if (tag > Value::kTagFloat) return false;
      tags[s] = tag;
    }
    return true;
  }

  JitOutcome enter(VMState& st, const VmSite& site, const jit::Compiled& unit, jit_abi::VmTier tier) {
    Frame& frame = st.frames.back();
    const size_t original = frame.slots.size();
    // Reads past the end give Undef in the interpreter; the unit reads real slots.
    if (original < site.num_slots) frame.slots.resize(site.num_slots);
    const size_t need = std::max<size_t>(unit.max_exit_stack, 1);
    if (exit_stack_.size() < need) exit_stack_.resize(need);
    jit_abi::VmUnitFrame uf{};
    uf.slots = reinterpret_cast<jit_abi::AbiValue*>(frame.slots.data());
    uf.stack = exit_stack_.data();
    uf.poll = reinterpret_cast<const uint8_t*>(&st.poll);
    Engine::get().count_entry(stats_tier(tier));
    reinterpret_cast<uint32_t (*)(jit_abi::VmUnitFrame*)>(unit.entry)(&uf);
    // Trailing Undef slots the interpreter would not have created are unobservable;
    // dropping them keeps frames identical to an interpreted run.
    while (frame.slots.size() > original && frame.slots.back().is_undef()) frame.slots.pop_back();
    for (uint32_t k = 0; k < uf.exit_depth; ++k) st.stack.push_back(value_of(exit_stack_[k]));
    st.ip = uf.resume_ip;
    return JitOutcome::Ran;
  }

  JitOptions options_;
  Site chunk_site_;
  std::unordered_map<uint64_t, Site> loops_;
  std::vector<jit_abi::AbiValue> exit_stack_;
};

}  // namespace

std::unique_ptr<JitHook> make_jit_hook(const Chunk& chunk, const JitOptions& options) {
  return std::make_unique<VmDriver>(chunk, options);
}

}  // namespace fusevm
