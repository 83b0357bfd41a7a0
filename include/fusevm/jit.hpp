// The JIT's public face (spec/jit.md §1, ARCHITECTURE §7, §9): the reference's direct
// tier APIs and the engine's statistics. No LLVM type appears here; all LLVM code lives
// in a plugin (libfusevm_jit.so) that the core loads the first time code is compiled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fusevm/chunk.hpp"
#include "fusevm/deopt.hpp"
#include "fusevm/trace_metadata.hpp"
#include "fusevm/value.hpp"
#include "fusevm/vm.hpp"

namespace fusevm {

/// The kinds a lowered extension op's C function takes and returns (the numbers are the
/// Value tags). C types: Bool `bool`, Int `int64_t`, Float `double`.
enum class JitKind : uint8_t { Bool = 1, Int = 2, Float = 3 };

/// How native code runs one `Extended` op itself, by calling a C function (beyond the
/// reference, whose JitExtension has no codegen hook: spec/jit.md §1.3). The function is
/// `extern "C" R f(int64_t arg, A0 a0, A1 a1, ...)`: first the op's u8 `arg` operand, then
/// the operands it pops, bottom first; it returns the value it pushes (or void). It must
/// not throw, must not call into the VM, and must compute what the VM's extension handler
/// computes for the same operands: native code calls it when the top `args.size()` values
/// have exactly these kinds and leaves the op to the interpreter (the handler) otherwise.
struct JitLowering {
  std::string symbol;             ///< the function's name (dumps and reasons)
  void* address = nullptr;        ///< the function
  std::vector<JitKind> args;      ///< the operands it pops, bottom first (at most 6)
  std::optional<JitKind> result;  ///< the kind of the value it pushes; none: pushes nothing
};

/// A frontend's statement of which of its Extended/ExtendedWide ids the JIT may handle
/// (spec/jit.md §1.3). Implementations must be thread-safe.
class JitExtension {
 public:
  virtual ~JitExtension();
  /// True if extension op `ext_id` may appear in compiled code.
  virtual bool can_jit(uint16_t ext_id) const = 0;
  /// Number of extension ops the frontend defines.
  virtual size_t op_count() const = 0;
  /// A name for logs and statistics.
  virtual std::string name() const = 0;
  /// How native code may run `Extended` op `ext_id` (VM-driven tiers and compiled
  /// functions; pass the extension in JitOptions::extensions), or nullopt: the
  /// interpreter runs it. `ExtendedWide` ops always run in the interpreter.
  virtual std::optional<JitLowering> lower(uint16_t ext_id) const {
    (void)ext_id;
    return std::nullopt;
  }
};

/// What JitCompiler::set_dump prints: each compiled unit's LLVM IR or machine code, or
/// each trace (its recorded paths, its ops with their ips, its exits, and when the VM
/// goes, how often it was entered and left by each exit).
enum class JitDump : uint8_t { None, Llvm, Asm, Trace };

/// spec/jit.md §1.4: an opaque placeholder type the reference exports and never
/// constructs, kept for parity.
struct NativeCode {};

/// Per-tier counters of the process's JIT engine.
struct JitTierStats {
  uint64_t compiled = 0;        ///< units compiled successfully
  uint64_t cached = 0;          ///< units loaded from the on-disk object cache instead
  uint64_t failed = 0;          ///< compile attempts that failed (each reason counted below)
  uint64_t entered = 0;         ///< native entries
  /// Call-outs native code had the core run (tracing tier: builtins, ops on Str/Array/Hash values).
  uint64_t call_outs = 0;
  uint64_t fell_back = 0;       ///< calls that returned "interpret it yourself"
  uint64_t compile_ns = 0;      ///< time spent compiling, in the plugin
  std::vector<std::pair<std::string, uint64_t>> reasons;  ///< failure/fallback reason -> count
};

/// Counters of the process's JIT engine.
struct JitStats {
  bool available = false;       ///< the plugin is loaded (or loadable)
  std::string unavailable_reason;  ///< why not, when !available
  JitTierStats linear;          ///< linear tier
  JitTierStats block;           ///< block tier
  JitTierStats trace;           ///< tracing tier (reasons include why recordings aborted)
};

/// The JIT's entry points. Caches and statistics belong to one process-wide engine (all
/// JitCompiler objects share them, ARCHITECTURE §9 "Threads"); the per-instance state is
/// the list of registered extensions. Every method is safe to call from any thread;
/// direct `try_run_*` calls block until their code is compiled.
class JitCompiler {
 public:
  /// No extensions.
  JitCompiler();
  ~JitCompiler();
  JitCompiler(JitCompiler&&) noexcept;
  JitCompiler& operator=(JitCompiler&&) noexcept;

  /// Add an extension; it only widens is_eligible() (spec/jit.md §1.3).
  void register_extension(std::unique_ptr<JitExtension> extension);
  /// True iff every op is in the reference's "universal" set or is an Extended/
  /// ExtendedWide id some registered extension accepts (true for an empty chunk). Does
  /// not predict whether a tier compiles the chunk.
  bool is_eligible(const Chunk& chunk) const;

  /// True if the plugin can be (or has been) loaded, so compiling is possible.
  static bool available();
  /// Why available() is false (empty when it is true).
  static std::string unavailable_reason();

  /// spec/jit.md §2.2: the chunk is straight-line code the linear tier accepts.
  bool is_linear_eligible(const Chunk& chunk) const;
  /// spec/jit.md §2: compile on first call (cached by op_hash, ops and constants compared
  /// on every hit), run with `slots`, and return Int or Float with the reference's
  /// typing (comparisons give Int 0/1; integer Pow gives Int). nullopt if the chunk is
  /// not eligible, if `slots` is shorter than the highest slot referenced + 1, if the
  /// JIT is unavailable, or if compilation fails. Slot ops read and write `slots`.
  std::optional<Value> try_run_linear(const Chunk& chunk, std::span<int64_t> slots);

  /// spec/jit.md §3.1: non-empty and every op in the block tier's 46-op set.
  bool is_block_eligible(const Chunk& chunk) const;
  /// spec/jit.md §3.6: calls 1..10 per chunk warm up (nullopt), call 11 compiles and runs.
  /// The result is the top of the final stack truncated to i64 (0 if empty); slots
  /// referenced are written back. nullopt during warm-up, when ineligible, when a compile
  /// failed (failures are cached, not retried), when `slots` is too short, or when the
  /// code bailed out (integer division by zero: `slots` untouched).
  std::optional<int64_t> try_run_block(const Chunk& chunk, std::span<int64_t> slots);
  /// try_run_block with threshold 0 (compiles on the first call); shares the cache entry.
  std::optional<int64_t> try_run_block_eager(const Chunk& chunk, std::span<int64_t> slots);
  /// spec/jit.md §3.8: the longest run (>= 4) of block-eligible ops whose jumps stay
  /// inside it, as [start, end); nullopt if the longest run has an escaping jump.
  std::optional<std::pair<size_t, size_t>> find_jit_region(const Chunk& chunk) const;
  /// spec/jit.md §3.8: ops[start, end) as a chunk with jump targets rebased, the full
  /// constant and name pools, lines[start, end), the same source and a fresh op_hash.
  Chunk extract_region(const Chunk& chunk, size_t start, size_t end) const;

  /// spec/jit.md §4.13: the trace tree at `anchor_ip` (a loop header) of `chunk`, as a VM
  /// compiled it or trace_import() installed it, side paths included; nullopt if there is
  /// none. Trees are kept per process by (chunk.op_hash, anchor), like compiled code.
  std::optional<TraceMetadata> trace_export(const Chunk& chunk, size_t anchor_ip) const;
  /// Every trace tree of `chunk`, by anchor.
  std::vector<TraceMetadata> trace_export_all(const Chunk& chunk) const;
  /// Install `meta` as the trace tree at meta.anchor_ip of `chunk` and compile it for the
  /// slot kinds it names (blocking); VMs created on the chunk afterwards enter it at the
  /// loop's first backedge instead of recording. Nothing is trusted: the hash, every op
  /// and ip, the paths' control flow and the kinds are checked against `chunk` first
  /// (the reference's quirks Q10, Q11). False, with the reason in `why` when given, if a
  /// check or the compile fails or the JIT is unavailable; an existing tree is then kept.
  bool trace_import(const Chunk& chunk, const TraceMetadata& meta, std::string* why = nullptr);
  /// trace_import() of each; the number that succeeded.
  size_t trace_import_all(const Chunk& chunk, std::span<const TraceMetadata> metas);

  // -- The reference's direct trace API (spec/jit.md §1.2, §4), on the process's trees ---
  //
  // Keys are (chunk.op_hash, loop header); a chunk without an op_hash (built by hand, not
  // by ChunkBuilder) has no key, so these report nothing for it and installs fail.

  /// spec/jit.md §4.5 without a chunk: true if `ops` could be a recorded lap closing at
  /// `anchor_ip`: at most get_config().max_trace_len ops a trace may hold (Extended ops
  /// only with a registered extension that lowers them), calls and returns balanced and
  /// at most 4 deep, the last op a jump to the anchor in the loop's frame and no plain
  /// Jump there before it. Adapted: inner loops, builtins outside inlined calls, ops on
  /// Str/Array/Hash values and others a call-out runs in the loop's frame (Concat,
  /// MakeArray, HashGet, Print, ...), and a conditional jump to the anchor that the lap
  /// did not take are accepted (this tier runs them); the Keep jumps are not (traces do
  /// not hold them).
  bool is_trace_eligible(std::span<const Op> ops, size_t anchor_ip, std::string* why = nullptr) const;
  /// trace_import() of a tree with the one path `ops`/`recorded_ips` (spec/jit.md §4.6):
  /// checked against the chunk, compiled for `kinds` (blocking), and entered by VMs
  /// created on the chunk afterwards; clears the key's counters and flags (Q12 fixed).
  bool trace_install(const Chunk& chunk, size_t anchor_ip, size_t fallthrough_ip, std::span<const Op> ops,
                     std::span<const size_t> recorded_ips, std::span<const SlotKind> kinds,
                     std::string* why = nullptr);
  /// Marks the key aborted (VMs created afterwards keep the loop out of the tracing tier);
  /// nothing if the key has neither a tree nor counters.
  void trace_abort(const Chunk& chunk, size_t anchor_ip);
  /// The key has a tree with compiled code (flags aside).
  bool trace_is_compiled(const Chunk& chunk, size_t anchor_ip) const;
  /// A VM gave the loop up for good (its abort_retries used up), trace_bump_side_exit
  /// reached max_side_exits, or trace_abort() was called; VMs created afterwards keep the
  /// loop out of the tracing tier (the block tier, when on, may still compile it).
  bool trace_is_blacklisted(const Chunk& chunk, size_t anchor_ip) const;
  /// Exits from the key's tree that no side path took, summed over the process's VMs
  /// since the last install; 0 without a key.
  uint32_t trace_side_exit_count(const Chunk& chunk, size_t anchor_ip) const;
  /// One more side exit at the key (saturating); at get_config().max_side_exits the key
  /// is blacklisted. Nothing without a key.
  void trace_bump_side_exit(const Chunk& chunk, size_t anchor_ip);
  /// (loop header, fallthrough) of the key's tree; nullopt without one.
  std::optional<std::pair<size_t, size_t>> trace_loop_anchors(const Chunk& chunk, size_t anchor_ip) const;
  /// spec/jit.md §4.6 for a side trace: recorded from `record_anchor` (where a guard of the
  /// trace at `close_anchor` leaves) back to `close_anchor`; it becomes a side path of that
  /// tree (never a main trace: quirk Q10), checked and compiled as trace_import does. With
  /// record_anchor == close_anchor, trace_install. False, with `why`, when there is no tree
  /// at close_anchor, none of its guards leaves to record_anchor, or that guard already
  /// has a side path.
  bool trace_install_with_kind(const Chunk& chunk, size_t record_anchor, size_t close_anchor, size_t fallthrough_ip,
                               std::span<const Op> ops, std::span<const size_t> recorded_ips,
                               std::span<const SlotKind> kinds, std::string* why = nullptr);
  /// spec/jit.md §4.2 on raw slots (deopt.hpp): with a compiled tree at the key, checks the
  /// entry guard (each slot the trace reads in the loop's frame has the kind it was
  /// compiled for, from `kinds`; missing kinds are Int) and runs it on `slots` (payloads:
  /// a Float's bits, a Bool 0/1), writes those slots back and fills `deopt` (the resume ip,
  /// inlined frames with their stack bases and slot kinds, the stack with kinds); without
  /// one, counts the lookup toward get_config().trace_threshold (NotHot, then
  /// StartRecording until something is installed or aborted). Five guard mismatches
  /// blacklist the key. Skip for an aborted or blacklisted key, without the JIT, and for
  /// trees that need a VM (globals, call-outs: builtins, Str/Array/Hash values) or more
  /// room than DeoptInfo has.
  TraceLookup trace_lookup(const Chunk& chunk, size_t anchor_ip, std::span<int64_t> slots,
                           std::span<const SlotKind> kinds, DeoptInfo& deopt);
  /// trace_lookup's entry-guard mismatches at the key since the last install.
  uint32_t trace_deopt_count(const Chunk& chunk, size_t anchor_ip) const;
  /// The calling thread's max_trace_len.
  static size_t trace_max_len();
  /// The highest slot index a trace may name: every u16 slot operand (the reference's 64
  /// was the size of its snapshot buffers).
  static uint16_t trace_max_slot();
  /// The calling thread's tracing configuration: VM::enable_tracing_jit() takes it (a VM
  /// enabled with enable_jit(JitOptions) takes options.trace instead); set_config
  /// replaces it for VMs enabled afterwards. Defaults: TraceJitConfig{}.
  static void set_config(const TraceJitConfig& config);
  static TraceJitConfig get_config();

  /// A snapshot of the engine's counters.
  static JitStats stats();
  /// Block until every compile the VMs queued has finished (their units are then ready
  /// or failed; VM-initiated compiles are otherwise asynchronous).
  static void wait_idle();
  /// Print what every later VM-driven compile produces to stderr: the optimised LLVM IR
  /// or the machine code (`fusevm run --dump=llvm|asm`).
  static void set_dump(JitDump what);
  /// Drop every cached unit and counter and free their code (tests only: no compiled
  /// function may be running).
  static void reset();

 private:
  std::vector<std::unique_ptr<JitExtension>> extensions_;
};

}  // namespace fusevm
