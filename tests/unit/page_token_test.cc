#include "server/core/page_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/common/errors.h"

namespace goodbuy::core {
namespace {

namespace v1 = ::goodbuy::analysis::v1;
using ::testing::HasSubstr;

store::SessionFilter Filter() {
  store::SessionFilter f;
  f.status = v1::SESSION_STATUS_COMPLETED;
  f.session_type = v1::SESSION_TYPE_FORECAST;
  f.business_id = "biz_demo_cafe";
  f.user_id = "usr_demo_owner1";
  return f;
}

store::ListCursor Cursor() {
  return store::ListCursor{absl::FromUnixMicros(1700000000123456),
                           "6f1c2c8e-5f0b-4a8e-9d4b-0a1b2c3d4e5f"};
}

void ExpectInvalidPageToken(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(GetBadRequest(status, &bad_request)) << status;
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "page_token");
}

TEST(PageTokenTest, EmptyTokenIsTheFirstPage) {
  auto cursor = DecodePageToken("", Filter());
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_FALSE(cursor->has_value());
}

TEST(PageTokenTest, RoundTripKeepsTimeAndId) {
  const std::string token = EncodePageToken(Cursor(), Filter());
  EXPECT_FALSE(token.empty());
  // Opaque and URL-safe.
  EXPECT_EQ(token.find_first_of("+/=;| "), std::string::npos) << token;
  auto cursor = DecodePageToken(token, Filter());
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  ASSERT_TRUE(cursor->has_value());
  EXPECT_EQ((*cursor)->create_time, Cursor().create_time);
  EXPECT_EQ((*cursor)->session_id, Cursor().session_id);
}

TEST(PageTokenTest, RoundTripWithDefaultFilter) {
  const store::SessionFilter empty;
  auto cursor = DecodePageToken(EncodePageToken(Cursor(), empty), empty);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  ASSERT_TRUE(cursor->has_value());
  EXPECT_EQ((*cursor)->session_id, Cursor().session_id);
}

TEST(PageTokenTest, GarbageIsInvalidArgument) {
  for (const std::string& token :
       std::vector<std::string>{"not a token", "%%%", "AAAA", "cDE7eDt5O3o",
                                std::string(2000, 'A')}) {
    SCOPED_TRACE(token.substr(0, 40));
    ExpectInvalidPageToken(DecodePageToken(token, Filter()).status());
  }
}

TEST(PageTokenTest, TruncatedTokenIsInvalidArgument) {
  const std::string token = EncodePageToken(Cursor(), Filter());
  for (size_t keep : {token.size() / 4, token.size() / 2, token.size() - 3}) {
    SCOPED_TRACE(keep);
    ExpectInvalidPageToken(
        DecodePageToken(token.substr(0, keep), Filter()).status());
  }
}

TEST(PageTokenTest, TokenOfAnotherFilterIsInvalidArgument) {
  const std::string token = EncodePageToken(Cursor(), Filter());
  store::SessionFilter other = Filter();
  other.business_id = "biz_demo_retail";
  auto cursor = DecodePageToken(token, other);
  ExpectInvalidPageToken(cursor.status());
  EXPECT_THAT(std::string(cursor.status().message()), HasSubstr("filter"));

  store::SessionFilter other_status = Filter();
  other_status.status = v1::SESSION_STATUS_RUNNING;
  ExpectInvalidPageToken(DecodePageToken(token, other_status).status());
  store::SessionFilter other_type = Filter();
  other_type.session_type = v1::SESSION_TYPE_VALUATION;
  ExpectInvalidPageToken(DecodePageToken(token, other_type).status());
}

}  // namespace
}  // namespace goodbuy::core
