// The server side of one WatchSession / RunSession call: a callback-API
// write reactor fed by the core's event broker.
//
// Events arrive on broker or DB threads through the EventSink interface and
// wait in a WatchQueue; exactly one write is in flight, the next starts from
// OnWriteDone. The stream finishes OK after writing the terminal event, with
// the watch's error if it fails, CANCELLED when the client goes away, and
// UNAVAILABLE when the server shuts down (clients resume elsewhere with
// after_sequence). The reactor deletes itself in OnDone; the sink state is
// shared so late broker deliveries after that are harmless no-ops.
#ifndef GOODBUY_SERVER_RPC_EVENT_STREAM_H_
#define GOODBUY_SERVER_RPC_EVENT_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "goodbuy/analysis/v1/analysis_service.grpc.pb.h"
#include "server/core/event_broker.h"
#include "server/core/session_service.h"
#include "server/core/watch_queue.h"

namespace goodbuy::rpc {

namespace v1 = ::goodbuy::analysis::v1;

class StreamRegistry;

class EventStream final : public grpc::ServerWriteReactor<v1::SessionEvent> {
 public:
  EventStream(core::SessionService* service, StreamRegistry* registry);

  // Starts watching an existing session.
  void Watch(const v1::WatchSessionRequest& request);
  // Creates a session, then watches it from its first event.
  void Run(const v1::RunSessionRequest& request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Shared with the broker; outlives the reactor.
  class Sink;

 private:
  core::SessionService* const service_;
  StreamRegistry* const registry_;
  std::shared_ptr<Sink> sink_;
};

// Every open stream, so shutdown can end them with UNAVAILABLE.
class StreamRegistry {
 public:
  void Add(const std::shared_ptr<core::EventSink>& sink);
  void Remove(const core::EventSink* sink);
  void CloseAll(const absl::Status& status);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<const core::EventSink*, std::weak_ptr<core::EventSink>> sinks_
      ABSL_GUARDED_BY(mu_);
  // Set by CloseAll: streams that open later end at once with it.
  std::optional<absl::Status> closed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace goodbuy::rpc

#endif  // GOODBUY_SERVER_RPC_EVENT_STREAM_H_
