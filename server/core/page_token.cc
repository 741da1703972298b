#include "server/core/page_token.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/errors.h"

namespace goodbuy::core {
namespace {

constexpr char kVersion[] = "p1";

std::string FilterFingerprint(const store::SessionFilter& filter) {
  // Stable across processes and replicas (absl::Hash is not): a plain join.
  return absl::WebSafeBase64Escape(absl::StrCat(
      static_cast<int>(filter.status), "|",
      static_cast<int>(filter.session_type), "|", filter.business_id, "|",
      filter.user_id, "|", filter.owner_id));
}

}  // namespace

std::string EncodePageToken(const store::ListCursor& cursor,
                            const store::SessionFilter& filter) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kVersion, ";", absl::ToUnixMicros(cursor.create_time), ";",
                   cursor.session_id, ";", FilterFingerprint(filter)));
}

absl::StatusOr<std::optional<store::ListCursor>> DecodePageToken(
    const std::string& token, const store::SessionFilter& filter) {
  if (token.empty()) return std::optional<store::ListCursor>();
  const absl::Status invalid =
      InvalidField("page_token", "not a page token returned by ListSessions");
  std::string raw;
  if (token.size() > 1024 || !absl::WebSafeBase64Unescape(token, &raw)) {
    return invalid;
  }
  std::vector<std::string> parts = absl::StrSplit(raw, ';');
  int64_t micros = 0;
  if (parts.size() != 4 || parts[0] != kVersion ||
      !absl::SimpleAtoi(parts[1], &micros) || parts[2].empty()) {
    return invalid;
  }
  if (parts[3] != FilterFingerprint(filter)) {
    return InvalidField("page_token",
                        "the page token was issued for a different filter");
  }
  return std::optional<store::ListCursor>(
      store::ListCursor{absl::FromUnixMicros(micros), parts[2]});
}

}  // namespace goodbuy::core
