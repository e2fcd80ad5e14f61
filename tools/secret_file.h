// SPDX-License-Identifier: BSD-2-Clause
// The one rule for secret files, shared by every reader of the CLI: --secret-file and
// --target-secret-file of every command, serve --config's secret_file, and open-iscsi's
// iscsid.conf and node records (--iscsid-conf, --node-record), which hold CHAP passwords.
//
// A secret file is refused, as a usage error (exit status 2), when its group or others have any
// permission on it (mode & 077, as ssh does for private keys and as open-iscsi installs
// iscsid.conf): the message names the file, its mode and `chmod 600`. The check is made on the
// file as opened (fstat of the descriptor read), so a file swapped in between cannot slip past.
#ifndef MULTICHAP_TOOLS_SECRET_FILE_H
#define MULTICHAP_TOOLS_SECRET_FILE_H

#include <string>

#include "auth/result.h"
#include "auth/secure.h"

namespace multichap::cli {

// The whole content of the secret file at path, read straight into the secret arena, after the
// mode check above. `what` names the file's role in messages ("--secret-file", "account 'alice'
// secret file"). Errors: secret_file_permissions (usage) for a mode that lets others in,
// file_unreadable (usage) when it cannot be opened or read. Never puts file content in a message.
Result<SecureBytes> read_secret_file(const std::string& path, const std::string& what);

// read_secret_file, then the bytes up to any trailing '\n' / '\r' as a Secret (what iSCSI tools
// call the password).
Result<Secret> read_secret_from_file(const std::string& path, const std::string& what);

}  // namespace multichap::cli

#endif  // MULTICHAP_TOOLS_SECRET_FILE_H
