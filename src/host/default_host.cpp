// DefaultHost: construction, variables, functions and the expansions it forwards.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fusevm/shell_expand.hpp"
#include "host/default_host_impl.hpp"
#include "vm/fd_write.hpp"

namespace fusevm {

namespace {

// The first index of `name` in the calling chunk's name pool.
std::optional<size_t> global_index(HostContext& cx, std::string_view name) {
  const std::optional<uint16_t> k = cx.vm().chunk().find_name(name);
  if (k && *k < cx.globals().size()) return *k;
  return std::nullopt;
}

// expand_param's view of the variables: the host's lookup and assign.
class HostVars : public shell::VarAccess {
 public:
  HostVars(DefaultHost& host, HostContext& cx) : host_(host), cx_(cx) {}
  std::optional<Value> get(std::string_view name) override { return host_.lookup(cx_, name); }
  void set(std::string_view name, Value v) override { host_.assign(cx_, name, std::move(v)); }

 private:
  DefaultHost& host_;
  HostContext& cx_;
};

std::optional<std::string> lookup_text(DefaultHost& host, HostContext& cx, std::string_view name) {
  std::optional<Value> v = host.lookup(cx, name);
  if (!v) return std::nullopt;
  return ShellVars::text_of(*v);
}

}  // namespace

DefaultHost::Impl::Impl(DefaultHostOptions o) : options(o) {
  if (options.seed_environ) vars = ShellVars::from_environ();
}

void DefaultHost::Impl::report(const std::string& text) {
  write_all_no_sigpipe(2, text + "\n");
}

DefaultHost::DefaultHost(DefaultHostOptions options) : impl_(std::make_unique<Impl>(options)) {}

DefaultHost::~DefaultHost() {
  Impl& m = *impl_;
  // Scopes left open (a run that ended in an error) still hold saved copies of fds.
  while (!m.scopes.empty()) {
    m.restore_scope(nullptr, m.scopes.back());
    m.scopes.pop_back();
  }
  for (Nest& n : m.nests) {
    if (n.prev_read >= 0) ::close(n.prev_read);
    n.prev_read = -1;
  }
  m.release_procsubs();
  m.reap();
  m.restore_traps();
  // Children still running are handed to the process-wide orphan list; later hosts reap
  // them (spawning never installs a SIGCHLD handler, so nothing else would).
  std::vector<pid_t> left = m.helpers;
  for (const Job& j : m.jobs)
    if (!j.done) left.push_back(j.pid);
  // Stages of a pipeline whose PipelineEnd never ran (an error in a boundary call, a
  // malformed chunk): nobody else knows their pids, so without this they stay zombies.
  for (const Nest& n : m.nests)
    if (n.kind == Nest::Kind::Pipeline) left.insert(left.end(), n.pids.begin(), n.pids.end());
  adopt_orphans(left);
}

ShellVars& DefaultHost::vars() { return impl_->vars; }
const ShellVars& DefaultHost::vars() const { return impl_->vars; }
DefaultHostOptions& DefaultHost::options() { return impl_->options; }

std::optional<Value> DefaultHost::lookup(HostContext& cx, std::string_view name) {
  if (auto k = global_index(cx, name)) {
    const Value& g = cx.globals()[*k];
    if (!g.is_undef()) return g;
  }
  if (const Value* v = impl_->vars.get(name)) return *v;
  return std::nullopt;
}

void DefaultHost::assign(HostContext& cx, std::string_view name, Value v) {
  if (auto k = global_index(cx, name)) {
    cx.globals()[*k] = std::move(v);
    return;
  }
  impl_->vars.set(name, std::move(v));
}

std::vector<std::string> DefaultHost::glob(HostContext&, const std::string& pattern, bool) {
  impl_->reap();
  shell::GlobOptions o;
  o.dotglob = impl_->options.dotglob;
  // `**` recurses in shell_glob itself, so the GlobRecursive flag adds nothing.
  return shell::shell_glob(pattern, o);
}

std::string DefaultHost::tilde_expand(HostContext& cx, const std::string& s) {
  impl_->reap();
  return shell::tilde_expand(s, lookup_text(*this, cx, "HOME"));
}

std::vector<std::string> DefaultHost::brace_expand(HostContext&, const std::string& s) {
  impl_->reap();
  return shell::brace_expand(s);
}

std::vector<std::string> DefaultHost::word_split(HostContext& cx, const std::string& s) {
  impl_->reap();
  return shell::ifs_split(s, lookup_text(*this, cx, "IFS"));
}

Value DefaultHost::expand_param(HostContext& cx, const std::string& name, uint8_t mod,
                                std::vector<Value> args) {
  impl_->reap();
  HostVars access(*this, cx);
  // The VM's own string limit also bounds `${v//p/r}`, which can grow without bound.
  shell::ParamResult r =
      shell::expand_param(access, name, mod, args, cx.vm().limits().max_string);
  // `${v:?word}`: the text is already "NAME: word", as a shell prints it; a size limit
  // reads "limit exceeded: string size (N)", as the VM's own limits do.
  if (r.error) cx.vm().raise_error(*r.error);
  return std::move(r.value);
}

bool DefaultHost::str_match(HostContext&, const std::string& s, const std::string& pattern) {
  impl_->reap();
  return shell::pattern_match(s, pattern);
}

bool DefaultHost::regex_match(HostContext& cx, const std::string& s, const std::string& re) {
  impl_->reap();
  shell::RegexResult r = shell::regex_search(s, re);
  if (r.error) {
    cx.vm().raise_error("invalid regex '" + re + "': " + *r.error);
    return false;
  }
  return r.matched;
}

std::optional<int32_t> DefaultHost::call_function(HostContext& cx, const std::string& name,
                                                  const std::vector<std::string>& args) {
  Impl& m = *impl_;
  m.reap();
  const std::optional<size_t> k = global_index(cx, name);
  const Chunk& chunk = cx.vm().chunk();
  if (!k || !chunk.find_sub(static_cast<uint16_t>(*k))) {
    // Not a function: the VM runs it through exec(), which consumes the pending state.
    return std::nullopt;
  }
  if (m.redirect_failed) {
    m.redirect_failed = false;
    m.pending_stdin.reset();
    m.release_procsubs();
    return 1;
  }
  bool failed = false;
  const int in = m.take_pending_stdin(cx, &failed);
  if (failed) {
    m.release_procsubs();
    return 1;
  }
  // A here-document becomes the function's fd 0 for the duration of the call.
  int saved_in = -1;
  bool in_was_open = false;
  if (in >= 0) {
    saved_in = ::fcntl(0, F_DUPFD_CLOEXEC, 10);
    in_was_open = saved_in >= 0;
    if (!in_was_open && errno != EBADF) {
      Impl::report(std::string("here-document: ") + std::strerror(errno));
      ::close(in);
      m.release_procsubs();
      return 1;
    }
    move_fd(in, 0);
  }
  std::vector<Value> vargs;
  vargs.reserve(args.size());
  for (const std::string& a : args) vargs.push_back(Value::Str(a));
  VMResult r = cx.vm().call(name, std::move(vargs));
  if (in >= 0) {
    if (in_was_open) {
      move_fd(saved_in, 0);
    } else {
      ::close(0);
    }
  }
  m.release_procsubs();
  if (r.is_error()) {
    cx.vm().raise_error(r.error().message);
    return 1;
  }
  if (r.is_ok()) {
    const Value& v = r.value();
    return v.is_status() ? v.as_status() : static_cast<int32_t>(v.to_int());
  }
  return cx.last_status();
}

void DefaultHost::run_finished(HostContext& cx, const VMResult& result) {
  Impl& m = *impl_;
  // A forked stage or subshell whose code ended without reaching its end boundary (an
  // error, a top-level return, a jump past the end) must still never return into the
  // embedding program: it leaves here.
  if (!m.forked || m.forked_vm != &cx.vm()) return;
  int32_t status = cx.last_status();
  if (result.is_error()) {
    Impl::report("fusevm: " + result.error().message);
    status = 1;
  } else if (result.is_ok() && result.value().is_status()) {
    status = result.value().as_status();
  }
  Impl::leave(cx, status);
}


}  // namespace fusevm
