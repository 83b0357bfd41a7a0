// JSON parsing into a line-annotated tree: nlohmann's SAX parser fed by a line-counting
// iterator.
#include "json_tree.hpp"

#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

namespace fusevm::json_tree {

namespace {

// Where the parser is. nlohmann reads one character ahead only after a number, and that
// character may be a newline, so a value's line is the line of the last non-blank
// character consumed when its SAX event fires, not the current line.
// Numbers keep their literal text, which nlohmann's integer events do not pass on
// ("-0" must read as -0.0 where a float is expected, as serde_json reads it): the tracker
// collects each run of non-delimiter bytes; a number's run is either current (at the end
// of input) or just finished by the delimiter nlohmann read ahead.
struct LineTracker {
  uint32_t line = 1;
  uint32_t token_line = 1;
  std::string run;
  std::string last_run;

  std::string number_text() const { return run.empty() ? last_run : run; }
};

// Input iterator over the text that advances the tracker as nlohmann consumes bytes.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* p, LineTracker* t) : p_(p), t_(t) {}
  const char& operator*() const { return *p_; }
  CountingIterator& operator++() {
    char c = *p_++;
    bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (c == '\n') ++t_->line;
    if (!blank) t_->token_line = t_->line;
    bool delimiter = blank || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' ||
                     c == '}' || c == '"';
    if (delimiter) {
      if (!t_->run.empty()) t_->last_run = std::move(t_->run);
      t_->run.clear();
    } else if (t_->run.size() < 64) {  // a number longer than this is out of range anyway
      t_->run.push_back(c);
    }
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  // (C++20 rewrites the parser's `!=` to this: a separate operator!= left this one unused)
  friend bool operator==(const CountingIterator& a, const CountingIterator& b) { return a.p_ == b.p_; }

 private:
  const char* p_;
  LineTracker* t_;
};

// Builds Nodes from SAX events; containers under construction sit on `open_`.
class TreeBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  TreeBuilder(const LineTracker& t, size_t max_depth) : t_(t), max_depth_(max_depth) {}

  bool null() override { return add(Node{}); }
  bool boolean(bool v) override {
    Node n;
    n.kind = Node::Kind::Bool;
    n.boolean = v;
    return add(std::move(n));
  }
  bool number_integer(number_integer_t v) override {
    Node n;
    n.kind = Node::Kind::Int;
    n.int_value = v;
    n.text = t_.number_text();
    return add(std::move(n));
  }
  bool number_unsigned(number_unsigned_t v) override {
    Node n;
    n.kind = Node::Kind::UInt;
    n.uint_value = v;
    n.text = t_.number_text();
    return add(std::move(n));
  }
  bool number_float(number_float_t v, const string_t& s) override {
    Node n;
    n.kind = Node::Kind::Float;
    n.float_value = v;
    n.text = s;
    return add(std::move(n));
  }
  bool string(string_t& v) override {
    Node n;
    n.kind = Node::Kind::String;
    n.text = std::move(v);
    return add(std::move(n));
  }
  bool binary(binary_t&) override { return fail("binary values are not JSON"); }
  bool start_object(std::size_t) override { return open(Node::Kind::Object); }
  bool key(string_t& k) override {
    open_.back().keys.push_back(std::move(k));
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Node::Kind::Array); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    // nlohmann's texts read "[json.exception.parse_error.101] parse error at line L,
    // column C: REASON" or "[json.exception.out_of_range.406] number overflow parsing
    // '1e400'"; the line is ours, the tag is noise, the reason is what a reader needs.
    std::string what = ex.what();
    size_t tag_end = what.find("] ");
    if (what.rfind("[json.exception.", 0) == 0 && tag_end != std::string::npos) what.erase(0, tag_end + 2);
    if (dynamic_cast<const nlohmann::detail::out_of_range*>(&ex) != nullptr) {
      return fail("JSON number out of range: " + what);
    }
    size_t colon = what.find(": ");
    std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
    size_t column = what.find("column ");
    std::string where;
    if (column != std::string::npos && colon != std::string::npos && column < colon) {
      where = " (" + what.substr(column, colon - column) + ")";
    }
    return fail("JSON syntax error" + where + ": " + reason);
  }

  ParseResult finish() {
    ParseResult r;
    if (!error_.empty()) {
      r.line = error_line_;
      r.message = std::move(error_);
      return r;
    }
    r.ok = true;
    r.root = std::move(root_);
    return r;
  }

 private:
  bool add(Node n) {
    n.line = t_.token_line;
    if (open_.empty()) {
      root_ = std::move(n);
    } else {
      open_.back().items.push_back(std::move(n));
    }
    return true;
  }
  bool open(Node::Kind kind) {
    if (open_.size() >= max_depth_) {
      return fail("JSON nested deeper than " + std::to_string(max_depth_) + " levels");
    }
    Node n;
    n.kind = kind;
    n.line = t_.token_line;
    open_.push_back(std::move(n));
    return true;
  }
  bool close() {
    Node n = std::move(open_.back());
    open_.pop_back();
    uint32_t start = n.line;
    bool ok = add(std::move(n));
    // add() stamps the closing bracket's line; a container is reported where it opens.
    (open_.empty() ? root_ : open_.back().items.back()).line = start;
    return ok;
  }
  bool fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
      error_line_ = t_.token_line;
    }
    return false;
  }

  const LineTracker& t_;
  size_t max_depth_;
  std::vector<Node> open_;
  Node root_;
  std::string error_;
  uint32_t error_line_ = 0;
};

}  // namespace

std::string_view Node::describe() const {
  switch (kind) {
    case Kind::Null: return "null";
    case Kind::Bool: return "a boolean";
    case Kind::Int: case Kind::UInt: return "an integer";
    case Kind::Float: return "a number";
    case Kind::String: return "a string";
    case Kind::Array: return "an array";
    case Kind::Object: return "an object";
  }
  return "a value";
}

ParseResult parse(std::string_view text, size_t max_depth) {
  LineTracker tracker;
  TreeBuilder builder(tracker, max_depth);
  CountingIterator first(text.data(), &tracker);
  CountingIterator last(text.data() + text.size(), &tracker);
  nlohmann::json::sax_parse(first, last, &builder);
  return builder.finish();
}

}  // namespace fusevm::json_tree
