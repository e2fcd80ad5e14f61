// SPDX-License-Identifier: BSD-2-Clause
#include "tools/initiator_setup.h"

#include <iostream>
#include <mutex>

#include "auth/encoding.h"
#include "tools/commands.h"

namespace multichap::cli {

namespace {
std::mutex g_print_mutex;
}  // namespace

void print_line(const std::string& line) {
  const std::lock_guard<std::mutex> lock(g_print_mutex);
  std::cout << line << std::endl;
}

Result<std::shared_ptr<const HashBackend>> backend_from(const Options& options) {
  return options.has("backend") ? make_backend_by_name_or_path(*options.get("backend"))
                                : make_default_backend();
}

Result<ChapPolicy> policy_from(const Options& options) {
  ChapPolicy policy;
  if (const std::string* algs = options.get("algs")) {
    MULTICHAP_ASSIGN_OR_RETURN(policy.algorithms, parse_algorithm_list(*algs));
  }
  if (options.has("legacy-tgt-sha1")) policy.numbering = ChapNumbering::legacy_tgt_sha1;
  if (options.has("link-protected")) policy.link_protected = true;
  if (const std::string* size = options.get("challenge-size")) {
    auto n = parse_number(*size, 1024);
    if (!n) return make_error(ErrorKind::usage, "--challenge-size must be a number 16-1024");
    policy.challenge_size = *n;
  }
  MULTICHAP_GUARD(validate_policy(policy));
  return policy;
}

Result<std::optional<ChapCredentials>> target_credentials(const Options& options) {
  const std::string* user = options.get("target-user");
  MULTICHAP_ASSIGN_OR_RETURN(Secret secret,
                             read_secret(options, "target-", "MULTICHAP_TARGET_SECRET",
                                         user != nullptr ? SecretFromEnv::yes : SecretFromEnv::no));
  if (user == nullptr && secret.empty()) return std::optional<ChapCredentials>{};
  if (user == nullptr) return make_error(ErrorKind::usage, "a target secret needs --target-user");
  if (secret.empty()) {
    return make_error(
        ErrorKind::usage,
        "--target-user needs --target-secret, --target-secret-file or MULTICHAP_TARGET_SECRET");
  }
  return std::optional<ChapCredentials>(ChapCredentials{*user, std::move(secret)});
}

Result<void> load_open_iscsi(const Options& options, OpenIscsiSettings& settings) {
  for (const char* name : {"iscsid-conf", "node-record"}) {
    const std::string* path = options.get(name);
    if (path == nullptr) continue;
    const std::size_t before = settings.warnings.size();
    MULTICHAP_GUARD(read_open_iscsi_settings(*path, settings));
    for (std::size_t i = before; i < settings.warnings.size(); ++i)
      std::cerr << "multichap: warning: " << settings.warnings[i] << "\n";
  }
  return {};
}

Result<std::shared_ptr<const ChapInitiatorConfig>> initiator_config(
    const Options& options, const OpenIscsiAuth* file,
    const std::optional<std::vector<Algorithm>>& file_algs, bool discovery, bool none_ok,
    const std::string& what) {
  MULTICHAP_ASSIGN_OR_RETURN(ChapPolicy policy, policy_from(options));
  if (!options.has("algs") && file_algs) {
    policy.algorithms = *file_algs;
    MULTICHAP_GUARD(validate_policy(policy));
  }
  auto config = std::make_shared<ChapInitiatorConfig>();
  config->policy = policy;
  std::string user = options.has("user") ? *options.get("user") : std::string();
  // MULTICHAP_SECRET only when this session asks for CHAP: --user, or a user name in the
  // open-iscsi settings for it. Merely exported, it leaves a session without CHAP alone.
  const bool asks_chap = !user.empty() || (file != nullptr && !file->username.empty());
  MULTICHAP_ASSIGN_OR_RETURN(Secret secret,
                             read_secret(options, "", "MULTICHAP_SECRET",
                                         asks_chap ? SecretFromEnv::yes : SecretFromEnv::no));
  MULTICHAP_ASSIGN_OR_RETURN(auto target, target_credentials(options));
  if (file != nullptr) {
    if (user.empty()) user = file->username;
    if (secret.empty() && !file->password.empty())
      secret = Secret::from_bytes(file->password.bytes());
    if (!target && !file->username_in.empty() && !file->password_in.empty()) {
      target = ChapCredentials{file->username_in, Secret::from_bytes(file->password_in.bytes())};
    }
  }
  const bool file_says_none = file != nullptr && file->chap && !*file->chap;
  const bool file_says_chap = file != nullptr && file->chap && *file->chap;
  if (user.empty() && secret.empty() && !target && none_ok && !file_says_chap) {
    config->policy.allow_none = true;  // AuthMethod=None only
    return std::shared_ptr<const ChapInitiatorConfig>(std::move(config));
  }
  if (file_says_none && !options.has("user")) {
    config->policy.allow_none = true;
    config->local = ChapCredentials{};
    return std::shared_ptr<const ChapInitiatorConfig>(std::move(config));
  }
  if (user.empty()) {
    return make_error(ErrorKind::usage, what +
                                            " needs --user (or a username in the open-iscsi "
                                            "settings)");
  }
  if (secret.empty()) {
    return make_error(ErrorKind::usage, what +
                                            " needs a secret: --secret, --secret-file, "
                                            "MULTICHAP_SECRET or a password in the open-iscsi "
                                            "settings");
  }
  config->local = ChapCredentials{user, std::move(secret)};
  config->target = std::move(target);
  if (discovery) config->policy.allow_none = !config->target.has_value();
  return std::shared_ptr<const ChapInitiatorConfig>(std::move(config));
}

Result<void> initiator_options_from(const Options& options, InitiatorOptions& init) {
  if (const std::string* name = options.get("initiator-name")) init.initiator_name = *name;
  if (const std::string* r = options.get("retries")) {
    auto v = parse_number(*r, 100);
    if (!v) return make_error(ErrorKind::usage, "--retries must be a number 0-100");
    init.max_attempts = *v + 1;
  }
  if (const std::string* t = options.get("timeout")) {
    auto v = parse_number(*t, 3600);
    if (!v || *v == 0) return make_error(ErrorKind::usage, "--timeout must be 1-3600 seconds");
    init.connect_timeout = init.login_timeout = Millis(std::uint64_t{*v} * 1000);
  }
  if (const std::string* f = options.get("offer-fallback")) {
    if (*f == "on") {
      init.offer_fallback = true;
    } else if (*f == "off") {
      init.offer_fallback = false;
    } else {
      return make_error(ErrorKind::usage, "--offer-fallback must be on or off");
    }
  }
  if (!options.has("quiet")) init.transcript = print_line;
  return {};
}

void print_secret_notes(const std::shared_ptr<const ChapInitiatorConfig>& config,
                        const std::shared_ptr<const HashBackend>& backend,
                        const InitiatorOptions& init) {
  if (!init.transcript) return;
  auto valid = ValidChapInitiatorConfig::create(config, backend);
  if (!valid) return;  // the login reports it
  for (const std::string& note : (*valid)->notes()) init.transcript("note: " + note);
}

void define_chap_options(CLI::App& command) {
  add_value(command, "user");
  add_secret_options(command, "");
  add_value(command, "target-user");
  add_secret_options(command, "target-");
  add_value(command, "algs");
  add_value(command, "backend");
  add_value(command, "challenge-size")->check(number_in(16, 1024));
  add_flag(command, "legacy-tgt-sha1");
  add_flag(command, "link-protected");
  add_flag(command, "pkcs11-allow-md5");
}

void define_initiator_options(CLI::App& command) {
  define_chap_options(command);
  add_value(command, "portal");
  add_value(command, "initiator-name");
  add_value(command, "retries")->check(number_in(0, 100));
  add_value(command, "timeout")->check(number_in(1, 3600, "must be 1-3600 seconds"));
  add_value(command, "offer-fallback")->check(one_of({"on", "off"}));
  add_value(command, "iscsid-conf");
  add_value(command, "node-record");
  add_flag(command, "quiet");
}

}  // namespace multichap::cli
