#include <aicache/abi.h>

#include <doctest/doctest.h>

#include <cstddef>
#include <iterator>

extern "C" const size_t aicache_abi_c11_layout[];
extern "C" const size_t aicache_abi_c11_layout_count;

TEST_CASE("abi_h_has_the_same_layout_in_c11_and_cpp20") {
    const size_t cpp[] = {
        sizeof(aicache_host_api),
        sizeof(aicache_plugin_descriptor),
        offsetof(aicache_plugin_descriptor, vtable),
        sizeof(aicache_policy_vtable),
        offsetof(aicache_policy_vtable, on_stats),
        sizeof(aicache_entry_meta),
        offsetof(aicache_entry_meta, hit_count),
        sizeof(aicache_learner_vtable),
        sizeof(aicache_optimizer_vtable),
        sizeof(aicache_example),
        sizeof(aicache_writer),
        sizeof(aicache_bytes),
    };
    REQUIRE(aicache_abi_c11_layout_count == std::size(cpp));
    for (size_t i = 0; i < std::size(cpp); ++i) {
        INFO("layout entry " << i);
        CHECK(aicache_abi_c11_layout[i] == cpp[i]);
    }
}

TEST_CASE("every_boundary_struct_starts_with_its_size") {
    CHECK(offsetof(aicache_host_api, struct_size) == 0);
    CHECK(offsetof(aicache_plugin_descriptor, struct_size) == 0);
    CHECK(offsetof(aicache_policy_vtable, struct_size) == 0);
    CHECK(offsetof(aicache_learner_vtable, struct_size) == 0);
    CHECK(offsetof(aicache_optimizer_vtable, struct_size) == 0);
    CHECK(offsetof(aicache_entry_meta, struct_size) == 0);
    CHECK(offsetof(aicache_example, struct_size) == 0);
}
