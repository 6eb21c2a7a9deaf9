// attnc's CUDA tuning timer (docs/tuning.md, "CUDA"): `attnc tune -target
// cuda` writes this file into a scratch directory beside the candidates and
// compiles it with nvcc (a GPU) or with g++ -DATTNC_SIMT_EMULATION (the
// SIMT emulator: its times mean nothing, the path is what is tested).
//
//   attnc_cuda_timer JOB_DIR
//
// JOB_DIR/job.txt, one item per line:
//   kernel NAME
//   shape B SQ SKV B SQ SKV   the check shape and the timing shape
//   rounds R            timing rounds; each times every candidate once, in an
//   sample SECONDS      order rotated per round, for about SECONDS of calls
//   arg OUTPUT DTYPE NDIM c0 c1 c2 c3 t0 t1 t2 t3
//                       each argument in signature order (outputs last): its
//                       extents on the check shape (c) and the timing shape (t)
//   cand PATH.so        each candidate: NAME.cu built as a shared library
//                       (a relative PATH is relative to JOB_DIR)
// Inputs come from JOB_DIR/check-I.bin and time-I.bin (I: the argument's
// index; contiguous, row-major); a float input without its time-I.bin is
// generated here (uniform in [-1, 1): its values do not change the time). Every candidate runs once on the check
// shape and its outputs go to JOB_DIR/out-C-I.bin (attnc compares them with
// the reference); then the candidates that ran are timed on the timing
// shape. Standard output, one line each:
//   DEVICE NAME
//   CHECK C STATUS MESSAGE
//   TIME C SECONDS_PER_CALL
// Exit status 0, or 2 with `ERROR message` when the job cannot run.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "attnc_device.cuh"
#include "attnc_runtime.h"

namespace {

struct Arg {
  bool output = false;
  int dtype = 0, ndim = 0;
  int64_t shape[2][4] = {};
};

struct Candidate {
  std::string path;
  void *handle = nullptr, *run = nullptr;
  size_t (*workspace)(int64_t, int64_t, int64_t) = nullptr;
  const char *(*lastError)() = nullptr;
  bool ran = false;
};

size_t dtypeBytes(int t) { return t == ATTNC_F16 || t == ATTNC_BF16 ? 2 : (t == ATTNC_U8 ? 1 : 4); }

[[noreturn]] void fail(const std::string &why) {
  std::printf("ERROR %s\n", why.c_str());
  std::fflush(stdout);
  std::exit(2);
}

// NAME_cuda_ws(const attnc_tensor *..., void *workspace, size_t bytes, void *stream).
template <size_t... I>
int callN(void *fn, const attnc_tensor *t, void *ws, size_t bytes, std::index_sequence<I...>) {
  using F = int (*)(decltype((void)I, static_cast<const attnc_tensor *>(nullptr))..., void *, size_t, void *);
  return reinterpret_cast<F>(fn)(&t[I]..., ws, bytes, nullptr);
}
int call(void *fn, const std::vector<attnc_tensor> &t, void *ws, size_t bytes) {
  switch (t.size()) {
  case 4: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<4>());
  case 5: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<5>());
  case 6: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<6>());
  case 7: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<7>());
  case 8: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<8>());
  case 9: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<9>());
  case 10: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<10>());
  case 11: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<11>());
  case 12: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<12>());
  case 13: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<13>());
  case 14: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<14>());
  case 15: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<15>());
  case 16: return callN(fn, t.data(), ws, bytes, std::make_index_sequence<16>());
  }
  fail("too many arguments (at most 16)");
}

std::vector<unsigned char> readFile(const std::string &path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> v(bytes);
  if (!in.read(reinterpret_cast<char *>(v.data()), static_cast<std::streamsize>(bytes)))
    fail("cannot read " + std::to_string(bytes) + " bytes of " + path);
  return v;
}

// Host-side rounding to 16-bit floats (round to nearest even; the device
// runtime's conversions are device functions under nvcc).
uint16_t hostBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}
uint16_t hostF16(float f) {  // (|f| <= 1 here: normal or subnormal, never overflowing)
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a < 0x38800000u) {
    float x;
    std::memcpy(&x, &a, 4);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(x * 16777216.0f)));
  }
  uint32_t h = (((a >> 23) - 112) << 10) | ((a & 0x7fffffu) >> 13), rest = a & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

/// A float input of the timing shape that attnc left to the timer (its
/// values do not change the time; carrying them would make jobs large):
/// uniform in [-1, 1), from splitmix64.
std::vector<unsigned char> generated(int dtype, size_t bytes) {
  std::vector<unsigned char> v(bytes);
  uint64_t state = 0x5eedull ^ bytes;
  const size_t n = bytes / dtypeBytes(dtype);
  for (size_t e = 0; e < n; ++e) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const float u = static_cast<float>(static_cast<double>(z >> 11) / 9007199254740992.0 * 2 - 1);
    if (dtype == ATTNC_F32) std::memcpy(&v[e * 4], &u, 4);
    else {
      const uint16_t h = dtype == ATTNC_BF16 ? hostBf16(u) : hostF16(u);
      std::memcpy(&v[e * 2], &h, 2);
    }
  }
  return v;
}

/// The arguments of shape `s` (0: check, 1: timing) in device memory.
struct DeviceArgs {
  std::vector<attnc_tensor> t;
  std::vector<void *> mem;
  std::vector<size_t> bytes;
  DeviceArgs(const std::vector<Arg> &args, int s, const std::string &dir) {
    for (size_t i = 0; i < args.size(); ++i) {
      const Arg &a = args[i];
      attnc_tensor x;
      std::memset(&x, 0, sizeof x);
      x.dtype = a.dtype;
      x.ndim = a.ndim;
      int64_t count = 1;
      for (int d = a.ndim - 1; d >= 0; --d) {
        x.shape[d] = a.shape[s][d];
        x.stride[d] = count;
        count *= a.shape[s][d];
      }
      const size_t n = static_cast<size_t>(std::max<int64_t>(count, 1)) * dtypeBytes(a.dtype);
      void *p = nullptr;
      if (attnc_dev::device_malloc(&p, n)) fail("cannot allocate " + std::to_string(n) + " bytes of device memory");
      if (!a.output) {
        const std::string file = dir + (s ? "/time-" : "/check-") + std::to_string(i) + ".bin";
        std::vector<unsigned char> h = s && !std::ifstream(file) ? generated(a.dtype, n) : readFile(file, n);
        if (attnc_dev::device_copy(p, h.data(), n, true)) fail("cannot copy an input to the device");
      }
      x.data = p;
      t.push_back(x);
      mem.push_back(p);
      bytes.push_back(n);
    }
  }
  ~DeviceArgs() {
    for (void *p : mem) attnc_dev::device_free(p);
  }
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) fail("usage: attnc_cuda_timer JOB_DIR");
  const std::string dir = argv[1];
  std::ifstream job(dir + "/job.txt");
  if (!job) fail("cannot read " + dir + "/job.txt");
  std::string name, line;
  int rounds = 3;
  double sample = 0.05;
  int64_t shapes[2][3] = {};  // batch, seq_q, seq_kv of the check and timing shapes
  std::vector<Arg> args;
  std::vector<Candidate> cands;
  while (std::getline(job, line)) {
    std::istringstream in(line);
    std::string key;
    if (!(in >> key)) continue;
    if (key == "kernel") in >> name;
    else if (key == "rounds") in >> rounds;
    else if (key == "sample") in >> sample;
    else if (key == "shape") in >> shapes[0][0] >> shapes[0][1] >> shapes[0][2] >> shapes[1][0] >> shapes[1][1] >> shapes[1][2];
    else if (key == "arg") {
      Arg a;
      int out = 0;
      in >> out >> a.dtype >> a.ndim;
      for (int s = 0; s < 2; ++s)
        for (int d = 0; d < 4; ++d) in >> a.shape[s][d];
      a.output = out != 0;
      if (!in || a.ndim < 1 || a.ndim > 4) fail("malformed line: " + line);
      args.push_back(a);
    } else if (key == "cand") {
      Candidate c;
      in >> c.path;
      cands.push_back(c);
    } else {
      fail("unknown line: " + line);
    }
  }
  if (name.empty() || args.size() < 4 || cands.empty()) fail("incomplete job file");

#ifdef ATTNC_SIMT_EMULATION
  std::printf("DEVICE SIMT emulator\n");
#else
  {
    cudaDeviceProp prop;
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess)
      fail("no CUDA device");
    std::printf("DEVICE %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  }
#endif
  std::fflush(stdout);

  for (Candidate &c : cands) {
    if (!c.path.empty() && c.path[0] != '/') c.path = dir + "/" + c.path;  // (relative to the job)
    c.handle = dlopen(c.path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!c.handle) continue;  // (reported by the check)
    c.run = dlsym(c.handle, (name + "_cuda_ws").c_str());
    c.workspace = reinterpret_cast<size_t (*)(int64_t, int64_t, int64_t)>(
        dlsym(c.handle, (name + "_cuda_workspace_size").c_str()));
    c.lastError = reinterpret_cast<const char *(*)()>(dlsym(c.handle, (name + "_last_error").c_str()));
    if (!c.run || !c.workspace || !c.lastError) c.run = nullptr;
  }

  // Each candidate's own workspace (what its schedule asks for), allocated once.
  auto runOn = [&](Candidate &c, const DeviceArgs &a, int s) {
    const size_t need = c.workspace(shapes[s][0], shapes[s][1], shapes[s][2]);
    void *ws = nullptr;
    if (need && attnc_dev::device_malloc(&ws, need)) fail("cannot allocate the workspace");
    const int rc = call(c.run, a.t, ws, need);
    const int sync = attnc_dev::device_synchronize();
    if (ws) attnc_dev::device_free(ws);
    return rc != ATTNC_OK ? rc : sync ? ATTNC_E_DEVICE : ATTNC_OK;
  };

  // ---- The check shape: every candidate's outputs to files.
  {
    DeviceArgs a(args, 0, dir);
    for (size_t c = 0; c < cands.size(); ++c) {
      Candidate &k = cands[c];
      if (!k.run) {
        std::printf("CHECK %zu %d cannot load %s: %s\n", c, ATTNC_E_INTERNAL, k.path.c_str(), dlerror());
        continue;
      }
      // Outputs start as NaN (0xff bytes): an element a kernel forgets shows up.
      for (size_t i = 0; i < args.size(); ++i)
        if (args[i].output) {
          std::vector<unsigned char> nan(a.bytes[i], 0xff);
          attnc_dev::device_copy(a.mem[i], nan.data(), nan.size(), true);
        }
      const int rc = runOn(k, a, 0);
      if (rc != ATTNC_OK) {
        std::printf("CHECK %zu %d %s\n", c, rc, k.lastError());
        continue;
      }
      for (size_t i = 0; i < args.size(); ++i) {
        if (!args[i].output) continue;
        std::vector<unsigned char> h(a.bytes[i]);
        attnc_dev::device_copy(h.data(), a.mem[i], h.size(), false);
        std::ofstream(dir + "/out-" + std::to_string(c) + "-" + std::to_string(i) + ".bin", std::ios::binary)
            .write(reinterpret_cast<const char *>(h.data()), static_cast<std::streamsize>(h.size()));
      }
      k.ran = true;
      std::printf("CHECK %zu 0 ok\n", c);
      std::fflush(stdout);
    }
  }

  // ---- The timing shape: a warm-up call each (which also sizes a sample),
  // then rounds of samples, the candidates in a rotated order each round so
  // that drift (clocks, temperature, neighbours) hits all of them alike.
  DeviceArgs a(args, 1, dir);
  size_t wsBytes = 0;
  for (Candidate &k : cands)
    if (k.ran) wsBytes = std::max(wsBytes, k.workspace(shapes[1][0], shapes[1][1], shapes[1][2]));
  void *ws = nullptr;
  if (wsBytes && attnc_dev::device_malloc(&ws, wsBytes)) fail("cannot allocate the workspace");
  std::vector<int> reps(cands.size(), 1);
  for (size_t c = 0; c < cands.size(); ++c) {
    Candidate &k = cands[c];
    if (!k.ran) continue;
    const double t0 = now();
    const int rc = call(k.run, a.t, ws, wsBytes);
    if (rc != ATTNC_OK || attnc_dev::device_synchronize()) {
      std::printf("CHECK %zu %d on the timing shape: %s\n", c, rc ? rc : ATTNC_E_DEVICE, k.lastError());
      k.ran = false;
      continue;
    }
    const double t = now() - t0;
    reps[c] = static_cast<int>(std::clamp(sample / std::max(t, 1e-7), 1.0, 10000.0));
  }
  for (int r = 0; r < rounds; ++r)
    for (size_t j = 0; j < cands.size(); ++j) {
      const size_t c = (j + static_cast<size_t>(r)) % cands.size();
      if (!cands[c].ran) continue;
      attnc_dev::device_synchronize();
      const double t0 = now();
      for (int i = 0; i < reps[c]; ++i) call(cands[c].run, a.t, ws, wsBytes);
      attnc_dev::device_synchronize();
      std::printf("TIME %zu %.9g\n", c, (now() - t0) / reps[c]);
      std::fflush(stdout);
    }
  if (ws) attnc_dev::device_free(ws);
  return 0;
}
