// SPDX-License-Identifier: BSD-2-Clause
// Helpers of the loopback benchmarks: clients that each come from a loopback address of their
// own (as hosts of a rack do, and as the target's per-source cap expects), and the descriptor
// limit they need.
#ifndef MULTICHAP_BENCH_LOOPBACK_H
#define MULTICHAP_BENCH_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace multichap::bench {

// Takes the hard descriptor limit (thousands of connections are held open).
inline void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// 127.0.x.y in host byte order.
constexpr std::uint32_t loopback_address(std::uint32_t x, std::uint32_t y) {
  return (127u << 24) | (x << 8) | y;
}

// A blocking TCP connection to 127.0.0.1:port from source (host byte order); -1 on failure.
inline int connect_loopback_from(std::uint32_t source, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(source);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace multichap::bench

#endif  // MULTICHAP_BENCH_LOOPBACK_H
