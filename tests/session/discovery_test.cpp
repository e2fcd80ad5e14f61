// SPDX-License-Identifier: BSD-2-Clause
// SendTargets discovery (session/discovery.h) against the scripted target of quirk_target.h: no
// CHAP, CHAP, mutual CHAP, an answer split into C=1 continuations, the Text PDU codec, the parser,
// and a Normal login that follows a TargetAddress redirect.
#include <gtest/gtest.h>

#include "session/discovery.h"
#include "tests/session/quirk_target.h"
#include "tests/support/backend_params.h"
#include "tests/support/result_matchers.h"
#include "tests/support/session_support.h"

namespace multichap {
namespace {

using test::Lines;
using test::Quirks;
using test::QuirkTarget;

std::shared_ptr<const HashBackend> backend() {
  return test::backend_or_fail(test::backend_names().front());
}

Quirks two_targets() {
  Quirks q;
  q.knows = test::all_algorithms();
  q.targets = {{"iqn.2026-11.org.multichap.test:disk1", {"127.0.0.1:3260,1", "[::1]:3260,1"}},
               {"iqn.2026-11.org.multichap.test:disk2", {"10.0.0.2:3261,2"}}};
  return q;
}

InitiatorOptions options_for(const QuirkTarget& target, Lines& transcript) {
  auto options = test::initiator_options(target.port());
  options.transcript = transcript.sink();
  options.offer_memory = std::make_shared<OfferMemory>();
  return options;
}

void expect_two_targets(const std::vector<DiscoveredTarget>& targets) {
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].name, "iqn.2026-11.org.multichap.test:disk1");
  EXPECT_EQ(targets[0].addresses, (std::vector<std::string>{"127.0.0.1:3260,1", "[::1]:3260,1"}));
  EXPECT_EQ(targets[1].name, "iqn.2026-11.org.multichap.test:disk2");
  EXPECT_EQ(targets[1].addresses, std::vector<std::string>{"10.0.0.2:3261,2"});
}

TEST(Discovery, WithoutChap) {
  Quirks q = two_targets();
  q.require_chap = false;
  QuirkTarget target(backend(), q);
  ASSERT_TRUE(target.listening());
  Lines transcript;
  ChapInitiatorConfig none;
  none.policy.allow_none = true;
  ASSERT_TRUE(none.none_only());
  auto auth = InitiatorAuthenticator::create(std::move(none), backend());
  ASSERT_TRUE(auth) << auth.error().message;
  auto targets = discover_targets(options_for(target, transcript), std::move(auth).value());
  ASSERT_TRUE(targets) << targets.error().message << "\n" << transcript.joined();
  expect_two_targets(*targets);
  ASSERT_TRUE(target.wait_for(1));
  const auto rec = target.records()[0];
  EXPECT_EQ(rec.session_type, "Discovery");
  EXPECT_EQ(rec.target_name, "");  // a Discovery session names no target
  EXPECT_EQ(rec.auth_method_offer, "None");
  EXPECT_TRUE(rec.send_targets);
  EXPECT_TRUE(transcript.contains("-> [text] SendTargets=All"));
}

TEST(Discovery, NoCredentialsAgainstATargetRequiringChapFails) {
  QuirkTarget target(backend(), two_targets());
  ASSERT_TRUE(target.listening());
  Lines transcript;
  ChapInitiatorConfig none;
  none.policy.allow_none = true;
  auto auth = InitiatorAuthenticator::create(std::move(none), backend());
  ASSERT_TRUE(auth);
  auto targets = discover_targets(options_for(target, transcript), std::move(auth).value());
  ASSERT_FALSE(targets);
  EXPECT_THAT(targets, test::ResultIs(ErrorKind::authentication, ErrorCode::target_auth_failed))
      << targets.error().message;
}

class DiscoveryChap : public ::testing::TestWithParam<bool /*mutual*/> {};

TEST_P(DiscoveryChap, ListsEveryTargetWithItsAddresses) {
  QuirkTarget target(backend(), two_targets());
  ASSERT_TRUE(target.listening());
  Lines transcript;
  auto targets = discover_targets(options_for(target, transcript),
                                  test::initiator_auth(backend(), GetParam()));
  ASSERT_TRUE(targets) << targets.error().message << "\n" << transcript.joined();
  expect_two_targets(*targets);
  ASSERT_TRUE(target.wait_for(1));
  const auto rec = target.records()[0];
  EXPECT_TRUE(rec.verified);
  EXPECT_EQ(rec.chap_a_chosen, "8");
  EXPECT_EQ(rec.initiator_chap_c.empty(), !GetParam());
}

INSTANTIATE_TEST_SUITE_P(OneWayAndMutual, DiscoveryChap, ::testing::Bool());

TEST(Discovery, AnswerSplitIntoContinuationsIsReassembled) {
  Quirks q = two_targets();
  q.text_chunk = 7;  // pairs split mid-way across many C=1 PDUs
  QuirkTarget target(backend(), q);
  ASSERT_TRUE(target.listening());
  Lines transcript;
  auto targets =
      discover_targets(options_for(target, transcript), test::initiator_auth(backend(), false));
  ASSERT_TRUE(targets) << targets.error().message << "\n" << transcript.joined();
  expect_two_targets(*targets);
}

TEST(Discovery, EmptyAnswerIsNoTarget) {
  Quirks q;
  QuirkTarget target(backend(), q);
  ASSERT_TRUE(target.listening());
  Lines transcript;
  auto targets =
      discover_targets(options_for(target, transcript), test::initiator_auth(backend(), false));
  ASSERT_TRUE(targets) << targets.error().message;
  EXPECT_TRUE(targets->empty());
}

TEST(Discovery, ParserRules) {
  auto parse = [](const std::string& text) {
    return parse_send_targets(
        ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  };
  using namespace std::string_literals;
  auto ok = parse("TargetName=a\0TargetAddress=h:1,1\0Other=x\0TargetName=b\0\0\0"s);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].addresses, std::vector<std::string>{"h:1,1"});
  EXPECT_TRUE((*ok)[1].addresses.empty());
  EXPECT_FALSE(parse("TargetAddress=h:1,1\0TargetName=a\0"s));
  EXPECT_FALSE(parse("TargetName=\0"s));
  EXPECT_FALSE(parse("TargetName\0"s));
  EXPECT_TRUE(parse(""s));
  auto ep = target_address_endpoint("[::1]:3261,7");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->port, 3261);
  EXPECT_EQ(target_address_endpoint("10.1.2.3")->port, 3260);
  EXPECT_FALSE(target_address_endpoint(":x,1"));
}

TEST(Discovery, TextPduRoundTrip) {
  TextRequest req;
  req.itt = 7;
  req.ttt = 0x77;
  req.cmd_sn = 3;
  req.exp_stat_sn = 4;
  req.data = {'a', '=', 'b', 0};
  auto back = decode_text_request(encode(req));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->final);
  EXPECT_FALSE(back->immediate);
  EXPECT_EQ(back->ttt, 0x77u);
  EXPECT_EQ(back->cmd_sn, 3u);
  EXPECT_EQ(back->data, req.data);
  TextResponse resp;
  resp.final = false;
  resp.cont = true;
  resp.itt = 7;
  resp.stat_sn = 9;
  auto r = decode_text_response(encode(resp));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->cont);
  EXPECT_FALSE(r->final);
  EXPECT_EQ(r->stat_sn, 9u);
  resp.final = true;  // F and C together: refused
  EXPECT_FALSE(decode_text_response(encode(resp)));
  EXPECT_FALSE(decode_text_request(encode(resp)));  // wrong opcode
}

TEST(Discovery, ANormalLoginFollowsATargetAddressRedirect) {
  Quirks real;
  real.knows = test::all_algorithms();
  QuirkTarget destination(backend(), real);
  ASSERT_TRUE(destination.listening());
  Quirks mover;
  mover.redirect_to = destination.portal() + ",1";
  QuirkTarget source(backend(), mover);
  ASSERT_TRUE(source.listening());
  Lines transcript;
  auto options = options_for(source, transcript);
  options.max_attempts = 2;
  auto session = InitiatorSession::create(options, test::initiator_auth(backend(), true));
  ASSERT_TRUE(session);
  auto ok = (*session)->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << transcript.joined();
  EXPECT_EQ((*session)->attempts(), 2u);
  EXPECT_TRUE(transcript.contains("connecting to " + destination.portal()));
  ASSERT_TRUE((*session)->logout());
  ASSERT_TRUE(destination.wait_for(1));
  EXPECT_TRUE(destination.records()[0].completed);
}

}  // namespace
}  // namespace multichap
