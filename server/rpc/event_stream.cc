#include "server/rpc/event_stream.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "server/common/errors.h"
#include "server/common/time_util.h"
#include "server/metrics/metrics.h"
#include "server/rpc/status_mapping.h"

namespace goodbuy::rpc {

// The state a stream shares with the broker and the registry. Every method
// takes mu_ (never held while calling the broker's Publish side, which
// calls in); the reactor pointer is cleared in OnDone, after which nothing
// touches it.
class EventStream::Sink final : public core::EventSink,
                                public RegisteredStream {
 public:
  explicit Sink(EventStream* reactor) : reactor_(reactor) {}

  void OnSubscribed(std::shared_ptr<core::Subscription> subscription) override {
    std::lock_guard<std::mutex> lock(mu_);
    subscription_ = std::move(subscription);
    subscribed_at_ = absl::Now();
    MaybeWriteLocked();
  }

  void OnEventsAvailable() override {
    std::lock_guard<std::mutex> lock(mu_);
    MaybeWriteLocked();
  }

  void OnEnd(const absl::Status& status) override { End(status); }

  void End(const absl::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(ToGrpcStatus(status));
  }

  bool Closed() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return finishing_ || reactor_ == nullptr;
  }

  void HeartbeatIfIdleSince(absl::Time idle_since) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (writing_ || finishing_ || reactor_ == nullptr ||
        last_write_ > idle_since) {
      return;
    }
    // Repeats the last event's state at its sequence, so the client's
    // resume cursor does not move.
    auto heartbeat = std::make_shared<v1::SessionEvent>();
    if (last_event_) {
      heartbeat->set_session_id(last_event_->session_id());
      heartbeat->set_sequence(last_event_->sequence());
      heartbeat->set_status(last_event_->status());
      heartbeat->set_progress_percentage(last_event_->progress_percentage());
      heartbeat->set_stage(last_event_->stage());
    } else {
      heartbeat->set_session_id(session_id_);
      if (subscription_) heartbeat->set_sequence(subscription_->cursor());
    }
    heartbeat->mutable_heartbeat();
    *heartbeat->mutable_event_time() = ToProtoTime(absl::Now());
    StartWriteLocked(std::move(heartbeat));
  }

  void WriteDone(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (ok && in_flight_ && !in_flight_->has_heartbeat()) {
      static metrics::Histogram& lag =
          metrics::Default()
              .AddHistogram("goodbuy_event_delivery_seconds",
                            "From an event's emission by its job to its "
                            "write on a watcher's stream (live events; "
                            "replayed ones are old by design).",
                            {}, metrics::LatencyBuckets())
              .With({});
      // Events emitted before the watcher subscribed are history it asked
      // for, not lag.
      const absl::Time emitted = FromProtoTime(in_flight_->event_time());
      if (emitted >= subscribed_at_) lag.Observe(absl::Now() - emitted);
    }
    if (reactor_ == nullptr) return;
    if (!ok) {  // the client is gone: the call is over
      FinishLocked(pending_status_.value_or(grpc::Status::CANCELLED));
    } else if (core::IsTerminalEvent(*in_flight_)) {
      FinishLocked(grpc::Status::OK);
    } else if (pending_status_.has_value()) {
      FinishLocked(*pending_status_);
    } else {
      MaybeWriteLocked();
    }
  }

  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
    subscription_.reset();
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
    if (writing_ || finishing_ || reactor_ == nullptr || !subscription_) {
      return;
    }
    core::Subscription::Pull pull = subscription_->Next();
    if (pull.event) {
      last_event_ = pull.event;
      StartWriteLocked(std::move(pull.event));
    } else if (pull.ended) {
      FinishLocked(ToGrpcStatus(pull.status));
    }
  }

  void StartWriteLocked(std::shared_ptr<const v1::SessionEvent> event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    in_flight_ = std::move(event);  // alive until WriteDone
    writing_ = true;
    last_write_ = absl::Now();
    reactor_->StartWrite(in_flight_.get());
  }

  // Finishes now, or after the write in flight.
  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || reactor_ == nullptr) return;
    finishing_ = true;
    if (writing_) {
      if (!pending_status_.has_value()) pending_status_ = status;
      return;
    }
    finished_ = true;
    reactor_->Finish(status);
  }

  mutable std::mutex mu_;
  EventStream* reactor_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<core::Subscription> subscription_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const v1::SessionEvent> in_flight_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const v1::SessionEvent> last_event_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> pending_status_ ABSL_GUARDED_BY(mu_);
  std::string session_id_ ABSL_GUARDED_BY(mu_);
  absl::Time last_write_ ABSL_GUARDED_BY(mu_) = absl::Now();
  absl::Time subscribed_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

EventStream::EventStream(core::SessionService* service,
                         StreamRegistry* registry,
                         absl::StatusOr<Caller> caller)
    : service_(service),
      registry_(registry),
      sink_(std::make_shared<Sink>(this)) {
  if (!caller.ok()) {
    sink_->End(caller.status());
    return;
  }
  caller_ = *std::move(caller);
  registered_ =
      registry_->Add(sink_, caller_.IsUser() ? caller_.subject : std::string());
}

void EventStream::Watch(const v1::WatchSessionRequest& request) {
  if (!registered_) return;  // already finished by the registry
  sink_->set_session_id(request.session_id());
  service_->Watch(caller_, request, sink_);
}

void EventStream::Run(const v1::RunSessionRequest& request) {
  if (!registered_) return;
  auto sink = sink_;
  service_->Create(caller_, request.session(),
                   [service = service_, sink,
                    caller = caller_](absl::StatusOr<v1::Session> s) {
                     if (!s.ok()) {
                       sink->OnEnd(PrefixFields(s.status(), "session."));
                       return;
                     }
                     sink->set_session_id(s->session_id());
                     v1::WatchSessionRequest watch;
                     watch.set_session_id(s->session_id());
                     service->Watch(caller, watch, sink);
                   });
}

void EventStream::OnWriteDone(bool ok) { sink_->WriteDone(ok); }

void EventStream::OnCancel() {
  sink_->End(absl::CancelledError("the client cancelled the stream"));
}

void EventStream::OnDone() {
  sink_->Detach();
  const std::string id = sink_->session_id();
  if (!id.empty()) service_->Unwatch(id, sink_.get());
  registry_->Remove(sink_.get());
  delete this;
}

}  // namespace goodbuy::rpc
