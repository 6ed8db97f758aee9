// A KeyedList whose nodes carry their entry's size, with the list's byte total kept in step:
// the segments of ARC (T1, T2, B1, B2) and W-TinyLFU (window, candidates, probation, protected).
#pragma once

#include <aicache/sdk/keyed_list.hpp>

#include <cstdint>

namespace aicache::sdk {

struct SizedList {
    using List = KeyedList<uint64_t>; // payload: size in bytes
    List list;
    uint64_t bytes = 0;

    void push(uint64_t key, uint64_t size) {
        list.push_front(key, size);
        bytes += size;
    }
    void erase(List::Index i) {
        bytes -= list.node(i).payload;
        list.erase(i);
    }
    void pop_oldest() { erase(list.back()); }
    void clear() {
        list.clear();
        bytes = 0;
    }
};

} // namespace aicache::sdk
