// Byte-level helpers for save_state / load_state and for writing through an aicache_writer.
#pragma once

#include <aicache/abi.h>
#include <aicache/sdk/error.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace aicache::sdk {

// Appends little-endian integers and raw bytes to a host-provided aicache_writer.
// Batches into a small buffer: one host call per 4 KiB instead of one per field.
class StateWriter {
public:
    explicit StateWriter(const aicache_writer *out) noexcept : out_(out) {}
    StateWriter(const StateWriter &) = delete;
    StateWriter &operator=(const StateWriter &) = delete;
    ~StateWriter() noexcept { flush_noexcept(); }

    void u64(uint64_t value) {
        unsigned char bytes[8];
        for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
        raw(bytes, sizeof bytes);
    }
    void u32(uint32_t value) {
        unsigned char bytes[4];
        for (int i = 0; i < 4; ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
        raw(bytes, sizeof bytes);
    }
    void u8(uint8_t value) { raw(&value, 1); }
    void text(std::string_view value) {
        u64(value.size());
        raw(value.data(), value.size());
    }
    void raw(const void *data, size_t len) {
        if (used_ + len > sizeof buffer_) flush();
        if (len > sizeof buffer_) {
            emit(data, len);
            return;
        }
        std::memcpy(buffer_ + used_, data, len);
        used_ += len;
    }
    void flush() {
        if (used_ == 0) return;
        size_t n = used_;
        used_ = 0;
        emit(buffer_, n);
    }

private:
    void emit(const void *data, size_t len) {
        aicache_status status = out_->write(out_->host_ctx, data, len);
        if (status != AICACHE_OK) throw Error(status, "host writer refused " + std::to_string(len) + " bytes");
    }
    void flush_noexcept() noexcept {
        try {
            flush();
        } catch (...) {
        }
    }

    const aicache_writer *out_;
    unsigned char buffer_[4096];
    size_t used_ = 0;
};

// Reads what StateWriter wrote; any overrun is a state-format error, never undefined behaviour.
class StateReader {
public:
    explicit StateReader(aicache_bytes bytes) noexcept
        : data_(static_cast<const unsigned char *>(bytes.data)), size_(bytes.data ? bytes.size : 0) {}

    uint64_t u64() {
        const unsigned char *p = take(8);
        uint64_t value = 0;
        for (int i = 0; i < 8; ++i) value |= static_cast<uint64_t>(p[i]) << (8 * i);
        return value;
    }
    uint32_t u32() {
        const unsigned char *p = take(4);
        uint32_t value = 0;
        for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(p[i]) << (8 * i);
        return value;
    }
    uint8_t u8() { return *take(1); }
    std::string text() {
        uint64_t len = u64();
        if (len > remaining()) throw state_format_error("saved state: string longer than the state");
        const unsigned char *p = take(len);
        return std::string(reinterpret_cast<const char *>(p), len);
    }
    // A count of records each at least min_record_bytes long, checked against what is left, so a
    // corrupt count cannot make the plugin allocate or loop without bound.
    uint64_t count(size_t min_record_bytes) {
        uint64_t n = u64();
        if (min_record_bytes != 0 && n > remaining() / min_record_bytes)
            throw state_format_error("saved state: record count " + std::to_string(n) + " exceeds the state's size");
        return n;
    }
    [[nodiscard]] size_t remaining() const noexcept { return size_ - pos_; }
    void expect_end() const {
        if (pos_ != size_) throw state_format_error("saved state: " + std::to_string(size_ - pos_) + " trailing bytes");
    }

private:
    const unsigned char *take(size_t n) {
        if (n > size_ - pos_) throw state_format_error("saved state truncated at byte " + std::to_string(pos_));
        const unsigned char *p = data_ + pos_;
        pos_ += n;
        return p;
    }

    const unsigned char *data_;
    size_t size_;
    size_t pos_ = 0;
};

// Writes text (stats JSON, inference answers) through a writer.
inline void write_text(const aicache_writer *out, std::string_view text) {
    aicache_status status = out->write(out->host_ctx, text.data(), text.size());
    if (status != AICACHE_OK) throw Error(status, "host writer refused output");
}

} // namespace aicache::sdk
