#!/usr/bin/env python3
"""Python driving fusevm through its C API (include/fusevm/fusevm.h) with ctypes.

Assembles a program, gives it a builtin written in Python, runs it, reads its result,
output and globals, calls one of its subs, turns a runtime error into a Python
exception, and runs a hot loop with the JIT on. CI runs it (ctest: example_python_ctypes)
with FUSEVM_LIB pointing at the built libfusevm.so; exit status 0 when every step agrees.
"""
import ctypes
import os
import sys

c_int64, c_size_t, c_char_p, c_void_p = ctypes.c_int64, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p
P = ctypes.POINTER

OK, HALTED, RUNTIME_ERROR = 0, 1, 2
KIND_INT, KIND_FLOAT, KIND_STR = 2, 3, 4
JIT_ALL = 7

BUILTIN = ctypes.CFUNCTYPE(c_void_p, c_void_p, ctypes.c_uint8, c_void_p)
OUTPUT = ctypes.CFUNCTYPE(None, ctypes.c_char_p, c_size_t, c_void_p)


class FusevmError(Exception):
    pass


def load(path):
    lib = ctypes.CDLL(path)
    sig = {
        "fusevm_version": (c_char_p, []),
        "fusevm_last_error": (c_char_p, []),
        "fusevm_free": (None, [c_void_p]),
        "fusevm_assemble": (ctypes.c_int, [c_char_p, c_size_t, c_char_p, P(c_void_p)]),
        "fusevm_chunk_free": (None, [c_void_p]),
        "fusevm_vm_new": (c_void_p, [c_void_p]),
        "fusevm_vm_free": (None, [c_void_p]),
        "fusevm_vm_run": (ctypes.c_int, [c_void_p, P(c_void_p)]),
        "fusevm_vm_reset": (None, [c_void_p]),
        "fusevm_vm_call": (ctypes.c_int, [c_void_p, c_char_p, P(c_void_p), c_size_t, P(c_void_p)]),
        "fusevm_vm_error": (c_char_p, [c_void_p]),
        "fusevm_vm_error_line": (ctypes.c_uint32, [c_void_p]),
        "fusevm_vm_get_global": (ctypes.c_int, [c_void_p, c_char_p, P(c_void_p)]),
        "fusevm_vm_pop": (c_void_p, [c_void_p]),
        "fusevm_vm_set_output": (None, [c_void_p, OUTPUT, c_void_p]),
        "fusevm_vm_register_builtin": (ctypes.c_int, [c_void_p, ctypes.c_uint16, BUILTIN, c_void_p]),
        "fusevm_vm_enable_jit": (ctypes.c_int, [c_void_p, ctypes.c_uint]),
        "fusevm_jit_available": (ctypes.c_int, []),
        "fusevm_jit_wait_idle": (None, []),
        "fusevm_value_int": (c_void_p, [c_int64]),
        "fusevm_value_str": (c_void_p, [c_char_p, c_size_t]),
        "fusevm_value_free": (None, [c_void_p]),
        "fusevm_value_kind": (ctypes.c_int, [c_void_p]),
        "fusevm_value_to_int": (c_int64, [c_void_p]),
        "fusevm_value_to_float": (ctypes.c_double, [c_void_p]),
        "fusevm_value_to_str": (c_void_p, [c_void_p, P(c_size_t)]),
    }
    for name, (restype, argtypes) in sig.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = restype, argtypes
    return lib


class Fusevm:
    """A thin Python face over the C API: values come back as Python objects."""

    def __init__(self, lib):
        self.lib = lib
        self._keep = []  # callbacks must outlive the VMs that call them

    def to_python(self, value):
        lib = self.lib
        kind = lib.fusevm_value_kind(value)
        if kind == KIND_INT:
            return lib.fusevm_value_to_int(value)
        if kind == KIND_FLOAT:
            return lib.fusevm_value_to_float(value)
        n = c_size_t()
        p = lib.fusevm_value_to_str(value, ctypes.byref(n))
        text = ctypes.string_at(p, n.value).decode()
        lib.fusevm_free(p)
        return text

    def assemble(self, text, name="script.fasm"):
        chunk = c_void_p()
        data = text.encode()
        if self.lib.fusevm_assemble(data, len(data), name.encode(), ctypes.byref(chunk)) != OK:
            raise FusevmError(self.lib.fusevm_last_error().decode())
        vm = self.lib.fusevm_vm_new(chunk)
        self.lib.fusevm_chunk_free(chunk)
        return vm

    def finish(self, vm, code, result):
        try:
            if code == RUNTIME_ERROR:
                raise FusevmError(self.lib.fusevm_vm_error(vm).decode())
            return None if code == HALTED else self.to_python(result)
        finally:
            self.lib.fusevm_value_free(result)

    def run(self, vm):
        result = c_void_p()
        return self.finish(vm, self.lib.fusevm_vm_run(vm, ctypes.byref(result)), result)

    def call(self, vm, sub, *ints):
        values = [self.lib.fusevm_value_int(i) for i in ints]
        args = (c_void_p * len(values))(*values)
        result = c_void_p()
        code = self.lib.fusevm_vm_call(vm, sub.encode(), args, len(values), ctypes.byref(result))
        for v in values:
            self.lib.fusevm_value_free(v)
        return self.finish(vm, code, result)

    def builtin(self, vm, ident, fn):
        """Builtin `ident` calls fn(*args) with the popped arguments as Python values."""
        lib = self

        def trampoline(vm_ptr, argc, _user):
            args = []
            for _ in range(argc):
                v = lib.lib.fusevm_vm_pop(vm_ptr)
                args.insert(0, lib.to_python(v))
                lib.lib.fusevm_value_free(v)
            r = fn(*args)
            if isinstance(r, str):
                data = r.encode()
                return lib.lib.fusevm_value_str(data, len(data))
            return lib.lib.fusevm_value_int(int(r))

        cb = BUILTIN(trampoline)
        self._keep.append(cb)
        assert self.lib.fusevm_vm_register_builtin(vm, ident, cb, None) == OK

    def capture_output(self, vm):
        chunks = []
        cb = OUTPUT(lambda data, n, _user: chunks.append(ctypes.string_at(data, n).decode()))
        self._keep.append(cb)
        self.lib.fusevm_vm_set_output(vm, cb, None)
        return chunks

    def global_(self, vm, name):
        v = c_void_p()
        if self.lib.fusevm_vm_get_global(vm, name.encode(), ctypes.byref(v)) != OK:
            raise FusevmError(self.lib.fusevm_last_error().decode())
        try:
            return self.to_python(v)
        finally:
            self.lib.fusevm_value_free(v)


PROGRAM = """
    Jump main
.sub greet
    SetSlot 0
    LoadConst "hello, "
    GetSlot 0
    Concat
    ReturnValue
main:
    LoadConst "py"
    LoadInt 3
    CallBuiltin 0, 2
    SetVar @shout
    GetVar @shout
    PrintLn 1
    LoadInt 6
    LoadInt 7
    Mul
"""

HOT_LOOP = """
    LoadInt 0
    SetSlot 0
top:
    GetSlot 0
    LoadInt 1
    Add
    SetSlot 0
    GetSlot 0
    LoadInt 1000000
    NumLt
    JumpIfTrue top
    GetSlot 0
"""


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.environ.get("FUSEVM_LIB", os.path.join(here, "..", "..", "build", "lib", "libfusevm.so"))
    fv = Fusevm(load(path))
    print("fusevm", fv.lib.fusevm_version().decode(), "from Python")

    vm = fv.assemble(PROGRAM)
    fv.builtin(vm, 0, lambda word, times: (word.upper() + "!") * times)
    out = fv.capture_output(vm)
    assert fv.run(vm) == 42
    assert "".join(out) == "PY!PY!PY!\n", out
    assert fv.global_(vm, "shout") == "PY!PY!PY!"
    print("run: 42; output:", "".join(out).strip(), "; global shout =", fv.global_(vm, "shout"))
    assert fv.call(vm, "greet", 5) == "hello, 5"
    print("call greet(5):", fv.call(vm, "greet", 5))
    fv.lib.fusevm_vm_free(vm)

    vm = fv.assemble("    LoadInt 1\n    Call @missing, 0\n", "broken.fasm")
    try:
        fv.run(vm)
        raise AssertionError("the run should have failed")
    except FusevmError as e:
        assert str(e) == "broken.fasm:2: runtime error: undefined function: missing", str(e)
        print("runtime error raised as FusevmError:", e)
    fv.lib.fusevm_vm_free(vm)
    try:
        fv.assemble("    LoadIntt 1\n")
        raise AssertionError("the assembly should have failed")
    except FusevmError as e:
        assert "did you mean 'LoadInt'" in str(e), str(e)

    vm = fv.assemble(HOT_LOOP)
    jit = fv.lib.fusevm_vm_enable_jit(vm, JIT_ALL)
    for _ in range(2):
        fv.lib.fusevm_vm_reset(vm)
        assert fv.run(vm) == 1000000
        fv.lib.fusevm_jit_wait_idle()
    print("hot loop: 1000000 with the JIT", "on" if jit == OK and fv.lib.fusevm_jit_available() else "unavailable")
    fv.lib.fusevm_vm_free(vm)
    print("python-ctypes: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
