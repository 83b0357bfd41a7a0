// Reads section and symbol sizes from a unit's ELF object, and checks objects from outside before any other reader.
#include "jit_llvm/object_info.hpp"

#include <cstring>

#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/MemoryBufferRef.h>

namespace fusevm::jit_llvm {

namespace {

using Elf = llvm::object::ELFFile<llvm::object::ELF64LE>;

// Takes the error out of `value` into `error`; true if there was one.
template <typename T>
bool failed(llvm::Expected<T>& value, const char* what, std::string& error) {
  if (value) return false;
  error = std::string("malformed object: ") + what + ": " + llvm::toString(value.takeError());
  return true;
}

// Nothing a unit needs comes near these; they bound what JITLink is asked to lay out.
constexpr uint64_t kMaxSectionBytes = uint64_t{16} << 20;
constexpr uint64_t kMaxAlignment = 4096;

bool allocated(const Elf::Elf_Shdr& sec) { return (sec.sh_flags & llvm::ELF::SHF_ALLOC) != 0; }

// Index 0 is the null section and no other is; alignment is a power of two up to a page;
// what gets memory is code or data of a sane size.
bool validate_section(const Elf::Elf_Shdr& sec, size_t index, std::string& error) {
  const bool null_type = sec.sh_type == llvm::ELF::SHT_NULL;
  if (null_type != (index == 0)) {
    error = "malformed object: a null section out of place";
    return false;
  }
  if (sec.sh_addralign > kMaxAlignment || (sec.sh_addralign & (sec.sh_addralign - 1)) != 0) {
    error = "malformed object: a section alignment is not a power of two up to a page";
    return false;
  }
  if (allocated(sec) && ((sec.sh_type != llvm::ELF::SHT_PROGBITS && sec.sh_type != llvm::ELF::SHT_NOBITS &&
                          sec.sh_type != llvm::ELF::SHT_X86_64_UNWIND) ||
                         sec.sh_size > kMaxSectionBytes)) {
    error = "malformed object: an allocated section that is not code or data of a sane size";
    return false;
  }
  return true;
}

// Every symbol names a real place: a defined one lies inside an allocated section (or is
// a section or file symbol), an undefined one is global.
bool validate_symbols(const Elf& file, const Elf::Elf_Shdr& symtab, Elf::Elf_Shdr_Range sections,
                      std::string& error) {
  auto symbols = file.symbols(&symtab);
  if (failed(symbols, "symbol table", error)) return false;
  auto names = file.getStringTableForSymtab(symtab);
  if (failed(names, "symbol names", error)) return false;
  size_t i = 0;
  for (const Elf::Elf_Sym& sym : *symbols) {
    auto name = sym.getName(*names);
    if (failed(name, "symbol name", error)) return false;
    const uint16_t index = sym.st_shndx;
    const unsigned type = sym.getType();
    const unsigned binding = sym.getBinding();
    bool ok = binding == llvm::ELF::STB_LOCAL || binding == llvm::ELF::STB_GLOBAL || binding == llvm::ELF::STB_WEAK;
    if (index == llvm::ELF::SHN_UNDEF) {
      ok = ok && (i == 0 || binding != llvm::ELF::STB_LOCAL);
    } else if (index == llvm::ELF::SHN_ABS) {
      ok = ok && type == llvm::ELF::STT_FILE;
    } else if (index >= sections.size()) {
      ok = false;
    } else {
      const Elf::Elf_Shdr& home = sections[index];
      ok = ok && type != llvm::ELF::STT_FILE && (type == llvm::ELF::STT_SECTION || allocated(home)) &&
           sym.st_value <= home.sh_size && sym.st_size <= home.sh_size - sym.st_value;
    }
    ok = ok && (type == llvm::ELF::STT_NOTYPE || type == llvm::ELF::STT_OBJECT || type == llvm::ELF::STT_FUNC ||
                type == llvm::ELF::STT_SECTION || type == llvm::ELF::STT_FILE);
    if (!ok) {
      error = "malformed object: symbol " + std::to_string(i) + " is not one a unit can have";
      return false;
    }
    ++i;
  }
  return true;
}

// Relocations patch allocated sections, inside them, against symbols that are undefined
// or live in allocated sections. 4 bytes is the smallest field any relocation we emit
// patches; none is against the null symbol (JITLink crashes formatting its error for one
// in LLVM 19).
template <typename Range>
bool validate_relocations(const Range& relocations, const Elf::Elf_Shdr& target, Elf::Elf_Sym_Range symbols,
                          Elf::Elf_Shdr_Range sections, std::string& error) {
  for (const auto& r : relocations) {
    const uint32_t symbol = r.getSymbol(false);
    bool ok = r.r_offset <= target.sh_size && target.sh_size - r.r_offset >= 4 && symbol != 0 &&
              symbol < symbols.size();
    if (ok) {
      const uint16_t index = symbols[symbol].st_shndx;
      ok = index == llvm::ELF::SHN_UNDEF || (index < sections.size() && allocated(sections[index]));
    }
    if (!ok) {
      error = "malformed object: a relocation lies outside its section or names no usable symbol";
      return false;
    }
  }
  return true;
}

}  // namespace

bool validate_object(const char* data, size_t size, std::string& error) {
  // ELFFile::create checks only the size.
  if (size < 4 || std::memcmp(data, "\x7f" "ELF", 4) != 0) {
    error = "not an ELF object";
    return false;
  }
  auto file = Elf::create(llvm::StringRef(data, size));
  if (failed(file, "header", error)) return false;
  if (file->getHeader().e_ident[llvm::ELF::EI_CLASS] != llvm::ELF::ELFCLASS64 ||
      file->getHeader().e_ident[llvm::ELF::EI_DATA] != llvm::ELF::ELFDATA2LSB) {
    error = "not an ELF64 little-endian object";
    return false;
  }
  auto sections = file->sections();
  if (failed(sections, "section headers", error)) return false;
  size_t index = 0;
  for (const Elf::Elf_Shdr& sec : *sections) {
    if (!validate_section(sec, index++, error)) return false;
    auto name = file->getSectionName(sec);
    if (failed(name, "section name", error)) return false;
    if (sec.sh_type != llvm::ELF::SHT_NOBITS) {
      auto contents = file->getSectionContents(sec);
      if (failed(contents, "section contents", error)) return false;
    }
    if (sec.sh_type == llvm::ELF::SHT_SYMTAB && !validate_symbols(*file, sec, *sections, error)) return false;
    if (sec.sh_type != llvm::ELF::SHT_RELA && sec.sh_type != llvm::ELF::SHT_REL) continue;
    auto target = file->getSection(sec.sh_info);
    if (failed(target, "relocated section", error)) return false;
    auto symtab = file->getSection(sec.sh_link);
    if (failed(symtab, "relocation symbols", error)) return false;
    if ((*symtab)->sh_type != llvm::ELF::SHT_SYMTAB || !allocated(**target)) {
      error = "malformed object: relocations for an unallocated section or without a symbol table";
      return false;
    }
    auto symbols = file->symbols(*symtab);
    if (failed(symbols, "symbol table", error)) return false;
    if (sec.sh_type == llvm::ELF::SHT_RELA) {
      auto relas = file->relas(sec);
      if (failed(relas, "relocations", error)) return false;
      if (!validate_relocations(*relas, **target, *symbols, *sections, error)) return false;
    } else {
      auto rels = file->rels(sec);
      if (failed(rels, "relocations", error)) return false;
      if (!validate_relocations(*rels, **target, *symbols, *sections, error)) return false;
    }
  }
  return true;
}

bool inspect_object(const char* data, size_t size, const char* symbol, ObjectFacts& facts,
                    std::string& error) {
  auto obj = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(llvm::StringRef(data, size), "unit"));
  if (!obj) {
    error = "cannot read the object: " + llvm::toString(obj.takeError());
    return false;
  }
  facts = ObjectFacts{};
  facts.relocatable = (*obj)->isRelocatableObject();
  facts.arch = static_cast<unsigned>((*obj)->getArch());
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
      auto flags = sym.getFlags();
      if (flags) {
        facts.has_function = (*flags & llvm::object::SymbolRef::SF_Undefined) == 0;
      } else {
        llvm::consumeError(flags.takeError());
      }
      break;
    }
  }
  return true;
}

}  // namespace fusevm::jit_llvm
