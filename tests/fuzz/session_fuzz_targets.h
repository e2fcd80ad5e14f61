// SPDX-License-Identifier: BSD-2-Clause
// The session-level libFuzzer targets (pdu, target_login, initiator_login) as plain functions,
// after tests/fuzz/fuzz_targets.h: each fuzz_<name>.cpp defines LLVMFuzzerTestOneInput unless
// MULTICHAP_FUZZ_REPLAY is set, and tests/session/fuzz_replay_test.cpp replays corpus/ and
// regressions/ through the same bodies. Also the pieces the seed recorder
// (tests/session/fuzz_seeds_test.cpp) shares with the targets so that a recorded exchange
// replays exactly: the configurations selected by an input's first byte, a backend with
// predictable "random" bytes, and socketpair helpers.
//
// Input formats (byte 0 selects the configuration, the rest is the raw byte stream the peer
// sends, written into one end of a socketpair and followed by shutdown(SHUT_WR)):
//   target_login     byte 0 = TargetFlags; bytes 1.. = what an initiator sends to our Target.
//   initiator_login  byte 0 = InitiatorFlags; bytes 1.. = what a target sends to our initiator.
//   pdu              no configuration byte: the whole input is a PDU stream.
#ifndef MULTICHAP_TESTS_FUZZ_SESSION_FUZZ_TARGETS_H
#define MULTICHAP_TESTS_FUZZ_SESSION_FUZZ_TARGETS_H

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/chap.h"
#include "backends/hash_backend.h"
#include "session/pdu.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/predictable_backend.h"
#include "tests/support/identities.h"

namespace multichap::fuzz {

// Longer inputs are cut: everything must fit in one socket buffer before the peer runs.
inline constexpr std::size_t kMaxSessionFuzzInput = 64 * 1024;

// What a login fuzz run ended with (the replay test checks seeds named *success* succeed).
struct LoginOutcome {
  bool succeeded = false;
  std::optional<std::uint16_t> status;  // the last non-zero status sent or received, if any
  std::string error;                    // the initiator's error message (initiator_login)
};

void fuzz_pdu(const std::uint8_t* data, std::size_t size);
LoginOutcome fuzz_target_login(const std::uint8_t* data, std::size_t size);
LoginOutcome fuzz_initiator_login(const std::uint8_t* data, std::size_t size);

// Target side streams start at offset 7, initiator side at 89, so their challenges differ.
inline constexpr std::uint8_t kTargetRandomOffset = 7;
inline constexpr std::uint8_t kInitiatorRandomOffset = 89;

inline std::shared_ptr<const HashBackend> real_backend(std::uint8_t selector) {
  const auto& names = built_backends();
  auto backend = make_backend(names[selector % names.size()]);
  MULTICHAP_FUZZ_CHECK(backend.has_value());
  return *backend;
}

// Algorithm sets selected by two flag bits.
inline std::vector<Algorithm> algorithms_for(std::uint8_t bits) {
  switch (bits & 3) {
    case 0:
      return {kDefaultPreference.begin(), kDefaultPreference.end()};
    case 1:
      return {Algorithm::sha3_256, Algorithm::sha256};
    case 2:
      return {Algorithm::md5};
    default:
      return {Algorithm::sha256, Algorithm::sha1};
  }
}

// TargetFlags (byte 0 of a target_login input):
//   bit 0     backend: first or second of built_backends()
//   bit 1     the target has its own identity (can answer mutual CHAP)
//   bit 2     require mutual CHAP (only with bit 1)
//   bit 3     allow AuthMethod=None
//   bits 4-5  algorithms: all four / SHA3-256,SHA-256 / MD5 / SHA-256,SHA-1
//   bit 6     legacy tgt numbering (CHAP_A 7 = SHA-1)
//   bit 7     no CHAP configured at all (TargetOptions::chap null)
inline std::shared_ptr<const ChapTargetConfig> target_login_config(std::uint8_t flags) {
  if (flags & 0x80) return nullptr;
  auto config = std::make_shared<ChapTargetConfig>();
  config->accounts.push_back(test::credentials(test::kInitiatorUser, test::kInitiatorSecret));
  if (flags & 0x02) {
    config->local = test::credentials(test::kTargetUser, test::kTargetSecret);
    config->policy.require_mutual = (flags & 0x04) != 0;
  }
  config->policy.allow_none = (flags & 0x08) != 0;
  config->policy.algorithms = algorithms_for(static_cast<std::uint8_t>(flags >> 4));
  if (flags & 0x40) config->policy.numbering = ChapNumbering::legacy_tgt_sha1;
  return config;
}

// InitiatorFlags (byte 0 of an initiator_login input):
//   bit 0     backend: first or second of built_backends()
//   bit 1     mutual CHAP (expects the target to prove test::kTargetUser)
//   bit 2     accept a target that chooses AuthMethod=None
//   bit 3     SessionType=Discovery instead of Normal
//   bits 4-5  algorithms offered, as for the target
//   bit 6     legacy tgt numbering
//   bit 7     our mutual challenge is 16 bytes instead of 32 (raised to the digest size)
inline ChapInitiatorConfig initiator_login_config(std::uint8_t flags) {
  ChapInitiatorConfig config;
  config.local = test::credentials(test::kInitiatorUser, test::kInitiatorSecret);
  if (flags & 0x02) {
    config.target = test::credentials(test::kTargetUser, test::kTargetSecret);
  }
  config.policy.allow_none = (flags & 0x04) != 0;
  config.policy.algorithms = algorithms_for(static_cast<std::uint8_t>(flags >> 4));
  if (flags & 0x40) config.policy.numbering = ChapNumbering::legacy_tgt_sha1;
  config.policy.challenge_size = (flags & 0x80) ? 16 : 32;
  return config;
}

// A connected, non-blocking AF_UNIX stream pair (Connection needs non-blocking sockets: its
// reads and writes wait in poll() with a deadline).
struct SocketPair {
  int ours = -1;
  int theirs = -1;
  SocketPair() {
    int fds[2];
    const int rc = ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
    MULTICHAP_FUZZ_CHECK(rc == 0);
    ours = fds[0];
    theirs = fds[1];
  }
  ~SocketPair() {
    if (ours >= 0) ::close(ours);
    if (theirs >= 0) ::close(theirs);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  // Hands the far end over (to a Connection, which then owns and closes it).
  int release_theirs() {
    const int fd = theirs;
    theirs = -1;
    return fd;
  }
};

// Writes all of bytes to a non-blocking fd (waiting in poll when the buffer is full); false if
// the peer went away or nothing could be written for a second.
inline bool write_fully(int fd, const std::uint8_t* bytes, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::send(fd, bytes + done, size - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, 1000) <= 0) return false;
  }
  return true;
}

// Reads fd until end of stream (the peer closed) on a thread of its own, so that the peer never
// blocks on a full buffer. join() returns everything read.
class Drain {
 public:
  explicit Drain(int fd) : m_thread([this, fd] { run(fd); }) {}
  ~Drain() {
    if (m_thread.joinable()) m_thread.join();
  }
  Drain(const Drain&) = delete;
  Drain& operator=(const Drain&) = delete;
  const Bytes& join() {
    if (m_thread.joinable()) m_thread.join();
    return m_bytes;
  }

 private:
  void run(int fd) {
    std::uint8_t buf[4096];
    while (true) {
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n > 0) {
        m_bytes.insert(m_bytes.end(), buf, buf + n);
        continue;
      }
      if (n == 0) return;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return;
      pollfd pfd{fd, POLLIN, 0};
      ::poll(&pfd, 1, 100);
    }
  }
  Bytes m_bytes;
  std::thread m_thread;
};

// The wire length of the PDU at the start of bytes (header, AHS, data, padding), or nothing when
// fewer than 48 bytes remain.
inline std::optional<std::size_t> wire_length(ByteView bytes) {
  if (bytes.size() < kBhsSize) return std::nullopt;
  const std::size_t ahs = std::size_t{bytes[4]} * 4;
  const std::size_t length =
      (std::size_t{bytes[5]} << 16) | (std::size_t{bytes[6]} << 8) | std::size_t{bytes[7]};
  return kBhsSize + ahs + length + (4 - length % 4) % 4;
}

// Splits a stream our own engine wrote into PDUs; every byte must belong to a well-formed PDU of
// at most max_data data bytes (an engine never writes a malformed stream).
inline std::vector<Pdu> split_own_stream(const Bytes& stream, std::uint32_t max_data) {
  std::vector<Pdu> out;
  ByteView rest(stream);
  while (!rest.empty()) {
    const auto length = wire_length(rest);
    MULTICHAP_FUZZ_CHECK(length.has_value() && *length <= rest.size());
    auto pdu = parse_pdu(rest.first(*length), max_data);
    MULTICHAP_FUZZ_CHECK(pdu.has_value());
    out.push_back(std::move(pdu).value());
    rest = rest.subview(*length);
  }
  return out;
}

inline bool contains_text(const Bytes& haystack, std::string_view needle) {
  return std::string_view(reinterpret_cast<const char*>(haystack.data()), haystack.size())
             .find(needle) != std::string_view::npos;
}

}  // namespace multichap::fuzz

#endif  // MULTICHAP_TESTS_FUZZ_SESSION_FUZZ_TARGETS_H
