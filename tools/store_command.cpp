// SPDX-License-Identifier: BSD-2-Clause
// multichap store: writes and lists the fleet's objects in etcd (docs/fleet.md).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "auth/algorithm.h"
#include "auth/policy.h"
#include "store/envelope.h"
#include "store/etcd_client.h"
#include "store/fleet_layout.h"
#include "tools/commands.h"

namespace multichap::cli {

namespace {

constexpr const char* kStoreUsage =
    R"(usage: multichap store ACTION [NAME] --endpoints URL[,URL...] [--prefix P] [options]

Writes and lists the objects a fleet of `multichap serve --config` targets with a [store] table
serves from (docs/fleet.md). Every target watches the prefix: a change reaches them
all within about a second, without a restart.

actions:
  put-account NAME      an incoming account (CHAP_N NAME); its secret from --secret-file or
                        MULTICHAP_SECRET (never the command line); replaces the old one
  put-identity NAME     a target identity for mutual CHAP, the secret likewise
  put-target IQN --accounts A[,B...] [--initiators all|IQN,...] [--identity NAME]
                 [--algs LIST] [--require-mutual]
                        a target: its bound accounts, ACL (default all), identity, algorithms
  put-discovery --accounts A[,B...] [--identity NAME] [--algs LIST] [--require-mutual]
                        how Discovery sessions authenticate (without it: no authentication)
  delete-account NAME, delete-identity NAME, delete-target IQN, delete-discovery
  list                  every object by name, with the lockouts in force (never a secret)

  --endpoints LIST      etcd client URLs, http:// or https:// (each call tries them in turn)
  --prefix P            the key prefix (default /multichap/)
  --secret-file PATH    the secret (or MULTICHAP_SECRET in the environment)
  --secrets-key-file F  seal the secret with AES-256-GCM under the first key of F
                        ("KID HEX" lines; targets need the same file: [store] secrets_key_file)
  --link-protected      accept secrets under 12 bytes (IPsec protects the links)
  --ca-file F, --cert-file F, --key-file F
                        TLS: the members' CA, and a client certificate and key
  --user U              etcd user; the password from --password-file F or MULTICHAP_ETCD_PASSWORD
  --timeout-ms N        deadline of each call per endpoint, 50-1500 (default 1500)
)";

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Error usage(const std::string& message) {
  return make_error(ErrorKind::usage, message);
}

Result<store::EtcdOptions> etcd_options(const Options& options) {
  store::EtcdOptions etcd;
  const std::string* endpoints = options.get("endpoints");
  if (endpoints == nullptr) return usage("store needs --endpoints URL[,URL...]");
  etcd.endpoints = split_list(*endpoints);
  if (const std::string* v = options.get("ca-file")) etcd.ca_file = *v;
  if (const std::string* v = options.get("cert-file")) etcd.cert_file = *v;
  if (const std::string* v = options.get("key-file")) etcd.key_file = *v;
  if (const std::string* v = options.get("timeout-ms")) {
    auto n = parse_number(*v, 1500);
    if (!n || *n < 50) return usage("--timeout-ms must be a number from 50 to 1500");
    etcd.deadline = store::Millis(*n);
  }
  if (const std::string* user = options.get("user")) {
    etcd.user = *user;
    if (const std::string* file = options.get("password-file")) {
      std::ifstream in(*file, std::ios::binary);
      if (!in) return usage("cannot read --password-file '" + *file + "'");
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      etcd.password = Secret::from_text(text);
      secure_wipe(text.data(), text.size());
    } else if (const char* env = std::getenv("MULTICHAP_ETCD_PASSWORD"); env != nullptr) {
      etcd.password = Secret::from_text(env);
    }
    if (etcd.password.empty()) {
      return usage("--user needs --password-file or MULTICHAP_ETCD_PASSWORD");
    }
  } else if (options.has("password-file")) {
    return usage("--password-file needs --user");
  }
  return etcd;
}

std::string prefix_of(const Options& options) {
  std::string prefix = options.has("prefix") ? *options.get("prefix") : "/multichap/";
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  return prefix;
}

// put-account / put-identity.
int put_secret(const Options& options, store::EtcdClient& client, const std::string& prefix,
               std::string_view dir, const std::string& name) {
  auto secret = read_secret(options, "", "MULTICHAP_SECRET");
  if (!secret) return report_error(secret.error());
  if (secret->empty()) {
    return report_error(usage("the secret comes from --secret-file or MULTICHAP_SECRET"));
  }
  ChapPolicy policy;
  policy.link_protected = options.has("link-protected");
  if (auto ok = check_secret(*secret, "secret of '" + name + "'", policy); !ok) {
    return report_error(make_error(ErrorKind::usage, ok.error().code, ok.error().message));
  }
  std::optional<store::KeyRing> ring;
  if (const std::string* file = options.get("secrets-key-file")) {
    auto loaded = store::KeyRing::load(*file);
    if (!loaded) return report_error(loaded.error());
    ring = std::move(loaded).value();
  }
  const std::string key = std::string(dir) + store::encode_name(name);
  auto value = store::secret_value(secret->bytes(), ring ? &*ring : nullptr, key);
  if (!value) return report_error(value.error());
  auto put = client.put(prefix + key, *value);
  secure_wipe(value->data(), value->size());
  if (!put) return report_error(put.error());
  std::cout << "stored " << prefix << key
            << (ring ? " (sealed with key " + ring->sealing_kid() + ")" : "") << " at revision "
            << *put << "\n";
  return kExitOk;
}

int put_target(const Options& options, store::EtcdClient& client, const std::string& prefix,
               const std::string& key) {
  store::StoredTarget t;
  const std::string* accounts = options.get("accounts");
  if (accounts == nullptr || split_list(*accounts).empty()) {
    return report_error(usage("put-target and put-discovery need --accounts A[,B...]"));
  }
  t.accounts = split_list(*accounts);
  if (const std::string* initiators = options.get("initiators")) {
    if (*initiators != "all") {
      t.allow_all = false;
      t.initiators = split_list(*initiators);
      if (t.initiators.empty()) return report_error(usage("--initiators names no initiator"));
    }
  }
  if (const std::string* identity = options.get("identity")) t.identity = *identity;
  if (options.has("require-mutual")) {
    if (!t.identity) return report_error(usage("--require-mutual needs --identity NAME"));
    t.auth = "mutual";
  }
  if (const std::string* algs = options.get("algs")) {
    auto list = parse_algorithm_list(*algs);
    if (!list) return report_error(usage("--algs: " + list.error().message));
    t.algorithms = *list;
  }
  // What the target names must exist, or every target skips it (and logs why).
  std::vector<std::string> missing;
  for (const std::string& a : t.accounts) {
    auto found =
        client.range(prefix + std::string(store::kAccountsDir) + store::encode_name(a), "", true);
    if (!found) return report_error(found.error());
    if (found->count == 0) missing.push_back("account " + a);
  }
  if (t.identity) {
    auto found = client.range(
        prefix + std::string(store::kIdentitiesDir) + store::encode_name(*t.identity), "", true);
    if (!found) return report_error(found.error());
    if (found->count == 0) missing.push_back("identity " + *t.identity);
  }
  for (const std::string& m : missing) {
    std::cerr << "multichap: warning: no " << m
              << " in the store yet: targets skip this object until it exists\n";
  }
  auto put = client.put(prefix + key, store::target_value(t));
  if (!put) return report_error(put.error());
  std::cout << "stored " << prefix << key << " at revision " << *put << "\n";
  return kExitOk;
}

int remove_object(store::EtcdClient& client, const std::string& prefix, const std::string& key) {
  auto deleted = client.remove(prefix + key);
  if (!deleted) return report_error(deleted.error());
  if (*deleted == 0) {
    std::cerr << "multichap: no " << prefix << key << " in the store\n";
    return kExitFailure;
  }
  std::cout << "deleted " << prefix << key << "\n";
  return kExitOk;
}

std::string decoded(std::string_view encoded) {
  auto name = store::decode_name(encoded);
  return name ? *name : std::string(encoded) + " (malformed name)";
}

int list_objects(store::EtcdClient& client, const std::string& prefix) {
  auto all = client.range(prefix, store::prefix_end(prefix));
  if (!all) return report_error(all.error());
  std::cout << "# " << prefix << " at revision " << all->revision << "\n";
  for (const store::KeyValue& kv : all->kvs) {
    const std::string rel = kv.key.substr(prefix.size());
    const auto under = [&](std::string_view dir) { return rel.rfind(dir, 0) == 0; };
    if (under(store::kAccountsDir) || under(store::kIdentitiesDir)) {
      const bool account = under(store::kAccountsDir);
      const std::string_view dir = account ? store::kAccountsDir : store::kIdentitiesDir;
      const bool sealed = kv.value.find("\"sealed\"") != std::string::npos;
      std::cout << (account ? "account " : "identity ") << decoded(rel.substr(dir.size()))
                << (sealed ? " (sealed)" : "") << "\n";
    } else if (under(store::kTargetsDir) || rel == store::kDiscoveryKey) {
      auto t = store::parse_target_value(kv.value);
      std::cout << (rel == store::kDiscoveryKey
                        ? std::string("discovery")
                        : "target " + decoded(rel.substr(store::kTargetsDir.size())));
      if (!t) {
        std::cout << " (not usable: " << t.error().message << ")\n";
        continue;
      }
      std::string initiators = "all";
      if (!t->allow_all) {
        initiators.clear();
        for (const auto& i : t->initiators) initiators += (initiators.empty() ? "" : ",") + i;
      }
      std::string accounts;
      for (const auto& a : t->accounts) accounts += (accounts.empty() ? "" : ",") + a;
      std::string algs;
      for (const Algorithm a : t->algorithms)
        algs += (algs.empty() ? "" : ",") + std::string(algorithm_name(a));
      if (rel != store::kDiscoveryKey) std::cout << " initiators=" << initiators;
      std::cout << " auth=" << t->auth << " accounts=" << accounts
                << " identity=" << (t->identity ? *t->identity : "-")
                << " algorithms=" << (algs.empty() ? "default" : algs) << "\n";
    } else if (rel.rfind("guard/lock/", 0) == 0) {
      std::string rest = rel.substr(std::string("guard/lock/").size() + 2);
      const auto slash = rest.find('/');
      std::cout << "lockout source " << decoded(rest.substr(0, slash));
      if (slash != std::string::npos) std::cout << " CHAP_N " << decoded(rest.substr(slash + 1));
      std::cout << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void define_store(CLI::App& command) {
  set_usage(command, kStoreUsage);
  command.add_option("action", "what to do")->required();
  command.add_option("name", "the object's name");
  for (const char* name : {"endpoints", "prefix", "secret-file", "secrets-key-file", "ca-file",
                           "cert-file", "key-file", "user", "password-file", "timeout-ms",
                           "accounts", "initiators", "identity", "algs"}) {
    add_value(command, name);
  }
  add_flag(command, "require-mutual");
  add_flag(command, "link-protected");
}

int run_store(const Options& options) {
  const std::string action = *options.get("action");
  const std::string* name = options.get("name");
  const bool named = action != "list" && action != "put-discovery" && action != "delete-discovery";
  static const char* const kActions[] = {"put-account",   "put-identity",     "put-target",
                                         "put-discovery", "delete-account",   "delete-identity",
                                         "delete-target", "delete-discovery", "list"};
  bool known = false;
  for (const char* a : kActions) known = known || action == a;
  if (!known) return report_error(usage("unknown store action '" + action + "'"));
  if (named && (name == nullptr || name->empty())) {
    return report_error(usage(action + " needs a NAME"));
  }
  if (!named && name != nullptr) return report_error(usage(action + " takes no NAME"));
  auto etcd = etcd_options(options);
  if (!etcd) return report_error(etcd.error());
  auto client = store::EtcdClient::create(std::move(etcd).value());
  if (!client) return report_error(client.error());
  const std::string prefix = prefix_of(options);
  store::EtcdClient& c = **client;
  if (action == "put-account") return put_secret(options, c, prefix, store::kAccountsDir, *name);
  if (action == "put-identity") return put_secret(options, c, prefix, store::kIdentitiesDir, *name);
  if (action == "put-target") {
    return put_target(options, c, prefix,
                      std::string(store::kTargetsDir) + store::encode_name(*name));
  }
  if (action == "put-discovery")
    return put_target(options, c, prefix, std::string(store::kDiscoveryKey));
  if (action == "delete-account") {
    return remove_object(c, prefix, std::string(store::kAccountsDir) + store::encode_name(*name));
  }
  if (action == "delete-identity") {
    return remove_object(c, prefix, std::string(store::kIdentitiesDir) + store::encode_name(*name));
  }
  if (action == "delete-target") {
    return remove_object(c, prefix, std::string(store::kTargetsDir) + store::encode_name(*name));
  }
  if (action == "delete-discovery")
    return remove_object(c, prefix, std::string(store::kDiscoveryKey));
  return list_objects(c, prefix);
}

}  // namespace multichap::cli
