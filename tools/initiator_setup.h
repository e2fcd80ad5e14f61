// SPDX-License-Identifier: BSD-2-Clause
// What `multichap login` and `multichap discover` share: the backend and policy options, CHAP
// credentials from the command line or from open-iscsi files (tools/iscsid_conf.h), the
// initiator's session options, and a thread-safe line printer.
#ifndef MULTICHAP_TOOLS_INITIATOR_SETUP_H
#define MULTICHAP_TOOLS_INITIATOR_SETUP_H

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/chap.h"
#include "auth/result.h"
#include "backends/hash_backend.h"
#include "session/initiator.h"
#include "tools/cli_options.h"
#include "tools/iscsid_conf.h"

namespace multichap::cli {

// Prints one line on stdout (serialized across threads).
void print_line(const std::string& line);

Result<std::shared_ptr<const HashBackend>> backend_from(const Options& options);
// --algs, --legacy-tgt-sha1, --link-protected, --challenge-size (serve and login).
Result<ChapPolicy> policy_from(const Options& options);
// Reads --target-user and the target secret; both or neither. MULTICHAP_TARGET_SECRET is read
// only with --target-user: without it an exported target secret is ignored.
Result<std::optional<ChapCredentials>> target_credentials(const Options& options);

// Reads --iscsid-conf, then --node-record (which overrides it), printing their warnings on
// stderr. Nothing is read when neither is given.
Result<void> load_open_iscsi(const Options& options, OpenIscsiSettings& settings);

// The CHAP configuration of an initiator: --user / the secret options / --target-user and the
// target secret from the command line, each falling back to file (open-iscsi username, password,
// username_in, password_in) when not given; --algs, else file_algs, else the default offer.
// MULTICHAP_SECRET is read only when the session asks for CHAP (--user, or a username in file),
// MULTICHAP_TARGET_SECRET only with --target-user (target_credentials).
//   - no user and no secret, and the file (if any) does not ask for CHAP: AuthMethod=None only
//     (ChapInitiatorConfig::none_only()), when none_ok;
//   - discovery: AuthMethod=None is also accepted from the target unless mutual CHAP is asked.
// what names the session in messages ("login", "discover").
Result<std::shared_ptr<const ChapInitiatorConfig>> initiator_config(
    const Options& options, const OpenIscsiAuth* file,
    const std::optional<std::vector<Algorithm>>& file_algs, bool discovery, bool none_ok,
    const std::string& what);

// --initiator-name, --retries, --timeout, --offer-fallback on|off, and the transcript (unless
// --quiet) into init.
Result<void> initiator_options_from(const Options& options, InitiatorOptions& init);

// Through init.transcript (when set), one "note: ..." line per algorithm of the policy that is
// not offered because a secret held in a token cannot compute it there, with the token's reason.
void print_secret_notes(const std::shared_ptr<const ChapInitiatorConfig>& config,
                        const std::shared_ptr<const HashBackend>& backend,
                        const InitiatorOptions& init);

// `multichap login` with a portal (from --portal or a node record): one target (--target or
// node.name) or, with --all, every target a SendTargets discovery finds there. Returns the exit
// status (the worst of all logins under --all).
int login_at_portal(const Options& options, const std::shared_ptr<const HashBackend>& backend,
                    const InitiatorOptions& init, unsigned connections);

// The options serve, login and discover take: --user, the secret options, --target-user and the
// target secret options, --algs, --backend, --challenge-size, --legacy-tgt-sha1, --link-protected.
void define_chap_options(CLI::App& command);
// Those and what login and discover add: --portal, --initiator-name, --retries, --timeout,
// --offer-fallback, --iscsid-conf, --node-record, --quiet.
void define_initiator_options(CLI::App& command);

}  // namespace multichap::cli

#endif  // MULTICHAP_TOOLS_INITIATOR_SETUP_H
