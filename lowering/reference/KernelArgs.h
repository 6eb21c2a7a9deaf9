// Random arguments (tests and `attnc bench`) for a kernel, held twice: as the f64 tensors the reference
// reads and as ABI tensors (attnc_tensor) in the kernel's dtype, with values
// rounded to that dtype first so both see the same numbers. Outputs are
// pre-filled with garbage (NaN) so an element a kernel forgets shows up.
#pragma once

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "attnc_runtime.h"
#include "lowering/kernel/KernelDesc.h"
#include "lowering/reference/Reference.h"

namespace attnc {

inline uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}
inline float fromBf16(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t toF16(float f) {
  _Float16 h = static_cast<_Float16>(f);
  uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
}
inline float fromF16(uint16_t u) {
  _Float16 h;
  std::memcpy(&h, &u, 2);
  return static_cast<float>(h);
}

/// Writes v (already representable) at element i of a buffer of dtype t; returns the stored value.
inline double storeAs(dsl::DType t, void *base, int64_t i, double v) {
  switch (t) {
  case dsl::DType::F32: {
    float f = static_cast<float>(v);
    static_cast<float *>(base)[i] = f;
    return f;
  }
  case dsl::DType::F16: {
    uint16_t h = toF16(static_cast<float>(v));
    static_cast<uint16_t *>(base)[i] = h;
    return fromF16(h);
  }
  case dsl::DType::BF16: {
    uint16_t h = toBf16(static_cast<float>(v));
    static_cast<uint16_t *>(base)[i] = h;
    return fromBf16(h);
  }
  case dsl::DType::I32: static_cast<int32_t *>(base)[i] = static_cast<int32_t>(v); return static_cast<int32_t>(v);
  case dsl::DType::U8: static_cast<uint8_t *>(base)[i] = static_cast<uint8_t>(v); return static_cast<uint8_t>(v);
  }
  return 0;
}

inline double loadAs(dsl::DType t, const void *base, int64_t i) {
  switch (t) {
  case dsl::DType::F32: return static_cast<const float *>(base)[i];
  case dsl::DType::F16: return fromF16(static_cast<const uint16_t *>(base)[i]);
  case dsl::DType::BF16: return fromBf16(static_cast<const uint16_t *>(base)[i]);
  case dsl::DType::I32: return static_cast<const int32_t *>(base)[i];
  case dsl::DType::U8: return static_cast<const uint8_t *>(base)[i];
  }
  return 0;
}

struct KernelArgs {
  std::vector<ArgDesc> sig;
  std::vector<HostTensor> host;                // every argument, values as stored
  std::vector<std::vector<unsigned char>> mem;  // storage of each argument
  std::vector<attnc_tensor> tensors;           // signature order, outputs last

  std::vector<const HostTensor *> inputs() const {
    std::vector<const HostTensor *> v;
    for (size_t i = 0; i < sig.size(); ++i)
      if (!sig[i].output) v.push_back(&host[i]);
    return v;
  }
  /// Output `i` (0: out, 1: lse) read back as f64.
  HostTensor output(size_t i) const {
    size_t a = sig.size() - (sig.back().name == "lse" ? 2 : 1) + i;
    HostTensor t(host[a].shape);
    for (int64_t e = 0; e < t.numel(); ++e) t.data[e] = loadAs(sig[a].dtype, mem[a].data(), e);
    return t;
  }
};


/// Floats from N(0, scale); integer inputs uniform in [0, 4); outputs NaN.
/// With keepHost false the f64 copies are left empty (shapes only): for
/// arguments too large to hold twice.
inline KernelArgs makeArgs(const KernelDesc &d, int64_t batch, int64_t seqQ, int64_t seqKv, uint32_t seed,
                           double scale = 1.0, bool keepHost = true) {
  KernelArgs a;
  a.sig = d.signature();
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::uniform_int_distribution<int> small(0, 3);
  for (const ArgDesc &arg : a.sig) {
    std::vector<int64_t> shape;
    for (const DimSym &s : arg.dims) shape.push_back(extentOf(s, d, batch, seqQ, seqKv));
    HostTensor h;
    h.shape = shape;
    const int64_t numel = h.numel();
    if (keepHost) h.data.assign(numel, 0);
    std::vector<unsigned char> mem(std::max<int64_t>(1, numel) * dsl::dtypeBytes(arg.dtype));
    for (int64_t e = 0; e < numel; ++e) {
      double v;
      if (arg.output) v = arg.dtype == dsl::DType::F32 || dsl::isFloat(arg.dtype) ? NAN : 0x5a;
      else if (dsl::isFloat(arg.dtype)) v = normal(rng);
      else v = small(rng);
      double stored = storeAs(arg.dtype, mem.data(), e, v);
      if (keepHost) h.data[e] = stored;
    }
    attnc_tensor t{};
    t.dtype = static_cast<int32_t>(arg.dtype);
    t.ndim = static_cast<int32_t>(shape.size());
    int64_t stride = 1;
    for (int i = t.ndim - 1; i >= 0; --i) {
      t.shape[i] = shape[i];
      t.stride[i] = stride;
      stride *= shape[i];
    }
    a.host.push_back(std::move(h));
    a.mem.push_back(std::move(mem));
    a.tensors.push_back(t);
  }
  for (size_t i = 0; i < a.tensors.size(); ++i) a.tensors[i].data = a.mem[i].data();
  return a;
}

/// Refills the `block_mask` argument (`sparse block B input`) of `a`, if it
/// has one: each block is kept with probability `density`, and query block
/// `emptyRow` (when >= 0 and present) keeps none in every (batch, head), so
/// that its rows are fully masked (out 0, lse -inf).
inline void fillBlockMask(KernelArgs &a, double density, uint32_t seed, int64_t emptyRow = -1) {
  for (size_t i = 0; i < a.sig.size(); ++i) {
    if (a.sig[i].name != "block_mask") continue;
    std::mt19937 rng(seed);
    std::bernoulli_distribution keep(density);
    const std::vector<int64_t> &shape = a.host[i].shape;  // [batch, heads, q blocks, kv blocks]
    const int64_t numel = a.host[i].numel();
    for (int64_t e = 0; e < numel; ++e) {
      const int64_t qb = (e / shape[3]) % shape[2];
      const double v = qb == emptyRow ? 0 : keep(rng) ? 1 : 0;
      static_cast<uint8_t *>(static_cast<void *>(a.mem[i].data()))[e] = static_cast<uint8_t>(v);
      if (!a.host[i].data.empty()) a.host[i].data[e] = v;
    }
  }
}

/// Low-rank test data: Linformer's e_proj and f_proj scaled by 1/sqrt(seq_kv),
/// MLA's k_up and v_up by 1/sqrt(rank), so that the keys and values they make
/// are of order 1 like every kernel's k and v
/// (the numerics contract's tolerances are absolute for values of order 1;
/// N(0, 1) projections would make them of order sqrt(seq_kv)).
inline void scaleProjections(KernelArgs &a) {
  for (size_t i = 0; i < a.sig.size(); ++i) {
    // (e_proj, f_proj: [R, seq_kv], over seq_kv; k_up, v_up: [kv_heads, R, dim], over R.)
    if (a.sig[i].name != "e_proj" && a.sig[i].name != "f_proj" && a.sig[i].name != "k_up" &&
        a.sig[i].name != "v_up")
      continue;
    const double f = 1.0 / std::sqrt(double(std::max<int64_t>(1, a.host[i].shape[1])));
    for (int64_t e = 0; e < a.host[i].numel(); ++e)
      a.host[i].data[e] = storeAs(a.sig[i].dtype, a.mem[i].data(), e, a.host[i].data[e] * f);
  }
}

struct Tolerance {
  double atol, rtol;
};
inline Tolerance toleranceFor(dsl::DType t) {
  switch (t) {
  case dsl::DType::F16: return {1e-3, 4e-3};
  case dsl::DType::BF16: return {8e-3, 1.6e-2};
  default: return {1e-5, 1e-4};
  }
}

/// The first element outside atol + rtol |ref| + extra(i), or "" when all match
/// (NaN matches only NaN, an infinity only itself).
template <typename Extra>
inline std::string compareTensors(const HostTensor &got, const HostTensor &ref, Tolerance tol, const char *what,
                                  Extra &&extra) {
  if (got.data.size() != ref.data.size()) return std::string(what) + ": size mismatch";
  int64_t bad = 0;
  std::string first;
  double worst = 0;
  for (size_t i = 0; i < ref.data.size(); ++i) {
    double g = got.data[i], r = ref.data[i];
    double bound = tol.atol + tol.rtol * std::fabs(r) + extra(i);
    // NaN matches NaN: the contract makes a row with a NaN score NaN.
    bool ok = (std::isnan(r) && std::isnan(g)) || (std::isinf(r) && g == r) || std::fabs(g - r) <= bound;
    if (!std::isinf(r) && std::isfinite(g)) worst = std::max(worst, std::fabs(g - r) / bound);
    if (!ok) {
      if (!bad)
        first = std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(g) + ", reference " +
                std::to_string(r);
      ++bad;
    }
  }
  if (!bad) return "";
  return first + " (" + std::to_string(bad) + " of " + std::to_string(ref.data.size()) +
         " elements off; worst error / tolerance " + std::to_string(worst) + ")";
}

inline std::string compareTensors(const HostTensor &got, const HostTensor &ref, Tolerance tol, const char *what) {
  return compareTensors(got, ref, tol, what, [](size_t) { return 0.0; });
}

/// The f32 score-rounding term of the numerics contract: a score s is held to
/// |s| 2^-24, so each weight exp(s - m) moves by up to about |s|max 2^-23 of
/// itself and an output by that times max |v|. Zero for scores of order 1.
inline double scoreRoundingBound(double scoreMax, double vMax) { return std::ldexp(scoreMax, -22) * vMax; }

/// Compares a kernel's outputs in `args` with the reference's `out`/`lse` under
/// the numerics contract (the dtype's tolerance plus the f32 score-rounding
/// term per row, from `smax`). "" when they match, else the first mismatch.
inline std::string compareWithReference(const KernelDesc &d, const KernelArgs &args, const HostTensor &out,
                                        const HostTensor &lse, const HostTensor &smax, int64_t seqQ) {
  double vmax = 0;
  for (double x : args.host[2].data) vmax = std::max(vmax, std::fabs(x));
  const int64_t H = d.heads, Dv = d.valueDim;
  const bool bshd = d.layout == dsl::Layout::BSHD;
  auto outExtra = [&](size_t i) {  // the row (b, h, q) of out element i
    int64_t row = static_cast<int64_t>(i) / Dv, b, h, q;
    if (bshd) h = row % H, q = (row / H) % seqQ, b = row / (H * seqQ);
    else q = row % seqQ, h = (row / seqQ) % H, b = row / (H * seqQ);
    return scoreRoundingBound(smax.data[(b * H + h) * seqQ + q], vmax);
  };
  std::string bad = compareTensors(args.output(0), out, toleranceFor(d.dtype), "out", outExtra);
  if (bad.empty() && d.outputLse)
    bad = compareTensors(args.output(1), lse, toleranceFor(dsl::DType::F32), "lse",
                         [&](size_t i) { return scoreRoundingBound(smax.data[i], 1.0); });
  return bad;
}

}  // namespace attnc
