// Umbrella header: the whole public C++ API of fusevm.
#pragma once

#include "fusevm/asm.hpp"
#include "fusevm/chunk.hpp"
#include "fusevm/error.hpp"
#include "fusevm/host.hpp"
#include "fusevm/op.hpp"
#include "fusevm/shell_builtins.hpp"
#include "fusevm/value.hpp"
#include "fusevm/version.hpp"
#include "fusevm/vm.hpp"
