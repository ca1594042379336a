// A response body that is costly to compute and asked for often (GET
// /api/v1/status counts the store's tables and reads each detector's recent
// health), kept for a short time. Internal to src/osprey/api/; includes JSON.
//
// A kept body is reused while it is younger than `ttl` on the server's
// injected clock and its key (the registry's detector set) is the one it was
// computed for. A write request through this server drops it at once
// (Invalidate), so what the API changed shows on the next request; what the
// scheduler or another process writes shows within `ttl`. A body computed
// while a write ran is not kept. Thread-safe; one computation at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "osprey/base/clock.h"
#include "osprey/base/status.h"

namespace osprey::api::internal {

class ReplyCache {
 public:
  ReplyCache(const Clock& clock, std::chrono::seconds ttl) : clock_(clock), ttl_(ttl) {}

  // The kept body for `key` if fresh, else compute()'s (an error is returned,
  // not kept).
  Result<nlohmann::json> Get(const std::shared_ptr<const void>& key,
                             const std::function<Result<nlohmann::json>()>& compute) {
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Fresh(key)) return *value_;
    }
    std::lock_guard<std::mutex> one(compute_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Fresh(key)) return *value_;  // computed while this request waited
      generation = generation_;
    }
    const Instant at = clock_.Now();
    OSPREY_ASSIGN_OR_RETURN(nlohmann::json value, compute());
    std::lock_guard<std::mutex> lock(mu_);
    if (generation == generation_) {
      value_ = value;
      key_ = key;
      at_ = at;
    }
    return value;
  }

  // Drops the kept body, and any being computed now.
  void Invalidate() {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    value_.reset();
  }

 private:
  bool Fresh(const std::shared_ptr<const void>& key) const {  // mu_ held
    return value_ && key_ == key && clock_.Now() - at_ < ttl_;
  }

  const Clock& clock_;
  const std::chrono::seconds ttl_;
  std::mutex compute_mu_;  // held while computing
  std::mutex mu_;
  std::optional<nlohmann::json> value_;  // guarded by mu_
  std::shared_ptr<const void> key_;      // guarded by mu_; kept alive so its address is not reused
  Instant at_;                           // guarded by mu_
  uint64_t generation_ = 0;              // guarded by mu_
};

}  // namespace osprey::api::internal
