// gpu_runner: runs one generated kernel on the GPU and through the SIMT
// emulator on the same inputs and compares the two (scripts/gpu-check).
//
//   gpu_runner NAME.h GPU.so EMU.so B,SQ,SKV [B,SQ,SKV ...]
//
// GPU.so is NAME.cu compiled by nvcc, EMU.so the same file compiled as C++
// with -DATTNC_SIMT_EMULATION; both export NAME_cuda. The emulated kernels
// are checked against the reference interpreter in CI (attnc_cuda_tests) on
// the same examples, so agreement here carries the reference's verdict over
// to the hardware: layouts of ldmatrix/mma, cp.async, shuffles, exp2.approx.
// The argument list and sizes are read from NAME.h's comment. Inputs are
// pseudo-random (splitmix64), floats in [-1, 1), integers in [0, 4).
//
// Built with nvcc (real device memory), or with g++ -DATTNC_SIMT_EMULATION
// for CI's smoke test of this tool. Exit status: 0 all agree, 1 otherwise.
#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "attnc_device.cuh"
#include "dsl/SizeExpr.h"
#include "attnc_runtime.h"

double attnc_simt_f16(uint16_t h);
double attnc_simt_bf16(uint16_t h);

// Host-side rounding to 16-bit floats (round to nearest even; the device
// runtime's conversions are device functions under nvcc).
static uint16_t host_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}
static uint16_t host_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);
  if (a < 0x38800000u) {
    float x;
    std::memcpy(&x, &a, 4);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(x * 16777216.0f)));
  }
  uint32_t h = (((a >> 23) - 112) << 10) | ((a & 0x7fffffu) >> 13), rest = a & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

namespace {

struct Arg {
  std::string name, dtype;
  std::vector<std::string> dims;
  bool output = false;
};

struct Kernel {
  std::string name;
  std::map<std::string, int64_t> sizes;
  std::string dtype;
  std::vector<Arg> args;
};

bool parseHeader(const std::string &path, Kernel &k, std::string &err) {
  std::ifstream in(path);
  if (!in) {
    err = "cannot read " + path;
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("/* ", 0) == 0 && k.name.empty()) {
      k.name = line.substr(3, line.find(".h") - 3);
    } else if (line.find(" * Sizes: ") == 0) {
      std::istringstream ss(line.substr(10));
      std::string kv;
      while (ss >> kv) {
        size_t eq = kv.find('=');
        if (kv.substr(0, eq) == "dtype") k.dtype = kv.substr(eq + 1);
        else k.sizes[kv.substr(0, eq)] = std::stoll(kv.substr(eq + 1));
      }
    } else if (line.find(" *   ") == 0 && line.find(" : ") != std::string::npos) {
      Arg a;
      std::string rest = line.substr(5);
      a.name = rest.substr(0, rest.find(' '));
      std::string ty = rest.substr(rest.find(" : ") + 3);
      a.dtype = ty.substr(0, ty.find('['));
      std::string dims = ty.substr(ty.find('[') + 1, ty.find(']') - ty.find('[') - 1);
      // Split at the commas outside parentheses (`ceil_div(seq_q, 16)` is one dim).
      std::string d;
      int depth = 0;
      for (char c : dims + ",") {
        if (c == ',' && depth == 0) {
          d.erase(0, d.find_first_not_of(' '));
          a.dims.push_back(d);
          d.clear();
          continue;
        }
        depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        d += c;
      }
      a.output = line.find("(output)") != std::string::npos;
      k.args.push_back(a);
    }
  }
  if (k.name.empty() || k.args.empty() || k.dtype.empty()) {
    err = path + " does not look like a header attnc -target cuda wrote";
    return false;
  }
  return true;
}

int dtypeCode(const std::string &t) {
  if (t == "f32") return ATTNC_F32;
  if (t == "f16") return ATTNC_F16;
  if (t == "bf16") return ATTNC_BF16;
  if (t == "i32") return ATTNC_I32;
  return ATTNC_U8;
}
size_t dtypeBytes(int t) { return t == ATTNC_F16 || t == ATTNC_BF16 ? 2 : (t == ATTNC_U8 ? 1 : 4); }

uint64_t splitmix(uint64_t &s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double loadElem(int t, const void *p, size_t i) {
  switch (t) {
  case ATTNC_F32: return static_cast<const float *>(p)[i];
  case ATTNC_F16: return attnc_simt_f16(static_cast<const uint16_t *>(p)[i]);
  case ATTNC_BF16: return attnc_simt_bf16(static_cast<const uint16_t *>(p)[i]);
  case ATTNC_I32: return static_cast<const int32_t *>(p)[i];
  default: return static_cast<const uint8_t *>(p)[i];
  }
}

template <size_t... I>
int callN(void *fn, attnc_tensor *t, std::index_sequence<I...>) {
  using F = int (*)(decltype((void)I, static_cast<attnc_tensor *>(nullptr))..., void *);
  return reinterpret_cast<F>(fn)(&t[I]..., nullptr);
}
int call(void *fn, std::vector<attnc_tensor> &t) {
  switch (t.size()) {
  case 4: return callN(fn, t.data(), std::make_index_sequence<4>());
  case 5: return callN(fn, t.data(), std::make_index_sequence<5>());
  case 6: return callN(fn, t.data(), std::make_index_sequence<6>());
  case 7: return callN(fn, t.data(), std::make_index_sequence<7>());
  case 8: return callN(fn, t.data(), std::make_index_sequence<8>());
  case 9: return callN(fn, t.data(), std::make_index_sequence<9>());
  case 10: return callN(fn, t.data(), std::make_index_sequence<10>());
  }
  return -1;
}

}  // namespace

// 16-bit float decoders (host side, no CUDA headers needed).
double attnc_simt_f16(uint16_t h) {
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v = e == 0 ? std::ldexp(m, -24) : (e == 31 ? (m ? NAN : INFINITY) : std::ldexp(1024 + m, e - 25));
  return (h & 0x8000) ? -v : v;
}
double attnc_simt_bf16(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: gpu_runner NAME.h GPU.so EMU.so B,SQ,SKV [B,SQ,SKV ...]\n");
    return 2;
  }
  Kernel k;
  std::string err;
  if (!parseHeader(argv[1], k, err)) {
    std::fprintf(stderr, "gpu_runner: %s\n", err.c_str());
    return 2;
  }
  void *gpu = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL), *emu = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL);
  if (!gpu || !emu) {
    std::fprintf(stderr, "gpu_runner: dlopen: %s\n", dlerror());
    return 2;
  }
  void *gpuFn = dlsym(gpu, (k.name + "_cuda").c_str()), *emuFn = dlsym(emu, (k.name + "_cuda").c_str());
  auto gpuErr = reinterpret_cast<const char *(*)()>(dlsym(gpu, (k.name + "_last_error").c_str()));
  auto emuErr = reinterpret_cast<const char *(*)()>(dlsym(emu, (k.name + "_last_error").c_str()));
  if (!gpuFn || !emuFn || !gpuErr || !emuErr) {
    std::fprintf(stderr, "gpu_runner: %s_cuda missing\n", k.name.c_str());
    return 2;
  }
  const double atol = k.dtype == "f16" ? 1e-3 : k.dtype == "bf16" ? 8e-3 : 1e-5;
  const double rtol = k.dtype == "f16" ? 4e-3 : k.dtype == "bf16" ? 1.6e-2 : 1e-4;
  int failures = 0;
  for (int s = 4; s < argc; ++s) {
    long long B, SQ, SKV;
    if (std::sscanf(argv[s], "%lld,%lld,%lld", &B, &SQ, &SKV) != 3) {
      std::fprintf(stderr, "gpu_runner: bad shape `%s`\n", argv[s]);
      return 2;
    }
    std::map<std::string, int64_t> ext = k.sizes;
    ext["batch"] = B, ext["seq_q"] = SQ, ext["seq_kv"] = SKV;
    const size_t n = k.args.size();
    std::vector<std::vector<unsigned char>> host(n), emuOut(n);
    std::vector<attnc_tensor> th(n), td(n);
    std::vector<void *> dev(n, nullptr);
    uint64_t seed = 0x5eed ^ (static_cast<uint64_t>(SQ) << 20) ^ (static_cast<uint64_t>(SKV) << 40) ^ B;
    for (size_t i = 0; i < n; ++i) {
      const Arg &a = k.args[i];
      attnc_tensor &t = th[i];
      std::memset(&t, 0, sizeof t);
      t.dtype = dtypeCode(a.dtype);
      t.ndim = static_cast<int32_t>(a.dims.size());
      int64_t count = 1;
      for (int d = t.ndim - 1; d >= 0; --d) {
        const std::string &sym = a.dims[d];
        if (ext.count(sym)) {
          t.shape[d] = ext[sym];
        } else if (auto e = attnc::dsl::SizeExpr::parse(sym)) {  // an integer or a size expression
          t.shape[d] = e->eval(B, SQ, SKV);
        } else {
          std::fprintf(stderr, "gpu_runner: cannot read dimension `%s` of `%s`\n", sym.c_str(), a.name.c_str());
          return 2;
        }
        t.stride[d] = count;
        count *= t.shape[d];
      }
      const size_t bytes = static_cast<size_t>(count) * dtypeBytes(t.dtype);
      host[i].assign(bytes, 0xff);  // outputs start as NaN
      if (!a.output)
        for (int64_t e = 0; e < count; ++e) {
          uint64_t r = splitmix(seed);
          double u = static_cast<double>(r >> 11) / 9007199254740992.0 * 2 - 1;
          void *p = host[i].data();
          switch (t.dtype) {
          case ATTNC_F32: static_cast<float *>(p)[e] = static_cast<float>(u); break;
          case ATTNC_F16: static_cast<uint16_t *>(p)[e] = host_f16(static_cast<float>(u)); break;
          case ATTNC_BF16: static_cast<uint16_t *>(p)[e] = host_bf16(static_cast<float>(u)); break;
          case ATTNC_I32: static_cast<int32_t *>(p)[e] = static_cast<int32_t>(r % 4); break;
          default: static_cast<uint8_t *>(p)[e] = static_cast<uint8_t>(r % 2); break;
          }
        }
      emuOut[i] = host[i];
      t.data = emuOut[i].data();
      td[i] = t;
      if (attnc_dev::device_malloc(&dev[i], bytes) || attnc_dev::device_copy(dev[i], host[i].data(), bytes, true)) {
        std::fprintf(stderr, "gpu_runner: device memory failed\n");
        return 2;
      }
      td[i].data = dev[i];
    }
    int rc = call(emuFn, th);
    if (rc != ATTNC_OK) {
      std::printf("FAIL %s %s: emulator status %d: %s\n", k.name.c_str(), argv[s], rc, emuErr());
      ++failures;
      continue;
    }
    rc = call(gpuFn, td);
    int sync = attnc_dev::device_synchronize();
    if (rc != ATTNC_OK || sync) {
      std::printf("FAIL %s %s: GPU status %d (%s), sync %d\n", k.name.c_str(), argv[s], rc, gpuErr(), sync);
      ++failures;
      continue;
    }
    auto t0 = std::chrono::steady_clock::now();
    const int reps = 5;
    for (int r = 0; r < reps; ++r) call(gpuFn, td);
    attnc_dev::device_synchronize();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
    double worst = 0;
    std::string bad;
    for (size_t i = 0; i < n; ++i) {
      if (!k.args[i].output) continue;
      std::vector<unsigned char> got(host[i].size());
      attnc_dev::device_copy(got.data(), dev[i], got.size(), false);
      const size_t count = got.size() / dtypeBytes(th[i].dtype);
      // lse is f32 whatever the spec's dtype: held to the f32 tolerance.
      const bool f32 = th[i].dtype == ATTNC_F32;
      const double at = f32 ? 1e-5 : atol, rt = f32 ? 1e-4 : rtol;
      for (size_t e = 0; e < count; ++e) {
        double g = loadElem(th[i].dtype, got.data(), e), r = loadElem(th[i].dtype, emuOut[i].data(), e);
        double bound = at + rt * std::fabs(r);
        bool ok = (std::isinf(r) && g == r) || std::fabs(g - r) <= bound;
        if (std::isfinite(r) && std::isfinite(g)) worst = std::max(worst, std::fabs(g - r) / bound);
        if (!ok && bad.empty()) {
          char buf[160];
          std::snprintf(buf, sizeof buf, "%s[%zu] = %g on the GPU, %g emulated", k.args[i].name.c_str(), e, g, r);
          bad = buf;
        }
      }
    }
    for (void *p : dev) attnc_dev::device_free(p);
    if (!bad.empty()) {
      std::printf("FAIL %s %s: %s\n", k.name.c_str(), argv[s], bad.c_str());
      ++failures;
    } else {
      std::printf("PASS %s %s: worst error %.3f of the tolerance, %.3f ms per call\n", k.name.c_str(), argv[s], worst,
                  ms);
    }
  }
  return failures ? 1 : 0;
}
