// SPDX-License-Identifier: BSD-2-Clause
// A readable, secret-free rendering of login keys for logs and the CLI transcript.
#ifndef MULTICHAP_SESSION_TRANSCRIPT_H
#define MULTICHAP_SESSION_TRANSCRIPT_H

#include <functional>
#include <string>

#include "auth/text.h"

namespace multichap {

// Receives one line of transcript. Lines never contain secrets or CHAP responses.
using LogSink = std::function<void(const std::string& line)>;

// "AuthMethod=CHAP CHAP_A=8,7 CHAP_C=0x5f3a…(32 bytes) CHAP_R=<masked, 32 bytes>". CHAP_R values
// are replaced by their decoded length; CHAP_C is shortened.
std::string describe_keys(const KeyList& keys);

}  // namespace multichap

#endif  // MULTICHAP_SESSION_TRANSCRIPT_H
