// SPDX-License-Identifier: BSD-2-Clause
// TCP transport for the login engines: blocking sockets driven by poll() with deadlines, so no
// read or write can hang past its timeout and every read is bounded by the caller's length.
#ifndef MULTICHAP_SESSION_TRANSPORT_H
#define MULTICHAP_SESSION_TRANSPORT_H

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "auth/bytes.h"
#include "auth/result.h"

namespace multichap {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Parses "HOST:PORT" (HOST a name or IPv4 address, or [IPv6]); a usage error otherwise.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const;
};
Result<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port = 3260);

// One connected TCP socket. Move-only; closes on destruction.
class Connection {
 public:
  Connection() = default;
  // Adopts a connected stream socket (and makes it non-blocking, which the deadlines need).
  explicit Connection(int fd);
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Connects within timeout (ErrorKind::io for refused/unreachable, timeout for the deadline).
  static Result<Connection> connect(const Endpoint& endpoint, Millis timeout);

  // Reads exactly out.size() bytes before the deadline. ErrorKind::io if the peer closes first
  // ("connection closed by peer"), timeout when the deadline passes. stop, if given, is polled
  // every 100 ms and aborts the read with ErrorKind::io when set.
  Result<void> read_exact(MutableByteView out, Clock::time_point deadline,
                          const std::atomic<bool>* stop = nullptr);
  // Reads what has arrived (at least one byte, at most out.size()) before the deadline: the
  // count, ErrorKind::io when the peer closed, timeout when the deadline passes first.
  Result<std::size_t> read_some(MutableByteView out, Clock::time_point deadline);
  // Writes all of data before the deadline.
  Result<void> write_all(ByteView data, Clock::time_point deadline);

  bool is_open() const { return m_fd >= 0; }
  int fd() const { return m_fd; }
  // Shuts the socket down for both directions (wakes a blocked reader), keeps the fd.
  void shutdown();
  void close();
  std::string peer() const;

 private:
  int m_fd = -1;
};

// A listening TCP socket.
class Listener {
 public:
  // Binds host:port (port 0: any free port) with SO_REUSEADDR and listens.
  static Result<Listener> listen(const Endpoint& endpoint, int backlog = 512);
  Listener() = default;
  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  ~Listener();

  std::uint16_t port() const { return m_port; }
  // Waits up to timeout for a connection; an empty Connection (is_open() false) on timeout.
  Result<Connection> accept(Millis timeout);
  void close();
  // Gives up the listening descriptor (for an event loop to adopt); -1 when closed.
  int release();

 private:
  int m_fd = -1;
  std::uint16_t m_port = 0;
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_TRANSPORT_H
