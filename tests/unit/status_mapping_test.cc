#include "server/rpc/status_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/common/errors.h"

namespace goodbuy::rpc {
namespace {

TEST(StatusMappingTest, OkMapsToOk) {
  grpc::Status status = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OK);
  EXPECT_TRUE(status.error_details().empty());
}

TEST(StatusMappingTest, EveryCanonicalCodeIsPreserved) {
  for (int code = 1; code <= 16; ++code) {
    SCOPED_TRACE(code);
    const absl::Status in(static_cast<absl::StatusCode>(code), "boom");
    grpc::Status out = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(out.error_code()), code);
    EXPECT_EQ(out.error_message(), "boom");
    google::rpc::Status details;
    ASSERT_TRUE(details.ParseFromString(out.error_details()));
    EXPECT_EQ(details.code(), code);
    EXPECT_EQ(details.message(), "boom");
    EXPECT_EQ(details.details_size(), 0);
  }
}

TEST(StatusMappingTest, LongMessageIsTruncatedTo1024Bytes) {
  const std::string long_message(5000, 'x');
  grpc::Status out = ToGrpcStatus(absl::InternalError(long_message));
  EXPECT_EQ(out.error_message().size(), kMaxMessageBytes);
  EXPECT_EQ(kMaxMessageBytes, 1024u);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(out.error_details()));
  EXPECT_EQ(details.message().size(), kMaxMessageBytes);

  const std::string exact(kMaxMessageBytes, 'y');
  EXPECT_EQ(ToGrpcStatus(absl::InternalError(exact)).error_message(), exact);
}

TEST(StatusMappingTest, BadRequestDetailsArePacked) {
  FieldViolations violations;
  violations.Add("business_id", "is required");
  violations.Add("history.periods[2].month", "must be YYYY-MM");
  grpc::Status out = ToGrpcStatus(violations.ToStatus());
  EXPECT_EQ(out.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(out.error_details()));
  EXPECT_EQ(details.code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(details.message(), out.error_message());
  ASSERT_EQ(details.details_size(), 1);
  EXPECT_EQ(details.details(0).type_url(),
            "type.googleapis.com/google.rpc.BadRequest");
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 2);
  EXPECT_EQ(bad_request.field_violations(0).field(), "business_id");
  EXPECT_EQ(bad_request.field_violations(0).description(), "is required");
  EXPECT_EQ(bad_request.field_violations(1).field(),
            "history.periods[2].month");
}

TEST(StatusMappingTest, NotFoundFieldKeepsCodeAndDetails) {
  grpc::Status out = ToGrpcStatus(NotFoundField("business_id", "no such"));
  EXPECT_EQ(out.error_code(), grpc::StatusCode::NOT_FOUND);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(out.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad_request));
  EXPECT_EQ(bad_request.field_violations(0).field(), "business_id");
}

TEST(StatusMappingTest, PrefixFieldsPrefixesEveryPath) {
  FieldViolations violations;
  violations.Add("business_id", "bad");
  violations.Add("session_type", "bad");
  const absl::Status prefixed = PrefixFields(violations.ToStatus(), "session.");
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(GetBadRequest(prefixed, &bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 2);
  EXPECT_EQ(bad_request.field_violations(0).field(), "session.business_id");
  EXPECT_EQ(bad_request.field_violations(1).field(), "session.session_type");
  EXPECT_EQ(prefixed.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace goodbuy::rpc
