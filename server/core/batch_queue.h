// Group commit: items pushed from any thread are handed to one handler call
// per batch, in arrival order. At most one batch is handled at a time; the
// items that arrive meanwhile wait for it and form the next batch. A quiet
// server therefore handles each item at once, alone, and a busy one pays
// each database statement once per batch instead of once per item, with no
// timer and no added wait.
//
// `post` runs a task on the pool the handler runs on (false when it is full
// or stopping); each batch is a task of its own, so batches queue behind
// other work instead of holding a thread. When a post fails, every item
// queued is given to `reject` on the pushing thread. Thread-safe.
#ifndef GOODBUY_SERVER_CORE_BATCH_QUEUE_H_
#define GOODBUY_SERVER_CORE_BATCH_QUEUE_H_

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace goodbuy::core {

template <typename Item>
class BatchQueue {
 public:
  using Batch = std::vector<Item>;
  BatchQueue(size_t max_batch, std::function<bool(std::function<void()>)> post,
             std::function<void(Batch)> handle,
             std::function<void(Batch)> reject)
      : max_batch_(max_batch),
        post_(std::move(post)),
        handle_(std::move(handle)),
        reject_(std::move(reject)) {}
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  void Push(Item item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(item));
      if (scheduled_) return;  // the batch in flight schedules the next
      scheduled_ = true;
    }
    Schedule();
  }

 private:
  // Posts the next batch; called with scheduled_ set.
  void Schedule() {
    if (post_([this] { HandleNext(); })) return;
    Batch rejected;
    {
      std::lock_guard<std::mutex> lock(mu_);
      rejected.assign(std::make_move_iterator(queue_.begin()),
                      std::make_move_iterator(queue_.end()));
      queue_.clear();
      scheduled_ = false;
    }
    if (!rejected.empty()) reject_(std::move(rejected));
  }

  void HandleNext() {
    Batch batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const size_t n = std::min(queue_.size(), max_batch_);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
    }
    if (!batch.empty()) handle_(std::move(batch));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) {
        scheduled_ = false;
        return;
      }
    }
    Schedule();
  }

  const size_t max_batch_;
  const std::function<bool(std::function<void()>)> post_;
  const std::function<void(Batch)> handle_;
  const std::function<void(Batch)> reject_;
  std::mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  // A batch is posted or being handled.
  bool scheduled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_BATCH_QUEUE_H_
