// DefaultHost: pipelines of forked stages joined by real pipes.
#include <string>

#include "default_host_test_util.hpp"

namespace fusevm_test {
namespace {

class DefaultHostPipeline : public LeakCheck {};

// `PipelineBegin n; stage; PipelineStage; ...; PipelineEnd`, stdout of the whole
// pipeline sent to `out` by a redirection scope.
std::string pipeline(const std::vector<std::string>& stages, const std::string& out,
                     size_t announced = 0) {
  std::string s = "  WithRedirectsBegin 1\n  LoadConst " + q(out) + "\n  Redirect 1, WRITE\n";
  s += "  PipelineBegin " + std::to_string(announced ? announced : stages.size()) + "\n";
  for (size_t k = 0; k < stages.size(); ++k) {
    if (k > 0) s += "  PipelineStage\n";
    s += stages[k];
  }
  return s + "  PipelineEnd\n  WithRedirectsEnd\n";
}

int32_t status_of(const VMResult& r) {
  return r.is_ok() && r.value().is_status() ? r.value().as_status() : -1000;
}

TEST_F(DefaultHostPipeline, ThreeStagesPassDataAndReportTheLastStatus) {
  TempDir dir;
  HostedVM h = hosted(pipeline({cmd({"printf", "hello\\nworld\\n"}), cmd({"tr", "a-z", "A-Z"}),
                                cmd({"sort", "-r"})},
                               dir / "out"));
  VMResult r = h.run();
  EXPECT_EQ(status_of(r), 0) << r.repr();
  EXPECT_EQ(h.vm->last_status(), 0);
  EXPECT_EQ(slurp(dir / "out"), "WORLD\nHELLO\n");
}

TEST_F(DefaultHostPipeline, TenMegabytesThroughFourStages) {
  TempDir dir;
  HostedVM h = hosted(pipeline({cmd({"head", "-c", "10485760", "/dev/zero"}),
                                cmd({"tr", "\\000", "a"}), cmd({"cat"}), cmd({"wc", "-c"})},
                               dir / "out"));
  VMResult r = h.run();
  EXPECT_EQ(status_of(r), 0) << r.repr();
  EXPECT_EQ(slurp(dir / "out"), "10485760\n");
}

TEST_F(DefaultHostPipeline, StatusIsTheLastStagesUnlessPipefail) {
  TempDir dir;
  const std::string text = pipeline({cmd({"sh", "-c", "exit 3"}), cmd({"sh", "-c", "exit 4"}),
                                     cmd({"true"})},
                                    dir / "out") +
                           pipeline({cmd({"true"}), cmd({"sh", "-c", "exit 5"})}, dir / "out") +
                           "  MakeArray 2\n";
  HostedVM plain = hosted(text);
  VMResult r = plain.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(0), Value::Status(5)})));
  HostedVM pf = hosted(text, DefaultHostOptions{.pipefail = true});
  r = pf.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // pipefail: the rightmost non-zero stage status.
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(4), Value::Status(5)})));
  EXPECT_EQ(pf.vm->last_status(), 5);
}

TEST_F(DefaultHostPipeline, PipefailCanBeSwitchedThroughOptions) {
  TempDir dir;
  HostedVM h = hosted(pipeline({cmd({"false"}, "Exec"), cmd({"true"})}, dir / "out"));
  h.host->options().pipefail = true;
  // `false` is an inline builtin: the stage's Status(1) is its result.
  EXPECT_EQ(status_of(h.run()), 1);
}

TEST_F(DefaultHostPipeline, InlineEchoInAStageWritesIntoThePipe) {
  TempDir dir;
  HostedVM h = hosted(pipeline({cmd({"echo", "inline", "words"}), cmd({"tr", "a-z", "A-Z"})},
                               dir / "out"));
  std::string captured;
  // A sink set by the embedder is not where a forked stage's output goes.
  h.vm->set_output([&](std::string_view s) { captured.append(s); });
  EXPECT_EQ(status_of(h.run()), 0);
  EXPECT_EQ(slurp(dir / "out"), "INLINE WORDS\n");
  EXPECT_EQ(captured, "");
}

TEST_F(DefaultHostPipeline, EndlessProducerStopsWhenTheReaderExits) {
  TempDir dir;
  // while true; do echo y; done | head -1
  const std::string producer = "loop:\n" + cmd({"echo", "y"}) + "  Pop\n  Jump loop\n";
  HostedVM h = hosted(pipeline({producer, cmd({"head", "-1"})}, dir / "out"),
                      DefaultHostOptions{.pipefail = true});
  VMResult r = h.run();
  // The producer left with 128+SIGPIPE once its reader was gone; the test process lives.
  EXPECT_EQ(status_of(r), 128 + SIGPIPE) << r.repr();
  EXPECT_EQ(slurp(dir / "out"), "y\n");
}

TEST_F(DefaultHostPipeline, ExternalProducerIntoHeadSucceeds) {
  TempDir dir;
  HostedVM h = hosted(pipeline({cmd({"yes"}), cmd({"head", "-2"})}, dir / "out"));
  EXPECT_EQ(status_of(h.run()), 0);
  EXPECT_EQ(slurp(dir / "out"), "y\ny\n");
}

TEST_F(DefaultHostPipeline, StagesRunInChildrenSoVariablesDoNotLeak) {
  TempDir dir;
  HostedVM h = hosted(".name \"x\"\n  LoadConst \"parent\"\n  SetVar @x\n" +
                      pipeline({"  LoadConst \"child\"\n  SetVar @x\n" + cmd({"true"}),
                                cmd({"cat"})},
                               dir / "out") +
                      "  Pop\n  GetVar @x\n");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Str("parent")));
}

TEST_F(DefaultHostPipeline, NestedPipelineInsideAStage) {
  TempDir dir;
  // (printf 'a\n' | tr a b) | tr b c
  const std::string inner = "  PipelineBegin 2\n" + cmd({"printf", "a\\n"}) + "  PipelineStage\n" +
                            cmd({"tr", "a", "b"}) + "  PipelineEnd\n";
  HostedVM h = hosted(pipeline({inner, cmd({"tr", "b", "c"})}, dir / "out"));
  EXPECT_EQ(status_of(h.run()), 0);
  EXPECT_EQ(slurp(dir / "out"), "c\n");
}

TEST_F(DefaultHostPipeline, SingleStagePipelineRunsAndReportsItsStatus) {
  TempDir dir;
  HostedVM h = hosted(pipeline({cmd({"sh", "-c", "echo one; exit 6"})}, dir / "out"));
  EXPECT_EQ(status_of(h.run()), 6);
  EXPECT_EQ(slurp(dir / "out"), "one\n");
}

TEST_F(DefaultHostPipeline, FewerStagesThanAnnouncedDoesNotHang) {
  TempDir dir;
  HostedVM h = hosted(pipeline({cmd({"printf", "x"}), cmd({"cat"})}, dir / "out", 3));
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_TRUE(r.value().is_status());
}

TEST_F(DefaultHostPipeline, StageThatFailsWithAnErrorLeavesWithoutReturningToTheCaller) {
  TempDir dir;
  HostedVM h = hosted(pipeline({"  CallBuiltin 7, 0\n" + cmd({"echo", "not reached"}),
                                cmd({"cat"})},
                               dir / "out"));
  h.vm->register_builtin(7, [](VM& vm, uint8_t) {
    vm.raise_error("stage exploded");
    return Value();
  });
  FdCapture err(2, dir / "stderr");
  VMResult r = h.run();
  // Only the parent may get here; a child returning from run() would write a second line.
  { std::ofstream(dir / "marker", std::ios::app) << "returned\n"; }
  const std::string text = err.stop();
  EXPECT_EQ(status_of(r), 0) << r.repr();  // cat, the last stage, succeeded
  EXPECT_EQ(slurp(dir / "out"), "");
  EXPECT_EQ(slurp(dir / "marker"), "returned\n");
  EXPECT_NE(text.find("stage exploded"), std::string::npos) << text;
}

TEST_F(DefaultHostPipeline, StageReachingTheEndOfTheProgramLeavesToo) {
  TempDir dir;
  // Malformed: the first stage jumps past every boundary to the end of the chunk.
  HostedVM h = hosted(pipeline({cmd({"printf", "early"}) + "  Jump end\n", cmd({"cat"})},
                               dir / "out") +
                      "end:\n");
  VMResult r = h.run();
  { std::ofstream(dir / "marker", std::ios::app) << "returned\n"; }
  EXPECT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(slurp(dir / "marker"), "returned\n");
  EXPECT_EQ(slurp(dir / "out"), "early");
}

TEST_F(DefaultHostPipeline, UnbalancedBoundariesAreHarmless) {
  HostedVM h = hosted("  PipelineStage\n  PipelineEnd\n");
  h.vm->set_last_status(3);
  VMResult r = h.run();
  EXPECT_EQ(status_of(r), 3) << r.repr();
}

}  // namespace
}  // namespace fusevm_test
