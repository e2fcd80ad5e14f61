// SPDX-License-Identifier: BSD-2-Clause
#include "tests/support/vector_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace multichap::test {

namespace {
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

int hex_nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  throw std::runtime_error(std::string("bad hex digit '") + c + "' in vector file");
}
}  // namespace

const std::string& Vector::get(const std::string& key) const {
  const auto it = attrs.find(key);
  if (it == attrs.end())
    throw std::runtime_error("vector at line " + std::to_string(line) + " lacks " + key);
  m_used.insert(key);
  return it->second;
}

Bytes Vector::hex(const std::string& key) const {
  const std::string& v = get(key);
  if (v.size() % 2 != 0) throw std::runtime_error("odd hex length for " + key);
  Bytes out;
  for (std::size_t i = 0; i < v.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(hex_nibble(v[i]) * 16 + hex_nibble(v[i + 1])));
  }
  return out;
}

std::vector<std::string> Vector::unused() const {
  std::vector<std::string> out;
  for (const auto& kv : attrs) {
    if (m_used.count(kv.first) == 0) out.push_back(kv.first);
  }
  return out;
}

std::vector<Vector> read_vectors(const std::string& relative_path) {
  const std::string path = std::string(MULTICHAP_SOURCE_DIR) + "/" + relative_path;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open vector file " + path);
  std::vector<Vector> out;
  std::string section;
  Vector current;
  std::string line;
  int number = 0;
  auto flush = [&] {
    if (!current.attrs.empty()) out.push_back(current);
    current = Vector{};
  };
  while (std::getline(in, line)) {
    ++number;
    const std::string t = trim(line);
    if (t.empty()) {
      flush();
      continue;
    }
    if (t[0] == '#') continue;
    if (t.front() == '[' && t.back() == ']') {
      flush();
      section = t.substr(1, t.size() - 2);
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos)
      throw std::runtime_error(path + ":" + std::to_string(number) + ": no '='");
    const std::string key = trim(t.substr(0, eq));
    if (current.attrs.empty()) {
      current.section = section;
      current.line = number;
    }
    if (current.attrs.count(key) != 0) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": duplicate key " + key);
    }
    current.attrs[key] = trim(t.substr(eq + 1));
  }
  flush();
  return out;
}

}  // namespace multichap::test
