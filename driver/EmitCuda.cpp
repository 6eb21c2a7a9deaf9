#include "driver/EmitCuda.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "driver/RuntimeHeaderText.h"
#include "lowering/Regions.h"

namespace attnc::driver {

namespace fs = std::filesystem;

namespace {

/// "file.attn:7: mask causal && ..." for a range of the spec.
std::string note(const dsl::CheckedFile *file, dsl::SourceRange r, const char *what) {
  if (!file || r.end <= r.begin) return "";
  dsl::LineCol lc = file->source->lineCol(r.begin);
  std::string text(file->source->lineText(lc.line));
  size_t b = text.find_first_not_of(" \t");
  text = b == std::string::npos ? "" : text.substr(b);
  return fmt::format("{}:{}: {} (`{}`)", file->source->path(), lc.line, what, text);
}

}  // namespace

std::string cudaUnsupported(const Compilation &c) {
  for (const std::string &name : c.kernelNames()) {
    auto d = c.describe(name);
    if (d && (d->lowRank != KernelDesc::LowRank::None || d->sparseBlock || !d->prunedHeads.empty()))
      return "attention `" + name +
             "` uses `compress` transforms, which the cuda backend does not support yet (the reference backend "
             "runs them)";
  }
  return "";
}

bool cudaSources(const Compilation &c, const dsl::CheckedFile *file, const std::string &name,
                 const CudaEmitOptions &o, cuda::CudaSources &out, std::string &error) {
  std::unique_ptr<KernelDesc> d = c.describe(name);
  if (!d) {
    error = "no attention named `" + name + "`";
    return false;
  }
  KernelRegions regions;
  if (!compileRegions(c, name, regions, error)) return false;
  cuda::Schedule pre = cuda::defaultSchedule(*d, o.arch, false), dec = cuda::defaultSchedule(*d, o.arch, true);
  if (!cuda::parseSchedule(o.schedule, pre, error) || !cuda::parseSchedule(o.decodeSchedule, dec, error))
    return false;
  if (!cuda::legalize(*d, o.arch, pre, error) || !cuda::legalize(*d, o.arch, dec, error)) return false;
  cuda::SourceNotes notes;
  notes.spec = file ? file->source->path() : "a spec";
  if (file)
    for (const dsl::Spec &s : file->specs)
      if (s.name == name) {
        notes.scoreMod = note(file, s.scoreModRange, "score_mod");
        notes.mask = note(file, s.maskRange, "mask");
        notes.bias = note(file, s.sigmoidBiasRange, "the bias of `normalize sigmoid`");
      }
  return cuda::generate(*d, regions, c.maskInfo(name), pre, dec, o.arch, notes, out, error);
}

EmitStatus emitCuda(const Compilation &c, const dsl::CheckedFile &file, const CudaEmitOptions &o, std::string &error) {
  using S = EmitStatus;
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) {
    error = "cannot create `" + o.dir + "`: " + ec.message();
    return S::Environment;
  }
  // Generate everything first: a bad schedule writes nothing.
  std::vector<std::pair<std::string, cuda::CudaSources>> all;
  for (const std::string &name : c.kernelNames()) {
    cuda::CudaSources src;
    if (!cudaSources(c, &file, name, o, src, error)) return S::Environment;
    all.emplace_back(name, std::move(src));
  }
  const fs::path dir(o.dir);
  if (!writeTextFile(dir / "attnc_runtime.h", kRuntimeHeaderText, error) ||
      !writeTextFile(dir / "attnc_device.cuh", kDeviceHeaderText, error) ||
      !writeTextFile(dir / "attnc_simt.h", kSimtHeaderText, error))
    return S::Environment;
  for (auto &[name, src] : all)
    if (!writeTextFile(dir / (name + ".h"), src.header, error) || !writeTextFile(dir / (name + ".cu"), src.source, error))
      return S::Environment;
  return S::Ok;
}

}  // namespace attnc::driver
