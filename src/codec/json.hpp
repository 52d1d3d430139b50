// The one JSON type of Herald: nlohmann::json with objects that keep their keys in the order they
// came, as JavaScript objects do, so a client that signs, displays or compares a payload gets it as
// it was sent.
//
// Written here because neither packaged option fits: nlohmann's own ordered_map finds a key by a
// linear search, so parsing an object of n keys costs n² comparisons (a 1 MB event of short keys,
// seconds of CPU); tsl::ordered_map's iterators give const values, which nlohmann writes through.
// IndexedOrderedMap is nlohmann's ordered_map (a vector of pairs in insertion order) plus, once an
// object has kIndexFrom keys, a hash index from key to position. Lookups through the vector stay
// correct without the index; every change to the vector goes through a member here that keeps the
// index in step. The index is built eagerly (never from a const call), so shared objects may be
// read from several threads.
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

namespace herald {

template <class Key, class T, class IgnoredLess = std::less<Key>,
          class Allocator = std::allocator<std::pair<const Key, T>>>
class IndexedOrderedMap : public nlohmann::ordered_map<Key, T, IgnoredLess, Allocator> {
  using Base = nlohmann::ordered_map<Key, T, IgnoredLess, Allocator>;
  using Container = typename Base::Container;

 public:
  using typename Base::const_iterator;
  using typename Base::iterator;
  using typename Base::key_type;
  using typename Base::size_type;
  using typename Base::value_type;

  // Small objects (nearly all) are searched faster than hashed, and carry no index.
  static constexpr size_t kIndexFrom = 16;

  IndexedOrderedMap() = default;
  template <class It>
  IndexedOrderedMap(It first, It last, const Allocator& alloc = Allocator()) : Base(first, last, alloc) {
    rebuild_index();
  }
  IndexedOrderedMap(std::initializer_list<value_type> init, const Allocator& alloc = Allocator()) : Base(init, alloc) {
    rebuild_index();
  }
  IndexedOrderedMap(const IndexedOrderedMap& other) : Base(other) { rebuild_index(); }
  IndexedOrderedMap(IndexedOrderedMap&& other) noexcept = default;
  IndexedOrderedMap& operator=(const IndexedOrderedMap& other) {
    if (this != &other) {
      Base::operator=(other);
      rebuild_index();
    }
    return *this;
  }
  IndexedOrderedMap& operator=(IndexedOrderedMap&& other) noexcept = default;
  ~IndexedOrderedMap() = default;

  template <class K>
  iterator find(const K& key) {
    if (index_) {
      auto found = index_->find(std::string_view(key));
      return found == index_->end() ? this->end() : this->begin() + static_cast<std::ptrdiff_t>(found->second);
    }
    for (auto it = this->begin(); it != this->end(); ++it)
      if (it->first == key) return it;
    return this->end();
  }
  template <class K>
  const_iterator find(const K& key) const {
    return const_cast<IndexedOrderedMap*>(this)->find(key);  // NOLINT: the non-const find changes nothing
  }
  template <class K>
  size_type count(const K& key) const {
    return find(key) == this->end() ? 0 : 1;
  }
  template <class K>
  T& at(const K& key) {
    auto found = find(key);
    if (found == this->end()) throw std::out_of_range("key not found");
    return found->second;
  }
  template <class K>
  const T& at(const K& key) const {
    auto found = find(key);
    if (found == this->end()) throw std::out_of_range("key not found");
    return found->second;
  }

  template <class K>
  std::pair<iterator, bool> emplace(K&& key, T&& value) {
    if (auto found = find(key); found != this->end()) return {found, false};
    Container::emplace_back(std::forward<K>(key), std::move(value));
    note_appended();
    return {std::prev(this->end()), true};
  }
  template <class K>
  T& operator[](K&& key) {
    return emplace(std::forward<K>(key), T{}).first->second;
  }
  template <class K>
  const T& operator[](const K& key) const {
    return at(key);
  }
  std::pair<iterator, bool> insert(value_type&& entry) { return emplace(entry.first, std::move(entry.second)); }
  std::pair<iterator, bool> insert(const value_type& entry) { return emplace(entry.first, T(entry.second)); }
  template <class It>
  void insert(It first, It last) {
    for (; first != last; ++first) insert(*first);
  }

  template <class K>
  size_type erase(const K& key) {
    auto found = find(key);
    if (found == this->end()) return 0;
    erase(found);
    return 1;
  }
  iterator erase(iterator pos) { return erase(pos, std::next(pos)); }
  iterator erase(iterator first, iterator last) {
    auto offset = first - this->begin();
    Base::erase(first, last);  // later entries move up: their positions change
    rebuild_index();
    return this->begin() + offset;
  }
  void clear() noexcept {
    Base::clear();
    index_.reset();
  }

 private:
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
  };
  using Index = std::unordered_map<Key, size_t, KeyHash, std::equal_to<>>;

  void note_appended() {
    size_t position = this->size() - 1;
    if (index_)
      index_->emplace(this->back().first, position);
    else if (this->size() >= kIndexFrom)
      rebuild_index();
  }
  void rebuild_index() {
    if (this->size() < kIndexFrom) {
      index_.reset();
      return;
    }
    auto index = std::make_unique<Index>();
    index->reserve(this->size());
    size_t position = 0;
    for (const auto& entry : *this) index->emplace(entry.first, position++);
    index_ = std::move(index);
  }

  std::unique_ptr<Index> index_;  // key -> position in the vector, from kIndexFrom keys on
};

using Json = nlohmann::basic_json<IndexedOrderedMap>;

}  // namespace herald
