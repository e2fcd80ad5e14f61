// SPDX-License-Identifier: BSD-2-Clause
// The TOML reader of `multichap serve --config`. toml++ (Debian libtomlplusplus-dev) is used
// header-only with exceptions off, in this file only.
#include "tools/serve_config.h"

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#define TOML_EXCEPTIONS 0
#define TOML_HEADER_ONLY 1
#include <toml++/toml.h>

#include "auth/algorithm.h"
#include "backends/key_store.h"
#include "tools/secret_file.h"

namespace multichap::cli {

namespace {

using Line = std::uint32_t;

class Reader {
 public:
  explicit Reader(std::string path) : m_path(std::move(path)) {
    const auto slash = m_path.rfind('/');
    m_dir = slash == std::string::npos ? "." : m_path.substr(0, slash);
  }

  // A usage error at path:line; config_invalid unless the failure has a code of its own.
  Error error(Line line, ErrorCode code, const std::string& what) const {
    return make_error(ErrorKind::usage, code, m_path + ":" + std::to_string(line) + ": " + what);
  }
  Error error(Line line, const std::string& what) const {
    return error(line, ErrorCode::config_invalid, what);
  }
  static Line line_of(const toml::node& node) { return node.source().begin.line; }

  // Every key of table must be one of allowed.
  Result<void> only(const toml::table& table, std::initializer_list<const char*> allowed,
                    const std::string& where) const {
    for (auto&& [key, value] : table) {
      bool ok = false;
      for (const char* a : allowed) ok = ok || key.str() == a;
      if (!ok) {
        return error(line_of(value), "unknown key '" + std::string(key.str()) + "' in " + where);
      }
    }
    return {};
  }

  Result<std::optional<std::string>> string(const toml::table& t, const char* key) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::optional<std::string>();
    if (!n->is_string()) return error(line_of(*n), std::string(key) + " must be a string");
    return std::optional<std::string>(**n->as_string());
  }
  Result<std::optional<std::int64_t>> integer(const toml::table& t, const char* key,
                                              std::int64_t min, std::int64_t max) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::optional<std::int64_t>();
    if (!n->is_integer()) return error(line_of(*n), std::string(key) + " must be an integer");
    const std::int64_t v = **n->as_integer();
    if (v < min || v > max) {
      return error(line_of(*n), std::string(key) + " must be from " + std::to_string(min) + " to " +
                                    std::to_string(max));
    }
    return std::optional<std::int64_t>(v);
  }
  Result<std::optional<bool>> boolean(const toml::table& t, const char* key) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::optional<bool>();
    if (!n->is_boolean()) return error(line_of(*n), std::string(key) + " must be true or false");
    return std::optional<bool>(**n->as_boolean());
  }
  Result<std::vector<std::string>> strings(const toml::table& t, const char* key) const {
    std::vector<std::string> out;
    const toml::node* n = t.get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) return error(line_of(*n), std::string(key) + " must be a list of strings");
    for (const toml::node& item : *a) {
      if (!item.is_string()) return error(line_of(item), std::string(key) + ": not a string");
      out.push_back(**item.as_string());
    }
    return out;
  }

  // A secret from secret_file, secret_env or secret (exactly one); `shown` is its masked form.
  Result<Secret> secret(const toml::table& t, Line line, const std::string& what,
                        std::string& shown, std::vector<std::string>& warnings) const {
    MULTICHAP_ASSIGN_OR_RETURN(auto file, string(t, "secret_file"));
    MULTICHAP_ASSIGN_OR_RETURN(auto env, string(t, "secret_env"));
    MULTICHAP_ASSIGN_OR_RETURN(auto inline_secret, string(t, "secret"));
    MULTICHAP_ASSIGN_OR_RETURN(auto pkcs11, string(t, "secret_pkcs11"));
    const int sources = int{file.has_value()} + int{env.has_value()} +
                        int{inline_secret.has_value()} + int{pkcs11.has_value()};
    if (sources != 1) {
      return error(line,
                   what + " needs exactly one of secret_file, secret_env, secret, secret_pkcs11");
    }
    if (pkcs11) {
      // A key in a PKCS#11 token (RFC 7512 URI): opened now, never read into memory.
      auto key = secret_from_reference(*pkcs11);
      if (!key) {
        // Its own kind: a wrong PIN or an absent token is not a mistake in the file.
        return make_error(key.error().kind, key.error().code,
                          m_path + ":" + std::to_string(line_of(*t.get("secret_pkcs11"))) + ": " +
                              what + ": " + key.error().message);
      }
      shown = "secret_pkcs11 = \"" + reference_for_display(*pkcs11) + "\"";
      return std::move(key).value();
    }
    if (file) {
      const std::string path = (!file->empty() && (*file)[0] == '/') ? *file : m_dir + "/" + *file;
      auto s = read_secret_from_file(path, what + ": secret file");
      if (!s) return error(line_of(*t.get("secret_file")), s.error().code, s.error().message);
      shown = "secret_file = \"" + *file + "\"";
      return std::move(s).value();
    }
    if (env) {
      const char* value = std::getenv(env->c_str());
      if (value == nullptr || *value == '\0') {
        return error(line_of(*t.get("secret_env")),
                     what + ": environment variable " + *env + " is not set");
      }
      shown = "secret_env = \"" + *env + "\"";
      return Secret::from_text(value);
    }
    warnings.push_back(m_path + ":" + std::to_string(line_of(*t.get("secret"))) + ": " + what +
                       " has its secret inline; prefer secret_file or secret_env");
    shown = "secret = \"********\"";
    return Secret::from_text(*inline_secret);
  }

 private:
  std::string m_path;
  std::string m_dir;
};

// The directory of a configuration file (relative paths in it are relative to it).
std::string reader_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i ? ", \"" : "\"") + items[i] + "\"";
  }
  return out + "]";
}

struct Credential {
  std::string name;
  Secret secret;
  std::string shown;
};

}  // namespace

Result<ServeConfig> load_serve_config(const std::string& path) {
  Reader reader(path);
  toml::parse_result parsed = toml::parse_file(path);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    return reader.error(e.source().begin.line, ErrorCode::config_syntax,
                        std::string(e.description()));
  }
  const toml::table& root = parsed.table();
  ServeConfig config;
  std::ostringstream norm;
  MULTICHAP_GUARD(reader.only(root,
                              {"listen", "backend", "limits", "defence", "accounts", "identities",
                               "discovery", "targets", "store"},
                              "the top level"));

  // listen = "HOST:PORT" or ["HOST:PORT", ...]
  if (const toml::node* n = root.get("listen")) {
    std::vector<std::string> portals;
    if (n->is_string()) {
      portals.push_back(**n->as_string());
    } else if (!n->is_array()) {
      return reader.error(Reader::line_of(*n), "listen must be \"HOST:PORT\" or a list of them");
    } else {
      MULTICHAP_ASSIGN_OR_RETURN(portals, reader.strings(root, "listen"));
    }
    if (portals.empty()) return reader.error(Reader::line_of(*n), "listen names no portal");
    config.listen.clear();
    for (const std::string& p : portals) {
      auto ep = parse_endpoint(p);
      if (!ep) return reader.error(Reader::line_of(*n), "listen: " + ep.error().message);
      config.listen.push_back(*ep);
    }
  }
  MULTICHAP_ASSIGN_OR_RETURN(auto backend, reader.string(root, "backend"));
  if (backend) config.backend = *backend;
  std::vector<std::string> portal_names;
  for (const Endpoint& e : config.listen) portal_names.push_back(e.to_string());
  norm << "listen = " << quoted_list(portal_names) << "\n";
  if (!config.backend.empty()) norm << "backend = \"" << config.backend << "\"\n";

  // [limits]
  TargetOptions& engine = config.engine;
  if (const toml::node* n = root.get("limits")) {
    const toml::table* t = n->as_table();
    if (t == nullptr) return reader.error(Reader::line_of(*n), "limits must be a table");
    MULTICHAP_GUARD(
        reader.only(*t,
                    {"login_timeout", "max_unauthenticated", "max_unauthenticated_per_source",
                     "max_connections", "threads", "lookup_timeout_ms", "busy_poll_us"},
                    "[limits]"));
    MULTICHAP_ASSIGN_OR_RETURN(auto v, reader.integer(*t, "login_timeout", 1, 3600));
    if (v) engine.login_timeout = Millis(*v * 1000);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "max_unauthenticated", 1, 1 << 20));
    if (v) engine.max_unauthenticated = static_cast<std::size_t>(*v);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "max_unauthenticated_per_source", 1, 1 << 20));
    if (v) engine.max_unauthenticated_per_source = static_cast<std::size_t>(*v);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "max_connections", 1, 1 << 20));
    if (v) engine.max_connections = static_cast<std::size_t>(*v);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "threads", 1, 256));
    if (v) engine.threads = static_cast<unsigned>(*v);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "lookup_timeout_ms", 1, 600000));
    if (v) engine.lookup_timeout = Millis(*v);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "busy_poll_us", 0, 1000));
    if (v) engine.busy_poll = std::chrono::microseconds(*v);
  }
  norm << "\n[limits]\nlogin_timeout = " << engine.login_timeout.count() / 1000
       << "\nmax_unauthenticated = " << engine.max_unauthenticated
       << "\nmax_unauthenticated_per_source = " << engine.max_unauthenticated_per_source
       << "\nmax_connections = " << engine.max_connections << "\nthreads = " << engine.threads
       << (engine.threads == 0 ? "  # one per core" : "")
       << "\nlookup_timeout_ms = " << engine.lookup_timeout.count()
       << "\nbusy_poll_us = " << engine.busy_poll.count() << "\n";

  // [defence]
  LoginGuardPolicy& guard = engine.guard;
  if (const toml::node* n = root.get("defence")) {
    const toml::table* t = n->as_table();
    if (t == nullptr) return reader.error(Reader::line_of(*n), "defence must be a table");
    MULTICHAP_GUARD(reader.only(*t,
                                {"enabled", "lockout_failures", "source_lockout_failures", "window",
                                 "lockout", "base_delay_ms", "max_delay_ms", "max_entries"},
                                "[defence]"));
    MULTICHAP_ASSIGN_OR_RETURN(auto on, reader.boolean(*t, "enabled"));
    if (on) guard.enabled = *on;
    MULTICHAP_ASSIGN_OR_RETURN(auto v, reader.integer(*t, "lockout_failures", 1, 1000000));
    if (v) guard.lockout_failures = static_cast<std::uint32_t>(*v);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "source_lockout_failures", 1, 1000000));
    if (v) guard.source_lockout_failures = static_cast<std::uint32_t>(*v);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "window", 1, 86400));
    if (v) guard.window = Millis(*v * 1000);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "lockout", 1, 86400));
    if (v) guard.lockout = Millis(*v * 1000);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "base_delay_ms", 0, 60000));
    if (v) guard.base_delay = Millis(*v);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "max_delay_ms", 0, 60000));
    if (v) guard.max_delay = Millis(*v);
    MULTICHAP_ASSIGN_OR_RETURN(v, reader.integer(*t, "max_entries", 1, 1 << 24));
    if (v) guard.max_entries = static_cast<std::size_t>(*v);
  }
  norm << "\n[defence]\nenabled = " << (guard.enabled ? "true" : "false")
       << "\nlockout_failures = " << guard.lockout_failures
       << "\nsource_lockout_failures = " << guard.source_lockout_failures
       << "\nwindow = " << guard.window.count() / 1000
       << "\nlockout = " << guard.lockout.count() / 1000
       << "\nbase_delay_ms = " << guard.base_delay.count()
       << "\nmax_delay_ms = " << guard.max_delay.count() << "\nmax_entries = " << guard.max_entries
       << "\n";

  // [store]: everything below comes from the store instead.
  if (const toml::node* n = root.get("store")) {
    const toml::table* t = n->as_table();
    if (t == nullptr) return reader.error(Reader::line_of(*n), "store must be a table");
    MULTICHAP_GUARD(reader.only(
        *t,
        {"kind", "endpoints", "prefix", "ca_file", "cert_file", "key_file", "user", "password_file",
         "password_env", "password", "max_stale", "timeout_ms", "secrets_key_file", "fleet_guard"},
        "[store]"));
    for (const char* local : {"accounts", "identities", "discovery", "targets"}) {
      if (const toml::node* other = root.get(local)) {
        return reader.error(Reader::line_of(*other),
                            std::string(local) +
                                ": with [store], the targets, accounts, "
                                "identities and discovery come from the store");
      }
    }
    StoreSettings st;
    MULTICHAP_ASSIGN_OR_RETURN(auto kind, reader.string(*t, "kind"));
    if (kind) st.kind = *kind;
    if (st.kind != "etcd") {
      return reader.error(Reader::line_of(*t->get("kind")), "store kind must be \"etcd\"");
    }
    const toml::node* eps = t->get("endpoints");
    if (eps == nullptr) return reader.error(Reader::line_of(*n), "[store] needs endpoints");
    if (eps->is_string()) {
      st.etcd.endpoints.push_back(**eps->as_string());
    } else {
      MULTICHAP_ASSIGN_OR_RETURN(st.etcd.endpoints, reader.strings(*t, "endpoints"));
    }
    if (st.etcd.endpoints.empty()) {
      return reader.error(Reader::line_of(*eps), "endpoints names no etcd member");
    }
    for (const std::string& e : st.etcd.endpoints) {
      if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0) {
        return reader.error(Reader::line_of(*eps),
                            "endpoint '" + e + "' must start with http:// or https://");
      }
    }
    MULTICHAP_ASSIGN_OR_RETURN(auto prefix, reader.string(*t, "prefix"));
    if (prefix) st.prefix = *prefix;
    if (st.prefix.empty() || st.prefix.back() != '/') st.prefix += '/';
    const auto path_of = [&](const char* key, std::string& into) -> Result<void> {
      MULTICHAP_ASSIGN_OR_RETURN(auto v, reader.string(*t, key));
      if (v) into = (!v->empty() && (*v)[0] == '/') ? *v : reader_dir(path) + "/" + *v;
      return {};
    };
    MULTICHAP_GUARD(path_of("ca_file", st.etcd.ca_file));
    MULTICHAP_GUARD(path_of("cert_file", st.etcd.cert_file));
    MULTICHAP_GUARD(path_of("key_file", st.etcd.key_file));
    MULTICHAP_GUARD(path_of("secrets_key_file", st.secrets_key_file));
    MULTICHAP_ASSIGN_OR_RETURN(auto user, reader.string(*t, "user"));
    std::string password_shown;
    if (user) {
      st.etcd.user = *user;
      toml::table password_table;
      for (const char* from : {"password_file", "password_env", "password"}) {
        if (const toml::node* v = t->get(from)) {
          if (!v->is_string()) {
            return reader.error(Reader::line_of(*v), std::string(from) + " must be a string");
          }
          const std::string key = std::string(from) == "password_file"  ? "secret_file"
                                  : std::string(from) == "password_env" ? "secret_env"
                                                                        : "secret";
          password_table.insert(key, *v->as_string());
        }
      }
      MULTICHAP_ASSIGN_OR_RETURN(
          st.etcd.password, reader.secret(password_table, Reader::line_of(*n), "[store] password",
                                          password_shown, config.warnings));
    } else if (t->get("password_file") || t->get("password_env") || t->get("password")) {
      return reader.error(Reader::line_of(*n), "[store] has a password but no user");
    }
    MULTICHAP_ASSIGN_OR_RETURN(auto stale, reader.integer(*t, "max_stale", 1, 86400));
    if (stale) st.max_stale = Millis(*stale * 1000);
    MULTICHAP_ASSIGN_OR_RETURN(auto timeout, reader.integer(*t, "timeout_ms", 50, 1500));
    if (timeout) st.etcd.deadline = Millis(*timeout);
    MULTICHAP_ASSIGN_OR_RETURN(auto fleet_guard, reader.boolean(*t, "fleet_guard"));
    if (fleet_guard) st.fleet_guard = *fleet_guard;
    norm << "\n[store]\nkind = \"" << st.kind
         << "\"\nendpoints = " << quoted_list(st.etcd.endpoints) << "\nprefix = \"" << st.prefix
         << "\"\n";
    if (!st.etcd.ca_file.empty()) norm << "ca_file = \"" << st.etcd.ca_file << "\"\n";
    if (!st.etcd.cert_file.empty()) norm << "cert_file = \"" << st.etcd.cert_file << "\"\n";
    if (!st.etcd.key_file.empty()) norm << "key_file = \"" << st.etcd.key_file << "\"\n";
    if (!st.etcd.user.empty()) {
      std::string shown = password_shown;
      if (shown.rfind("secret", 0) == 0) shown = "password" + shown.substr(6);
      norm << "user = \"" << st.etcd.user << "\"\n" << shown << "\n";
    }
    if (!st.secrets_key_file.empty())
      norm << "secrets_key_file = \"" << st.secrets_key_file << "\"\n";
    norm << "max_stale = " << st.max_stale.count() / 1000
         << "\ntimeout_ms = " << st.etcd.deadline.count()
         << "\nfleet_guard = " << (st.fleet_guard ? "true" : "false") << "\n";
    auto access = std::make_shared<TargetAccess>();
    access->allow_empty = true;
    for (const Endpoint& e : config.listen) access->addresses.push_back(e.to_string() + ",1");
    config.access = std::move(access);
    config.store = std::move(st);
    config.normalized = norm.str();
    return config;
  }

  // [accounts.NAME] and [identities.NAME]: the CHAP_N is the table's name.
  std::map<std::string, Credential> accounts;
  std::map<std::string, Credential> identities;
  for (const char* section : {"accounts", "identities"}) {
    const toml::node* n = root.get(section);
    if (n == nullptr) continue;
    const toml::table* t = n->as_table();
    if (t == nullptr)
      return reader.error(Reader::line_of(*n), std::string(section) + " must be a table");
    auto& into = std::string(section) == "accounts" ? accounts : identities;
    for (auto&& [key, value] : *t) {
      const toml::table* entry = value.as_table();
      const std::string name(key.str());
      const std::string where = std::string(section) + "." + name;
      if (entry == nullptr) return reader.error(Reader::line_of(value), where + " must be a table");
      MULTICHAP_GUARD(reader.only(*entry, {"secret_file", "secret_env", "secret", "secret_pkcs11"},
                                  "[" + where + "]"));
      std::string shown;
      MULTICHAP_ASSIGN_OR_RETURN(Secret secret, reader.secret(*entry, Reader::line_of(value), where,
                                                              shown, config.warnings));
      into.emplace(name, Credential{name, std::move(secret), shown});
      norm << "\n[" << section << ".\"" << name << "\"]\n" << shown << "\n";
    }
  }

  auto access = std::make_shared<TargetAccess>();
  // One ChapTargetConfig from the common keys of [discovery] and [[targets]].
  const auto chap_of =
      [&](const toml::table& t, Line line, const std::string& where,
          const std::string& default_auth,
          std::string& summary) -> Result<std::shared_ptr<const ChapTargetConfig>> {
    MULTICHAP_ASSIGN_OR_RETURN(auto auth, reader.string(t, "auth"));
    const std::string method = auth ? *auth : default_auth;
    if (method != "none" && method != "chap" && method != "mutual") {
      return reader.error(Reader::line_of(*t.get("auth")),
                          where + ": auth must be none, chap or mutual");
    }
    MULTICHAP_ASSIGN_OR_RETURN(auto names, reader.strings(t, "accounts"));
    MULTICHAP_ASSIGN_OR_RETURN(auto identity, reader.string(t, "identity"));
    MULTICHAP_ASSIGN_OR_RETURN(auto algs, reader.strings(t, "algorithms"));
    summary = "auth = \"" + method + "\"\n";
    if (method == "none") {
      if (!names.empty() || identity) {
        return reader.error(line, where + ": auth = \"none\" takes no accounts or identity");
      }
      return std::shared_ptr<const ChapTargetConfig>();
    }
    auto chap = std::make_shared<ChapTargetConfig>();
    if (names.empty()) return reader.error(line, where + ": CHAP needs accounts = [...]");
    for (const std::string& name : names) {
      const auto it = accounts.find(name);
      if (it == accounts.end()) {
        std::string what = where;
        what += ": no [accounts." + name + "]";
        return reader.error(line, what);
      }
      chap->accounts.push_back(ChapCredentials{name, it->second.secret.clone()});
    }
    summary += "accounts = " + quoted_list(names) + "\n";
    if (identity) {
      const auto it = identities.find(*identity);
      if (it == identities.end()) {
        return reader.error(Reader::line_of(*t.get("identity")),
                            where + ": no [identities." + *identity + "]");
      }
      chap->local = ChapCredentials{*identity, it->second.secret.clone()};
      summary += "identity = \"" + *identity + "\"\n";
    }
    if (method == "mutual") {
      if (!identity) return reader.error(line, where + ": auth = \"mutual\" needs an identity");
      chap->policy.require_mutual = true;
    }
    if (!algs.empty()) {
      chap->policy.algorithms.clear();
      for (const std::string& a : algs) {
        auto alg = parse_algorithm(a);
        if (!alg)
          return reader.error(Reader::line_of(*t.get("algorithms")),
                              where + ": " + alg.error().message);
        chap->policy.algorithms.push_back(*alg);
      }
    }
    std::vector<std::string> alg_names;
    for (const Algorithm a : chap->policy.algorithms) alg_names.emplace_back(algorithm_name(a));
    summary += "algorithms = " + quoted_list(alg_names) + "\n";
    return std::shared_ptr<const ChapTargetConfig>(std::move(chap));
  };

  // [discovery]
  {
    const toml::node* n = root.get("discovery");
    std::string summary;
    if (n != nullptr) {
      const toml::table* t = n->as_table();
      if (t == nullptr) return reader.error(Reader::line_of(*n), "discovery must be a table");
      MULTICHAP_GUARD(reader.only(*t, {"enabled", "auth", "accounts", "identity", "algorithms"},
                                  "[discovery]"));
      MULTICHAP_ASSIGN_OR_RETURN(auto enabled, reader.boolean(*t, "enabled"));
      if (enabled) access->discovery_enabled = *enabled;
      MULTICHAP_ASSIGN_OR_RETURN(access->discovery_chap,
                                 chap_of(*t, Reader::line_of(*n), "[discovery]", "chap", summary));
      config.discovery_line = Reader::line_of(*n);
    } else {
      summary = "auth = \"none\"\n";
    }
    norm << "\n[discovery]\nenabled = " << (access->discovery_enabled ? "true" : "false") << "\n"
         << summary;
  }

  // [[targets]]
  const toml::node* targets = root.get("targets");
  if (targets == nullptr) return reader.error(1, "no [[targets]]");
  const toml::array* list = targets->as_array();
  if (list == nullptr)
    return reader.error(Reader::line_of(*targets), "targets must be [[targets]] tables");
  for (const toml::node& item : *list) {
    const toml::table* t = item.as_table();
    if (t == nullptr)
      return reader.error(Reader::line_of(item), "targets must be [[targets]] tables");
    MULTICHAP_GUARD(reader.only(
        *t, {"name", "initiators", "auth", "accounts", "identity", "algorithms"}, "[[targets]]"));
    MULTICHAP_ASSIGN_OR_RETURN(auto name, reader.string(*t, "name"));
    if (!name || name->empty()) return reader.error(Reader::line_of(item), "a target needs a name");
    if (access->find(*name) != nullptr) {
      return reader.error(Reader::line_of(*t->get("name")), "target " + *name + " is listed twice");
    }
    TargetEntry entry;
    entry.name = *name;
    const toml::node* initiators = t->get("initiators");
    if (initiators == nullptr) {
      return reader.error(Reader::line_of(item),
                          *name + ": initiators = [...] or \"all\" is required");
    }
    if (initiators->is_string() && **initiators->as_string() == "all") {
      entry.allow_all = true;
    } else {
      MULTICHAP_ASSIGN_OR_RETURN(entry.initiators, reader.strings(*t, "initiators"));
      entry.allow_all = false;
    }
    std::string summary;
    MULTICHAP_ASSIGN_OR_RETURN(entry.chap,
                               chap_of(*t, Reader::line_of(item), *name, "chap", summary));
    norm << "\n[[targets]]\nname = \"" << entry.name << "\"\ninitiators = "
         << (entry.allow_all ? std::string("\"all\"") : quoted_list(entry.initiators)) << "\n"
         << summary;
    access->targets.push_back(std::move(entry));
    config.target_lines.push_back(Reader::line_of(item));
  }
  for (const Endpoint& e : config.listen) access->addresses.push_back(e.to_string() + ",1");
  config.access = std::move(access);
  config.normalized = norm.str();
  return config;
}

Result<void> validate_serve_config(const ServeConfig& config, const std::string& path,
                                   const HashBackend& backend) {
  const auto at = [&](std::uint32_t line, const std::string& what, const Error& e) {
    return make_error(ErrorKind::usage, e.code,
                      path + ":" + std::to_string(line) + ": " + what + ": " + e.message);
  };
  const auto& targets = config.access->targets;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (!targets[i].chap) continue;
    if (auto ok = validate_config(*targets[i].chap, backend); !ok) {
      return at(config.target_lines.at(i), targets[i].name, ok.error());
    }
  }
  if (config.access->discovery_chap) {
    if (auto ok = validate_config(*config.access->discovery_chap, backend); !ok) {
      return at(config.discovery_line, "[discovery]", ok.error());
    }
  }
  return validate_access(*config.access, backend);
}

}  // namespace multichap::cli
