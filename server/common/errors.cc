#include "server/common/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace goodbuy {

void FieldViolations::Add(std::string field, std::string description) {
  violations_.emplace_back(std::move(field), std::move(description));
}

absl::Status FieldViolations::ToStatus(absl::StatusCode code) const {
  if (violations_.empty()) return absl::OkStatus();
  google::rpc::BadRequest bad_request;
  for (const auto& [field, description] : violations_) {
    auto* v = bad_request.add_field_violations();
    v->set_field(field);
    v->set_description(description);
  }
  std::string message =
      absl::StrCat(violations_.front().first, ": ", violations_.front().second);
  if (violations_.size() > 1) {
    absl::StrAppend(&message, " (and ", violations_.size() - 1,
                    " more invalid field", violations_.size() > 2 ? "s" : "",
                    ")");
  }
  absl::Status status(code, message);
  status.SetPayload(kBadRequestTypeUrl,
                    absl::Cord(bad_request.SerializeAsString()));
  return status;
}

absl::Status InvalidField(std::string field, std::string description) {
  FieldViolations violations;
  violations.Add(std::move(field), std::move(description));
  return violations.ToStatus();
}

absl::Status NotFoundField(std::string field, std::string description) {
  FieldViolations violations;
  violations.Add(std::move(field), std::move(description));
  return violations.ToStatus(absl::StatusCode::kNotFound);
}

bool GetBadRequest(const absl::Status& status, google::rpc::BadRequest* out) {
  auto payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload.has_value()) return false;
  return out->ParseFromString(std::string(*payload));
}

absl::Status PrefixFields(const absl::Status& status,
                          absl::string_view prefix) {
  google::rpc::BadRequest bad_request;
  if (!GetBadRequest(status, &bad_request)) return status;
  absl::Status out(status.code(), absl::StrCat(prefix, status.message()));
  for (auto& v : *bad_request.mutable_field_violations()) {
    v.set_field(absl::StrCat(prefix, v.field()));
  }
  out.SetPayload(kBadRequestTypeUrl,
                 absl::Cord(bad_request.SerializeAsString()));
  return out;
}

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status out;
  out.set_code(static_cast<int32_t>(status.code()));
  out.set_message(std::string(status.message()));
  google::rpc::BadRequest bad_request;
  if (GetBadRequest(status, &bad_request)) {
    out.add_details()->PackFrom(bad_request);
  }
  return out;
}

}  // namespace goodbuy
