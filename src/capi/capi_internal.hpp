// The C API's internals shared by its files: the handles (plain structs around the C++
// objects) and the helpers that keep exceptions out of C and record failures.
#pragma once

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fusevm/fusevm.h"
#include "fusevm/fusevm.hpp"

// The handles: plain structs holding the C++ objects.
struct fusevm_value {
  fusevm::Value v;
};
struct fusevm_chunk {
  fusevm::Chunk c;
  std::string file;  // where it came from: runtime errors name it when the chunk has no source
};
struct fusevm_builder {
  fusevm::ChunkBuilder b;
};
struct fusevm_vm {
  fusevm_vm(fusevm::Chunk chunk, std::string from) : vm(std::move(chunk)), file(std::move(from)) {}
  fusevm::VM vm;
  std::string file;
  std::optional<fusevm::RuntimeError> error;  // the last run's or call's
  std::string error_text;
};

namespace fusevm_capi {

/// The message of the calling thread's last failure (fusevm_last_error).
std::string& last_error();

inline fusevm_code fail(fusevm_code code, std::string message) {
  last_error() = std::move(message);
  return code;
}

// Runs `body` (returning a fusevm_code), turning exceptions into codes.
template <typename F>
inline fusevm_code guarded(F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(FUSEVM_OUT_OF_MEMORY, "out of memory");
  } catch (const fusevm::Error& e) {
    return fail(FUSEVM_INVALID_ARGUMENT, e.what());
  } catch (const std::exception& e) {
    return fail(FUSEVM_INTERNAL_ERROR, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(FUSEVM_INTERNAL_ERROR, "internal error: an unknown exception");
  }
}

// Runs `body` (returning a pointer), giving null on an exception.
template <typename F>
auto guarded_ptr(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    fail(FUSEVM_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    fail(FUSEVM_INTERNAL_ERROR, std::string("internal error: ") + e.what());
  } catch (...) {
    fail(FUSEVM_INTERNAL_ERROR, "internal error: an unknown exception");
  }
  return nullptr;
}

inline fusevm_code null_argument(const char* what) {
  return fail(FUSEVM_INVALID_ARGUMENT, std::string(what) + " is NULL");
}

inline fusevm_value* wrap(fusevm::Value v) { return new fusevm_value{std::move(v)}; }

// A malloc'd NUL-terminated copy, for fusevm_free.
inline char* c_string(std::string_view s, size_t* len = nullptr) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  if (len != nullptr) *len = s.size();
  return out;
}

}  // namespace fusevm_capi
