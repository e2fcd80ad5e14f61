// SPDX-License-Identifier: BSD-2-Clause
// multichap token: put a CHAP secret into a PKCS#11 token, and list a token's keys (through the
// backend that holds secrets by reference, backends/key_store.h).
#include <iostream>

#include "backends/key_store.h"
#include "tools/commands.h"

namespace multichap::cli {

namespace {

constexpr const char* kTokenUsage =
    R"(usage: multichap token import URI (--secret-file PATH | MULTICHAP_SECRET) [--readable]
       multichap token list URI

Keys of a PKCS#11 token named by RFC 7512 URIs, e.g.
  pkcs11:token=multichap;object=alice;type=secret-key?pin-source=file:/etc/multichap/pin
The PIN comes from the URI (pin-source=file:PATH, or pin-value=PIN) or from MULTICHAP_PKCS11_PIN;
the module from module-path=PATH or module-name=NAME, else every module p11-kit has registered.

  import URI    creates the secret key object=LABEL (and id= when given) on the token: a
                CKO_SECRET_KEY/CKK_GENERIC_SECRET with CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE
                and not CKA_EXTRACTABLE, so its value never leaves the token again. Refuses to
                replace an object of that label or id.
  list URI      prints the objects matching URI, one per line, without values.

  --secret-file PATH   the secret (text, trailing newline stripped); or MULTICHAP_SECRET
  --secret-hex HEX     the secret as hex bytes (visible in ps)
  --readable           create the key not sensitive and extractable: its value can be read back
                       from the token (what SoftHSM needs to digest it with MD5). Avoid.
)";

}  // namespace

void define_token(CLI::App& command) {
  set_usage(command, kTokenUsage);
  command.add_option("action")->required()->check(one_of({"import", "list"}));
  command.add_option("uri")->required();
  add_value(command, "secret-file");
  add_value(command, "secret-hex");
  add_flag(command, "readable");
}

int run_token(const Options& options) {
  const std::string& action = *options.get("action");
  const std::string& uri = *options.get("uri");
  if (action == "list") {
    auto lines = list_keys(uri);
    if (!lines) return report_error(lines.error());
    for (const std::string& line : *lines) std::cout << line << "\n";
    if (lines->empty()) std::cout << "no objects match " << reference_for_display(uri) << "\n";
    return kExitOk;
  }
  auto secret = read_secret(options, "", "MULTICHAP_SECRET");
  if (!secret) return report_error(secret.error());
  if (secret->empty()) {
    return report_error(make_error(
        ErrorKind::usage, "token import needs the secret: --secret-file PATH or MULTICHAP_SECRET"));
  }
  const bool readable = options.has("readable");
  if (readable) {
    std::cerr << "multichap: warning: --readable: the key's value can be read back from the "
                 "token by anyone who can log into it\n";
  }
  if (auto ok = import_key(uri, *secret, readable); !ok) return report_error(ok.error());
  std::cout << "imported " << reference_for_display(uri) << " (" << secret->size() << " bytes, "
            << (readable ? "readable" : "sensitive, not extractable") << ")\n";
  return kExitOk;
}

}  // namespace multichap::cli
