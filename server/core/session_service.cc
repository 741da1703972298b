#include "server/core/session_service.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/time_util.h"
#include "server/core/core_metrics.h"
#include "server/core/page_token.h"
#include "server/core/request_validation.h"
#include "server/logging/log_context.h"
#include "server/store/request_deadline.h"
#include "server/store/session_names.h"
#include "spdlog/spdlog.h"

namespace goodbuy::core {
namespace {

// Creates written by one group commit at most.
constexpr size_t kMaxCreateBatch = 64;

absl::Status Overloaded() {
  return absl::UnavailableError(
      "the server is overloaded or shutting down; retry shortly");
}

v1::SessionEvent EventTemplate(const std::string& session_id,
                               v1::SessionStatus status, int progress,
                               std::string stage) {
  v1::SessionEvent event;
  event.set_session_id(session_id);
  event.set_status(status);
  event.set_progress_percentage(progress);
  event.set_stage(std::move(stage));
  *event.mutable_event_time() = ToProtoTime(absl::Now());
  return event;
}

absl::Status SessionNotFound(const std::string& session_id) {
  return absl::NotFoundError(
      absl::StrCat("session '", session_id, "' does not exist"));
}

// A user_id in a request may name only the caller, unless the caller acts
// for other users (service, admin).
absl::Status CheckUserField(const Caller& caller, const std::string& user_id) {
  if (user_id.empty() || caller.SeesAllTenants() || user_id == caller.subject) {
    return absl::OkStatus();
  }
  FieldViolations violations;
  violations.Add("user_id",
                 "may only be your own user id (or empty) for a user token");
  return violations.ToStatus(absl::StatusCode::kPermissionDenied);
}

}  // namespace

SessionService::SessionService(ServiceOptions options,
                               store::SessionStore* sessions,
                               store::BusinessStore* businesses,
                               ThreadPool* db_pool)
    : options_(std::move(options)),
      sessions_(sessions),
      businesses_(businesses),
      db_pool_(db_pool),
      broker_(options_.broker),
      runner_(options_.job, sessions, businesses, &broker_),
      jobs_("job", std::max(options_.job_threads, 1),
            static_cast<size_t>(std::max(options_.job_threads, 1)) * 4),
      follower_(
          options_.follower, &broker_, sessions,
          [this](const std::string& id) { return runner_.Has(id); },
          [this](std::function<void()> task) {
            return OnDb(store::TenantScope::System(), std::move(task));
          },
          &timer_),
      creates_(
          kMaxCreateBatch,
          [this](std::function<void()> task) {
            return !stopping_.load() && db_pool_->Post(std::move(task));
          },
          [this](std::vector<PendingCreate> batch) {
            CreateBatch(std::move(batch));
          },
          [](std::vector<PendingCreate> batch) {
            for (auto& create : batch) create.done(Overloaded());
          }) {}

SessionService::~SessionService() { Shutdown(absl::ZeroDuration()); }

void SessionService::UseNotifications(
    store::EventNotifications* notifications) {
  notifications_ = notifications;
  follower_.UseNotifications(notifications);
  notifications_->Start([this](const std::string& session_id) {
    follower_.OnNotified(session_id);
  });
}

void SessionService::Start() {
  timer_.RunAfter(options_.claim_interval, [this] { ClaimLoop(); });
  timer_.RunAfter(options_.heartbeat_interval, [this] { HeartbeatLoop(); });
  timer_.RunAfter(options_.reap_interval, [this] { ReapLoop(); });
  follower_.Start();
  if (options_.queue_sample_interval > absl::ZeroDuration()) {
    timer_.RunAfter(absl::ZeroDuration(), [this] { QueueSampleLoop(); });
  }
  if (options_.event_retention > absl::ZeroDuration()) {
    timer_.RunAfter(options_.prune_interval, [this] { PruneLoop(); });
  }
}

void SessionService::Shutdown(absl::Duration grace) {
  if (stopping_.exchange(true)) return;
  store::ScopedTenant system(store::TenantScope::System());
  if (notifications_ != nullptr) notifications_->Stop();
  const absl::Time deadline = absl::Now() + grace;
  while (runner_.Running() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  runner_.ReleaseAll();
  jobs_.Shutdown();
  timer_.Shutdown();
}

bool SessionService::OnDb(store::TenantScope scope,
                          std::function<void()> task) {
  if (stopping_.load()) return false;
  // The caller's log context (its trace id) follows the work.
  return db_pool_->Post([scope = std::move(scope), task = std::move(task),
                         log = logging::CurrentLogContext()]() mutable {
    store::ScopedTenant tenant(std::move(scope));
    logging::ScopedLogContext context(log.session_id, log.attempt,
                                      log.trace_id);
    task();
  });
}

bool SessionService::MaySee(const Caller& caller, const std::string& user_id,
                            const std::string& owner_id) {
  return caller.SeesAllTenants() ||
         (!caller.subject.empty() &&
          (user_id == caller.subject || owner_id == caller.subject));
}

absl::StatusOr<v1::Session> SessionService::VisibleSession(
    const Caller& caller, const std::string& session_id) {
  auto session = sessions_->GetSession(session_id);
  if (!session.ok() || caller.SeesAllTenants() ||
      session->user_id() == caller.subject) {
    return session;
  }
  // Not billed to the caller: visible only if the caller owns the business.
  auto business = businesses_->GetBusiness(session->business_id());
  if (business.ok() && MaySee(caller, session->user_id(), business->owner_id)) {
    return session;
  }
  if (!business.ok() &&
      business.status().code() != absl::StatusCode::kNotFound) {
    return business.status();
  }
  return SessionNotFound(session_id);
}

bool SessionService::HasCapacity(int claiming) const {
  return !stopping_.load() &&
         active_jobs_.load() + claiming < options_.job_threads;
}

void SessionService::Create(const Caller& caller,
                            const v1::CreateSessionRequest& request,
                            Callback<v1::Session> done, CallOptions call) {
  if (auto status = ValidateCreate(request); !status.ok()) {
    done(status);
    return;
  }
  if (auto status = CheckUserField(caller, request.user_id()); !status.ok()) {
    done(status);
    return;
  }
  PendingCreate create{caller, request, std::move(done), call.deadline};
  if (caller.SeesAllTenants()) {
    creates_.Push(std::move(create));
    return;
  }
  auto alone = std::make_shared<PendingCreate>(std::move(create));
  if (!OnDb(store::TenantScope::For(caller),
            [this, alone] { CreateBatch({std::move(*alone)}); })) {
    alone->done(Overloaded());
  }
}

void SessionService::CreateBatch(std::vector<PendingCreate> batch) {
  // Callers that see every tenant share a scope's rows (see
  // TenantScope::SeesSameRowsAs); a user's batch is theirs alone.
  store::ScopedTenant tenant(store::TenantScope::For(batch.front().caller));
  // The latest deadline: one call's short deadline must not cancel its
  // neighbours' statements (a call past its deadline has its answer).
  absl::Time deadline = absl::InfinitePast();
  for (const auto& create : batch)
    deadline = std::max(deadline, create.deadline);
  bool inserted = false;
  std::vector<absl::StatusOr<v1::Session>> sessions;
  {
    store::ScopedRequestDeadline scoped(deadline);
    sessions = CreateOnDb(batch, &inserted);
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(std::move(sessions[i]));
  }
  if (inserted) {
    store::ScopedTenant system(store::TenantScope::System());
    ClaimBatch();
  }
}

std::vector<absl::StatusOr<v1::Session>> SessionService::CreateOnDb(
    const std::vector<PendingCreate>& batch, bool* inserted) {
  std::vector<std::string> ids;
  for (const auto& create : batch) {
    if (std::find(ids.begin(), ids.end(), create.request.business_id()) ==
        ids.end()) {
      ids.push_back(create.request.business_id());
    }
  }
  auto businesses = businesses_->GetBusinesses(ids);
  if (!businesses.ok()) {
    return std::vector<absl::StatusOr<v1::Session>>(batch.size(),
                                                    businesses.status());
  }
  auto find_business =
      [&](const std::string& id) -> const store::BusinessInfo* {
    for (const auto& business : *businesses) {
      if (business.id == id) return &business;
    }
    return nullptr;
  };

  std::vector<absl::StatusOr<v1::Session>> out(
      batch.size(), absl::InternalError("create session: not attempted"));
  std::vector<store::NewSession> writes;
  std::vector<size_t> written;  // index in `batch` of each write
  for (size_t i = 0; i < batch.size(); ++i) {
    auto session = NewSessionFor(batch[i].caller, batch[i].request,
                                 find_business(batch[i].request.business_id()));
    if (!session.ok()) {
      out[i] = session.status();
      continue;
    }
    writes.push_back(*std::move(session));
    written.push_back(i);
  }
  auto created = sessions_->CreateSessions(writes);
  for (size_t k = 0; k < written.size(); ++k) {
    auto& result = created[k];
    if (!result.ok()) {
      out[written[k]] = result.status();
      continue;
    }
    if (result->inserted) {
      *inserted = true;
      CoreMetrics::Get()
          .sessions_created
          .With({store::SessionTypeName(writes[k].session_type)})
          .Inc();
      // Its whole history is the event just written: the channel opens
      // here without reading it back, for watchers that follow the answer
      // and for the claim a moment later.
      v1::SessionEvent event = writes[k].created_event;
      event.set_session_id(result->session.session_id());
      broker_.Open(event.session_id(), {event},
                   find_business(writes[k].business_id)->owner_id);
    }
    out[written[k]] = std::move(result->session);
  }
  return out;
}

absl::StatusOr<store::NewSession> SessionService::NewSessionFor(
    const Caller& caller, const v1::CreateSessionRequest& request,
    const store::BusinessInfo* business) {
  // Another tenant's business is answered exactly like a missing one.
  if (business == nullptr ||
      (caller.IsUser() && business->owner_id != caller.subject)) {
    return NotFoundField(
        "business_id",
        absl::StrCat("business '", request.business_id(), "' does not exist"));
  }

  std::string user_id = request.user_id();
  if (user_id.empty()) {
    user_id = business->owner_id;
  } else if (user_id != business->owner_id) {
    auto exists = businesses_->UserExists(user_id);
    if (!exists.ok()) return exists.status();
    if (!*exists) {
      return NotFoundField("user_id",
                           absl::StrCat("user '", user_id, "' does not exist"));
    }
  }

  const bool has_inline = request.history().periods_size() > 0;
  const int needed = MinimumMonths(request.session_type());
  if (!has_inline && business->stored_months < needed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "business '", request.business_id(), "' has ", business->stored_months,
        " months of stored financial history; this ",
        "analysis needs at least ", needed,
        " (send the history inline or load the business's monthly periods)"));
  }

  store::NewSession session;
  session.request_id = request.request_id();
  session.user_id = user_id;
  session.business_id = request.business_id();
  session.session_type = request.session_type();
  session.options = request.options();
  if (has_inline) session.inline_history = request.history();
  session.created_event =
      EventTemplate("", v1::SESSION_STATUS_PENDING, 0, "queued");
  session.created_event.set_sequence(1);
  session.enforce_plan = true;
  return session;
}

int SessionService::ReserveSlots() {
  int claiming = claiming_.load();
  int room = 0;
  do {
    room = options_.job_threads - active_jobs_.load() - claiming;
    if (stopping_.load() || room <= 0) return 0;
  } while (!claiming_.compare_exchange_weak(claiming, claiming + room));
  return room;
}

void SessionService::ClaimBatch() {
  const int room = ReserveSlots();
  if (room == 0) return;  // the claim loop comes back
  const absl::Time start = absl::Now();
  auto claimed = sessions_->ClaimPending(
      options_.replica_id, room, options_.max_running_per_user, options_.lease,
      EventTemplate("", v1::SESSION_STATUS_RUNNING, 0, "started"));
  CoreMetrics& m = CoreMetrics::Get();
  m.claim_duration.Observe(absl::Now() - start);
  if (!claimed.ok()) {
    claiming_ -= room;
    spdlog::warn("claiming pending sessions failed: {}",
                 claimed.status().ToString());
    return;
  }
  claiming_ -= room - static_cast<int>(claimed->size());
  m.sessions_claimed.Inc(static_cast<double>(claimed->size()));
  for (auto& session : *claimed) StartJob(std::move(session));
}

// Runs on the DB pool with one reserved job slot, which it gives back.
void SessionService::StartJob(store::ClaimedSession claimed) {
  const std::string session_id = claimed.session.session_id();
  // The channel must hold the whole history before the claim event. One
  // opened here at create (or by a watcher) usually does; a session created
  // elsewhere, before a restart, or run here before gets it from the table.
  const int64_t have = broker_.LastSequence(session_id);
  if (have < 0 || have != claimed.claim_event.sequence() - 1) {
    if (auto history = sessions_->ListEvents(session_id, have < 0 ? 0 : have);
        history.ok()) {
      if (have < 0) {
        broker_.Open(session_id, *history);
      } else {
        for (const auto& event : *history) broker_.Publish(event);
      }
    }
  }
  broker_.Publish(claimed.claim_event);
  auto job = std::make_shared<store::ClaimedSession>(std::move(claimed));
  ++active_jobs_;
  const bool posted = jobs_.Post([this, job] {
    // Jobs write for the system: their sessions were authorised at create.
    store::ScopedTenant system(store::TenantScope::System());
    runner_.Run(*job);
    --active_jobs_;
    // The slot is free: take the next pending session now rather than at
    // the next claim tick, so a busy replica never idles between jobs.
    if (HasCapacity(claiming_.load()))
      OnDb(store::TenantScope::System(), [this] { ClaimBatch(); });
  });
  if (!posted) --active_jobs_;
  --claiming_;
  if (!posted) {
    auto status = sessions_->ReleaseSession(session_id, job->attempt);
    spdlog::warn("session {} could not start here ({}); released", session_id,
                 status.ok() ? "ok" : status.ToString());
  }
}

void SessionService::ClaimLoop() {
  if (stopping_.load()) return;
  broker_.Sweep(absl::Now(),
                [this](const std::string& id) { return runner_.Has(id); });
  if (HasCapacity(claiming_.load()))
    OnDb(store::TenantScope::System(), [this] { ClaimBatch(); });
  timer_.RunAfter(options_.claim_interval, [this] { ClaimLoop(); });
}

// One statement renews every lease this replica holds; a job whose lease is
// gone (reaped after a stall, or finished elsewhere) stops without writing.
void SessionService::HeartbeatLoop() {
  if (stopping_.load()) return;
  OnDb(store::TenantScope::System(), [this] {
    const auto held = runner_.Leases();
    if (held.empty()) return;
    auto lost = sessions_->Heartbeat(options_.replica_id, held, options_.lease);
    if (!lost.ok()) {
      spdlog::warn("renewing {} leases failed: {}", held.size(),
                   lost.status().ToString());
      return;
    }
    for (const auto& id : *lost) {
      spdlog::warn("session {}: lease lost; its job stops here", id);
      runner_.LoseLease(id);
    }
  });
  timer_.RunAfter(options_.heartbeat_interval, [this] { HeartbeatLoop(); });
}

// Any replica may reap: SKIP LOCKED and the attempt compare-and-set keep two
// reapers from touching one session.
void SessionService::ReapLoop() {
  if (stopping_.load()) return;
  OnDb(store::TenantScope::System(), [this] {
    store::SessionStore::ReapPolicy policy;
    policy.max_attempts = options_.job.max_attempts;
    policy.backoff_base = options_.job.retry_backoff_base;
    policy.backoff_cap = options_.job.retry_backoff_cap;
    auto events = sessions_->ReapExpired(policy);
    if (!events.ok()) {
      spdlog::warn("reaping expired leases failed: {}",
                   events.status().ToString());
      return;
    }
    for (const auto& event : *events) {
      spdlog::warn("session {}: its worker's lease expired; now {}",
                   event.session_id(),
                   store::SessionStatusName(event.status()));
      CoreMetrics::Get()
          .lease_expiries
          .With({event.status() == v1::SESSION_STATUS_PENDING
                     ? "requeued"
                     : store::SessionStatusName(event.status())})
          .Inc();
    }
  });
  timer_.RunAfter(options_.reap_interval, [this] { ReapLoop(); });
}

void SessionService::QueueSampleLoop() {
  if (stopping_.load()) return;
  OnDb(store::TenantScope::System(), [this] {
    auto stats = sessions_->ReadQueueStats();
    if (!stats.ok()) return;  // the gauges keep their last reading
    CoreMetrics& m = CoreMetrics::Get();
    m.queue_pending.Set(static_cast<double>(stats->pending));
    m.queue_oldest_age.Set(absl::ToDoubleSeconds(stats->oldest_pending_age));
  });
  timer_.RunAfter(options_.queue_sample_interval,
                  [this] { QueueSampleLoop(); });
}

// Deletes old events in small batches, so no statement holds many locks.
void SessionService::PruneLoop() {
  if (stopping_.load()) return;
  OnDb(store::TenantScope::System(), [this] {
    constexpr int kBatch = 5000;
    int64_t total = 0;
    for (int i = 0; i < 100 && !stopping_.load(); ++i) {
      auto deleted = sessions_->PruneEvents(options_.event_retention, kBatch);
      if (!deleted.ok()) {
        spdlog::warn("pruning old session events failed: {}",
                     deleted.status().ToString());
        break;
      }
      total += *deleted;
      if (*deleted < kBatch) break;
    }
    if (total > 0) spdlog::info("pruned {} old session events", total);
  });
  timer_.RunAfter(options_.prune_interval, [this] { PruneLoop(); });
}

void SessionService::Get(const Caller& caller,
                         const v1::GetSessionRequest& request,
                         Callback<v1::Session> done, CallOptions call) {
  if (auto status = ValidateSessionId(request.session_id()); !status.ok()) {
    done(status);
    return;
  }
  if (!OnDb(store::TenantScope::For(caller),
            [this, caller, id = request.session_id(), done, call] {
              store::ScopedRequestDeadline deadline(call.deadline);
              done(VisibleSession(caller, id));
            })) {
    done(Overloaded());
  }
}

void SessionService::List(const Caller& caller,
                          const v1::ListSessionsRequest& request,
                          Callback<v1::ListSessionsResponse> done,
                          CallOptions call) {
  if (auto status = ValidateList(request); !status.ok()) {
    done(status);
    return;
  }
  if (auto status = CheckUserField(caller, request.user_id()); !status.ok()) {
    done(status);
    return;
  }
  store::SessionFilter filter;
  filter.status = request.status();
  filter.session_type = request.session_type();
  filter.business_id = request.business_id();
  filter.user_id = request.user_id();
  // A user lists the sessions of their own businesses (and, with user_id,
  // those billed to them); row-level security holds the same line.
  if (caller.IsUser() && filter.user_id.empty()) {
    filter.owner_id = caller.subject;
  }
  auto cursor = DecodePageToken(request.page_token(), filter);
  if (!cursor.ok()) {
    done(cursor.status());
    return;
  }
  const int page_size = request.page_size() == 0
                            ? kDefaultPageSize
                            : std::min(request.page_size(), kMaxPageSize);
  if (!OnDb(store::TenantScope::For(caller), [this, filter, page_size,
                                              after = *cursor, done, call] {
        store::ScopedRequestDeadline deadline(call.deadline);
        auto page = sessions_->ListSessions(filter, page_size, after);
        if (!page.ok()) {
          done(page.status());
          return;
        }
        v1::ListSessionsResponse response;
        for (auto& s : page->sessions) *response.add_sessions() = std::move(s);
        if (page->next.has_value()) {
          response.set_next_page_token(EncodePageToken(*page->next, filter));
        }
        done(std::move(response));
      })) {
    done(Overloaded());
  }
}

void SessionService::Cancel(const Caller& caller,
                            const v1::CancelSessionRequest& request,
                            Callback<v1::Session> done, CallOptions call) {
  if (auto status = ValidateSessionId(request.session_id()); !status.ok()) {
    done(status);
    return;
  }
  if (request.reason().size() > 1024) {
    done(InvalidField("reason", "must be at most 1024 characters"));
    return;
  }
  auto posted = OnDb(store::TenantScope::For(caller), [this, caller, request,
                                                       done, call] {
    store::ScopedRequestDeadline deadline(call.deadline);
    const std::string& id = request.session_id();
    // A user may cancel only what they may see (row-level security would
    // hide the row from the cancel too; this answers the same NOT_FOUND).
    if (!caller.SeesAllTenants()) {
      if (auto visible = VisibleSession(caller, id); !visible.ok()) {
        done(visible.status());
        return;
      }
    }
    v1::SessionEvent event = EventTemplate(
        id, v1::SESSION_STATUS_CANCELLED, 0,
        std::string(store::SessionStatusName(v1::SESSION_STATUS_CANCELLED)));
    const std::string reason =
        request.reason().empty() ? "cancelled by request" : request.reason();
    *event.mutable_error() = ToRpcStatus(absl::CancelledError(reason));
    auto outcome = sessions_->RequestCancel(id, reason, event);
    if (!outcome.ok()) {
      done(outcome.status());
      return;
    }
    if (outcome->cancelled_event.has_value()) {
      broker_.Publish(*outcome->cancelled_event);
      CoreMetrics::Get().Finished(outcome->session.session_type(),
                                  v1::SESSION_STATUS_CANCELLED);
    } else {
      runner_.Cancel(id);
    }
    done(std::move(outcome->session));
  });
  if (!posted) done(Overloaded());
}

void SessionService::GetUsage(const Caller& caller,
                              const v1::GetUsageRequest& request,
                              Callback<v1::Usage> done, CallOptions call) {
  if (auto status = ValidateGetUsage(request); !status.ok()) {
    done(status);
    return;
  }
  if (auto status = CheckUserField(caller, request.user_id()); !status.ok()) {
    done(status);
    return;
  }
  const std::string user_id = request.user_id().empty() && caller.IsUser()
                                  ? caller.subject
                                  : request.user_id();
  if (user_id.empty()) {
    done(InvalidField("user_id", "is required for service and admin callers"));
    return;
  }
  if (!OnDb(store::TenantScope::For(caller), [this, user_id, done, call] {
        store::ScopedRequestDeadline deadline(call.deadline);
        auto usage = sessions_->GetPlanUsage(user_id);
        if (!usage.ok()) {
          done(usage.status());
          return;
        }
        v1::Usage out;
        out.set_user_id(usage->user_id);
        out.set_plan_name(usage->plan_name);
        *out.mutable_period_start() = ToProtoTime(usage->period_start);
        *out.mutable_period_end() = ToProtoTime(usage->period_end);
        out.set_analyses_used(usage->analyses_used);
        out.set_analyses_metered(usage->analyses_metered);
        out.set_unlimited(!usage->limit.has_value());
        out.set_analyses_limit(usage->limit.value_or(0));
        for (const auto& type : usage->session_types) {
          out.add_session_types(type);
        }
        done(std::move(out));
      })) {
    done(Overloaded());
  }
}

void SessionService::Watch(const Caller& caller,
                           const v1::WatchSessionRequest& request,
                           std::shared_ptr<EventSink> sink) {
  if (auto status = ValidateWatch(request); !status.ok()) {
    sink->OnEnd(status);
    return;
  }
  // In memory when the channel knows its owner and the caller owns the
  // business or sees every tenant; otherwise the database decides.
  const auto owner = broker_.Owner(request.session_id());
  const bool allowed_here = caller.SeesAllTenants() ||
                            (owner.has_value() && *owner == caller.subject);
  if (allowed_here &&
      broker_.Subscribe(request.session_id(), request.after_sequence(), sink)) {
    return;
  }
  if (!OnDb(store::TenantScope::For(caller),
            [this, caller, id = request.session_id(),
             after = request.after_sequence(),
             sink] { OpenFromDb(caller, id, after, sink); })) {
    sink->OnEnd(Overloaded());
  }
}

void SessionService::Unwatch(const std::string& session_id,
                             const EventSink* sink) {
  broker_.Unsubscribe(session_id, sink);
}

// Runs on the DB pool. The channel it opens is fed by the follower until a
// job here claims the session (then the job publishes), or until it ends.
void SessionService::OpenFromDb(const Caller& caller,
                                const std::string& session_id, int64_t after,
                                const std::shared_ptr<EventSink>& sink) {
  if (sink->Closed()) return;
  auto session = VisibleSession(caller, session_id);
  if (!session.ok()) {
    sink->OnEnd(session.status());
    return;
  }
  auto history = sessions_->ListEvents(session_id, 0);
  if (!history.ok()) {
    sink->OnEnd(history.status());
    return;
  }
  broker_.Open(session_id, *history);
  if (!broker_.Subscribe(session_id, after, sink)) {
    sink->OnEnd(Overloaded());  // swept in the meantime: the client retries
  }
}

}  // namespace goodbuy::core
