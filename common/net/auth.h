// The cluster key: a secret shared by every server and client of one
// cluster. With a key, every connection starts with a mutual
// challenge-response in its handshake (rpc_client.cc, rpc_server.cc):
//
//   client -> server  kHello {version, role, name, client nonce}
//   server -> client  HelloRsp {version, role, server nonce,
//                     HMAC-SHA256(key, "amlfs-server" | client nonce | server nonce)}
//   client -> server  kAuth {HMAC-SHA256(key, "amlfs-client" | server nonce | client nonce)}
//   server -> client  OK, or an error and the connection is closed
//
// Each side proves it holds the key over a nonce the other side just drew,
// so a recorded handshake cannot be replayed, and the labels keep one
// side's proof from being reflected back as the other's. The key itself
// never crosses the network. A side without a key neither asks for a proof
// nor gives one, so it cannot talk to a side that has one.
//
// Key file: one line of 64 hex digits (32 random bytes), as `amlfs keygen`
// prints it, readable by its owner only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace CLI {
class App;
}

namespace amlfs {

class ClusterKey {
 public:
  static constexpr size_t kBytes = 32;
  static constexpr size_t kNonceBytes = 32;

  // A new random key.
  static ClusterKey Generate();
  // Parses 64 hex digits (surrounding white space allowed).
  static Result<ClusterKey> Parse(std::string_view text);
  // Reads a key file. kNotPermitted when group or others may read or write
  // it; kInvalid when it does not hold a key; kIo when it cannot be read.
  static Result<ClusterKey> Load(const std::string& path);

  std::string Hex() const;
  // HMAC-SHA256(key, label | a | b), 32 bytes.
  std::string Proof(std::string_view label, std::string_view a, std::string_view b) const;

 private:
  std::array<uint8_t, kBytes> bytes_{};
};

// kNonceBytes fresh random bytes.
std::string NewNonce();
// Compares two proofs in constant time.
bool ProofsEqual(std::string_view a, std::string_view b);

// The key this process's connections use by default (RpcClient::Options,
// RpcServer::Options); null: none.
std::shared_ptr<const ClusterKey> ProcessKey();
void SetProcessKey(std::shared_ptr<const ClusterKey> key, std::string file = "");
// The file the process key was loaded from ("": none, or not from a file).
std::string ProcessKeyFile();

// The default key file: used when it exists, --key-file is not given and
// $AMLFS_KEY_FILE is not set.
inline constexpr const char* kDefaultKeyFile = "/etc/amlfs/cluster.key";
// Adds --key-file (key_file in a config file) to `app`, into `*path`.
void AddKeyOption(CLI::App& app, std::string* path);
// Loads the key named by `path` (--key-file; if empty, $AMLFS_KEY_FILE,
// else the default file when it exists) as the process key. "none" runs
// without a key. Errors name the file.
Status LoadProcessKey(const std::string& path);

}  // namespace amlfs
