// SPDX-License-Identifier: BSD-2-Clause
// PduRelay: a recording TCP relay for tests. It listens on 127.0.0.1 (free port), connects every
// accepted connection to an upstream endpoint and forwards whole PDUs in both directions,
// keeping a copy of each. Tests use it to see exactly what went over the wire (the full CHAP_C
// and CHAP_R values that transcripts deliberately shorten or mask) without touching either peer.
// Every thread it starts is joined by its destructor.
#ifndef MULTICHAP_TESTS_SESSION_PDU_RELAY_H
#define MULTICHAP_TESTS_SESSION_PDU_RELAY_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/text.h"
#include "session/pdu.h"
#include "session/transport.h"

namespace multichap::test {

class PduRelay {
 public:
  struct Record {
    std::size_t connection = 0;  // index of the relayed connection, in accept order
    bool to_target = false;      // direction: initiator -> target when true
    Pdu pdu;
  };

  // Null when the relay cannot listen.
  static std::unique_ptr<PduRelay> start(Endpoint upstream) {
    auto listener = Listener::listen(Endpoint{"127.0.0.1", 0});
    if (!listener) return nullptr;
    std::unique_ptr<PduRelay> relay(new PduRelay(std::move(upstream), std::move(listener).value()));
    relay->m_accept_thread = std::thread([r = relay.get()] { r->accept_loop(); });
    return relay;
  }

  ~PduRelay() {
    m_stop.store(true);
    if (m_accept_thread.joinable()) m_accept_thread.join();
    std::vector<std::thread> pumps;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      pumps.swap(m_pumps);
    }
    for (auto& t : pumps) t.join();
  }
  PduRelay(const PduRelay&) = delete;
  PduRelay& operator=(const PduRelay&) = delete;

  std::uint16_t port() const { return m_listener.port(); }

  std::vector<Record> records() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_records;
  }
  std::size_t connections() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_connections;
  }

  // The text keys of every login PDU of one connection in one direction, in order.
  std::vector<KeyList> login_keys(std::size_t connection, bool to_target) const {
    std::vector<KeyList> out;
    for (const auto& r : records()) {
      if (r.connection != connection || r.to_target != to_target) continue;
      const auto op = r.pdu.opcode();
      if (op != static_cast<std::uint8_t>(Opcode::login_request) &&
          op != static_cast<std::uint8_t>(Opcode::login_response)) {
        continue;
      }
      auto keys = parse_text(r.pdu.data);
      out.push_back(keys ? std::move(keys).value() : KeyList{});
    }
    return out;
  }

  // The value of key in the first login PDU of (connection, direction) that carries it.
  std::string find_key(std::size_t connection, bool to_target, std::string_view key) const {
    for (const auto& keys : login_keys(connection, to_target)) {
      if (const std::string* v = keys.find(key)) return *v;
    }
    return {};
  }

 private:
  struct Pair {
    Connection down;  // towards the initiator
    Connection up;    // towards the target
  };

  PduRelay(Endpoint upstream, Listener listener)
      : m_upstream(std::move(upstream)), m_listener(std::move(listener)) {}

  void accept_loop() {
    while (!m_stop.load()) {
      auto accepted = m_listener.accept(Millis(50));
      if (!accepted || !accepted->is_open()) continue;
      auto upstream = Connection::connect(m_upstream, Millis(2000));
      if (!upstream) continue;  // dropping the accepted connection tells the initiator
      auto pair =
          std::make_shared<Pair>(Pair{std::move(accepted).value(), std::move(upstream).value()});
      std::lock_guard<std::mutex> lock(m_mutex);
      const std::size_t index = m_connections++;
      m_pumps.emplace_back([this, pair, index] { pump(*pair, index, true); });
      m_pumps.emplace_back([this, pair, index] { pump(*pair, index, false); });
    }
  }

  // Forwards PDUs one way until either side closes or the relay stops; then closes both ways.
  void pump(Pair& pair, std::size_t index, bool to_target) {
    Connection& from = to_target ? pair.down : pair.up;
    Connection& to = to_target ? pair.up : pair.down;
    while (true) {
      auto pdu = read_pdu(from, 0xffffff, Clock::now() + std::chrono::hours(1), &m_stop);
      if (!pdu) break;
      {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_records.push_back(Record{index, to_target, *pdu});
      }
      if (!write_pdu(to, *pdu, Clock::now() + Millis(5000))) break;
    }
    from.shutdown();
    to.shutdown();
  }

  Endpoint m_upstream;
  Listener m_listener;
  std::atomic<bool> m_stop{false};
  std::thread m_accept_thread;
  mutable std::mutex m_mutex;
  std::vector<std::thread> m_pumps;
  std::vector<Record> m_records;
  std::size_t m_connections = 0;
};

}  // namespace multichap::test

#endif  // MULTICHAP_TESTS_SESSION_PDU_RELAY_H
