// VM-driven units: site selection, requests and the process-wide table shared by content.
#include "jit/vm_units.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "jit/op_sets.hpp"
#include "jit/unit_cache.hpp"

namespace fusevm::jit {

namespace {

// A whole-chunk unit shorter than this costs more to enter than it saves.
constexpr uint64_t kMinChunkSiteOps = 4;
// A range longer than this is left to the interpreter: LLVM's time grows faster than the
// range, and every lookup of the unit keys on the range's ops (bench/gen_nop.py's million
// Nops ran twice as slow with the JIT on before this limit).
constexpr uint64_t kMaxSiteOps = uint64_t{1} << 16;

bool too_long(const VmSite& site, std::string& reason) {
  if (site.end - site.begin <= kMaxSiteOps) return false;
  reason = "ips " + std::to_string(site.begin) + ".." + std::to_string(site.end) + ": " +
           std::to_string(site.end - site.begin) + " ops, more than a unit takes (" + std::to_string(kMaxSiteOps) +
           ")";
  return true;
}

// `call_outs`: ops the core runs belong to the unit too, whatever they are (a trace chunk's).
uint64_t first_unadmitted(const Chunk& chunk, const Lowerings& lowered, uint64_t from, const CallOuts& call_outs) {
  uint64_t e = from;
  while (e < chunk.ops.size() && (vm_unit_op(chunk.ops[e], lowered) || call_outs.find(e) != nullptr)) {
    ++e;
  }
  return e;
}

// Fills the slot list and the straight-line flag of [begin, end).
void describe(const Chunk& chunk, VmSite& site) {
  site.straight_line = true;
  for (uint64_t i = site.begin; i < site.end; ++i) {
    const Op& op = chunk.ops[i];
    const OpInfo& info = op.info();
    // has_target(), not kBranch: the unconditional Jump carries only kJump.
    if (op.has_target() || (info.flags & kLoop)) site.straight_line = false;
    if (site.call_outs.find(i) != nullptr) continue;  // the core's, not the unit's
    for (size_t k = 0; k < info.num_operands; ++k) {
      if (info.kinds[k] == OperandKind::Slot) site.slots.push_back(static_cast<uint16_t>(op.raw_operand(k)));
    }
  }
  std::sort(site.slots.begin(), site.slots.end());
  site.slots.erase(std::unique(site.slots.begin(), site.slots.end()), site.slots.end());
  site.num_slots = site.slots.empty() ? 0 : static_cast<uint32_t>(site.slots.back()) + 1;
}

// True if no path from the entry (depth 0) pops below depth 0. The first depth that
// reaches an op is the one the plugin compiles for; an edge arriving with another depth
// becomes an exit there, so only first depths need checking.
bool stays_above_entry_depth(const Chunk& chunk, const Lowerings& lowered, VmSite& site, std::string& reason) {
  const uint64_t n = site.end - site.begin;
  std::vector<int64_t> depth(n, -1);
  std::vector<uint64_t> work{site.entry};
  depth[site.entry - site.begin] = 0;
  while (!work.empty()) {
    const uint64_t ip = work.back();
    work.pop_back();
    const Op& op = chunk.ops[ip];
    const OpInfo& info = op.info();
    int64_t d = depth[ip - site.begin];
    int64_t pops = 0;
    int64_t pushes = 0;
    if (const jit_abi::AbiCallOut* c = site.call_outs.find(ip)) {  // the stack after is the call-out's
      pops = d;
      pushes = c->depth;
    } else if (!stack_effect(op, lowered, pops, pushes)) {
      reason = "ip " + std::to_string(ip) + ": " + std::string(info.name) + " has a variable stack effect";
      return false;
    }
    // Dup on an empty stack pushes Undef, Pop on one does nothing: both read the stack
    // below the unit, so count them as real pops.
    if (d < pops) {
      reason = "ip " + std::to_string(ip) + ": " + std::string(info.name) +
               " would pop below the stack depth at the loop's entry";
      return false;
    }
    d += pushes - pops;
    site.max_depth = std::max<uint32_t>(site.max_depth, static_cast<uint32_t>(d));
    auto visit = [&](uint64_t next) {
      if (next < site.begin || next >= site.end) return;  // an exit
      int64_t& seen = depth[next - site.begin];
      if (seen < 0) {
        seen = d;
        work.push_back(next);
      }
    };
    const OpCode code = op.code();
    if (op.has_target()) visit(op.target());
    if (code != OpCode::Jump) visit(ip + 1);
  }
  return true;
}

struct UnitTable {
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<VmUnit>> units;
};

UnitTable& table() {
  static UnitTable* t = new UnitTable();  // never destroyed: compiled code outlives statics
  return *t;
}

template <typename T>
void append_bytes(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Everything that decides a unit's code: tier, range, entry, the ops (jump targets are
// absolute, so the position is part of the code), the constants they load, entry kinds.
// The lowerings a unit's code calls: ids, kinds, functions.
void append_lowerings(std::string& key, const Lowerings& lowered) {
  for (size_t k = 0; k < lowered.list.size(); ++k) {
    append_bytes(key, lowered.list[k]);  // `symbol` is unset here: the name follows
    key += lowered.symbols[k];
    key.push_back('\0');
  }
}

std::string unit_key(const Chunk& chunk, const Lowerings& lowered, const VmSite& site, jit_abi::VmTier tier,
                     const std::vector<uint8_t>& slot_tags) {
  std::string key;
  append_lowerings(key, lowered);
  key.reserve(32 + (site.end - site.begin) * sizeof(Op) + slot_tags.size());
  append_bytes(key, static_cast<uint32_t>(tier));
  append_bytes(key, site.begin);
  append_bytes(key, site.end);
  append_bytes(key, site.entry);
  key.append(reinterpret_cast<const char*>(chunk.ops.data() + site.begin),
             (site.end - site.begin) * sizeof(Op));
  for (uint64_t i = site.begin; i < site.end; ++i) {
    const Op& op = chunk.ops[i];
    if (op.code() != OpCode::LoadConst) continue;
    const uint64_t k = op.raw_operand(0);
    if (k < chunk.constants.size()) append_bytes(key, abi_constant(chunk.constants[k]));
  }
  key.append(reinterpret_cast<const char*>(slot_tags.data()), slot_tags.size());
  key.push_back(site.quiet_jumps.empty() ? '\0' : '\1');
  key.append(reinterpret_cast<const char*>(site.quiet_jumps.data()), site.quiet_jumps.size());
  key.push_back(site.call_outs.at.empty() ? '\0' : '\1');
  key.append(reinterpret_cast<const char*>(site.call_outs.at.data()), site.call_outs.at.size() * sizeof(jit_abi::AbiCallOut));
  key.append(reinterpret_cast<const char*>(site.call_outs.tags.data()), site.call_outs.tags.size());
  return key;
}

// The chunk's ops as a kUnitFn sees them: each Call's `wide` holds its callee's entry.
std::vector<jit_abi::AbiOp> ops_with_callees(const Chunk& chunk) {
  std::vector<jit_abi::AbiOp> ops(chunk.ops.size());
  std::memcpy(ops.data(), chunk.ops.data(), chunk.ops.size() * sizeof(Op));
  for (size_t i = 0; i < chunk.ops.size(); ++i) {
    if (chunk.ops[i].code() != OpCode::Call) continue;
    const std::optional<uint64_t> entry = chunk.find_sub(static_cast<uint16_t>(chunk.ops[i].raw_operand(0)));
    ops[i].wide = entry ? *entry : jit_abi::kNoSub;
  }
  return ops;
}

// Highest slot any op of the chunk names, plus one.
uint32_t chunk_slot_count(const Chunk& chunk) {
  uint32_t n = 0;
  for (const Op& op : chunk.ops) {
    const OpInfo& info = op.info();
    for (size_t k = 0; k < info.num_operands; ++k) {
      if (info.kinds[k] == OperandKind::Slot) n = std::max(n, static_cast<uint32_t>(op.raw_operand(k)) + 1);
    }
  }
  return n;
}

std::string fn_key(const Chunk& chunk, const Lowerings& lowered, uint64_t entry,
                   const std::vector<uint8_t>& arg_tags) {
  const std::vector<jit_abi::AbiOp> ops = ops_with_callees(chunk);
  std::string key;
  append_bytes(key, static_cast<uint32_t>(jit_abi::kUnitFn));  // unlike every VmTier value
  append_lowerings(key, lowered);
  append_bytes(key, entry);
  key.append(reinterpret_cast<const char*>(ops.data()), ops.size() * sizeof(jit_abi::AbiOp));
  for (const jit_abi::AbiConst& k : abi_constants(chunk)) append_bytes(key, k);
  key.append(reinterpret_cast<const char*>(arg_tags.data()), arg_tags.size());
  return key;
}

std::shared_ptr<VmUnit> find_in_table(std::string key, jit_abi::VmTier tier, bool* created) {
  UnitTable& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  if (created == nullptr) {
    auto it = t.units.find(key);
    return it == t.units.end() ? nullptr : it->second;
  }
  std::shared_ptr<VmUnit>& unit = t.units[std::move(key)];
  *created = unit == nullptr;
  if (*created) {
    unit = std::make_shared<VmUnit>();
    unit->tier = tier;
  }
  return unit;
}

}  // namespace

bool stack_effect(const Op& op, const Lowerings& lowered, int64_t& pops, int64_t& pushes) {
  const OpInfo& info = op.info();
  if (const jit_abi::AbiLowering* l = op.code() == OpCode::Extended ? lowered.find(op.raw_operand(0)) : nullptr) {
    pops = l->num_args;
    pushes = l->result == jit_abi::kTagUnused ? 0 : 1;
    return true;
  }
  if (op.code() == OpCode::CallBuiltin) {  // as a trace runs it: argc arguments, one result
    pops = static_cast<int64_t>(op.raw_operand(1));
    pushes = 1;
    return true;
  }
  pops = info.pops;
  pushes = info.pushes;
  return info.pops != kVar && info.pushes != kVar;
}

bool vm_unit_op(OpCode code) {
  return in_block_set(code) && code != OpCode::PushFrame && code != OpCode::PopFrame;
}

bool vm_unit_op(const Op& op, const Lowerings& lowered) {
  return vm_unit_op(op.code()) ||
         (op.code() == OpCode::Extended && lowered.find(static_cast<uint16_t>(op.raw_operand(0))) != nullptr);
}

bool trace_op(const Op& op, const Lowerings& lowered) {
  const OpCode c = op.code();
  return vm_unit_op(op, lowered) || is_global_var_op(c) || c == OpCode::Call || c == OpCode::Return ||
         c == OpCode::ReturnValue || c == OpCode::CallBuiltin;
}

bool call_out_op(const Op& op) {
  const uint32_t flags = op.info().flags;
  if ((flags & (kJump | kBranch | kCall | kReturn | kFrame | kBlock)) != 0) return false;
  if ((flags & kShell) == 0) return true;
  switch (op.code()) {
    case OpCode::ExpandParam: case OpCode::WordSplit: case OpCode::BraceExpand: case OpCode::TildeExpand:
    case OpCode::StrMatch: case OpCode::RegexMatch: case OpCode::Glob: case OpCode::GlobRecursive:
    case OpCode::TestFile:
      return true;
    default:
      return false;
  }
}

const jit_abi::AbiLowering* Lowerings::find(uint16_t ext_id) const {
  for (const jit_abi::AbiLowering& l : list) {
    if (l.ext_id == ext_id) return &l;
  }
  return nullptr;
}

Lowerings lowerings_for(const Chunk& chunk, const std::vector<std::shared_ptr<const JitExtension>>& extensions) {
  Lowerings out;
  if (extensions.empty()) return out;
  for (const Op& op : chunk.ops) {
    if (op.code() != OpCode::Extended) continue;
    const auto id = static_cast<uint16_t>(op.raw_operand(0));
    if (out.find(id) != nullptr) continue;
    for (const std::shared_ptr<const JitExtension>& ext : extensions) {
      std::optional<JitLowering> l = ext ? ext->lower(id) : std::nullopt;
      if (!l) continue;
      if (l->address != nullptr && l->args.size() <= jit_abi::kMaxLoweringArgs) {
        jit_abi::AbiLowering a{};
        a.ext_id = id;
        a.num_args = static_cast<uint8_t>(l->args.size());
        for (size_t k = 0; k < l->args.size(); ++k) a.args[k] = static_cast<uint8_t>(l->args[k]);
        a.result = l->result ? static_cast<uint8_t>(*l->result) : jit_abi::kTagUnused;
        a.address = reinterpret_cast<uint64_t>(l->address);
        out.list.push_back(a);
        out.symbols.push_back(l->symbol);
      }
      break;  // the first extension that lowers an id decides
    }
  }
  return out;
}

std::optional<VmSite> chunk_site(const Chunk& chunk, const Lowerings& lowered, std::string& reason) {
  VmSite site;
  site.end = first_unadmitted(chunk, lowered, 0, site.call_outs);
  if (site.end < kMinChunkSiteOps) {
    reason = site.end == chunk.ops.size() ? "chunk too short for a unit"
                                          : "the chunk starts with ops no unit can contain";
    return std::nullopt;
  }
  if (too_long(site, reason)) return std::nullopt;
  describe(chunk, site);
  if (!stays_above_entry_depth(chunk, lowered, site, reason)) return std::nullopt;
  return site;
}

std::optional<VmSite> loop_site(const Chunk& chunk, const Lowerings& lowered, uint64_t header, uint64_t from,
                                std::string& reason, CallOuts call_outs) {
  VmSite site;
  site.begin = site.entry = header;
  site.call_outs = std::move(call_outs);
  site.end = first_unadmitted(chunk, lowered, header, site.call_outs);
  if (from >= site.end) {
    const uint64_t bad = site.end;
    reason = "loop at ip " + std::to_string(header) + " contains " +
             (bad < chunk.ops.size() ? std::string(op_name(chunk.ops[bad].code())) : std::string("?")) +
             " (ip " + std::to_string(bad) + ")";
    return std::nullopt;
  }
  if (too_long(site, reason)) return std::nullopt;
  describe(chunk, site);
  if (!stays_above_entry_depth(chunk, lowered, site, reason)) return std::nullopt;
  return site;
}

std::shared_ptr<VmUnit> find_vm_unit(const Chunk& chunk, const Lowerings& lowered, const VmSite& site,
                                     jit_abi::VmTier tier, const std::vector<uint8_t>& slot_tags, bool* created) {
  return find_in_table(unit_key(chunk, lowered, site, tier, slot_tags), tier, created);
}

std::shared_ptr<VmUnit> find_fn_unit(const Chunk& chunk, const Lowerings& lowered, uint64_t entry,
                                     const std::vector<uint8_t>& arg_tags, bool* created) {
  return find_in_table(fn_key(chunk, lowered, entry, arg_tags), jit_abi::kVmTierBlock, created);
}

void compile_fn_unit(VmUnit& unit, const Chunk& chunk, const Lowerings& lowered, uint64_t entry,
                     const std::vector<uint8_t>& arg_tags, bool sync) {
  auto req = std::make_shared<OwnedRequest>();
  req->lowerings = lowered.list;
  req->lowering_symbols = lowered.symbols;
  req->ops = ops_with_callees(chunk);
  req->consts = abi_constants(chunk);
  req->entry_stack_tags = arg_tags;
  static std::atomic<uint64_t> sequence{0};
  req->name = "fusevm_fn_" + std::to_string(code_hash(chunk)) + "_" + std::to_string(entry) + "_" +
              std::to_string(sequence.fetch_add(1));
  jit_abi::UnitRequest& r = req->request;
  r.kind = jit_abi::kUnitFn;
  r.flags = Engine::get().dump_flags();
  r.num_slots = chunk_slot_count(chunk);
  r.vm_tier = unit.tier;
  r.entry_depth = static_cast<uint32_t>(arg_tags.size());
  r.range_begin = 0;
  r.range_end = chunk.ops.size();
  r.entry_ip = entry;
  Engine::get().compile_async(std::move(req), unit.pending);
  if (sync) Engine::get().wait_idle();
}

void compile_vm_unit(VmUnit& unit, const Chunk& chunk, const Lowerings& lowered, const VmSite& site,
                     const std::vector<uint8_t>& slot_tags, bool sync) {
  auto req = std::make_shared<OwnedRequest>();
  req->lowerings = lowered.list;
  req->lowering_symbols = lowered.symbols;
  req->ops.resize(chunk.ops.size());
  std::memcpy(req->ops.data(), chunk.ops.data(), chunk.ops.size() * sizeof(Op));
  req->consts = abi_constants(chunk);
  req->slot_tags = slot_tags;
  req->quiet_jumps = site.quiet_jumps;
  req->call_outs = site.call_outs.at;
  req->call_out_tags = site.call_outs.tags;
  static std::atomic<uint64_t> sequence{0};
  req->name = std::string(unit.tier == jit_abi::kVmTierLinear ? "fusevm_vml_" : "fusevm_vmb_") +
              std::to_string(code_hash(chunk)) + "_" + std::to_string(site.entry) + "_" +
              std::to_string(sequence.fetch_add(1));
  jit_abi::UnitRequest& r = req->request;
  r.kind = jit_abi::kUnitVm;
  r.flags = Engine::get().dump_flags();
  r.num_slots = site.num_slots;
  r.vm_tier = unit.tier;
  r.entry_depth = 0;
  r.range_begin = site.begin;
  r.range_end = site.end;
  r.entry_ip = site.entry;
  Engine::get().compile_async(std::move(req), unit.pending);
  if (sync) Engine::get().wait_idle();
}

void clear_vm_units() {
  UnitTable& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  t.units.clear();
}

}  // namespace fusevm::jit
