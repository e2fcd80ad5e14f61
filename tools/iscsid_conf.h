// SPDX-License-Identifier: BSD-2-Clause
// open-iscsi settings for `multichap login` / `multichap discover`: an iscsid.conf
// (--iscsid-conf) and a node record as iscsiadm writes it under /etc/iscsi/nodes
// (--node-record), so an existing open-iscsi configuration can be replayed with multichap's
// transcript to see why a login fails.
//
// Read: node.session.auth.{authmethod,username,password,username_in,password_in,chap_algs},
// discovery.sendtargets.auth.{authmethod,username,password,username_in,password_in}, and from a
// node record node.name, node.conn[0].address and node.conn[0].port. chap_algs takes open-iscsi's
// names (SHA3-256, SHA256, SHA1, MD5, comma separated, in preference order). Other open-iscsi
// settings (node.*, iscsid.*, discovery.*, iface.*) are ignored; an unknown key under an auth
// prefix, a key outside open-iscsi's, or a line without '=' is a warning naming its line; a
// value that cannot be used (unknown algorithm, authmethod other than CHAP/None) is a usage error
// naming its line. Passwords go straight into Secret and never appear in a message.
#ifndef MULTICHAP_TOOLS_ISCSID_CONF_H
#define MULTICHAP_TOOLS_ISCSID_CONF_H

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/algorithm.h"
#include "auth/result.h"
#include "auth/secure.h"

namespace multichap::cli {

// One direction set of open-iscsi auth settings (node.session.auth.* or
// discovery.sendtargets.auth.*). Unset fields stay empty.
struct OpenIscsiAuth {
  std::optional<bool> chap;  // authmethod: CHAP (true) or None (false)
  std::string username;
  Secret password;
  std::string username_in;  // the target's name in mutual CHAP
  Secret password_in;
  std::optional<std::vector<Algorithm>> chap_algs;
};

struct OpenIscsiSettings {
  OpenIscsiAuth node;       // node.session.auth.*
  OpenIscsiAuth discovery;  // discovery.sendtargets.auth.*
  std::string target_name;  // node.name
  std::string address;      // node.conn[0].address
  std::string port;         // node.conn[0].port
  // "FILE:LINE: ..." for each line that was not understood; never a value.
  std::vector<std::string> warnings;
};

// Parses settings text into into (values found later override earlier ones, so a node record
// read after iscsid.conf wins, as in open-iscsi). source names the file in messages.
Result<void> parse_open_iscsi_settings(std::string_view text, const std::string& source,
                                       OpenIscsiSettings& into);
// Reads path and parses it; a usage error if it cannot be read. The file's bytes are wiped after
// parsing (it holds passwords).
Result<void> read_open_iscsi_settings(const std::string& path, OpenIscsiSettings& into);

}  // namespace multichap::cli

#endif  // MULTICHAP_TOOLS_ISCSID_CONF_H
