// A doubly linked list of keyed nodes stored in one vector, with a key -> node index.
// The queue every list-based policy (LRU, SIEVE, S3-FIFO, FIFO) is built from: O(1) push, move,
// erase and lookup, no allocation per operation once warm. Front = newest, back = oldest.
#pragma once

#include <aicache/sdk/key_index.hpp>

#include <cstdint>
#include <vector>

namespace aicache::sdk {

template <class Payload>
class KeyedList {
public:
    using Index = uint32_t;
    static constexpr Index npos = aicache::sdk::KeyIndex::npos;

    struct Node {
        uint64_t key;
        Index prev; // toward the front (newer)
        Index next; // toward the back (older)
        Payload payload;
    };

    [[nodiscard]] Index find(uint64_t key) const { return index_.find(key); }
    [[nodiscard]] bool contains(uint64_t key) const { return index_.find(key) != npos; }
    [[nodiscard]] size_t size() const { return index_.size(); }
    [[nodiscard]] bool empty() const { return index_.empty(); }
    [[nodiscard]] Index front() const { return head_; }
    [[nodiscard]] Index back() const { return tail_; }
    [[nodiscard]] Index newer(Index i) const { return nodes_[i].prev; }
    [[nodiscard]] Index older(Index i) const { return nodes_[i].next; }
    Node &node(Index i) { return nodes_[i]; }
    const Node &node(Index i) const { return nodes_[i]; }

    // Inserts a key that is not present; returns its node.
    Index push_front(uint64_t key, const Payload &payload) {
        Index i;
        if (!free_.empty()) {
            i = free_.back();
            free_.pop_back();
            nodes_[i] = Node{key, npos, npos, payload};
        } else {
            i = static_cast<Index>(nodes_.size());
            nodes_.push_back(Node{key, npos, npos, payload});
        }
        index_.set(key, i);
        link_front(i);
        return i;
    }

    void move_to_front(Index i) {
        if (i == head_) return;
        unlink(i);
        link_front(i);
    }

    void erase(Index i) {
        unlink(i);
        index_.erase(nodes_[i].key);
        free_.push_back(i);
    }

    void clear() {
        nodes_.clear();
        free_.clear();
        index_.clear();
        head_ = tail_ = npos;
    }

private:
    void link_front(Index i) {
        nodes_[i].prev = npos;
        nodes_[i].next = head_;
        if (head_ != npos) nodes_[head_].prev = i;
        head_ = i;
        if (tail_ == npos) tail_ = i;
    }
    void unlink(Index i) {
        Node &n = nodes_[i];
        if (n.prev != npos) nodes_[n.prev].next = n.next;
        else head_ = n.next;
        if (n.next != npos) nodes_[n.next].prev = n.prev;
        else tail_ = n.prev;
        n.prev = n.next = npos;
    }

    std::vector<Node> nodes_;
    std::vector<Index> free_;
    aicache::sdk::KeyIndex index_;
    Index head_ = npos;
    Index tail_ = npos;
};

} // namespace aicache::sdk
