// How a client proves who it is and reaches the server: a bearer token (the
// GoodBuy web app's JWT, or one from `analysis-server token`) sent as
// `authorization: Bearer ...` on every call, and optionally TLS (a CA to
// trust, a client certificate for mTLS, a server name to expect). Used by
// analysisctl's --token/--token_file/--tls_* flags and by services that
// build an AnalysisClient. Pure function of its inputs and the files named.
#ifndef GOODBUY_CLIENT_CREDENTIALS_H_
#define GOODBUY_CLIENT_CREDENTIALS_H_

#include <string>

#include "absl/status/status.h"
#include "client/analysis_client.h"

namespace goodbuy::client {

struct Credentials {
  // The token itself, or a file holding it (first line). Both empty: the
  // environment's ANALYSIS_TOKEN, then ANALYSIS_TOKEN_FILE; none: no token.
  std::string token;
  std::string token_file;
  // TLS when any of these is set (or `tls`): PEM CA bundle to trust (empty:
  // the system's roots), client certificate and key (mTLS), and the name
  // the server's certificate must carry when it differs from the target's.
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
};

// Fills options->metadata (authorization), options->credentials and
// options->tls_server_name. INVALID_ARGUMENT naming a file it cannot read.
absl::Status ApplyCredentials(const Credentials& credentials,
                              AnalysisClientOptions* options);

}  // namespace goodbuy::client

#endif  // GOODBUY_CLIENT_CREDENTIALS_H_
