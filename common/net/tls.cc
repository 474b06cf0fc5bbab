#include "common/net/tls.h"

#include <openssl/ssl.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstring>

namespace amlfs {

namespace {

constexpr char kIdentity[] = "amlfs";
// TLS_AES_128_GCM_SHA256: the suite the pre-shared key is bound to.
constexpr unsigned char kSuite[] = {0x13, 0x01};

std::atomic<bool> process_tls{false};

// Where a context keeps its key: an ex_data slot of our own (Asio's
// ssl::context owns the app data slot).
int PskSlot() {
  static const int slot = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}

const std::string* PskOf(SSL* ssl) {
  return static_cast<const std::string*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), PskSlot()));
}

// A session that carries the pre-shared key.
SSL_SESSION* PskSession(SSL* ssl) {
  const std::string* psk = PskOf(ssl);
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kSuite);
  if (!psk || !cipher) return nullptr;
  SSL_SESSION* s = SSL_SESSION_new();
  if (!s) return nullptr;
  if (!SSL_SESSION_set1_master_key(s, reinterpret_cast<const unsigned char*>(psk->data()),
                                   psk->size()) ||
      !SSL_SESSION_set_cipher(s, cipher) || !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
    SSL_SESSION_free(s);
    return nullptr;
  }
  return s;
}

int UsePsk(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* idlen,
           SSL_SESSION** sess) {
  *sess = nullptr;
  if (md && md != EVP_sha256()) return 1;  // a suite the key is not bound to: no PSK
  *sess = PskSession(ssl);
  if (!*sess) return 0;
  *id = reinterpret_cast<const unsigned char*>(kIdentity);
  *idlen = sizeof(kIdentity) - 1;
  return 1;
}

int FindPsk(SSL* ssl, const unsigned char* id, size_t idlen, SSL_SESSION** sess) {
  *sess = nullptr;
  if (idlen != sizeof(kIdentity) - 1 || std::memcmp(id, kIdentity, idlen) != 0)
    return 1;  // unknown identity: no PSK, and with no certificate the handshake fails
  *sess = PskSession(ssl);
  return *sess ? 1 : 0;
}

}  // namespace

std::shared_ptr<TlsContext> MakeTlsContext(const ClusterKey& key, bool server) {
  namespace ssl = boost::asio::ssl;
  auto c =
      std::make_shared<TlsContext>(server ? ssl::context::tls_server : ssl::context::tls_client);
  c->psk = key.Proof("amlfs-tls-psk", "", "");
  SSL_CTX* h = c->ssl.native_handle();
  SSL_CTX_set_min_proto_version(h, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(h, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(h, "TLS_AES_128_GCM_SHA256");
  SSL_CTX_set_ex_data(h, PskSlot(), &c->psk);
  // No session tickets: every connection proves the key afresh.
  SSL_CTX_set_num_tickets(h, 0);
  if (server)
    SSL_CTX_set_psk_find_session_callback(h, FindPsk);
  else
    SSL_CTX_set_psk_use_session_callback(h, UsePsk);
  c->ssl.set_verify_mode(ssl::verify_none);  // no certificates: the key is the proof
  return c;
}

bool ProcessTls() { return process_tls.load(); }

Status SetProcessTls(bool on) {
  if (on && !ProcessKey())
    return Error(Code::kInvalid, "tls needs the cluster key (key_file, amlfs keygen)");
  process_tls.store(on);
  return Status::Ok();
}

void AddTlsOption(CLI::App& app, bool* on) {
  app.add_flag("--tls", *on,
               "Encrypt every connection (TLS 1.3 keyed by the cluster key); every server "
               "and client of the cluster must agree");
}

}  // namespace amlfs
