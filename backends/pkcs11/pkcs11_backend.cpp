// SPDX-License-Identifier: BSD-2-Clause
// The pkcs11 backend: CHAP secrets that stay in a PKCS#11 token (an HSM, a TPM through
// tpm2-pkcs11, SoftHSM). A secret is named by an RFC 7512 URI
// ("pkcs11:token=multichap;object=alice;type=secret-key"), parsed by p11-kit, whose module it is
// in is loaded through p11-kit too (module-path=, module-name=, else every module p11-kit has
// registered). The key is a CKO_SECRET_KEY/CKK_GENERIC_SECRET object; a CHAP response is
//   C_DigestInit, C_DigestUpdate(identifier), C_DigestKey(key), C_DigestUpdate(challenge),
//   C_DigestFinal
// inside the token (PKCS#11 lets C_DigestKey and C_DigestUpdate interleave in any order), so the
// secret's value never enters this process. What the token can digest for a key (SoftHSM: SHA-1
// and SHA-256 for a sensitive key, MD5 only for a readable one, no SHA3-256) is probed once when
// the key is opened and reported per key (key_supports).
//
// Sessions: each key keeps a pool of open sessions of its token (the first one holds the login,
// which PKCS#11 keeps per application while any session is open); a compute takes one, runs
// the digest and gives it back, so threads never share a session (a session runs one digest at
// a time) and a token is not asked to open a session per response.
//
// The backend computes only with keys (MULTICHAP_BACKEND_F_KEYS_ONLY): supports() says 0 and the
// host never uses it for plain secrets. Its random() is the kernel's (getrandom). Nothing is
// loaded before the first key_open: a process that never names a token pays nothing.
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <sys/random.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "backends/plugin_support.h"
#include "multichap/backend.h"

#ifndef CKM_SHA3_256
#define CKM_SHA3_256 0x2b0UL  // PKCS#11 3.0
#endif

namespace multichap {

namespace {

// The mechanism of each algorithm, in kAlgorithms order.
struct Pkcs11Algorithm {
  Algorithm id;
  CK_MECHANISM_TYPE mechanism;
  const char* mechanism_name;
};
constexpr std::array<Pkcs11Algorithm, kAlgorithmCount> kPkcs11Algorithms = {{
    {Algorithm::md5, CKM_MD5, "CKM_MD5"},
    {Algorithm::sha1, CKM_SHA_1, "CKM_SHA_1"},
    {Algorithm::sha256, CKM_SHA256, "CKM_SHA256"},
    {Algorithm::sha3_256, CKM_SHA3_256, "CKM_SHA3_256"},
}};
static_assert(in_algorithm_order(kPkcs11Algorithms),
              "kPkcs11Algorithms: one row per Algorithm, in enum order");

// The name of a return value, for messages.
std::string rv_name(CK_RV rv) {
  switch (rv) {
    case CKR_OK:
      return "CKR_OK";
    case CKR_PIN_INCORRECT:
      return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED:
      return "CKR_PIN_LOCKED";
    case CKR_PIN_LEN_RANGE:
      return "CKR_PIN_LEN_RANGE";
    case CKR_KEY_INDIGESTIBLE:
      return "CKR_KEY_INDIGESTIBLE";
    case CKR_MECHANISM_INVALID:
      return "CKR_MECHANISM_INVALID";
    case CKR_FUNCTION_NOT_SUPPORTED:
      return "CKR_FUNCTION_NOT_SUPPORTED";
    case CKR_DEVICE_REMOVED:
      return "CKR_DEVICE_REMOVED";
    case CKR_TOKEN_NOT_PRESENT:
      return "CKR_TOKEN_NOT_PRESENT";
    case CKR_SESSION_HANDLE_INVALID:
      return "CKR_SESSION_HANDLE_INVALID";
    case CKR_USER_NOT_LOGGED_IN:
      return "CKR_USER_NOT_LOGGED_IN";
    case CKR_KEY_HANDLE_INVALID:
      return "CKR_KEY_HANDLE_INVALID";
    case CKR_OBJECT_HANDLE_INVALID:
      return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_ATTRIBUTE_VALUE_INVALID:
      return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_TEMPLATE_INCONSISTENT:
      return "CKR_TEMPLATE_INCONSISTENT";
    default: {
      std::array<char, 32> text{};
      (void)std::snprintf(text.data(), text.size(), "CKR 0x%lx", static_cast<unsigned long>(rv));
      return text.data();
    }
  }
}

void set_why(char* why, std::size_t cap, const std::string& text) {
  if (why == nullptr || cap == 0) return;
  const std::size_t n = std::min(text.size(), cap - 1);
  std::memcpy(why, text.data(), n);
  why[n] = '\0';
}

struct Context {
  const multichap_backend_host* host = nullptr;
};

// Set by an atexit handler registered when the first key is opened (so after the module's own
// static objects, and run before their destructors): a key closed during the process's exit (a
// Secret in a static object) then leaves the module alone instead of calling into a module
// whose state is being torn down.
std::atomic<bool> g_exiting{false};
void note_exit() {
  g_exiting.store(true);
}
void watch_exit() {
  static std::once_flag once;
  std::call_once(once, [] { (void)std::atexit(&note_exit); });
}

void log_error(const Context* ctx, const std::string& line) {
  backend_log(ctx != nullptr ? ctx->host : nullptr, MULTICHAP_BACKEND_LOG_ERROR, line.c_str());
}

// The modules a URI names, loaded and initialized through p11-kit; released on destruction.
class Modules {
 public:
  Modules() = default;
  Modules(const Modules&) = delete;
  Modules& operator=(const Modules&) = delete;
  ~Modules() {
    if (m_single != nullptr) {
      p11_kit_module_finalize(m_single);
      p11_kit_module_release(m_single);
    }
    if (m_registered != nullptr) p11_kit_modules_finalize_and_release(m_registered);
  }

  // module-path: that file; module-name: the registered module of that name; neither: every
  // registered module. False (why set) when none could be loaded.
  bool load(P11KitUri* uri, std::string& why) {
    if (const char* path = p11_kit_uri_get_module_path(uri)) {
      m_single = p11_kit_module_load(path, 0);
      if (m_single == nullptr) {
        const char* message = p11_kit_message();
        why = std::string("cannot load the PKCS#11 module ") + path + ": " +
              (message != nullptr ? message : "p11_kit_module_load failed");
        return false;
      }
      const CK_RV rv = p11_kit_module_initialize(m_single);
      if (rv != CKR_OK) {
        p11_kit_module_release(m_single);
        m_single = nullptr;
        why =
            std::string("cannot initialize the PKCS#11 module ") + path + " (" + rv_name(rv) + ")";
        return false;
      }
      m_list.push_back(m_single);
      return true;
    }
    m_registered = p11_kit_modules_load_and_initialize(0);
    if (m_registered == nullptr) {
      const char* message = p11_kit_message();
      why = std::string("cannot load the registered PKCS#11 modules: ") +
            (message != nullptr ? message : "p11_kit_modules_load_and_initialize failed");
      return false;
    }
    const char* wanted = p11_kit_uri_get_module_name(uri);
    for (CK_FUNCTION_LIST** m = m_registered; *m != nullptr; ++m) {
      if (wanted != nullptr) {
        char* name = p11_kit_module_get_name(*m);
        const bool match = name != nullptr && std::strcmp(name, wanted) == 0;
        std::free(name);
        if (!match) continue;
      }
      m_list.push_back(*m);
    }
    if (m_list.empty()) {
      why = wanted != nullptr ? std::string("no registered PKCS#11 module is called ") + wanted
                              : std::string("p11-kit has no PKCS#11 module registered");
      return false;
    }
    return true;
  }
  const std::vector<CK_FUNCTION_LIST*>& list() const { return m_list; }

 private:
  CK_FUNCTION_LIST* m_single = nullptr;
  CK_FUNCTION_LIST** m_registered = nullptr;
  std::vector<CK_FUNCTION_LIST*> m_list;
};

// A parsed URI, freed on destruction.
struct Uri {
  P11KitUri* uri = p11_kit_uri_new();
  Uri() = default;
  Uri(const Uri&) = delete;
  Uri& operator=(const Uri&) = delete;
  ~Uri() { p11_kit_uri_free(uri); }
};

int parse_uri(const char* reference, Uri& parsed, std::string& why) {
  if (parsed.uri == nullptr) {
    why = "out of memory";
    return MULTICHAP_BACKEND_ERR_FAILED;
  }
  if (reference == nullptr || std::strncmp(reference, "pkcs11:", 7) != 0) {
    why = "not a PKCS#11 URI (RFC 7512: pkcs11:token=...;object=...)";
    return MULTICHAP_BACKEND_ERR_REFERENCE;
  }
  const int rc = p11_kit_uri_parse(reference, P11_KIT_URI_FOR_ANY, parsed.uri);
  if (rc != P11_KIT_URI_OK) {
    why = std::string("not a valid PKCS#11 URI: ") + p11_kit_uri_message(rc);
    return MULTICHAP_BACKEND_ERR_REFERENCE;
  }
  return MULTICHAP_BACKEND_OK;
}

// The PIN: pin-value, else pin-source (file:PATH or an absolute PATH: the file's first line),
// else the environment's MULTICHAP_PKCS11_PIN; empty when none is given. The caller wipes it.
int read_pin(P11KitUri* uri, std::string& pin, std::string& why) {
  if (const char* value = p11_kit_uri_get_pin_value(uri)) {
    pin = value;
    return MULTICHAP_BACKEND_OK;
  }
  if (const char* source = p11_kit_uri_get_pin_source(uri)) {
    std::string path = source;
    if (path.rfind("file://", 0) == 0) {
      path = path.substr(7);
    } else if (path.rfind("file:", 0) == 0) {
      path = path.substr(5);
    }
    if (path.empty() || path[0] != '/') {
      why = "pin-source must be file:/ABSOLUTE/PATH";
      return MULTICHAP_BACKEND_ERR_REFERENCE;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      why = "cannot read the pin-source file " + path;
      return MULTICHAP_BACKEND_ERR_DENIED;
    }
    pin.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    const auto newline = pin.find_first_of("\r\n");
    if (newline != std::string::npos) {
      secure_wipe(pin.data() + newline, pin.size() - newline);
      pin.resize(newline);
    }
    return MULTICHAP_BACKEND_OK;
  }
  if (const char* env = ::secure_getenv("MULTICHAP_PKCS11_PIN")) pin = env;
  return MULTICHAP_BACKEND_OK;
}

// The one token the URI names, across the modules.
struct Token {
  CK_FUNCTION_LIST* fns = nullptr;
  CK_SLOT_ID slot = 0;
  CK_TOKEN_INFO info{};
};

std::string trimmed(const unsigned char* text, std::size_t n) {
  std::string out(reinterpret_cast<const char*>(text), n);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

int find_token(const Modules& modules, P11KitUri* uri, Token& token, std::string& why) {
  int found = 0;
  for (CK_FUNCTION_LIST* fns : modules.list()) {
    CK_INFO module_info{};
    if (fns->C_GetInfo(&module_info) != CKR_OK ||
        p11_kit_uri_match_module_info(uri, &module_info) != 1)
      continue;
    CK_ULONG count = 0;
    if (fns->C_GetSlotList(CK_TRUE, nullptr, &count) != CKR_OK || count == 0) continue;
    std::vector<CK_SLOT_ID> slots(count);
    if (fns->C_GetSlotList(CK_TRUE, slots.data(), &count) != CKR_OK) continue;
    slots.resize(count);
    for (const CK_SLOT_ID slot : slots) {
      CK_SLOT_INFO slot_info{};
      CK_TOKEN_INFO info{};
      if (fns->C_GetSlotInfo(slot, &slot_info) != CKR_OK ||
          p11_kit_uri_match_slot_info(uri, &slot_info) != 1)
        continue;
      if (fns->C_GetTokenInfo(slot, &info) != CKR_OK ||
          p11_kit_uri_match_token_info(uri, &info) != 1)
        continue;
      if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
      if (found++ == 0) token = Token{fns, slot, info};
    }
  }
  if (found == 0) {
    why = "no initialized token matches (a token removed, or the URI's token= differs)";
    return MULTICHAP_BACKEND_ERR_UNAVAILABLE;
  }
  if (found > 1) {
    why = "more than one token matches: name it (token=LABEL or serial=...)";
    return MULTICHAP_BACKEND_ERR_NOT_FOUND;
  }
  return MULTICHAP_BACKEND_OK;
}

// Logs the session's application into the token when it needs it.
int login(const Token& token, CK_SESSION_HANDLE session, P11KitUri* uri, std::string& why) {
  if ((token.info.flags & CKF_LOGIN_REQUIRED) == 0) return MULTICHAP_BACKEND_OK;
  std::string pin;
  const int rc = read_pin(uri, pin, why);
  if (rc != MULTICHAP_BACKEND_OK) return rc;
  if (pin.empty()) {
    why =
        "the token needs a PIN: pin-source=file:PATH or pin-value= in the URI, or "
        "MULTICHAP_PKCS11_PIN in the environment";
    return MULTICHAP_BACKEND_ERR_DENIED;
  }
  const CK_RV rv = token.fns->C_Login(session, CKU_USER,
                                      reinterpret_cast<CK_UTF8CHAR_PTR>(pin.data()), pin.size());
  secure_wipe(pin.data(), pin.size());
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return MULTICHAP_BACKEND_OK;
  why = "the token refused the login (" + rv_name(rv) + ")";
  return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE ||
                 rv == CKR_PIN_EXPIRED
             ? MULTICHAP_BACKEND_ERR_DENIED
             : MULTICHAP_BACKEND_ERR_UNAVAILABLE;
}

// The objects matching the URI's attributes (class defaulted to secret key when asked), at most
// max of them.
std::vector<CK_OBJECT_HANDLE> find_objects(const Token& token, CK_SESSION_HANDLE session,
                                           P11KitUri* uri, bool secret_keys_only, std::size_t max,
                                           CK_RV* rv_out) {
  CK_ULONG n = 0;
  CK_ATTRIBUTE* given = p11_kit_uri_get_attributes(uri, &n);
  std::vector<CK_ATTRIBUTE> attrs(given, given + n);
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  bool has_class = false;
  for (const CK_ATTRIBUTE& a : attrs) has_class = has_class || a.type == CKA_CLASS;
  if (!has_class && secret_keys_only)
    attrs.push_back(CK_ATTRIBUTE{CKA_CLASS, &secret_class, sizeof(secret_class)});
  std::vector<CK_OBJECT_HANDLE> out;
  CK_RV rv = token.fns->C_FindObjectsInit(session, attrs.data(), attrs.size());
  if (rv == CKR_OK) {
    std::vector<CK_OBJECT_HANDLE> batch(max);
    CK_ULONG got = 0;
    rv = token.fns->C_FindObjects(session, batch.data(), batch.size(), &got);
    if (rv == CKR_OK) out.assign(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(got));
    token.fns->C_FindObjectsFinal(session);
  }
  if (rv_out != nullptr) *rv_out = rv;
  return out;
}

// An opened key: its token, the object, a pool of sessions and what it can compute.
struct Key {
  Context* ctx = nullptr;
  std::unique_ptr<Modules> modules;
  Token token;
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  CK_SESSION_HANDLE login_session = CK_INVALID_HANDLE;  // kept open: it holds the login
  std::mutex pool_mutex;
  std::vector<CK_SESSION_HANDLE> idle;
  std::array<bool, kAlgorithmCount> supports{};
  std::array<std::string, kAlgorithmCount> why;

  CK_SESSION_HANDLE take() {
    {
      const std::lock_guard<std::mutex> lock(pool_mutex);
      if (!idle.empty()) {
        const CK_SESSION_HANDLE s = idle.back();
        idle.pop_back();
        return s;
      }
    }
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    const CK_RV rv = token.fns->C_OpenSession(token.slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s);
    if (rv != CKR_OK) {
      log_error(ctx, "cannot open a session on the token (" + rv_name(rv) + ")");
      return CK_INVALID_HANDLE;
    }
    return s;
  }
  void give_back(CK_SESSION_HANDLE s) {
    const std::lock_guard<std::mutex> lock(pool_mutex);
    idle.push_back(s);
  }
  // After a failure the session may hold a half-done operation: closed, not pooled.
  void discard(CK_SESSION_HANDLE s) const { token.fns->C_CloseSession(s); }

  ~Key() {
    if (g_exiting.load()) {
      // The process is ending: the module is not ours to finalize now. Kept reachable (a leak
      // checker at exit would report it otherwise).
      static auto* left = new (std::nothrow) std::vector<Modules*>;  // never destroyed
      try {
        if (left != nullptr) left->push_back(modules.get());
      } catch (const std::bad_alloc&) {  // then it is merely not reachable
      }
      (void)modules.release();
      return;
    }
    if (token.fns != nullptr) {
      for (const CK_SESSION_HANDLE s : idle) token.fns->C_CloseSession(s);
      if (login_session != CK_INVALID_HANDLE) token.fns->C_CloseSession(login_session);
    }
  }
};

// H(before || key || after) in the token on one session.
CK_RV digest_in_token(const Key& key, CK_SESSION_HANDLE s, CK_MECHANISM_TYPE mechanism,
                      const multichap_backend_part* before, std::size_t nbefore,
                      const multichap_backend_part* after, std::size_t nafter, std::uint8_t* out,
                      CK_ULONG* out_len) {
  CK_FUNCTION_LIST* f = key.token.fns;
  CK_MECHANISM mech{mechanism, nullptr, 0};
  CK_RV rv = f->C_DigestInit(s, &mech);
  for (std::size_t i = 0; rv == CKR_OK && i < nbefore; ++i) {
    if (before[i].len > 0)
      rv = f->C_DigestUpdate(s, const_cast<CK_BYTE_PTR>(before[i].data), before[i].len);
  }
  if (rv == CKR_OK) rv = f->C_DigestKey(s, key.object);
  for (std::size_t i = 0; rv == CKR_OK && i < nafter; ++i) {
    if (after[i].len > 0)
      rv = f->C_DigestUpdate(s, const_cast<CK_BYTE_PTR>(after[i].data), after[i].len);
  }
  if (rv == CKR_OK) rv = f->C_DigestFinal(s, out, out_len);
  return rv;
}

// What the token can compute with the key, probed once: the mechanism must exist, and a digest
// of the key alone must succeed (C_DigestKey is optional, and a token may refuse to digest a
// sensitive key with some mechanisms: CKR_KEY_INDIGESTIBLE).
void probe(Key& key, bool allow_md5, bool readable) {
  for (const Pkcs11Algorithm& a : kPkcs11Algorithms) {
    const std::size_t i = algorithm_index(a.id);
    const std::string name(algorithm_info(a.id).display);
    if (a.id == Algorithm::md5 && !allow_md5) {
      key.why[i] =
          "MD5 with a key in a token is off unless allowed explicitly (a token digests a key "
          "with MD5 usually only when the key's value is readable)";
      continue;
    }
    CK_MECHANISM_INFO info{};
    const CK_RV mrv = key.token.fns->C_GetMechanismInfo(key.token.slot, a.mechanism, &info);
    if (mrv != CKR_OK || (info.flags & CKF_DIGEST) == 0) {
      key.why[i] = "the token has no " + std::string(a.mechanism_name) + " digest (" +
                   (mrv != CKR_OK ? rv_name(mrv) : std::string("no CKF_DIGEST")) + ")";
      continue;
    }
    const CK_SESSION_HANDLE s = key.take();
    if (s == CK_INVALID_HANDLE) {
      key.why[i] = "cannot open a session on the token";
      continue;
    }
    std::array<std::uint8_t, 64> out{};
    CK_ULONG len = out.size();
    const CK_RV rv = digest_in_token(key, s, a.mechanism, nullptr, 0, nullptr, 0, out.data(), &len);
    if (rv == CKR_OK && len == algorithm_info(a.id).digest_size) {
      key.give_back(s);
      key.supports[i] = true;
      continue;
    }
    key.discard(s);
    if (rv == CKR_KEY_INDIGESTIBLE) {
      key.why[i] = "the token cannot digest this key with " + name +
                   " (CKR_KEY_INDIGESTIBLE: it does so only for a key whose value is readable)";
    } else if (rv == CKR_FUNCTION_NOT_SUPPORTED) {
      key.why[i] = "the token does not implement C_DigestKey (" + rv_name(rv) + ")";
    } else {
      key.why[i] = "a trial " + name + " digest of the key failed (" + rv_name(rv) + ")";
    }
  }
  if (allow_md5 && readable && key.supports[algorithm_index(Algorithm::md5)]) {
    backend_log(key.ctx->host, MULTICHAP_BACKEND_LOG_WARNING,
                "MD5 is allowed with a key whose value is readable (not CKA_SENSITIVE or "
                "CKA_EXTRACTABLE): anyone who can log into the token can read the secret");
  }
}

CK_BBOOL bool_attribute(const Token& token, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object,
                        CK_ATTRIBUTE_TYPE type, CK_BBOOL fallback) {
  CK_BBOOL value = fallback;
  CK_ATTRIBUTE a{type, &value, sizeof(value)};
  if (token.fns->C_GetAttributeValue(s, object, &a, 1) != CKR_OK) return fallback;
  return value;
}

// Opens the URI's token, a session and the login: the first steps of every key_* call.
struct Opened {
  Uri uri;
  std::unique_ptr<Modules> modules = std::make_unique<Modules>();
  Token token;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  Opened() = default;
  Opened(const Opened&) = delete;
  Opened& operator=(const Opened&) = delete;
  ~Opened() {
    if (session != CK_INVALID_HANDLE) token.fns->C_CloseSession(session);
  }
  int open(const char* reference, bool read_write, bool need_login, std::string& why) {
    int rc = parse_uri(reference, uri, why);
    if (rc != MULTICHAP_BACKEND_OK) return rc;
    if (!modules->load(uri.uri, why)) return MULTICHAP_BACKEND_ERR_UNAVAILABLE;
    rc = find_token(*modules, uri.uri, token, why);
    if (rc != MULTICHAP_BACKEND_OK) return rc;
    const CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
    const CK_RV rv = token.fns->C_OpenSession(token.slot, flags, nullptr, nullptr, &session);
    if (rv != CKR_OK) {
      session = CK_INVALID_HANDLE;
      why = "cannot open a session on the token (" + rv_name(rv) + ")";
      return MULTICHAP_BACKEND_ERR_UNAVAILABLE;
    }
    if (!need_login) return MULTICHAP_BACKEND_OK;
    return login(token, session, uri.uri, why);
  }
  std::string token_label() const { return trimmed(token.info.label, sizeof(token.info.label)); }
};

int key_open(void* ctx, const char* reference, std::uint32_t flags, void** out_key,
             std::size_t* value_len, char* why_out, std::size_t why_cap) {
  std::string why;
  try {
    Opened opened;
    int rc = opened.open(reference, false, true, why);
    if (rc != MULTICHAP_BACKEND_OK) {
      set_why(why_out, why_cap, why);
      return rc;
    }
    CK_RV rv = CKR_OK;
    const auto objects = find_objects(opened.token, opened.session, opened.uri.uri, true, 2, &rv);
    if (rv != CKR_OK) {
      set_why(why_out, why_cap, "cannot search the token (" + rv_name(rv) + ")");
      return MULTICHAP_BACKEND_ERR_FAILED;
    }
    if (objects.size() != 1) {
      set_why(why_out, why_cap,
              objects.empty() ? "no secret key on token '" + opened.token_label() +
                                    "' matches (object=LABEL or id=...; `multichap token list`)"
                              : "more than one secret key matches: add object= or id=");
      return MULTICHAP_BACKEND_ERR_NOT_FOUND;
    }
    watch_exit();
    auto key = std::make_unique<Key>();
    key->ctx = static_cast<Context*>(ctx);
    key->token = opened.token;
    key->object = objects.front();
    CK_ULONG len = 0;
    CK_ATTRIBUTE value_len_attr{CKA_VALUE_LEN, &len, sizeof(len)};
    if (opened.token.fns->C_GetAttributeValue(opened.session, key->object, &value_len_attr, 1) !=
        CKR_OK)
      len = 0;
    const bool readable = bool_attribute(opened.token, opened.session, key->object, CKA_SENSITIVE,
                                         CK_TRUE) == CK_FALSE ||
                          bool_attribute(opened.token, opened.session, key->object, CKA_EXTRACTABLE,
                                         CK_FALSE) == CK_TRUE;
    // The session holding the login moves to the key, the modules with it.
    key->login_session = opened.session;
    opened.session = CK_INVALID_HANDLE;
    key->modules = std::move(opened.modules);
    probe(*key, (flags & MULTICHAP_BACKEND_KEY_F_ALLOW_MD5) != 0, readable);
    *value_len = len;
    *out_key = key.release();
    return MULTICHAP_BACKEND_OK;
  } catch (const std::bad_alloc&) {
    set_why(why_out, why_cap, "out of memory");
    return MULTICHAP_BACKEND_ERR_FAILED;
  }
}

void key_close(void*, void* key) {
  delete static_cast<Key*>(key);
}

int key_supports(void*, void* key, int chap_a, char* why, std::size_t why_cap) {
  const AlgorithmInfo* info = algorithm_of_chap_a(chap_a);
  if (info == nullptr) {
    set_why(why, why_cap, "unknown algorithm");
    return 0;
  }
  const Key* k = static_cast<const Key*>(key);
  const std::size_t i = algorithm_index(info->id);
  if (k->supports[i]) return 1;
  set_why(why, why_cap, k->why[i]);
  return 0;
}

int key_compute(void*, void* key, int chap_a, const multichap_backend_part* before,
                std::size_t nbefore, const multichap_backend_part* after, std::size_t nafter,
                std::uint8_t* out, std::size_t out_cap, std::size_t* out_len) {
  const AlgorithmInfo* info = algorithm_of_chap_a(chap_a);
  Key* k = static_cast<Key*>(key);
  if (info == nullptr || !k->supports[algorithm_index(info->id)])
    return MULTICHAP_BACKEND_ERR_UNSUPPORTED;
  if (out_cap < info->digest_size) return MULTICHAP_BACKEND_ERR_BUFFER;
  const CK_SESSION_HANDLE s = k->take();
  if (s == CK_INVALID_HANDLE) return MULTICHAP_BACKEND_ERR_FAILED;
  CK_ULONG len = out_cap;
  const CK_RV rv = digest_in_token(*k, s, kPkcs11Algorithms[algorithm_index(info->id)].mechanism,
                                   before, nbefore, after, nafter, out, &len);
  if (rv != CKR_OK) {
    k->discard(s);
    log_error(k->ctx, std::string("the token failed a ") + std::string(info->display) +
                          " digest with the key (" + rv_name(rv) + ")");
    return MULTICHAP_BACKEND_ERR_FAILED;
  }
  k->give_back(s);
  *out_len = len;
  return MULTICHAP_BACKEND_OK;
}

int key_import(void*, const char* reference, const std::uint8_t* value, std::size_t len,
               std::uint32_t flags, char* why_out, std::size_t why_cap) {
  std::string why;
  try {
    Opened opened;
    int rc = opened.open(reference, true, true, why);
    if (rc != MULTICHAP_BACKEND_OK) {
      set_why(why_out, why_cap, why);
      return rc;
    }
    CK_ULONG n = 0;
    CK_ATTRIBUTE* given = p11_kit_uri_get_attributes(opened.uri.uri, &n);
    const CK_ATTRIBUTE* label = nullptr;
    const CK_ATTRIBUTE* id = nullptr;
    for (CK_ULONG i = 0; i < n; ++i) {
      if (given[i].type == CKA_LABEL) label = &given[i];
      if (given[i].type == CKA_ID) id = &given[i];
      if (given[i].type == CKA_CLASS &&
          (given[i].ulValueLen != sizeof(CK_OBJECT_CLASS) ||
           *static_cast<CK_OBJECT_CLASS*>(given[i].pValue) != CKO_SECRET_KEY)) {
        set_why(why_out, why_cap, "a CHAP secret is imported as type=secret-key");
        return MULTICHAP_BACKEND_ERR_REFERENCE;
      }
    }
    if (label == nullptr) {
      set_why(why_out, why_cap, "import needs the key's name: object=LABEL in the URI");
      return MULTICHAP_BACKEND_ERR_REFERENCE;
    }
    // Refuse to overwrite: any object of that label (or id) on the token.
    std::vector<CK_ATTRIBUTE> same_label{*label};
    CK_RV rv = opened.token.fns->C_FindObjectsInit(opened.session, same_label.data(), 1);
    CK_ULONG got = 0;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    if (rv == CKR_OK) {
      rv = opened.token.fns->C_FindObjects(opened.session, &h, 1, &got);
      opened.token.fns->C_FindObjectsFinal(opened.session);
    }
    if (rv == CKR_OK && got == 0 && id != nullptr) {
      std::vector<CK_ATTRIBUTE> same_id{*id};
      rv = opened.token.fns->C_FindObjectsInit(opened.session, same_id.data(), 1);
      if (rv == CKR_OK) {
        rv = opened.token.fns->C_FindObjects(opened.session, &h, 1, &got);
        opened.token.fns->C_FindObjectsFinal(opened.session);
      }
    }
    if (rv != CKR_OK) {
      set_why(why_out, why_cap, "cannot search the token (" + rv_name(rv) + ")");
      return MULTICHAP_BACKEND_ERR_FAILED;
    }
    if (got != 0) {
      set_why(why_out, why_cap,
              "an object of that name (or id) is already on token '" + opened.token_label() +
                  "': not overwritten (delete it with the token's own tool first)");
      return MULTICHAP_BACKEND_ERR_EXISTS;
    }
    const bool readable = (flags & MULTICHAP_BACKEND_KEY_F_READABLE) != 0;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL sensitive = readable ? CK_FALSE : CK_TRUE;
    CK_BBOOL extractable = readable ? CK_TRUE : CK_FALSE;
    std::vector<CK_ATTRIBUTE> tmpl = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
        {CKA_EXTRACTABLE, &extractable, sizeof(extractable)},
        {CKA_LABEL, label->pValue, label->ulValueLen},
        {CKA_VALUE, const_cast<std::uint8_t*>(value), len},
    };
    if (id != nullptr) tmpl.push_back({CKA_ID, id->pValue, id->ulValueLen});
    CK_OBJECT_HANDLE created = CK_INVALID_HANDLE;
    rv = opened.token.fns->C_CreateObject(opened.session, tmpl.data(), tmpl.size(), &created);
    if (rv != CKR_OK) {
      set_why(why_out, why_cap, "the token refused to create the key (" + rv_name(rv) + ")");
      return MULTICHAP_BACKEND_ERR_FAILED;
    }
    return MULTICHAP_BACKEND_OK;
  } catch (const std::bad_alloc&) {
    set_why(why_out, why_cap, "out of memory");
    return MULTICHAP_BACKEND_ERR_FAILED;
  }
}

std::string class_name(CK_OBJECT_CLASS c) {
  switch (c) {
    case CKO_SECRET_KEY:
      return "secret-key";
    case CKO_PRIVATE_KEY:
      return "private";
    case CKO_PUBLIC_KEY:
      return "public";
    case CKO_CERTIFICATE:
      return "cert";
    case CKO_DATA:
      return "data";
    default:
      return "other";
  }
}

int key_list(void*, const char* reference, void (*line)(void*, const char*), void* arg,
             char* why_out, std::size_t why_cap) {
  std::string why;
  try {
    Opened opened;
    // Without a PIN only the public objects are listed.
    int rc = opened.open(reference, false, false, why);
    if (rc == MULTICHAP_BACKEND_OK) {
      std::string pin;
      if (read_pin(opened.uri.uri, pin, why) == MULTICHAP_BACKEND_OK && !pin.empty()) {
        secure_wipe(pin.data(), pin.size());
        rc = login(opened.token, opened.session, opened.uri.uri, why);
      }
    }
    if (rc != MULTICHAP_BACKEND_OK) {
      set_why(why_out, why_cap, why);
      return rc;
    }
    CK_RV rv = CKR_OK;
    const auto objects =
        find_objects(opened.token, opened.session, opened.uri.uri, false, 256, &rv);
    if (rv != CKR_OK) {
      set_why(why_out, why_cap, "cannot search the token (" + rv_name(rv) + ")");
      return MULTICHAP_BACKEND_ERR_FAILED;
    }
    for (const CK_OBJECT_HANDLE h : objects) {
      std::array<char, 256> label{};
      std::array<std::uint8_t, 64> id{};
      CK_OBJECT_CLASS cls = 0;
      CK_ULONG value_len = 0;
      std::array<CK_ATTRIBUTE, 4> attrs = {{{CKA_LABEL, label.data(), label.size() - 1},
                                            {CKA_ID, id.data(), id.size()},
                                            {CKA_CLASS, &cls, sizeof(cls)},
                                            {CKA_VALUE_LEN, &value_len, sizeof(value_len)}}};
      // One attribute may be missing (CKA_VALUE_LEN of a certificate): its length says so.
      opened.token.fns->C_GetAttributeValue(opened.session, h, attrs.data(), attrs.size());
      std::string text = "pkcs11:token=" + opened.token_label();
      if (attrs[0].ulValueLen != CK_UNAVAILABLE_INFORMATION)
        text += ";object=" + std::string(label.data(), attrs[0].ulValueLen);
      text += ";type=" + class_name(cls);
      if (attrs[1].ulValueLen != CK_UNAVAILABLE_INFORMATION && attrs[1].ulValueLen > 0) {
        text += ";id=";
        for (CK_ULONG i = 0; i < attrs[1].ulValueLen; ++i) {
          std::array<char, 4> hex{};
          (void)std::snprintf(hex.data(), hex.size(), "%%%02x", id[i]);
          text += hex.data();
        }
      }
      if (cls == CKO_SECRET_KEY) {
        if (attrs[3].ulValueLen != CK_UNAVAILABLE_INFORMATION)
          text += "  length=" + std::to_string(value_len);
        const bool sensitive =
            bool_attribute(opened.token, opened.session, h, CKA_SENSITIVE, CK_TRUE) == CK_TRUE;
        const bool extractable =
            bool_attribute(opened.token, opened.session, h, CKA_EXTRACTABLE, CK_FALSE) == CK_TRUE;
        text += std::string("  sensitive=") + (sensitive ? "yes" : "no") +
                " extractable=" + (extractable ? "yes" : "no");
      }
      line(arg, text.c_str());
    }
    return MULTICHAP_BACKEND_OK;
  } catch (const std::bad_alloc&) {
    set_why(why_out, why_cap, "out of memory");
    return MULTICHAP_BACKEND_ERR_FAILED;
  }
}

int pkcs11_init(const multichap_backend_host* host, void** ctx) {
  auto* c = new (std::nothrow) Context;
  if (c == nullptr) return MULTICHAP_BACKEND_ERR_INIT;
  c->host = host;
  *ctx = c;
  return MULTICHAP_BACKEND_OK;
}

void pkcs11_shutdown(void* ctx) {
  delete static_cast<Context*>(ctx);
}

int pkcs11_supports(void*, int) {
  return 0;  // keys only
}

int pkcs11_compute(void*, int, const multichap_backend_part*, std::size_t, std::uint8_t*,
                   std::size_t, std::size_t*) {
  return MULTICHAP_BACKEND_ERR_UNSUPPORTED;
}

int pkcs11_random(void*, std::uint8_t* out, std::size_t len) {
  while (len > 0) {
    const ssize_t n = ::getrandom(out, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return MULTICHAP_BACKEND_ERR_FAILED;
    }
    out += n;
    len -= static_cast<std::size_t>(n);
  }
  return MULTICHAP_BACKEND_OK;
}

}  // namespace

}  // namespace multichap

extern "C" const multichap_backend_v1* multichap_backend_pkcs11_entry(
    const multichap_backend_host* host) {
  using namespace multichap;  // NOLINT(google-build-using-namespace): the table's functions
  if (host == nullptr || host->abi_major != MULTICHAP_BACKEND_ABI_MAJOR) return nullptr;
  static const multichap_backend_v1 table = {
      MULTICHAP_BACKEND_ABI_MAJOR,
      MULTICHAP_BACKEND_ABI_MINOR,
      sizeof(multichap_backend_v1),
      "pkcs11",
      "1.0",
      "p11-kit " MULTICHAP_P11KIT_VERSION,
      MULTICHAP_BACKEND_F_KEYS_ONLY,
      &pkcs11_init,
      &pkcs11_shutdown,
      &pkcs11_supports,
      &pkcs11_compute,
      &pkcs11_random,
      nullptr,
      nullptr,
      nullptr,
      &key_open,
      &key_close,
      &key_supports,
      &key_compute,
      &key_import,
      &key_list,
  };
  return &table;
}
