// VM: the interpreter and its embedding API (spec/chunk-and-vm.md §3–8, ARCHITECTURE §9).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/chunk.hpp"
#include "fusevm/error.hpp"
#include "fusevm/op.hpp"
#include "fusevm/value.hpp"

namespace fusevm {

class VM;
class ShellHost;
class JitExtension;
struct VMState;

/// Outcome of VM::run(): Ok(value), Halted (ended with an empty stack) or Error.
class VMResult {
 public:
  /// Which outcome.
  enum class Kind : uint8_t { Ok, Halted, Error };
  /// The run ended and produced `v` (the popped top of stack, or ReturnValue's value).
  static VMResult Ok(Value v) { VMResult r(Kind::Ok); r.value_ = std::move(v); return r; }
  /// The run ended with an empty stack.
  static VMResult Halted() { return VMResult(Kind::Halted); }
  /// The run failed.
  static VMResult Error(RuntimeError e) {
    VMResult r(Kind::Error);
    r.error_ = std::make_shared<RuntimeError>(std::move(e));
    return r;
  }
  /// Which outcome.
  Kind kind() const { return kind_; }
  /// True for Ok.
  bool is_ok() const { return kind_ == Kind::Ok; }
  /// True for Halted.
  bool is_halted() const { return kind_ == Kind::Halted; }
  /// True for Error.
  bool is_error() const { return kind_ == Kind::Error; }
  /// The Ok value (Undef for other outcomes).
  const Value& value() const { return value_; }
  /// The error (precondition: is_error()).
  const RuntimeError& error() const { return *error_; }
  /// "Ok(Int(42))", "Halted" or "Error(message)".
  std::string repr() const;

 private:
  explicit VMResult(Kind k) : kind_(k) {}
  Kind kind_;
  Value value_;
  std::shared_ptr<RuntimeError> error_;
};

/// What created a frame; decides what Return unwinds to.
enum class FrameKind : uint8_t {
  Main,   ///< the implicit frame a VM starts with
  Scope,  ///< PushFrame
  Call,   ///< Call, Exec or CallFunction of an in-chunk sub, or VM::call
};

/// One activation: where to return, where its stack region starts, and its slots.
struct Frame {
  uint64_t return_ip = 0;    ///< op index to continue at after Return
  uint64_t stack_base = 0;   ///< stack height the frame's region starts at
  std::vector<Value> slots;  ///< slot variables (reads past the end give Undef; a reused
                             ///< frame may start with Undef slots already present)
  FrameKind kind = FrameKind::Call;  ///< what created the frame
  uint32_t return_code = 0;  ///< internal: which code stream return_ip belongs to
};

/// The value stack: a vector-like view of the VM's contiguous stack.
class ValueStack {
 public:
  ValueStack() = default;
  ValueStack(const ValueStack&) = delete;
  ValueStack& operator=(const ValueStack&) = delete;
  ~ValueStack();
  /// Number of values.
  size_t size() const { return static_cast<size_t>(top_ - base_); }
  /// True if empty.
  bool empty() const { return top_ == base_; }
  /// Element i (0 = bottom).
  Value& operator[](size_t i) { return base_[i]; }
  /// Element i (0 = bottom).
  const Value& operator[](size_t i) const { return base_[i]; }
  /// Top value (precondition: non-empty).
  Value& back() { return top_[-1]; }
  /// Top value (precondition: non-empty).
  const Value& back() const { return top_[-1]; }
  /// Push a value.
  void push_back(Value v) {
    if (top_ == cap_) grow(size() + 1);
    new (top_++) Value(std::move(v));
  }
  /// Remove the top value (no-op when empty).
  void pop_back() {
    if (top_ != base_) (--top_)->~Value();
  }
  /// Shrink to n values (no-op if already smaller).
  void truncate(size_t n) {
    Value* t = base_ + n;
    while (top_ > t) (--top_)->~Value();
  }
  /// Resize, filling with Undef.
  void resize(size_t n);
  /// Remove every value.
  void clear() { truncate(0); }
  /// First value.
  Value* begin() { return base_; }
  /// One past the top.
  Value* end() { return top_; }
  /// First value.
  const Value* begin() const { return base_; }
  /// One past the top.
  const Value* end() const { return top_; }
  /// Copy of the contents, bottom first.
  std::vector<Value> to_vector() const { return std::vector<Value>(begin(), end()); }
  /// Make room for at least n values.
  void reserve(size_t n) {
    if (static_cast<size_t>(cap_ - base_) < n) grow(n);
  }

 private:
  friend class VM;
  friend struct VMState;
  friend class Interp;
  void grow(size_t need);
  Value* base_ = nullptr;
  Value* top_ = nullptr;
  Value* cap_ = nullptr;
};

/// The frame stack. Popped frames keep their slot capacity for reuse, so steady-state
/// calls allocate nothing.
class FrameStack {
 public:
  /// Number of live frames.
  size_t size() const { return size_; }
  /// True if no frame is live.
  bool empty() const { return size_ == 0; }
  /// Frame i (0 = bottom).
  Frame& operator[](size_t i) { return frames_[i]; }
  /// Frame i (0 = bottom).
  const Frame& operator[](size_t i) const { return frames_[i]; }
  /// Top frame (precondition: non-empty).
  Frame& back() { return frames_[size_ - 1]; }
  /// Top frame (precondition: non-empty).
  const Frame& back() const { return frames_[size_ - 1]; }
  /// Bottom frame (precondition: non-empty).
  Frame& front() { return frames_[0]; }
  /// Push a copy of `f`.
  void push_back(Frame f);
  /// Push a frame with no slots, reusing a spare's slot capacity.
  Frame& push(uint64_t return_ip, uint64_t stack_base, FrameKind kind, uint32_t return_code = 0) {
    if (size_ == frames_.size()) frames_.emplace_back();
    Frame& f = frames_[size_++];
    f.return_ip = return_ip;
    f.stack_base = stack_base;
    f.kind = kind;
    f.return_code = return_code;
    if (kind == FrameKind::Call) ++calls_;
    return f;
  }
  /// Number of live frames of kind Call (Return halts when there is none).
  size_t call_count() const { return calls_; }
  /// Pop the top frame (no-op when empty). Its slots are reset to Undef but keep their
  /// count and capacity, so the next frame pushed in its place reads Undef from them
  /// (as from a missing slot) and a callee's first SetSlots need no allocation.
  void pop_back() {
    if (size_ == 0) return;
    Frame& f = frames_[--size_];
    if (f.kind == FrameKind::Call) --calls_;
    for (Value& v : f.slots) v = Value();
  }
  /// Pop every frame.
  void clear() {
    while (size_ > 0) pop_back();
  }
  /// First live frame.
  Frame* begin() { return frames_.data(); }
  /// One past the top frame.
  Frame* end() { return frames_.data() + size_; }

 private:
  std::vector<Frame> frames_;
  size_t size_ = 0;
  size_t calls_ = 0;  // live frames of kind Call, kept by push/pop_back
};

/// Resource limits (ARCHITECTURE §9). Exceeding one ends the run with
/// `limit exceeded: <name> (<value>)`; the VM state stays inspectable.
struct Limits {
  size_t max_stack = 1'000'000;         ///< values on the value stack ("value stack")
  size_t max_call_depth = 100'000;      ///< frames plus active blocks ("call depth")
  size_t max_string = size_t(1) << 30;  ///< bytes in one string ("string size")
  size_t max_array = size_t(128) << 20;  ///< elements in one array ("array size")
  size_t max_memory = 0;                ///< approx. bytes held by heap values; 0 = off ("memory")
  uint64_t fuel = 0;                    ///< ops executed per run(); 0 = off ("fuel")
};

/// A builtin: pops its own `argc` arguments from vm.stack(); the result is pushed.
using BuiltinFn = std::function<Value(VM&, uint8_t argc)>;
/// Handler for Extended(id, arg).
using ExtensionHandler = std::function<void(VM&, uint16_t id, uint8_t arg)>;
/// Handler for ExtendedWide(id, payload).
using ExtensionWideHandler = std::function<void(VM&, uint16_t id, uint64_t payload)>;
/// Output sink: receives bytes written by Print, PrintLn and the inline echo.
using OutputFn = std::function<void(std::string_view)>;
/// Input source: one line without its newline, or nullopt at end of input.
using InputFn = std::function<std::optional<std::string>()>;

/// JIT tiers a VM may use, as a bit set (ARCHITECTURE §9 "JIT switches").
enum class JitTiers : uint8_t {
  Off = 0,
  Linear = 1,  ///< straight-line chunks, compiled on their first run
  Block = 2,   ///< hot chunks and loops (after JitOptions::block_threshold runs or entries)
  Trace = 4,   ///< hot loop paths, recorded and compiled (after TraceJitConfig::trace_threshold
               ///< backedges); with Block, only loops the block tier cannot keep native
  All = Linear | Block | Trace,
};
/// Union of two tier sets.
constexpr JitTiers operator|(JitTiers a, JitTiers b) {
  return static_cast<JitTiers>(static_cast<uint8_t>(a) | static_cast<uint8_t>(b));
}
/// True if `set` contains every tier of `t`.
constexpr bool has_tiers(JitTiers set, JitTiers t) {
  return (static_cast<uint8_t>(set) & static_cast<uint8_t>(t)) == static_cast<uint8_t>(t);
}

/// The tracing tier's settings (spec/jit.md §1.6, plus retries with back-off). Defaults as
/// the reference's.
struct TraceJitConfig {
  /// Backedges to a loop header before its next lap is recorded.
  uint32_t trace_threshold = 50;
  /// Exits from a trace before it is given up (with retries, see abort_retries).
  uint32_t max_side_exits = 50;
  /// Activations of one sub a recording may inline at once.
  size_t max_inline_recursion = 4;
  /// Traces one backedge may run one after another (side traces).
  size_t max_trace_chain = 4;
  /// Ops one recording may hold.
  size_t max_trace_len = 256;
  /// Times a loop whose recording aborted or whose trace was given up is tried again,
  /// each after retry_backoff times as many backedges as the last; after that it stays
  /// interpreted ("blacklisted").
  uint32_t abort_retries = 3;
  uint32_t retry_backoff = 2;
  /// Ops a recorded lap must run natively per call-out (a run of ops the interpreter does
  /// for native code: a builtin, ops on Str/Array/Hash values), or it stays interpreted:
  /// a call-out costs about as much as interpreting a dozen simple ops (handing the state
  /// over and back), so a lap of little else runs faster interpreted. Each op the
  /// interpreter runs inside a call it makes for the trace adds a quarter of this. 0: any
  /// lap. Not in the reference, which traces neither.
  uint32_t min_ops_per_call_out = 16;
};

/// How a VM uses the JIT.
struct JitOptions {
  JitTiers tiers = JitTiers::All;  ///< tiers that may compile and run
  /// Compile on the VM's own thread and enter the code at once (tests, benchmarks);
  /// otherwise compiles run on the engine's thread while the VM keeps interpreting.
  bool sync = false;
  /// A tier that falls back (compile failure, no plugin) ends the run with an error
  /// naming the tier and the reason, instead of interpreting silently.
  bool strict = false;
  /// Runs of a chunk, or entries of a loop, before the block tier compiles it.
  uint32_t block_threshold = 10;
  /// The tracing tier's settings.
  TraceJitConfig trace;
  /// Extensions whose lowerings (JitExtension::lower) native code may call for the
  /// chunk's `Extended` ops; the first that lowers an id wins.
  std::vector<std::shared_ptr<const JitExtension>> extensions;
};

/// `options` with FUSEVM_JIT_SYNC=1 and FUSEVM_JIT_STRICT=1 from the environment turning
/// on `sync` and `strict` (ARCHITECTURE §9 switches).
JitOptions with_jit_environment(JitOptions options);

/// What VM::enable_profiling counts: the ops the interpreter dispatches and the pairs
/// of consecutive ones (the evidence for new superinstructions), and where the time of
/// run() and call() went. Ops native code runs are not counted (only its time).
struct VmProfile {
  /// Dispatches per OpCode.
  std::vector<uint64_t> ops = std::vector<uint64_t>(kNumOps);
  /// pairs[a * kNumOps + b]: op b dispatched right after op a (across jumps too).
  std::vector<uint64_t> pairs = std::vector<uint64_t>(kNumOps * kNumOps);
  uint64_t run_ns = 0;       ///< wall time inside run() and call()
  uint64_t linear_ns = 0;    ///< ... of it in native code of the linear tier
  uint64_t block_ns = 0;     ///< ... of block-tier units
  uint64_t function_ns = 0;  ///< ... of compiled functions
  uint64_t trace_ns = 0;     ///< ... of traces (with the call-outs they make)
  uint16_t last = UINT16_MAX;  ///< the op dispatched last (pairs' left side)
};

/// The interpreter. Single-threaded: one VM is used by one thread at a time; only
/// interrupt() may be called from another thread or a signal handler.
class VM {
 public:
  /// A VM owning `chunk`, with one main frame, globals sized to the name pool.
  explicit VM(Chunk chunk);
  ~VM();
  VM(VM&&) noexcept;
  VM& operator=(VM&&) noexcept;
  VM(const VM&) = delete;
  VM& operator=(const VM&) = delete;

  /// Run from the current ip until the end, a top-level return, or an error.
  VMResult run();
  /// Call sub `name` (a name in the chunk's pool) with `args`; returns its ReturnValue
  /// (Halted for a plain Return). The VM's other state is kept.
  VMResult call(std::string_view name, std::vector<Value> args);
  /// Back to the initial state (stack, frames, globals, ip, status, halted flag).
  void reset();

  /// The value stack.
  ValueStack& stack();
  /// Global variables, indexed by name index.
  std::vector<Value>& globals();
  /// The frame stack (starts with the main frame).
  FrameStack& frames();
  /// Index of the next op to execute.
  uint64_t ip() const;
  /// Continue at op `ip` (handlers use this to jump).
  void set_ip(uint64_t ip);
  /// The shell's $?.
  int32_t last_status() const;
  /// Set $?.
  void set_last_status(int32_t s);
  /// The chunk (immutable after construction).
  const Chunk& chunk() const;
  /// True once a top-level Return/ReturnValue halted the VM.
  bool is_halted() const;

  /// Push a value.
  void push(Value v);
  /// Pop the top value (Undef if empty).
  Value pop();
  /// The top value (Undef if empty).
  const Value& peek() const;

  /// Send program output to `fn` instead of fd 1.
  void set_output(OutputFn fn);
  /// Read ReadLine input from `fn` instead of fd 0.
  void set_input(InputFn fn);
  /// Flush buffered program output.
  void flush_output();

  /// Set the resource limits.
  void set_limits(const Limits& limits);
  /// The resource limits.
  const Limits& limits() const;
  /// Ask the running program to stop at the next interrupt point (backedge, call, block
  /// invocation, every 65,536 iterations of a fused loop). Thread- and signal-safe. The
  /// run ends with Error("interrupted"); run() may be called again to resume.
  void interrupt();

  /// Let this VM compile hot code with `tiers` and enter it from the dispatch loop
  /// (JitTiers::Off turns that off). FUSEVM_JIT_SYNC=1 and FUSEVM_JIT_STRICT=1 in the
  /// environment set JitOptions::sync and strict. Native code keeps every value's kind
  /// exactly as the interpreter would; without the JIT plugin the VM just interprets.
  /// JIT entries are skipped while a fuel or memory limit is set (native code counts no
  /// ops and checks no memory).
  void enable_jit(JitTiers tiers);
  /// enable_jit with every option given.
  void enable_jit(const JitOptions& options);
  /// enable_jit(JitTiers::Trace) with the calling thread's tracing configuration
  /// (JitCompiler::get_config()): the reference's switch for the tracing tier.
  void enable_tracing_jit();
  /// The JIT options in force (tiers == Off when the JIT is not enabled).
  JitOptions jit_options() const;

  /// Count ops, op pairs and time per tier from now on (VmProfile), or stop. Profiling
  /// interprets with the metered loop and without decode-time superinstructions, so runs
  /// are slower; not while a run is in progress (then it does nothing).
  void enable_profiling(bool on);
  /// The counts so far, or nullptr when profiling is off.
  const VmProfile* profile() const;

  /// Register builtin `id` (replaces an existing one).
  void register_builtin(uint16_t id, BuiltinFn fn);
  /// Install the handler for Extended.
  void set_extension_handler(ExtensionHandler h);
  /// Install the handler for ExtendedWide.
  void set_extension_wide_handler(ExtensionWideHandler h);
  /// Install the shell host (replaces any previous one).
  void set_shell_host(std::unique_ptr<ShellHost> host);
  /// The shell host, or nullptr.
  ShellHost* shell_host() const;
  /// From inside a builtin, extension handler or host call: end the run with `message`.
  void raise_error(std::string message);

  /// Internal state (for the interpreter and tools; not a stable API).
  VMState& state() { return *s_; }

 private:
  friend class HostContext;
  std::unique_ptr<VMState> s_;
};

}  // namespace fusevm
