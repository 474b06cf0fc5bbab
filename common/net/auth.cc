#include "common/net/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace amlfs {

namespace {

void RandomBytes(uint8_t* out, size_t n) {
  // RAND_bytes fails only when the system has no entropy source at all.
  if (RAND_bytes(out, static_cast<int>(n)) != 1) throw std::runtime_error("no random source");
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::mutex key_mu;
std::shared_ptr<const ClusterKey> process_key;
std::string process_key_file;

}  // namespace

ClusterKey ClusterKey::Generate() {
  ClusterKey k;
  RandomBytes(k.bytes_.data(), k.bytes_.size());
  return k;
}

Result<ClusterKey> ClusterKey::Parse(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.size() != 2 * kBytes)
    return Error(Code::kInvalid, "a cluster key is " + std::to_string(2 * kBytes) +
                                     " hex digits (amlfs keygen makes one), not " +
                                     std::to_string(text.size()) + " characters");
  ClusterKey k;
  for (size_t i = 0; i < kBytes; ++i) {
    int hi = HexDigit(text[2 * i]), lo = HexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return Error(Code::kInvalid, "a cluster key is hex digits only");
    k.bytes_[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return k;
}

Result<ClusterKey> ClusterKey::Load(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Error(Code::kIo, "key file " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Error(Code::kInvalid, "key file " + path + ": not a file");
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return Error(
        Code::kNotPermitted,
        "key file " + path + " may be read or written by others (mode " + mode + "); chmod 600 it");
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Error(Code::kIo, "key file " + path + ": cannot read it");
  auto k = Parse(text.str());
  if (!k.ok()) return Error(k.status().code(), "key file " + path + ": " + k.status().message());
  return k;
}

std::string ClusterKey::Hex() const {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes_) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string ClusterKey::Proof(std::string_view label, std::string_view a,
                              std::string_view b) const {
  std::string msg;
  msg.reserve(label.size() + 1 + a.size() + b.size());
  msg.append(label);
  msg.push_back('\0');
  msg.append(a);
  msg.append(b);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), bytes_.data(), static_cast<int>(bytes_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string NewNonce() {
  std::string n(ClusterKey::kNonceBytes, '\0');
  RandomBytes(reinterpret_cast<uint8_t*>(n.data()), n.size());
  return n;
}

bool ProofsEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::shared_ptr<const ClusterKey> ProcessKey() {
  std::lock_guard lk(key_mu);
  return process_key;
}

void SetProcessKey(std::shared_ptr<const ClusterKey> key, std::string file) {
  std::lock_guard lk(key_mu);
  process_key = std::move(key);
  process_key_file = process_key ? std::move(file) : std::string();
}

std::string ProcessKeyFile() {
  std::lock_guard lk(key_mu);
  return process_key_file;
}

void AddKeyOption(CLI::App& app, std::string* path) {
  app.add_option("--key-file,--key_file", *path,
                 std::string("The cluster key (amlfs keygen); default ") + kDefaultKeyFile +
                     " if it exists, 'none' for no authentication");
}

Status LoadProcessKey(const std::string& path) {
  std::string file = path;
  if (file == "none") {
    SetProcessKey(nullptr);
    return Status::Ok();
  }
  if (file.empty()) {
    if (const char* env = std::getenv("AMLFS_KEY_FILE"); env && *env) return LoadProcessKey(env);
    struct stat st;
    if (::stat(kDefaultKeyFile, &st) != 0) {
      SetProcessKey(nullptr);
      return Status::Ok();
    }
    file = kDefaultKeyFile;
  }
  AMLFS_ASSIGN_OR_RETURN(ClusterKey k, ClusterKey::Load(file));
  char real[PATH_MAX];
  SetProcessKey(std::make_shared<const ClusterKey>(k),
                ::realpath(file.c_str(), real) ? real : file);
  return Status::Ok();
}

}  // namespace amlfs
