// SPDX-License-Identifier: BSD-2-Clause
// The one C type the CHAP core shares with the backend ABI (backends/include/multichap/backend.h):
// a piece of a digest's input, a pointer and a length. A plugin's compute takes an array of them,
// and with the same type here ChapCrypto can call that function itself (ChapCrypto::DirectDigest)
// with no adapter in between. backend.h defines the struct identically behind the same guard, so
// a file may include both headers in either order.
#ifndef MULTICHAP_AUTH_DIGEST_PART_H
#define MULTICHAP_AUTH_DIGEST_PART_H

#include <stddef.h>  // NOLINT(modernize-deprecated-headers): token for token as in backend.h
#include <stdint.h>  // NOLINT(modernize-deprecated-headers)

extern "C" {

// Keep token for token identical to backend.h's definition (one definition rule).
#ifndef MULTICHAP_BACKEND_PART_DEFINED
#define MULTICHAP_BACKEND_PART_DEFINED
typedef struct multichap_backend_part {  // NOLINT(modernize-use-using): a C type
  const uint8_t* data;
  size_t len;
} multichap_backend_part;
#endif

// A backend ABI compute function: int compute(ctx, chap_a, parts, nparts, out, out_cap,
// out_len), 0 on success. Declared with C language linkage, as the ABI's table member is.
typedef int (*multichap_direct_digest_fn)(  // NOLINT(modernize-use-using): a C type
    void* ctx, int chap_a, const multichap_backend_part* parts, size_t nparts, uint8_t* out,
    size_t out_cap, size_t* out_len);
}

#endif  // MULTICHAP_AUTH_DIGEST_PART_H
