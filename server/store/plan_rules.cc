#include "server/store/plan_rules.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/store/session_names.h"

namespace goodbuy::store {

absl::Status ParsePlanFeatures(const std::string& features_json,
                               PlanUsage* usage) {
  google::protobuf::Struct features;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(features_json, &features,
                                                   options)
           .ok()) {
    usage->analyses_enabled = false;
    return absl::DataLossError(absl::StrCat(
        "the ", usage->plan_name, " plan's features are not valid JSON"));
  }
  const auto& fields = features.fields();
  if (auto it = fields.find("ai_analysis");
      it != fields.end() && it->second.has_bool_value()) {
    usage->analyses_enabled = it->second.bool_value();
  }
  usage->session_types.clear();
  if (auto it = fields.find("session_types");
      it != fields.end() && it->second.has_list_value()) {
    for (const auto& value : it->second.list_value().values()) {
      if (value.has_string_value()) {
        usage->session_types.push_back(value.string_value());
      }
    }
    if (usage->session_types.empty()) usage->analyses_enabled = false;
  }
  return absl::OkStatus();
}

absl::Status CheckPlanAllows(const PlanUsage& usage,
                             v1::SessionType session_type) {
  const std::string type(SessionTypeName(session_type));
  const auto& types = usage.session_types;
  if (!usage.analyses_enabled ||
      (!types.empty() &&
       std::find(types.begin(), types.end(), type) == types.end())) {
    return WithDetail(
        absl::PermissionDeniedError(
            absl::StrCat("the ", usage.plan_name, " plan does not include ",
                         type, " analyses; a plan that does is needed")),
        MakeErrorInfo("PLAN_FEATURE_MISSING",
                      {{"plan", usage.plan_name}, {"session_type", type}}));
  }
  if (usage.limit.has_value() && usage.analyses_used >= *usage.limit) {
    const std::string period_end = absl::FormatTime(
        "%Y-%m-%dT%H:%M:%SZ", usage.period_end, absl::UTCTimeZone());
    const std::string what =
        absl::StrCat("the ", usage.plan_name, " plan allows ", *usage.limit,
                     " analyses per billing period and ", usage.analyses_used,
                     " have been used; the period ends ", period_end);
    google::rpc::QuotaFailure quota;
    auto* violation = quota.add_violations();
    violation->set_subject(absl::StrCat("user:", usage.user_id));
    violation->set_description(what);
    return WithDetail(WithDetail(absl::ResourceExhaustedError(what), quota),
                      MakeErrorInfo("ANALYSIS_LIMIT_REACHED",
                                    {{"plan", usage.plan_name},
                                     {"limit", absl::StrCat(*usage.limit)},
                                     {"period_end", period_end}}));
  }
  return absl::OkStatus();
}

}  // namespace goodbuy::store
