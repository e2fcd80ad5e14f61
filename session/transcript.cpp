// SPDX-License-Identifier: BSD-2-Clause
#include "session/transcript.h"

#include "auth/encoding.h"

namespace multichap {

std::string describe_keys(const KeyList& keys) {
  if (keys.empty()) return "(no keys)";
  std::string out;
  for (const auto& kv : keys) {
    if (!out.empty()) out += ' ';
    out += kv.key;
    out += '=';
    if (kv.key == "CHAP_R" || kv.key == "CHAP_C") {
      const auto decoded = decode_binary(kv.value, kMaxBinaryValueBytes);
      const std::string size = decoded ? std::to_string(decoded->size()) + " bytes" : "malformed";
      if (kv.key == "CHAP_R") {
        out += "<masked, " + size + ">";
      } else {
        out += kv.value.substr(0, 10) + (kv.value.size() > 10 ? "...(" + size + ")" : "");
      }
      continue;
    }
    out += kv.value.size() > 80 ? kv.value.substr(0, 80) + "..." : kv.value;
  }
  return out;
}

}  // namespace multichap
