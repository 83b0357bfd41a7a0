// The JIT side of a VM (vm/jit_hook.hpp): when a chunk or loop is hot, get its unit
// compiled for the slot kinds it meets, and enter it with the frame's own slots.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "jit/trace.hpp"
#include "jit/trace_store.hpp"
#include "jit/vm_units.hpp"
#include "vm/interp.hpp"
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
constexpr int32_t kCallAgainSoon = -256;  // a compiled function is compiling
// Native frames one entry may stack up before a Call bails out to the interpreter (which
// may enter native code again from there): bounds the C stack native recursion uses.
constexpr uint64_t kNativeDepthCap = 1000;
// A compiled function that bailed out this often, in more than half its calls, is
// left to the interpreter.
constexpr uint32_t kBailsToGiveUp = 64;
// Units one trigger may enter one after another (chain()).
constexpr int kMaxChain = 4;

Tier stats_tier(jit_abi::VmTier t) { return t == jit_abi::kVmTierLinear ? Tier::Linear : Tier::Block; }
const char* tier_name(Tier t) {
  switch (t) {
    case Tier::Linear: return "linear";
    case Tier::Block: return "block";
    default: return "trace";
  }
}

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
  VmDriver(const Chunk& chunk, const JitOptions& options)
      : options_(options), lowered_(jit::lowerings_for(chunk, options.extensions)), op_hash_(chunk.op_hash) {
    // The first backedge to any op comes due after block_threshold of them.
    // So does the first call at any Call op: block-tier subs compile after as many calls.
    const uint32_t t = std::max<uint32_t>(options.block_threshold, 1);
    const int32_t block = has_tiers(options.tiers, JitTiers::Block) ? -static_cast<int32_t>(t) : kNever;
    // Without the block tier, loops are the tracing tier's from the first backedge on.
    const int32_t trace = trace_on() ? -threshold_after(0) : kNever;
    size_counters(chunk.ops.size(), block != kNever ? block : trace, block);
    if (trace_on() && chunk.op_hash != 0) adopt_stored_traces(chunk);
  }

  ~VmDriver() override {
    if (!Engine::get().dump_traces()) return;
    for (const auto& [anchor, t] : traces_) report_trace(anchor, t);
  }

  const JitOptions& options() const override { return options_; }

  JitOutcome on_run_start(VMState& st) override {
    if (!has_tiers(options_.tiers, JitTiers::Linear) && !has_tiers(options_.tiers, JitTiers::Block)) {
      return JitOutcome::Interpret;  // no tier runs whole chunks
    }
    if (!chunk_site_.resolved) {
      chunk_site_.resolved = true;
      chunk_site_.set(jit::chunk_site(st.chunk, lowered_, chunk_site_.reason));
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
    return chain(st, visit(st, chunk_site_, tier, chunk_site_.runs >= threshold));
  }

  JitOutcome on_backedge(VMState& st, uint64_t from) override {
    if (calling_out_) {  // a builtin run from native code called back into the VM
      backedge_counter(st.ip) = kAgainSoon;
      return JitOutcome::Interpret;
    }
    if (st.recording) {  // a recording is running through this loop: no lookups meanwhile
      backedge_counter(st.ip) = kAgainSoon;
      return JitOutcome::Interpret;
    }
    if (!has_tiers(options_.tiers, JitTiers::Block) || traces_.count(st.ip) != 0) return trace_entry(st);
    const JitOutcome o = chain(st, loop_entry(st, from));
    // A loop the block tier cannot cover (an op no unit contains, say) is the tracing
    // tier's: a recorded lap may still be one.
    if (trace_on() && o == JitOutcome::Interpret && backedge_counter(st.ip) == kNever) {
      traces_[st.ip];
      backedge_counter(st.ip) = -threshold_after(0);
    }
    return o;
  }

  bool on_record(VMState& st) override {
    jit::TraceAbort why{};
    std::string detail;
    const bool main_stream = st.cur_stream == CodeSet::kMain;
    jit::RecordView view{std::span<const Value>(st.stack.begin(), st.stack.end()), {}, st.globals};
    if (!st.frames.empty()) view.slots = st.frames.back().slots;
    const jit::RecordStep step =
        main_stream ? jit::record_op(st.chunk, lowered_, options_.trace, rec_, st.ip, st.frames.size(), view, why, detail)
                    : jit::RecordStep::Abort;
    if (step == jit::RecordStep::Continue) return true;
    if (!main_stream) {
      why = jit::TraceAbort::LeftFrame;
      detail = "a block activation";
    }
    st.recording = false;
    TraceSite& t = traces_[rec_.anchor];
    const bool side = side_exit_ >= 0;
    // A failed lap counts against the loop; a failed side path only against its guard.
    auto failed = [&] {
      const std::string reason = std::string(jit::trace_abort_name(why)) + " (" + detail + ")";
      if (side) {
        side_path_failed(t, reason);
      } else {
        give_up(t, rec_.anchor, reason);
      }
      return false;
    };
    if (step == jit::RecordStep::Abort) return failed();
    // Closed: the lap (a new trace) or side paths added to the loop's trace tree.
    std::vector<jit::TracePath> paths = std::move(rec_.paths);
    std::optional<jit::SyntheticTrace> synth =
        jit::synthesise_trace(st.chunk, lowered_, rec_.anchor, paths, why, detail);
    if (!synth) return failed();
    auto tree = std::make_shared<jit::TraceTree>();
    tree->paths = std::move(paths);
    tree->trace = std::move(*synth);
    std::shared_ptr<TraceCode> code = make_trace_code(std::move(tree));
    if (side && t.code) {  // guards whose side paths failed stay so
      for (size_t k = 0; k < code->tree->trace.exits.size(); ++k) {
        for (size_t j = 0; j < t.code->tree->trace.exits.size(); ++j) {
          const jit::TraceExit& a = code->tree->trace.exits[k];
          const jit::TraceExit& b = t.code->tree->trace.exits[j];
          if (a.path == b.path && a.pos == b.pos && a.real == b.real && j < t.code->exits.size() &&
              t.code->exits[j].dead) {
            code->exit(k).dead = true;
          }
        }
      }
    }
    if (Engine::get().dump_traces()) {
      report_trace(rec_.anchor, t);
      std::fputs(jit::describe_trace(rec_.anchor, code->tree->paths, code->tree->trace).c_str(), stderr);
    }
    t.code = std::move(code);
    if (!side) t.side_exits = 0;
    side_exit_ = -1;
    backedge_counter(rec_.anchor) = kAgainNow;  // compiled at the next backedge, entered when ready
    return false;
  }

  void drop_recording() override {
    rec_.paths.clear();
    side_exit_ = -1;
  }

  // The loop at st.ip, reached by the backward jump at `from`: its unit, entered if ready.
  JitOutcome loop_entry(VMState& st, uint64_t from) {
    const uint64_t header = st.ip;
    int32_t& counter = backedge_counter(header);
    Site& s = loops_[header];
    if (!s.resolved) {
      s.resolved = true;
      s.set(jit::loop_site(st.chunk, lowered_, header, from, s.reason));
      if (!s.site) Engine::get().count_fallback(Tier::Block, s.reason);
    }
    if (!s.site) {
      counter = kNever;
      return JitOutcome::Interpret;
    }
    const JitOutcome o = visit(st, s, jit_abi::kVmTierBlock, true);
    counter = o == JitOutcome::Ran ? kAgainNow : s.next_counter;
    // A slot of the loop holds a kind no unit takes (a Str, an Array, ...): the block tier
    // would keep asking and never enter, so with the tracing tier on the loop is the
    // tracing tier's, whose traces reach such values through call-outs (on_backedge).
    if (o == JitOutcome::Interpret && kinds_refused_ && trace_on()) counter = kNever;
    return o;
  }

  // A unit that left at a loop header took that loop's backedge natively (its kinds had
  // changed: an outer loop's header first reached with an inner counter still Undef, say),
  // so the interpreter never counts it. Counting it here and entering that loop's own unit
  // keeps nested loops native instead of re-entering the inner loop's unit every lap.
  JitOutcome chain(VMState& st, JitOutcome o) {
    for (int hops = 0; o == JitOutcome::Ran && left_at_header_ && hops < kMaxChain; ++hops) {
      left_at_header_ = false;
      const std::optional<uint64_t> from = latch_of(st.chunk, st.ip);
      if (!from || ++backedge_counter(st.ip) < 0) break;
      const JitOutcome next = loop_entry(st, *from);
      if (next != JitOutcome::Interpret) o = next;
    }
    left_at_header_ = false;
    return o;
  }

  JitOutcome on_call(VMState& st) override {
    const uint64_t call_ip = st.ip;
    int32_t& counter = call_counter(call_ip);
    if (calling_out_) {  // (see on_backedge)
      counter = kCallAgainSoon;
      return JitOutcome::Interpret;
    }
    CallSite& c = calls_[call_ip];
    if (!c.resolved) {
      c.resolved = true;
      const Op& op = st.chunk.ops[call_ip];
      c.entry = st.chunk.find_sub(static_cast<uint16_t>(op.raw_operand(0)));
      c.argc = static_cast<uint32_t>(op.raw_operand(1));
    }
    if (!c.entry || st.stack.size() < c.argc || st.frames.empty()) {
      counter = kNever;  // the interpreter's error (or its clamped base) it is
      return JitOutcome::Interpret;
    }
    const JitOutcome o = visit_call(st, c, call_ip);
    counter = o == JitOutcome::Ran ? kAgainNow : c.next_counter;
    return o;
  }

 private:
  // Entry kinds, one byte per slot of the site: a basic_string for its in-place buffer, so
  // the kinds of a site of up to 15 slots cost no allocation (a new VM adopting a trace).
  using Tags = std::basic_string<uint8_t>;
  struct Spec {
    Tags tags;
    std::shared_ptr<VmUnit> unit;
    bool failure_seen = false;
    uint32_t entries = 0;  // compiled functions: calls that entered native code
    uint32_t bails = 0;    // ... and of those, the ones that bailed out
  };
  // A site's or a call's specs (at most kMaxSpecs), held in place: the first costs no
  // allocation of its own.
  struct SpecList {
    std::array<Spec, kMaxSpecs> items;
    size_t n = 0;
    Spec* begin() { return items.data(); }
    Spec* end() { return items.data() + n; }
    const Spec* begin() const { return items.data(); }
    const Spec* end() const { return items.data() + n; }
    size_t size() const { return n; }
    Spec& push_back(Spec spec) {
      items[n] = std::move(spec);
      return items[n++];
    }
  };
  struct CallSite {
    bool resolved = false;
    std::optional<uint64_t> entry;  // the callee's first op
    uint32_t argc = 0;
    SpecList specs;                 // by argument tags
    int32_t next_counter = kAgainSoon;
  };
  struct Site {
    Site() = default;
    Site(const Site&) = delete;  // `site` may point into `own`
    Site& operator=(const Site&) = delete;
    bool resolved = false;
    // The code units are compiled from: `own` (a loop's or the chunk's site), or a trace
    // tree's, kept alive by the TraceCode holding this Site — so adopting a stored trace
    // copies no VmSite. Null: none (`reason` says why).
    const VmSite* site = nullptr;
    std::optional<VmSite> own;
    void set(std::optional<VmSite> s) {
      own = std::move(s);
      site = own ? &*own : nullptr;
    }
    std::string reason;
    SpecList specs;
    uint32_t runs = 0;
    int32_t next_counter = kAgainSoon;  // set by visit() when it does not enter
  };

  // The unit of `s` for the frame's current slot kinds: found, compiled (when `may_compile`)
  // or failed; entered when ready.
  JitOutcome visit(VMState& st, Site& s, jit_abi::VmTier tier, bool may_compile) {
    return visit_code(st, st.chunk, s, tier, stats_tier(tier), may_compile, nullptr);
  }

  // visit() for a site of `code` (the running chunk, or a trace chunk whose ips map to the
  // running chunk's through `ip_map`), counted in `stats`.
  JitOutcome visit_code(VMState& st, const Chunk& code, Site& s, jit_abi::VmTier tier, Tier stats, bool may_compile,
                        const std::vector<uint64_t>* ip_map) {
    kinds_refused_ = false;
    if (st.frames.empty()) return JitOutcome::Interpret;
    const VmSite& site = *s.site;
    Tags tags;  // in place for small sites: asked at every entry
    if (!entry_tags(st.frames.back(), site, tags)) {
      s.next_counter = kAgainLater;
      kinds_refused_ = true;
      return JitOutcome::Interpret;
    }
    Spec* spec = spec_for(s.specs, tags, stats, "slot-kind specialisations of one site",
                          s.next_counter, [&](const std::vector<uint8_t>& owned) {
                            bool created = false;
                            std::shared_ptr<VmUnit> unit = jit::find_vm_unit(code, lowered_, site, tier, owned,
                                                                             may_compile ? &created : nullptr);
                            if (created) jit::compile_vm_unit(*unit, code, lowered_, site, owned, options_.sync);
                            return unit;  // null: not hot yet, and nobody compiled it
                          });
    if (spec == nullptr) return JitOutcome::Interpret;
    const jit::Compiled* ready = nullptr;
    const uint64_t at_ip = ip_map != nullptr ? (*ip_map)[site.entry] : site.entry;
    if (const JitOutcome o = ready_unit(st, *spec, stats, at_ip, s.next_counter, ready); ready == nullptr) {
      return o;
    }
    const jit::Compiled& result = *ready;
    // A unit does not check max_stack; near the limit the interpreter runs the ops, so a
    // breach is reported at the op that makes it, with the same state.
    if (st.stack.size() + std::max<size_t>(site.max_depth, result.max_exit_stack) > st.limits.max_stack) {
      s.next_counter = kAgainLater;
      return JitOutcome::Interpret;
    }
    return enter(st, site, result, stats, ip_map);
  }

  // The spec of `specs` (a site's or a call's, at most kMaxSpecs) for entry kinds `tags`;
  // a new one gets its unit from `unit_for(tags)`, which may give null (not hot yet).
  // Null when there is none, after counting `what` as a fallback once the specs are full.
  template <typename UnitFor>
  Spec* spec_for(SpecList& specs, std::span<const uint8_t> tags, Tier tier, const char* what,
                 int32_t& next_counter, UnitFor unit_for) {
    for (Spec& candidate : specs) {
      if (std::equal(candidate.tags.begin(), candidate.tags.end(), tags.begin(), tags.end())) return &candidate;
    }
    if (specs.size() >= kMaxSpecs) {
      Engine::get().count_fallback(tier, std::string("more than 4 ") + what);
      next_counter = kAgainLater;
      return nullptr;
    }
    std::vector<uint8_t> owned(tags.begin(), tags.end());
    std::shared_ptr<VmUnit> unit = unit_for(owned);
    if (unit == nullptr) return nullptr;
    return &specs.push_back(Spec{Tags(tags.begin(), tags.end()), std::move(unit)});
  }

  // The compiled code of `spec`, in `ready`, once its compile has finished well. Else
  // null, with `next_counter` set and what the VM does meanwhile: interpret, or fail the
  // run under --jit-strict when the compile failed.
  JitOutcome ready_unit(VMState& st, Spec& spec, Tier tier, uint64_t at_ip, int32_t& next_counter,
                        const jit::Compiled*& ready) {
    ready = nullptr;
    VmUnit& unit = *spec.unit;
    if (!unit.finished()) {
      next_counter = kAgainSoon;
      return JitOutcome::Interpret;
    }
    const jit::Compiled& result = unit.pending->result;
    if (!unit.outcome_counted.exchange(true)) Engine::get().count_compile(tier, result);
    if (result.entry == nullptr) {
      next_counter = kNever;
      if (!spec.failure_seen) {
        spec.failure_seen = true;
        if (options_.strict) {
          st.set_error(std::string("jit-strict: the ") + tier_name(tier) + " tier fell back at ip " +
                           std::to_string(at_ip) + ": " + result.reason,
                       at_ip);
          return JitOutcome::Error;
        }
      }
      return JitOutcome::Interpret;
    }
    ready = &result;
    return JitOutcome::Ran;
  }

  // The compiled function for the arguments on the stack: found, compiled, or failed;
  // entered when ready.
  JitOutcome visit_call(VMState& st, CallSite& c, uint64_t call_ip) {
    const size_t base = st.stack.size() - c.argc;
    // Asked at every native entry (and often while compiling): no allocation here.
    std::array<uint8_t, 256> arg_tags;  // argc is 8-bit
    for (size_t k = 0; k < c.argc; ++k) {
      const uint8_t tag = st.stack[base + k].tag();
      if (tag > Value::kTagFloat) {
        c.next_counter = kAgainLater;
        return JitOutcome::Interpret;
      }
      arg_tags[k] = tag;
    }
    Spec* spec = spec_for(c.specs, std::span<const uint8_t>(arg_tags.data(), c.argc), Tier::Block,
                          "argument-kind specialisations of one call", c.next_counter,
                          [&](const std::vector<uint8_t>& owned) {
                            bool created = false;
                            std::shared_ptr<VmUnit> unit =
                                jit::find_fn_unit(st.chunk, lowered_, *c.entry, owned, &created);
                            if (created) jit::compile_fn_unit(*unit, st.chunk, lowered_, *c.entry, owned, options_.sync);
                            return unit;
                          });
    if (spec == nullptr) return JitOutcome::Interpret;
    if (spec->bails >= kBailsToGiveUp && spec->bails * 2 > spec->entries) {
      c.next_counter = kAgainLater;  // it mostly bails out: the interpreter does better
      return JitOutcome::Interpret;
    }
    const jit::Compiled* ready = nullptr;
    if (const JitOutcome o = ready_unit(st, *spec, Tier::Block, *c.entry, c.next_counter, ready);
        ready == nullptr) {
      // Calls come far more often than backedges: ask again less often while compiling.
      if (c.next_counter == kAgainSoon) c.next_counter = kCallAgainSoon;
      return o;
    }
    if (base + ready->max_exit_stack > st.limits.max_stack) {
      c.next_counter = kAgainLater;  // the interpreter fails at the exact op
      return JitOutcome::Interpret;
    }
    return enter_fn(st, *spec, *ready, call_ip, base);
  }

  // Calls compiled function `fn` for the Call at `call_ip` whose arguments start at `base`.
  JitOutcome enter_fn(VMState& st, Spec& spec, const jit::Compiled& fn, uint64_t call_ip, size_t base) {
    jit_abi::FnFrame f{};
    f.args = reinterpret_cast<const jit_abi::AbiValue*>(&st.stack[base]);
    f.poll = reinterpret_cast<const uint8_t*>(&st.poll);
    f.base = base;
    f.max_stack = st.limits.max_stack;
    // The interpreter refuses a Call once frames + active blocks reach the limit; the
    // called frame is depth 1, so a native Call at depth d has frames + d - 1 + 1 of them.
    const size_t used = st.frames.size() + st.block_depth;
    f.depth_room = std::min<uint64_t>(st.limits.max_call_depth - std::min(used, st.limits.max_call_depth),
                                      kNativeDepthCap);
    f.core = this;
    f.record = &VmDriver::record_frame;
    // Room for every frame a bail-out can record, made on the first call (not in every VM).
    if (records_.capacity() == 0) records_.reserve(kNativeDepthCap + 1);
    records_.clear();
    record_failed_ = false;
    Engine::get().count_entry(Tier::Block);
    ++spec.entries;
    uint32_t why;
    {
      const ProfileTime timed(st.profile.get(), &VmProfile::function_ns);
      why = reinterpret_cast<uint32_t (*)(jit_abi::FnFrame*)>(fn.entry)(&f);
    }
    st.stack.truncate(base);
    if (why == jit_abi::kFnReturned) {
      if (f.has_result != 0) st.stack.push_back(value_of(f.result));
      st.ip = call_ip + 1;
      return JitOutcome::Ran;
    }
    ++spec.bails;
    if (record_failed_ || records_.empty()) {
      st.set_error("out of memory", call_ip);
      return JitOutcome::Error;
    }
    // Records come innermost first; frames are pushed outermost first, each returning to
    // the op after its caller's Call.
    uint64_t return_ip = call_ip + 1;
    for (size_t k = records_.size(); k-- > 0;) {
      FrameRecord& r = records_[k];
      Frame& frame = st.frames.push(return_ip, st.stack.size(), FrameKind::Call, CodeSet::kMain);
      while (!r.slots.empty() && r.slots.back().is_undef()) r.slots.pop_back();
      frame.slots.assign(r.slots.begin(), r.slots.end());
      for (Value& v : r.stack) st.stack.push_back(std::move(v));
      return_ip = r.ip + 1;
    }
    const FrameRecord& innermost = records_.front();
    st.ip = resume_ip(st, innermost.ip);
    Engine::get().count_fallback(Tier::Block, "a compiled function bailed out to the interpreter");
    if (innermost.reason == jit_abi::kExitPoll && !st.poll_slow(st.ip)) return JitOutcome::Error;
    return JitOutcome::Ran;
  }

  // Where the interpreter goes on after native code left at `ip`: a jump past the end of
  // the chunk lands on its end (the decoder clamps targets), and so must the ip an
  // interrupt is then reported at.
  static uint64_t resume_ip(const VMState& st, uint64_t ip) { return std::min<uint64_t>(ip, st.chunk.ops.size()); }

  // FnFrame::record: called from native code, so nothing may escape it.
  static void record_frame(void* core, const jit_abi::FnRecord* r) noexcept {
    auto* self = static_cast<VmDriver*>(core);
    try {
      FrameRecord out;
      out.ip = r->ip;
      out.reason = r->reason;
      out.slots.reserve(r->num_slots);
      for (uint32_t k = 0; k < r->num_slots; ++k) out.slots.push_back(value_of(r->slots[k]));
      out.stack.reserve(r->depth);
      for (uint32_t k = 0; k < r->depth; ++k) out.stack.push_back(value_of(r->stack[k]));
      self->records_.push_back(std::move(out));
    } catch (...) {
      self->record_failed_ = true;
    }
  }

  // The entry kinds of the site's slots in `frame`; false when one is not a scalar.
  template <typename Bytes>  // Tags or std::vector<uint8_t>
  static bool entry_tags(const Frame& frame, const VmSite& site, Bytes& tags) {
    tags.assign(site.num_slots, jit_abi::kTagUnused);
    for (uint16_t s : site.slots) {
      const uint8_t tag = s < frame.slots.size() ? frame.slots[s].tag() : Value::kTagUndef;
      if (tag > Value::kTagFloat) return false;
      tags[s] = tag;
    }
    return true;
  }

  // One entry into a kUnitVm, as its call-outs see it (VmUnitFrame::core).
  struct Entry {
    VmDriver* driver = nullptr;
    VMState* st = nullptr;
    const VmSite* site = nullptr;
    const std::vector<uint64_t>* ip_map = nullptr;
    size_t original = 0;        // the frame's slot count before the unit's were added
    size_t stack_at_entry = 0;  // the VM stack's height under the unit's values
    uint64_t taken_at = 0;      // kExitTaken: the unit ip of the call-out that handed over
    uint64_t call_outs = 0;     // call-outs run (for the stats)
    uint64_t memo_at = UINT64_MAX;  // the call-out site seen last (a loop calls the same one)
    uint64_t memo_real = 0;     // its first real op, and one past its last
    uint64_t memo_end = 0;
    uint32_t memo_depth = 0;    // the unit's stack depth after it
    bool memo_builtin = false;  // a lone CallBuiltin, run without the dispatch loop
    Insn memo_insn{};
    bool failed = false;        // kExitTaken: the op ended the run with an error
  };

  JitOutcome enter(VMState& st, const VmSite& site, const jit::Compiled& unit, Tier tier,
                   const std::vector<uint64_t>* ip_map) {
    Entry e{this, &st, &site, ip_map};
    last_stack_base_ = st.stack.size();
    open_frame(st, e);
    const size_t need = std::max<size_t>(unit.max_exit_stack, 1);
    if (need > exit_small_.size() && exit_stack_.size() < need) exit_stack_.resize(need);
    jit_abi::VmUnitFrame uf{};
    uf.slots = reinterpret_cast<jit_abi::AbiValue*>(st.frames.back().slots.data());
    uf.stack = need <= exit_small_.size() ? exit_small_.data() : exit_stack_.data();
    uf.poll = reinterpret_cast<const uint8_t*>(&st.poll);
    uf.core = &e;
    uf.call_out = &VmDriver::call_out;
    Engine::get().count_entry(tier);
    uint32_t why;
    {
      const ProfileTime timed(st.profile.get(), tier == Tier::Linear ? &VmProfile::linear_ns
                                 : tier == Tier::Trace ? &VmProfile::trace_ns
                                                       : &VmProfile::block_ns);
      why = reinterpret_cast<uint32_t (*)(jit_abi::VmUnitFrame*)>(unit.entry)(&uf);
    }
    left_at_header_ = why == jit_abi::kExitLeft;
    last_exit_why_ = why;
    if (e.call_outs != 0) Engine::get().count_call_outs(tier, e.call_outs);
    if (why == jit_abi::kExitTaken) {  // a call-out left the state to the interpreter
      last_trace_ip_ = e.taken_at;
      last_exit_ = st.ip;
      return e.failed ? JitOutcome::Error : JitOutcome::Ran;
    }
    take_state(st, e, uf);
    // A trace's ips are its own: each maps to the running chunk's (past-the-end ones too).
    last_trace_ip_ = uf.resume_ip;
    last_exit_ = ip_map != nullptr && uf.resume_ip < ip_map->size() ? (*ip_map)[uf.resume_ip] : uf.resume_ip;
    st.ip = resume_ip(st, last_exit_);
    // The unit saw the flag at a taken jump and left at its target without acting on it;
    // the interpreter polls after every taken jump, so the poll happens here, at the same ip.
    if (why == jit_abi::kExitPoll && !st.poll_slow(st.ip)) return JitOutcome::Error;
    return JitOutcome::Ran;
  }

  // The frame as a unit takes it: reads past the end give Undef in the interpreter; the
  // unit reads real slots.
  static void open_frame(VMState& st, Entry& e) {
    std::vector<Value>& slots = st.frames.back().slots;
    e.original = slots.size();
    if (e.original < e.site->num_slots) slots.resize(e.site->num_slots);
  }

  // Native code left (an exit, or a call-out at an op) with its state in `uf`: the frame's
  // trailing Undef slots the interpreter would not have created go (they are unobservable,
  // and dropping them keeps frames identical to an interpreted run), the unit's stack goes
  // on the VM's, and a trace's lent slots are settled (globals back, inlined calls made
  // frames) before anything may look at them.
  void take_state(VMState& st, Entry& e, const jit_abi::VmUnitFrame& uf) {
    std::vector<Value>& slots = st.frames.back().slots;
    while (slots.size() > e.original && slots.back().is_undef()) slots.pop_back();
    e.stack_at_entry = st.stack.size();
    for (uint32_t k = 0; k < uf.exit_depth; ++k) st.stack.push_back(value_of(uf.stack[k]));
    if (lent_ != nullptr && lent_->lends()) lent_->settle(uf.resume_ip, e.stack_at_entry);
  }

  static uint32_t call_out(void* core, jit_abi::VmUnitFrame* uf) noexcept {
    auto& e = *static_cast<Entry*>(core);
    return e.driver->run_call_out(*e.st, e, *uf);
  }

  // VmUnitFrame::call_out: the trace's call-out at unit ip uf.resume_ip (a CallBuiltin, or
  // ops on values native code does not hold), run by the interpreter's own code on the
  // state an exit there leaves, so its ops see what they would see interpreted (stack,
  // frames, globals, ip). Native code goes on after it (0) only when the interpreter
  // would go on at the next trace op's ip in the same frame, with the values native code
  // expects; else the interpreter takes over (1).
  uint32_t run_call_out(VMState& st, Entry& e, jit_abi::VmUnitFrame& uf) {
    const uint64_t at = uf.resume_ip;
    take_state(st, e, uf);
    e.taken_at = at;
    if (at != e.memo_at && !memo_call_out(st, e, at)) return 1;
    const uint64_t real = e.memo_real;
    const size_t frames = st.frames.size();
    calling_out_ = true;
    ++e.call_outs;
    bool went_on = false;
    try {
      if (e.memo_builtin) {
        st.ip = real + 1;  // as the dispatch loop has it while an op runs
        const OpStatus status = exec_callout_op(st, *st.vm, e.memo_insn);
        e.failed = status == OpStatus::Error;
        went_on = status == OpStatus::Next && st.ip == real + 1;
      } else {
        // The dispatch loop over the call-out's ops, stopping at the first op of this
        // frame outside them (a handler that jumps stops there too).
        st.ip = real;
        st.stop_lo = real;
        st.stop_hi = e.memo_end;
        st.stop_frames = frames;
        CodeStream& main = st.code.main();
        const ExitReason why = Interp::execute(st, *st.vm, &main, main.at(real));
        st.stop_hi = 0;
        if (why != ExitReason::Stopped && why != ExitReason::Error) {  // its ops cannot end the run
          st.set_error("internal: a trace's call-out ended the run", real);
        }
        e.failed = why != ExitReason::Stopped;
        went_on = !e.failed && st.ip == e.memo_end;
      }
    } catch (const std::bad_alloc&) {
      st.stop_hi = 0;
      st.set_error("out of memory", real);
      e.failed = true;
    } catch (const StringLimitExceeded&) {  // (as VM::run does: nothing may unwind native frames)
      st.stop_hi = 0;
      st.set_limit_error("string size", st.limits.max_string, real);
      e.failed = true;
    }
    calling_out_ = false;
    if (e.failed || !went_on || st.frames.size() != frames || st.stack.size() != e.stack_at_entry + e.memo_depth) {
      return 1;
    }
    for (size_t k = e.stack_at_entry; k < st.stack.size(); ++k) {
      if (st.stack[k].tag() > Value::kTagFloat) return 1;
    }
    // Back into native code: the frame and lent slots as at entry, the unit's stack back.
    if (lent_ != nullptr && lent_->lends() && !lent_->lend()) return 1;
    open_frame(st, e);
    for (size_t k = e.stack_at_entry; k < st.stack.size(); ++k) put_abi(uf.stack[k - e.stack_at_entry], st.stack[k]);
    st.stack.truncate(e.stack_at_entry);
    uf.slots = reinterpret_cast<jit_abi::AbiValue*>(st.frames.back().slots.data());
    return 0;
  }

  // Looks up the call-out at unit ip `at` into e.memo_*: trace synthesis made each one the
  // first of a run of consecutive real ops, followed in the trace by the op after them.
  // False (st.ip where the interpreter goes on) when it is not one this driver made.
  static bool memo_call_out(VMState& st, Entry& e, uint64_t at) {
    const std::vector<uint64_t>* map = e.ip_map;
    const uint64_t real = map != nullptr && at < map->size() ? (*map)[at] : at;
    st.ip = real;  // where the interpreter goes on if this is refused
    const jit_abi::AbiCallOut* c = e.site->call_outs.find(at);
    if (map == nullptr || c == nullptr || at + 1 >= map->size() || real >= st.chunk.ops.size()) return false;
    const uint64_t end = (*map)[at + 1];
    if (end <= real || end > st.chunk.ops.size()) return false;
    e.memo_at = at;
    e.memo_real = real;
    e.memo_end = end;
    e.memo_depth = c->depth;
    const Op& op = st.chunk.ops[real];
    e.memo_builtin = end == real + 1 && op.code() == OpCode::CallBuiltin;
    if (e.memo_builtin) {
      // The op as the dispatch loop has it decoded (operands without Op's generic lookup),
      // or rebuilt when decoding fused it with a neighbour.
      e.memo_insn = *st.code.main().at(real);
      if (e.memo_insn.op != static_cast<uint16_t>(OpCode::CallBuiltin)) {
        e.memo_insn = Insn{};
        e.memo_insn.op = static_cast<uint16_t>(OpCode::CallBuiltin);
        e.memo_insn.a = static_cast<uint16_t>(op.raw_operand(0));
        e.memo_insn.b = static_cast<uint16_t>(op.raw_operand(1));
      }
    }
    return true;
  }

  // A scalar Value as native code holds it, written field by field into `dst`: building a
  // whole AbiValue first and copying it stalled every call-out on a store the copy's wide
  // read could not forward (a third of its time).
  static void put_abi(jit_abi::AbiValue& dst, const Value& v) {
    dst.bits = static_cast<uint64_t>(v.as_int());  // the payload's bits, whatever its kind
    dst.tag = v.tag();
  }

  struct FrameRecord {
    uint64_t ip = 0;
    uint32_t reason = 0;
    std::vector<Value> slots, stack;
  };

  // -- The tracing tier -------------------------------------------------------------------

  // A recorded lap as its chunk, and the site (kind specialisations) compiled from it.
  struct TraceCode {
    std::shared_ptr<const jit::TraceTree> tree;  // the lap, then side paths, and their chunk
    Site site;
    struct ExitStat {
      uint32_t count = 0;  // times the trace left there (side exits)
      bool dead = false;   // recording a side path from it failed
      uint64_t taken = 0;  // times it was taken (--dump=trace only)
    };
    // Per exit of the trace, sized on first use: most entries leave by the loop's own
    // exit, which counts nothing unless traces are dumped.
    std::vector<ExitStat> exits;
    ExitStat& exit(size_t k) {
      if (exits.empty()) exits.resize(tree->trace.exits.size());
      return exits[k];
    }
    uint64_t entered = 0;
    bool stored = false;  // its tree is in the process's store (store_trace_of)
  };

  // Per loop header: its trace, or how often recording failed there.
  struct TraceSite {
    std::shared_ptr<TraceCode> code;
    uint32_t tries = 0;       // recordings aborted or traces given up
    uint32_t side_exits = 0;  // exits of the current trace other than the loop's own
    bool off = false;         // tries used up: the loop stays interpreted
  };

  static std::shared_ptr<TraceCode> make_trace_code(std::shared_ptr<const jit::TraceTree> tree) {
    auto code = std::make_shared<TraceCode>();
    code->tree = std::move(tree);
    code->site.resolved = true;
    code->site.site = &code->tree->trace.site;
    return code;
  }

  // The trace trees the process already has for this chunk (another VM's, or imported),
  // entered at their loop's next backedge instead of being recorded again; a tree stored
  // with its compiled unit is entered without looking the unit up.
  void adopt_stored_traces(const Chunk& chunk) {
    stored_ = jit::traces_for_vm(chunk, lowered_);
    for (const jit::ReadyTrace& r : stored_->ready) {
      if (Engine::get().dump_traces()) {
        std::fputs(("stored " + jit::describe_trace(r.anchor, r.tree->paths, r.tree->trace)).c_str(), stderr);
      }
      TraceSite& site = traces_[r.anchor];
      site.code = make_trace_code(r.tree);
      site.code->stored = true;
      if (r.unit != nullptr) site.code->site.specs.push_back(Spec{Tags(r.tags.begin(), r.tags.end()), r.unit});
      backedge_counter(r.anchor) = kAgainNow;
    }
    for (const std::string& why : stored_->refused) Engine::get().count_fallback(Tier::Trace, "stored trace not used: " + why);
  }

  // Loops the process gave up (or an embedder aborted) when this VM started stay
  // interpreted here too, once they are the tracing tier's (trace_entry).
  bool disabled(uint64_t anchor) const {
    return stored_ != nullptr && std::binary_search(stored_->disabled.begin(), stored_->disabled.end(), anchor);
  }

  // The first time the trace at `anchor` runs: its tree goes to the process's store (for
  // other VMs and JitCompiler::trace_export), with the slot kinds it was entered with and
  // the unit compiled for them.
  void store_trace_of(const VMState& st, uint64_t anchor, TraceCode& code, std::vector<uint8_t> tags,
                      std::span<const SlotKind> frame_kinds) {
    code.stored = true;
    if (st.chunk.op_hash == 0) return;  // a hand-built chunk: no key
    std::shared_ptr<jit::VmUnit> unit;
    for (const Spec& spec : code.site.specs) {
      if (std::equal(spec.tags.begin(), spec.tags.end(), tags.begin(), tags.end())) unit = spec.unit;
    }
    TraceMetadata meta = jit::trace_metadata(st.chunk, anchor, code.tree->paths, code.tree->trace, tags, frame_kinds);
    jit::store_trace(jit::StoredTrace{std::move(meta), code.tree, lowered_.list, std::move(tags), std::move(unit)},
                     /*explicit_install=*/false);
  }

  // --dump=trace: how the trace at `anchor` was used, when it goes (replaced or the VM ends).
  static void report_trace(uint64_t anchor, const TraceSite& t) {
    if (!t.code) return;
    std::string line = "trace at ip " + std::to_string(anchor) + ": entered " + std::to_string(t.code->entered);
    for (size_t k = 0; k < t.code->exits.size(); ++k) {
      if (t.code->exits[k].taken == 0) continue;
      line += ", exit " + std::to_string(k) + " (ip " + std::to_string(t.code->tree->trace.exits[k].real) + ") x " +
              std::to_string(t.code->exits[k].taken);
    }
    std::fputs((line + "\n").c_str(), stderr);
  }

  bool trace_on() const { return has_tiers(options_.tiers, JitTiers::Trace); }

  // Backedges until the next recording after `tries` failures: the threshold, times
  // retry_backoff per failure.
  int32_t threshold_after(uint32_t tries) const {
    int64_t n = std::max<uint32_t>(options_.trace.trace_threshold, 1);
    for (uint32_t k = 0; k < tries && n < (int64_t{1} << 30); ++k) n *= std::max<uint32_t>(options_.trace.retry_backoff, 1);
    return static_cast<int32_t>(std::min<int64_t>(n, int64_t{1} << 30));
  }

  // A recording aborted or a trace was given up at `anchor`, for `reason`: try again
  // later (backing off), or never once abort_retries are used up.
  void give_up(TraceSite& t, uint64_t anchor, const std::string& reason) {
    Engine::get().count_fallback(Tier::Trace, reason);
    if (Engine::get().dump_traces()) report_trace(anchor, t);
    t.code.reset();
    ++t.tries;
    t.off = t.tries > options_.trace.abort_retries;
    if (t.off && op_hash_ != 0) jit::note_blacklisted(op_hash_, anchor);
    backedge_counter(anchor) = t.off ? kNever : -threshold_after(t.tries);
  }

  // The backedge to the loop header st.ip: enter its trace, or count toward recording one.
  JitOutcome trace_entry(VMState& st) {
    const uint64_t anchor = st.ip;
    TraceSite& t = traces_[anchor];
    int32_t& counter = backedge_counter(anchor);
    if (!t.off && disabled(anchor)) {
      t.code.reset();
      t.off = true;
    }
    if (t.off) {
      counter = kNever;
      return JitOutcome::Interpret;
    }
    if (!t.code) {  // due: record the next lap
      rec_ = jit::TraceRecording::lap(anchor, latch_of(st.chunk, anchor).value_or(anchor), st.frames.size(), st.stack.size());
      st.recording = true;
      counter = kAgainSoon;
      return JitOutcome::Record;
    }
    std::shared_ptr<TraceCode> code = t.code;  // give_up() below may drop it
    if (st.frames.empty()) return JitOutcome::Interpret;
    const jit::SyntheticTrace& trace = code->tree->trace;
    // The interpreter refuses a Call once frames + active blocks reach the limit: a trace
    // that inlines calls is entered only with room for all of them.
    if (st.frames.size() + st.block_depth + trace.max_inline_depth > st.limits.max_call_depth) {
      counter = kAgainLater;
      return JitOutcome::Interpret;
    }
    LentSlots lent(st, trace);
    if (!lent.usable) {  // the embedder shrank the globals: the interpreter's reads it is
      counter = kAgainLater;
      return JitOutcome::Interpret;
    }
    // Kinds at entry, before the trace changes them: what the stored tree says it takes.
    std::vector<uint8_t> entry_kinds;
    const bool store_now = !code->stored && entry_tags(st.frames.back(), trace.site, entry_kinds);
    std::vector<SlotKind> frame_kinds;
    if (store_now) {
      for (const Value& v : st.frames.back().slots) frame_kinds.push_back(slot_kind_of(v.kind()));
    }
    lent_ = &lent;  // enter() settles it between leaving native code and polling
    const JitOutcome o =
        visit_code(st, trace.chunk, code->site, jit_abi::kVmTierBlock, Tier::Trace, true, &trace.real_ip);
    lent_ = nullptr;
    lent.cancel();  // (nothing left to do when enter() settled it)
    counter = o == JitOutcome::Ran ? kAgainNow : code->site.next_counter;
    if (o != JitOutcome::Ran) return o;
    if (store_now) store_trace_of(st, anchor, *code, std::move(entry_kinds), frame_kinds);
    // A side exit: the trace left inside the loop. At a guard that gets hot, the path from
    // there is recorded and joins the tree; other exits (an op left to the interpreter, a
    // guard whose path could not be recorded, a full tree) count, and too many drop the
    // trace (to be recorded again later).
    // The exit the trace left by (trace ips past its end), or none (an op it left to the
    // interpreter).
    const uint64_t n = code->tree->trace.chunk.ops.size();
    const bool at_exit = last_trace_ip_ >= n && last_trace_ip_ - n < code->tree->trace.exits.size();
    const size_t k = at_exit ? last_trace_ip_ - n : 0;
    if (at_exit && Engine::get().dump_traces()) ++code->exit(k).taken;
    ++code->entered;
    if (last_exit_why_ == jit_abi::kExitPoll || code->tree->trace.leaves_loop_at(last_trace_ip_)) return o;
    if (at_exit && !code->exit(k).dead && code->tree->paths.size() <= max_side_paths()) {
      if (++code->exit(k).count < side_threshold()) return o;
      const jit::TraceExit& e = code->tree->trace.exits[k];
      // Left inside inlined calls, the interpreter now runs in their frames: the recording
      // goes on inside them, over the loop's frame.
      const auto& calls = code->tree->trace.chains[code->tree->trace.chain_of[last_trace_ip_]];
      rec_ = jit::TraceRecording::side(anchor, latch_of(st.chunk, anchor).value_or(anchor), st.frames.size() - calls.size(), last_stack_base_,
                                       code->tree->paths, jit::TracePos{e.path, e.pos});
      for (const jit::InlineFrame& f : calls) rec_.inline_calls.push_back(f.return_ip - 1);
      rec_.prev_ip = code->tree->paths[static_cast<size_t>(e.path)].ips[e.pos];
      side_exit_ = static_cast<int32_t>(k);
      st.recording = true;
      counter = kAgainSoon;
      return JitOutcome::Record;
    }
    if (op_hash_ != 0) jit::note_side_exit(op_hash_, anchor, /*blacklist_at=*/0);
    if (++t.side_exits >= std::max<uint32_t>(options_.trace.max_side_exits, 1)) {
      give_up(t, anchor, "trace given up: " + std::to_string(t.side_exits) + " side exits");
    }
    return o;
  }

  // The frame's slots past the trace's own, lent to it for one entry: the inlined calls'
  // slots (Undef, as a new frame's) and the global variables (SyntheticTrace::globals). The
  // trace never names them as the frame's, so borrowing them is invisible: the frame's own
  // values there are saved and given back. After the run (settle), the globals are stored
  // back, and the calls the trace was inside where it left become interpreter frames
  // (deopt as data: SyntheticTrace::chains) before anything may look at the frames.
  struct LentSlots {
    LentSlots(VMState& st, const jit::SyntheticTrace& trace) : st_(st), trace_(trace) {
      begin_ = trace.lent_base;
      end_ = trace.global_base + trace.globals.size();
      usable = lend();
    }
    // Lends the slots (again, after a call-out settled them); false when the globals the
    // trace uses are no longer all there.
    bool lend() {
      if (end_ == begin_) return true;
      for (uint16_t g : trace_.globals) {
        if (g >= st_.globals.size()) return false;
      }
      loop_ = st_.frames.size() - 1;
      std::vector<Value>& slots = st_.frames[loop_].slots;
      before_ = slots.size();
      if (slots.size() < end_) slots.resize(end_);
      saved_.clear();
      saved_.reserve(end_ - begin_);
      for (size_t k = begin_; k < end_; ++k) {
        saved_.push_back(std::move(slots[k]));
        slots[k] = Value();  // an inlined call's slots start as a new frame's
      }
      for (size_t k = 0; k < trace_.globals.size(); ++k) slots[trace_.global_base + k] = st_.globals[trace_.globals[k]];
      active_ = true;
      return true;
    }
    // After native code left at trace ip `trace_ip` with its stack pushed above `stack_at_entry`.
    void settle(uint64_t trace_ip, size_t stack_at_entry) {
      if (!active_) return;
      active_ = false;
      std::vector<Value>* slots = &st_.frames[loop_].slots;
      for (size_t k = 0; k < trace_.globals.size(); ++k) {
        st_.globals[trace_.globals[k]] = std::move((*slots)[trace_.global_base + k]);
      }
      const uint32_t chain = trace_ip < trace_.chain_of.size() ? trace_.chain_of[trace_ip] : 0;
      for (const jit::InlineFrame& f : trace_.chains[chain]) {
        std::vector<Value> own;
        own.reserve(f.slot_count);
        for (uint32_t k = 0; k < f.slot_count; ++k) own.push_back(std::move((*slots)[f.slot_base + k]));
        while (!own.empty() && own.back().is_undef()) own.pop_back();
        Frame& callee = st_.frames.push(f.return_ip, stack_at_entry + f.stack_base, FrameKind::Call, CodeSet::kMain);
        callee.slots.assign(std::make_move_iterator(own.begin()), std::make_move_iterator(own.end()));
        slots = &st_.frames[loop_].slots;  // the push may have moved the frames
      }
      give_back(*slots);
    }
    // The run did not enter native code: only the frame's values go back.
    void cancel() {
      if (!active_) return;
      active_ = false;
      give_back(st_.frames[loop_].slots);
    }
    bool usable = true;
    /// The trace borrows slots at all (globals, inlined calls' slots).
    bool lends() const { return end_ != begin_; }

   private:
    void give_back(std::vector<Value>& slots) {
      for (size_t k = begin_; k < end_; ++k) slots[k] = std::move(saved_[k - begin_]);
      // Slots past the frame's own end that only the lent ones used go again; slots the
      // trace itself wrote there stay (as the interpreter makes them).
      while (slots.size() > before_ && slots.back().is_undef()) slots.pop_back();
    }
    VMState& st_;
    const jit::SyntheticTrace& trace_;
    std::vector<Value> saved_;
    size_t loop_ = 0;
    size_t before_ = 0;
    size_t begin_ = 0;
    size_t end_ = 0;
    bool active_ = false;
  };

  // The last backward jump to `header` (the loop's extent ends there), if any. Built on
  // first use (a unit leaving at a loop header, or a recording), not with the VM: a new VM
  // that only enters stored traces never needs it.
  std::optional<uint64_t> latch_of(const Chunk& chunk, uint64_t header) {
    if (!backedges_built_) {
      backedges_built_ = true;
      for (uint64_t ip = 0; ip < chunk.ops.size(); ++ip) {
        const Op& op = chunk.ops[ip];
        if (op.has_target() && op.target() <= ip) backedge_from_.emplace_back(op.target(), ip);
      }
      // By header, the last backward jump first: lower_bound finds it.
      std::sort(backedge_from_.begin(), backedge_from_.end(),
                [](const auto& a, const auto& b) { return a.first != b.first ? a.first < b.first : a.second > b.second; });
    }
    const auto it = std::lower_bound(backedge_from_.begin(), backedge_from_.end(), header,
                                     [](const auto& e, uint64_t h) { return e.first < h; });
    if (it == backedge_from_.end() || it->first != header) return std::nullopt;
    return it->second;
  }

  // Side exits at one guard before the path from it is recorded; fewer than the exits that
  // drop a trace, so a branch that flips gets its path first.
  uint32_t side_threshold() const {
    const uint32_t half = std::max<uint32_t>(options_.trace.max_side_exits / 2, 1);
    return std::min(std::max<uint32_t>(options_.trace.trace_threshold, 1), half);
  }
  // Side paths one tree may hold.
  size_t max_side_paths() const { return std::max<size_t>(options_.trace.max_trace_chain, 1) * 4; }

  // Recording the path from a side exit failed: that guard keeps leaving (and counting).
  void side_path_failed(TraceSite& t, const std::string& reason) {
    Engine::get().count_fallback(Tier::Trace, "side path: " + reason);
    if (t.code && side_exit_ >= 0 && static_cast<size_t>(side_exit_) < t.code->tree->trace.exits.size()) {
      t.code->exit(static_cast<size_t>(side_exit_)).dead = true;
    }
    side_exit_ = -1;
    backedge_counter(rec_.anchor) = kAgainNow;
  }

  JitOptions options_;
  jit::Lowerings lowered_;  // the chunk's Extended ops native code runs itself
  uint64_t op_hash_;        // the chunk's key in the trace store (0: none)
  std::shared_ptr<const jit::ChunkTraces> stored_;  // the store's traces when the VM started
  Site chunk_site_;
  std::unordered_map<uint64_t, Site> loops_;
  std::unordered_map<uint64_t, CallSite> calls_;
  std::vector<FrameRecord> records_;  // one bail-out's frames, innermost first
  bool kinds_refused_ = false;  // the last visit_code found a slot of a kind no unit takes
  std::vector<std::pair<uint64_t, uint64_t>> backedge_from_;  // (loop header, backward jump): latch_of
  bool backedges_built_ = false;
  bool left_at_header_ = false;  // the last unit left through kExitLeft (see chain())
  LentSlots* lent_ = nullptr;     // the running trace's lent slots (trace_entry -> enter)
  bool calling_out_ = false;      // a call-out is running an op: no native entries meanwhile
  uint64_t last_exit_ = 0;        // the (running chunk's) ip where the last unit left
  uint64_t last_trace_ip_ = 0;    // the same, as the unit's own ip (a trace's exit number)
  int32_t side_exit_ = -1;        // the recording in progress starts at this exit of its trace
  uint32_t last_exit_why_ = 0;    // and why (VmExit)
  size_t last_stack_base_ = 0;    // the value stack's height when native code was entered last
  // By loop header. A std::map: one allocation per loop and none up front (a new VM
  // adopting one stored trace pays for one node), and references stay valid as loops are
  // added (trace_entry holds one across native code).
  std::map<uint64_t, TraceSite> traces_;
  jit::TraceRecording rec_;       // the recording in progress (st.recording)
  bool record_failed_ = false;
  // Native code's stack at an exit or call-out (VmUnitFrame::stack): in place when small.
  std::array<jit_abi::AbiValue, 8> exit_small_{};
  std::vector<jit_abi::AbiValue> exit_stack_;
};

}  // namespace

std::unique_ptr<JitHook> make_jit_hook(const Chunk& chunk, const JitOptions& options) {
  return std::make_unique<VmDriver>(chunk, options);
}

}  // namespace fusevm
