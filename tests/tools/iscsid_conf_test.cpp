// SPDX-License-Identifier: BSD-2-Clause
// The open-iscsi settings reader of the CLI (tools/iscsid_conf.h): the keys it maps, open-iscsi's
// algorithm names, warnings and errors with their line numbers, and no secret in any message.
#include "tools/iscsid_conf.h"
#include "tests/support/result_matchers.h"

#include <gtest/gtest.h>

namespace multichap::cli {
namespace {

constexpr const char* kSecret = "a-password-of-some-length";

TEST(IscsidConf, MapsTheAuthKeysOfBothSessionTypes) {
  const std::string text = std::string("# comment\n\n") +
                           "  node.session.auth.authmethod = CHAP\n"
                           "node.session.auth.username=alice\n"
                           "node.session.auth.password = " +
                           kSecret +
                           "\n"
                           "node.session.auth.username_in = tgt-name\n"
                           "node.session.auth.password_in = other-password-here\n"
                           "node.session.auth.chap_algs = SHA3-256,SHA256,SHA1,MD5\n"
                           "discovery.sendtargets.auth.authmethod = None\n"
                           "discovery.sendtargets.auth.username = disco\n"
                           "node.conn[0].timeo.noop_out_interval = 5\n"
                           "iscsid.startup = /bin/true\n";
  OpenIscsiSettings s;
  ASSERT_TRUE(parse_open_iscsi_settings(text, "iscsid.conf", s));
  EXPECT_TRUE(s.warnings.empty());
  EXPECT_EQ(s.node.chap, true);
  EXPECT_EQ(s.node.username, "alice");
  EXPECT_TRUE(s.node.password.equals(Secret::from_text(kSecret)));
  EXPECT_EQ(s.node.username_in, "tgt-name");
  EXPECT_TRUE(s.node.password_in.equals(Secret::from_text("other-password-here")));
  ASSERT_TRUE(s.node.chap_algs);
  EXPECT_EQ(*s.node.chap_algs, (std::vector<Algorithm>{Algorithm::sha3_256, Algorithm::sha256,
                                                       Algorithm::sha1, Algorithm::md5}));
  EXPECT_EQ(s.discovery.chap, false);
  EXPECT_EQ(s.discovery.username, "disco");
  EXPECT_FALSE(s.discovery.chap_algs);
}

TEST(IscsidConf, ANodeRecordReadAfterwardsOverrides) {
  OpenIscsiSettings s;
  ASSERT_TRUE(parse_open_iscsi_settings("node.session.auth.username = a\n", "conf", s));
  ASSERT_TRUE(
      parse_open_iscsi_settings("# BEGIN RECORD 2.1.8\nnode.name = iqn.x:y\n"
                                "node.session.auth.username = b\n"
                                "node.session.auth.password = <empty>\n"
                                "node.conn[0].address = 10.0.0.1\n"
                                "node.conn[0].port = 3261\n# END RECORD\n",
                                "record", s));
  EXPECT_EQ(s.node.username, "b");
  EXPECT_TRUE(s.node.password.empty());
  EXPECT_EQ(s.target_name, "iqn.x:y");
  EXPECT_EQ(s.address, "10.0.0.1");
  EXPECT_EQ(s.port, "3261");
}

TEST(IscsidConf, UnknownAndMalformedLinesAreWarningsWithTheirLineNumber) {
  OpenIscsiSettings s;
  const std::string text = std::string("node.session.auth.password ") + kSecret +
                           "\n"  // no '=': line 1
                           "node.session.auth.colour = blue\n"
                           "= " +
                           kSecret +
                           "\n"
                           "frobnicate.everything = yes\n"
                           "discovery.sendtargets.auth.chap_algs = MD5\n";
  ASSERT_TRUE(parse_open_iscsi_settings(text, "f", s));
  ASSERT_EQ(s.warnings.size(), 5u);
  EXPECT_EQ(s.warnings[0], "f:1: malformed line (no '='), ignored");
  EXPECT_EQ(s.warnings[1], "f:2: unknown key node.session.auth.colour, ignored");
  EXPECT_EQ(s.warnings[2], "f:3: malformed line (no key before '='), ignored");
  EXPECT_EQ(s.warnings[3], "f:4: unknown key frobnicate.everything, ignored");
  // open-iscsi has no discovery.sendtargets.auth.chap_algs.
  EXPECT_EQ(s.warnings[4], "f:5: unknown key discovery.sendtargets.auth.chap_algs, ignored");
  for (const auto& w : s.warnings) EXPECT_EQ(w.find(kSecret), std::string::npos) << w;
}

TEST(IscsidConf, UnusableValuesAreErrorsNamingTheLine) {
  const std::vector<std::pair<const char*, ErrorCode>> cases = {
      {"node.session.auth.chap_algs = SHA512", ErrorCode::algorithm_unknown},
      {"node.session.auth.chap_algs = ", ErrorCode::algorithm_list_empty_item},
      {"node.session.auth.chap_algs = MD5,,SHA1", ErrorCode::algorithm_list_empty_item},
      {"node.session.auth.chap_algs = MD5,md5", ErrorCode::algorithm_listed_twice},
      {"node.session.auth.authmethod = Kerberos", ErrorCode::config_invalid}};
  for (const auto& [line, code] : cases) {
    OpenIscsiSettings s;
    const std::string text = std::string("node.session.auth.password = ") + kSecret + "\n" + line;
    auto r = parse_open_iscsi_settings(text, "f", s);
    ASSERT_FALSE(r) << line;
    EXPECT_THAT(r, test::ResultIs(ErrorKind::usage, code)) << line;
    // Where: the file and line, then the key.
    EXPECT_EQ(r.error().message.rfind("f:2: node.session.auth.", 0), 0u) << r.error().message;
    EXPECT_EQ(r.error().message.find(kSecret), std::string::npos);
  }
}

TEST(IscsidConf, AMissingFileIsAUsageError) {
  OpenIscsiSettings s;
  auto r = read_open_iscsi_settings("/nonexistent/iscsid.conf", s);
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::usage, ErrorCode::file_unreadable));
}

}  // namespace
}  // namespace multichap::cli
