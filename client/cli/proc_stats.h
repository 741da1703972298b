// Server process statistics for analysisctl bench, read from Linux /proc:
// which local process listens on the target's TCP port (the LISTEN socket's
// inode in /proc/net/tcp{,6}, then the /proc/PID/fd link "socket:[inode]"
// that points at it), and its resident memory (VmRSS, VmHWM in
// /proc/PID/status). RssSampler polls the RSS on its own thread while a bench
// runs and keeps the peak. The parsers are pure functions; the lookups read
// /proc and return NOT_FOUND when nothing matches (or when /proc/PID/fd of
// another user's process cannot be read), INVALID_ARGUMENT for a target
// without a port. Everything here is thread-safe.
#ifndef GOODBUY_CLIENT_CLI_PROC_STATS_H_
#define GOODBUY_CLIENT_CLI_PROC_STATS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace goodbuy::client::cli {

// The TCP state code of a listening socket in /proc/net/tcp ("0A").
inline constexpr int kTcpStateListen = 0x0A;

// One socket row of /proc/net/tcp or /proc/net/tcp6.
struct TcpSocketEntry {
  // Hex as the kernel prints it (8 digits for IPv4, 32 for IPv6).
  std::string local_address_hex;
  int local_port = 0;
  int state = 0;
  uint64_t inode = 0;
};

// Parses one line of /proc/net/tcp{,6}, e.g.
// "   0: 0100007F:C383 00000000:0000 0A 00000000:00000000 00:00000000
//  00000000  1000        0 4711 1 ...". nullopt for the header line and
// anything malformed.
std::optional<TcpSocketEntry> ParseProcNetTcpLine(absl::string_view line);

// The inode of the LISTEN socket on `port` in the text of /proc/net/tcp or
// tcp6 (any local address: 127.0.0.1, 0.0.0.0, ::). nullopt when none.
std::optional<uint64_t> FindListenInode(absl::string_view proc_net_tcp,
                                        int port);

// The port of a gRPC target: "host:port", "dns:///host:port",
// "ipv4:127.0.0.1:port", "[::1]:port". INVALID_ARGUMENT when it has none
// (e.g. "unix:/path" or "localhost").
absl::StatusOr<int> TargetPort(absl::string_view target);

// The pid of the process with a listening TCP socket on `port` on this
// machine. NOT_FOUND when there is none, or it belongs to a user whose
// /proc/PID/fd we cannot read.
absl::StatusOr<int> FindListeningPid(int port);

struct ProcMemory {
  int64_t rss_kb = 0;  // VmRSS
  int64_t hwm_kb = 0;  // VmHWM: peak RSS over the process's life
};

// The "Vm...:  1234 kB" value of `key` in the text of /proc/PID/status.
std::optional<int64_t> ParseStatusKb(absl::string_view status_text,
                                     absl::string_view key);

// Reads /proc/PID/status. NOT_FOUND when the process is gone.
absl::StatusOr<ProcMemory> ReadProcMemory(int pid);

// True when /proc/PID exists.
bool ProcessExists(int pid);

// Samples a process's VmRSS every `interval` on its own thread, from
// construction until Stop() (or destruction), and keeps the peak. A failed
// sample (the process exited) is skipped.
class RssSampler {
 public:
  RssSampler(int pid, absl::Duration interval);
  ~RssSampler();
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;

  struct Result {
    int64_t samples = 0;      // successful samples
    int64_t peak_rss_kb = 0;  // largest VmRSS seen
    int64_t last_hwm_kb = 0;  // VmHWM at the last sample
  };

  // Takes a last sample, stops the thread and returns the figures.
  // Idempotent.
  Result Stop();
  // The figures so far, while sampling continues.
  Result Current() const;

 private:
  void Loop();
  void Sample();

  const int pid_;
  const absl::Duration interval_;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Result result_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace goodbuy::client::cli

#endif  // GOODBUY_CLIENT_CLI_PROC_STATS_H_
