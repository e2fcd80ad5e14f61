// SPDX-License-Identifier: BSD-2-Clause
#include "session/offer_fallback.h"

#include <algorithm>

namespace multichap {

namespace {

bool contains(const std::vector<Algorithm>& algs, Algorithm alg) {
  return std::find(algs.begin(), algs.end(), alg) != algs.end();
}

}  // namespace

OfferFallback::OfferFallback(std::vector<Algorithm> allowed)
    : m_allowed(std::move(allowed)), m_current(m_allowed) {}

bool OfferFallback::start_from(const std::vector<Algorithm>& offer) {
  if (offer.empty()) return false;
  for (const Algorithm alg : offer) {
    if (!contains(m_allowed, alg)) return false;
  }
  m_current = offer;
  return true;
}

std::optional<std::vector<Algorithm>> OfferFallback::next_single() {
  // One at a time in preference order: the first one not yet refused.
  for (const Algorithm alg : m_allowed) {
    if (contains(m_excluded, alg)) continue;
    if (m_current.size() == 1 && m_current[0] == alg) continue;  // never the same offer again
    m_current = {alg};
    ++m_steps;
    return m_current;
  }
  return std::nullopt;
}

std::optional<std::vector<Algorithm>> OfferFallback::next(OfferRefusal refusal) {
  switch (refusal) {
    case OfferRefusal::none:
      return std::nullopt;
    case OfferRefusal::after_offer:
      if (m_current.size() == 1) m_excluded.push_back(m_current[0]);
      return next_single();
    case OfferRefusal::sha256_as_7: {
      if (!contains(m_excluded, Algorithm::sha256)) m_excluded.push_back(Algorithm::sha256);
      if (m_current.size() == 1) {
        if (!contains(m_excluded, m_current[0])) m_excluded.push_back(m_current[0]);
        return next_single();
      }
      std::vector<Algorithm> narrower;
      for (const Algorithm alg : m_current) {
        if (!contains(m_excluded, alg)) narrower.push_back(alg);
      }
      if (narrower.empty() || narrower == m_current) return std::nullopt;
      m_current = std::move(narrower);
      ++m_steps;
      return m_current;
    }
  }
  return std::nullopt;
}

OfferMemory& OfferMemory::process() {
  static OfferMemory memory;
  return memory;
}

std::optional<std::vector<Algorithm>> OfferMemory::find(const std::string& key) const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  const auto it = m_offers.find(key);
  if (it == m_offers.end()) return std::nullopt;
  return it->second;
}

void OfferMemory::remember(const std::string& key, std::vector<Algorithm> offer) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  m_offers[key] = std::move(offer);
}

void OfferMemory::forget(const std::string& key) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  m_offers.erase(key);
}

std::string chap_a_list(const std::vector<Algorithm>& offer, ChapNumbering numbering) {
  std::string out;
  for (const Algorithm alg : offer) {
    const auto n = chap_a_number(alg, numbering);
    if (!n) continue;
    if (!out.empty()) out += ',';
    out += std::to_string(*n);
  }
  return out;
}

}  // namespace multichap
