// Host TargetMachines and object/assembly emission through LLVM's codegen pipeline.
#include "jit_llvm/codegen.hpp"

#include <mutex>

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

namespace fusevm::jit_llvm {

void initialize_native_target() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

std::unique_ptr<llvm::TargetMachine> create_host_target_machine(bool optimize, std::string& error) {
  initialize_native_target();
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) {
    error = "cannot describe the host CPU: " + llvm::toString(jtmb.takeError());
    return nullptr;
  }
  jtmb->setCodeGenOptLevel(optimize ? llvm::CodeGenOptLevel::Default : llvm::CodeGenOptLevel::None);
  // Position-independent code reaches helpers and constants through PC-relative and GOT
  // relocations, which JITLink resolves wherever it places the code.
  jtmb->setRelocationModel(llvm::Reloc::PIC_);
  jtmb->setCodeModel(llvm::CodeModel::Small);
  auto tm = jtmb->createTargetMachine();
  if (!tm) {
    error = "cannot create a TargetMachine: " + llvm::toString(tm.takeError());
    return nullptr;
  }
  return std::move(*tm);
}

bool emit_machine_code(llvm::Module& module, llvm::TargetMachine& tm, bool assembly,
                       llvm::SmallVectorImpl<char>& out, std::string& error) {
  llvm::raw_svector_ostream os(out);
  llvm::legacy::PassManager pm;
  const auto kind = assembly ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile;
  if (tm.addPassesToEmitFile(pm, os, nullptr, kind)) {
    error = assembly ? "the target cannot emit assembly" : "the target cannot emit an object file";
    return false;
  }
  pm.run(module);
  return true;
}

}  // namespace fusevm::jit_llvm
