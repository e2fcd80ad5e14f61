// SPDX-License-Identifier: BSD-2-Clause
// Secrets held by reference over the backend ABI's key_* functions (ABI 1.1).
#include "backends/key_store.h"

#include <array>
#include <mutex>

#include "backends/hash_backend.h"
#include "backends/table_backend.h"

namespace multichap {

namespace {

constexpr std::size_t kWhySize = 512;

// The backend's one-line reason, as text (it is NUL-terminated within the buffer).
std::string why_text(const std::array<char, kWhySize>& why) {
  std::string out(why.data(), why.size());
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  return out;
}

Error key_error(int rc, const std::string& display, const std::string& why) {
  const std::string what = display + ": " + (why.empty() ? "failed" : why);
  switch (rc) {
    case MULTICHAP_BACKEND_ERR_REFERENCE:
      return make_error(ErrorKind::usage, ErrorCode::key_reference_invalid, what);
    case MULTICHAP_BACKEND_ERR_NOT_FOUND:
      return make_error(ErrorKind::usage, ErrorCode::key_not_found, what);
    case MULTICHAP_BACKEND_ERR_EXISTS:
      return make_error(ErrorKind::usage, ErrorCode::key_exists, what);
    case MULTICHAP_BACKEND_ERR_DENIED:
      return make_error(ErrorKind::backend, ErrorCode::key_denied, what);
    case MULTICHAP_BACKEND_ERR_UNAVAILABLE:
      return make_error(ErrorKind::backend, ErrorCode::key_unavailable, what);
    default:
      return make_error(ErrorKind::backend, ErrorCode::generic_backend,
                        what + " (status " + std::to_string(rc) + ")");
  }
}

// The backend serving reference: the one named by its scheme, with the key_* functions.
Result<std::shared_ptr<const TableBackend>> backend_for(std::string_view reference,
                                                        const std::string& display) {
  const auto colon = reference.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return make_error(ErrorKind::usage, ErrorCode::key_reference_invalid,
                      "'" + display + "' is not a secret reference (e.g. pkcs11:token=...)");
  }
  const std::string scheme(reference.substr(0, colon));
  auto backend = make_backend(scheme);
  if (!backend) {
    return make_error(
        ErrorKind::usage, ErrorCode::key_reference_invalid,
        "no backend serves " + scheme + ": references (" + backend.error().message + ")");
  }
  auto table = std::dynamic_pointer_cast<const TableBackend>(*backend);
  if (!table || !table->has_keys()) {
    return make_error(ErrorKind::usage, ErrorCode::key_reference_invalid,
                      "backend '" + scheme + "' holds no keys (it predates backend ABI 1.1)");
  }
  return table;
}

class TableKeyReference final : public KeyReference {
 public:
  TableKeyReference(std::shared_ptr<const TableBackend> backend, void* key, std::size_t size,
                    std::string display)
      : m_backend(std::move(backend)), m_key(key), m_size(size), m_display(std::move(display)) {
    const multichap_backend_v1& t = m_backend->table();
    for (const AlgorithmInfo& info : kAlgorithms) {
      std::array<char, kWhySize> why{};
      const std::size_t i = algorithm_index(info.id);
      m_supports[i] =
          t.key_supports(m_backend->context(), m_key, info.chap_a, why.data(), why.size()) == 1;
      if (!m_supports[i]) m_why[i] = why_text(why);
      if (!m_supports[i] && m_why[i].empty()) m_why[i] = "not supported";
    }
  }
  ~TableKeyReference() override { m_backend->table().key_close(m_backend->context(), m_key); }
  TableKeyReference(const TableKeyReference&) = delete;
  TableKeyReference& operator=(const TableKeyReference&) = delete;

  const std::string& describe() const override { return m_display; }
  std::size_t size() const override { return m_size; }
  bool supports(Algorithm alg) const override { return m_supports[algorithm_index(alg)]; }
  std::string why_unsupported(Algorithm alg) const override { return m_why[algorithm_index(alg)]; }

  Result<std::size_t> digest(Algorithm alg, ByteView before, ByteView after,
                             MutableByteView out) const override {
    const AlgorithmInfo& info = algorithm_info(alg);
    if (!supports(alg)) {
      return make_error(ErrorKind::backend, ErrorCode::algorithm_unavailable,
                        m_display + ": " + std::string(info.display) +
                            " cannot be computed with this key: " + why_unsupported(alg));
    }
    const multichap_backend_part b{before.data(), before.size()};
    const multichap_backend_part a{after.data(), after.size()};
    std::size_t written = 0;
    const int rc = m_backend->table().key_compute(m_backend->context(), m_key, info.chap_a, &b, 1,
                                                  &a, 1, out.data(), out.size(), &written);
    if (rc == MULTICHAP_BACKEND_OK && written == info.digest_size) return written;
    if (rc == MULTICHAP_BACKEND_ERR_BUFFER || (rc == MULTICHAP_BACKEND_OK && out.size() < written))
      return make_error(ErrorKind::backend, ErrorCode::output_too_small,
                        m_display + ": digest output buffer too small");
    return make_error(ErrorKind::backend, ErrorCode::digest_failed,
                      m_display + ": the " + std::string(info.display) +
                          " digest with the key failed (status " + std::to_string(rc) +
                          "; the backend's log says why)");
  }

 private:
  std::shared_ptr<const TableBackend> m_backend;
  void* m_key;
  std::size_t m_size;
  std::string m_display;
  std::array<bool, kAlgorithmCount> m_supports{};
  std::array<std::string, kAlgorithmCount> m_why;
};

}  // namespace

std::string reference_for_display(std::string_view reference) {
  // RFC 7512 query attributes follow '?', separated by '&'; pin-value is masked wherever it is.
  std::string out(reference);
  std::size_t at = 0;
  while ((at = out.find("pin-value=", at)) != std::string::npos) {
    const std::size_t start = at + 10;
    std::size_t end = out.find_first_of("&;", start);
    if (end == std::string::npos) end = out.size();
    out.replace(start, end - start, "***");
    at = start;
  }
  return out;
}

Result<std::shared_ptr<const KeyReference>> open_key(std::string_view reference,
                                                     const KeyOpenOptions& options) {
  const std::string display = reference_for_display(reference);
  MULTICHAP_ASSIGN_OR_RETURN(auto backend, backend_for(reference, display));
  std::string text(reference);
  std::array<char, kWhySize> why{};
  void* key = nullptr;
  std::size_t size = 0;
  const std::uint32_t flags = options.allow_md5 ? MULTICHAP_BACKEND_KEY_F_ALLOW_MD5 : 0;
  const int rc = backend->table().key_open(backend->context(), text.c_str(), flags, &key, &size,
                                           why.data(), why.size());
  secure_wipe(text.data(), text.size());  // it may hold a PIN
  if (rc != MULTICHAP_BACKEND_OK) return key_error(rc, display, why_text(why));
  return std::shared_ptr<const KeyReference>(
      std::make_shared<TableKeyReference>(std::move(backend), key, size, display));
}

Result<Secret> secret_from_reference(std::string_view reference, const KeyOpenOptions& options) {
  MULTICHAP_ASSIGN_OR_RETURN(auto key, open_key(reference, options));
  return Secret::from_reference(std::move(key));
}

Result<void> import_key(std::string_view reference, const Secret& value, bool readable) {
  const std::string display = reference_for_display(reference);
  MULTICHAP_ASSIGN_OR_RETURN(auto backend, backend_for(reference, display));
  if (backend->table().key_import == nullptr) {
    return make_error(ErrorKind::usage, ErrorCode::key_reference_invalid,
                      "backend '" + std::string(backend->name()) + "' cannot import keys");
  }
  if (value.reference() != nullptr || value.empty()) {
    return make_error(ErrorKind::usage, ErrorCode::secret_empty,
                      "import needs the secret's bytes (a file or the environment)");
  }
  std::string text(reference);
  std::array<char, kWhySize> why{};
  const int rc = backend->table().key_import(
      backend->context(), text.c_str(), value.bytes().data(), value.bytes().size(),
      readable ? MULTICHAP_BACKEND_KEY_F_READABLE : 0, why.data(), why.size());
  secure_wipe(text.data(), text.size());
  if (rc != MULTICHAP_BACKEND_OK) return key_error(rc, display, why_text(why));
  return {};
}

Result<std::vector<std::string>> list_keys(std::string_view reference) {
  const std::string display = reference_for_display(reference);
  MULTICHAP_ASSIGN_OR_RETURN(auto backend, backend_for(reference, display));
  if (backend->table().key_list == nullptr) {
    return make_error(ErrorKind::usage, ErrorCode::key_reference_invalid,
                      "backend '" + std::string(backend->name()) + "' cannot list keys");
  }
  std::vector<std::string> lines;
  std::string text(reference);
  std::array<char, kWhySize> why{};
  const int rc = backend->table().key_list(
      backend->context(), text.c_str(),
      [](void* arg, const char* line) {
        static_cast<std::vector<std::string>*>(arg)->emplace_back(line != nullptr ? line : "");
      },
      &lines, why.data(), why.size());
  secure_wipe(text.data(), text.size());
  if (rc != MULTICHAP_BACKEND_OK) return key_error(rc, display, why_text(why));
  return lines;
}

}  // namespace multichap
