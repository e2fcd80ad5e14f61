// SPDX-License-Identifier: BSD-2-Clause
// A CHAP response through a backend table calls the table's compute straight from
// ChapCrypto::digest_with_secret (auth/digest_part.h), once; a failure there still ends in the
// typed error digest() gives; a table that must serialise its calls is never called directly.
// The table is written here and forwards to a real backend (the default one), counting calls.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/chap.h"
#include "backends/hash_backend.h"
#include "backends/plugin_support.h"
#include "backends/table_backend.h"
#include "multichap/backend.h"

namespace multichap {
namespace {

// What the table's functions see: the real backend they forward to, and what to do.
struct Forwarding {
  std::shared_ptr<const HashBackend> real;
  std::atomic<int> computes{0};
  int fail_chap_a = 0;          // compute of this CHAP_A fails with ERR_FAILED
  int short_digest_chap_a = 0;  // compute of this CHAP_A reports one byte less than it should
};

int forward_supports(void* ctx, int chap_a) {
  const auto* f = static_cast<const Forwarding*>(ctx);
  const AlgorithmInfo* info = algorithm_of_chap_a(chap_a);
  return info != nullptr && f->real->supports(info->id) ? 1 : 0;
}

int forward_compute(void* ctx, int chap_a, const multichap_backend_part* parts, size_t nparts,
                    uint8_t* out, size_t out_cap, size_t* out_len) {
  auto* f = static_cast<Forwarding*>(ctx);
  f->computes.fetch_add(1);
  const AlgorithmInfo* info = algorithm_of_chap_a(chap_a);
  if (info == nullptr) return MULTICHAP_BACKEND_ERR_UNSUPPORTED;
  if (chap_a == f->fail_chap_a) return MULTICHAP_BACKEND_ERR_FAILED;
  std::vector<std::uint8_t> joined;
  for (std::size_t i = 0; i < nparts; ++i) {
    joined.insert(joined.end(), parts[i].data, parts[i].data + parts[i].len);
  }
  const auto r = f->real->digest(info->id, {ByteView(joined.data(), joined.size())},
                                 MutableByteView(out, out_cap));
  if (!r) return MULTICHAP_BACKEND_ERR_FAILED;
  *out_len = chap_a == f->short_digest_chap_a ? *r - 1 : *r;
  return MULTICHAP_BACKEND_OK;
}

int forward_random(void* ctx, uint8_t* out, size_t len) {
  const auto* f = static_cast<const Forwarding*>(ctx);
  return f->real->random(MutableByteView(out, len)) ? MULTICHAP_BACKEND_OK
                                                    : MULTICHAP_BACKEND_ERR_FAILED;
}

multichap_backend_v1 forwarding_table(std::uint32_t flags) {
  multichap_backend_v1 table{};
  table.abi_major = MULTICHAP_BACKEND_ABI_MAJOR;
  table.abi_minor = MULTICHAP_BACKEND_ABI_MINOR;
  table.size = sizeof(multichap_backend_v1);
  table.name = "forwarding";
  table.backend_version = "1";
  table.library_version = "test";
  table.flags = flags;
  table.supports = &forward_supports;
  table.compute = &forward_compute;
  table.random = &forward_random;
  return table;
}

class DirectDigest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto real = make_default_backend();
    ASSERT_TRUE(real) << real.error().message;
    m_forwarding.real = *real;
  }
  // The response of alg through backend, or its error.
  Result<std::size_t> respond(const HashBackend& backend, Algorithm alg,
                              std::array<std::uint8_t, kMaxDigestSize>& out) {
    return chap_response(backend, alg, 0x2a, m_secret, ByteView(m_challenge.data(), 16),
                         MutableByteView(out.data(), out.size()));
  }

  Forwarding m_forwarding;
  static constexpr std::string_view kSecret = "a CHAP secret of 24 bytes";
  Secret m_secret = Secret::from_bytes(
      ByteView(reinterpret_cast<const std::uint8_t*>(kSecret.data()), kSecret.size()));
  std::array<std::uint8_t, 16> m_challenge{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
};

TEST_F(DirectDigest, AResponseIsOneComputeAndEqualsTheRealBackends) {
  const multichap_backend_v1 table = forwarding_table(0);
  ASSERT_EQ(check_table(&table), "");
  const TableBackend backend(&table, &m_forwarding, "test");
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (!m_forwarding.real->supports(info.id)) continue;
    SCOPED_TRACE(std::string(info.name));
    m_forwarding.computes = 0;
    std::array<std::uint8_t, kMaxDigestSize> ours{};
    std::array<std::uint8_t, kMaxDigestSize> real{};
    const auto r = respond(backend, info.id, ours);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(m_forwarding.computes.load(), 1);
    ASSERT_TRUE(respond(*m_forwarding.real, info.id, real));
    EXPECT_EQ(*r, info.digest_size);
    EXPECT_EQ(ours, real);
  }
}

TEST_F(DirectDigest, AFailedComputeIsStillTheTypedErrorOfDigest) {
  m_forwarding.fail_chap_a = 7;
  m_forwarding.short_digest_chap_a = 6;
  const multichap_backend_v1 table = forwarding_table(0);
  const TableBackend backend(&table, &m_forwarding, "test");
  std::array<std::uint8_t, kMaxDigestSize> out{};

  m_forwarding.computes = 0;
  const auto failed = respond(backend, Algorithm::sha256, out);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::backend);
  EXPECT_EQ(failed.error().code, ErrorCode::digest_failed);
  EXPECT_NE(failed.error().message.find("forwarding"), std::string::npos) << failed.error().message;
  EXPECT_EQ(m_forwarding.computes.load(), 2);  // the direct call, then digest()'s

  const auto short_digest = respond(backend, Algorithm::sha1, out);
  ASSERT_FALSE(short_digest);
  EXPECT_EQ(short_digest.error().code, ErrorCode::digest_failed);
  EXPECT_NE(short_digest.error().message.find("19-byte"), std::string::npos)
      << short_digest.error().message;

  // Too small an output: refused by the compute, reported by digest().
  std::array<std::uint8_t, 8> tiny{};
  const auto too_small =
      chap_response(backend, Algorithm::md5, 0x2a, m_secret, ByteView(m_challenge.data(), 16),
                    MutableByteView(tiny.data(), tiny.size()));
  ASSERT_FALSE(too_small);
  EXPECT_EQ(too_small.error().kind, ErrorKind::backend);
}

TEST_F(DirectDigest, ASerialTableIsNeverCalledDirectly) {
  // With MULTICHAP_BACKEND_F_SERIAL every call goes through digest() and its lock: one compute
  // per response all the same, and a failure is computed twice only if called directly.
  m_forwarding.fail_chap_a = 7;
  const multichap_backend_v1 table = forwarding_table(MULTICHAP_BACKEND_F_SERIAL);
  const TableBackend backend(&table, &m_forwarding, "test");
  std::array<std::uint8_t, kMaxDigestSize> out{};
  m_forwarding.computes = 0;
  ASSERT_FALSE(respond(backend, Algorithm::sha256, out));
  EXPECT_EQ(m_forwarding.computes.load(), 1);
  m_forwarding.computes = 0;
  ASSERT_TRUE(respond(backend, Algorithm::md5, out) ||
              !m_forwarding.real->supports(Algorithm::md5));
  EXPECT_LE(m_forwarding.computes.load(), 1);
}

}  // namespace
}  // namespace multichap
