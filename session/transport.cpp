// SPDX-License-Identifier: BSD-2-Clause
#include "session/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace multichap {

namespace {

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 100 ? 100 : static_cast<int>(left);  // wake at least every 100 ms
}

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port) {
  Endpoint ep;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return make_error(ErrorKind::usage, ErrorCode::address_syntax, "unbalanced '[' in address");
    ep.host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return make_error(ErrorKind::usage, ErrorCode::address_syntax,
                          "expected ':' after ']' in address");
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = text.rfind(':');
    ep.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
  }
  if (ep.host.empty())
    return make_error(ErrorKind::usage, ErrorCode::address_no_host,
                      "address '" + std::string(text) + "' has no host");
  ep.port = default_port;
  if (!port_text.empty()) {
    unsigned long port = 0;
    for (const char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        return make_error(ErrorKind::usage, ErrorCode::address_port,
                          "bad port in address '" + std::string(text) + "'");
      }
      port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port > 65535)
      return make_error(ErrorKind::usage, ErrorCode::address_port,
                        "bad port in address '" + std::string(text) + "'");
    ep.port = static_cast<std::uint16_t>(port);
  }
  return ep;
}

Connection::Connection(int fd) : m_fd(fd) {
  // Every read and write polls against a deadline, which needs a non-blocking socket: an adopted
  // blocking one would otherwise let recv()/send() wait past any deadline.
  if (m_fd >= 0) {
    const int flags = ::fcntl(m_fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK) == 0) ::fcntl(m_fd, F_SETFL, flags | O_NONBLOCK);
  }
}
Connection::Connection(Connection&& other) noexcept : m_fd(other.m_fd) {
  other.m_fd = -1;
}
Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    close();
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}
Connection::~Connection() {
  close();
}

void Connection::close() {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = -1;
}

void Connection::shutdown() {
  if (m_fd >= 0) ::shutdown(m_fd, SHUT_RDWR);
}

std::string Connection::peer() const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (m_fd < 0 || getpeername(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), serv, sizeof(serv),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  return std::string(host) + ":" + serv;
}

Result<Connection> Connection::connect(const Endpoint& endpoint, Millis timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (const int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &list); rc != 0) {
    return make_error(ErrorKind::io, ErrorCode::resolve_failed,
                      "cannot resolve '" + endpoint.host + "': " + gai_strerror(rc));
  }
  const auto deadline = Clock::now() + timeout;
  Error last = make_error(ErrorKind::io, ErrorCode::resolve_failed,
                          "no address for " + endpoint.to_string());
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    Connection conn(
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!conn.is_open()) {
      last = make_error(ErrorKind::io, ErrorCode::socket_failed, "socket: " + errno_text(errno));
      continue;
    }
    if (::connect(conn.m_fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = make_error(ErrorKind::io, ErrorCode::connect_failed,
                        "connect to " + endpoint.to_string() + ": " + errno_text(errno));
      continue;
    }
    pollfd pfd{conn.m_fd, POLLOUT, 0};
    int ready = 0;
    while ((ready = ::poll(&pfd, 1, remaining_ms(deadline))) == 0 && Clock::now() < deadline) {
    }
    if (ready <= 0) {
      last = make_error(ErrorKind::timeout, ErrorCode::connect_timeout,
                        "connect to " + endpoint.to_string() + " timed out");
      continue;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(conn.m_fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last = make_error(ErrorKind::io, ErrorCode::connect_failed,
                        "connect to " + endpoint.to_string() + ": " + errno_text(err));
      continue;
    }
    const int one = 1;
    setsockopt(conn.m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    freeaddrinfo(list);
    return conn;
  }
  freeaddrinfo(list);
  return last;
}

Result<void> Connection::read_exact(MutableByteView out, Clock::time_point deadline,
                                    const std::atomic<bool>* stop) {
  std::size_t done = 0;
  while (done < out.size()) {
    if (stop != nullptr && stop->load())
      return make_error(ErrorKind::io, ErrorCode::stopped, "stopped");
    const ssize_t n = ::recv(m_fd, out.data() + done, out.size() - done, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0)
      return make_error(ErrorKind::io, ErrorCode::connection_closed, "connection closed by peer");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return make_error(ErrorKind::io, ErrorCode::read_failed, "read: " + errno_text(errno));
    }
    if (Clock::now() >= deadline)
      return make_error(ErrorKind::timeout, ErrorCode::read_timeout, "read timed out");
    pollfd pfd{m_fd, POLLIN, 0};
    ::poll(&pfd, 1, remaining_ms(deadline));
  }
  return {};
}

Result<std::size_t> Connection::read_some(MutableByteView out, Clock::time_point deadline) {
  while (true) {
    const ssize_t n = ::recv(m_fd, out.data(), out.size(), 0);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0)
      return make_error(ErrorKind::io, ErrorCode::connection_closed, "connection closed by peer");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return make_error(ErrorKind::io, ErrorCode::read_failed, "read: " + errno_text(errno));
    }
    if (Clock::now() >= deadline)
      return make_error(ErrorKind::timeout, ErrorCode::read_timeout, "read timed out");
    pollfd pfd{m_fd, POLLIN, 0};
    ::poll(&pfd, 1, remaining_ms(deadline));
  }
}

Result<void> Connection::write_all(ByteView data, Clock::time_point deadline) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(m_fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return make_error(ErrorKind::io, ErrorCode::write_failed, "write: " + errno_text(errno));
    }
    if (Clock::now() >= deadline)
      return make_error(ErrorKind::timeout, ErrorCode::write_timeout, "write timed out");
    pollfd pfd{m_fd, POLLOUT, 0};
    ::poll(&pfd, 1, remaining_ms(deadline));
  }
  return {};
}

Result<Listener> Listener::listen(const Endpoint& endpoint, int backlog) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (const int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &list); rc != 0) {
    return make_error(ErrorKind::usage, ErrorCode::resolve_failed,
                      "cannot resolve '" + endpoint.host + "': " + gai_strerror(rc));
  }
  Listener l;
  l.m_fd = ::socket(list->ai_family, list->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    list->ai_protocol);
  if (l.m_fd < 0) {
    freeaddrinfo(list);
    return make_error(ErrorKind::io, ErrorCode::socket_failed, "socket: " + errno_text(errno));
  }
  const int one = 1;
  setsockopt(l.m_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(l.m_fd, list->ai_addr, list->ai_addrlen) != 0 || ::listen(l.m_fd, backlog) != 0) {
    const int err = errno;
    freeaddrinfo(list);
    return make_error(ErrorKind::io, ErrorCode::listen_failed,
                      "cannot listen on " + endpoint.to_string() + ": " + errno_text(err));
  }
  freeaddrinfo(list);
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  getsockname(l.m_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  l.m_port = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return l;
}

Listener::Listener(Listener&& other) noexcept : m_fd(other.m_fd), m_port(other.m_port) {
  other.m_fd = -1;
}
Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    close();
    m_fd = other.m_fd;
    m_port = other.m_port;
    other.m_fd = -1;
  }
  return *this;
}
Listener::~Listener() {
  close();
}
int Listener::release() {
  const int fd = m_fd;
  m_fd = -1;
  return fd;
}

void Listener::close() {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = -1;
}

Result<Connection> Listener::accept(Millis timeout) {
  pollfd pfd{m_fd, POLLIN, 0};
  const int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return Connection{};
  const int fd = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
      return Connection{};
    return make_error(ErrorKind::io, ErrorCode::accept_failed, "accept: " + errno_text(errno));
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return Connection(fd);
}

}  // namespace multichap
