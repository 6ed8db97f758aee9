// A deterministic OpenAI-compatible upstream inside the host, for the demo and for benchmarks
// that must not depend on a real model: POST .../chat/completions and .../completions (not
// streamed) answer "answer to: PROMPT", padded to the size the prompt asks for with "SIZE=N"
// (bytes), and bill "TOKENS=N" completion tokens when the prompt names them (else a token per
// four bytes, as English text averages). It counts the calls it served, so a caller can tell how
// many questions reached the "model". Beast stays inside test_upstream.cpp.
#pragma once

#include "core/status.hpp"

#include <cstdint>
#include <memory>

namespace aicache::server {

class TestUpstream {
public:
    TestUpstream();
    ~TestUpstream();
    TestUpstream(const TestUpstream &) = delete;
    TestUpstream &operator=(const TestUpstream &) = delete;

    // Listens on 127.0.0.1 at any free port, on one thread of its own.
    Status start();
    void stop();
    [[nodiscard]] uint16_t port() const;
    [[nodiscard]] uint64_t calls() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace aicache::server
