// SPDX-License-Identifier: BSD-2-Clause
// AES-256-GCM through Nettle, in this file only. Nettle is loaded at run time (dlopen of its
// SONAME, found at build time) on the first seal or open, so the multichap binary has no NEEDED
// entry for a crypto library (the backends are plugins; a fleet without a key file never loads
// it). Its header gives the types and the function signatures.
#include "store/envelope.h"

#include <dlfcn.h>
#include <nettle/gcm.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "auth/encoding.h"

#ifndef MULTICHAP_NETTLE_SONAME
#error "MULTICHAP_NETTLE_SONAME must come from the build (store/CMakeLists.txt)"
#endif

namespace multichap::store {

namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kIvBytes = 12;
constexpr std::size_t kTagBytes = GCM_DIGEST_SIZE;

Error envelope_error(const std::string& what) {
  return make_error(ErrorKind::policy, ErrorCode::envelope_invalid, what);
}

// Wipes Nettle's context (expanded key, hash subkey) when it goes out of scope.
struct Gcm {
  gcm_aes256_ctx ctx{};
  ~Gcm() { secure_wipe(&ctx, sizeof(ctx)); }
};

// The six Nettle functions the envelope calls (the gcm_aes256_* macros name these symbols).
struct NettleGcm {
  decltype(&nettle_gcm_aes256_set_key) set_key = nullptr;
  decltype(&nettle_gcm_aes256_set_iv) set_iv = nullptr;
  decltype(&nettle_gcm_aes256_update) update = nullptr;
  decltype(&nettle_gcm_aes256_encrypt) encrypt = nullptr;
  decltype(&nettle_gcm_aes256_decrypt) decrypt = nullptr;
  decltype(&nettle_gcm_aes256_digest) digest = nullptr;
};

template <typename Fn>
bool resolve(void* handle, const char* name, Fn& fn) {
  fn = reinterpret_cast<Fn>(dlsym(handle, name));  // NOLINT: dlsym gives a void*
  return fn != nullptr;
}

// Loaded once per process (never unloaded), or the reason it could not be.
Result<const NettleGcm*> nettle_gcm() {
  static std::once_flag once;
  static NettleGcm gcm;
  static std::string failure;
  std::call_once(once, [] {
    void* handle = dlopen(MULTICHAP_NETTLE_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      failure = std::string("secrets at rest need Nettle (") + MULTICHAP_NETTLE_SONAME +
                ", Debian libnettle8): " + (why != nullptr ? why : "dlopen failed");
      return;
    }
    if (!resolve(handle, "nettle_gcm_aes256_set_key", gcm.set_key) ||
        !resolve(handle, "nettle_gcm_aes256_set_iv", gcm.set_iv) ||
        !resolve(handle, "nettle_gcm_aes256_update", gcm.update) ||
        !resolve(handle, "nettle_gcm_aes256_encrypt", gcm.encrypt) ||
        !resolve(handle, "nettle_gcm_aes256_decrypt", gcm.decrypt) ||
        !resolve(handle, "nettle_gcm_aes256_digest", gcm.digest)) {
      failure = std::string(MULTICHAP_NETTLE_SONAME) + " lacks the AES-256-GCM functions";
    }
  });
  if (!failure.empty()) return make_error(ErrorKind::backend, ErrorCode::envelope_invalid, failure);
  return &gcm;
}

const std::uint8_t* bytes_of(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

}  // namespace

Result<KeyRing> KeyRing::parse(std::string_view text, const std::string& where) {
  KeyRing ring;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t nl = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    line = line.substr(first);
    const auto space = line.find_first_of(" \t");
    const auto rest = space == std::string_view::npos ? std::string_view::npos
                                                      : line.find_first_not_of(" \t", space);
    if (space == std::string_view::npos || rest == std::string_view::npos) {
      return make_error(ErrorKind::usage, ErrorCode::config_invalid,
                        where + ":" + std::to_string(line_no) + ": expected \"KID HEX\"");
    }
    std::string_view hex = line.substr(rest);
    while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t' || hex.back() == '\r'))
      hex.remove_suffix(1);
    Key key;
    key.kid = std::string(line.substr(0, space));
    auto bytes = decode_binary("0x" + std::string(hex), kKeyBytes);
    if (!bytes || bytes->size() != kKeyBytes) {
      return make_error(ErrorKind::usage, ErrorCode::config_invalid,
                        where + ":" + std::to_string(line_no) + ": key " + key.kid +
                            " must be 64 hex digits (32 bytes)");
    }
    key.bytes = std::move(bytes).value();
    for (const Key& k : ring.m_keys) {
      if (k.kid == key.kid) {
        return make_error(
            ErrorKind::usage, ErrorCode::config_invalid,
            where + ":" + std::to_string(line_no) + ": key id " + key.kid + " given twice");
      }
    }
    ring.m_keys.push_back(std::move(key));
    if (nl == text.size()) break;
  }
  if (ring.m_keys.empty()) {
    return make_error(ErrorKind::usage, ErrorCode::config_invalid, where + ": no key");
  }
  return ring;
}

Result<KeyRing> KeyRing::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(ErrorKind::usage, ErrorCode::file_unreadable, "cannot read key file " + path);
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return make_error(ErrorKind::usage, ErrorCode::secret_file_permissions,
                      "key file " + path + " is accessible to group or other (chmod 600 it)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(ErrorKind::usage, ErrorCode::file_unreadable, "cannot read key file " + path);
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto ring = parse(text, path);
  secure_wipe(text.data(), text.size());
  return ring;
}

Result<SealedSecret> KeyRing::seal(ByteView secret, std::string_view aad) const {
  if (m_keys.empty()) return envelope_error("no key to seal with");
  const Key& key = m_keys.front();
  SealedSecret out;
  out.kid = key.kid;
  out.iv.resize(kIvBytes);
  if (getrandom(out.iv.data(), kIvBytes, 0) != static_cast<ssize_t>(kIvBytes)) {
    return envelope_error("getrandom failed");
  }
  MULTICHAP_ASSIGN_OR_RETURN(const NettleGcm* nettle, nettle_gcm());
  out.ct.resize(secret.size() + kTagBytes);
  auto* ct = reinterpret_cast<std::uint8_t*>(out.ct.data());
  Gcm gcm;
  nettle->set_key(&gcm.ctx, key.bytes.data());
  nettle->set_iv(&gcm.ctx, kIvBytes, bytes_of(out.iv));
  nettle->update(&gcm.ctx, aad.size(), bytes_of(aad));
  nettle->encrypt(&gcm.ctx, secret.size(), ct, secret.data());
  nettle->digest(&gcm.ctx, kTagBytes, ct + secret.size());
  return out;
}

Result<Secret> KeyRing::open(const SealedSecret& sealed, std::string_view aad) const {
  const Key* key = nullptr;
  for (const Key& k : m_keys) {
    if (k.kid == sealed.kid) key = &k;
  }
  if (key == nullptr)
    return envelope_error("sealed with key id '" + sealed.kid + "', not in the key file");
  if (sealed.iv.size() != kIvBytes || sealed.ct.size() < kTagBytes) {
    return envelope_error("sealed value of the wrong size");
  }
  MULTICHAP_ASSIGN_OR_RETURN(const NettleGcm* nettle, nettle_gcm());
  const std::size_t n = sealed.ct.size() - kTagBytes;
  SecureBytes plain(n);
  std::uint8_t tag[kTagBytes];
  Gcm gcm;
  nettle->set_key(&gcm.ctx, key->bytes.data());
  nettle->set_iv(&gcm.ctx, kIvBytes, bytes_of(sealed.iv));
  nettle->update(&gcm.ctx, aad.size(), bytes_of(aad));
  nettle->decrypt(&gcm.ctx, n, plain.data(), bytes_of(sealed.ct));
  nettle->digest(&gcm.ctx, kTagBytes, tag);
  const bool ok =
      constant_time_equal(ByteView(tag, kTagBytes), ByteView(bytes_of(sealed.ct) + n, kTagBytes));
  secure_wipe(tag, sizeof(tag));
  if (!ok) {
    return envelope_error(
        "sealed secret does not open (another key, another object's value, or "
        "modified)");
  }
  return Secret::from_bytes(ByteView(plain.data(), plain.size()));
}

}  // namespace multichap::store
