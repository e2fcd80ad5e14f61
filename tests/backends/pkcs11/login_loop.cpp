// SPDX-License-Identifier: BSD-2-Clause
// login_loop: N logins (and logouts) in a row into one target, for the token tests: the target
// process is what they scan, and 1,000 logins through `multichap login` would spend their time
// starting processes. A secret is a file's text or a PKCS#11 URI (pkcs11:...).
//
// usage: login_loop HOST:PORT TARGET_IQN USER SECRET [TARGET_USER TARGET_SECRET] ALGS COUNT
// Prints "N logins succeeded in S s (R/s)"; exit 0 when all succeeded, 1 otherwise.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "auth/algorithm.h"
#include "backends/hash_backend.h"
#include "backends/key_store.h"
#include "session/initiator.h"
#include "session/session_authenticator.h"
#include "session/transport.h"

namespace {

using namespace multichap;  // NOLINT(google-build-using-namespace): a test program

Result<Secret> secret_of(const std::string& arg) {
  if (arg.rfind("pkcs11:", 0) == 0) return secret_from_reference(arg);
  std::ifstream in(arg, std::ios::binary);
  if (!in) return make_error(ErrorKind::usage, "cannot read " + arg);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  Secret s = Secret::from_text(text);
  secure_wipe(text.data(), text.size());
  return s;
}

int fail(const std::string& what, const Error& e) {
  std::cerr << "login_loop: " << what << ": " << e.message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && argc != 9) {
    std::cerr << "usage: login_loop HOST:PORT TARGET USER SECRET [TUSER TSECRET] ALGS COUNT\n";
    return 2;
  }
  const bool mutual = argc == 9;
  auto endpoint = parse_endpoint(argv[1]);
  if (!endpoint) return fail("portal", endpoint.error());
  auto local = secret_of(argv[4]);
  if (!local) return fail("secret", local.error());
  auto config = std::make_shared<ChapInitiatorConfig>();
  config->local = ChapCredentials{argv[3], std::move(local).value()};
  if (mutual) {
    auto target = secret_of(argv[6]);
    if (!target) return fail("target secret", target.error());
    config->target = ChapCredentials{argv[5], std::move(target).value()};
  }
  auto algs = parse_algorithm_list(argv[mutual ? 7 : 5]);
  if (!algs) return fail("algorithms", algs.error());
  config->policy.algorithms = *algs;
  const long count = std::stol(argv[mutual ? 8 : 6]);
  auto backend = make_default_backend();
  if (!backend) return fail("backend", backend.error());
  std::shared_ptr<const ChapInitiatorConfig> shared = config;
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i) {
    auto auth = InitiatorAuthenticator::create(shared, *backend);
    if (!auth) return fail("configuration", auth.error());
    InitiatorOptions options;
    options.portal = *endpoint;
    options.target_name = argv[2];
    options.max_attempts = 1;
    auto session = InitiatorSession::create(options, std::move(auth).value());
    if (!session) return fail("session", session.error());
    if (auto ok = (*session)->login(); !ok) return fail("login " + std::to_string(i), ok.error());
    if (auto out = (*session)->logout(); !out) return fail("logout", out.error());
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%ld logins succeeded in %.2f s (%.0f/s)\n", count, s, count / s);
  return 0;
}
