// Opaque ListSessions page tokens: a keyset cursor (create time, id) bound to
// the filter it was issued for, base64url-encoded. A token that does not
// decode, or that was issued for another filter, is INVALID_ARGUMENT.
#ifndef GOODBUY_SERVER_CORE_PAGE_TOKEN_H_
#define GOODBUY_SERVER_CORE_PAGE_TOKEN_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/store/session_store.h"

namespace goodbuy::core {

std::string EncodePageToken(const store::ListCursor& cursor,
                            const store::SessionFilter& filter);
// nullopt for an empty token (first page).
absl::StatusOr<std::optional<store::ListCursor>> DecodePageToken(
    const std::string& token, const store::SessionFilter& filter);

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_PAGE_TOKEN_H_
