// Tests for ShellVars: the shell variable table (values, export marks, environ, environment()).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fusevm/shell_vars.hpp"

namespace fusevm {
namespace {

using Strings = std::vector<std::string>;
using std::string_literals::operator""s;

TEST(ShellVars, EmptyTableHasNothing) {
  const ShellVars vars;
  EXPECT_EQ(vars.get("X"), nullptr);
  EXPECT_FALSE(vars.is_exported("X"));
  EXPECT_TRUE(vars.names().empty());
  EXPECT_TRUE(vars.environment().empty());
}

TEST(ShellVars, SetThenGetReturnsTheValue) {
  ShellVars vars;
  vars.set("A", Value::Str("1"));
  ASSERT_NE(vars.get("A"), nullptr);
  EXPECT_EQ(*vars.get("A"), Value::Str("1"));
  vars.set("A", Value::Int(2));
  EXPECT_EQ(*vars.get("A"), Value::Int(2));
}

TEST(ShellVars, NamesAreCaseSensitive) {
  ShellVars vars;
  vars.set("path", Value::Str("x"));
  EXPECT_EQ(vars.get("PATH"), nullptr);
}

TEST(ShellVars, SetKeepsAnExistingExportMark) {
  ShellVars vars;
  vars.set("A", Value::Str("1"));
  vars.set_exported("A");
  vars.set("A", Value::Str("2"));
  EXPECT_TRUE(vars.is_exported("A"));
  EXPECT_EQ(vars.environment(), Strings{"A=2"});
}

TEST(ShellVars, UnsetRemovesValueAndExportMark) {
  ShellVars vars;
  vars.set("A", Value::Str("1"));
  vars.set_exported("A");
  EXPECT_TRUE(vars.unset("A"));
  EXPECT_EQ(vars.get("A"), nullptr);
  EXPECT_FALSE(vars.is_exported("A"));
  EXPECT_FALSE(vars.unset("A"));
  // A later assignment is not exported any more.
  vars.set("A", Value::Str("3"));
  EXPECT_TRUE(vars.environment().empty());
}

TEST(ShellVars, ExportBeforeAValueExportsItOnceSet) {
  ShellVars vars;
  vars.set_exported("LATER");
  EXPECT_TRUE(vars.is_exported("LATER"));
  EXPECT_EQ(vars.get("LATER"), nullptr);
  EXPECT_TRUE(vars.names().empty());
  EXPECT_TRUE(vars.environment().empty());
  vars.set("LATER", Value::Str("now"));
  EXPECT_EQ(vars.environment(), Strings{"LATER=now"});
}

TEST(ShellVars, UnexportKeepsTheValueButLeavesTheEnvironment) {
  ShellVars vars;
  vars.set("A", Value::Str("1"));
  vars.set_exported("A");
  vars.set_exported("A", false);
  EXPECT_FALSE(vars.is_exported("A"));
  ASSERT_NE(vars.get("A"), nullptr);
  EXPECT_TRUE(vars.environment().empty());
}

TEST(ShellVars, UnexportOfAValuelessNameForgetsIt) {
  ShellVars vars;
  vars.set_exported("A");
  vars.set_exported("A", false);
  EXPECT_FALSE(vars.is_exported("A"));
  vars.set("A", Value::Str("1"));
  EXPECT_TRUE(vars.environment().empty());
  vars.set_exported("NEVER", false);
  EXPECT_FALSE(vars.is_exported("NEVER"));
}

TEST(ShellVars, UnsetOfAValuelessExportedNameReportsIt) {
  ShellVars vars;
  vars.set_exported("A");
  EXPECT_TRUE(vars.unset("A"));
  EXPECT_FALSE(vars.is_exported("A"));
}

TEST(ShellVars, NamesListsValuedNamesSorted) {
  ShellVars vars;
  vars.set("b", Value::Str(""));
  vars.set("B", Value::Str(""));
  vars.set("a", Value::Str(""));
  vars.set_exported("c");
  EXPECT_EQ(vars.names(), (Strings{"B", "a", "b"}));
}

TEST(ShellVars, EnvironmentHasOnlyExportedVariablesSortedByName) {
  ShellVars vars;
  vars.set("Z", Value::Str("z"));
  vars.set("A", Value::Str("a"));
  vars.set("M", Value::Str("m"));
  vars.set_exported("Z");
  vars.set_exported("A");
  EXPECT_EQ(vars.environment(), (Strings{"A=a", "Z=z"}));
}

TEST(ShellVars, EnvironmentJoinsArraysWithSpacesAndFormatsScalars) {
  ShellVars vars;
  vars.set("ARR", Value::Array({Value::Str("a b"), Value::Int(2), Value::Str("")}));
  vars.set("NESTED", Value::Array({Value::Str("x"), Value::Array({Value::Int(1), Value::Int(2)})}));
  vars.set("NUM", Value::Int(-7));
  vars.set("FLT", Value::Float(2.5));
  vars.set("EMPTY", Value::Str(""));
  for (const char* n : {"ARR", "NESTED", "NUM", "FLT", "EMPTY"}) vars.set_exported(n);
  EXPECT_EQ(vars.environment(),
            (Strings{"ARR=a b 2 ", "EMPTY=", "FLT=2.5", "NESTED=x 1 2", "NUM=-7"}));
}

TEST(ShellVars, EnvironmentKeepsEqualsSignsInValues) {
  ShellVars vars;
  vars.set("OPTS", Value::Str("a=b=c"));
  vars.set_exported("OPTS");
  EXPECT_EQ(vars.environment(), Strings{"OPTS=a=b=c"});
}

TEST(ShellVars, EnvironmentLeavesOutWhatExecveCannotCarry) {
  ShellVars vars;
  vars.set("A=B", Value::Str("x"));
  vars.set("", Value::Str("x"));
  vars.set("N\0UL"s, Value::Str("x"));
  vars.set("VALNUL", Value::Str("a\0b"s));
  vars.set("OK", Value::Str("fine"));
  for (const std::string& n : {"A=B"s, ""s, "N\0UL"s, "VALNUL"s, "OK"s}) vars.set_exported(n);
  EXPECT_EQ(vars.environment(), Strings{"OK=fine"});
  // They are still ordinary variables inside the table.
  ASSERT_NE(vars.get("VALNUL"), nullptr);
  EXPECT_EQ(*vars.get("VALNUL"), Value::Str("a\0b"s));
}

// Sets an environment variable for one test and restores the previous state after it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

TEST(ShellVars, FromEnvironReadsEveryEntryAsAnExportedStr) {
  const ScopedEnv env("FUSEVM_SHELLVARS_TEST", "a=b c");
  const ShellVars vars = ShellVars::from_environ();
  const Value* v = vars.get("FUSEVM_SHELLVARS_TEST");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, Value::Str("a=b c"));
  EXPECT_TRUE(vars.is_exported("FUSEVM_SHELLVARS_TEST"));
}

TEST(ShellVars, FromEnvironKeepsEmptyValues) {
  const ScopedEnv env("FUSEVM_SHELLVARS_EMPTY", "");
  const ShellVars vars = ShellVars::from_environ();
  ASSERT_NE(vars.get("FUSEVM_SHELLVARS_EMPTY"), nullptr);
  EXPECT_EQ(*vars.get("FUSEVM_SHELLVARS_EMPTY"), Value::Str(""));
}

TEST(ShellVars, FromEnvironRoundTripsThroughEnvironment) {
  const ScopedEnv env("FUSEVM_SHELLVARS_RT", "x");
  const ShellVars vars = ShellVars::from_environ();
  const Strings out = vars.environment();
  EXPECT_FALSE(out.empty());
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
  for (const std::string& entry : out) {
    const size_t eq = entry.find('=');
    ASSERT_NE(eq, std::string::npos) << entry;
    const char* now = std::getenv(entry.substr(0, eq).c_str());
    ASSERT_NE(now, nullptr) << entry;
    EXPECT_EQ(entry.substr(eq + 1), now) << entry;
  }
  // Every environ entry with a name made it into the table.
  size_t named = 0;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr && eq != *e) ++named;
  }
  EXPECT_EQ(out.size(), named);
}

}  // namespace
}  // namespace fusevm
