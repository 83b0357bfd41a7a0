// A MemoryMapper that forwards to InProcessMemoryMapper but never releases on abandon.
#include "jit_llvm/slab_memory.hpp"

#include <llvm/ExecutionEngine/Orc/MapperJITLinkMemoryManager.h>
#include <llvm/ExecutionEngine/Orc/MemoryMapper.h>

namespace fusevm::jit_llvm {

namespace {

namespace orc = llvm::orc;

class SlabMapper final : public orc::MemoryMapper {
 public:
  explicit SlabMapper(std::unique_ptr<orc::InProcessMemoryMapper> inner) : inner_(std::move(inner)) {}

  unsigned int getPageSize() override { return inner_->getPageSize(); }
  void reserve(size_t bytes, OnReservedFunction on_reserved) override {
    inner_->reserve(bytes, std::move(on_reserved));
  }
  char* prepare(orc::ExecutorAddr addr, size_t bytes) override { return inner_->prepare(addr, bytes); }
  void initialize(AllocInfo& info, OnInitializedFunction on_initialized) override {
    inner_->initialize(info, std::move(on_initialized));
  }
  void deinitialize(llvm::ArrayRef<orc::ExecutorAddr> allocations,
                    OnDeinitializedFunction on_deinitialized) override {
    inner_->deinitialize(allocations, std::move(on_deinitialized));
  }
  // The manager calls this only to abandon a failed link, with the allocation's own
  // address (see slab_memory.hpp). That memory was never initialised, so nothing needs
  // undoing; the inner mapper releases every slab when it is destroyed.
  void release(llvm::ArrayRef<orc::ExecutorAddr>, OnReleasedFunction on_released) override {
    on_released(llvm::Error::success());
  }

 private:
  std::unique_ptr<orc::InProcessMemoryMapper> inner_;
};

}  // namespace

llvm::Expected<std::unique_ptr<llvm::jitlink::JITLinkMemoryManager>> create_slab_memory_manager(
    size_t slab_bytes) {
  auto inner = orc::InProcessMemoryMapper::Create();
  if (!inner) return inner.takeError();
  return std::make_unique<orc::MapperJITLinkMemoryManager>(slab_bytes,
                                                           std::make_unique<SlabMapper>(std::move(*inner)));
}

}  // namespace fusevm::jit_llvm
