/* Out-of-tree C consumer of an installed fusevm: the C API header and libfusevm.so. */
#include <fusevm/fusevm.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  const char* text = "    LoadInt 40\n    LoadInt 2\n    Add\n";
  fusevm_chunk* chunk = NULL;
  if (fusevm_assemble(text, strlen(text), "consumer.fasm", &chunk) != FUSEVM_OK) {
    fprintf(stderr, "%s\n", fusevm_last_error());
    return 1;
  }
  fusevm_vm* vm = fusevm_vm_new(chunk);
  fusevm_value* result = NULL;
  const int ok = fusevm_vm_run(vm, &result) == FUSEVM_OK && fusevm_value_to_int(result) == 42;
  printf("fusevm %s from C: 40 + 2 = %lld\n", fusevm_version(), (long long)fusevm_value_to_int(result));
  fusevm_value_free(result);
  fusevm_vm_free(vm);
  fusevm_chunk_free(chunk);
  return ok ? 0 : 1;
}
