// The server side of one WatchSession / RunSession call: a callback-API
// write reactor that pulls events from the core's event broker.
//
// Exactly one write is in flight; the next event is pulled from the
// stream's Subscription in OnWriteDone (or when the broker says events
// arrived), so a slow client holds one event, not a queue. The stream
// finishes OK after writing the terminal event, with the watch's error if it
// fails (RESOURCE_EXHAUSTED when the client fell too far behind), CANCELLED
// when the client goes away, and UNAVAILABLE when the server shuts down
// (clients resume elsewhere with after_sequence). An idle stream gets a
// heartbeat event from the StreamRegistry. The reactor deletes itself in
// OnDone; the sink state is shared so late broker calls after that are
// harmless no-ops.
#ifndef GOODBUY_SERVER_RPC_EVENT_STREAM_H_
#define GOODBUY_SERVER_RPC_EVENT_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/statusor.h"
#include "goodbuy/analysis/v1/analysis_service.grpc.pb.h"
#include "server/common/caller.h"
#include "server/core/session_service.h"
#include "server/rpc/stream_registry.h"

namespace goodbuy::rpc {

namespace v1 = ::goodbuy::analysis::v1;

class EventStream final : public grpc::ServerWriteReactor<v1::SessionEvent> {
 public:
  // Ends at once with `caller`'s error when authentication failed.
  EventStream(core::SessionService* service, StreamRegistry* registry,
              absl::StatusOr<Caller> caller);

  // Starts watching an existing session.
  void Watch(const v1::WatchSessionRequest& request);
  // Creates a session, then watches it from its first event.
  void Run(const v1::RunSessionRequest& request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Shared with the broker and the registry; outlives the reactor.
  class Sink;

 private:
  core::SessionService* const service_;
  StreamRegistry* const registry_;
  std::shared_ptr<Sink> sink_;
  Caller caller_;
  bool registered_ = false;
};

}  // namespace goodbuy::rpc

#endif  // GOODBUY_SERVER_RPC_EVENT_STREAM_H_
