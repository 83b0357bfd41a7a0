// minish's runtime side: the builtin handlers behind the CallBuiltin ops it emits.
#pragma once

namespace fusevm {
class VM;
}

namespace minish {

/// Register handlers for the builtin ids the compiler emits (shell_builtins numbering):
/// cd, export, unset and wait. They use the VM's DefaultHost when one is installed.
void install_builtins(fusevm::VM& vm);

}  // namespace minish
