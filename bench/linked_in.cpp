// SPDX-License-Identifier: BSD-2-Clause
// The OpenSSL and Botan backends compiled into the bench binary beside their plugins (see
// bench/CMakeLists.txt), registered as "openssl-static" and "botan-static": the same source and
// the same table as the dlopen'ed openssl.so / botan.so, reached without the plugin loader, so
// the suites measure what a plugin costs against the backend linked in.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "backends/hash_backend.h"
#include "bench/raw_baselines.h"
#include "bench/suites.h"
#include "multichap/backend.h"

#if MULTICHAP_BENCH_LINKED_OPENSSL
extern "C" const multichap_backend_v1* multichap_backend_openssl_entry(
    const multichap_backend_host* host);
#endif
#if MULTICHAP_BENCH_LINKED_BOTAN
extern "C" const multichap_backend_v1* multichap_backend_botan_entry(
    const multichap_backend_host* host);
#endif

namespace multichap::bench {

namespace {

// What the linked-in backends are told about their host: no log callback (nothing they could
// say is needed by a benchmark).
const multichap_backend_host kHost = {MULTICHAP_BACKEND_ABI_MAJOR, MULTICHAP_BACKEND_ABI_MINOR,
                                      sizeof(multichap_backend_host), nullptr, nullptr};

// A linked-in backend: its table renamed, its init run here (register_backend() does not).
struct LinkedIn {
  multichap_backend_v1 table{};
  std::string name;
  void* ctx = nullptr;
};

// Registers entry's table as "<its name>-static"; a line on stderr when it cannot (the suites
// then have no linked-in rows, which report.py shows as n/a).
void register_linked_in(multichap_backend_entry_v1_fn entry, LinkedIn& slot) {
  const multichap_backend_v1* table = entry(&kHost);
  if (table == nullptr || table->size < sizeof(multichap_backend_v1)) {
    (void)std::fprintf(stderr, "multichap_bench: a linked-in backend returned no usable table\n");
    return;
  }
  slot.table = *table;
  slot.name = std::string(table->name) + std::string(kLinkedInSuffix);
  slot.table.name = slot.name.c_str();
  if (slot.table.init != nullptr && slot.table.init(&kHost, &slot.ctx) != MULTICHAP_BACKEND_OK) {
    (void)std::fprintf(stderr, "multichap_bench: %s: init failed\n", slot.name.c_str());
    return;
  }
  if (auto registered = register_backend(&slot.table, slot.ctx); !registered) {
    (void)std::fprintf(stderr, "multichap_bench: %s: %s\n", slot.name.c_str(),
                       registered.error().message.c_str());
  }
}

}  // namespace

void register_linked_in_backends() {
  // Static storage: the registry keeps pointers to the tables and contexts until the process
  // ends (their shutdown is never called, as for every backend).
#if MULTICHAP_BENCH_LINKED_OPENSSL
  static LinkedIn openssl;
  register_linked_in(&multichap_backend_openssl_entry, openssl);
#endif
#if MULTICHAP_BENCH_LINKED_BOTAN
  static LinkedIn botan;
  register_linked_in(&multichap_backend_botan_entry, botan);
#endif
}

std::vector<std::string> bench_backends() {
  std::vector<std::string> names = built_backends();
  // Each linked-in backend right after its plugin, so their rows run next to each other.
  std::vector<std::string> ordered;
  for (const std::string& name : names) {
    if (library_of(name) != name) continue;
    ordered.push_back(name);
    const std::string linked = name + std::string(kLinkedInSuffix);
    for (const std::string& other : names) {
      if (other == linked) ordered.push_back(other);
    }
  }
  for (const std::string& name : names) {  // a linked-in backend whose plugin did not load
    if (library_of(name) != name &&
        std::find(ordered.begin(), ordered.end(), name) == ordered.end()) {
      ordered.push_back(name);
    }
  }
  return ordered;
}

}  // namespace multichap::bench
