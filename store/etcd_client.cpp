// SPDX-License-Identifier: BSD-2-Clause
// etcd's JSON gateway over libcurl (Debian libcurl4-openssl-dev) and nlohmann-json (Debian
// nlohmann-json3-dev), both used in store/ only. nlohmann-json is used without exceptions
// reaching the callers: parse(..., nullptr, false) and type checks before every access, and a
// catch at the edge of each parser for anything missed.
#include "store/etcd_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

#include "auth/encoding.h"

namespace multichap::store {

namespace {

using Json = nlohmann::json;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Base64 as the gateway wants it (encode_base64 writes iSCSI's "0b" prefix first).
std::string b64(const std::string& text) {
  return encode_base64(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()))
      .substr(2);
}

// Decodes the gateway's base64 (standard alphabet, padded); up to 16 MiB.
Result<std::string> unb64(const std::string& text) {
  if (text.empty()) return std::string();
  MULTICHAP_ASSIGN_OR_RETURN(SecureBytes bytes, decode_binary("0b" + text, 16u << 20));
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// A 64-bit field: a decimal string in the gateway's JSON (a number accepted too); absent is 0.
std::int64_t int_field(const Json& object, const char* name) {
  if (!object.is_object()) return 0;
  const auto it = object.find(name);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) return 0;
  const std::string& s = it->get_ref<const std::string&>();
  std::int64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10) return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string string_field(const Json& object, const char* name) {
  if (!object.is_object()) return {};
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool bool_field(const Json& object, const char* name) {
  if (!object.is_object()) return false;
  const auto it = object.find(name);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

Error invalid(const std::string& what) {
  return make_error(ErrorKind::protocol, ErrorCode::store_value_invalid,
                    "etcd answer not understood: " + what);
}

Result<KeyValue> parse_kv(const Json& j) {
  if (!j.is_object()) return invalid("a kv is not an object");
  KeyValue kv;
  MULTICHAP_ASSIGN_OR_RETURN(kv.key, unb64(string_field(j, "key")));
  MULTICHAP_ASSIGN_OR_RETURN(kv.value, unb64(string_field(j, "value")));
  kv.create_revision = int_field(j, "create_revision");
  kv.mod_revision = int_field(j, "mod_revision");
  kv.version = int_field(j, "version");
  kv.lease = int_field(j, "lease");
  return kv;
}

// The message of an error answer: {"error": "text", "code": N} (unary) or {"error": {"message":
// ...}} (streams).
std::string error_text(const Json& j) {
  if (!j.is_object()) return {};
  const auto it = j.find("error");
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return string_field(*it, "message");
  return "error";
}

bool is_auth_error(const std::string& text) {
  return text.find("auth token") != std::string::npos ||
         text.find("authentication") != std::string::npos ||
         text.find("user name is empty") != std::string::npos;
}

// Errors that mean "this member cannot serve now": try another one.
bool is_unavailable(const std::string& text) {
  return text.find("no leader") != std::string::npos ||
         text.find("timed out") != std::string::npos ||
         text.find("not capable") != std::string::npos ||
         text.find("leader changed") != std::string::npos ||
         text.find("too many requests") != std::string::npos ||
         text.find("unhealthy") != std::string::npos;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

EtcdOptions::EtcdOptions(const EtcdOptions& other)
    : endpoints(other.endpoints),
      deadline(other.deadline),
      ca_file(other.ca_file),
      cert_file(other.cert_file),
      key_file(other.key_file),
      user(other.user),
      password(Secret::from_bytes(other.password.bytes())) {}

EtcdOptions& EtcdOptions::operator=(const EtcdOptions& other) {
  if (this != &other) {
    EtcdOptions copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Result<WatchMessage> parse_watch_message(const std::string& text) {
  try {
    const Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return invalid("a watch message is not JSON");
    WatchMessage m;
    if (const std::string e = error_text(j); !e.empty()) {
      m.canceled = true;
      m.cancel_reason = e;
      return m;
    }
    const auto r = j.find("result");
    if (r == j.end() || !r->is_object()) return invalid("a watch message without a result");
    if (const auto h = r->find("header"); h != r->end()) m.revision = int_field(*h, "revision");
    m.created = bool_field(*r, "created");
    m.canceled = bool_field(*r, "canceled");
    m.compact_revision = int_field(*r, "compact_revision");
    m.cancel_reason = string_field(*r, "cancel_reason");
    if (const auto ev = r->find("events"); ev != r->end() && ev->is_array()) {
      for (const Json& e : *ev) {
        WatchEvent event;
        event.deleted = string_field(e, "type") == "DELETE";
        const auto kv = e.find("kv");
        if (kv == e.end()) return invalid("a watch event without a kv");
        MULTICHAP_ASSIGN_OR_RETURN(event.kv, parse_kv(*kv));
        m.events.push_back(std::move(event));
      }
    }
    return m;
  } catch (const std::exception& e) {
    return invalid(e.what());
  }
}

Result<RangeResult> parse_range_answer(const std::string& text) {
  try {
    const Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return invalid("a range answer is not JSON");
    RangeResult out;
    if (const auto h = j.find("header"); h != j.end()) out.revision = int_field(*h, "revision");
    out.count = int_field(j, "count");
    if (const auto kvs = j.find("kvs"); kvs != j.end() && kvs->is_array()) {
      for (const Json& kv : *kvs) {
        MULTICHAP_ASSIGN_OR_RETURN(KeyValue one, parse_kv(kv));
        out.kvs.push_back(std::move(one));
      }
    }
    if (out.revision <= 0) return invalid("a range answer without a revision");
    return out;
  } catch (const std::exception& e) {
    return invalid(e.what());
  }
}

struct EtcdClient::Impl {
  EtcdOptions options;
  CURL* easy = nullptr;
  std::size_t current = 0;  // the endpoint that answered last
  std::string token;

  ~Impl() {
    secure_wipe(token.data(), token.size());
    if (easy != nullptr) curl_easy_cleanup(easy);
  }

  // What one HTTP exchange gave.
  struct Reply {
    CURLcode curl = CURLE_OK;
    long status = 0;
    std::string body;
  };

  void common_options(CURL* h, const std::string& url, curl_slist* headers) const {
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<Millis::rep>(options.deadline.count(), 1000)));
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
    if (!options.cert_file.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, options.cert_file.c_str());
    if (!options.key_file.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, options.key_file.c_str());
  }

  curl_slist* headers() const {
    curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
    if (!token.empty()) {
      std::string h = "Authorization: " + token;
      list = curl_slist_append(list, h.c_str());
      secure_wipe(h.data(), h.size());
    }
    return list;
  }

  Reply post(const std::string& endpoint, const std::string& path, const std::string& body) {
    Reply reply;
    if (easy == nullptr) easy = curl_easy_init();
    if (easy == nullptr) {
      reply.curl = CURLE_FAILED_INIT;
      return reply;
    }
    curl_easy_reset(easy);  // keeps the connections open
    curl_slist* list = headers();
    common_options(easy, endpoint + path, list);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.deadline.count()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply.body);
    reply.curl = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_slist_free_all(list);
    return reply;
  }

  Result<void> authenticate(const std::string& endpoint) {
    token.clear();
    Json body;
    std::string password(reinterpret_cast<const char*>(options.password.bytes().data()),
                         options.password.size());
    body["name"] = options.user;
    body["password"] = password;
    secure_wipe(password.data(), password.size());
    std::string text = body.dump(-1, ' ', false, Json::error_handler_t::replace);
    body["password"] = std::string(8, '*');  // nlohmann's copy (it cannot be wiped in place)
    const Reply reply = post(endpoint, "/v3/auth/authenticate", text);
    secure_wipe(text.data(), text.size());
    if (reply.curl != CURLE_OK) {
      return make_error(ErrorKind::io, ErrorCode::store_unreachable,
                        "etcd at " + endpoint + ": " + curl_easy_strerror(reply.curl));
    }
    const Json j = Json::parse(reply.body, nullptr, false);
    const std::string t = string_field(j, "token");
    if (reply.status != 200 || t.empty()) {
      // A gateway error may be plain text (e.g. a client certificate with a CN under
      // --client-cert-auth): show its start.
      std::string why = error_text(j);
      if (why.empty()) why = j.is_discarded() ? reply.body.substr(0, 200) : "no token";
      return make_error(ErrorKind::authentication, ErrorCode::store_refused,
                        "etcd at " + endpoint + " refused user " + options.user + " (HTTP " +
                            std::to_string(reply.status) + "): " + why);
    }
    token = t;
    return {};
  }

  // One call, endpoint after endpoint; the answer's JSON.
  Result<Json> call(const std::string& path, const Json& request) {
    const std::string body = request.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::string last = "no endpoint";
    const std::size_t n = options.endpoints.size();
    for (std::size_t attempt = 0; attempt < n; ++attempt) {
      const std::size_t index = (current + attempt) % n;
      const std::string& endpoint = options.endpoints[index];
      bool reauthenticated = false;
      for (;;) {
        if (!options.user.empty() && token.empty()) {
          if (auto ok = authenticate(endpoint); !ok) {
            if (ok.error().code == ErrorCode::store_refused) return ok.error();
            last = ok.error().message;
            break;
          }
          reauthenticated = true;
        }
        const Reply reply = post(endpoint, path, body);
        if (reply.curl != CURLE_OK) {
          last = endpoint + ": " + curl_easy_strerror(reply.curl);
          break;
        }
        const Json j = Json::parse(reply.body, nullptr, false);
        std::string error = error_text(j);
        if (error.empty() && j.is_discarded() && reply.status != 200) {
          error = reply.body.substr(0, 200);
        }
        if (reply.status == 200 && error.empty() && !j.is_discarded()) {
          current = index;
          return j;
        }
        if (!options.user.empty() && is_auth_error(error) && !reauthenticated) {
          token.clear();  // expired or revoked: authenticate again, once
          continue;
        }
        if (reply.status >= 500 || is_unavailable(error)) {
          last = endpoint + ": " + (error.empty() ? "HTTP " + std::to_string(reply.status) : error);
          break;
        }
        current = index;
        return make_error(ErrorKind::rejected, ErrorCode::store_refused,
                          "etcd at " + endpoint + ": " +
                              (error.empty() ? "HTTP " + std::to_string(reply.status) : error));
      }
    }
    return make_error(ErrorKind::timeout, ErrorCode::store_unreachable,
                      "no etcd endpoint answered within " +
                          std::to_string(options.deadline.count()) + " ms (last: " + last + ")");
  }
};

EtcdClient::EtcdClient(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
EtcdClient::~EtcdClient() = default;

Result<std::unique_ptr<EtcdClient>> EtcdClient::create(EtcdOptions options) {
  if (options.endpoints.empty()) {
    return make_error(ErrorKind::usage, ErrorCode::config_invalid, "no etcd endpoint given");
  }
  if (options.deadline.count() <= 0 || options.deadline.count() > 1500) {
    return make_error(ErrorKind::usage, ErrorCode::config_invalid,
                      "the deadline of a store call must be 1 to 1500 ms");
  }
  for (std::string& e : options.endpoints) {
    while (!e.empty() && e.back() == '/') e.pop_back();
    if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0) {
      return make_error(ErrorKind::usage, ErrorCode::config_invalid,
                        "etcd endpoint '" + e + "' must start with http:// or https://");
    }
  }
  global_init();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(impl)));
}

const std::string& EtcdClient::current_endpoint() const {
  return m_impl->options.endpoints[m_impl->current % m_impl->options.endpoints.size()];
}

void EtcdClient::rotate() {
  m_impl->current = (m_impl->current + 1) % m_impl->options.endpoints.size();
}

Result<RangeResult> EtcdClient::range(const std::string& key, const std::string& range_end,
                                      bool count_only) {
  Json req;
  req["key"] = b64(key);
  if (!range_end.empty()) req["range_end"] = b64(range_end);
  if (count_only) req["count_only"] = true;
  MULTICHAP_ASSIGN_OR_RETURN(Json j, m_impl->call("/v3/kv/range", req));
  return parse_range_answer(j.dump());
}

Result<std::int64_t> EtcdClient::put(const std::string& key, const std::string& value,
                                     std::int64_t lease) {
  Json req;
  req["key"] = b64(key);
  req["value"] = b64(value);
  if (lease != 0) req["lease"] = std::to_string(lease);
  MULTICHAP_ASSIGN_OR_RETURN(Json j, m_impl->call("/v3/kv/put", req));
  return int_field(j.value("header", Json::object()), "revision");
}

Result<std::int64_t> EtcdClient::remove(const std::string& key, const std::string& range_end) {
  Json req;
  req["key"] = b64(key);
  if (!range_end.empty()) req["range_end"] = b64(range_end);
  MULTICHAP_ASSIGN_OR_RETURN(Json j, m_impl->call("/v3/kv/deleterange", req));
  return int_field(j, "deleted");
}

Result<std::int64_t> EtcdClient::grant_lease(std::int64_t ttl_seconds) {
  Json req;
  req["TTL"] = std::to_string(ttl_seconds);
  MULTICHAP_ASSIGN_OR_RETURN(Json j, m_impl->call("/v3/lease/grant", req));
  const std::int64_t id = int_field(j, "ID");
  if (id == 0) return invalid("a lease grant without an ID");
  return id;
}

Result<std::uint32_t> EtcdClient::increment(const std::string& key, std::int64_t lease) {
  Json compare;
  compare["key"] = b64(key);
  compare["result"] = "EQUAL";
  compare["target"] = "CREATE";
  compare["create_revision"] = "0";
  Json create;
  create["request_put"] = {{"key", b64(key)}, {"value", b64("1")}};
  if (lease != 0) create["request_put"]["lease"] = std::to_string(lease);
  Json again;
  again["request_put"] = {
      {"key", b64(key)}, {"value", b64("1")}, {"ignore_lease", true}, {"prev_kv", true}};
  Json req;
  req["compare"] = Json::array({compare});
  req["success"] = Json::array({create});
  req["failure"] = Json::array({again});
  MULTICHAP_ASSIGN_OR_RETURN(Json j, m_impl->call("/v3/kv/txn", req));
  if (bool_field(j, "succeeded")) return 1u;
  try {
    const Json& prev = j.at("responses").at(0).at("response_put").at("prev_kv");
    const std::int64_t version = int_field(prev, "version");
    return static_cast<std::uint32_t>(std::min<std::int64_t>(version + 1, UINT32_MAX));
  } catch (const std::exception&) {
    return invalid("a counter's txn answer without prev_kv");
  }
}

namespace {

struct WatchState {
  std::string buffer;
  const std::function<bool(const WatchMessage&)>* on_message = nullptr;
  const std::atomic<bool>* stop = nullptr;
  bool ended_by_caller = false;
  std::string error;
};

std::size_t on_watch_bytes(char* data, std::size_t size, std::size_t n, void* user) {
  auto* state = static_cast<WatchState*>(user);
  state->buffer.append(data, size * n);
  std::size_t start = 0;
  for (;;) {
    const std::size_t nl = state->buffer.find('\n', start);
    if (nl == std::string::npos) break;
    const std::string line = state->buffer.substr(start, nl - start);
    start = nl + 1;
    if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
    auto message = parse_watch_message(line);
    if (!message) {
      state->error = message.error().message;
      return 0;  // aborts the transfer
    }
    if (!(*state->on_message)(*message)) {
      state->ended_by_caller = true;
      return 0;
    }
  }
  state->buffer.erase(0, start);
  if (state->buffer.size() > (64u << 20)) {
    state->error = "a watch message over 64 MiB";
    return 0;
  }
  return size * n;
}

int on_watch_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* state = static_cast<WatchState*>(user);
  return state->stop->load() ? 1 : 0;
}

}  // namespace

Result<void> EtcdClient::watch(const std::string& key, const std::string& range_end,
                               std::int64_t start_revision,
                               const std::function<bool(const WatchMessage&)>& on_message,
                               const std::atomic<bool>& stop) {
  Impl& impl = *m_impl;
  const std::string& endpoint = impl.options.endpoints[impl.current];
  if (!impl.options.user.empty() && impl.token.empty()) {
    MULTICHAP_GUARD(impl.authenticate(endpoint));
  }
  Json create;
  create["key"] = b64(key);
  if (!range_end.empty()) create["range_end"] = b64(range_end);
  if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
  Json req;
  req["create_request"] = create;
  const std::string body = req.dump();

  CURL* h = curl_easy_init();
  if (h == nullptr) {
    return make_error(ErrorKind::internal, ErrorCode::store_unreachable, "curl_easy_init failed");
  }
  curl_slist* list = impl.headers();
  // Without it a member that has lost its leader keeps the stream open and silent.
  list = curl_slist_append(list, "Grpc-Metadata-hasleader: true");
  impl.common_options(h, endpoint + "/v3/watch", list);
  // A stream ended for an expired token: authenticate again before the next one.
  const std::function<bool(const WatchMessage&)> forward = [&](const WatchMessage& m) {
    if (m.canceled && is_auth_error(m.cancel_reason)) impl.token.clear();
    return on_message(m);
  };
  WatchState state;
  state.on_message = &forward;
  state.stop = &stop;
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_watch_bytes);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_watch_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &state);
  // A quiet watch is reopened from its revision now and then: this also catches a member that
  // stopped without closing its connections.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  if (state.ended_by_caller || stop.load()) return {};
  if (!state.error.empty()) {
    return make_error(ErrorKind::protocol, ErrorCode::store_value_invalid,
                      "watch at " + endpoint + ": " + state.error);
  }
  const std::string why = rc != CURLE_OK ? std::string(curl_easy_strerror(rc))
                                         : "the stream ended (HTTP " + std::to_string(status) + ")";
  if (status == 401 || status == 403) impl.token.clear();
  // The next watch starts on the next endpoint.
  impl.current = (impl.current + 1) % impl.options.endpoints.size();
  return make_error(ErrorKind::io, ErrorCode::store_unreachable,
                    "watch at " + endpoint + ": " + why);
}

}  // namespace multichap::store
