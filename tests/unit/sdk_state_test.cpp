#include <aicache/sdk/state.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {
aicache_writer string_writer(std::string &out) {
    return aicache_writer{&out, [](void *ctx, const void *data, size_t len) -> aicache_status {
                              static_cast<std::string *>(ctx)->append(static_cast<const char *>(data), len);
                              return AICACHE_OK;
                          }};
}
} // namespace

TEST_CASE("state_writer_and_reader_round_trip") {
    std::string bytes;
    aicache_writer w = string_writer(bytes);
    {
        aicache::sdk::StateWriter out(&w);
        out.u64(0x0102030405060708ull);
        out.u32(77);
        out.u8(5);
        out.text("hello");
        for (int i = 0; i < 2000; ++i) out.u64(i); // crosses the 4 KiB batch buffer
    }
    aicache::sdk::StateReader in(aicache_bytes{bytes.data(), bytes.size()});
    CHECK(in.u64() == 0x0102030405060708ull);
    CHECK(in.u32() == 77);
    CHECK(in.u8() == 5);
    CHECK(in.text() == "hello");
    for (int i = 0; i < 2000; ++i) REQUIRE(in.u64() == uint64_t(i));
    CHECK_NOTHROW(in.expect_end());
}

TEST_CASE("state_reader_refuses_truncation_and_absurd_counts") {
    std::string bytes(5, '\0');
    aicache::sdk::StateReader short_state(aicache_bytes{bytes.data(), bytes.size()});
    CHECK_THROWS_WITH_AS(short_state.u64(), doctest::Contains("truncated"), aicache::sdk::Error);

    std::string huge(8, '\xff');
    aicache::sdk::StateReader lying(aicache_bytes{huge.data(), huge.size()});
    CHECK_THROWS_WITH_AS(lying.count(8), doctest::Contains("exceeds"), aicache::sdk::Error);
}
