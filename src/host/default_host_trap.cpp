// DefaultHost: traps. The signal handler only records the signal; TrapCheck runs handlers.
#include <signal.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "host/default_host_impl.hpp"

namespace fusevm {

namespace {

// One flag per signal, set by the handler (lock-free atomics are async-signal-safe).
// Process-wide because dispositions are: the last host to trap a signal owns it.
std::atomic<bool> trap_pending[NSIG];
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_trapped_signal(int sig) {
  if (sig > 0 && sig < NSIG) trap_pending[sig].store(true, std::memory_order_relaxed);
}

struct SignalName {
  const char* name;
  int number;
};

// Signals a trap may name. Synchronous faults (SEGV, BUS, FPE, ILL, TRAP, SYS) are left
// out: a handler that only sets a flag would return into the faulting instruction.
constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ABRT", SIGABRT},
    {"IOT", SIGABRT},  {"USR1", SIGUSR1},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},
    {"ALRM", SIGALRM}, {"TERM", SIGTERM},     {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},
    {"CONT", SIGCONT}, {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},
    {"URG", SIGURG},   {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH},   {"IO", SIGIO},       {"POLL", SIGIO},
    {"PWR", SIGPWR},
};
constexpr int kExitTrap = 0;

const char* name_of(int sig) {
  for (const SignalName& s : kSignals)
    if (s.number == sig) return s.name;
  return "?";
}

// "INT", "int", "SIGINT", "2" -> SIGINT; "EXIT" or "0" -> kExitTrap; else an error text.
std::optional<int> parse_signal(const std::string& spec, std::string* error) {
  std::string s;
  for (char c : spec) s.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  int number = -1;
  if (!s.empty() && s.size() <= 3 && s.find_first_not_of("0123456789") == std::string::npos) {
    number = std::stoi(s);
    if (number == 0) return kExitTrap;
    for (const SignalName& k : kSignals)
      if (k.number == number) return number;
  } else {
    if (s.rfind("SIG", 0) == 0) s = s.substr(3);
    if (s == "EXIT") return kExitTrap;
    for (const SignalName& k : kSignals)
      if (s == k.name) return k.number;
    if (s == "KILL") number = SIGKILL;
    if (s == "STOP") number = SIGSTOP;
  }
  if (number == SIGKILL || number == SIGSTOP) {
    *error = "trap: " + spec + ": cannot be trapped";
  } else {
    *error = "trap: " + spec + ": invalid signal specification";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> DefaultHost::Impl::run_trap(HostContext& cx, const Chunk& handler) {
  // A trap handler runs between commands: $? afterwards is what it was before.
  const int32_t status = cx.last_status();
  VMResult r = cx.run_chunk(handler);
  cx.set_last_status(status);
  if (r.is_error()) return r.error().message;
  return std::nullopt;
}

void DefaultHost::trap_set(HostContext& cx, const std::string& signal, const Chunk& handler) {
  Impl& m = *impl_;
  m.reap();
  std::string error;
  const std::optional<int> sig = parse_signal(signal, &error);
  if (!sig) {
    cx.vm().raise_error(error);
    return;
  }
  if (*sig == kExitTrap) {
    if (handler.ops.empty()) {
      m.exit_trap.reset();
    } else {
      m.exit_trap = handler;
    }
    return;
  }
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  if (handler.ops.empty()) {
    // An empty handler ignores the signal. SIGCHLD keeps its default (which discards it)
    // rather than SIG_IGN, which would make the kernel reap children we wait for.
    sa.sa_handler = *sig == SIGCHLD ? SIG_DFL : SIG_IGN;
    m.traps.erase(*sig);
  } else {
    sa.sa_handler = on_trapped_signal;
    sa.sa_flags = SA_RESTART;
    m.traps[*sig] = handler;
  }
  struct sigaction old {};
  if (::sigaction(*sig, &sa, &old) != 0) {
    cx.vm().raise_error("trap: " + signal + ": " + std::strerror(errno));
    m.traps.erase(*sig);
    return;
  }
  m.saved_actions.emplace(*sig, old);  // only the first: the disposition before any trap
  if (handler.ops.empty()) trap_pending[*sig].store(false, std::memory_order_relaxed);
}

void DefaultHost::trap_check(HostContext& cx) {
  Impl& m = *impl_;
  m.reap();
  std::vector<int> fired;
  for (const auto& [sig, handler] : m.traps) {
    if (trap_pending[sig].load(std::memory_order_relaxed) &&
        trap_pending[sig].exchange(false, std::memory_order_relaxed))
      fired.push_back(sig);
  }
  std::optional<std::string> first_error;
  for (int sig : fired) {
    // Looked up again and copied: a handler may replace or remove traps while it runs.
    auto it = m.traps.find(sig);
    if (it == m.traps.end()) continue;
    const Chunk chunk = it->second;
    std::optional<std::string> err = m.run_trap(cx, chunk);
    if (err && !first_error) first_error = "trap " + std::string(name_of(sig)) + ": " + *err;
  }
  if (first_error) cx.vm().raise_error(*first_error);
}

void DefaultHost::run_exit_trap(HostContext& cx) {
  Impl& m = *impl_;
  if (!m.exit_trap) return;
  const Chunk chunk = std::move(*m.exit_trap);
  m.exit_trap.reset();  // runs once
  std::optional<std::string> err = m.run_trap(cx, chunk);
  // Called by the frontend after its run, where raise_error would reach no one.
  if (err) Impl::report("trap EXIT: " + *err);
}

void DefaultHost::Impl::reset_traps_in_child() {
  // Shells reset caught signals to their defaults in subshells; ignored ones stay ignored.
  struct sigaction dfl {};
  sigemptyset(&dfl.sa_mask);
  dfl.sa_handler = SIG_DFL;
  for (const auto& [sig, handler] : traps) {
    ::sigaction(sig, &dfl, nullptr);
    trap_pending[sig].store(false, std::memory_order_relaxed);
  }
  traps.clear();
  saved_actions.clear();
  exit_trap.reset();
}

void DefaultHost::Impl::restore_traps() {
  for (const auto& [sig, action] : saved_actions) {
    ::sigaction(sig, &action, nullptr);
    trap_pending[sig].store(false, std::memory_order_relaxed);
  }
  saved_actions.clear();
  traps.clear();
}

}  // namespace fusevm
