#include "client/credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/credentials.h"

namespace goodbuy::client {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", what, " '", path, "'"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

absl::StatusOr<std::string> ResolveToken(const Credentials& credentials) {
  std::string token = credentials.token;
  std::string file = credentials.token_file;
  if (token.empty() && file.empty()) {
    token = Env("ANALYSIS_TOKEN");
    if (token.empty()) file = Env("ANALYSIS_TOKEN_FILE");
  }
  if (token.empty() && !file.empty()) {
    auto text = ReadFile(file, "the token file");
    if (!text.ok()) return text.status();
    token = text->substr(0, text->find('\n'));
  }
  return std::string(absl::StripAsciiWhitespace(token));
}

}  // namespace

absl::Status ApplyCredentials(const Credentials& credentials,
                              AnalysisClientOptions* options) {
  auto token = ResolveToken(credentials);
  if (!token.ok()) return token.status();
  if (!token->empty()) {
    options->metadata.emplace_back("authorization",
                                   absl::StrCat("Bearer ", *token));
  }
  const bool tls = credentials.tls || !credentials.tls_ca.empty() ||
                   !credentials.tls_cert.empty() ||
                   !credentials.tls_server_name.empty();
  if (!tls) return absl::OkStatus();
  if (credentials.tls_cert.empty() != credentials.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs both --tls_cert and --tls_key");
  }
  grpc::SslCredentialsOptions ssl;
  if (!credentials.tls_ca.empty()) {
    auto ca = ReadFile(credentials.tls_ca, "the CA file");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!credentials.tls_cert.empty()) {
    auto cert = ReadFile(credentials.tls_cert, "the client certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(credentials.tls_key, "the client key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  options->credentials = grpc::SslCredentials(ssl);
  options->tls_server_name = credentials.tls_server_name;
  return absl::OkStatus();
}

}  // namespace goodbuy::client
