// SPDX-License-Identifier: BSD-2-Clause
// Secrets held by reference (ABI 1.1, the key_* functions of multichap/backend.h): a key in a
// PKCS#11 token named by an RFC 7512 URI, "pkcs11:token=multichap;object=alice;type=secret-key".
// The backend that serves a reference is the one named by its scheme (the text before the first
// ':'), loaded like any backend (plugin search path, linked in, registered). The secret's bytes
// never enter this process: the backend computes digests over it where it lives.
#ifndef MULTICHAP_BACKENDS_KEY_STORE_H
#define MULTICHAP_BACKENDS_KEY_STORE_H

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/key_reference.h"
#include "auth/result.h"
#include "auth/secure.h"

namespace multichap {

struct KeyOpenOptions {
  // Let the key compute MD5 when its holder can (a token does so usually only for a key whose
  // value is readable: the caller warns about it).
  bool allow_md5 = false;
};

// Opens the key reference names. Errors: ErrorCode::key_reference_invalid (malformed, or no
// backend serves the scheme: usage), key_not_found (usage), key_unavailable, key_denied (backend),
// each with the backend's one-line reason; the message never holds a PIN.
Result<std::shared_ptr<const KeyReference>> open_key(std::string_view reference,
                                                     const KeyOpenOptions& options = {});
// The same, as a Secret held by reference.
Result<Secret> secret_from_reference(std::string_view reference,
                                     const KeyOpenOptions& options = {});

// Creates the key reference names with the bytes of value (a secret held as bytes) where the
// backend keeps keys: in a token, a secret key that is sensitive and not extractable, unless
// readable (then its value can be read back). Refuses (key_exists) to replace a key.
Result<void> import_key(std::string_view reference, const Secret& value, bool readable);
// One line per key or object matching reference, without values.
Result<std::vector<std::string>> list_keys(std::string_view reference);

// The reference with any PIN (pin-value=...) masked, for messages.
std::string reference_for_display(std::string_view reference);

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_KEY_STORE_H
