#include "server/rpc/analysis_service.h"

#include <string>
#include <utility>

#include "server/logging/log_context.h"
#include "server/rpc/status_mapping.h"

namespace goodbuy::rpc {
namespace {

// Finishes a unary call from a core callback, copying the value into the
// response gRPC owns.
template <typename T>
core::SessionService::Callback<T> Finisher(grpc::ServerUnaryReactor* reactor,
                                           T* response) {
  return [reactor, response](absl::StatusOr<T> result) {
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  };
}

// The trace id of the call's W3C `traceparent` header, for its log lines
// (and those of the database work it queues).
logging::ScopedLogContext TraceScope(
    const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("traceparent");
  std::string trace;
  if (it != metadata.end()) {
    trace = logging::TraceIdFromTraceparent(
        std::string(it->second.data(), it->second.size()));
  }
  return logging::ScopedLogContext("", 0, std::move(trace));
}

// The client's deadline, for the database statements the call makes.
core::CallOptions Call(const grpc::CallbackServerContext& context) {
  core::CallOptions call;
  const auto deadline = context.deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    call.deadline = absl::FromChrono(deadline);
  }
  return call;
}

}  // namespace

AnalysisServiceImpl::AnalysisServiceImpl(core::SessionService* service,
                                         const Authenticator* authenticator,
                                         StreamOptions streams)
    : service_(service), authenticator_(authenticator), streams_(streams) {}

template <typename Call>
grpc::ServerUnaryReactor* AnalysisServiceImpl::Unary(
    grpc::CallbackServerContext* context, const Call& call) {
  auto* reactor = context->DefaultReactor();
  const logging::ScopedLogContext trace = TraceScope(*context);
  auto caller = authenticator_->Authenticate(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
  } else {
    call(*caller, reactor);
  }
  return reactor;
}

grpc::ServerUnaryReactor* AnalysisServiceImpl::CreateSession(
    grpc::CallbackServerContext* context,
    const v1::CreateSessionRequest* request, v1::Session* response) {
  return Unary(context, [&](const Caller& caller, auto* reactor) {
    service_->Create(caller, *request, Finisher(reactor, response),
                     Call(*context));
  });
}

grpc::ServerUnaryReactor* AnalysisServiceImpl::GetSession(
    grpc::CallbackServerContext* context, const v1::GetSessionRequest* request,
    v1::Session* response) {
  return Unary(context, [&](const Caller& caller, auto* reactor) {
    service_->Get(caller, *request, Finisher(reactor, response),
                  Call(*context));
  });
}

grpc::ServerUnaryReactor* AnalysisServiceImpl::ListSessions(
    grpc::CallbackServerContext* context,
    const v1::ListSessionsRequest* request,
    v1::ListSessionsResponse* response) {
  return Unary(context, [&](const Caller& caller, auto* reactor) {
    service_->List(caller, *request, Finisher(reactor, response),
                   Call(*context));
  });
}

grpc::ServerUnaryReactor* AnalysisServiceImpl::CancelSession(
    grpc::CallbackServerContext* context,
    const v1::CancelSessionRequest* request, v1::Session* response) {
  return Unary(context, [&](const Caller& caller, auto* reactor) {
    service_->Cancel(caller, *request, Finisher(reactor, response),
                     Call(*context));
  });
}

grpc::ServerUnaryReactor* AnalysisServiceImpl::GetUsage(
    grpc::CallbackServerContext* context, const v1::GetUsageRequest* request,
    v1::Usage* response) {
  return Unary(context, [&](const Caller& caller, auto* reactor) {
    service_->GetUsage(caller, *request, Finisher(reactor, response),
                       Call(*context));
  });
}

grpc::ServerWriteReactor<v1::SessionEvent>* AnalysisServiceImpl::WatchSession(
    grpc::CallbackServerContext* context,
    const v1::WatchSessionRequest* request) {
  const logging::ScopedLogContext trace = TraceScope(*context);
  auto* stream = new EventStream(service_, &streams_,
                                 authenticator_->Authenticate(*context));
  stream->Watch(*request);
  return stream;
}

grpc::ServerWriteReactor<v1::SessionEvent>* AnalysisServiceImpl::RunSession(
    grpc::CallbackServerContext* context,
    const v1::RunSessionRequest* request) {
  const logging::ScopedLogContext trace = TraceScope(*context);
  auto* stream = new EventStream(service_, &streams_,
                                 authenticator_->Authenticate(*context));
  stream->Run(*request);
  return stream;
}

void AnalysisServiceImpl::CloseStreams() {
  streams_.CloseAll(absl::UnavailableError(
      "the server is shutting down; resume the watch with after_sequence"));
}

}  // namespace goodbuy::rpc
