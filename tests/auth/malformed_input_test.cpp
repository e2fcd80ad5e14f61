// SPDX-License-Identifier: BSD-2-Clause
// One table of malformed input for every layer of the CHAP core: the value codec, numbers, the
// text parser and the CHAP messages of both roles. Each row names the layer it is fed to, the
// input, the error kind expected and a substring of the message (so a row fails if the input is
// rejected for some other reason than the one it was written for).
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "auth/chap.h"
#include "auth/encoding.h"
#include "auth/text.h"
#include "backends/hash_backend.h"
#include "tests/auth/chap_fixtures.h"
#include "tests/support/backend_params.h"
#include "tests/support/result_matchers.h"

namespace multichap {
namespace {

using namespace std::string_literals;
using test::hex_of_size;
using test::segment;

enum class Layer {
  binary,           // decode_binary(input, 1024)
  number_u8,        // parse_number(input, 255)
  number_u32,       // parse_number(input, 2^32 - 1)
  text,             // parse_text(input)
  target_start,     // a fresh target, fed parse_text(input)
  target_offer,     // a target that answered AuthMethod=CHAP
  target_md5,       // a target that chose MD5 and issued its challenge
  target_sha256,    // a target that chose SHA-256 and issued its challenge
  initiator_chal,   // an initiator (mutual, offered 8,7) waiting for the challenge
  initiator_final,  // an initiator (mutual, SHA3-256) that answered and sent its own challenge
};

struct MalformedCase {
  std::string name;
  Layer layer;
  std::string input;
  ErrorKind kind;
  ErrorCode code;
};

std::string base64_of_size(std::size_t n) {
  return encode_base64(Bytes(n, 0x5a));
}

std::vector<MalformedCase> malformed_cases() {
  using L = Layer;
  const ErrorKind P = ErrorKind::protocol;
  const ErrorKind A = ErrorKind::authentication;
  const ErrorKind Y = ErrorKind::policy;
  using C = ErrorCode;
  const std::string n = "CHAP_N=" + std::string(test::kInitiatorUser);
  const std::string tn = "CHAP_N=" + std::string(test::kTargetUser);
  const std::string c32 = "CHAP_C=" + hex_of_size(32, '3');
  return {
      // --- value codec -------------------------------------------------------------------------
      {"bin_empty", L::binary, "", P, C::binary_prefix},
      {"bin_zero_only", L::binary, "0", P, C::binary_prefix},
      {"bin_no_prefix", L::binary, "12ab", P, C::binary_prefix},
      {"bin_leading_space", L::binary, " 0x12", P, C::binary_prefix},
      {"bin_letter_o_prefix", L::binary, "Ox12", P, C::binary_prefix},
      {"bin_hex_prefix_only", L::binary, "0x", P, C::hex_empty},
      {"bin_hex_upper_prefix_only", L::binary, "0X", P, C::hex_empty},
      {"bin_base64_prefix_only", L::binary, "0b", P, C::base64_empty},
      {"bin_hex_bad_char", L::binary, "0x12g4", P, C::hex_digit},
      {"bin_hex_embedded_space", L::binary, "0x12 34", P, C::hex_digit},
      {"bin_hex_trailing_space", L::binary, "0x1234 ", P, C::hex_digit},
      {"bin_hex_non_ascii", L::binary, "0x\xef\xbc\xa1", P, C::hex_digit},
      {"bin_hex_second_prefix", L::binary, "0x0x12", P, C::hex_digit},
      {"bin_hex_over_cap", L::binary, hex_of_size(1025), P, C::binary_too_long},
      {"bin_hex_odd_over_cap", L::binary, "0x1" + std::string(2048, 'f'), P, C::binary_too_long},
      {"bin_b64_bad_char", L::binary, "0bAA!A", P, C::base64_character},
      {"bin_b64_url_alphabet", L::binary, "0b-_-_", P, C::base64_character},
      {"bin_b64_embedded_space", L::binary, "0bAA AAAAA", P, C::base64_character},
      {"bin_b64_short_group", L::binary, "0bAAA", P, C::base64_length},
      {"bin_b64_missing_padding", L::binary, "0bZg", P, C::base64_length},
      {"bin_b64_pad_in_middle", L::binary, "0bAA=A", P, C::base64_character},
      {"bin_b64_three_pads", L::binary, "0bA===", P, C::base64_character},
      {"bin_b64_all_pads", L::binary, "0b====", P, C::base64_character},
      {"bin_b64_pad_then_data", L::binary, "0bZg==Zg==", P, C::base64_character},
      {"bin_b64_noncanonical_2pad", L::binary, "0bZh==", P, C::base64_padding},
      {"bin_b64_noncanonical_1pad", L::binary, "0bZm9=", P, C::base64_padding},
      {"bin_b64_over_cap", L::binary, base64_of_size(1025), P, C::binary_too_long},
      // --- numbers -------------------------------------------------------------------------------
      {"num_empty", L::number_u8, "", P, C::number_empty},
      {"num_leading_zero", L::number_u8, "07", P, C::number_leading_zero},
      {"num_double_zero", L::number_u8, "00", P, C::number_leading_zero},
      {"num_chap_i_256", L::number_u8, "256", P, C::number_range},
      {"num_chap_i_hex_256", L::number_u8, "0x100", P, C::number_range},
      {"num_negative", L::number_u8, "-1", P, C::number_character},
      {"num_plus_sign", L::number_u8, "+1", P, C::number_character},
      {"num_leading_space", L::number_u8, " 1", P, C::number_character},
      {"num_trailing_space", L::number_u8, "1 ", P, C::number_character},
      {"num_fraction", L::number_u8, "1.0", P, C::number_character},
      {"num_exponent", L::number_u8, "1e2", P, C::number_character},
      {"num_hex_no_digits", L::number_u8, "0x", P, C::number_empty},
      {"num_hex_bad_digit", L::number_u8, "0xfg", P, C::number_character},
      {"num_base64_not_a_number", L::number_u8, "0bAQ==", P, C::number_leading_zero},
      {"num_u32_overflow", L::number_u32, "4294967296", P, C::number_range},
      {"num_u32_huge", L::number_u32, "99999999999999999999999999", P, C::number_range},
      {"num_u32_hex_overflow", L::number_u32, "0x1ffffffff", P, C::number_range},
      // --- text parser ---------------------------------------------------------------------------
      {"text_no_equals", L::text, segment({"AuthMethod"}), P, C::text_pair_without_equals},
      {"text_empty_key", L::text, segment({"=CHAP"}), P, C::text_key_empty},
      {"text_empty_pair_mid", L::text, "A=1\0\0B=2\0"s, P, C::text_pair_without_equals},
      {"text_key_64_bytes", L::text, segment({std::string(64, 'K') + "=v"}), P,
       C::text_key_too_long},
      {"text_key_space", L::text, segment({"Auth Method=CHAP"}), P, C::text_key_character},
      {"text_key_non_ascii", L::text, segment({"Auth\xc3\xa9=CHAP"}), P, C::text_key_character},
      {"text_key_colon", L::text, segment({"X:Y=1"}), P, C::text_key_character},
      {"text_value_256", L::text, segment({"TargetAlias=" + std::string(256, 'v')}), P,
       C::text_value_too_long},
      {"text_chap_c_2051", L::text, segment({"CHAP_C=0x" + std::string(2049, 'a')}), P,
       C::text_value_too_long},
      {"text_chap_r_2051", L::text, segment({"CHAP_R=0x" + std::string(2049, 'a')}), P,
       C::text_value_too_long},
      {"text_chap_n_256", L::text, segment({"CHAP_N=" + std::string(256, 'n')}), P,
       C::text_value_too_long},
      {"text_duplicate_key", L::text, segment({"CHAP_A=5", "CHAP_A=7"}), P, C::text_duplicate_key},
      {"text_missing_final_nul", L::text, "AuthMethod=CHAP", P, C::text_unterminated},
      {"text_second_pair_no_nul", L::text, "A=1\0B=2"s, P, C::text_unterminated},
      // --- target: AuthMethod and CHAP_A
      // -----------------------------------------------------------
      {"tgt_chap_a_before_auth_method", L::target_start, segment({"CHAP_A=5"}), P,
       C::unexpected_key},
      {"tgt_auth_method_with_chap_key", L::target_start, segment({"AuthMethod=CHAP", "CHAP_A=5"}),
       P, C::unexpected_key},
      {"tgt_auth_method_unsupported", L::target_start, segment({"AuthMethod=KRB5,SRP"}), Y,
       C::auth_method_unacceptable},
      {"tgt_auth_method_none_not_allowed", L::target_start, segment({"AuthMethod=None"}), Y,
       C::auth_method_unacceptable},
      {"tgt_auth_method_empty", L::target_start, segment({"AuthMethod="}), P,
       C::auth_method_empty_item},
      {"tgt_chap_a_nothing_acceptable", L::target_offer, segment({"CHAP_A=9,128,129"}), Y,
       C::chap_a_unsupported},
      {"tgt_chap_a_empty", L::target_offer, segment({"CHAP_A="}), P, C::chap_a_encoding},
      {"tgt_chap_a_empty_item", L::target_offer, segment({"CHAP_A=5,,7"}), P, C::chap_a_encoding},
      {"tgt_chap_a_leading_zero", L::target_offer, segment({"CHAP_A=05"}), P, C::chap_a_encoding},
      {"tgt_chap_a_name", L::target_offer, segment({"CHAP_A=MD5"}), P, C::chap_a_encoding},
      {"tgt_chap_a_with_challenge", L::target_offer, segment({"CHAP_A=5", c32}), P,
       C::unexpected_key},
      {"tgt_response_too_early", L::target_offer, segment({n, "CHAP_R=" + hex_of_size(16)}), P,
       C::unexpected_key},
      // --- target: CHAP_N / CHAP_R ---------------------------------------------------------------
      {"tgt_r_md5_15_bytes", L::target_md5, segment({n, "CHAP_R=" + hex_of_size(15)}), P,
       C::chap_r_length},
      {"tgt_r_md5_17_bytes", L::target_md5, segment({n, "CHAP_R=" + hex_of_size(17)}), P,
       C::chap_r_length},
      {"tgt_r_md5_sha256_sized", L::target_md5, segment({n, "CHAP_R=" + hex_of_size(32)}), P,
       C::chap_r_length},
      {"tgt_r_sha256_md5_sized", L::target_sha256, segment({n, "CHAP_R=" + hex_of_size(16)}), P,
       C::chap_r_length},
      {"tgt_r_not_binary", L::target_md5, segment({n, "CHAP_R=12345"}), P, C::chap_r_encoding},
      {"tgt_r_bad_base64", L::target_md5, segment({n, "CHAP_R=0bAAAA=AAA"}), P, C::chap_r_encoding},
      {"tgt_r_missing", L::target_md5, segment({n}), P, C::missing_key},
      {"tgt_n_missing", L::target_md5, segment({"CHAP_R=" + hex_of_size(16)}), P, C::missing_key},
      {"tgt_chap_i_without_chap_c", L::target_md5,
       segment({n, "CHAP_R=" + hex_of_size(16), "CHAP_I=1"}), P, C::chap_i_c_unpaired},
      {"tgt_chap_c_without_chap_i", L::target_md5, segment({n, "CHAP_R=" + hex_of_size(16), c32}),
       P, C::chap_i_c_unpaired},
      {"tgt_response_with_chap_a", L::target_md5,
       segment({"CHAP_A=5", n, "CHAP_R=" + hex_of_size(16)}), P, C::unexpected_key},
      {"tgt_auth_method_again", L::target_md5, segment({"AuthMethod=CHAP"}), P, C::unexpected_key},
      {"tgt_unknown_chap_n", L::target_md5,
       segment({"CHAP_N=mallory", "CHAP_R=" + hex_of_size(16)}), A, C::unknown_user},
      {"tgt_chap_n_wrong_case", L::target_md5,
       segment({"CHAP_N=FUZZ-INITIATOR", "CHAP_R=" + hex_of_size(16)}), A, C::unknown_user},
      {"tgt_chap_n_trailing_space", L::target_md5, segment({n + " ", "CHAP_R=" + hex_of_size(16)}),
       A, C::unknown_user},
      {"tgt_r_wrong_value", L::target_md5, segment({n, "CHAP_R=" + hex_of_size(16)}), A,
       C::bad_response},
      // --- initiator: the target's challenge
      // -------------------------------------------------------
      {"ini_chap_a_not_offered", L::initiator_chal, segment({"CHAP_A=5", "CHAP_I=1", c32}), P,
       C::chap_a_not_offered},
      {"ini_chap_a_unknown", L::initiator_chal, segment({"CHAP_A=9", "CHAP_I=1", c32}), P,
       C::chap_a_not_offered},
      {"ini_chap_a_list", L::initiator_chal, segment({"CHAP_A=8,7", "CHAP_I=1", c32}), P,
       C::chap_a_encoding},
      {"ini_chap_a_reject", L::initiator_chal, segment({"CHAP_A=Reject"}), Y,
       C::chap_a_unsupported},
      {"ini_missing_chap_c", L::initiator_chal, segment({"CHAP_A=8", "CHAP_I=1"}), P,
       C::missing_key},
      {"ini_missing_chap_i", L::initiator_chal, segment({"CHAP_A=8", c32}), P, C::missing_key},
      {"ini_missing_chap_a", L::initiator_chal, segment({"CHAP_I=1", c32}), P, C::missing_key},
      {"ini_chap_i_256", L::initiator_chal, segment({"CHAP_A=8", "CHAP_I=256", c32}), P,
       C::chap_i_encoding},
      {"ini_chap_i_hex_256", L::initiator_chal, segment({"CHAP_A=8", "CHAP_I=0x100", c32}), P,
       C::chap_i_encoding},
      {"ini_chap_i_negative", L::initiator_chal, segment({"CHAP_A=8", "CHAP_I=-1", c32}), P,
       C::chap_i_encoding},
      {"ini_chap_i_leading_zero", L::initiator_chal, segment({"CHAP_A=8", "CHAP_I=01", c32}), P,
       C::chap_i_encoding},
      {"ini_chap_c_bad_hex", L::initiator_chal, segment({"CHAP_A=8", "CHAP_I=1", "CHAP_C=0xzz"}), P,
       C::chap_c_encoding},
      {"ini_chap_c_over_cap", L::initiator_chal,
       segment({"CHAP_A=8", "CHAP_I=1", "CHAP_C=" + base64_of_size(1025)}), P, C::chap_c_encoding},
      {"ini_chap_c_too_short", L::initiator_chal,
       segment({"CHAP_A=8", "CHAP_I=1", "CHAP_C=0x0102"}), Y, C::chap_c_too_short},
      {"ini_auth_method_other", L::initiator_chal, segment({"AuthMethod=CHAP"}), P,
       C::unexpected_key},
      // --- initiator: the target's answer (mutual)
      // ---------------------------------------------------
      {"ini_target_r_wrong_value", L::initiator_final, segment({tn, "CHAP_R=" + hex_of_size(32)}),
       A, C::bad_response},
      {"ini_target_r_wrong_length", L::initiator_final, segment({tn, "CHAP_R=" + hex_of_size(20)}),
       P, C::chap_r_length},
      {"ini_target_n_wrong_case", L::initiator_final,
       segment({"CHAP_N=FUZZ-TARGET", "CHAP_R=" + hex_of_size(32)}), A, C::chap_n_mismatch},
      {"ini_target_n_trailing_space", L::initiator_final,
       segment({tn + " ", "CHAP_R=" + hex_of_size(32)}), A, C::chap_n_mismatch},
      {"ini_target_r_missing", L::initiator_final, segment({tn}), P, C::missing_key},
      {"ini_target_rechallenges", L::initiator_final,
       segment({tn, "CHAP_R=" + hex_of_size(32), "CHAP_I=3", c32}), P, C::unexpected_key},
      {"ini_target_silent_in_mutual", L::initiator_final, "", A, C::mutual_not_answered},
  };
}

KeyList parse_or_fail(const std::string& text) {
  auto keys = parse_text(ByteView(text));
  EXPECT_TRUE(keys) << (keys ? "" : keys.error().message);
  return keys ? *keys : KeyList{};
}

// Drives a target to the layer's state, feeds input, returns the error (or nothing).
std::optional<Error> feed_target(Layer layer, const std::string& input) {
  auto target = test::make_target(test::target_config(true), test::backend_or_fail());
  if (target == nullptr) return make_error(ErrorKind::internal, "cannot make target");
  if (layer != Layer::target_start) {
    if (!target->step(KeyList{{"AuthMethod", "CHAP"}})) {
      return make_error(ErrorKind::internal, "setup: AuthMethod");
    }
  }
  if (layer == Layer::target_md5 || layer == Layer::target_sha256) {
    const char* a = layer == Layer::target_md5 ? "5" : "7";
    if (!target->step(KeyList{{"CHAP_A", a}})) {
      return make_error(ErrorKind::internal, "setup: CHAP_A");
    }
  }
  auto r = target->step(parse_or_fail(input));
  if (r) return std::nullopt;
  EXPECT_EQ(target->state(), ChapTarget::State::failed);
  EXPECT_TRUE(target->issued_challenge().empty()) << "challenge not wiped on failure";
  return r.error();
}

std::optional<Error> feed_initiator(Layer layer, const std::string& input) {
  ChapPolicy policy;
  policy.algorithms = {Algorithm::sha3_256, Algorithm::sha256};
  auto initiator =
      test::make_initiator(test::initiator_config(true, policy), test::backend_or_fail());
  if (initiator == nullptr) return make_error(ErrorKind::internal, "cannot make initiator");
  if (!initiator->step(KeyList{}) || !initiator->step(KeyList{{"AuthMethod", "CHAP"}})) {
    return make_error(ErrorKind::internal, "setup: AuthMethod");
  }
  if (layer == Layer::initiator_final) {
    if (!initiator->step(
            KeyList{{"CHAP_A", "8"}, {"CHAP_I", "9"}, {"CHAP_C", hex_of_size(32, 'c')}})) {
      return make_error(ErrorKind::internal, "setup: challenge");
    }
  }
  auto r = initiator->step(parse_or_fail(input));
  if (r) return std::nullopt;
  EXPECT_EQ(initiator->state(), ChapInitiator::State::failed);
  EXPECT_TRUE(initiator->issued_challenge().empty()) << "challenge not wiped on failure";
  return r.error();
}

std::optional<Error> feed(const MalformedCase& c) {
  auto as_optional = [](const auto& r) -> std::optional<Error> {
    if (r) return std::nullopt;
    return r.error();
  };
  switch (c.layer) {
    case Layer::binary:
      return as_optional(decode_binary(c.input, kMaxBinaryValueBytes));
    case Layer::number_u8:
      return as_optional(parse_number(c.input, 255));
    case Layer::number_u32:
      return as_optional(parse_number(c.input, 0xffffffffu));
    case Layer::text:
      return as_optional(parse_text(ByteView(c.input)));
    case Layer::target_start:
    case Layer::target_offer:
    case Layer::target_md5:
    case Layer::target_sha256:
      return feed_target(c.layer, c.input);
    case Layer::initiator_chal:
    case Layer::initiator_final:
      return feed_initiator(c.layer, c.input);
  }
  return make_error(ErrorKind::internal, "unknown layer");
}

class MalformedInput : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedInput, IsRejectedWithTheExpectedTypedError) {
  const MalformedCase& c = GetParam();
  const std::optional<Error> error = feed(c);
  ASSERT_TRUE(error.has_value()) << c.name << " was accepted";
  EXPECT_THAT(*error, test::ResultIs(c.kind, c.code)) << c.name;
  // Logs must not carry secrets.
  EXPECT_EQ(error->message.find(test::kInitiatorSecret), std::string::npos);
  EXPECT_EQ(error->message.find(test::kTargetSecret), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedInput, ::testing::ValuesIn(malformed_cases()),
                         [](const ::testing::TestParamInfo<MalformedCase>& info) {
                           return info.param.name;
                         });

TEST(MalformedInputTable, HasAtLeastFortyDistinctRowsCoveringEveryLayer) {
  const auto cases = malformed_cases();
  EXPECT_GE(cases.size(), 40u);
  std::set<std::string> names;
  std::set<Layer> layers;
  for (const auto& c : cases) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate row name " << c.name;
    layers.insert(c.layer);
  }
  EXPECT_EQ(layers.size(), 10u);
}

// The same values are accepted once the defect is removed: the table rows fail for the reason
// they name, not because the setup is broken.
TEST(MalformedInputTable, WellFormedNeighboursAreAccepted) {
  EXPECT_TRUE(decode_binary("0x1234", kMaxBinaryValueBytes));
  EXPECT_TRUE(decode_binary("0bZg==", kMaxBinaryValueBytes));
  EXPECT_TRUE(decode_binary(hex_of_size(1024), kMaxBinaryValueBytes));
  EXPECT_TRUE(parse_number("7", 255));
  EXPECT_TRUE(parse_number("255", 255));
  EXPECT_TRUE(parse_text(ByteView(segment({std::string(63, 'K') + "=v"}))));
  EXPECT_TRUE(parse_text(ByteView(segment({"TargetAlias=" + std::string(255, 'v')}))));
  EXPECT_TRUE(parse_text(ByteView(segment({"CHAP_C=0x" + std::string(2048, 'a')}))));
  EXPECT_FALSE(feed_target(Layer::target_start, segment({"AuthMethod=CHAP"})));
  EXPECT_FALSE(feed_target(Layer::target_offer, segment({"CHAP_A=9,5"})));
  EXPECT_FALSE(feed_initiator(Layer::initiator_chal,
                              segment({"CHAP_A=7", "CHAP_I=255", "CHAP_C=" + hex_of_size(16)})));
}

}  // namespace
}  // namespace multichap
