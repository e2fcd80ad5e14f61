// SPDX-License-Identifier: BSD-2-Clause
#include "session/operational.h"

#include <array>

#include "auth/chap.h"
#include "auth/encoding.h"
#include "auth/text.h"

namespace multichap {

namespace {

enum class Rule { list, boolean_or, boolean_and, minimum, maximum };

struct KeyRule {
  std::string_view name;
  Rule rule;
  bool leading_only;
  std::string_view ours;  // our value (a list for list keys, in preference order)
  std::uint32_t low;
  std::uint32_t high;
};

// RFC 7143 §13. Ours: no digests, ERL 0, in-order data, generous burst sizes, MC/S allowed.
constexpr std::array<KeyRule, 15> kRules = {{
    {"HeaderDigest", Rule::list, false, "None", 0, 0},
    {"DataDigest", Rule::list, false, "None", 0, 0},
    {"MaxConnections", Rule::minimum, true, "8", 1, 65535},
    {"InitialR2T", Rule::boolean_or, true, "Yes", 0, 0},
    {"ImmediateData", Rule::boolean_and, true, "Yes", 0, 0},
    {"MaxBurstLength", Rule::minimum, true, "262144", 512, 16777215},
    {"FirstBurstLength", Rule::minimum, true, "65536", 512, 16777215},
    {"DefaultTime2Wait", Rule::maximum, true, "2", 0, 3600},
    {"DefaultTime2Retain", Rule::minimum, true, "20", 0, 3600},
    {"MaxOutstandingR2T", Rule::minimum, true, "1", 1, 65535},
    {"DataPDUInOrder", Rule::boolean_or, true, "Yes", 0, 0},
    {"DataSequenceInOrder", Rule::boolean_or, true, "Yes", 0, 0},
    {"ErrorRecoveryLevel", Rule::minimum, true, "0", 0, 2},
    {"IFMarker", Rule::boolean_and, false, "No", 0, 0},
    {"OFMarker", Rule::boolean_and, false, "No", 0, 0},
}};

constexpr std::array<std::string_view, 9> kDeclarative = {
    "InitiatorName", "InitiatorAlias",       "TargetName",  "TargetAlias",
    "TargetAddress", "TargetPortalGroupTag", "SessionType", "MaxRecvDataSegmentLength",
    "SendTargets"};

const KeyRule* find_rule(std::string_view key) {
  for (const auto& r : kRules) {
    if (r.name == key) return &r;
  }
  return nullptr;
}

bool list_contains(std::string_view list, std::string_view item) {
  for (const std::string_view candidate : split_list(list)) {
    if (candidate == item) return true;
  }
  return false;
}

// The responder's answer to value for rule r, or "Reject".
std::string answer_value(const KeyRule& r, const std::string& value) {
  switch (r.rule) {
    case Rule::list: {
      for (const std::string_view item : split_list(value)) {
        if (list_contains(r.ours, item)) return std::string(item);
      }
      return "Reject";
    }
    case Rule::boolean_or:
    case Rule::boolean_and: {
      if (value != "Yes" && value != "No") return "Reject";
      const bool theirs = value == "Yes";
      const bool mine = r.ours == "Yes";
      const bool result = r.rule == Rule::boolean_or ? (theirs || mine) : (theirs && mine);
      return result ? "Yes" : "No";
    }
    case Rule::minimum:
    case Rule::maximum: {
      const auto n = parse_number(value, 0xffffffffu);
      if (!n || *n < r.low || *n > r.high) return "Reject";
      const auto ours = parse_number(r.ours, 0xffffffffu);
      const std::uint32_t result =
          r.rule == Rule::minimum ? std::min(*n, *ours) : std::max(*n, *ours);
      return std::to_string(result);
    }
  }
  return "Reject";
}

// Whether answer is a result the key's selection rule admits for what we offered (RFC 7143
// §6.2.2: "Selection of a value not admitted by the selection rule is considered a protocol
// error").
bool admitted(const KeyRule& r, const std::string& offered, const std::string& answer) {
  switch (r.rule) {
    case Rule::list:
      return list_contains(offered, answer);
    case Rule::boolean_or:
      if (answer != "Yes" && answer != "No") return false;
      return offered != "Yes" || answer == "Yes";
    case Rule::boolean_and:
      if (answer != "Yes" && answer != "No") return false;
      return offered != "No" || answer == "No";
    case Rule::minimum:
    case Rule::maximum: {
      const auto n = parse_number(answer, 0xffffffffu);
      const auto ours = parse_number(offered, 0xffffffffu);
      if (!n || *n < r.low || *n > r.high) return false;
      if (!ours) return true;  // not our number to judge against
      return r.rule == Rule::minimum ? *n <= *ours : *n >= *ours;
    }
  }
  return false;
}

}  // namespace

bool is_declarative_key(std::string_view key) {
  for (const auto d : kDeclarative) {
    if (d == key) return true;
  }
  return false;
}

KeyList initiator_operational_offer(bool leading) {
  KeyList out;
  for (const auto& r : kRules) {
    if (r.leading_only && !leading) continue;
    out.set(r.name, std::string(r.ours));
  }
  out.set("MaxRecvDataSegmentLength", "262144");
  return out;
}

KeyList answer_operational(const KeyList& received, bool leading, KeyList& negotiated) {
  KeyList out;
  append_operational_answers(received, leading, out, &negotiated);
  return out;
}

void append_operational_answers(const KeyList& received, bool leading, KeyList& out,
                                KeyList* negotiated) {
  out.reserve(out.size() + received.size());
  // Every key of received is unique (parse_text, KeyList), so each answer is a new key of out.
  for (const auto& kv : received) {
    if (is_auth_key(kv.key)) continue;
    if (is_declarative_key(kv.key)) {
      if (negotiated != nullptr) negotiated->set(kv.key, kv.value);
      continue;
    }
    const KeyRule* rule = find_rule(kv.key);
    if (rule == nullptr) {
      out.append_new(kv.key, "NotUnderstood");
      continue;
    }
    if (rule->leading_only && !leading) {
      out.append_new(kv.key, "Irrelevant");
      continue;
    }
    std::string answer = answer_value(*rule, kv.value);
    if (negotiated != nullptr && answer != "Reject") negotiated->set(kv.key, answer);
    out.append_new(kv.key, std::move(answer));
  }
}

Result<void> check_operational_answers(const KeyList& offered, const KeyList& received,
                                       KeyList& negotiated) {
  for (const auto& kv : received) {
    if (is_auth_key(kv.key) || !offered.contains(kv.key)) continue;
    // Reserved answers settle nothing (RFC 7143 §6.2): the key keeps its default.
    if (kv.value == "Reject" || kv.value == "Irrelevant" || kv.value == "NotUnderstood") continue;
    const KeyRule* rule = find_rule(kv.key);
    if (rule == nullptr) {
      negotiated.set(kv.key, kv.value);
      continue;
    }
    if (!admitted(*rule, *offered.find(kv.key), kv.value)) {
      return protocol_error(ErrorCode::operational_answer_invalid,
                            "target answered " + kv.key + "=" + kv.value.substr(0, 64) +
                                ", which the key's selection rule does not admit for our offer");
    }
    negotiated.set(kv.key, kv.value);
  }
  return {};
}

}  // namespace multichap
