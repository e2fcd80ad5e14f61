// SPDX-License-Identifier: BSD-2-Clause
#include "tools/iscsid_conf.h"

#include "tools/secret_file.h"

namespace multichap::cli {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// open-iscsi's chap_algs: "SHA3-256,SHA256,SHA1,MD5" (spaces around items allowed).
Result<std::vector<Algorithm>> parse_chap_algs(std::string_view value) {
  std::vector<Algorithm> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = value.find(',', start);
    const std::string_view item = trim(value.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty())
      return make_error(ErrorKind::usage, ErrorCode::algorithm_list_empty_item,
                        "empty item in the list");
    MULTICHAP_ASSIGN_OR_RETURN(const Algorithm alg, parse_algorithm(item));
    for (const Algorithm seen : out) {
      if (seen == alg)
        return make_error(ErrorKind::usage, ErrorCode::algorithm_listed_twice,
                          "an algorithm listed twice");
    }
    out.push_back(alg);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// Sets one field of auth from key (the part after the prefix); false for an unknown key.
Result<bool> set_auth(OpenIscsiAuth& auth, std::string_view key, std::string_view value,
                      bool algs_allowed) {
  if (key == "authmethod") {
    if (iequals(value, "CHAP")) {
      auth.chap = true;
    } else if (iequals(value, "None")) {
      auth.chap = false;
    } else {
      return make_error(ErrorKind::usage, ErrorCode::config_invalid,
                        "authmethod must be CHAP or None");
    }
  } else if (key == "username") {
    auth.username = std::string(value);
  } else if (key == "password") {
    auth.password = Secret::from_text(value);
  } else if (key == "username_in") {
    auth.username_in = std::string(value);
  } else if (key == "password_in") {
    auth.password_in = Secret::from_text(value);
  } else if (key == "chap_algs" && algs_allowed) {
    auto algs = parse_chap_algs(value);
    if (!algs) return with_context("chap_algs", algs.error());
    auth.chap_algs = std::move(algs).value();
  } else if (key == "password_length" || key == "password_in_length") {
    // written by old iscsiadm versions beside the password: nothing to do
  } else {
    return false;
  }
  return true;
}

}  // namespace

Result<void> parse_open_iscsi_settings(std::string_view text, const std::string& source,
                                       OpenIscsiSettings& into) {
  constexpr std::string_view kNodeAuth = "node.session.auth.";
  constexpr std::string_view kDiscoveryAuth = "discovery.sendtargets.auth.";
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    const std::size_t nl = text.find('\n', pos);
    const std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    const std::string where = source + ":" + std::to_string(line_no) + ": ";
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      into.warnings.push_back(where + "malformed line (no '='), ignored");
      continue;
    }
    const std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    if (value == "<empty>") value = std::string_view();
    if (key.empty()) {
      into.warnings.push_back(where + "malformed line (no key before '='), ignored");
      continue;
    }
    Result<bool> known = false;
    if (starts_with(key, kNodeAuth)) {
      known = set_auth(into.node, key.substr(kNodeAuth.size()), value, true);
    } else if (starts_with(key, kDiscoveryAuth)) {
      // (open-iscsi has no discovery.sendtargets.auth.chap_algs: the discovery record's
      // node.session.auth.chap_algs applies.)
      known = set_auth(into.discovery, key.substr(kDiscoveryAuth.size()), value, false);
    } else if (key == "node.name") {
      into.target_name = std::string(value);
      known = true;
    } else if (key == "node.conn[0].address") {
      into.address = std::string(value);
      known = true;
    } else if (key == "node.conn[0].port") {
      into.port = std::string(value);
      known = true;
    } else if (starts_with(key, "node.") || starts_with(key, "iscsid.") ||
               starts_with(key, "discovery.") || starts_with(key, "iface.")) {
      known = true;  // an open-iscsi setting that is not about authentication
    }
    if (!known) return with_context(where + std::string(key), known.error());
    if (!*known) into.warnings.push_back(where + "unknown key " + std::string(key) + ", ignored");
  }
  return {};
}

Result<void> read_open_iscsi_settings(const std::string& path, OpenIscsiSettings& into) {
  // It holds CHAP passwords: the rule for secret files applies (tools/secret_file.h), and its
  // bytes live in the secret arena.
  MULTICHAP_ASSIGN_OR_RETURN(const SecureBytes content,
                             read_secret_file(path, "open-iscsi settings file"));
  return parse_open_iscsi_settings(
      std::string_view(reinterpret_cast<const char*>(content.data()), content.size()), path, into);
}

}  // namespace multichap::cli
