// The compile thread, the plugin's LLVM engine it owns, fork handling and statistics.
#include "jit/engine.hpp"

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <thread>

#include "jit/plugin_loader.hpp"

namespace fusevm::jit {

namespace {

// Set in a forked child: the compile thread does not exist there, so nothing may wait
// for it (ARCHITECTURE §9: "a pthread_atfork handler disables the JIT in a child").
bool g_forked_child = false;

void mark_forked_child() { g_forked_child = true; }

struct TierCounters {
  uint64_t compiled = 0, failed = 0, entered = 0, fell_back = 0, compile_ns = 0;
  std::map<std::string, uint64_t> reasons;

  JitTierStats snapshot() const {
    JitTierStats s;
    s.compiled = compiled;
    s.failed = failed;
    s.entered = entered;
    s.fell_back = fell_back;
    s.compile_ns = compile_ns;
    s.reasons.assign(reasons.begin(), reasons.end());
    return s;
  }
};

}  // namespace

struct Engine::Impl {
  // Compile thread state.
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<std::function<void()>> queue;
  std::once_flag thread_started;
  void* llvm_engine = nullptr;  // owned by the compile thread
  std::string engine_error;

  std::mutex stats_mu;
  TierCounters tiers[2];

  void start_thread() {
    std::thread([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock<std::mutex> lock(queue_mu);
          queue_cv.wait(lock, [this] { return !queue.empty(); });
          job = std::move(queue.front());
          queue.pop_front();
        }
        job();
      }
    }).detach();
  }

  // Run `job` on the compile thread and wait for it.
  void run_on_thread(const std::function<void()>& job) {
    std::call_once(thread_started, [this] { start_thread(); });
    std::promise<void> done;
    std::future<void> finished = done.get_future();
    {
      std::lock_guard<std::mutex> lock(queue_mu);
      queue.push_back([&] {
        job();
        done.set_value();
      });
    }
    queue_cv.notify_one();
    finished.wait();
  }

  // On the compile thread: the plugin's engine, created on first use.
  void* llvm(const jit_abi::PluginApi* api) {
    if (llvm_engine == nullptr && engine_error.empty()) {
      jit_abi::EngineOptions options{};
      const char* perf = std::getenv("FUSEVM_JIT_PERF");
      if (perf != nullptr) options.perf_map = std::string(perf) == "jitdump" ? 2 : std::string(perf) == "map" ? 1 : 0;
      const char* gdb = std::getenv("FUSEVM_JIT_GDB");
      options.gdb = gdb != nullptr && std::string(gdb) == "1";
      char error[512] = {0};
      llvm_engine = api->create(&options, error, sizeof error);
      if (llvm_engine == nullptr) engine_error = error[0] ? error : "the JIT plugin could not create an engine";
    }
    return llvm_engine;
  }
};

Engine& Engine::get() {
  static Engine* engine = [] {
    ::pthread_atfork(nullptr, nullptr, mark_forked_child);
    return new Engine();
  }();
  return *engine;
}

Engine::Engine() : impl_(new Impl) {}

// A plugin whose engine cannot be created (no native target, say) still counts as
// loaded; each compile then fails with that reason, which --stats reports.
bool Engine::available() { return !g_forked_child && load_plugin().api != nullptr; }

std::string Engine::unavailable_reason() {
  if (g_forked_child) return "the JIT is disabled in a forked child";
  return load_plugin().api == nullptr ? load_plugin().error : std::string();
}

Compiled Engine::compile(const jit_abi::UnitRequest& request) {
  Compiled out;
  if (!available()) {
    out.reason = unavailable_reason();
    return out;
  }
  const jit_abi::PluginApi* api = load_plugin().api;
  impl_->run_on_thread([&] {
    void* engine = impl_->llvm(api);
    if (engine == nullptr) {
      out.reason = impl_->engine_error;
      return;
    }
    jit_abi::UnitResult result{};
    int ok = api->compile(engine, &request, &result);
    out.compile_ns = result.compile_ns;
    if (ok && result.entry != nullptr) {
      out.entry = result.entry;
    } else {
      out.reason = result.reason[0] ? result.reason : "compile failed";
    }
    if (result.dump != nullptr) {
      std::fputs(result.dump, stderr);
      api->free_text(result.dump);
    }
  });
  return out;
}

void Engine::count_compile(Tier tier, const Compiled& c) {
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  TierCounters& t = impl_->tiers[static_cast<int>(tier)];
  t.compile_ns += c.compile_ns;
  if (c.entry != nullptr) {
    ++t.compiled;
  } else {
    ++t.failed;
    ++t.reasons[c.reason];
  }
}

void Engine::count_entry(Tier tier) {
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  ++impl_->tiers[static_cast<int>(tier)].entered;
}

void Engine::count_fallback(Tier tier, const std::string& reason) {
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  TierCounters& t = impl_->tiers[static_cast<int>(tier)];
  ++t.fell_back;
  ++t.reasons[reason];
}

JitStats Engine::stats() {
  JitStats s;
  s.available = available();
  if (!s.available) s.unavailable_reason = unavailable_reason();
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  s.linear = impl_->tiers[0].snapshot();
  s.block = impl_->tiers[1].snapshot();
  return s;
}

void Engine::reset() {
  if (!g_forked_child && load_plugin().api != nullptr) {
    const jit_abi::PluginApi* api = load_plugin().api;
    impl_->run_on_thread([&] {
      if (impl_->llvm_engine != nullptr) api->destroy(impl_->llvm_engine);
      impl_->llvm_engine = nullptr;
      impl_->engine_error.clear();
    });
  }
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  impl_->tiers[0] = TierCounters{};
  impl_->tiers[1] = TierCounters{};
}

}  // namespace fusevm::jit
