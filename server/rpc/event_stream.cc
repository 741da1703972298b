#include "server/rpc/event_stream.h"

#include <utility>

#include "server/common/errors.h"
#include "server/rpc/status_mapping.h"

namespace goodbuy::rpc {

// The state a stream shares with the broker. Every method takes mu_; the
// reactor pointer is cleared in OnDone, after which nothing touches it.
class EventStream::Sink final : public core::EventSink {
 public:
  explicit Sink(EventStream* reactor) : reactor_(reactor) {}

  void OnEvent(const v1::SessionEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finishing_ || reactor_ == nullptr) return;
    if (session_id_.empty()) session_id_ = event.session_id();
    queue_.Push(event);
    MaybeWriteLocked();
  }

  void OnEnd(const absl::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finishing_ || reactor_ == nullptr) return;
    finishing_ = true;
    if (writing_) {
      pending_status_ = ToGrpcStatus(status);  // finish after the write
    } else {
      reactor_->Finish(ToGrpcStatus(status));
    }
  }

  bool Closed() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return finishing_ || reactor_ == nullptr;
  }

  void WriteDone(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (reactor_ == nullptr) return;
    if (!ok) {  // the client is gone: the call is over
      if (!pending_status_.has_value())
        pending_status_ = grpc::Status::CANCELLED;
      finishing_ = true;
    } else if (!finishing_ && core::IsTerminalEvent(in_flight_)) {
      finishing_ = true;
      pending_status_ = grpc::Status::OK;
    }
    if (finishing_) {
      if (pending_status_.has_value()) {
        reactor_->Finish(*pending_status_);
        pending_status_.reset();
      }
      return;
    }
    MaybeWriteLocked();
  }

  void Cancelled() {
    OnEnd(absl::CancelledError("the client cancelled the stream"));
  }

  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
  }

  std::string session_id() const {
    std::lock_guard<std::mutex> lock(mu_);
    return session_id_;
  }

  void set_session_id(std::string id) {
    std::lock_guard<std::mutex> lock(mu_);
    session_id_ = std::move(id);
  }

 private:
  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finishing_) return;
    auto next = queue_.Pop();
    if (!next.has_value()) return;
    in_flight_ = *std::move(next);
    writing_ = true;
    reactor_->StartWrite(&in_flight_);
  }

  mutable std::mutex mu_;
  EventStream* reactor_ ABSL_GUARDED_BY(mu_);
  core::WatchQueue queue_ ABSL_GUARDED_BY(mu_);
  v1::SessionEvent in_flight_ ABSL_GUARDED_BY(mu_);  // alive until WriteDone
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> pending_status_ ABSL_GUARDED_BY(mu_);
  std::string session_id_ ABSL_GUARDED_BY(mu_);
};

EventStream::EventStream(core::SessionService* service,
                         StreamRegistry* registry)
    : service_(service),
      registry_(registry),
      sink_(std::make_shared<Sink>(this)) {
  registry_->Add(sink_);
}

void EventStream::Watch(const v1::WatchSessionRequest& request) {
  sink_->set_session_id(request.session_id());
  service_->Watch(request, sink_);
}

void EventStream::Run(const v1::RunSessionRequest& request) {
  auto sink = sink_;
  service_->Create(request.session(),
                   [service = service_, sink](absl::StatusOr<v1::Session> s) {
                     if (!s.ok()) {
                       sink->OnEnd(PrefixFields(s.status(), "session."));
                       return;
                     }
                     sink->set_session_id(s->session_id());
                     v1::WatchSessionRequest watch;
                     watch.set_session_id(s->session_id());
                     service->Watch(watch, sink);
                   });
}

void EventStream::OnWriteDone(bool ok) { sink_->WriteDone(ok); }

void EventStream::OnCancel() { sink_->Cancelled(); }

void EventStream::OnDone() {
  sink_->Detach();
  const std::string id = sink_->session_id();
  if (!id.empty()) service_->Unwatch(id, sink_.get());
  registry_->Remove(sink_.get());
  delete this;
}

void StreamRegistry::Add(const std::shared_ptr<core::EventSink>& sink) {
  absl::Status closed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_.has_value()) {
      sinks_[sink.get()] = sink;
      return;
    }
    closed = *closed_;
  }
  sink->OnEnd(closed);  // a stream that arrives during shutdown
}

void StreamRegistry::Remove(const core::EventSink* sink) {
  std::lock_guard<std::mutex> lock(mu_);
  sinks_.erase(sink);
}

void StreamRegistry::CloseAll(const absl::Status& status) {
  std::vector<std::shared_ptr<core::EventSink>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = status;
    for (auto& [ptr, weak] : sinks_) {
      if (auto sink = weak.lock()) open.push_back(std::move(sink));
    }
  }
  for (auto& sink : open) sink->OnEnd(status);
}

size_t StreamRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sinks_.size();
}

}  // namespace goodbuy::rpc
