// DefaultHost: spawning commands (posix_spawn), waiting, and reaping background children.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "host/default_host_impl.hpp"
#include "host/spawn_attrs.hpp"

namespace fusevm {

namespace {

constexpr int32_t kCannotStart = 127;
// Used when the child's environment has no PATH (what bash falls back to, minus ".").
constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
// Statuses of finished jobs nobody asked for are kept, up to this many.
constexpr size_t kMaxDoneJobs = 1024;

// Children whose host is gone. Process-wide because children are; reaped by any host.
std::mutex orphans_mutex;
std::vector<pid_t> orphans;

// A forked child (stage, subshell, substitution) keeps running host code, which takes
// orphans_mutex. Forked while another thread held it, the child would inherit it locked
// by a thread that does not exist there and hang at its first host call; so the lock is
// taken across fork() and released on both sides, the usual pthread_atfork pattern.
void register_fork_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::pthread_atfork([] { orphans_mutex.lock(); }, [] { orphans_mutex.unlock(); },
                     [] { orphans_mutex.unlock(); });
  });
}

int32_t decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kCannotStart;
}

// Non-blocking reap of `pid`: true once it is gone (reaped now, or not our child).
bool try_reap(pid_t pid, int32_t* status) {
  int raw = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &raw, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) {
    *status = decode_status(raw);
    return true;
  }
  if (r < 0) {
    *status = kCannotStart;  // ECHILD: someone else reaped it; its status is lost
    return true;
  }
  return false;
}

bool valid_env_name(std::string_view name) {
  return !name.empty() && name.find('=') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

// execvp's search, with the child's PATH: the first regular executable file. `*denied`
// tells "found but not executable" from "not found".
bool find_in_path(const std::string& name, const std::string& path_var, std::string* out,
                  bool* denied) {
  *denied = false;
  if (name.empty()) return false;
  size_t start = 0;
  for (;;) {
    const size_t colon = path_var.find(':', start);
    std::string dir = path_var.substr(start, colon == std::string::npos ? std::string::npos
                                                                         : colon - start);
    if (dir.empty()) dir = ".";  // an empty PATH entry means the current directory
    std::string candidate = dir + "/" + name;
    struct stat sb;
    if (::stat(candidate.c_str(), &sb) == 0 && S_ISREG(sb.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) {
        *out = std::move(candidate);
        return true;
      }
      *denied = true;
    }
    if (colon == std::string::npos) return false;
    start = colon + 1;
  }
}

}  // namespace

void adopt_orphans(const std::vector<pid_t>& pids) {
  if (pids.empty()) return;
  register_fork_handlers();
  std::lock_guard<std::mutex> lock(orphans_mutex);
  orphans.insert(orphans.end(), pids.begin(), pids.end());
}

void reap_orphans() {
  // Every host forks only after a reap(), which comes here: registered before any fork.
  register_fork_handlers();
  std::lock_guard<std::mutex> lock(orphans_mutex);
  std::erase_if(orphans, [](pid_t pid) {
    int32_t ignored = 0;
    return try_reap(pid, &ignored);
  });
}

int32_t DefaultHost::Impl::wait_for(pid_t pid) {
  int raw = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &raw, 0);
    if (r == pid) return decode_status(raw);
    if (r < 0 && errno == EINTR) continue;  // a trapped signal: its flag is set, keep waiting
    return kCannotStart;
  }
}

void DefaultHost::Impl::reap() {
  for (Job& j : jobs)
    if (!j.done) j.done = try_reap(j.pid, &j.status);
  std::erase_if(helpers, [](pid_t pid) {
    int32_t ignored = 0;
    return try_reap(pid, &ignored);
  });
  size_t done = 0;
  for (const Job& j : jobs) done += j.done ? 1 : 0;
  if (done > kMaxDoneJobs) {
    // Forget the oldest finished jobs first.
    size_t drop = done - kMaxDoneJobs;
    std::erase_if(jobs, [&](const Job& j) { return j.done && drop > 0 && drop-- > 0; });
  }
  reap_orphans();
}

void DefaultHost::Impl::release_procsubs() {
  for (int fd : procsub_fds) ::close(fd);
  procsub_fds.clear();
}

std::vector<std::string> DefaultHost::Impl::child_environment(HostContext& cx) const {
  std::vector<std::string> env = vars.environment();
  std::unordered_map<std::string, size_t> at;
  for (size_t k = 0; k < env.size(); ++k) at[env[k].substr(0, env[k].find('='))] = k;
  const std::vector<std::string>& names = cx.names();
  const std::vector<Value>& globals = cx.globals();
  std::unordered_map<std::string_view, bool> seen;
  for (size_t k = 0; k < names.size() && k < globals.size(); ++k) {
    const std::string& name = names[k];
    if (!seen.emplace(name, true).second) continue;  // the first occurrence is the variable
    if (globals[k].is_undef() || !valid_env_name(name) || !vars.is_exported(name)) continue;
    std::string entry = name + "=" + ShellVars::text_of(globals[k]);
    if (entry.find('\0') != std::string::npos) continue;  // cannot be passed to exec
    auto it = at.find(name);
    if (it != at.end()) {
      env[it->second] = std::move(entry);
    } else {
      at[name] = env.size();
      env.push_back(std::move(entry));
    }
  }
  return env;
}

pid_t DefaultHost::Impl::spawn(HostContext& cx, const std::vector<std::string>& argv,
                               bool background, int32_t* status) {
  const std::string& name = argv[0];
  for (const std::string& a : argv) {
    if (a.find('\0') != std::string::npos) {
      report(name.c_str() + std::string(": argument holds a NUL byte"));
      pending_stdin.reset();
      *status = kCannotStart;
      return -1;
    }
  }
  const std::vector<std::string> env = child_environment(cx);
  std::string path_var = kDefaultPath;
  for (const std::string& e : env)
    if (e.compare(0, 5, "PATH=") == 0) path_var = e.substr(5);
  std::string path = name;
  if (name.find('/') == std::string::npos) {
    bool denied = false;
    if (!find_in_path(name, path_var, &path, &denied)) {
      report(name + (denied ? ": Permission denied" : ": command not found"));
      pending_stdin.reset();
      *status = kCannotStart;
      return -1;
    }
  }
  bool stdin_failed = false;
  const int in = take_pending_stdin(cx, &stdin_failed);
  if (stdin_failed) {
    *status = 1;
    return -1;
  }
  SpawnAttrs attrs;
  if (in >= 0) {
    attrs.dup_onto(in, 0);
  } else if (background) {
    attrs.open_on(0, "/dev/null", O_RDONLY);  // a background job must not compete for the terminal's input
  }
  std::vector<char*> cenv = c_strings(env);
  // posix_spawn's error number (0 on success).
  auto spawn = [&](pid_t* out, const std::string& file, const std::vector<std::string>& args) {
    std::vector<char*> cargv = c_strings(args);
    return ::posix_spawn(out, file.c_str(), attrs.actions(), attrs.attr(), cargv.data(), cenv.data());
  };
  pid_t pid = -1;
  int rc = attrs.ok() ? spawn(&pid, path, argv) : ENOMEM;
  if (rc == ENOEXEC) {
    // A script without "#!": run it with sh, as execvp does.
    std::vector<std::string> sh_argv{"sh", path};
    sh_argv.insert(sh_argv.end(), argv.begin() + 1, argv.end());
    rc = spawn(&pid, "/bin/sh", sh_argv);
  }
  if (in >= 0) ::close(in);
  if (rc != 0) {
    report(name + ": " + std::strerror(rc));
    *status = kCannotStart;
    return -1;
  }
  return pid;
}

DefaultHost::Impl::CommandStart DefaultHost::Impl::start_command(const std::vector<std::string>& argv) {
  reap();
  if (redirect_failed) {
    redirect_failed = false;
    pending_stdin.reset();
    return CommandStart::RedirectFailed;
  }
  if (argv.empty()) {
    pending_stdin.reset();
    return CommandStart::Empty;
  }
  return CommandStart::Run;
}

int32_t DefaultHost::exec(HostContext& cx, const std::vector<std::string>& argv) {
  Impl& m = *impl_;
  Impl::ProcsubRelease release{m};
  switch (m.start_command(argv)) {
    case Impl::CommandStart::RedirectFailed: return 1;
    case Impl::CommandStart::Empty: return 0;
    case Impl::CommandStart::Run: break;
  }
  int32_t status = 0;
  const pid_t pid = m.spawn(cx, argv, false, &status);
  if (pid < 0) return status;
  return Impl::wait_for(pid);
}

std::optional<int32_t> DefaultHost::inline_builtin_begin(HostContext&,
                                                        const std::vector<std::string>& argv) {
  Impl& m = *impl_;
  if (m.start_command(argv) == Impl::CommandStart::RedirectFailed) {
    m.release_procsubs();
    return 1;
  }
  // The builtins read no input: a here-document meant for this command is dropped.
  m.pending_stdin.reset();
  return std::nullopt;
}

void DefaultHost::inline_builtin_end(HostContext&) { impl_->release_procsubs(); }

int32_t DefaultHost::exec_bg(HostContext& cx, const std::vector<std::string>& argv) {
  Impl& m = *impl_;
  Impl::ProcsubRelease release{m};
  if (m.start_command(argv) != Impl::CommandStart::Run) return 0;
  int32_t status = 0;
  const pid_t pid = m.spawn(cx, argv, true, &status);
  if (pid <= 0) return 0;
  m.jobs.push_back(Job{pid, false, 0});
  return static_cast<int32_t>(pid);
}

std::vector<int32_t> DefaultHost::background_jobs() {
  impl_->reap();
  std::vector<int32_t> out;
  for (const Job& j : impl_->jobs)
    if (!j.done) out.push_back(static_cast<int32_t>(j.pid));
  return out;
}

int32_t DefaultHost::wait_background(int32_t pid) {
  Impl& m = *impl_;
  m.reap();
  if (pid == 0) {
    // Every job and process-substitution child; the status of the last job started.
    // `wait` is a command of its own, so no earlier command still reads a /dev/fd/N; one
    // left open (its command was an inline builtin, which the host never sees) would keep
    // its child blocked on a full pipe, and the wait below would never end.
    m.release_procsubs();
    int32_t last = 0;
    for (Job& j : m.jobs) {
      if (!j.done) {
        j.status = Impl::wait_for(j.pid);
        j.done = true;
      }
      last = j.status;
    }
    m.jobs.clear();
    for (pid_t h : m.helpers) Impl::wait_for(h);
    m.helpers.clear();
    return last;
  }
  auto it = std::find_if(m.jobs.begin(), m.jobs.end(),
                         [&](const Job& j) { return j.pid == static_cast<pid_t>(pid); });
  if (it == m.jobs.end()) return kCannotStart;  // not a job of this host (bash: 127)
  const int32_t status = it->done ? it->status : Impl::wait_for(it->pid);
  m.jobs.erase(it);
  return status;
}

}  // namespace fusevm
