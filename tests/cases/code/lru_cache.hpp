#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace cache {

constexpr std::size_t kDefaultCapacity = 128;

struct Stats {
    std::size_t hits = 0;
    std::size_t misses = 0;
    std::size_t evictions = 0;

    double hit_rate() const {
        const auto total = hits + misses;
        if (total == 0) {
            return 0.0;
        }
        return static_cast<double>(hits) / static_cast<double>(total);
    }
};

// A least-recently-used cache with O(1) get and put.
//
// Entries live in a list ordered from most to least recently used; the map points
// into the list so a hit can move its entry to the front without a search.
template <typename Key, typename Value, typename Hash = std::hash<Key>>
class LruCache {
public:
    using OnEvict = std::function<void(const Key&, const Value&)>;

    explicit LruCache(std::size_t capacity = kDefaultCapacity, OnEvict on_evict = nullptr)
        : capacity_(capacity), on_evict_(std::move(on_evict)) {
        if (capacity_ == 0) {
            throw std::invalid_argument("LruCache capacity must be positive");
        }
        index_.reserve(capacity_);
    }

    std::optional<Value> get(const Key& key) {
        auto found = index_.find(key);
        if (found == index_.end()) {
            ++stats_.misses;
            return std::nullopt;
        }
        ++stats_.hits;
        entries_.splice(entries_.begin(), entries_, found->second);
        return found->second->second;
    }

    void put(const Key& key, Value value) {
        auto found = index_.find(key);
        if (found != index_.end()) {
            found->second->second = std::move(value);
            entries_.splice(entries_.begin(), entries_, found->second);
            return;
        }
        if (entries_.size() == capacity_) {
            evict_one();
        }
        entries_.emplace_front(key, std::move(value));
        index_.emplace(key, entries_.begin());
    }

    bool erase(const Key& key) {
        auto found = index_.find(key);
        if (found == index_.end()) {
            return false;
        }
        entries_.erase(found->second);
        index_.erase(found);
        return true;
    }

    template <typename Factory>
    Value& get_or_create(const Key& key, Factory&& make) {
        auto found = index_.find(key);
        if (found != index_.end()) {
            ++stats_.hits;
            entries_.splice(entries_.begin(), entries_, found->second);
            return found->second->second;
        }
        ++stats_.misses;
        put(key, make(key));
        return entries_.front().second;
    }

    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t capacity() const noexcept { return capacity_; }
    const Stats& stats() const noexcept { return stats_; }

    void clear() {
        entries_.clear();
        index_.clear();
        stats_ = Stats{};
    }

private:
    using Entry = std::pair<Key, Value>;
    using Iterator = typename std::list<Entry>::iterator;

    void evict_one() {
        auto& victim = entries_.back();
        if (on_evict_) {
            on_evict_(victim.first, victim.second);
        }
        index_.erase(victim.first);
        entries_.pop_back();
        ++stats_.evictions;
    }

    std::size_t capacity_;
    OnEvict on_evict_;
    std::list<Entry> entries_;
    std::unordered_map<Key, Iterator, Hash> index_;
    Stats stats_;
};

}  // namespace cache
