// One cached answer: its canonical key and its bytes in a single immutable allocation, with an
// intrusive reference count in front. A hit compares the key, takes a reference and hands the
// bytes out without copying; all three touch the same first cache lines, where a std::string key
// plus a std::shared_ptr value would cost two more cache misses per hit. Readers may keep a
// reference after the entry has been evicted.
#pragma once

#include <aicache/abi.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace aicache::cache {

class Record {
public:
    // nullptr when out of memory.
    static Record *create(std::string_view key, std::string_view value) noexcept {
        void *memory = ::operator new(sizeof(Record) + key.size() + value.size(), std::nothrow);
        if (memory == nullptr) return nullptr;
        auto *record = new (memory) Record(key.size(), value.size());
        std::memcpy(record->bytes(), key.data(), key.size());
        if (!value.empty()) std::memcpy(record->bytes() + key.size(), value.data(), value.size());
        return record;
    }

    [[nodiscard]] std::string_view key() const noexcept { return {bytes(), key_size_}; }
    [[nodiscard]] std::string_view value() const noexcept { return {bytes() + key_size_, value_size_}; }

    // The cache's bookkeeping, beside the key so a hit touches one neighbourhood of memory.
    // Mutable, and guarded by the owning shard's mutex; readers holding a RecordRef use only
    // key() and value(), which never change.
    aicache_entry_meta meta{};
    uint64_t expires_at_us = 0; // 0: never

    void acquire() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            this->~Record();
            ::operator delete(this);
        }
    }

private:
    Record(size_t key_size, size_t value_size) noexcept : key_size_(key_size), value_size_(value_size) {}
    char *bytes() noexcept { return reinterpret_cast<char *>(this + 1); }
    const char *bytes() const noexcept { return reinterpret_cast<const char *>(this + 1); }

    std::atomic<uint32_t> refs_{1};
    uint64_t key_size_;
    uint64_t value_size_;
};

// Owning handle to a Record (like std::shared_ptr, with the count inside the record).
class RecordRef {
public:
    RecordRef() noexcept = default;
    explicit RecordRef(Record *adopted) noexcept : record_(adopted) {}
    RecordRef(const RecordRef &other) noexcept : record_(other.record_) {
        if (record_ != nullptr) record_->acquire();
    }
    RecordRef(RecordRef &&other) noexcept : record_(std::exchange(other.record_, nullptr)) {}
    RecordRef &operator=(RecordRef other) noexcept {
        std::swap(record_, other.record_);
        return *this;
    }
    ~RecordRef() {
        if (record_ != nullptr) record_->release();
    }

    explicit operator bool() const noexcept { return record_ != nullptr; }
    const Record *operator->() const noexcept { return record_; }
    Record *get() const noexcept { return record_; }
    Record *release() noexcept { return std::exchange(record_, nullptr); }
    [[nodiscard]] std::string_view key() const noexcept { return record_->key(); }
    [[nodiscard]] std::string_view value() const noexcept { return record_ ? record_->value() : std::string_view(); }

private:
    Record *record_ = nullptr;
};

} // namespace aicache::cache
