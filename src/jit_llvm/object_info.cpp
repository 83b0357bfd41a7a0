// Reads section and symbol sizes from a unit's ELF object.
#include "jit_llvm/object_info.hpp"

#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/MemoryBufferRef.h>

namespace fusevm::jit_llvm {

bool inspect_object(const char* data, size_t size, const char* symbol, ObjectFacts& facts,
                    std::string& error) {
  auto obj = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(llvm::StringRef(data, size), "unit"));
  if (!obj) {
    error = "cannot read the emitted object: " + llvm::toString(obj.takeError());
    return false;
  }
  facts = ObjectFacts{};
  for (const llvm::object::SectionRef& section : (*obj)->sections()) {
    if (section.isText()) facts.code_bytes += section.getSize();
  }
  const auto* elf = llvm::dyn_cast<llvm::object::ELFObjectFileBase>(obj->get());
  if (elf == nullptr) return true;
  for (const llvm::object::ELFSymbolRef& sym : elf->symbols()) {
    // Only the function: the STT_FILE symbol carries the module's name, which is the same.
    if (sym.getELFType() != llvm::ELF::STT_FUNC) continue;
    auto name = sym.getName();
    if (!name) {
      llvm::consumeError(name.takeError());
      continue;
    }
    if (*name == symbol) {
      facts.symbol_size = sym.getSize();
      break;
    }
  }
  return true;
}

}  // namespace fusevm::jit_llvm
