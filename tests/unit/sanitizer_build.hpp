// Whether this test binary is built with AddressSanitizer, for the few tests whose subject
// the sanitizer's runtime itself gets in the way of.
#pragma once

namespace fusevm_test {

/// True in a build with AddressSanitizer (GCC's macro, or clang's feature test).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace fusevm_test
