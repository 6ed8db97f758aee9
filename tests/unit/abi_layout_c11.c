/* abi.h compiled as strict C11: the layout C plugins see, compared with C++'s in abi_layout_test. */
#include <aicache/abi.h>

#include <stddef.h>

const size_t aicache_abi_c11_layout[] = {
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
const size_t aicache_abi_c11_layout_count = sizeof aicache_abi_c11_layout / sizeof aicache_abi_c11_layout[0];
