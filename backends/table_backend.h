// SPDX-License-Identifier: BSD-2-Clause
// TableBackend: a backend ABI table (multichap/backend.h) as a HashBackend. Whatever its origin
// (a plugin file, a backend linked in, an embedder's registered table), every backend is used
// through this one adapter, so the tests of one cover all three.
#ifndef MULTICHAP_BACKENDS_TABLE_BACKEND_H
#define MULTICHAP_BACKENDS_TABLE_BACKEND_H

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "backends/hash_backend.h"
#include "backends/raw_digest.h"
#include "multichap/backend.h"

namespace multichap {

class TableBackend final : public HashBackend {
 public:
  // table and ctx as checked by check_table(); origin for origin().
  TableBackend(const multichap_backend_v1* table, void* ctx, std::string origin);

  std::string_view name() const override { return m_name; }
  std::string version() const override { return m_library_version; }
  std::string backend_version() const override { return m_backend_version; }
  std::string origin() const override { return m_origin; }
  bool supports(Algorithm alg) const override;
  Result<std::size_t> digest(Algorithm alg, std::initializer_list<ByteView> parts,
                             MutableByteView out) const override;
  // Bytes of the table's generator, drawn 1 KiB at a time into a pool of the calling thread
  // (backends/random_pool.h) that hands each byte out once.
  Result<void> random(MutableByteView out) const override;

  // The library called directly (the table's raw_* functions), or nullptr without them.
  std::unique_ptr<RawDigest> raw_digest(Algorithm alg) const;

  // Whether the table has the key_* functions of ABI 1.1 (secrets by reference,
  // backends/key_store.h): its size covers them and key_open, key_close, key_supports and
  // key_compute are set.
  bool has_keys() const { return m_has_keys; }
  // MULTICHAP_BACKEND_F_KEYS_ONLY: it computes with keys only, never over plain secrets.
  bool keys_only() const { return (m_table->flags & MULTICHAP_BACKEND_F_KEYS_ONLY) != 0; }

  const multichap_backend_v1& table() const { return *m_table; }
  void* context() const { return m_ctx; }

 private:
  static bool fill(void* self, MutableByteView out);
  int call_random(std::uint8_t* out, std::size_t len) const;

  const multichap_backend_v1* m_table;
  void* m_ctx;
  std::string m_name;
  std::string m_library_version;
  std::string m_backend_version;
  std::string m_origin;
  bool m_has_raw;
  bool m_has_keys;
  // This backend's random pool in each thread, taken at the first random(): a table refused
  // after its adapter was made (known answers) uses none.
  mutable std::atomic<std::size_t> m_slot;
  std::unique_ptr<std::mutex> m_serial;  // MULTICHAP_BACKEND_F_SERIAL: one call at a time
};

// Checks a table before it is used: ABI major, a size that covers every field read, the name
// ([a-z0-9_-]{1,32}), the required functions. An empty string when it is usable, else the
// reason.
std::string check_table(const multichap_backend_v1* table);

// Checks that every algorithm the backend says it supports gives the published digest of "abc"
// (fed as two parts) with the right length. An empty string when all do, else the reason.
std::string check_known_answers(const TableBackend& backend);

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_TABLE_BACKEND_H
