// SPDX-License-Identifier: BSD-2-Clause
// multichap: CHAP for iSCSI over MD5, SHA-1, SHA-256 and SHA3-256, from the command line.
#include <array>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "auth/algorithm.h"
#include "auth/chap.h"
#include "auth/encoding.h"
#include "backends/hash_backend.h"
#include "backends/key_store.h"
#include "multichap/backend.h"
#include "tools/commands.h"
#include "tools/error_hints.h"
#include "tools/secret_file.h"

namespace multichap::cli {

namespace {

constexpr const char* kUsage = R"(usage: multichap COMMAND [OPTIONS]

iSCSI CHAP authentication over MD5, SHA-1, SHA-256 and SHA3-256.

commands:
  algorithms   list the crypto backends built in and the algorithms each supports
  version      print multichap's version and each backend's library version (also: --version)
  response     compute one CHAP response (for debugging interop)
  serve        run an iSCSI target (login phase) that authenticates initiators with CHAP
  login        log into an iSCSI target with CHAP (with no --portal: into an embedded one)
  discover     list the targets behind a portal (SendTargets discovery, optionally with CHAP)
  bench        hash throughput and CHAP operation rates per backend and algorithm
  store        write and list a fleet's accounts, identities and targets in etcd
  token        put a CHAP secret into a PKCS#11 token (import), list a token's keys (list)

Run 'multichap COMMAND --help' for a command's options, 'multichap --version' for the version.
Exit status: 0 success, 1 authentication failed, 2 usage error, 3 any other failure.
)";

constexpr const char* kResponseUsage =
    R"(usage: multichap response --alg ALG --id N --challenge VALUE
                          (--secret TEXT | --secret-hex HEX | --secret-file PATH |
                           --secret-pkcs11 URI) [--backend B]

Prints R = H(id || secret || challenge) (RFC 1994 §4.1) as 0x + lower-case hex.

  --alg ALG          md5, sha1, sha256, sha3-256 (or the CHAP_A number 5-8)
  --id N             the CHAP identifier, 0-255 (decimal or 0x hex)
  --challenge VALUE  the challenge as an iSCSI binary value: 0x<hex> or 0b<base64>
  --secret TEXT      the secret as text (visible in ps: prefer the two below)
  --secret-hex HEX   the secret as hex bytes (0x prefix optional)
  --secret-file PATH read the secret (text, trailing newline stripped) from a file
                     (or set MULTICHAP_SECRET in the environment)
  --secret-pkcs11 URI
                     a key in a PKCS#11 token (docs/backends.md): computed there
  --pkcs11-allow-md5 let the token compute MD5 if it can (only with a readable key)
  --backend B        crypto backend: a name or a plugin's path (see 'multichap algorithms');
                     default: the first found
)";

constexpr const char* kVersionUsage = R"(usage: multichap version
       multichap --version

Prints "multichap VERSION", then the crypto backends built into this binary, each with the
version of the library it runs on.
)";

// What `algorithms` and `version` print about a backend: "  NAME (LIBRARY VERSION)".
void print_backend(std::string_view name, const HashBackend& backend) {
  std::cout << "  " << name << " (" << backend.version() << ")\n";
}

}  // namespace

int report_error(const Error& error) {
  std::cerr << "multichap: " << error.message << "\n";
  if (const auto hint = cli_hint(error); !hint.empty()) std::cerr << "multichap: " << hint << "\n";
  switch (error.kind) {
    case ErrorKind::usage:
      return kExitUsage;
    case ErrorKind::authentication:
      return kExitAuthFailed;
    default:
      return kExitFailure;
  }
}

Result<Secret> read_secret(const Options& options, const std::string& prefix, const char* env_name,
                           SecretFromEnv from_env) {
  const std::string text_opt = prefix + "secret";
  const std::string hex_opt = prefix + "secret-hex";
  const std::string file_opt = prefix + "secret-file";
  const std::string pkcs11_opt = prefix + "secret-pkcs11";
  const int given = options.has(text_opt) + options.has(hex_opt) + options.has(file_opt) +
                    options.has(pkcs11_opt);
  if (given > 1) {
    return make_error(ErrorKind::usage, "give only one of --" + text_opt + ", --" + hex_opt +
                                            ", --" + file_opt + ", --" + pkcs11_opt);
  }
  if (const std::string* uri = options.get(pkcs11_opt)) {
    // A key in a PKCS#11 token: opened here, computed with inside the token, never read.
    if (uri->find("pin-value=") != std::string::npos) {
      std::cerr << "multichap: warning: --" << pkcs11_opt
                << " has pin-value= on the command line, where other users can read it (ps); "
                   "prefer pin-source=file:PATH or MULTICHAP_PKCS11_PIN\n";
    }
    const bool allow_md5 = options.has("pkcs11-allow-md5");
    auto secret = secret_from_reference(*uri, KeyOpenOptions{allow_md5});
    if (!secret) return with_context("--" + pkcs11_opt, secret.error());
    if (allow_md5 && secret->reference()->supports(Algorithm::md5)) {
      std::cerr << "multichap: warning: MD5 is allowed with " << secret->reference()->describe()
                << "; a token digests a key with MD5 usually only when the key's value is "
                   "readable: then anyone who can log into the token can read the secret\n";
    }
    return secret;
  }
  if (const std::string* text = options.get(text_opt)) {
    std::cerr << "multichap: warning: --" << text_opt
              << " puts the secret on the command line, where other "
              << "users can read it (ps); prefer --" << file_opt << " or " << env_name << "\n";
    return Secret::from_text(*text);
  }
  if (const std::string* hex = options.get(hex_opt)) {
    std::cerr << "multichap: warning: --" << hex_opt
              << " puts the secret on the command line, where other "
              << "users can read it (ps); prefer --" << file_opt << " or " << env_name << "\n";
    const bool prefixed =
        hex->size() >= 2 && (*hex)[0] == '0' && ((*hex)[1] == 'x' || (*hex)[1] == 'X');
    auto secret = Secret::from_encoded(prefixed ? *hex : "0x" + *hex);
    if (!secret) return make_error(ErrorKind::usage, "--" + hex_opt + " is not valid hex");
    return secret;
  }
  if (const std::string* path = options.get(file_opt)) {
    return read_secret_from_file(*path, "--" + file_opt);
  }
  if (from_env == SecretFromEnv::no) return Secret{};
  if (const char* env = std::getenv(env_name); env != nullptr && *env != '\0') {
    return Secret::from_text(env);
  }
  return Secret{};
}

constexpr const char* kAlgorithmsUsage =
    R"(usage: multichap algorithms [--backend PATH] [--secret-pkcs11 URI [--pkcs11-allow-md5]]

Lists the crypto backends available (default first) with the file each came from, the library
it computes with and the CHAP algorithms it can compute at run time; whether the secret arena
(where secrets live: locked in memory, out of core dumps) is on and locked; then the directories
searched for backend plugins and every plugin file refused, with the reason.

Plugins are loaded from the directories of MULTICHAP_BACKEND_PATH (a colon list of absolute
directories), then from the package's backend directory.

  --backend PATH    also load the backend plugin at PATH (a path: it contains a '/')
  --secret-pkcs11 URI
                    also list what the token can compute with that key (RFC 7512 URI, e.g.
                    pkcs11:token=multichap;object=alice;type=secret-key), and why not
  --pkcs11-allow-md5
                    let the key compute MD5 if the token can (only for a readable key)
)";

void define_algorithms(CLI::App& command) {
  set_usage(command, kAlgorithmsUsage);
  add_value(command, "backend");
  add_value(command, "secret-pkcs11");
  add_flag(command, "pkcs11-allow-md5");
}

int run_algorithms(const Options& options) {
  // An explicit plugin that is refused is listed with the others below, not an error.
  if (const std::string* path = options.get("backend")) (void)load_backend(*path);
  std::cout << "backends (default first):\n";
  for (const std::string& name : built_backends()) {
    auto backend = make_backend(name);
    if (!backend) return report_error(backend.error());
    print_backend(name, **backend);
    std::cout << "    from " << (*backend)->origin() << ", backend version "
              << ((*backend)->backend_version().empty() ? "-" : (*backend)->backend_version())
              << "\n";
    for (const auto& info : kAlgorithms) {
      std::cout << "    CHAP_A=" << int{info.chap_a} << "  " << info.name;
      for (std::size_t pad = info.name.size(); pad < 9; ++pad) std::cout << ' ';
      std::cout << "digest " << info.digest_size << " bytes  "
                << ((*backend)->supports(info.id) ? "supported" : "unsupported") << "\n";
    }
  }
  if (built_backends().empty()) std::cout << "  none\n";
  {
    // One secret's worth from the arena, so the line says whether its pages can be locked.
    const SecureBytes probe(1);
    std::cout << secret_arena_status() << "\n";
  }
  const auto holders = key_backends();
  if (!holders.empty()) {
    std::cout << "backends holding secrets by reference (--secret-pkcs11):\n";
    for (const std::string& name : holders) {
      auto backend = make_backend(name);
      if (!backend) return report_error(backend.error());
      // Not "  NAME (VERSION)": that line names a backend of plain secrets.
      std::cout << "  " << name << ": " << (*backend)->version() << ", from "
                << (*backend)->origin() << "\n";
    }
  }
  if (options.has("secret-pkcs11")) {
    auto secret = read_secret(options, "", "MULTICHAP_SECRET", SecretFromEnv::no);
    if (!secret) return report_error(secret.error());
    const KeyReference& key = *secret->reference();
    std::cout << "secret " << key.describe();
    if (key.size() != 0) std::cout << " (" << key.size() << " bytes)";
    std::cout << ", computed in the token:\n";
    for (const auto& info : kAlgorithms) {
      std::cout << "    CHAP_A=" << int{info.chap_a} << "  " << info.name;
      for (std::size_t pad = info.name.size(); pad < 9; ++pad) std::cout << ' ';
      if (key.supports(info.id)) {
        std::cout << "supported\n";
      } else {
        std::cout << "unsupported: " << key.why_unsupported(info.id) << "\n";
      }
    }
  }
  std::cout << "plugin directories searched:\n";
  for (const std::string& dir : backend_search_path()) std::cout << "  " << dir << "\n";
  const auto refused = refused_backends();
  if (!refused.empty()) {
    std::cout << "plugins refused:\n";
    for (const RefusedBackend& r : refused) std::cout << "  " << r.file << ": " << r.reason << "\n";
  }
  return kExitOk;
}

void define_version(CLI::App& command) {
  set_usage(command, kVersionUsage);
}

int run_version(const Options& /*options*/) {
  std::cout << "multichap " << MULTICHAP_VERSION_STRING << "\n";
  std::cout << "backends (default first):\n";
  for (const std::string& name : built_backends()) {
    auto backend = make_backend(name);
    if (!backend) return report_error(backend.error());
    print_backend(name, **backend);
  }
  return kExitOk;
}

void define_response(CLI::App& command) {
  set_usage(command, kResponseUsage);
  add_value(command, "alg")->required()->check(checked_by([](const std::string& value) {
    auto alg = parse_algorithm(value);
    return alg ? std::string() : alg.error().message;
  }));
  add_value(command, "id")
      ->required()
      ->check(number_in(0, 255, "must be 0-255 (decimal or 0x hex)"));
  add_value(command, "challenge")->required();
  add_secret_options(command, "");
  add_flag(command, "pkcs11-allow-md5");
  add_value(command, "backend");
}

int run_response(const Options& options) {
  auto alg = parse_algorithm(*options.get("alg"));
  if (!alg) return report_error(alg.error());
  auto id = parse_number(*options.get("id"), 255);
  if (!id)
    return report_error(make_error(ErrorKind::usage, "--id must be 0-255 (decimal or 0x hex)"));
  auto challenge = decode_binary(*options.get("challenge"), kMaxBinaryValueBytes);
  if (!challenge) {
    return report_error(make_error(ErrorKind::usage, "--challenge: " + challenge.error().message));
  }
  auto secret = read_secret(options, "", "MULTICHAP_SECRET");
  if (!secret) return report_error(secret.error());
  if (secret->empty()) {
    return report_error(make_error(
        ErrorKind::usage,
        "response needs a secret: --secret, --secret-hex, --secret-file or MULTICHAP_SECRET"));
  }
  auto backend = options.has("backend") ? make_backend_by_name_or_path(*options.get("backend"))
                                        : make_default_backend();
  if (!backend) return report_error(backend.error());
  std::array<std::uint8_t, kMaxDigestSize> out{};
  const ScopedWipe wipe_out(out);  // the response, on every path out of here
  auto n = chap_response(**backend, *alg, static_cast<std::uint8_t>(*id), *secret,
                         ByteView(challenge->data(), challenge->size()), out);
  if (!n) return report_error(n.error());
  std::cout << encode_hex(ByteView(out.data(), *n)) << "\n";
  return kExitOk;
}

}  // namespace multichap::cli

namespace {

int dispatch(int argc, char** argv) {
  using namespace multichap::cli;
  CLI::App app("iSCSI CHAP authentication", "multichap");
  set_usage(app, kUsage);
  app.allow_extras();  // unknown commands, options and stray arguments: parse_command_line
  app.require_subcommand(0, 1);
  struct Command {
    const char* name;
    void (*define)(CLI::App&);
    int (*run)(const Options&);
  };
  static constexpr Command kCommands[] = {{"algorithms", define_algorithms, run_algorithms},
                                          {"version", define_version, run_version},
                                          {"response", define_response, run_response},
                                          {"serve", define_serve, run_serve},
                                          {"login", define_login, run_login},
                                          {"discover", define_discover, run_discover},
                                          {"bench", define_bench, run_bench},
                                          {"store", define_store, run_store},
                                          {"token", define_token, run_token}};
  for (const Command& c : kCommands) c.define(*app.add_subcommand(c.name));
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args.front() == "--version") args.front() = "version";  // the same command
  const ParseOutcome parsed = parse_command_line(app, kUsage, std::move(args));
  if (parsed.command == nullptr) return parsed.status;
  for (const Command& c : kCommands) {
    if (parsed.command->get_name() == c.name) {
      const Options options(*parsed.command);
      return c.run(options);
    }
  }
  return kExitFailure;  // not reached: every subcommand is in kCommands
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // A backend's own errors (a failed generator, say) on stderr; refused plugins are listed by
    // `multichap algorithms`, and an explicit --backend PATH that is refused is an error.
    multichap::set_backend_log([](int level, const std::string& line) {
      if (level == MULTICHAP_BACKEND_LOG_ERROR) std::cerr << "multichap: " << line << "\n";
    });
    // The secret arena says once when it cannot lock secrets in memory (RLIMIT_MEMLOCK).
    multichap::set_secret_arena_log(
        [](const std::string& line) { std::cerr << "multichap: warning: " << line << "\n"; });
    return dispatch(argc, argv);
  } catch (const std::exception& e) {  // out of memory, thread creation failure...
    std::cerr << "multichap: internal error: " << e.what() << "\n";
    return multichap::cli::kExitFailure;
  }
}
