#include "lowering/transforms/Pipeline.h"

#include <functional>
#include <sstream>

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include "lowering/transforms/CompilationImpl.h"
#include "lowering/transforms/MLIRGen.h"
#include "lowering/transforms/Passes.h"

using namespace mlir;

namespace attnc {

namespace {

struct Step {
  std::string name;
  std::function<LogicalResult(ModuleOp, const PipelineOptions &)> run;
};

/// The pipeline: each step is a function of the module; see docs/architecture.md.
const std::vector<Step> &steps() {
  static const std::vector<Step> s = {
      {"expand-builtins", [](ModuleOp m, const PipelineOptions &) { return expandBuiltins(m); }},
      {"canonicalize", [](ModuleOp m, const PipelineOptions &) { return canonicalize(m); }},
      {"mask-analysis",
       [](ModuleOp m, const PipelineOptions &) { return annotateMaskAnalysis(m); }},
      {"plan-heads", [](ModuleOp m, const PipelineOptions &) { return planHeads(m); }},
  };
  return s;
}

std::string print(ModuleOp m, bool withLocations) {
  std::string out;
  llvm::raw_string_ostream os(out);
  OpPrintingFlags flags;
  if (withLocations) flags.enableDebugInfo(true, /*prettyForm=*/false);
  m.print(os, flags);
  return out;
}

/// Runs `fn`, turning MLIR diagnostics it emits into `error`.
LogicalResult capture(MLIRContext &ctx, std::string &error, const std::function<LogicalResult()> &fn) {
  std::string msgs;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    llvm::raw_string_ostream os(msgs);
    os << d.getLocation() << ": " << d << "\n";
    return success();
  });
  LogicalResult r = fn();
  if (failed(r)) error = msgs.empty() ? "internal error" : msgs;
  return r;
}

}  // namespace

const std::vector<std::string> &pipelineSteps() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {"mlirgen"};
    for (auto &s : steps()) n.push_back(s.name);
    return n;
  }();
  return names;
}

Compilation::Compilation() : impl_(std::make_unique<Impl>()) {}
Compilation::~Compilation() = default;

attn::KernelOp Compilation::Impl::lookup(const std::string &name) const {
  attn::KernelOp found;
  module->walk([&](attn::KernelOp k) {
    if (k.getSymName() == name) found = k;
  });
  return found;
}

std::unique_ptr<Compilation> Compilation::fromChecked(const dsl::CheckedFile &file, std::string &error) {
  std::unique_ptr<Compilation> c(new Compilation());
  c->impl_->ctx.loadDialect<attn::AttnDialect, arith::ArithDialect, math::MathDialect>();
  c->impl_->module = mlirGen(c->impl_->ctx, file);
  for (const dsl::Spec &s : file.specs) c->impl_->notes[s.name] = sourceNotes(file, s);
  if (failed(capture(c->impl_->ctx, error, [&] { return verify(*c->impl_->module); }))) {
    error = "MLIRGen produced invalid IR: " + error;
    return nullptr;
  }
  return c;
}

bool Compilation::run(const PipelineOptions &opts, std::ostream *trace, std::string &error) {
  ModuleOp m = *impl_->module;
  auto dump = [&](const std::string &step) {
    if (opts.printAfterAll && trace)
      *trace << "// -----// IR Dump After " << step << " //----- //\n" << print(m, opts.printLocations) << "\n";
  };
  dump("mlirgen");
  for (const Step &s : steps()) {
    if (failed(capture(impl_->ctx, error, [&] { return s.run(m, opts); }))) {
      error = "step `" + s.name + "` failed: " + error;
      return false;
    }
    if (failed(capture(impl_->ctx, error, [&] { return verify(m); }))) {
      error = "IR invalid after `" + s.name + "`: " + error;
      return false;
    }
    dump(s.name);
  }
  return true;
}

std::string Compilation::printIR(bool withLocations) const { return print(*impl_->module, withLocations); }

std::vector<std::string> Compilation::kernelNames() const {
  std::vector<std::string> names;
  impl_->module->walk([&](attn::KernelOp k) { names.push_back(k.getSymName().str()); });
  return names;
}

}  // namespace attnc
