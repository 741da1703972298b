// goodbuy.analysis.v1.AnalysisService on gRPC's callback API: a thin adapter
// that hands each request to core::SessionService and finishes the call from
// its callback. No handler blocks: database work happens on the DB executor.
// Thread-safe; owned by the server for its whole life.
#ifndef GOODBUY_SERVER_RPC_ANALYSIS_SERVICE_H_
#define GOODBUY_SERVER_RPC_ANALYSIS_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "goodbuy/analysis/v1/analysis_service.grpc.pb.h"
#include "server/core/session_service.h"
#include "server/rpc/event_stream.h"
#include "server/rpc/stream_registry.h"

namespace goodbuy::rpc {

class AnalysisServiceImpl final
    : public analysis::v1::AnalysisService::CallbackService {
 public:
  AnalysisServiceImpl(core::SessionService* service,
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

  // Ends every open stream with UNAVAILABLE (shutdown).
  void CloseStreams();
  size_t OpenStreams() const { return streams_.size(); }

 private:
  core::SessionService* const service_;
  StreamRegistry streams_;
};

}  // namespace goodbuy::rpc

#endif  // GOODBUY_SERVER_RPC_ANALYSIS_SERVICE_H_
