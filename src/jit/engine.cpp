// The compile thread, the plugin's LLVM engine it owns, fork handling and statistics.
#include "jit/engine.hpp"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <deque>
#include <functional>
#include <future>
#include <thread>

#include "jit/object_cache.hpp"
#include "jit/plugin_loader.hpp"

namespace fusevm::jit {

namespace {

// Set in a forked child: the compile thread does not exist there, so nothing may wait
// for it (ARCHITECTURE §9: "a pthread_atfork handler disables the JIT in a child").
bool g_forked_child = false;

void mark_forked_child() { g_forked_child = true; }

// Process exit while a background compile runs: the plugin's LLVM statics would be
// destroyed under the compile thread. An atexit handler, registered once the plugin is
// loaded and again after every job (so it runs before the plugin's destructors), waits
// for the job in hand and stops the thread from starting another. A static LLVM first
// creates in the very job that is running at exit can still precede it, which is why
// the CLI waits for its compiles before it returns (and why embedders should too).
std::atomic<bool> g_exiting{false};
std::mutex g_job_mu;  // held by the compile thread while it runs a job

constexpr uint32_t kMaxDrainRegistrations = 256;

void drain_at_exit() {
  g_exiting.store(true);
  std::lock_guard<std::mutex> wait_for_the_running_job(g_job_mu);
}

struct TierCounters {
  uint64_t compiled = 0, cached = 0, failed = 0, entered = 0, call_outs = 0, fell_back = 0, compile_ns = 0;
  std::map<std::string, uint64_t> reasons;

  JitTierStats snapshot() const {
    JitTierStats s;
    s.compiled = compiled;
    s.cached = cached;
    s.failed = failed;
    s.entered = entered;
    s.call_outs = call_outs;
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
  uint32_t reregistrations = 0;  // compile thread only
  void* llvm_engine = nullptr;  // owned by the compile thread
  std::string engine_error;
  // The on-disk object cache (FUSEVM_JIT_CACHE), opened with the first compile; used on
  // the compile thread only.
  std::unique_ptr<ObjectCache> cache;
  bool cache_opened = false;

  std::mutex stats_mu;
  TierCounters tiers[3];

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
        {
          std::lock_guard<std::mutex> running(g_job_mu);
          if (g_exiting.load()) continue;
          job();
        }
        // Exit handlers run newest first, and LLVM registers destructors for statics it
        // creates lazily while compiling: a drain registered before them would run after
        // they tore LLVM down under a compile still in flight. Registering again after
        // each job keeps the drain ahead of everything but the running job's own new
        // statics (most appear in the first jobs; the cap bounds the registrations).
        if (reregistrations < kMaxDrainRegistrations) {
          ++reregistrations;
          std::atexit(drain_at_exit);
        }
      }
    }).detach();
  }

  // Queue `job` for the compile thread (jobs run in order).
  void post(std::function<void()> job) {
    std::call_once(thread_started, [this] { start_thread(); });
    {
      std::lock_guard<std::mutex> lock(queue_mu);
      queue.push_back(std::move(job));
    }
    queue_cv.notify_one();
  }

  // Run `job` on the compile thread and wait for it (and for every job queued before).
  void run_on_thread(const std::function<void()>& job) {
    std::promise<void> done;
    std::future<void> finished = done.get_future();
    post([&] {
      job();
      done.set_value();
    });
    finished.wait();
  }

  Compiled compile_here(const jit_abi::UnitRequest& request);

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

const jit_abi::UnitRequest& OwnedRequest::finalized() {
  request.ops = ops.data();
  request.num_ops = ops.size();
  request.consts = consts.data();
  request.num_consts = consts.size();
  request.slot_tags = slot_tags.empty() ? nullptr : slot_tags.data();
  request.entry_stack_tags = entry_stack_tags.empty() ? nullptr : entry_stack_tags.data();
  request.name = name.c_str();
  for (size_t k = 0; k < lowerings.size(); ++k) lowerings[k].symbol = lowering_symbols[k].c_str();
  request.lowerings = lowerings.empty() ? nullptr : lowerings.data();
  request.num_lowerings = static_cast<uint32_t>(lowerings.size());
  request.quiet_jumps = quiet_jumps.empty() ? nullptr : quiet_jumps.data();
  request.call_outs = call_outs.empty() ? nullptr : call_outs.data();
  request.call_out_tags = call_out_tags.empty() ? nullptr : call_out_tags.data();
  request.num_call_out_tags = call_out_tags.size();
  return request;
}

// On the compile thread: one unit through the plugin.
Compiled Engine::Impl::compile_here(const jit_abi::UnitRequest& request) {
  Compiled out;
  const LoadedPlugin& plugin = load_plugin();
  if (plugin.api == nullptr) {
    out.reason = plugin.error;
    return out;
  }
  static std::once_flag exit_hook;
  std::call_once(exit_hook, [] { std::atexit(drain_at_exit); });
  const jit_abi::PluginApi* api = plugin.api;
  void* engine = llvm(api);
  if (engine == nullptr) {
    out.reason = engine_error;
    return out;
  }
  if (!cache_opened) {
    cache_opened = true;
    cache = ObjectCache::from_environment();
  }
  // A unit whose code is asked to be printed is compiled, not loaded; one that calls a
  // frontend's C functions has their addresses, valid in this process only, baked in.
  const bool dumping = (request.flags & (jit_abi::kDumpIr | jit_abi::kDumpAsm)) != 0;
  const bool use_cache = cache && cache->enabled() && !dumping && request.num_lowerings == 0;
  std::string key;
  if (use_cache) {
    key = cache_key(request, CacheKeyContext{api->llvm_version, api->target_key(engine), nullptr, {}});
    if (std::optional<CachedObject> hit = cache->load(key)) {
      jit_abi::UnitResult loaded{};
      if (api->load_object(engine, hit->symbol.c_str(), hit->object.data(), hit->object.size(), &loaded) &&
          loaded.entry != nullptr) {
        out.entry = loaded.entry;
        out.from_cache = true;
        if (hit->meta.size() == sizeof out.max_exit_stack)
          std::memcpy(&out.max_exit_stack, hit->meta.data(), sizeof out.max_exit_stack);
        return out;
      }
      cache->remove(key);
    }
  }
  jit_abi::UnitRequest wanted = request;
  if (use_cache) wanted.flags |= jit_abi::kWantObject;
  jit_abi::UnitResult result{};
  int ok = api->compile(engine, &wanted, &result);
  out.compile_ns = result.compile_ns;
  out.max_exit_stack = result.max_exit_stack;
  if (ok && result.entry != nullptr) {
    out.entry = result.entry;
    if (use_cache && result.object != nullptr) {
      const std::string meta(reinterpret_cast<const char*>(&out.max_exit_stack), sizeof out.max_exit_stack);
      cache->store(key, request.name, std::string_view(result.object, result.object_size), meta);
    }
  } else {
    out.reason = result.reason[0] ? result.reason : "compile failed";
  }
  if (result.dump != nullptr) {
    std::fputs(result.dump, stderr);
    api->free_text(result.dump);
  }
  if (result.object != nullptr) api->free_text(result.object);
  return out;
}

Compiled Engine::compile(const jit_abi::UnitRequest& request) {
  Compiled out;
  if (!available()) {
    out.reason = unavailable_reason();
    return out;
  }
  impl_->run_on_thread([&] { out = impl_->compile_here(request); });
  return out;
}

void Engine::compile_async(std::shared_ptr<OwnedRequest> request, std::shared_ptr<PendingCompile> into) {
  if (g_forked_child) {
    into->result.reason = unavailable_reason();
    into->done.store(true, std::memory_order_release);
    return;
  }
  impl_->post([this, request, into] {
    into->result = impl_->compile_here(request->finalized());
    into->done.store(true, std::memory_order_release);
  });
}

void Engine::wait_idle() {
  if (g_forked_child) return;
  impl_->run_on_thread([] {});
}

void Engine::count_compile(Tier tier, const Compiled& c) {
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  TierCounters& t = impl_->tiers[static_cast<int>(tier)];
  t.compile_ns += c.compile_ns;
  if (c.from_cache) {
    ++t.cached;
  } else if (c.entry != nullptr) {
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

void Engine::count_call_outs(Tier tier, uint64_t n) {
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  impl_->tiers[static_cast<int>(tier)].call_outs += n;
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
  s.trace = impl_->tiers[2].snapshot();
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
  impl_->tiers[2] = TierCounters{};
}

}  // namespace fusevm::jit
