// HashMap: the insertion-ordered, string-keyed payload of Hash values.
#include <utility>

#include "fusevm/value.hpp"

namespace fusevm {

HashMap::HashMap(std::initializer_list<Entry> entries) {
  for (const Entry& e : entries) insert_or_assign(e.first, e.second);
}

const Value* HashMap::find(std::string_view key) const {
  // The index exists exactly when size() >= kIndexThreshold (kept by every mutator).
  if (index_.empty()) {
    for (const Entry& e : entries_) {
      if (e.first == key) return &e.second;
    }
    return nullptr;
  }
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

Value* HashMap::find(std::string_view key) {
  return const_cast<Value*>(std::as_const(*this).find(key));
}

void HashMap::insert_or_assign(std::string key, Value v) {
  if (Value* existing = find(key)) {
    *existing = std::move(v);
    return;
  }
  entries_.emplace_back(std::move(key), std::move(v));
  if (entries_.size() == kIndexThreshold) {
    rebuild_index();
  } else if (entries_.size() > kIndexThreshold) {
    index_.emplace(entries_.back().first, entries_.size() - 1);
  }
}

std::optional<Value> HashMap::erase(std::string_view key) {
  size_t pos = entries_.size();
  if (index_.empty()) {
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].first == key) {
        pos = i;
        break;
      }
    }
  } else {
    auto it = index_.find(std::string(key));
    if (it != index_.end()) pos = it->second;
  }
  if (pos == entries_.size()) return std::nullopt;
  Value removed = std::move(entries_[pos].second);
  if (!index_.empty()) index_.erase(entries_[pos].first);
  // Erasing from the vector keeps the remaining entries in insertion order; positions
  // after `pos` shift down by one, so only their index entries change.
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(pos));
  if (entries_.size() < kIndexThreshold) {
    index_.clear();
  } else {
    for (size_t i = pos; i < entries_.size(); ++i) index_[entries_[i].first] = i;
  }
  return removed;
}

void HashMap::clear() {
  entries_.clear();
  index_.clear();
}

void HashMap::rebuild_index() {
  index_.clear();
  index_.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
}

bool operator==(const HashMap& a, const HashMap& b) {
  if (a.size() != b.size()) return false;
  for (const HashMap::Entry& e : a.entries_) {
    const Value* other = b.find(e.first);
    if (other == nullptr || !(e.second == *other)) return false;
  }
  return true;
}

}  // namespace fusevm
