// SPDX-License-Identifier: BSD-2-Clause
// Reader for test-vector files (after BoringSSL's file_test): "[Section]" headers, "Key = value"
// lines, blank lines separating vectors, '#' comments. A test that leaves an attribute unread
// fails, so a vector file cannot silently carry data no test checks.
#ifndef MULTICHAP_TESTS_SUPPORT_VECTOR_FILE_H
#define MULTICHAP_TESTS_SUPPORT_VECTOR_FILE_H

#include <map>
#include <set>
#include <string>
#include <vector>

#include "auth/bytes.h"

namespace multichap::test {

struct Vector {
  std::string section;
  int line = 0;                              // line of the vector's first attribute
  std::map<std::string, std::string> attrs;  // key -> raw value

  // Reading marks a key used; unused() lists the rest.
  const std::string& get(const std::string& key) const;
  bool has(const std::string& key) const { return attrs.count(key) != 0; }
  Bytes hex(const std::string& key) const;  // value as bare hex (no prefix), "" for empty
  std::vector<std::string> unused() const;

 private:
  mutable std::set<std::string> m_used;
};

// Parses path (relative to the repository root); aborts the test run on a malformed file.
std::vector<Vector> read_vectors(const std::string& relative_path);

}  // namespace multichap::test

#endif
