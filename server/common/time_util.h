// Conversions between absl::Time and google.protobuf.Timestamp.
#ifndef GOODBUY_SERVER_COMMON_TIME_UTIL_H_
#define GOODBUY_SERVER_COMMON_TIME_UTIL_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace goodbuy {

google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& ts);

}  // namespace goodbuy

#endif  // GOODBUY_SERVER_COMMON_TIME_UTIL_H_
