// SPDX-License-Identifier: BSD-2-Clause
#include "store/fleet_layout.h"

#include <nlohmann/json.hpp>

#include "auth/chap_config.h"
#include "auth/encoding.h"

namespace multichap::store {

namespace {

using Json = nlohmann::json;

Error bad_value(const std::string& what) {
  return make_error(ErrorKind::usage, ErrorCode::store_value_invalid, what);
}

bool plain_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '@' || c == '+' || c == '-';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> from_b64(const std::string& text, std::size_t max) {
  MULTICHAP_ASSIGN_OR_RETURN(SecureBytes bytes, decode_binary("0b" + text, max));
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// A list of strings, or an error naming the field.
Result<std::vector<std::string>> strings_of(const Json& j, const char* field) {
  std::vector<std::string> out;
  const auto it = j.find(field);
  if (it == j.end()) return out;
  if (!it->is_array()) return bad_value(std::string(field) + " must be a list of strings");
  for (const Json& item : *it) {
    if (!item.is_string()) return bad_value(std::string(field) + " must be a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Secret copy_of(const Secret& s) {
  return Secret::from_bytes(s.bytes());
}

// A SecretProvider that fails every lookup with one message.
class RefusingProvider final : public SecretProvider {
 public:
  explicit RefusingProvider(std::string why, ErrorCode code = ErrorCode::store_value_invalid)
      : m_why(std::move(why)), m_code(code) {}
  Result<std::optional<Secret>> find_secret(const AccountQuery&) const override {
    return make_error(ErrorKind::io, m_code, m_why);
  }

 private:
  std::string m_why;
  ErrorCode m_code;
};

}  // namespace

std::string encode_name(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (plain_byte(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::string> decode_name(std::string_view encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c != '%') {
      if (!plain_byte(static_cast<unsigned char>(c))) return bad_value("a name with a raw byte");
      out.push_back(c);
      continue;
    }
    if (i + 2 >= encoded.size()) {
      return bad_value("a name with a truncated %XX escape");
    }
    const int hi = hex_digit(encoded[i + 1]);
    const int lo = hex_digit(encoded[i + 2]);
    if (hi < 0 || lo < 0) return bad_value("a name with a malformed %XX escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (out.empty()) return bad_value("an empty name");
  return out;
}

Result<std::string> secret_value(ByteView secret, const KeyRing* ring, std::string_view key) {
  Json j;
  if (ring != nullptr && !ring->empty()) {
    MULTICHAP_ASSIGN_OR_RETURN(SealedSecret sealed, ring->seal(secret, key));
    const auto b64 = [](const std::string& s) {  // without encode_base64's "0b"
      return encode_base64(ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()))
          .substr(2);
    };
    j["sealed"] = {{"kid", sealed.kid}, {"iv", b64(sealed.iv)}, {"ct", b64(sealed.ct)}};
  } else {
    std::string text = encode_base64(secret);
    j["secret_b64"] = text.substr(2);  // without the "0b"
    secure_wipe(text.data(), text.size());
  }
  std::string out = j.dump();
  // nlohmann's own copy of the base64 text cannot be wiped in place; overwrite it.
  if (j.contains("secret_b64")) j["secret_b64"] = std::string();
  return out;
}

Result<Secret> parse_secret_value(std::string_view value, const KeyRing* ring,
                                  std::string_view key) {
  try {
    Json j = Json::parse(value.begin(), value.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad_value("not a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() != "secret_b64" && it.key() != "sealed") {
        return bad_value("unknown field '" + it.key().substr(0, 64) + "'");
      }
    }
    const auto plain = j.find("secret_b64");
    const auto sealed = j.find("sealed");
    if ((plain != j.end()) == (sealed != j.end())) {
      return bad_value("needs exactly one of secret_b64 and sealed");
    }
    if (plain != j.end()) {
      if (!plain->is_string()) return bad_value("secret_b64 must be a string");
      auto bytes = decode_binary("0b" + plain->get<std::string>(), 1024);
      *plain = std::string();  // nlohmann's copy of the secret's text
      if (!bytes) return bad_value("secret_b64 is not canonical base64 of at most 1024 bytes");
      if (bytes->empty()) return bad_value("an empty secret");
      return Secret::from_bytes(ByteView(bytes->data(), bytes->size()));
    }
    if (!sealed->is_object()) return bad_value("sealed must be an object");
    if (ring == nullptr || ring->empty()) {
      return make_error(
          ErrorKind::usage, ErrorCode::envelope_invalid,
          "a sealed secret, and this target has no key file ([store] secrets_key_file)");
    }
    SealedSecret s;
    const auto field = [&](const char* name) -> Result<std::string> {
      const auto it = sealed->find(name);
      if (it == sealed->end() || !it->is_string()) {
        return bad_value(std::string("sealed.") + name + " must be a string");
      }
      return it->get<std::string>();
    };
    MULTICHAP_ASSIGN_OR_RETURN(s.kid, field("kid"));
    MULTICHAP_ASSIGN_OR_RETURN(std::string iv, field("iv"));
    MULTICHAP_ASSIGN_OR_RETURN(std::string ct, field("ct"));
    MULTICHAP_ASSIGN_OR_RETURN(s.iv, from_b64(iv, 64));
    MULTICHAP_ASSIGN_OR_RETURN(s.ct, from_b64(ct, 2048));
    return ring->open(s, key);
  } catch (const std::exception& e) {
    return bad_value(e.what());
  }
}

std::string target_value(const StoredTarget& target) {
  Json j;
  if (target.allow_all) {
    j["initiators"] = "all";
  } else {
    j["initiators"] = target.initiators;
  }
  j["auth"] = target.auth;
  if (!target.accounts.empty()) j["accounts"] = target.accounts;
  if (target.identity) j["identity"] = *target.identity;
  if (!target.algorithms.empty()) {
    Json algs = Json::array();
    for (const Algorithm a : target.algorithms) algs.push_back(std::string(algorithm_name(a)));
    j["algorithms"] = algs;
  }
  return j.dump();
}

Result<StoredTarget> parse_target_value(std::string_view value) {
  try {
    const Json j = Json::parse(value.begin(), value.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad_value("not a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (k != "initiators" && k != "auth" && k != "accounts" && k != "identity" &&
          k != "algorithms" && k != "require_mutual") {
        return bad_value("unknown field '" + k.substr(0, 64) + "'");
      }
    }
    StoredTarget t;
    if (const auto it = j.find("initiators"); it != j.end()) {
      if (it->is_string() && it->get<std::string>() == "all") {
        t.allow_all = true;
      } else {
        MULTICHAP_ASSIGN_OR_RETURN(t.initiators, strings_of(j, "initiators"));
        t.allow_all = false;
      }
    }
    if (const auto it = j.find("auth"); it != j.end()) {
      if (!it->is_string()) return bad_value("auth must be a string");
      t.auth = it->get<std::string>();
      if (t.auth != "chap" && t.auth != "mutual" && t.auth != "none") {
        return bad_value("auth must be chap, mutual or none");
      }
    }
    if (const auto it = j.find("require_mutual"); it != j.end()) {
      if (!it->is_boolean()) return bad_value("require_mutual must be true or false");
      if (it->get<bool>()) {
        if (t.auth == "none") return bad_value("require_mutual with auth none");
        t.auth = "mutual";
      }
    }
    MULTICHAP_ASSIGN_OR_RETURN(t.accounts, strings_of(j, "accounts"));
    if (const auto it = j.find("identity"); it != j.end()) {
      if (!it->is_string()) return bad_value("identity must be a string");
      t.identity = it->get<std::string>();
    }
    MULTICHAP_ASSIGN_OR_RETURN(auto algs, strings_of(j, "algorithms"));
    for (const std::string& a : algs) {
      auto alg = parse_algorithm(a);
      if (!alg) return bad_value("algorithms: " + alg.error().message);
      t.algorithms.push_back(*alg);
    }
    if (t.auth == "none" && (!t.accounts.empty() || t.identity)) {
      return bad_value("auth none takes no accounts or identity");
    }
    if (t.auth != "none" && t.accounts.empty()) return bad_value("CHAP needs accounts");
    if (t.auth == "mutual" && !t.identity) return bad_value("mutual CHAP needs an identity");
    return t;
  } catch (const std::exception& e) {
    return bad_value(e.what());
  }
}

namespace {

// The CHAP configuration of a stored target (or the discovery), or why it cannot be used.
// An account that is missing (deleted, or skipped for a bad value) is left out and noted: the
// target keeps its other accounts. A target left with none refuses every login.
Result<std::shared_ptr<const ChapTargetConfig>> chap_of(
    const StoredTarget& t, const std::map<std::string, Secret>& accounts,
    const std::map<std::string, Secret>& identities, const ChapCrypto& crypto,
    std::vector<std::string>& notes) {
  if (t.auth == "none") return std::shared_ptr<const ChapTargetConfig>();
  auto chap = std::make_shared<ChapTargetConfig>();
  for (const std::string& name : t.accounts) {
    const auto it = accounts.find(name);
    if (it == accounts.end()) {
      notes.push_back("account '" + name + "' is not usable, left out");
      continue;
    }
    chap->accounts.push_back(ChapCredentials{name, copy_of(it->second)});
  }
  if (chap->accounts.empty()) {
    // Kept (its ACL and SendTargets stay as they were), refusing every login with 0x0201.
    notes.push_back("none of its accounts is usable: every login is refused");
    chap->provider = std::make_shared<RefusingProvider>("none of the target's accounts is usable");
  }
  if (t.identity) {
    const auto it = identities.find(*t.identity);
    if (it == identities.end()) {
      return bad_value("names identity '" + *t.identity + "', which is not usable");
    }
    chap->local = ChapCredentials{*t.identity, copy_of(it->second)};
  }
  chap->policy.require_mutual = t.auth == "mutual";
  if (!t.algorithms.empty()) chap->policy.algorithms = t.algorithms;
  if (auto ok = validate_config(*chap, crypto); !ok) return bad_value(ok.error().message);
  return std::shared_ptr<const ChapTargetConfig>(std::move(chap));
}

}  // namespace

BuiltAccess build_access(const Snapshot& snapshot, const KeyRing* ring, const ChapCrypto& crypto) {
  BuiltAccess out;
  out.access = std::make_shared<TargetAccess>();
  out.access->allow_empty = true;
  std::map<std::string, Secret> accounts;
  std::map<std::string, Secret> identities;
  const auto problem = [&](const std::string& key, const std::string& what) {
    out.problems.push_back(key + ": " + what);
  };
  const auto starts = [](const std::string& key, std::string_view dir) {
    return key.size() > dir.size() && key.compare(0, dir.size(), dir) == 0;
  };
  for (const auto& [key, value] : snapshot) {
    const bool account = starts(key, kAccountsDir);
    if (!account && !starts(key, kIdentitiesDir)) continue;
    const std::string_view dir = account ? kAccountsDir : kIdentitiesDir;
    auto name = decode_name(std::string_view(key).substr(dir.size()));
    if (!name) {
      problem(key, name.error().message);
      continue;
    }
    auto secret = parse_secret_value(value, ring, key);
    if (!secret) {
      problem(key, secret.error().message);
      continue;
    }
    (account ? accounts : identities).emplace(*name, std::move(secret).value());
  }
  if (const auto it = snapshot.find(std::string(kDiscoveryKey)); it != snapshot.end()) {
    auto stored = parse_target_value(it->second);
    std::vector<std::string> notes;
    Result<std::shared_ptr<const ChapTargetConfig>> chap =
        stored ? chap_of(*stored, accounts, identities, crypto, notes)
               : Result<std::shared_ptr<const ChapTargetConfig>>(stored.error());
    for (const std::string& n : notes) problem(it->first, n);
    if (chap) {
      out.access->discovery_chap = std::move(chap).value();
    } else {
      // Never fall back to no authentication: discovery is refused until the value is fixed.
      problem(it->first, chap.error().message + "; discovery sessions refused");
      out.access->discovery_enabled = false;
    }
  }
  for (const auto& [key, value] : snapshot) {
    if (!starts(key, kTargetsDir)) continue;
    auto name = decode_name(std::string_view(key).substr(kTargetsDir.size()));
    if (!name) {
      problem(key, name.error().message);
      continue;
    }
    auto stored = parse_target_value(value);
    if (!stored) {
      problem(key, stored.error().message);
      continue;
    }
    std::vector<std::string> notes;
    auto chap = chap_of(*stored, accounts, identities, crypto, notes);
    for (const std::string& n : notes) problem(key, n);
    if (!chap) {
      problem(key, chap.error().message);
      continue;
    }
    TargetEntry entry;
    entry.name = *name;
    entry.allow_all = stored->allow_all;
    entry.initiators = stored->initiators;
    entry.chap = std::move(chap).value();
    out.access->targets.push_back(std::move(entry));
  }
  return out;
}

std::shared_ptr<TargetAccess> refusing_access(const TargetAccess& from, const std::string& why) {
  auto provider = std::make_shared<RefusingProvider>(why, ErrorCode::store_stale);
  const auto refusing = [&](const std::shared_ptr<const ChapTargetConfig>& chap) {
    auto out = std::make_shared<ChapTargetConfig>();
    out->provider = provider;
    if (chap) {
      out->policy = chap->policy;
      if (chap->local)
        out->local = ChapCredentials{chap->local->name, copy_of(chap->local->secret)};
    }
    return std::shared_ptr<const ChapTargetConfig>(std::move(out));
  };
  auto access = std::make_shared<TargetAccess>();
  access->addresses = from.addresses;
  access->discovery_enabled = from.discovery_enabled;
  access->allow_empty = from.allow_empty;
  access->discovery_chap = refusing(from.discovery_chap);
  for (const TargetEntry& t : from.targets) {
    TargetEntry entry;
    entry.name = t.name;
    entry.allow_all = t.allow_all;
    entry.initiators = t.initiators;
    entry.chap = refusing(t.chap);
    access->targets.push_back(std::move(entry));
  }
  return access;
}

}  // namespace multichap::store
