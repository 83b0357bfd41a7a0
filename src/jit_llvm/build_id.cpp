// Reads the GNU build ID note of the loaded plugin image through dl_iterate_phdr.
#include "jit_llvm/build_id.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace fusevm::jit_llvm {

namespace {

struct Search {
  uintptr_t probe;     // an address inside this plugin's code
  std::string hex;     // the build ID, once found
};

// Notes are 4-byte aligned records: header, name (padded), descriptor (padded).
std::string find_build_id(const unsigned char* notes, size_t size) {
  size_t at = 0;
  while (at + sizeof(ElfW(Nhdr)) <= size) {
    ElfW(Nhdr) header;
    std::memcpy(&header, notes + at, sizeof header);
    const size_t name_at = at + sizeof header;
    const size_t desc_at = name_at + ((header.n_namesz + 3u) & ~size_t{3});
    const size_t next = desc_at + ((header.n_descsz + 3u) & ~size_t{3});
    if (next > size || desc_at > size || header.n_descsz > size - desc_at) break;
    if (header.n_type == NT_GNU_BUILD_ID && header.n_namesz == 4 &&
        std::memcmp(notes + name_at, "GNU", 4) == 0 && header.n_descsz != 0) {
      std::string hex;
      char byte[3];
      for (size_t i = 0; i < header.n_descsz; ++i) {
        std::snprintf(byte, sizeof byte, "%02x", notes[desc_at + i]);
        hex += byte;
      }
      return hex;
    }
    at = next;
  }
  return {};
}

int visit(struct dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<Search*>(data);
  bool ours = false;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum && !ours; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    ours = search->probe >= begin && search->probe - begin < ph.p_memsz;
  }
  if (!ours) return 0;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum && search->hex.empty(); ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    search->hex = find_build_id(reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr),
                                ph.p_memsz);
  }
  return 1;  // our image: stop either way
}

}  // namespace

std::string plugin_build_id() {
  Search search{reinterpret_cast<uintptr_t>(&plugin_build_id), {}};
  dl_iterate_phdr(visit, &search);
  if (!search.hex.empty()) return search.hex;
  // No note (a linker without --build-id): the file's size and mtime still change with
  // every rebuild, which is what matters.
  Dl_info info{};
  struct stat st{};
  if (dladdr(reinterpret_cast<void*>(&plugin_build_id), &info) != 0 && info.dli_fname != nullptr &&
      ::stat(info.dli_fname, &st) == 0) {
    return "file:" + std::to_string(st.st_size) + ":" +
           std::to_string(static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec);
  }
  return "unknown";
}

}  // namespace fusevm::jit_llvm
