// libFuzzer target: every request validation and the page-token decoder on
// arbitrary bytes. The input is read as each request message (protobuf's
// parser accepts a prefix of garbage as unknown fields, so most inputs reach
// the validators) and, whole, as a page token. Any crash, sanitizer report
// or OK status for a request that violates the API's limits is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "goodbuy/analysis/v1/analysis_service.pb.h"
#include "server/core/page_token.h"
#include "server/core/request_validation.h"

namespace v1 = ::goodbuy::analysis::v1;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  v1::CreateSessionRequest create;
  if (create.ParseFromString(bytes)) {
    const absl::Status status = goodbuy::core::ValidateCreate(create);
    // The validator's promises: accepted requests have a known type and a
    // well-formed business id.
    if (status.ok() && (create.session_type() == v1::SESSION_TYPE_UNSPECIFIED ||
                        !goodbuy::core::IsWellFormedId(create.business_id()))) {
      __builtin_trap();
    }
  }
  v1::ListSessionsRequest list;
  if (list.ParseFromString(bytes)) {
    const absl::Status status = goodbuy::core::ValidateList(list);
    if (status.ok() && (list.page_size() < 0)) __builtin_trap();
    goodbuy::store::SessionFilter filter;
    filter.business_id = list.business_id();
    (void)goodbuy::core::DecodePageToken(list.page_token(), filter);
  }
  v1::WatchSessionRequest watch;
  if (watch.ParseFromString(bytes)) {
    const absl::Status status = goodbuy::core::ValidateWatch(watch);
    if (status.ok() && watch.after_sequence() < 0) __builtin_trap();
  }
  v1::GetUsageRequest usage;
  if (usage.ParseFromString(bytes)) {
    (void)goodbuy::core::ValidateGetUsage(usage);
  }
  (void)goodbuy::core::ValidateSessionId(bytes);
  (void)goodbuy::core::DecodePageToken(bytes, goodbuy::store::SessionFilter());
  return 0;
}
