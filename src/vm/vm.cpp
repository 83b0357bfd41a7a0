// VM: the public embedding API over VMState and the dispatch loop.
#include "fusevm/vm.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <new>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "fusevm/host.hpp"
#include "fusevm/jit.hpp"
#include "vm/fd_write.hpp"
#include "vm/interp.hpp"
#include "vm/native_stack.hpp"
#include "vm/vm_state.hpp"

namespace fusevm {

// -- ValueStack / FrameStack ---------------------------------------------------------

ValueStack::~ValueStack() {
  clear();
  std::free(base_);
}

void ValueStack::grow(size_t need) {
  const size_t size = this->size();
  const size_t cap = static_cast<size_t>(cap_ - base_);
  if (need <= cap) return;
  // Values are trivially relocatable (a payload word and a tag), so a raw copy moves them.
  auto* nb = static_cast<Value*>(std::malloc(need * sizeof(Value)));
  if (nb == nullptr) throw std::bad_alloc();
  if (size != 0) std::memcpy(static_cast<void*>(nb), static_cast<const void*>(base_), size * sizeof(Value));
  std::free(base_);
  base_ = nb;
  top_ = nb + size;
  cap_ = nb + need;
}

void ValueStack::resize(size_t n) {
  if (n < size()) {
    truncate(n);
    return;
  }
  reserve(n);
  while (size() < n) new (top_++) Value();
}

void FrameStack::push_back(Frame f) {
  Frame& slot = push(f.return_ip, f.stack_base, f.kind, f.return_code);
  slot.slots = std::move(f.slots);
}

// -- VMResult -------------------------------------------------------------------------

std::string VMResult::repr() const {
  switch (kind_) {
    case Kind::Ok: return "Ok(" + value_.repr() + ")";
    case Kind::Halted: return "Halted";
    default: return "Error(" + error_->message + ")";
  }
}

// -- VMState --------------------------------------------------------------------------

VMState::VMState(Chunk c) : chunk(std::move(c)) {
  code.build(chunk);
  stack.grow(256);  // the loop relies on room for one push after popping nothing
  globals.assign(chunk.names.size(), Value());
  frames.push(0, 0, FrameKind::Main);
}

void VMState::reset() {
  stack.clear();
  frames.clear();
  frames.push(0, 0, FrameKind::Main);
  globals.assign(chunk.names.size(), Value());
  ip = 0;
  cur_stream = CodeSet::kMain;
  last_status = 0;
  halted = false;
  block_depth = 0;
  error.reset();
  has_pending_error = false;
  pending_error.clear();
  halt_value = Value();
  fork_regions.clear();
  interrupt_requested.store(false);
  refresh_poll();
}

void VMState::flush_output() {
  if (out_buf.empty()) return;
  if (output) {
    output(out_buf);
  } else {
    // Write errors are ignored (spec/ops.md §14); a closed pipe drops the output
    // instead of killing the embedding process with SIGPIPE.
    write_all_no_sigpipe(1, out_buf);
  }
  out_buf.clear();
}

bool VMState::stdout_is_tty() {
  if (out_tty < 0) out_tty = ::isatty(1) ? 1 : 0;
  return out_tty == 1;
}

void VMState::set_error(std::string message, uint64_t at_ip) {
  auto e = std::make_unique<RuntimeError>();
  e->message = std::move(message);
  e->ip = at_ip;
  e->line = at_ip < chunk.lines.size() ? chunk.lines[at_ip] : 0;
  e->source = chunk.source;
  // Innermost first: each call frame's return site is where its caller stands.
  for (size_t k = frames.size(); k-- > 0;) {
    const Frame& f = frames[k];
    if (f.kind != FrameKind::Call || f.return_ip == 0) continue;
    const uint64_t call_ip = f.return_ip - 1;
    e->backtrace.push_back(
        {call_ip, call_ip < chunk.lines.size() ? chunk.lines[call_ip] : 0});
  }
  error = std::move(e);
}

bool VMState::poll_slow(uint64_t at_ip) {
  if (interrupt_requested.exchange(false, std::memory_order_relaxed)) {
    refresh_poll();
    set_error("interrupted", at_ip);
    return false;
  }
  if (limits.max_memory != 0 &&
      heap_bytes_live() - memory_baseline > static_cast<int64_t>(limits.max_memory)) {
    set_limit_error("memory", limits.max_memory, at_ip);
    return false;
  }
  if (!fork_regions.empty()) {
    const ForkRegion& r = fork_regions.back();
    if (cur_stream == r.stream && frames.call_count() == r.call_depth &&
        (at_ip < r.begin || at_ip > r.end)) {
      ip = r.end;
    }
  }
  return true;
}

void VMState::set_limit_error(const char* name, uint64_t value, uint64_t at_ip) {
  set_error(std::string("limit exceeded: ") + name + " (" + std::to_string(value) + ")", at_ip);
}

// -- VM ---------------------------------------------------------------------------------

VM::VM(Chunk chunk) : s_(std::make_unique<VMState>(std::move(chunk))) {}
VM::~VM() = default;
VM::VM(VM&&) noexcept = default;
VM& VM::operator=(VM&&) noexcept = default;

namespace {
// Tell the host that a run (or an outermost call) is returning to the embedder; a
// forking host ends its forked children here. Nothing the host does may escape.
void notify_run_finished(VM& vm, const VMResult& r) {
  ShellHost* host = vm.state().host;
  if (host == nullptr) return;
  HostContext cx(vm);
  try {
    host->run_finished(cx, r);
  } catch (...) {
  }
}

VMResult finish(VMState& st, ExitReason why) {
  st.flush_output();
  switch (why) {
    case ExitReason::Error: {
      RuntimeError e = *st.error;
      return VMResult::Error(std::move(e));
    }
    case ExitReason::HaltValue: {
      Value v = std::move(st.halt_value);
      st.halt_value = Value();
      return VMResult::Ok(std::move(v));
    }
    default:
      if (st.stack.empty()) return VMResult::Halted();
      Value v = std::move(st.stack.back());
      st.stack.pop_back();
      return VMResult::Ok(std::move(v));
  }
}
}  // namespace

namespace {

// Native code counts no ops and allocates nothing, so a run with a fuel or memory limit
// stays in the interpreter, where those limits are checked op by op and at each poll.
int32_t* jit_counters_for_run(VMState& st) {
  if (!st.jit || st.limits.fuel != 0 || st.limits.max_memory != 0) return nullptr;
  return st.jit->counters();
}

// A recording still armed when the outermost run or call returns is dropped.
void end_recording(VMState& st) {
  if (!st.recording) return;
  st.recording = false;
  st.jit->drop_recording();
}

}  // namespace

namespace {
// Runs `execute` (the dispatch loop) under the run's string limit; an allocation that
// fails or a value's text past the limit ends it with that error, not an exception.
template <class F>
ExitReason guarded_execution(VMState& st, F&& execute) {
  try {
    const StringLimit strings(st.limits.max_string);
    return execute();
  } catch (const std::bad_alloc&) {
    st.set_error("out of memory", st.ip);
  } catch (const StringLimitExceeded&) {
    st.set_limit_error("string size", st.limits.max_string, st.ip);
  }
  return ExitReason::Error;
}
}  // namespace

VMResult VM::run() {
  VMState& st = *s_;
  const ProfileTime timed(st.running ? nullptr : st.profile.get(), &VmProfile::run_ns);
  if (st.running) {
    st.set_error("run() called re-entrantly on a running VM", st.ip);
    return VMResult::Error(*st.error);
  }
  if (st.halted) return finish(st, ExitReason::End);  // halted is never cleared
  st.vm = this;
  st.fuel_left = st.limits.fuel;
  if (st.limits.max_memory != 0) st.memory_baseline = heap_bytes_live();
  st.refresh_poll();
  // A run always resumes in the main stream (an interrupted block op restarts, see
  // exec_block_op).
  st.cur_stream = CodeSet::kMain;
  CodeStream* cur = &st.code.main();
  st.jit_counters = jit_counters_for_run(st);
  st.running = true;
  ExitReason why = guarded_execution(st, [&] {
    JitOutcome jit = JitOutcome::Interpret;
    if (st.jit_counters != nullptr && st.ip == 0 && st.frames.size() == 1) jit = st.jit->on_run_start(st);
    return jit == JitOutcome::Error ? ExitReason::Error : Interp::execute(st, *this, cur, cur->at(st.ip));
  });
  st.running = false;
  end_recording(st);
  if (why == ExitReason::BlockDone || why == ExitReason::CallDone) why = ExitReason::End;
  VMResult r = finish(st, why);
  notify_run_finished(*this, r);
  return r;
}

JitOptions with_jit_environment(JitOptions options) {
  auto env_on = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && std::string_view(v) == "1";
  };
  if (env_on("FUSEVM_JIT_SYNC")) options.sync = true;
  if (env_on("FUSEVM_JIT_STRICT")) options.strict = true;
  return options;
}

void VM::enable_jit(JitTiers tiers) {
  JitOptions options;
  options.tiers = tiers;
  enable_jit(with_jit_environment(options));
}

void VM::enable_tracing_jit() {
  JitOptions options = with_jit_environment(JitOptions{});
  options.tiers = JitTiers::Trace;
  options.trace = JitCompiler::get_config();  // the thread's (spec/jit.md §1.6)
  enable_jit(options);
}

void VM::enable_jit(const JitOptions& options) {
  VMState& st = *s_;
  if (st.running) return;  // a hook swapped under a running loop would dangle
  st.jit_counters = nullptr;
  st.recording = false;
  st.jit = options.tiers == JitTiers::Off ? nullptr : make_jit_hook(st.chunk, options);
}

void VM::enable_profiling(bool on) {
  VMState& st = *s_;
  if (st.running || on == (st.profile != nullptr)) return;
  st.profile = on ? std::make_unique<VmProfile>() : nullptr;
  // Decode-time superinstructions run several chunk ops in one dispatch: a profile counts
  // chunk ops, so it runs without them (and the normal decode comes back after).
  st.code.build(st.chunk, /*fuse=*/!on);
}

const VmProfile* VM::profile() const { return s_->profile.get(); }

JitOptions VM::jit_options() const {
  if (!s_->jit) {
    JitOptions off;
    off.tiers = JitTiers::Off;
    return off;
  }
  return s_->jit->options();
}

VMResult VM::call(std::string_view name, std::vector<Value> args) {
  VMState& st = *s_;
  const ProfileTime timed(st.running ? nullptr : st.profile.get(), &VmProfile::run_ns);
  const std::optional<uint16_t> idx = st.chunk.find_name(name);
  auto entry = idx ? st.chunk.find_sub(*idx) : std::nullopt;
  if (!entry) {
    st.set_error("undefined function: " + std::string(name), st.ip);
    return VMResult::Error(*st.error);
  }
  if (!native_stack_ok() || st.call_depth_full()) {
    // A builtin calling back into its VM nests the dispatch loop natively.
    if (!native_stack_ok()) st.set_limit_error("native stack", native_stack_budget(), st.ip);
    else st.set_limit_error("call depth", st.limits.max_call_depth, st.ip);
    return VMResult::Error(*st.error);
  }
  st.vm = this;
  const size_t saved_size = st.stack.size();
  const size_t saved_frames = st.frames.size();
  const uint64_t saved_ip = st.ip;
  const bool was_running = st.running;
  const size_t sbase = st.stack.size();
  for (auto& a : args) st.stack.push_back(std::move(a));
  st.frames.push(0, sbase, FrameKind::Call, CodeSet::kCallStub);
  if (!was_running) {
    st.fuel_left = st.limits.fuel;
    st.refresh_poll();
    st.jit_counters = jit_counters_for_run(st);
  }
  st.running = true;
  ExitReason why =
      guarded_execution(st, [&] { return Interp::execute(st, *this, &st.code.main(), st.code.main().at(*entry)); });
  st.running = was_running;
  if (!was_running) end_recording(st);
  st.ip = saved_ip;
  st.cur_stream = CodeSet::kMain;
  VMResult r = VMResult::Halted();
  if (why == ExitReason::CallDone) {
    if (st.stack.size() > saved_size) {
      r = VMResult::Ok(std::move(st.stack.back()));
      st.stack.pop_back();
    }
  } else if (why == ExitReason::Error) {
    r = VMResult::Error(*st.error);
  } else if (why == ExitReason::HaltValue) {
    r = VMResult::Ok(std::move(st.halt_value));
    st.halt_value = Value();
  }
  // Leave the caller's state as it was, whatever the sub did.
  while (st.frames.size() > saved_frames) st.frames.pop_back();
  st.stack.truncate(saved_size);
  if (!was_running) {
    st.flush_output();
    notify_run_finished(*this, r);
  }
  return r;
}

void VM::reset() { s_->reset(); }
ValueStack& VM::stack() { return s_->stack; }
std::vector<Value>& VM::globals() { return s_->globals; }
FrameStack& VM::frames() { return s_->frames; }
uint64_t VM::ip() const { return s_->ip; }
void VM::set_ip(uint64_t ip) { s_->ip = ip; }
int32_t VM::last_status() const { return s_->last_status; }
void VM::set_last_status(int32_t s) { s_->last_status = s; }
const Chunk& VM::chunk() const { return s_->chunk; }
bool VM::is_halted() const { return s_->halted; }
void VM::push(Value v) { s_->stack.push_back(std::move(v)); }
Value VM::pop() {
  if (s_->stack.empty()) return Value();
  Value v = std::move(s_->stack.back());
  s_->stack.pop_back();
  return v;
}
const Value& VM::peek() const {
  static const Value kUndef;
  return s_->stack.empty() ? kUndef : s_->stack.back();
}
void VM::set_output(OutputFn fn) {
  s_->flush_output();
  s_->output = std::move(fn);
}
void VM::set_input(InputFn fn) { s_->input = std::move(fn); }
void VM::flush_output() { s_->flush_output(); }
void VM::set_limits(const Limits& limits) {
  s_->limits = limits;
  if (s_->limits.max_call_depth == 0) s_->limits.max_call_depth = 1;
  if (limits.max_memory != 0) s_->memory_baseline = heap_bytes_live();
  s_->refresh_poll();
}
const Limits& VM::limits() const { return s_->limits; }
void VM::interrupt() {
  // Only lock-free atomic stores: callable from another thread or a signal handler.
  s_->interrupt_requested.store(true, std::memory_order_relaxed);
  s_->poll.store(true, std::memory_order_relaxed);
}
void VM::register_builtin(uint16_t id, BuiltinFn fn) {
  if (s_->builtins_running > 0) {  // (VMState::builtins_running)
    std::vector<BuiltinFn> next = s_->builtins;
    s_->retired_builtins.push_back(std::move(s_->builtins));
    s_->builtins = std::move(next);
  }
  if (s_->builtins.size() <= id) s_->builtins.resize(static_cast<size_t>(id) + 1);
  s_->builtins[id] = std::move(fn);
}
void VM::set_extension_handler(ExtensionHandler h) { s_->ext_handler = std::move(h); }
void VM::set_extension_wide_handler(ExtensionWideHandler h) {
  s_->ext_wide_handler = std::move(h);
}
void VM::set_shell_host(std::unique_ptr<ShellHost> host) {
  s_->owned_host = std::move(host);
  s_->host = s_->owned_host.get();
}
ShellHost* VM::shell_host() const { return s_->host; }
void VM::raise_error(std::string message) {
  s_->pending_error = std::move(message);
  s_->has_pending_error = true;
}

// -- HostContext ------------------------------------------------------------------------

void HostContext::write_output(std::string_view bytes) { vm_.s_->write_output(bytes); }

VMResult HostContext::run_chunk(const Chunk& chunk) {
  VMState& parent = *vm_.s_;
  if (!native_stack_ok()) {
    RuntimeError e;
    e.message = "limit exceeded: native stack (" + std::to_string(native_stack_budget()) + ")";
    e.source = chunk.source;
    return VMResult::Error(std::move(e));
  }
  parent.flush_output();
  VM child(chunk);
  VMState& cs = *child.s_;
  cs.builtins = parent.builtins;
  cs.ext_handler = parent.ext_handler;
  cs.ext_wide_handler = parent.ext_wide_handler;
  cs.host = parent.host;  // shared, not owned: the parent outlives the child
  cs.limits = parent.limits;
  cs.last_status = parent.last_status;
  cs.input = parent.input;
  // The child's output goes through the parent's sink so ordering is preserved, and a
  // child's flush flushes the parent too: a host that forks from inside the child (a
  // pipeline in a trap handler) must not leave the parent's bytes buffered in both
  // processes.
  VMState* p = &parent;
  cs.output = [p](std::string_view bytes) {
    p->write_output(bytes);
    p->flush_output();
  };
  // Share variables by name: (child index, parent index) for every child name that the
  // parent's pool also has (the parent's first occurrence; a name repeated in the child's
  // pool is linked once, at its first occurrence, so write-back is unambiguous).
  std::unordered_map<std::string_view, size_t> parent_index;
  for (size_t k = parent.chunk.names.size(); k-- > 0;) parent_index[parent.chunk.names[k]] = k;
  std::unordered_map<std::string_view, size_t> seen;
  std::vector<std::pair<size_t, size_t>> links;
  for (size_t k = 0; k < cs.chunk.names.size(); ++k) {
    auto it = parent_index.find(cs.chunk.names[k]);
    if (it == parent_index.end() || !seen.emplace(cs.chunk.names[k], k).second) continue;
    if (it->second < parent.globals.size() && k < cs.globals.size())
      links.emplace_back(k, it->second);
  }
  for (const auto& [c, pi] : links) cs.globals[c] = parent.globals[pi];
  VMResult r = child.run();
  cs.flush_output();
  for (const auto& [c, pi] : links) parent.globals[pi] = std::move(cs.globals[c]);
  parent.last_status = cs.last_status;
  return r;
}

}  // namespace fusevm
