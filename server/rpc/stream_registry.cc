#include "server/rpc/stream_registry.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/duration.pb.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"

namespace goodbuy::rpc {
namespace {

absl::Status TooManyStreams(size_t max_streams) {
  google::rpc::QuotaFailure quota;
  auto* violation = quota.add_violations();
  violation->set_subject("watch streams on this server");
  violation->set_description(
      absl::StrCat("at most ", max_streams, " streams may be open at once"));
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(1);
  return WithDetail(
      WithDetail(absl::ResourceExhaustedError(absl::StrCat(
                     "this server already has ", max_streams,
                     " open streams; retry in a moment or on another replica")),
                 quota),
      retry);
}

absl::Status TooManyUserStreams(size_t max_streams) {
  google::rpc::QuotaFailure quota;
  auto* violation = quota.add_violations();
  violation->set_subject("watch streams of this user");
  violation->set_description(absl::StrCat(
      "at most ", max_streams, " streams per user may be open at once"));
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(5);
  return WithDetail(
      WithDetail(absl::ResourceExhaustedError(absl::StrCat(
                     "you already have ", max_streams,
                     " open streams; close one before opening another")),
                 quota),
      retry);
}

}  // namespace

StreamRegistry::StreamRegistry(StreamOptions options) : options_(options) {
  // Checks a few times per interval, so a heartbeat is at most a third late.
  timer_.RunAfter(options_.heartbeat_interval / 3, [this] { HeartbeatLoop(); });
}

StreamRegistry::~StreamRegistry() { timer_.Shutdown(); }

bool StreamRegistry::Add(const std::shared_ptr<RegisteredStream>& stream,
                         const std::string& user) {
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_.has_value()) {
      refused = *closed_;  // a stream that arrives during shutdown
    } else if (streams_.size() >= options_.max_streams) {
      refused = TooManyStreams(options_.max_streams);
    } else if (!user.empty() &&
               per_user_[user] >= options_.max_streams_per_user) {
      refused = TooManyUserStreams(options_.max_streams_per_user);
    } else {
      streams_[stream.get()] = Entry{stream, user};
      if (!user.empty()) ++per_user_[user];
      return true;
    }
  }
  stream->End(refused);
  return false;
}

void StreamRegistry::Remove(const RegisteredStream* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  if (!it->second.user.empty()) {
    auto count = per_user_.find(it->second.user);
    if (count != per_user_.end() && --count->second == 0) {
      per_user_.erase(count);
    }
  }
  streams_.erase(it);
}

void StreamRegistry::CloseAll(const absl::Status& status) {
  std::vector<std::shared_ptr<RegisteredStream>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = status;
    for (auto& [ptr, entry] : streams_) {
      if (auto stream = entry.stream.lock()) open.push_back(std::move(stream));
    }
  }
  for (auto& stream : open) stream->End(status);
}

size_t StreamRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

void StreamRegistry::HeartbeatLoop() {
  std::vector<std::shared_ptr<RegisteredStream>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_.has_value()) return;
    open.reserve(streams_.size());
    for (auto& [ptr, entry] : streams_) {
      if (auto stream = entry.stream.lock()) open.push_back(std::move(stream));
    }
  }
  const absl::Time idle_since = absl::Now() - options_.heartbeat_interval;
  for (auto& stream : open) stream->HeartbeatIfIdleSince(idle_since);
  timer_.RunAfter(options_.heartbeat_interval / 3, [this] { HeartbeatLoop(); });
}

}  // namespace goodbuy::rpc
