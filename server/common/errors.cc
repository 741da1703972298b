#include "server/common/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
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

absl::Status WithDetail(absl::Status status,
                        const google::protobuf::Message& detail) {
  status.SetPayload(
      absl::StrCat("type.googleapis.com/", detail.GetDescriptor()->full_name()),
      absl::Cord(detail.SerializeAsString()));
  return status;
}

google::rpc::ErrorInfo MakeErrorInfo(
    std::string reason,
    std::vector<std::pair<std::string, std::string>> metadata) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::move(reason));
  info.set_domain(std::string(kErrorDomain));
  for (auto& [key, value] : metadata) {
    (*info.mutable_metadata())[key] = std::move(value);
  }
  return info;
}

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status out;
  out.set_code(static_cast<int32_t>(status.code()));
  out.set_message(std::string(status.message()));
  // Only google.rpc details: other payloads are internal annotations.
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& value) {
    if (!absl::StartsWith(url, "type.googleapis.com/google.rpc.")) return;
    auto* detail = out.add_details();
    detail->set_type_url(std::string(url));
    detail->set_value(std::string(value));
  });
  return out;
}

}  // namespace goodbuy
