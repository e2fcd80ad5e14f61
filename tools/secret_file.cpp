// SPDX-License-Identifier: BSD-2-Clause
#include "tools/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace multichap::cli {

namespace {

// Closes a descriptor on every path out.
class Descriptor {
 public:
  explicit Descriptor(int fd) : m_fd(fd) {}
  ~Descriptor() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return m_fd; }

 private:
  int m_fd;
};

std::string octal_mode(mode_t mode) {
  char text[8];
  (void)std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// "cannot read WHAT 'PATH': REASON", as a usage error.
Error unreadable(const std::string& what, const std::string& path, const char* reason) {
  std::string message = "cannot read ";
  message.append(what).append(" '").append(path).append("': ").append(reason);
  return make_error(ErrorKind::usage, ErrorCode::file_unreadable, message);
}

// Secrets are short; a file larger than this is not a secret file (and is not read whole).
constexpr std::size_t kMaxSecretFileBytes = std::size_t{1} << 20;

}  // namespace

Result<SecureBytes> read_secret_file(const std::string& path, const std::string& what) {
  const Descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return unreadable(what, path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return unreadable(what, path, std::strerror(errno));
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return make_error(ErrorKind::usage, ErrorCode::secret_file_permissions,
                      what + " '" + path + "' has mode " + octal_mode(st.st_mode) +
                          ": group or others may access it; a secret file must be private to "
                          "its owner (chmod 600 '" +
                          path + "')");
  }
  SecureBytes content;
  content.reserve(256);
  std::uint8_t chunk[256];
  const ScopedWipe wipe_chunk(chunk);
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unreadable(what, path, std::strerror(errno));
    if (n == 0) break;
    if (content.size() + static_cast<std::size_t>(n) > kMaxSecretFileBytes) {
      return unreadable(what, path, "larger than a secret file can be (1 MiB)");
    }
    content.insert(content.end(), chunk, chunk + n);
  }
  return content;
}

Result<Secret> read_secret_from_file(const std::string& path, const std::string& what) {
  MULTICHAP_ASSIGN_OR_RETURN(SecureBytes content, read_secret_file(path, what));
  std::size_t size = content.size();
  while (size > 0 && (content[size - 1] == '\n' || content[size - 1] == '\r')) --size;
  return Secret::from_bytes(ByteView(content.data(), size));
}

}  // namespace multichap::cli
