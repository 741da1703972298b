#include "client/cli/proc_stats.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace goodbuy::client::cli {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Directory entry names that are all digits: the pids in /proc, the fds in
// /proc/PID/fd.
std::vector<std::string> NumericEntries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return names;
  while (const dirent* entry = readdir(handle)) {
    const absl::string_view name = entry->d_name;
    if (name.empty()) continue;
    bool digits = true;
    for (char c : name) digits = digits && absl::ascii_isdigit(c);
    if (digits) names.emplace_back(name);
  }
  closedir(handle);
  return names;
}

}  // namespace

std::optional<TcpSocketEntry> ParseProcNetTcpLine(absl::string_view line) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(line, ' ', absl::SkipEmpty());
  // sl, local, remote, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode.
  if (fields.size() < 10 || !absl::EndsWith(fields[0], ":")) {
    return std::nullopt;
  }
  const size_t colon = fields[1].rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return std::nullopt;
  TcpSocketEntry entry;
  entry.local_address_hex = std::string(fields[1].substr(0, colon));
  uint32_t port = 0;
  uint32_t state = 0;
  if (!absl::SimpleHexAtoi(fields[1].substr(colon + 1), &port) ||
      port > 65535 || !absl::SimpleHexAtoi(fields[3], &state) ||
      !absl::SimpleAtoi(fields[9], &entry.inode)) {
    return std::nullopt;
  }
  entry.local_port = static_cast<int>(port);
  entry.state = static_cast<int>(state);
  return entry;
}

std::optional<uint64_t> FindListenInode(absl::string_view proc_net_tcp,
                                        int port) {
  for (absl::string_view line : absl::StrSplit(proc_net_tcp, '\n')) {
    std::optional<TcpSocketEntry> entry = ParseProcNetTcpLine(line);
    // Inode 0 is a socket being torn down, with no fd left to find.
    if (entry && entry->state == kTcpStateListen && entry->local_port == port &&
        entry->inode != 0) {
      return entry->inode;
    }
  }
  return std::nullopt;
}

absl::StatusOr<int> TargetPort(absl::string_view target) {
  const size_t colon = target.rfind(':');
  int port = 0;
  // "[::1]" ends in ']' and "unix:/run/x.sock" has a path after its colon:
  // neither is a port.
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(target.substr(colon + 1), &port) || port <= 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("target \"", target, "\" has no TCP port"));
  }
  return port;
}

absl::StatusOr<int> FindListeningPid(int port) {
  std::optional<uint64_t> inode;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::optional<std::string> text = ReadFile(table);
    if (text) inode = FindListenInode(*text, port);
    if (inode) break;
  }
  if (!inode) {
    return absl::NotFoundError(
        absl::StrCat("no listening TCP socket on port ", port));
  }
  const std::string wanted = absl::StrCat("socket:[", *inode, "]");
  for (const std::string& pid : NumericEntries("/proc")) {
    const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
    for (const std::string& fd : NumericEntries(fd_dir)) {
      char link[64];
      const std::string path = absl::StrCat(fd_dir, "/", fd);
      const ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
      if (n <= 0) continue;
      if (absl::string_view(link, static_cast<size_t>(n)) == wanted) {
        int value = 0;
        if (absl::SimpleAtoi(pid, &value)) return value;
      }
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "port ", port, " is listening, but no readable /proc/PID/fd holds ",
      wanted, " (another user's process?)"));
}

std::optional<int64_t> ParseStatusKb(absl::string_view status_text,
                                     absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(status_text, '\n')) {
    if (!absl::StartsWith(line, key) || line.size() <= key.size() ||
        line[key.size()] != ':') {
      continue;
    }
    absl::string_view value = line.substr(key.size() + 1);
    value = absl::StripAsciiWhitespace(value);
    if (!absl::ConsumeSuffix(&value, "kB")) return std::nullopt;
    int64_t kb = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &kb)) {
      return std::nullopt;
    }
    return kb;
  }
  return std::nullopt;
}

absl::StatusOr<ProcMemory> ReadProcMemory(int pid) {
  std::optional<std::string> text =
      ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!text) {
    return absl::NotFoundError(absl::StrCat("process ", pid, " is gone"));
  }
  std::optional<int64_t> rss = ParseStatusKb(*text, "VmRSS");
  std::optional<int64_t> hwm = ParseStatusKb(*text, "VmHWM");
  // A zombie has no Vm* lines left.
  if (!rss || !hwm) {
    return absl::NotFoundError(
        absl::StrCat("process ", pid, " has no memory figures (exited?)"));
  }
  return ProcMemory{*rss, *hwm};
}

bool ProcessExists(int pid) {
  struct stat info;
  return pid > 0 && stat(absl::StrCat("/proc/", pid).c_str(), &info) == 0;
}

RssSampler::RssSampler(int pid, absl::Duration interval)
    : pid_(pid), interval_(interval) {
  Sample();
  thread_ = std::thread([this] { Loop(); });
}

RssSampler::~RssSampler() { Stop(); }

void RssSampler::Loop() {
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_)) {
    mu_.Unlock();
    Sample();
    mu_.Lock();
  }
}

void RssSampler::Sample() {
  absl::StatusOr<ProcMemory> memory = ReadProcMemory(pid_);
  if (!memory.ok()) return;
  absl::MutexLock lock(&mu_);
  ++result_.samples;
  result_.peak_rss_kb = std::max(result_.peak_rss_kb, memory->rss_kb);
  result_.last_hwm_kb = memory->hwm_kb;
}

RssSampler::Result RssSampler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
    Sample();
  }
  return Current();
}

RssSampler::Result RssSampler::Current() const {
  absl::MutexLock lock(&mu_);
  return result_;
}

}  // namespace goodbuy::client::cli
