// goodbuy.analysis.v1.AnalysisService on gRPC's callback API: a thin adapter
// that authenticates each call (Authenticator: UNAUTHENTICATED without an
// identity, RESOURCE_EXHAUSTED over the caller's rate), hands the request
// and the caller to core::SessionService and finishes the call from its
// callback. No handler blocks: database work happens on the DB executor.
// Thread-safe; owned by the server for its whole life.
#ifndef GOODBUY_SERVER_RPC_ANALYSIS_SERVICE_H_
#define GOODBUY_SERVER_RPC_ANALYSIS_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "goodbuy/analysis/v1/analysis_service.grpc.pb.h"
#include "server/core/session_service.h"
#include "server/rpc/authenticator.h"
#include "server/rpc/event_stream.h"
#include "server/rpc/stream_registry.h"

namespace goodbuy::rpc {

class AnalysisServiceImpl final
    : public analysis::v1::AnalysisService::CallbackService {
 public:
  AnalysisServiceImpl(core::SessionService* service,
                      const Authenticator* authenticator,
                      StreamOptions streams = {});

  grpc::ServerUnaryReactor* CreateSession(
      grpc::CallbackServerContext* context,
      const v1::CreateSessionRequest* request, v1::Session* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const v1::GetSessionRequest* request,
                                       v1::Session* response) override;
  grpc::ServerUnaryReactor* ListSessions(
      grpc::CallbackServerContext* context,
      const v1::ListSessionsRequest* request,
      v1::ListSessionsResponse* response) override;
  grpc::ServerUnaryReactor* CancelSession(
      grpc::CallbackServerContext* context,
      const v1::CancelSessionRequest* request, v1::Session* response) override;
  grpc::ServerWriteReactor<v1::SessionEvent>* WatchSession(
      grpc::CallbackServerContext* context,
      const v1::WatchSessionRequest* request) override;
  grpc::ServerWriteReactor<v1::SessionEvent>* RunSession(
      grpc::CallbackServerContext* context,
      const v1::RunSessionRequest* request) override;
  grpc::ServerUnaryReactor* GetUsage(grpc::CallbackServerContext* context,
                                     const v1::GetUsageRequest* request,
                                     v1::Usage* response) override;

  // Ends every open stream with UNAVAILABLE (shutdown).
  void CloseStreams();
  size_t OpenStreams() const { return streams_.size(); }

 private:
  // Authenticates the call, then runs `call(caller)`; or finishes it with
  // the authentication error.
  template <typename Call>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context,
                                  const Call& call);

  core::SessionService* const service_;
  const Authenticator* const authenticator_;
  StreamRegistry streams_;
};

}  // namespace goodbuy::rpc

#endif  // GOODBUY_SERVER_RPC_ANALYSIS_SERVICE_H_
