// Runs generated CUDA kernels without a GPU: NAME.cu is compiled as plain
// C++ with -DATTNC_SIMT_EMULATION (runtime/include/attnc_simt.h) into a
// shared object, loaded with dlopen and called through its C ABI.
#pragma once

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "attnc_runtime.h"
#include "lowering/cuda/ToCuda.h"

namespace attnc::test {

class EmuKernel {
public:
  ~EmuKernel() {
    if (handle_) dlclose(handle_);
  }

  /// Writes `src` to a fresh directory, compiles it with $CXX (g++) and loads it.
  static std::unique_ptr<EmuKernel> build(const std::string &name, const cuda::CudaSources &src, std::string &error) {
    namespace fs = std::filesystem;
    static std::atomic<int> counter{0};
    fs::path dir = fs::temp_directory_path() /
                   fmt::format("attnc-emu-{}-{}-{}", ::getpid(), name, counter.fetch_add(1));
    fs::create_directories(dir);
    std::ofstream(dir / (name + ".cu")) << src.source;
    std::ofstream(dir / (name + ".h")) << src.header;
    const char *cxx = std::getenv("CXX");
    std::string so = (dir / (name + ".so")).string();
    std::string cmd = fmt::format(
        "{} -std=c++17 -O1 -g0 -fPIC -shared -Wall -Werror -Wno-unused-function -Wno-unused-variable "
        "-DATTNC_SIMT_EMULATION -I {} -I {} -x c++ {} -o {} 2> {}",
        cxx && *cxx ? cxx : "g++", dir.string(), std::string(ATTNC_SOURCE_DIR) + "/runtime/include",
        (dir / (name + ".cu")).string(), so, (dir / "log.txt").string());
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream log(dir / "log.txt");
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      error = "compiling the emulated kernel failed: " + cmd + "\n" + text.substr(0, 4000);
      return nullptr;
    }
    std::unique_ptr<EmuKernel> k(new EmuKernel());
    k->handle_ = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!k->handle_) {
      error = std::string("dlopen: ") + dlerror();
      return nullptr;
    }
    k->run_ = dlsym(k->handle_, (name + "_cuda").c_str());
    k->runWs_ = dlsym(k->handle_, (name + "_cuda_ws").c_str());
    k->lastError_ = reinterpret_cast<const char *(*)()>(dlsym(k->handle_, (name + "_last_error").c_str()));
    k->wsSize_ = reinterpret_cast<size_t (*)(int64_t, int64_t, int64_t)>(
        dlsym(k->handle_, (name + "_cuda_workspace_size").c_str()));
    if (!k->run_ || !k->runWs_ || !k->lastError_ || !k->wsSize_) {
      error = "a symbol of the host API is missing";
      return nullptr;
    }
    std::error_code ec;
    if (!std::getenv("ATTNC_KEEP_EMU")) fs::remove_all(dir, ec);  // the loaded object stays mapped
    return k;
  }

  /// NAME_cuda(tensors..., stream).
  int run(const std::vector<const attnc_tensor *> &t) const { return dispatch(run_, t, {}); }
  /// NAME_cuda_ws(tensors..., workspace, bytes, stream).
  int runWs(const std::vector<const attnc_tensor *> &t, void *ws, size_t bytes) const {
    return dispatch(runWs_, t, {ws, bytes});
  }
  const char *lastError() const { return lastError_(); }
  size_t workspaceSize(int64_t b, int64_t sq, int64_t skv) const { return wsSize_(b, sq, skv); }

private:
  EmuKernel() = default;
  struct Ws {
    void *ptr = nullptr;
    size_t bytes = 0;
    bool used = false;
    Ws() = default;
    Ws(void *p, size_t b) : ptr(p), bytes(b), used(true) {}
  };

  template <size_t... I>
  static int call(void *fn, const std::vector<const attnc_tensor *> &t, Ws ws, std::index_sequence<I...>) {
    if (ws.used) {
      using F = int (*)(decltype((void)I, static_cast<const attnc_tensor *>(nullptr))..., void *, size_t, void *);
      return reinterpret_cast<F>(fn)(t[I]..., ws.ptr, ws.bytes, nullptr);
    }
    using F = int (*)(decltype((void)I, static_cast<const attnc_tensor *>(nullptr))..., void *);
    return reinterpret_cast<F>(fn)(t[I]..., nullptr);
  }
  static int dispatch(void *fn, const std::vector<const attnc_tensor *> &t, Ws ws) {
    switch (t.size()) {
    case 4: return call(fn, t, ws, std::make_index_sequence<4>());
    case 5: return call(fn, t, ws, std::make_index_sequence<5>());
    case 6: return call(fn, t, ws, std::make_index_sequence<6>());
    case 7: return call(fn, t, ws, std::make_index_sequence<7>());
    case 8: return call(fn, t, ws, std::make_index_sequence<8>());
    case 9: return call(fn, t, ws, std::make_index_sequence<9>());
    case 10: return call(fn, t, ws, std::make_index_sequence<10>());
    case 11: return call(fn, t, ws, std::make_index_sequence<11>());
    case 12: return call(fn, t, ws, std::make_index_sequence<12>());
    }
    return -1;
  }

  void *handle_ = nullptr;
  void *run_ = nullptr, *runWs_ = nullptr;
  const char *(*lastError_)() = nullptr;
  size_t (*wsSize_)(int64_t, int64_t, int64_t) = nullptr;
};

}  // namespace attnc::test
