// Every open WatchSession / RunSession stream of this server: caps how many
// may be open at once, in all and per user (RESOURCE_EXHAUSTED beyond
// either, with QuotaFailure and RetryInfo, so clients back off or go to
// another replica; one tenant cannot take every stream), sends the
// heartbeat event on streams idle for the heartbeat interval (so proxies and
// load balancers that cut silent HTTP/2 streams leave them be), and ends
// them all with UNAVAILABLE at shutdown (clients resume elsewhere with
// after_sequence). Thread-safe.
#ifndef GOODBUY_SERVER_RPC_STREAM_REGISTRY_H_
#define GOODBUY_SERVER_RPC_STREAM_REGISTRY_H_

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/core/executor.h"

namespace goodbuy::rpc {

struct StreamOptions {
  // Open streams at most; more are refused with RESOURCE_EXHAUSTED.
  size_t max_streams = 20000;
  // Open streams of one user (user callers; services and admins count
  // against max_streams only).
  size_t max_streams_per_user = 100;
  // A stream with nothing written for this long gets a heartbeat event.
  absl::Duration heartbeat_interval = absl::Seconds(15);
};

// What the registry needs of a stream.
class RegisteredStream {
 public:
  virtual ~RegisteredStream() = default;
  // Writes a heartbeat event if nothing was written since `idle_since`.
  virtual void HeartbeatIfIdleSince(absl::Time idle_since) = 0;
  // Ends the stream with `status` (after its write in flight).
  virtual void End(const absl::Status& status) = 0;
};

class StreamRegistry {
 public:
  explicit StreamRegistry(StreamOptions options);
  ~StreamRegistry();

  // Registers a new stream, or ends it at once: RESOURCE_EXHAUSTED when
  // max_streams are open, the shutdown status after CloseAll. False then.
  // `user` is the user caller's id, or empty for services and admins.
  bool Add(const std::shared_ptr<RegisteredStream>& stream,
           const std::string& user = "");
  void Remove(const RegisteredStream* stream);
  void CloseAll(const absl::Status& status);
  size_t size() const;
  const StreamOptions& options() const { return options_; }

 private:
  void HeartbeatLoop();

  const StreamOptions options_;
  mutable std::mutex mu_;
  struct Entry {
    std::weak_ptr<RegisteredStream> stream;
    std::string user;
  };
  std::map<const RegisteredStream*, Entry> streams_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, size_t> per_user_ ABSL_GUARDED_BY(mu_);
  // Set by CloseAll: streams that open later end at once with it.
  std::optional<absl::Status> closed_ ABSL_GUARDED_BY(mu_);
  core::Timer timer_;
};

}  // namespace goodbuy::rpc

#endif  // GOODBUY_SERVER_RPC_STREAM_REGISTRY_H_
