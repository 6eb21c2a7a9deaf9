// The x86 kernel as one Halide pipeline. Structure (docs/x86.md):
//
//   out(dv, q, h, b)        final: acc / l per row, lse = m + log l
//    fin(dv, r, qt, hk, b)   merge of the kv splits (online-softmax combine)
//     state(dv, r, qt, s, hk, b) = {m, l, acc}   per split s of the kv tiles:
//        update 1: the Full tiles of the q-tile  (no mask code)
//        update 2: the Partial tiles             (mask, kv tail)
//        each update, per kv tile kt: S = Q.K^T (+score_mod), m_t = rowmax S,
//        P = exp(S - m_t), l_t = rowsum P, O_t = P.V, then the combine.
//     cls(kt, qt, hk, b)   tile class: 0 empty, 1 partial, 2 full
//
// Rows r of a q-tile are (query position, head of the GQA group) pairs:
// q = qt * qPerTile + r / group, h = hk * group + r % group.
//
// bf16dot (schedule knob): Q.K^T and P.V on vdpbf16ps, compiled through
// bitcode and llc-19 rather than Halide's own x86 code generator (why:
// compileRetargeted).
#include "lowering/x86/ToHalide.h"
#include "lowering/kernel/OutputFile.h"
#include "lowering/x86/Policy.h"
#include "lowering/x86/Templates.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <Halide.h>
#include <fmt/format.h>

namespace attnc::x86 {

using namespace Halide;
using Halide::Internal::const_false;
using Halide::Internal::const_true;

namespace {

Type halideType(dsl::DType t) {
  switch (t) {
  case dsl::DType::F32: return Float(32);
  case dsl::DType::F16: return Float(16);
  case dsl::DType::BF16: return BFloat(16);
  case dsl::DType::I32: return Int(32);
  case dsl::DType::U8: return UInt(8);
  }
  return Float(32);
}

const float kNegInf = -std::numeric_limits<float>::infinity();

/// e^x for f32 in a form that vectorizes: x = k ln2 + r (Cody-Waite, two
/// constants), e^r by a degree-7 Taylor polynomial on |r| <= ln2/2 (relative
/// error < 1e-8 before rounding), times 2^k built in the exponent bits. The
/// argument is clamped to [-88, 88.7]: at -88, k = -127 builds 2^k as +0, so
/// e^x is exactly 0 below about -87.7 (e^-inf = 0: masked scores weigh
/// nothing) and a normal float above. Halide's fast_exp (about 2^-18 relative)
/// was too coarse for f32's 1e-4 tolerance once errors add over long rows;
/// libm's exp does not vectorize.
///
/// NaN in, NaN out (the numerics contract, docs/language.md): Halide's clamp,
/// min and max, and its own exp, turn a NaN into a number, so every
/// transcendental here passes a NaN argument through explicitly.
Expr vexp(const Expr &x0) {
  Expr x = clamp(x0, -88.0f, 88.7f);
  Expr k = floor(x * 1.44269504088896341f + 0.5f);
  Expr r = x - k * 0.693145751953125f;
  r = r - k * 1.428606765330187e-06f;
  Expr p = 1.0f / 5040;
  for (float c : {1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) p = p * r + c;
  Expr scale = reinterpret<float>((cast<int32_t>(k) + 127) << 23);
  return select(is_nan(x0), x0, p * scale);
}

Expr expF(const Expr &x, bool fast) { return fast ? vexp(x) : select(is_nan(x), x, exp(x)); }

Expr tanhF(const Expr &x, bool fast) {
  if (!fast) return select(is_nan(x), x, tanh(x));
  // tanh(x) = sign(x) (1 - 2 / (exp(2|x|) + 1)); exp saturates harmlessly.
  Expr e = vexp(min(2.0f * abs(x), 80.0f));
  Expr t = 1.0f - 2.0f / (e + 1.0f);
  return select(is_nan(x), x, select(x < 0, -t, t));
}

/// The one rule of what this backend takes (the driver's target table asks it through unsupported()).
std::string unsupportedReason(const KernelDesc &d) {
  if (!d.prunedHeads.empty() && d.headTable.empty())
    return "attention `" + d.name + "` prunes heads but has no head plan: the `plan-heads` pass has not run";
  return "";
}

class Builder {
public:
  Builder(const KernelDesc &d, const KernelRegions &rg, const MaskInfo &mi, const Schedule &s, Isa isa)
      : d_(d), rg_(rg), mi_(mi), s_(s), isa_(isa) {}

  /// The algorithm, then the schedule (Halide's split: defineAlgorithm says
  /// what every Func computes; applySchedule says where and how). The tile
  /// sizes (qPerTile, tileKv), allHeads and fastExp are knobs of the
  /// algorithm itself: the online softmax is defined over kv tiles.
  bool build(std::string &error, bool schedule = true) {
    // Without our schedule (Halide's autoschedulers schedule it), the
    // algorithm takes its analyzable form: see auto_ below.
    auto_ = !schedule;
    if (!defineAlgorithm(error)) return false;
    if (schedule) applySchedule();
    return true;
  }

  /// Halide's autoschedulers need estimates of every input's and the
  /// output's extents: the ABI shapes at this call's sizes.
  void setEstimates(int64_t batch, int64_t seqQ, int64_t seqKv) {
    const std::vector<ArgDesc> sig = d_.signature();
    size_t i = 0;
    for (const ArgDesc &a : sig) {
      if (a.output) continue;
      ImageParam &p = params_[i++];
      Region est;
      for (auto it = a.dims.rbegin(); it != a.dims.rend(); ++it)  // (Halide's dims: innermost first)
        est.push_back(Range(0, static_cast<int>(extentOf(*it, d_, batch, seqQ, seqKv))));
      p.set_estimates(est);
    }
    nsplit_.set_estimate(1);
    const bool bs = bshd();
    out_.set_estimate(dv, 0, static_cast<int>(d_.valueDim))
        .set_estimate(qv, 0, static_cast<int>(seqQ))
        .set_estimate(hv, 0, static_cast<int>(d_.heads))
        .set_estimate(b, 0, static_cast<int>(batch));
    (void)bs;
  }

  std::vector<Argument> arguments() const {
    std::vector<Argument> args;
    for (const ImageParam &p : params_) args.push_back(p);
    args.push_back(nsplit_);
    return args;
  }

  const KernelDesc &d_;
  const KernelRegions &rg_;
  const MaskInfo &mi_;
  const Schedule &s_;
  Isa isa_;

  std::vector<ImageParam> params_;  // signature order, outputs excluded
  Param<int32_t> nsplit_{"nsplit"};
  Func out_{"out"};

private:
  // ABI tensors by name.
  ImageParam &param(const std::string &name) {
    for (ImageParam &p : params_)
      if (p.name() == name) return p;
    throw std::runtime_error("no parameter " + name);
  }
  Expr qAt(Expr d, Expr s, Expr h, Expr b) {
    return bshd() ? param("q")(d, h, s, b) : param("q")(d, s, h, b);
  }
  /// Key/value element (d, position s) of kv head h: k and v as given, or
  /// with Linformer (`low_rank seq`) the projected E.K and F.V (f64 sums,
  /// stored in the kernel's type).
  Expr kvAt(const char *t, Expr d, Expr s, Expr h, Expr b) {
    if (mla) return param("latent")(d, s, b);  // (absorbed: keys and values are the latent rows)
    if (mlaMat) {
      // (Only top-T's means read keys outside the tiles: K in f64, exactly.)
      if (std::string(t) != "k") throw std::runtime_error("mlamat: values are read in tiles only");
      return kExact(d, s, h, b);
    }
    if (linformer) {
      // Stored in the kernel's type, as keys and values are (docs/language.md).
      Expr e = std::string(t) == "k" ? projK(d, s, h, b) : projV(d, s, h, b);
      return cast(halideType(d_.dtype), cast<float>(e));
    }
    return bshd() ? param(t)(d, h, s, b) : param(t)(d, s, h, b);
  }
  bool bshd() const { return d_.layout == dsl::Layout::BSHD; }

  /// The value of a region program for one (b, h, q, kv) (and score).
  Expr evalProgram(const Program &p, Expr score, Expr b, Expr h, Expr q, Expr kv);

  bool defineAlgorithm(std::string &error);
  void applySchedule();

  Expr seqQ_, seqKv_, batch_;
  // The form Halide's autoschedulers get: one chain (every tile's pairs
  // tested: no tile classes, whose data-dependent loop bounds their
  // analyses cannot bound), every kv tile visited in one pass (no kv splits
  // and no merge), the same numbers otherwise.
  bool auto_ = false;
  // Sizes the algorithm is defined with: query heads per tile row group (G;
  // the real GQA group Greal), query positions per tile (QT), kv rows per
  // tile (TK), rows per tile (TQ = QT x G), head_dim (D), value_dim (Dv).
  int Greal = 1, G = 1, QT = 1, TK = 1, TQ = 1, D = 1, Dv = 1;
  // Query heads per kv-head task in the output's loops (heads with allHeads).
  int Gout = 1;
  // Pruned heads (the plan's head table): a tile row's head from headTab
  // (tile group x row slot), an output head's row slot from slotTab (-1:
  // pruned), and whether a tile group computes anything (groupOn).
  bool pruned = false;
  Buffer<int32_t> headTab, slotTab;
  Buffer<uint8_t> groupOn;

  // The pipeline, shared by the algorithm and the schedule.
  Var dv{"dv"}, dd{"d"}, r{"r"}, j{"j"}, kt{"kt"}, qt{"qt"}, sp{"s"}, hk{"hk"}, b{"b"}, u{"u"}, qv{"q"}, hv{"h"};
  // Linformer (`low_rank seq rank R`): E.K and F.V of each (kv head, batch),
  // R rows each, computed once per call before the attention over R keys.
  bool linformer = false;
  // low_rank kv, absorbed (MLA): q is projected through k_up to the R latent
  // dims, scores and the P.V sum run over the latent rows (shared by every
  // head: one tile of all heads), v_up is applied once to each output row.
  bool mla = false;
  // low_rank kv, materialized (`mlamat`): each task's K and V tiles are
  // built from their latent rows (Kf, Vf as sums over the R latent dims; with
  // rope, the K tile's last dims copied from the row), then the attention is
  // the dense one. kExact: K in f64 as the reference builds it (top-T's means).
  bool mlaMat = false;
  Func kExact{"k_exact"};
  RDom rkx;
  Func qLat{"q_latent"}, oLat{"o_latent"}, oProj{"o_proj"};
  RDom rqx, rox;
  Func projK{"linformer_k"}, projV{"linformer_v"};
  RDom rjK, rjV;
  Func Qp{"Qp"};                                   // q tile in f32 (scaled for dot scores)
  Func Qb{"Qb"};                                   // bf16dot: q tile as stored, (pair, row, head_dim / 2)
  Func Qlo{"Qlo"}, qLatF{"q_latent_f"};            // bf16dot with absorbed MLA: the latent q's hi (Qb) and lo parts
  Func Qrow{"Qrow"};                               // amx: the q tile's rows as stored, (head_dim, row)
  Var pr{"pr"}, jp{"jp"};                          // bf16dot: the pair lane, kv pairs
  Func qproj{"qproj"};                             // additive: q projections
  RDom rdq;
  Func cls{"cls"}, anyF{"cls_any"}, allF{"cls_all"};  // tile classes
  // `sparse block B input`: whether any / every pair of a tile lies in a
  // block the caller's block_mask keeps (SB = B; 0 without the transform).
  Func spAny{"sparse_any"}, spAll{"sparse_all"};
  int SB = 0;
  // `sparse block B top T`: the planning step (block means of q and k, the
  // estimates, the candidates the mask keeps any pair of, their ranks) and
  // the blocks it keeps, (kv block, q block, head, batch).
  Func meanQ{"top_mean_q"}, meanK{"top_mean_k"}, est{"top_estimate"}, cand{"top_candidate"}, rank{"top_rank"},
      topKeep{"top_keep"};
  Var xv{"x"}, qbv{"qb"}, kbv{"kb"}, hv2{"hh"};
  /// Whether block (kb, qb) of head h is kept (block mask or top-T plan).
  Expr blockOn(Expr kb, Expr qb, Expr h, Expr bb);
  /// `sparse block B top T`: defines the planning Funcs.
  void defineTopBlocks();
  Func state{"state"};                             // online-softmax state per kv split
  // amx: K and V^T once per call, each kv head's tiles contiguous (streams
  // the tile loads read in order): kPack(d, kv, kv head, batch) over whole
  // tiles, vtAll(kv in tile, value column, tile, kv head, batch); rows past
  // seq_kv repeat the last (clamped; masked).
  Func kPack{"k_packed"}, vtAll{"v_transposed"};
  Var tv{"t"};
  /// One chain of Funcs per tile class (0: full tiles, 1: partial tiles).
  struct Chain {
    Func Kf, Vf, kproj, Smm, S, Mt, P, Lt, Ot;
    Func Kn;  // mlamat with rope: the tile's K dims through k_up
    RDom rl;    // mlamat: the latent dims
    RDom rdlo;  // bf16dot with absorbed MLA: the latent q's low part
    // bf16dot: P in bf16 as (pair, row, kv / 2), V as (pair, value column,
    // kv / 2), the P.V accumulator block and O_t transposed (rows in lanes).
    Func Pb, Vp, Oacc, OtT;
    // amx: the kv tile of each step (the tile products read K and V^T there).
    Func tileOf;
    // amx, full tiles of plain softmax scores (no score_mod): the whole tile
    // in one extern stage, O^T with the tile's row max and sum as two more
    // columns (value_dim and value_dim + 1).
    Func OtX;
    bool fused = false;
    RDom rk, rd, rdk, ru, rjm, rjl, rjo;
    // Block sparsity: the tiles of this class, compacted per task (count(i):
    // tiles of the class before tile i; list(n): the n-th such tile).
    Func count, list;
  };
  std::vector<Chain> chains;
  Func fin{"fin"};  // merge of the kv splits
  RDom rs;
};

Expr Builder::evalProgram(const Program &p, Expr score, Expr b, Expr h, Expr q, Expr kv) {
  std::vector<Expr> r(p.numRegs);
  r[0] = score;
  r[1] = b;
  r[2] = h;
  r[3] = q;
  r[4] = kv;
  for (const Instr &in : p.code) {
    Expr a = in.a < static_cast<int32_t>(r.size()) ? r[in.a] : Expr();
    Expr bb = in.b < static_cast<int32_t>(r.size()) ? r[in.b] : Expr();
    Expr v;
    switch (in.code) {
    case Code::Const:
      if (in.type == ValType::Float) v = Expr(static_cast<float>(in.imm));
      else if (in.type == ValType::Bool) v = in.imm != 0 ? const_true() : const_false();
      else v = Expr(static_cast<int32_t>(in.imm));
      break;
    case Code::SeqQ: v = seqQ_; break;
    case Code::SeqKv: v = seqKv_; break;
    // The language's integers wrap (i32); Halide's signed overflow is undefined
    // (its simplifier even refuses constant overflow), its unsigned wraps.
    case Code::AddI: v = reinterpret<int32_t>(reinterpret<uint32_t>(a) + reinterpret<uint32_t>(bb)); break;
    case Code::SubI: v = reinterpret<int32_t>(reinterpret<uint32_t>(a) - reinterpret<uint32_t>(bb)); break;
    case Code::MulI: v = reinterpret<int32_t>(reinterpret<uint32_t>(a) * reinterpret<uint32_t>(bb)); break;
    // C division and remainder (truncating), built on Halide's Euclidean `/`
    // and `%`: Halide 14's div_round_to_zero gives wrong quotients for
    // constant divisors (x / 3 came out as -(x+5)/6), caught by the ops test.
    case Code::DivI:
    case Code::RemI: {
      Expr d = select(bb == 0, 1, bb);
      Expr q = a / d, r = a % d;
      Expr qc = q + select(a < 0 && r != 0, select(d > 0, 1, -1), 0);
      v = select(bb == 0, 0, in.code == Code::DivI ? qc : a - d * qc);
      break;
    }
    case Code::MinI: v = min(a, bb); break;
    case Code::MaxI: v = max(a, bb); break;
    case Code::AbsI: v = cast<int32_t>(abs(a)); break;
    case Code::AddF: v = a + bb; break;
    case Code::SubF: v = a - bb; break;
    case Code::MulF: v = a * bb; break;
    case Code::DivF: v = a / bb; break;
    case Code::RemF: v = a - bb * trunc(a / bb); break;
    case Code::NegF: v = -a; break;
    case Code::MinF: v = min(a, bb); break;
    case Code::MaxF: v = max(a, bb); break;
    case Code::AbsF: v = abs(a); break;
    case Code::Exp: v = expF(a, s_.fastExp); break;
    case Code::Exp2: v = expF(a * float(M_LN2), s_.fastExp); break;
    case Code::Log: v = log(a); break;
    case Code::Log2: v = log(a) * float(1 / M_LN2); break;
    case Code::Sqrt: v = sqrt(a); break;
    case Code::Rsqrt: v = 1.0f / sqrt(a); break;
    case Code::Tanh: v = tanhF(a, s_.fastExp); break;
    case Code::Floor: v = floor(a); break;
    case Code::Ceil: v = ceil(a); break;
    case Code::Sin: v = sin(a); break;
    case Code::Cos: v = cos(a); break;
    case Code::Erf: v = erf(a); break;
    case Code::Pow: v = pow(a, bb); break;
    case Code::Popcount: v = cast<int32_t>(popcount(cast<uint32_t>(a))); break;
    case Code::CmpI: {
      Expr ua = cast<uint32_t>(a), ub = cast<uint32_t>(bb);
      switch (static_cast<CmpIPred>(in.pred)) {
      case CmpIPred::eq: v = a == bb; break;
      case CmpIPred::ne: v = a != bb; break;
      case CmpIPred::slt: v = a < bb; break;
      case CmpIPred::sle: v = a <= bb; break;
      case CmpIPred::sgt: v = a > bb; break;
      case CmpIPred::sge: v = a >= bb; break;
      case CmpIPred::ult: v = ua < ub; break;
      case CmpIPred::ule: v = ua <= ub; break;
      case CmpIPred::ugt: v = ua > ub; break;
      case CmpIPred::uge: v = ua >= ub; break;
      }
      break;
    }
    case Code::CmpF: {
      Expr ord = (a == a) && (bb == bb);
      switch (static_cast<CmpFPred>(in.pred)) {
      case CmpFPred::False: v = const_false(); break;
      case CmpFPred::OEQ: v = a == bb; break;
      case CmpFPred::OGT: v = a > bb; break;
      case CmpFPred::OGE: v = a >= bb; break;
      case CmpFPred::OLT: v = a < bb; break;
      case CmpFPred::OLE: v = a <= bb; break;
      case CmpFPred::ONE: v = a < bb || a > bb; break;
      case CmpFPred::ORD: v = ord; break;
      case CmpFPred::UEQ: v = !(a < bb || a > bb); break;
      case CmpFPred::UGT: v = !(a <= bb); break;
      case CmpFPred::UGE: v = !(a < bb); break;
      case CmpFPred::ULT: v = !(a >= bb); break;
      case CmpFPred::ULE: v = !(a > bb); break;
      case CmpFPred::UNE: v = !(a == bb); break;
      case CmpFPred::UNO: v = !ord; break;
      case CmpFPred::True: v = const_true(); break;
      }
      break;
    }
    // i1: logical; i32: bitwise (Halide's bit operators on int32, no overflow).
    case Code::And: v = in.type == ValType::Int ? (a & bb) : (a && bb); break;
    case Code::Or: v = in.type == ValType::Int ? (a | bb) : (a || bb); break;
    case Code::Xor: v = in.type == ValType::Int ? (a ^ bb) : (a != bb); break;
    // Shifts by 0..31 (the IR selects around other amounts; masking keeps the
    // unselected side defined): on uint32, so that no bit overflows a signed type.
    case Code::Shl: v = reinterpret<int32_t>(reinterpret<uint32_t>(a) << reinterpret<uint32_t>(bb & 31)); break;
    case Code::ShrS: v = a >> (bb & 31); break;
    case Code::Select: v = select(a, bb, r[in.c]); break;
    case Code::IToF: v = cast<float>(a); break;
    case Code::FToI: v = cast<int32_t>(a); break;
    case Code::Load: {
      const InputDesc &desc = d_.inputs[in.input];
      ImageParam &t = param(desc.name);
      int rank = static_cast<int>(desc.dims.size());
      const int32_t idx[4] = {in.a, in.b, in.c, static_cast<int32_t>(in.imm)};
      std::vector<Expr> args(rank);
      for (int i = 0; i < rank; ++i)  // Halide's dim 0 is the ABI's last
        args[rank - 1 - i] = clamp(r[idx[i]], 0, t.dim(rank - 1 - i).extent() - 1);
      Expr x = t(args);
      v = dsl::isFloat(desc.dtype) ? cast<float>(x) : cast<int32_t>(x);
      break;
    }
    }
    r[in.dst] = v;
  }
  return r[p.result];
}

/// A register block of a Func (or stage) computed at a tile: `vec`-lane vectors
/// along `v`, the vectors and every `u` unrolled, so LLVM keeps the block's
/// accumulators in registers across the reduction loop outside it.
template <typename StageOrFunc>
void registerBlock(StageOrFunc &&f, const Var &v, const Var &u, int vec) {
  Var vo(v.name() + "_vo"), vi(v.name() + "_vi");
  f.split(v, vo, vi, vec).vectorize(vi).unroll(vo).unroll(u);
}

/// A tile Func on the stack at `at`, walked in register blocks of rowBlock
/// `rows` (in `vec`-lane vectors) x colBlock `cols`, the vectors and columns
/// of a block unrolled. Returns the loop of row blocks, where the block's
/// accumulator Func is computed.
Var blockedTile(Func f, const LoopLevel &at, const Var &rows, const Var &cols, int rowBlock, int colBlock, int vec,
                const std::string &name) {
  Var ro(name + "_ro"), ri(name + "_ri"), co(name + "_co"), ci(name + "_ci"), rr(name + "_rr"), rv(name + "_rv");
  f.compute_at(at)
      .store_in(MemoryType::Stack)
      .split(rows, ro, ri, rowBlock)
      .split(cols, co, ci, colBlock)
      .reorder(ri, ci, ro, co)
      .split(ri, rr, rv, vec)
      .vectorize(rv)
      .unroll(rr)
      .unroll(ci);
  return ro;
}

/// The update of a bf16dot register block: `rows` in `vec`-lane vectors
/// together with the pair lane `pair.x` (one vdpbf16ps sums each pair into a
/// lane), the vectors and every `cols` unrolled, the reduction `pair.y`
/// outside, so the block's accumulators stay in registers across it.
void pairBlock(Stage update, const RDom &pair, const Var &rows, const Var &cols, int vec, const std::string &name) {
  Var o(name + "_po"), i(name + "_pi");
  update.reorder(pair.x, rows, cols, pair.y)
      .split(rows, o, i, vec)
      .atomic()
      .vectorize(pair.x)
      .vectorize(i)
      .unroll(o)
      .unroll(cols);
}

/// The largest of vector, vector/2, ..., 1 that divides n.
int vecFor(int64_t n, int vector) {
  int v = vector;
  while (v > 1 && n % v) v /= 2;
  return v;
}

bool Builder::defineAlgorithm(std::string &error) {
  const KernelDesc &d = d_;
  if (std::string why = unsupportedReason(d); !why.empty()) {
    error = why;
    return false;
  }
  // G: query heads per tile row group. With allHeads every head of the
  // model shares one tile (the kv head then differs from row to row).
  Greal = static_cast<int>(d.heads / d.kvHeads);
  Gout = s_.allHeads ? static_cast<int>(d.heads) : Greal;
  pruned = !d.headTable.empty();
  G = !pruned ? Gout : s_.allHeads ? static_cast<int>(d.heads - d.prunedHeads.size()) : static_cast<int>(d.tileGroup());
  QT = s_.qPerTile, TK = s_.tileKv, TQ = QT * G;
  if (pruned) {
    // Tile groups: the kv heads, or one group of every computed head
    // (allHeads). Rows past a group's last computed head repeat its first
    // (computed, then never written out); a group computing nothing is
    // never visited (its tiles are all empty).
    const int groups = s_.allHeads ? 1 : static_cast<int>(d.kvHeads);
    headTab = Buffer<int32_t>(G, groups, "head_table");
    slotTab = Buffer<int32_t>(static_cast<int>(d.heads), "head_slot");
    groupOn = Buffer<uint8_t>(groups, "group_computed");
    slotTab.fill(-1);
    std::vector<int64_t> kept;
    for (int64_t h = 0; h < d.heads; ++h)
      if (!d.isPruned(h)) kept.push_back(h);
    for (int g = 0; g < groups; ++g) {
      std::vector<int64_t> rows;
      if (s_.allHeads) rows = kept;
      else
        for (int i = 0; i < G; ++i)
          if (int64_t h = d.headTable[g * d.headRows + i]; h >= 0) rows.push_back(h);
      groupOn(g) = !rows.empty();
      for (int i = 0; i < G; ++i) {
        int64_t h = rows.empty() ? int64_t(g) * Greal : rows[std::min<size_t>(i, rows.size() - 1)];
        headTab(i, g) = static_cast<int32_t>(h);
        if (i < static_cast<int>(rows.size())) slotTab(static_cast<int>(h)) = i;
      }
    }
  }
  mla = d.lowRank == KernelDesc::LowRank::Kv && !s_.mlaMaterialized;
  mlaMat = d.lowRank == KernelDesc::LowRank::Kv && s_.mlaMaterialized;
  // The dims the tiles run over: the latent's with MLA.
  // (With rope P the keys' latent dims are the row's R + P, the values' its first R.)
  D = static_cast<int>(mla ? d.rank + d.ropeDim : d.headDim), Dv = static_cast<int>(mla ? d.rank : d.valueDim);
  SB = static_cast<int>(d.sparseBlock);
  const bool fast = s_.fastExp;
  const Type T = halideType(d.dtype);

  // Parameters in signature order.
  for (const ArgDesc &a : d.signature()) {
    if (a.output) continue;
    params_.emplace_back(halideType(a.dtype), static_cast<int>(a.dims.size()), a.name);
  }
  // The ABI asks unit inner stride of q, k, v and out only: the weights and
  // the spec's inputs may be any strided view (Halide assumes stride 1 in
  // dimension 0 unless told otherwise).
  for (ImageParam &p : params_)
    if (p.name() != "q" && p.name() != "k" && p.name() != "v") p.dim(0).set_stride(Expr());
  ImageParam &q = param("q");
  int sDim = bshd() ? 2 : 1, hDim = bshd() ? 1 : 2;
  seqQ_ = q.dim(sDim).extent();
  batch_ = q.dim(3).extent();
  // Static extents and zero mins let Halide drop tail code and checks.
  for (int i = 0; i < 4; ++i) q.dim(i).set_min(0);
  q.dim(0).set_extent(static_cast<int>(d.headDim));
  q.dim(hDim).set_extent(static_cast<int>(d.heads));
  if (mla || mlaMat) {
    ImageParam &lat = param("latent");
    seqKv_ = lat.dim(1).extent();
    for (int i = 0; i < 3; ++i) lat.dim(i).set_min(0);
    lat.dim(0).set_extent(static_cast<int>(d.rank + d.ropeDim));
  } else {
    ImageParam &k = param("k"), &v = param("v");
    seqKv_ = k.dim(sDim).extent();
    for (ImageParam *p : {&k, &v}) {
      for (int i = 0; i < 4; ++i) p->dim(i).set_min(0);
    }
    k.dim(0).set_extent(D);
    v.dim(0).set_extent(Dv);
    k.dim(hDim).set_extent(static_cast<int>(d.kvHeads));
    v.dim(hDim).set_extent(static_cast<int>(d.kvHeads));
  }

  Expr Sq = seqQ_, Skv = seqKv_;
  if (d.lowRank == KernelDesc::LowRank::Seq) {
    // Linformer: the keys are the R rows of E.K (values F.V), in f32; the
    // tiles run over them (`seq_kv` in the spec's expressions stays the
    // call's length: seqKv_).
    linformer = true;
    ImageParam &e = param("e_proj"), &f = param("f_proj"), &k = param("k"), &v = param("v");
    Var x("x"), rr("rr");
    rjK = RDom(0, seqKv_, "rj_k");
    rjV = RDom(0, seqKv_, "rj_v");
    auto kvIn = [&](ImageParam &t, Expr x, Expr s) { return bshd() ? t(x, hv, s, b) : t(x, s, hv, b); };
    // Summed in f64 (a sum over the whole sequence: f32 would add its
    // rounding to every key), used in f32.
    projK(x, rr, hv, b) = cast<double>(0);
    projK(x, rr, hv, b) += cast<double>(e(rjK, rr)) * cast<double>(kvIn(k, x, rjK));
    projV(x, rr, hv, b) = cast<double>(0);
    projV(x, rr, hv, b) += cast<double>(f(rjV, rr)) * cast<double>(kvIn(v, x, rjV));
    Skv = Expr(static_cast<int>(d.rank));
  }
  Expr nkt = (Skv + TK - 1) / TK;
  Expr ns = max(1, nsplit_);
  Expr tps = (nkt + ns - 1) / ns;  // kv tiles per split

  // Row r of q-tile qt: its query position and head.
  auto qpos = [&](Expr row, Expr qtile) { return G == 1 ? qtile * QT + row : qtile * QT + row / G; };
  auto headOf = [&](Expr row, Expr kvh) {
    // (Clamped: Halide bounds a table lookup by what it can prove.)
    if (pruned)
      return clamp(Expr(headTab(G == 1 ? Expr(0) : row % G, s_.allHeads ? Expr(0) : kvh)), 0,
                   static_cast<int>(d.heads) - 1);
    return G == 1 ? kvh : kvh * G + row % G;
  };
  // The kv head of a row: the tile's, or with allHeads the row's head's.
  auto kvOf = [&](Expr row, Expr kvh) {
    if (mla) return kvh;  // (one latent for every head: the tile's group's, whose lists it walks)
    return s_.allHeads ? headOf(row, kvh) / Greal : kvh;
  };

  // Q, converted to f32 (and pre-scaled for dot scores), one tile per task.
  Expr qval = cast<float>(qAt(dd, clamp(qpos(r, qt), 0, Sq - 1), headOf(r, hk), b));
  if (mla) {
    // Absorbed: q_lat[r] = sum over head_dim x of q[x] k_up[kv head][r][x];
    // with rope P, over the first head_dim - P dims of q, and q's last P dims
    // follow as they are (they meet the latent row's last P elements).
    const int R = static_cast<int>(d.rank), P = static_cast<int>(d.ropeDim), Dn = static_cast<int>(d.headDim) - P;
    rqx = RDom(0, Dn, "rqx");
    Expr h = headOf(r, hk);
    qLat(dd, r, qt, hk, b) = 0.0f;
    qLat(dd, r, qt, hk, b) += cast<float>(qAt(rqx, clamp(qpos(r, qt), 0, Sq - 1), h, b)) *
                              cast<float>(param("k_up")(rqx, dd, h / Greal));
    qval = P == 0 ? qLat(dd, r, qt, hk, b)
                  : select(dd < R, qLat(min(dd, R - 1), r, qt, hk, b),
                           cast<float>(qAt(clamp(Dn + dd - R, Dn, Dn + P - 1), clamp(qpos(r, qt), 0, Sq - 1), h, b)));
  }
  Qp(r, dd, qt, hk, b) = d.additive ? qval : qval * static_cast<float>(d.scale);
  const bool bdot = s_.bf16Dot, amx = s_.amx;
  // bf16dot: Q as stored (the scale multiplies the scores), a pair of
  // head_dim next to each other per row: one 32-lane load feeds vdpbf16ps
  // (and with amx, a 16-row strip of them is one B tile of tdpbf16ps).
  if (amx) {
    // (Whole rows first, then interleaved: 16 rows x a pair per vector.)
    Qrow(dd, r, qt, hk, b) = qAt(dd, clamp(qpos(r, qt), 0, Sq - 1), headOf(r, hk), b);
    Qb(pr, r, dd, qt, hk, b) = Qrow(2 * dd + pr, r, qt, hk, b);
  } else if (bdot && mla) {
    // Absorbed MLA: the latent q (f32 sums) as two bf16 parts, hi + lo, each
    // multiplied by the latent rows as stored: the scores keep about 2^-17
    // of the f32 q (one bf16 rounding would put 2^-9 on every score).
    qLatF(dd, r, qt, hk, b) = qval;
    const Type bf = halideType(dsl::DType::BF16);
    Qb(pr, r, dd, qt, hk, b) = cast(bf, qLatF(2 * dd + pr, r, qt, hk, b));
    Qlo(pr, r, dd, qt, hk, b) =
        cast(bf, qLatF(2 * dd + pr, r, qt, hk, b) - cast<float>(Qb(pr, r, dd, qt, hk, b)));
  } else if (bdot) {
    Qb(pr, r, dd, qt, hk, b) = qAt(2 * dd + pr, clamp(qpos(r, qt), 0, Sq - 1), headOf(r, hk), b);
  }

  if (d.additive) {
    ImageParam &wq = param("add_wq");
    RDom rd(0, D, "rdq");
    rdq = rd;
    qproj(u, r, qt, hk, b) = 0.0f;
    qproj(u, r, qt, hk, b) += Qp(r, rd, qt, hk, b) * cast<float>(wq(u, rd, headOf(r, hk)));
  }

  if (SB > 0 && d.sparseTop) defineTopBlocks();

  // Tile classes. A tile group that computes no head (all pruned) has only
  // empty tiles: nothing of it is computed, its K/V never read.
  if (!auto_) {
    Expr k0 = kt * TK, k1 = kt * TK + TK - 1;
    Expr inRange = k1 <= Skv - 1;
    Expr on = pruned ? Expr(groupOn(s_.allHeads ? Expr(0) : Expr(hk)) != 0) : const_true();
    const Expr empty = cast<uint8_t>(0);
    Expr c;  // the class the mask gives
    if (!d.hasMask) {
      c = select(!on, empty, select(inRange, cast<uint8_t>(2), cast<uint8_t>(1)));
    } else if (mi_.exact && !mi_.readsInputs && !linformer) {
      // Per row, from the closed-form kv intervals of the mask.
      RDom rq(0, QT, "rq");
      Expr qp = qt * QT + rq;
      // The bounds in 64 bits: an affine bound of i32 sides can pass 2^31.
      auto aff = [&](const Affine &a) {
        auto c = [](int64_t x) { return Expr(x); };
        return c(a.c) + c(a.q) * cast<int64_t>(qp) + c(a.sq) * cast<int64_t>(Sq) + c(a.skv) * cast<int64_t>(Skv);
      };
      Expr any = const_false(), every = const_false();
      Expr k0l = cast<int64_t>(k0), k1l = cast<int64_t>(k1), lastKv = cast<int64_t>(Skv - 1);
      for (const KvInterval &part : mi_.outer.parts) {
        Expr lo = Expr(std::numeric_limits<int64_t>::min() / 2), hi = Expr(std::numeric_limits<int64_t>::max() / 2);
        for (const Affine &a : part.lo) lo = max(lo, aff(a));
        for (const Affine &a : part.hi) hi = min(hi, aff(a));
        any = any || (max(lo, k0l) <= min(min(hi, k1l), lastKv));
        every = every || (lo <= k0l && hi >= k1l);
      }
      Expr valid = qp < Sq;
      anyF(kt, qt) = cast<uint8_t>(0);
      anyF(kt, qt) = max(anyF(kt, qt), select(valid && any, cast<uint8_t>(1), cast<uint8_t>(0)));
      allF(kt, qt) = cast<uint8_t>(1);
      allF(kt, qt) = min(allF(kt, qt), select(!valid || every, cast<uint8_t>(1), cast<uint8_t>(0)));
      c = select(!on || anyF(kt, qt) == 0, empty,
                 select(allF(kt, qt) == 1 && inRange, cast<uint8_t>(2), cast<uint8_t>(1)));
    } else {
      // Run-time classification: the mask on every pair of the tile.
      RDom rp(0, TK, 0, TQ, "rp");
      if (pruned) rp.where(on);
      Expr kv = kt * TK + rp.x, qp = qpos(rp.y, qt);
      Expr valid = qp < Sq, kvValid = kv < Skv;
      Expr m = evalProgram(rg_.mask, Expr(), b, headOf(rp.y, hk), qp, kv);
      anyF(kt, qt, hk, b) = cast<uint8_t>(0);
      anyF(kt, qt, hk, b) = max(anyF(kt, qt, hk, b), select(valid && kvValid && m, cast<uint8_t>(1), cast<uint8_t>(0)));
      allF(kt, qt, hk, b) = cast<uint8_t>(1);
      allF(kt, qt, hk, b) = min(allF(kt, qt, hk, b), select(!valid || (kvValid && m), cast<uint8_t>(1), cast<uint8_t>(0)));
      c = select(!on || anyF(kt, qt, hk, b) == 0, empty,
                 select(allF(kt, qt, hk, b) == 1, cast<uint8_t>(2), cast<uint8_t>(1)));
    }
    if (SB > 0) {
      // Block sparsity AND-ed with the mask: a tile none of whose pairs lies
      // in a kept block is empty, one only partly in kept blocks is partial
      // (its pairs then test the block mask). The default schedule makes
      // tiles divide the block (docs/x86.md), so a tile lies in one block
      // per row; other tiles stay right, over every block they touch.
      const int kbPerTile = (TK + SB - 2) / SB + 1;  // most blocks a tile's columns touch
      RDom rb(0, TQ, 0, kbPerTile, "rb");
      if (pruned) rb.where(on);
      Expr qp = qpos(rb.x, qt), kb = (kt * TK) / SB + rb.y;
      Expr valid = qp < Sq && kb * SB <= min(k1, Skv - 1);
      Expr kept = blockOn(kb, qp / SB, headOf(rb.x, hk), b);
      spAny(kt, qt, hk, b) = cast<uint8_t>(0);
      spAny(kt, qt, hk, b) = max(spAny(kt, qt, hk, b), select(valid && kept, cast<uint8_t>(1), cast<uint8_t>(0)));
      spAll(kt, qt, hk, b) = cast<uint8_t>(1);
      spAll(kt, qt, hk, b) = min(spAll(kt, qt, hk, b), select(!valid || kept, cast<uint8_t>(1), cast<uint8_t>(0)));
      c = select(spAny(kt, qt, hk, b) == 0, empty, select(spAll(kt, qt, hk, b) == 1, c, min(c, cast<uint8_t>(1))));
    }
    cls(kt, qt, hk, b) = c;
  }

  // The online-softmax state of each kv split.
  const bool sig = d.sigmoid;
  if (sig) state(dv, r, qt, sp, hk, b) = 0.0f;
  else state(dv, r, qt, sp, hk, b) = Tuple(Expr(kNegInf), 0.0f, 0.0f);

  // Whether a pair of a partial tile is kept: in range, the mask, the block mask.
  auto keepPair = [&](Expr b, Expr h, Expr qp, Expr kv) {
    Expr keep = kv < Skv;
    if (!rg_.mask.empty()) keep = keep && evalProgram(rg_.mask, Expr(), b, h, qp, kv);
    if (SB > 0) keep = keep && blockOn(kv / SB, qp / SB, h, b);
    return keep;
  };

  if (amx) {
    kPack(dd, j, hk, b) = kvAt("k", dd, clamp(j, 0, Skv - 1), hk, b);
    vtAll(j, dv, tv, hk, b) = kvAt("v", dv, clamp(tv * TK + j, 0, Skv - 1), hk, b);
  }
  chains.resize(2);
  for (int which = auto_ ? 1 : 0; which < 2; ++which) {  // 0: full tiles, 1: partial tiles
    Chain &c = chains[which];
    std::string sfx = which == 0 ? "_full" : "_part";
    c.Kf = Func("Kf" + sfx);
    c.Vf = Func("Vf" + sfx);
    c.kproj = Func("kproj" + sfx);
    c.Smm = Func("Smm" + sfx);
    c.S = Func("S" + sfx);
    c.Mt = Func("Mt" + sfx);
    c.P = Func("P" + sfx);
    c.Lt = Func("Lt" + sfx);
    c.Ot = Func("Ot" + sfx);
    // The chain's `kt` is a step of the task's walk over its tiles of this
    // class: the tile itself, or with block sparsity the kt-th tile of the
    // task's list (so that every Func of the chain is indexed by a step,
    // which bounds inference keeps to one tile, never by a looked-up tile).
    // K-side Funcs carry qt because the list does.
    Expr tileK = kt;
    if (SB > 0 && !auto_) {
      // The task's tiles of this class, listed once (a scan and a scatter
      // over its tile classes), then walked and split by list position.
      const uint8_t want = which == 0 ? 2 : 1;
      c.count = Func("tile_count" + sfx);
      c.list = Func("tile_list" + sfx);
      Var i("i");
      RDom rt(0, nkt, "rt" + sfx);
      c.count(i, qt, hk, b) = 0;
      c.count(rt + 1, qt, hk, b) = c.count(rt, qt, hk, b) + select(cls(rt, qt, hk, b) == want, 1, 0);
      RDom rl(0, nkt, "rl" + sfx);
      rl.where(cls(rl, qt, hk, b) == want);
      c.list(i, qt, hk, b) = 0;
      c.list(clamp(c.count(rl, qt, hk, b), 0, nkt - 1), qt, hk, b) = rl.x;
      tileK = c.list(clamp(kt, 0, nkt - 1), qt, hk, b);
    }
    Expr kvj = tileK * TK + j, kvc = clamp(kvj, 0, Skv - 1);
    if (mlaMat) {
      // K = latent . k_up and V = latent . v_up, the tile's rows only (f32
      // sums over the R latent dims); with rope the K tile's last P dims are
      // the latent row's last P elements.
      ImageParam &lat = param("latent"), &kup = param("k_up"), &vup = param("v_up");
      const int R = static_cast<int>(d.rank), P = static_cast<int>(d.ropeDim), Dn = static_cast<int>(d.headDim) - P;
      c.rl = RDom(0, R, "rl" + sfx);
      Func &kSum = P > 0 ? c.Kn : c.Kf;
      if (P > 0) c.Kn = Func("Kn" + sfx);
      kSum(dd, j, kt, qt, hk, b) = 0.0f;
      kSum(dd, j, kt, qt, hk, b) += cast<float>(lat(c.rl, kvc, b)) * cast<float>(kup(dd, c.rl, hk));
      if (P > 0)
        c.Kf(dd, j, kt, qt, hk, b) = select(dd < Dn, c.Kn(min(dd, Dn - 1), j, kt, qt, hk, b),
                                            cast<float>(lat(R + clamp(dd - Dn, 0, P - 1), kvc, b)));
      c.Vf(dv, j, kt, qt, hk, b) = 0.0f;
      c.Vf(dv, j, kt, qt, hk, b) += cast<float>(lat(c.rl, kvc, b)) * cast<float>(vup(dv, c.rl, hk));
    } else {
      c.Kf(dd, j, kt, qt, hk, b) = bdot || amx ? kvAt("k", dd, kvc, hk, b) : cast<float>(kvAt("k", dd, kvc, hk, b));
      c.Vf(dv, j, kt, qt, hk, b) = cast<float>(kvAt("v", dv, kvc, hk, b));
    }
    Expr score;
    if (d.additive) {
      ImageParam &wk = param("add_wk"), &av = param("add_v");
      RDom rd(0, D, "rdk" + sfx);
      c.rdk = rd;
      c.kproj(u, j, kt, qt, hk, b) = 0.0f;
      c.kproj(u, j, kt, qt, hk, b) += c.Kf(rd, j, kt, qt, hk, b) * cast<float>(wk(u, rd, hk));
      RDom ru(0, static_cast<int>(d.units), "ru" + sfx);
      c.ru = ru;
      c.Smm(r, j, kt, qt, hk, b) = 0.0f;
      c.Smm(r, j, kt, qt, hk, b) += cast<float>(av(ru, headOf(r, hk))) *
                                    tanhF(qproj(ru, r, qt, hk, b) + c.kproj(ru, j, kt, qt, kvOf(r, hk), b), fast);
      score = c.Smm(r, j, kt, qt, hk, b) * static_cast<float>(d.scale);
    } else if (amx) {
      // S^T = K Q^T on AMX tiles (lowering/x86/templates/Amx.c): K rows as
      // stored, Q pair-interleaved; scores rows-fastest, as below.
      c.tileOf = Func("tile_of" + sfx);
      c.tileOf(kt, qt, hk, b) = clamp(tileK, 0, nkt - 1);
      c.fused = which == 0 && !sig && rg_.scoreMod.empty();
      if (c.fused) {
        // Both products and the softmax between them in registers
        // (attnc_amx_tile): S is never stored as f32 nor read again.
        c.OtX = Func("OtX" + sfx);
        c.OtX.define_extern("attnc_amx_tile",
                            {Qb, kPack, vtAll, c.tileOf, Expr(D), Expr(Dv), nkt * TK, Expr(TK), nkt,
                             Expr(static_cast<float>(d.scale))},
                            Float(32), {r, dv, kt, qt, hk, b}, NameMangling::C);
        c.Mt(r, kt, qt, hk, b) = c.OtX(r, Dv, kt, qt, hk, b);
        c.Lt(r, kt, qt, hk, b) = c.OtX(r, Dv + 1, kt, qt, hk, b);
        c.Ot(dv, r, kt, qt, hk, b) = c.OtX(r, dv, kt, qt, hk, b);
      } else {
        c.Smm.define_extern("attnc_amx_qk", {Qb, kPack, c.tileOf, Expr(D), nkt * TK}, Float(32),
                            {r, j, kt, qt, hk, b}, NameMangling::C);
        score = c.Smm(r, j, kt, qt, hk, b) * static_cast<float>(d.scale);
      }
    } else if (bdot) {
      // Pairs of head_dim summed by one instruction: rd.x is the pair lane.
      RDom rd(0, 2, 0, D / 2, "rd" + sfx);
      c.rd = rd;
      c.Smm(r, j, kt, qt, hk, b) = 0.0f;
      c.Smm(r, j, kt, qt, hk, b) += cast<float>(Qb(rd.x, r, rd.y, qt, hk, b)) *
                                    cast<float>(c.Kf(2 * rd.y + rd.x, j, kt, qt, kvOf(r, hk), b));
      if (mla) {
        // (The latent q's low part, against the same K pairs.)
        RDom rl2(0, 2, 0, D / 2, "rdlo" + sfx);
        c.rdlo = rl2;
        c.Smm(r, j, kt, qt, hk, b) += cast<float>(Qlo(rl2.x, r, rl2.y, qt, hk, b)) *
                                      cast<float>(c.Kf(2 * rl2.y + rl2.x, j, kt, qt, kvOf(r, hk), b));
      }
      score = c.Smm(r, j, kt, qt, hk, b) * static_cast<float>(d.scale);
    } else {
      RDom rd(0, D, "rd" + sfx);
      c.rd = rd;
      c.Smm(r, j, kt, qt, hk, b) = 0.0f;
      c.Smm(r, j, kt, qt, hk, b) += Qp(r, rd, qt, hk, b) * c.Kf(rd, j, kt, qt, kvOf(r, hk), b);
      score = c.Smm(r, j, kt, qt, hk, b);
    }
    Expr qp = qpos(r, qt), h = headOf(r, hk);
    if (!rg_.scoreMod.empty()) score = evalProgram(rg_.scoreMod, score, b, h, qp, kvj);
    if (c.fused) {
      // (Mt, Lt and Ot come from the tile stage above.)
    } else if (sig) {
      Expr x = score;
      if (!rg_.bias.empty()) x = x + evalProgram(rg_.bias, Expr(), b, h, qp, kvj);
      // sigmoid(x) = 1 / (1 + exp(-x)); exp(-x) saturates for very negative x.
      Expr w = 1.0f / (1.0f + (fast ? vexp(-x) : exp(-x)));
      if (which == 1) w = select(keepPair(b, h, qp, kvj), w, 0.0f);
      c.P(r, j, kt, qt, hk, b) = w;
    } else {
      if (which == 1) score = select(keepPair(b, h, qp, kvj), score, kNegInf);
      c.S(r, j, kt, qt, hk, b) = score;
      RDom rj(0, TK, "rjm" + sfx);
      c.rjm = rj;
      c.Mt(r, kt, qt, hk, b) = kNegInf;
      c.Mt(r, kt, qt, hk, b) = max(c.Mt(r, kt, qt, hk, b), c.S(r, rj, kt, qt, hk, b));
      // A tile whose scores are all -inf (masked, or -inf from a score mod)
      // has max -inf; subtracting 0 instead keeps e^(-inf - -inf) = NaN out.
      // Halide compiles with LLVM's no-NaN/no-Inf flags, so where a weight
      // must be exactly 0 (masked pairs of partial tiles) a select says so.
      Expr sv = c.S(r, j, kt, qt, hk, b), mt = c.Mt(r, kt, qt, hk, b);
      Expr p = expF(sv - select(mt == kNegInf, 0.0f, mt), fast);
      if (which == 1) p = select(sv == kNegInf, 0.0f, p);
      c.P(r, j, kt, qt, hk, b) = p;
      RDom rl(0, TK, "rjl" + sfx);
      c.rjl = rl;
      c.Lt(r, kt, qt, hk, b) = 0.0f;
      c.Lt(r, kt, qt, hk, b) += c.P(r, rl, kt, qt, hk, b);
    }
    if (c.fused) {
    } else if (amx) {
      // O^T = V^T P^T on AMX tiles: P rounded to bf16 and pair-interleaved
      // as for vdpbf16ps, this tile of V^T cut from the call's transpose.
      c.Pb = Func("Pb" + sfx);
      c.OtT = Func("OtT" + sfx);
      c.Pb(pr, r, jp, kt, qt, hk, b) = cast(BFloat(16), c.P(r, 2 * jp + pr, kt, qt, hk, b));
      c.OtT.define_extern("attnc_amx_pv", {vtAll, c.Pb, c.tileOf, Expr(TK), nkt}, Float(32),
                          {r, dv, kt, qt, hk, b}, NameMangling::C);
      c.Ot(dv, r, kt, qt, hk, b) = c.OtT(r, dv, kt, qt, hk, b);
    } else if (bdot) {
      // P rounded to bf16 (as FlashAttention does for its second product),
      // pairs of kv rows summed by one instruction: ro.x is the pair lane.
      c.Pb = Func("Pb" + sfx);
      c.Vp = Func("Vp" + sfx);
      c.Pb(pr, r, jp, kt, qt, hk, b) = cast(BFloat(16), c.P(r, 2 * jp + pr, kt, qt, hk, b));
      // Each lane's row is one of two scalars (a select, not a lane-varying
      // row index), so the two rows load whole and interleave in registers.
      c.Vp(pr, dv, jp, kt, qt, hk, b) = select(pr == 0, kvAt("v", dv, clamp(tileK * TK + 2 * jp, 0, Skv - 1), hk, b),
                                               kvAt("v", dv, clamp(tileK * TK + 2 * jp + 1, 0, Skv - 1), hk, b));
      RDom ro(0, 2, 0, TK / 2, "rjo" + sfx);
      c.rjo = ro;
      Expr pv = cast<float>(c.Pb(ro.x, r, ro.y, kt, qt, hk, b)) * cast<float>(c.Vp(ro.x, dv, ro.y, kt, qt, kvOf(r, hk), b));
      if (s_.dotQK) {
        // Decoding: one pass over V (pvstream), value columns in lanes, the P
        // pair of a row broadcast, Vp inlined: V rows read once for all rows.
        c.Ot(dv, r, kt, qt, hk, b) = 0.0f;
        c.Ot(dv, r, kt, qt, hk, b) += pv;
      } else {
        // Prefill: rows in lanes (register blocks of Oacc), O_t transposed.
        c.Oacc = Func("Oacc" + sfx);
        c.OtT = Func("OtT" + sfx);
        c.Oacc(r, dv, kt, qt, hk, b) = 0.0f;
        c.Oacc(r, dv, kt, qt, hk, b) += pv;
        c.OtT(r, dv, kt, qt, hk, b) = c.Oacc(r, dv, kt, qt, hk, b);
        c.Ot(dv, r, kt, qt, hk, b) = c.OtT(r, dv, kt, qt, hk, b);
      }
    } else if (s_.pvLanes) {
      // Rows in lanes, as the bf16dot prefill: O_t transposed, V broadcast.
      RDom ro(0, TK, "rjo" + sfx);
      c.rjo = ro;
      c.Oacc = Func("Oacc" + sfx);
      c.OtT = Func("OtT" + sfx);
      c.Oacc(r, dv, kt, qt, hk, b) = 0.0f;
      c.Oacc(r, dv, kt, qt, hk, b) += c.P(r, ro, kt, qt, hk, b) * c.Vf(dv, ro, kt, qt, kvOf(r, hk), b);
      c.OtT(r, dv, kt, qt, hk, b) = c.Oacc(r, dv, kt, qt, hk, b);
      c.Ot(dv, r, kt, qt, hk, b) = c.OtT(r, dv, kt, qt, hk, b);
    } else {
      RDom ro(0, TK, "rjo" + sfx);
      c.rjo = ro;
      c.Ot(dv, r, kt, qt, hk, b) = 0.0f;
      c.Ot(dv, r, kt, qt, hk, b) += c.P(r, ro, kt, qt, hk, b) * c.Vf(dv, ro, kt, qt, kvOf(r, hk), b);
    }

    // The update over this split's tiles of this class.
    // (amx: the value columns are the reduction's inner dimension, below.)
    const bool colsR = amx && !sig;
    c.rk = colsR ? RDom(0, Dv, 0, tps, "rk" + sfx) : RDom(0, tps, "rk" + sfx);
    Expr step = colsR ? Expr(c.rk.y) : Expr(c.rk.x);
    Expr ktv;
    if (auto_) {
      c.rk = RDom(0, nkt, "rk" + sfx);
      ktv = c.rk.x;
    } else if (SB > 0) {
      // Block sparsity: steps through the task's list, split s taking steps
      // s, s + ns, s + 2 ns, ... (its share of the kept tiles; no tile the
      // block mask drops is tested again). The step is affine in the loop
      // variables (the list's length only bounds it), so bounds inference
      // keeps each Func of the chain to one tile.
      ktv = sp + ns * step;
      c.rk.where(ktv < c.count(nkt, qt, hk, b));
    } else {
      ktv = sp * tps + step;
      c.rk.where(ktv < nkt);
      c.rk.where(cls(ktv, qt, hk, b) == (which == 0 ? 2 : 1));
    }
    Expr ot = c.Ot(dv, r, ktv, qt, hk, b);
    if (sig) {
      state(dv, r, qt, sp, hk, b) = state(dv, r, qt, sp, hk, b) + ot;
    } else {
      // amx: the value columns as a reduction (in order), a row's m and l
      // (the same in every column) read at the last column, which the update
      // writes last: every column's rescaling is then the same expression of
      // the same loads, computed once per row (the columns are unrolled; see
      // applySchedule), not once per column. (Halide asks a recursive
      // reference to keep its pure variables in place: hence the RDom.)
      Expr col = dv, mcol = dv;
      if (colsR) {
        col = c.rk.x;
        mcol = Expr(Dv - 1);
        ot = c.Ot(col, r, ktv, qt, hk, b);
      }
      Expr mo = state(mcol, r, qt, sp, hk, b)[0], lo = state(mcol, r, qt, sp, hk, b)[1],
           ao = state(col, r, qt, sp, hk, b)[2];
      Expr mt = c.Mt(r, ktv, qt, hk, b), lt = c.Lt(r, ktv, qt, hk, b);
      Expr gt = mt > mo;
      // Halide compiles without NaNs in mind (LLVM's nnan): -inf - -inf must
      // not make one here, where both states are still empty.
      Expr e = expF(select(mt == mo, 0.0f, -abs(mt - mo)), fast);
      Expr alpha = select(gt, e, 1.0f), beta = select(gt, 1.0f, select(mt == kNegInf, 0.0f, e));
      state(col, r, qt, sp, hk, b) = Tuple(max(mo, mt), lo * alpha + lt * beta, ao * alpha + ot * beta);
    }
  }

  // Merge of the splits.
  rs = RDom(1, ns - 1, "rs");
  if (auto_) {
    fin(dv, r, qt, hk, b) = state(dv, r, qt, 0, hk, b);
  } else if (sig) {
    fin(dv, r, qt, hk, b) = state(dv, r, qt, 0, hk, b);
    fin(dv, r, qt, hk, b) += state(dv, r, qt, rs, hk, b);
  } else {
    fin(dv, r, qt, hk, b) = Tuple(state(dv, r, qt, 0, hk, b)[0], state(dv, r, qt, 0, hk, b)[1],
                                  state(dv, r, qt, 0, hk, b)[2]);
    Expr mo = fin(dv, r, qt, hk, b)[0], lo = fin(dv, r, qt, hk, b)[1], ao = fin(dv, r, qt, hk, b)[2];
    Expr mt = state(dv, r, qt, rs, hk, b)[0], lt = state(dv, r, qt, rs, hk, b)[1],
         at = state(dv, r, qt, rs, hk, b)[2];
    Expr gt = mt > mo;
    Expr e = expF(select(mt == mo, 0.0f, -abs(mt - mo)), fast);
    Expr alpha = select(gt, e, 1.0f), beta = select(gt, 1.0f, select(mt == kNegInf, 0.0f, e));
    fin(dv, r, qt, hk, b) = Tuple(max(mo, mt), lo * alpha + lt * beta, ao * alpha + at * beta);
  }

  // The output, in the ABI layout.
  // A pruned kernel finds an output head's row through the plan; a pruned
  // head's out is 0 and its lse -inf (its rows were never computed).
  Expr slot = pruned ? Expr(slotTab(hv)) : Expr(hv % G);
  Expr isPruned = pruned ? slot < 0 : const_false();
  if (pruned) slot = clamp(slot, 0, G - 1);
  Expr row = G == 1 ? qv % QT : (qv % QT) * G + slot;
  std::vector<Var> outVars = bshd() ? std::vector<Var>{dv, hv, qv, b} : std::vector<Var>{dv, qv, hv, b};
  Expr o, lse;
  if (sig) {
    o = select(isPruned, 0.0f, fin(dv, row, qv / QT, hv / Gout, b));
  } else {
    Expr m = fin(dv, row, qv / QT, hv / Gout, b)[0], l = fin(dv, row, qv / QT, hv / Gout, b)[1],
         acc = fin(dv, row, qv / QT, hv / Gout, b)[2];
    // l == 0: every pair masked (out 0, lse -inf); a NaN score makes l NaN,
    // and out and lse NaN with it (docs/language.md, numerics).
    o = select(isPruned || l == 0.0f, 0.0f, acc / l);
    if (mla || s_.amx) {
      // (m and l are the same across the row's columns: read them at column
      // 0: MLA's latent may not have the output's columns; amx stores fin
      // rows fastest, where a row's scalar is one load.)
      m = fin(0, row, qv / QT, hv / Gout, b)[0], l = fin(0, row, qv / QT, hv / Gout, b)[1];
    }
    lse = select(isPruned || l == 0.0f, kNegInf, select(is_nan(l), l, m + log(l)));
  }
  if (mla) {
    // Absorbed: out[x] = sum over the latent dims r of o_lat[r] v_up[kv head][r][x].
    oLat(dv, qv, hv, b) = o;
    rox = RDom(0, Dv, "rox");  // (the R latent dims; a rope part has no value)
    oProj(dv, qv, hv, b) = 0.0f;
    oProj(dv, qv, hv, b) += oLat(rox, qv, hv, b) * cast<float>(param("v_up")(dv, rox, hv / Greal));
    o = oProj(dv, qv, hv, b);
  }
  if (d.outputLse) out_(outVars) = Tuple(cast(T, o), lse);
  else out_(outVars) = cast(T, o);

  // The output buffers' constraints, as the ABI states them.
  std::vector<OutputImageParam> outs = out_.output_buffers();
  for (int i = 0; i < 4; ++i) outs[0].dim(i).set_min(0);
  outs[0].dim(0).set_extent(static_cast<int>(d.valueDim));
  outs[0].dim(hDim).set_extent(static_cast<int>(d.heads));
  if (d.outputLse) outs[1].dim(0).set_stride(Expr());  // lse: a stride-0 view over dv (extents follow out's)
  return true;
}

Expr Builder::blockOn(Expr kb, Expr qb, Expr h, Expr bb) {
  Expr nqb = (seqQ_ + SB - 1) / SB, nkb = (seqKv_ + SB - 1) / SB;
  kb = clamp(kb, 0, nkb - 1);
  qb = clamp(qb, 0, nqb - 1);
  return d_.sparseTop ? topKeep(kb, qb, h, bb) != 0 : param("block_mask")(kb, qb, h, bb) != 0;
}

void Builder::defineTopBlocks() {
  // The planning step of `sparse block B top T`, bit for bit the reference's
  // rule (docs/language.md, "Top-T selection"): f64 throughout, each block
  // mean the sum in row order of value / rows, each estimate the dot product
  // of the means in head_dim order, strict_float (no fused multiply-add, no
  // reassociation), a NaN estimate ranked below every number, ties to the
  // lower block. Every backend thus selects exactly the reference's blocks.
  const KernelDesc &d = d_;
  Expr Sq = seqQ_, Skv = seqKv_;
  Expr nkb = (Skv + SB - 1) / SB;
  const Expr negInf = Expr(-std::numeric_limits<double>::infinity());
  {
    RDom rs(0, SB, "top_rs");
    Expr s = qbv * SB + rs;
    rs.where(s < Sq);
    Expr n = cast<double>(min(Sq - qbv * SB, SB));
    meanQ(xv, qbv, hv2, b) = cast<double>(0);
    meanQ(xv, qbv, hv2, b) = strict_float(meanQ(xv, qbv, hv2, b) + cast<double>(qAt(xv, clamp(s, 0, Sq - 1), hv2, b)) / n);
  }
  {
    RDom rs(0, SB, "top_rk");
    Expr s = kbv * SB + rs;
    rs.where(s < Skv);
    Expr n = cast<double>(min(Skv - kbv * SB, SB));
    if (mlaMat) {
      // The keys as the reference builds them, in f64 and in its order:
      // 0 + sum over r ascending of latent[r] k_up[r][x]; with rope the last
      // P dims the latent row's last P elements.
      ImageParam &lat = param("latent"), &kup = param("k_up");
      const int R = static_cast<int>(d.rank), P = static_cast<int>(d.ropeDim), Dn = static_cast<int>(d.headDim) - P;
      Var ks("ks");
      rkx = RDom(0, R, "top_rkx");
      kExact(xv, ks, hv2, b) = P > 0 ? select(xv < Dn, cast<double>(0), cast<double>(lat(R + clamp(xv - Dn, 0, P - 1), ks, b)))
                                     : cast<double>(0);
      kExact(xv, ks, hv2, b) = strict_float(
          kExact(xv, ks, hv2, b) +
          select(xv < Dn, cast<double>(lat(rkx, ks, b)) * cast<double>(kup(min(xv, Dn - 1), rkx, hv2)), cast<double>(0)));
    }
    meanK(xv, kbv, hv2, b) = cast<double>(0);
    meanK(xv, kbv, hv2, b) =
        strict_float(meanK(xv, kbv, hv2, b) + cast<double>(kvAt("k", xv, clamp(s, 0, Skv - 1), hv2, b)) / n);
  }
  {
    RDom rx(0, D, "top_rx");
    est(kbv, qbv, hv2, b) = cast<double>(0);
    est(kbv, qbv, hv2, b) =
        strict_float(est(kbv, qbv, hv2, b) + meanQ(rx, qbv, hv2, b) * meanK(rx, kbv, hv2 / Greal, b));
  }
  // Candidates: blocks with a pair the mask keeps.
  Expr q0 = qbv * SB, k0 = kbv * SB;
  if (!d.hasMask) {
    cand(kbv, qbv, hv2, b) = cast<uint8_t>(1);
  } else if (mi_.exact && !mi_.readsInputs) {
    // Per row, the closed-form kv intervals of the mask (bounds in 64 bits).
    RDom rq(0, SB, "top_rq");
    Expr qp = q0 + rq;
    auto aff = [&](const Affine &a) {
      auto c = [](int64_t x) { return Expr(x); };
      return c(a.c) + c(a.q) * cast<int64_t>(qp) + c(a.sq) * cast<int64_t>(Sq) + c(a.skv) * cast<int64_t>(Skv);
    };
    Expr any = const_false();
    Expr k0l = cast<int64_t>(k0), k1l = cast<int64_t>(min(k0 + SB, Skv) - 1);
    for (const KvInterval &part : mi_.outer.parts) {
      Expr lo = Expr(std::numeric_limits<int64_t>::min() / 2), hi = Expr(std::numeric_limits<int64_t>::max() / 2);
      for (const Affine &a : part.lo) lo = max(lo, aff(a));
      for (const Affine &a : part.hi) hi = min(hi, aff(a));
      any = any || (max(lo, k0l) <= min(hi, k1l));
    }
    cand(kbv, qbv, hv2, b) = cast<uint8_t>(0);
    cand(kbv, qbv, hv2, b) = max(cand(kbv, qbv, hv2, b), select(qp < Sq && any, cast<uint8_t>(1), cast<uint8_t>(0)));
  } else {
    RDom rp(0, SB, 0, SB, "top_rp");
    Expr qp = q0 + rp.y, kv = k0 + rp.x;
    Expr m = evalProgram(rg_.mask, Expr(), b, hv2, qp, kv);
    cand(kbv, qbv, hv2, b) = cast<uint8_t>(0);
    cand(kbv, qbv, hv2, b) =
        max(cand(kbv, qbv, hv2, b), select(qp < Sq && kv < Skv && m, cast<uint8_t>(1), cast<uint8_t>(0)));
  }
  // Rank among the candidates: larger estimates, or equal ones of lower index.
  Expr e = est(kbv, qbv, hv2, b);
  Expr eKey = strict_float(select(is_nan(e), negInf, e));
  {
    RDom rr(0, nkb, "top_rr");
    Expr e2 = est(rr, qbv, hv2, b);
    Expr e2Key = strict_float(select(is_nan(e2), negInf, e2));
    Expr before = strict_float(e2Key > eKey || (e2Key == eKey && rr < kbv));
    rank(kbv, qbv, hv2, b) = 0;
    rank(kbv, qbv, hv2, b) += select(cand(rr, qbv, hv2, b) != 0 && before, 1, 0);
  }
  // The diagonal: the blocks holding q' = q + seq_kv - seq_q of the block's rows.
  auto diagBlock = [&](Expr q) {
    return cast<int32_t>(clamp(cast<int64_t>(q) + cast<int64_t>(Skv) - cast<int64_t>(Sq), cast<int64_t>(0),
                               cast<int64_t>(Skv) - 1) /
                         SB);
  };
  Expr diag = kbv >= diagBlock(q0) && kbv <= diagBlock(min(q0 + SB, Sq) - 1);
  topKeep(kbv, qbv, hv2, b) = select(cand(kbv, qbv, hv2, b) != 0 &&
                                         (rank(kbv, qbv, hv2, b) < static_cast<int>(d.sparseTopT) || diag),
                                     cast<uint8_t>(1), cast<uint8_t>(0));
}

void Builder::applySchedule() {
  const KernelDesc &d = d_;
  const bool sig = d.sigmoid;
  const int vec = s_.vector;
  const int rowVec = vecFor(s_.rowBlock, vec), dvVec = vecFor(s_.dvBlock, vec);
  const int dVec = vecFor(D, vec), dvLoadVec = vecFor(Dv, vec);
  Var qo("qo"), qi("qi"), g("g"), task("task"), dvi("dvi"), ri("ri");
  out_.split(qv, qo, qi, QT, TailStrategy::GuardWithIf);
  if (Gout > 1) out_.split(hv, hk, g, Gout, TailStrategy::RoundUp);
  else out_.rename(hv, hk);
  const bool headsInner = s_.headsInner;
  if (headsInner) {
    // Tasks are (q-tile, batch); every kv head inside, so that a kv tile of
    // bshd K/V is read as whole contiguous rows.
    if (Gout > 1) out_.reorder(dv, g, qi, hk, qo, b);
    else out_.reorder(dv, qi, hk, qo, b);
    out_.fuse(qo, b, task).parallel(task);
  } else {
    if (Gout > 1) out_.reorder(dv, g, qi, qo, hk, b);
    else out_.reorder(dv, qi, qo, hk, b);
    out_.fuse(qo, hk, task).fuse(task, b, task).parallel(task);
  }
  const int outVec = vecFor(d.valueDim, vec);
  out_.vectorize(dv, outVec);

  LoopLevel atTask(out_, task);
  if (mla) {
    // Absorbed low rank: q through k_up once per task, v_up once per output row.
    // (q_lat spans the R latent dims; with rope the P more of Qp come from q.)
    const int R = static_cast<int>(d.rank);
    qLat.compute_at(atTask).vectorize(dd, vecFor(R, vec));
    qLat.update().reorder(dd, rqx.x, r).vectorize(dd, vecFor(R, vec));
    oLat.compute_at(atTask).vectorize(dv, vecFor(Dv, vec));
    oProj.compute_at(atTask).vectorize(dv, outVec);
    oProj.update().reorder(dv, rox.x, qv, hv).vectorize(dv, outVec);
  }
  if (s_.amx) {
    // Rows fastest, as the state: the merge of the splits reads it in whole
    // vectors (the output then transposes once).
    const int rv = vecFor(TQ, vec);
    fin.reorder_storage(r, dv, qt, hk, b).compute_at(atTask).reorder(r, dv).vectorize(r, rv);
    fin.update().reorder(r, dv, rs).vectorize(r, rv);
  } else {
    fin.compute_at(atTask).vectorize(dv, dvLoadVec);
    fin.update().reorder(dv, r, rs).vectorize(dv, dvLoadVec);
  }
  cls.compute_at(atTask);
  if (anyF.defined()) {
    anyF.compute_at(cls, kt);
    allF.compute_at(cls, kt);
  }
  if (linformer) {
    // Once per call, before the tasks, per (kv head, batch): register blocks
    // of 8 projected rows x one f64 vector of head_dim, summed over the whole
    // sequence in registers (the sequence loop inside the block).
    Var hb("hb"), x = projK.args()[0], rr = projK.args()[1], xo("xo"), xi("xi"), ro("ro"), ri("ri");
    const int dvec = vec / 2;  // f64 lanes
    for (auto [f, rj] : {std::pair<Func *, RDom *>{&projK, &rjK}, {&projV, &rjV}}) {
      f->compute_root().fuse(hv, b, hb).parallel(hb).vectorize(x, dvec);
      f->update()
          .split(x, xo, xi, dvec, TailStrategy::GuardWithIf)
          .split(rr, ro, ri, 8, TailStrategy::GuardWithIf)
          .reorder(xi, ri, rj->x, xo, ro)
          .vectorize(xi)
          .unroll(ri)
          .fuse(hv, b, hb)
          .parallel(hb);
    }
  }
  if (topKeep.defined()) {
    // The plan before the tasks: block means, then per (head, batch) the
    // estimates, candidates and ranks of each q block.
    Var hb("hb");
    meanQ.compute_root().fuse(hv2, b, hb).parallel(hb);
    meanQ.update().reorder(xv, qbv).fuse(hv2, b, hb).parallel(hb);
    meanK.compute_root().fuse(hv2, b, hb).parallel(hb);
    meanK.update().reorder(xv, kbv).fuse(hv2, b, hb).parallel(hb);
    if (mlaMat) kExact.compute_at(meanK, kbv);  // (a block's key rows at a time: never all of K)
    topKeep.compute_root().reorder(kbv, qbv, hv2, b).fuse(hv2, b, hb).parallel(hb);
    est.compute_at(topKeep, qbv);
    cand.compute_at(topKeep, qbv);
    rank.compute_at(topKeep, kbv);
  }
  if (spAny.defined()) {
    spAny.compute_at(cls, kt);
    spAll.compute_at(cls, kt);
    for (Chain &c : chains) {
      c.count.compute_at(atTask);
      c.list.compute_at(atTask);
    }
  }
  if (s_.dotQK && !d.additive) Qp.compute_at(atTask).reorder_storage(dd, r, qt, hk, b).vectorize(dd, dVec);
  else Qp.compute_at(atTask).vectorize(r, vecFor(TQ, vec));
  const bool bdot = s_.bf16Dot, bdotPre = bdot && !s_.dotQK, amx = s_.amx;
  // Rows in vector lanes through P.V and the merge (bf16dot, amx or pvlanes prefill).
  const bool rowsLanes = bdotPre || amx || (s_.pvLanes && !bdot);
  // Prefill: (pair, row, head_dim / 2), 16 rows per load; decode: each row's
  // head_dim in order, 16 pairs per load (the dot products run along it).
  // (amx: an extern stage's needs are known at run time only; its inputs'
  // extents are stated, so that they vectorize.)
  if (amx) {
    Qb.bound(pr, 0, 2).bound(r, 0, TQ).bound(dd, 0, D / 2);
    vtAll.bound(dv, 0, Dv).bound(j, 0, TK);
    kPack.bound(dd, 0, D);
  }
  if (amx) {
    Var rqo("rqo"), rqi("rqi");
    Qrow.compute_at(atTask).bound(dd, 0, D).vectorize(dd, vecFor(D, 2 * vec));
    Qb.compute_at(atTask).reorder(pr, r, dd).split(r, rqo, rqi, 16).reorder(pr, rqi, dd, rqo).vectorize(pr).vectorize(rqi);
  } else if (bdotPre && mla) {
    // (The latent q once per task, then its two bf16 parts.)
    qLatF.compute_at(atTask).vectorize(dd, vecFor(D, vec));
    Qb.compute_at(atTask).vectorize(pr);
    Qlo.compute_at(atTask).vectorize(pr);
  } else if (bdotPre) Qb.compute_at(atTask).vectorize(pr);
  else if (bdot) Qb.compute_at(atTask).reorder_storage(pr, dd, r, qt, hk, b).reorder(pr, dd, r).vectorize(pr).vectorize(dd, vecFor(D / 2, vec));
  if (amx) {
    // K and V^T once per call, per (kv head, batch): K rows copied whole; V^T
    // in 16 x 16 blocks, both ways vectorized (whole V rows in, whole V^T
    // rows out, shuffled in registers).
    Var hb("hb"), jo("jo"), ji("ji"), xo("xo"), xi("xi");
    kPack.compute_root().vectorize(dd, vecFor(D, 2 * vec)).fuse(hk, b, hb).parallel(hb);
    vtAll.compute_root()
        .tile(j, dv, jo, xo, ji, xi, 16, 16, TailStrategy::GuardWithIf)
        .reorder(ji, xi, jo, xo, tv, hk, b)
        .vectorize(ji)
        .vectorize(xi)
        .fuse(hk, b, hb)
        .parallel(hb);
  }
  if (d.additive) {
    qproj.compute_at(atTask).vectorize(u, vecFor(d.units, vec));
    qproj.update().reorder(u, r, rdq.x).vectorize(u, vecFor(d.units, vec));
  }

  // bf16dot keeps rows in vector lanes through P.V and the merge: the state
  // is stored row-fastest (the split merge and the output read it across).
  if (rowsLanes) state.reorder_storage(r, dv, qt, sp, hk, b).compute_at(atTask).vectorize(r, vecFor(TQ, vec));
  else state.compute_at(atTask).vectorize(dv, dvLoadVec);
  for (int which = 0; which < 2; ++which) {
    Chain &c = chains[which];
    Stage st = state.update(which);
    const bool colsR = s_.amx && !sig;
    RVar rk(colsR ? c.rk.y : c.rk.x);
    // Stage-specific loop names, so that LoopLevels find the right stage.
    std::string sfx = which == 0 ? "_full" : "_part";
    Var dvo("dvo" + sfx), ro("ro" + sfx), spS("s" + sfx);
    Var hkS("hk" + sfx);
    st.rename(sp, spS);
    if (colsR) {
      // Per vector of rows, every value column in order, unrolled (the
      // rescaling exp once per row: see defineAlgorithm).
      Var rvo("rvo" + sfx), rvi("rvi" + sfx);
      RVar rdv(c.rk.x);
      st.split(r, rvo, rvi, vecFor(TQ, vec)).reorder(rvi, rdv, rvo, rk, spS).vectorize(rvi).unroll(rdv);
    } else if (rowsLanes) {
      st.reorder(r, dv, rk, spS).vectorize(r, vecFor(TQ, vec));
    } else {
      st.split(dv, dvo, dvi, s_.dvBlock).split(r, ro, ri, s_.pvRows);
      if (headsInner) st.rename(hk, hkS).reorder(dvi, ri, dvo, ro, hkS, rk, spS);
      else st.reorder(dvi, ri, dvo, ro, rk, spS);
      st.vectorize(dvi, dvVec).unroll(ri);
    }
    st.parallel(spS);
    if (s_.prefetch && d.lowRank != KernelDesc::LowRank::Kv) {
      // Fetch the next kv tile's K and V while this one computes.
      st.prefetch(param("k"), rk, rk, 1);
      st.prefetch(param("v"), rk, rk, 1);
    }
    LoopLevel atTile = headsInner ? LoopLevel(state, hkS) : LoopLevel(state, rk);
    // Tile buffers live on the stack (no malloc per tile; at most a few
    // hundred KiB: rows x tileKv and tileKv x head_dim floats).
    // Inputs converted to f32 once per tile (plain loads for f32).
    // (In dot mode K and V are converted in registers as they are read: each
    // element is used by every row of the tile right after its load.)
    if (amx) {
      // (K and V^T were packed once per call: nothing per tile but the tile index.)
      if (!c.fused) c.Pb.bound(pr, 0, 2).bound(r, 0, TQ).bound(jp, 0, TK / 2);
      c.tileOf.compute_at(atTile);
    } else if (bdotPre) {
      // bf16 as stored: K copied (one pointer for the column broadcasts), V
      // interleaved by pairs of kv rows, P rounded and interleaved the same way.
      c.Kf.compute_at(atTile).store_in(MemoryType::Stack).vectorize(dd, vecFor(D, 2 * vec));
      c.Vp.compute_at(atTile).store_in(MemoryType::Stack).vectorize(pr).vectorize(dv, dvLoadVec);
    } else if (mlaMat) {
      // The tile's K and V rows from its latent rows: per kv row, the sum
      // over the latent dims with the row's head_dim (value_dim) vectors
      // unrolled as accumulators.
      const int P = static_cast<int>(d.ropeDim), Dn = static_cast<int>(d.headDim) - P;
      Func &kSum = P > 0 ? c.Kn : c.Kf;
      const int kVec = vecFor(P > 0 ? Dn : D, vec), vVec = vecFor(Dv, vec);
      Var xo("xo"), xi("xi");
      kSum.compute_at(atTile).store_in(MemoryType::Stack).vectorize(dd, kVec);
      kSum.update().split(dd, xo, xi, kVec).reorder(xi, xo, c.rl.x, j).vectorize(xi).unroll(xo);
      if (P > 0) c.Kf.compute_at(atTile).store_in(MemoryType::Stack).vectorize(dd, dVec);
      c.Vf.compute_at(atTile).store_in(MemoryType::Stack).vectorize(dv, vVec);
      c.Vf.update().split(dv, xo, xi, vVec).reorder(xi, xo, c.rl.x, j).vectorize(xi).unroll(xo);
    } else if (!(s_.dotQK && !d.additive) && !bdot) {
      c.Kf.compute_at(atTile).store_in(MemoryType::Stack).vectorize(dd, dVec);
      c.Vf.compute_at(atTile).store_in(MemoryType::Stack).vectorize(dv, dvLoadVec);
    }
    // Q.K^T in register blocks: rowBlock rows (vectors) x colBlock columns.
    if (d.additive) {
      c.kproj.compute_at(atTile).vectorize(u, vecFor(d.units, vec));
      c.kproj.update().reorder(u, j, c.rdk.x)
          .vectorize(u, vecFor(d.units, vec));
      c.Smm.compute_at(atTile).vectorize(r, vecFor(TQ, vec));
      c.Smm.update().reorder(r, j, c.ru.x)
          .vectorize(r, vecFor(TQ, vec));
    }
    Func Sfn = sig ? c.P : c.S;
    if (amx) {
      // The tile products on AMX (the whole tile in one stage when fused);
      // scores then in the usual register blocks.
      if (!c.fused) {
        c.Smm.compute_at(atTile).store_in(MemoryType::Stack);
        blockedTile(Sfn, atTile, r, j, s_.rowBlock, s_.colBlock, rowVec, "s" + sfx);
      }
    } else if (s_.dotQK && !d.additive) {
      // Dot products over head_dim in vector lanes (rfactor), one horizontal
      // sum per score: for tiles with fewer rows than a vector.
      // All rows of one kv column together: each K vector is loaded once.
      Sfn.compute_at(atTile).store_in(MemoryType::Stack);
      RVar rdo("rdo" + sfx), rdi("rdi" + sfx);
      Var lane("lane" + sfx);
      c.Smm.compute_at(Sfn, j);
      // bf16dot: the lanes are pairs of head_dim (rd.y), each pair summed by
      // the instruction (rd.x vectorized with the lanes).
      RVar rdSplit = bdot ? RVar(c.rd.y) : RVar(c.rd.x);
      const int lanes = bdot ? vecFor(D / 2, vec) : dVec;
      Func intm = c.Smm.update().split(rdSplit, rdo, rdi, lanes).rfactor(rdi, lane);
      intm.compute_at(Sfn, j).reorder_storage(lane, r).vectorize(lane);
      if (TQ <= 32) intm.unroll(r);
      // Rows sharing a kv head (at most 8 at a time) share each K vector
      // load and keep their accumulators in registers across head_dim.
      const int rg = std::min(TQ, std::min(8, Greal));
      Var rgo("rgo" + sfx), rgi("rgi" + sfx);
      if (bdot)
        intm.update()
            .split(r, rgo, rgi, rg)
            .reorder(RVar(c.rd.x), lane, rgi, rdo, rgo)
            .atomic()
            .vectorize(RVar(c.rd.x))
            .vectorize(lane)
            .unroll(rgi);
      else intm.update().split(r, rgo, rgi, rg).reorder(lane, rgi, rdo, rgo).vectorize(lane).unroll(rgi);
      c.Smm.update().atomic().vectorize(rdi);
    } else {
      Var sro = blockedTile(Sfn, atTile, r, j, s_.rowBlock, s_.colBlock, rowVec, "s" + sfx);
      if (bdot) {
        // vdpbf16ps: 16 rows x a pair of head_dim per instruction (the pair
        // lane rd.x and the rows vectorized together, reduced by pairs).
        c.Smm.compute_at(Sfn, sro);
        registerBlock(c.Smm, r, j, rowVec);
        pairBlock(c.Smm.update(), c.rd, r, j, rowVec, "qk" + sfx);
        if (mla) pairBlock(c.Smm.update(1), c.rdlo, r, j, rowVec, "qklo" + sfx);
      } else if (!d.additive) {
        c.Smm.compute_at(Sfn, sro);
        registerBlock(c.Smm, r, j, rowVec);
        registerBlock(c.Smm.update().reorder(r, j, c.rd.x), r, j, rowVec);
      }
    }
    if (!sig && !c.fused) {
      int tv = vecFor(TQ, vec);
      c.Mt.compute_at(atTile).vectorize(r, tv);
      c.Mt.update().reorder(r, c.rjm.x).vectorize(r, tv);
      c.P.compute_at(atTile).store_in(MemoryType::Stack).vectorize(r, tv);
      c.Lt.compute_at(atTile).vectorize(r, tv);
      c.Lt.update().reorder(r, c.rjl.x).vectorize(r, tv);
    }
    // P.V in register blocks: pvRows rows x dvBlock columns (vectors).
    if (c.fused) {
      c.OtX.compute_at(atTile).store_in(MemoryType::Stack);
    } else if (amx) {
      c.Pb.compute_at(atTile).store_in(MemoryType::Stack).vectorize(pr).vectorize(r, vecFor(TQ, vec));
      c.OtT.compute_at(atTile).store_in(MemoryType::Stack);
    } else if (bdot && s_.dotQK) {
      // Per pair of kv rows: every value column (16 per instruction) of every
      // row, the interleaved V vectors shared by the rows (unrolled inside).
      c.Pb.compute_at(atTile).store_in(MemoryType::Stack).vectorize(pr);
      Var pdo("pdo" + sfx), pdi("pdi" + sfx);
      c.Ot.compute_at(atTile).vectorize(dv, dvLoadVec);
      c.Ot.update()
          .split(dv, pdo, pdi, dvLoadVec)
          .reorder(RVar(c.rjo.x), pdi, r, pdo, RVar(c.rjo.y))
          .atomic()
          .vectorize(RVar(c.rjo.x))
          .vectorize(pdi);
      if (TQ <= 32) c.Ot.update().unroll(r);
    } else if (bdot) {
      // The Q.K^T block again: rowBlock rows (vectors) x colBlock value
      // columns, each instruction 16 rows x a pair of kv rows.
      c.Pb.compute_at(atTile).store_in(MemoryType::Stack).vectorize(pr).vectorize(r, vecFor(TQ, vec));
      Var oro = blockedTile(c.OtT, atTile, r, dv, s_.rowBlock, s_.colBlock, rowVec, "o" + sfx);
      c.Oacc.compute_at(c.OtT, oro);
      registerBlock(c.Oacc, r, dv, rowVec);
      pairBlock(c.Oacc.update(), c.rjo, r, dv, rowVec, "pv" + sfx);
    } else if (rowsLanes) {
      // f32 pvlanes: the Q.K^T block shape, the V element of a column broadcast.
      Var oro = blockedTile(c.OtT, atTile, r, dv, s_.rowBlock, s_.colBlock, rowVec, "o" + sfx);
      c.Oacc.compute_at(c.OtT, oro);
      registerBlock(c.Oacc, r, dv, rowVec);
      registerBlock(c.Oacc.update().reorder(r, dv, c.rjo.x), r, dv, rowVec);
    } else if (s_.pvStream) {
      // One pass over the V tile, row after row (every value column of every
      // tile row per kv row): V streams from memory once; O_t stays in L1.
      c.Ot.compute_at(atTile).vectorize(dv, dvLoadVec);
      c.Ot.update().reorder(dv, r, c.rjo.x).vectorize(dv, dvLoadVec);
      if (TQ <= 32) c.Ot.update().unroll(r);
    } else {
      c.Ot.compute_at(LoopLevel(state, dvo));
      registerBlock(c.Ot, dv, r, dvVec);
      registerBlock(c.Ot.update().reorder(dv, r, c.rjo.x), dv, r, dvVec);
    }
  }
}

Target makeTarget(Isa isa, bool bf16Dot = false) {
  Target t("x86-64-linux");
  // LargeBuffers: 64-bit addressing, for K/V of more than 2 GiB (long decodes).
  std::vector<Target::Feature> f = {Target::SSE41, Target::AVX, Target::AVX2, Target::FMA, Target::F16C,
                                    Target::LargeBuffers};
  if (isa == Isa::Avx512) {
    f.push_back(Target::AVX512);
    f.push_back(Target::AVX512_Skylake);
  }
  // AVX512_SapphireRapids only for bf16dot kernels: it is Halide 14's one
  // switch for vdpbf16ps (and vcvtneps2bf16). It also tells LLVM the CPU is a
  // Sapphire Rapids, whose AMX and AVX512-FP16 Zen 4 lacks: LLVM emits AMX
  // only for Halide's AMXTile schedules (never used here) and FP16 only for
  // half arithmetic, which a bf16 kernel has none of; tests/robustness checks
  // the objects for both.
  if (isa == Isa::Avx512 && bf16Dot) f.push_back(Target::AVX512_SapphireRapids);
  for (Target::Feature x : f) t = t.with_feature(x);
  return t;
}

/// An LLVM 19 tool: $ATTNC_LLVM_BIN/NAME, else Debian's NAME-19 on the PATH.
std::string llvmTool(const char *name) {
  if (const char *dir = std::getenv("ATTNC_LLVM_BIN"); dir && *dir) return std::string(dir) + "/" + name;
  return std::string(name) + "-19";
}

/// Whether LLVM 19's llc runs here (asked once per process).
bool haveLlc() {
  static const bool ok = runCommand(llvmTool("llc") + " --version >/dev/null 2>&1") == 0;
  return ok;
}

/// The object of a bf16dot pipeline. Halide 14's one switch for vdpbf16ps is
/// its Sapphire Rapids target, and with it LLVM assumes every Sapphire Rapids
/// feature: it emitted AVX512-FP16's vmovw for 16-bit loads (SIGILL on Zen 4,
/// which has avx512_bf16 but no FP16). So the pipeline goes to bitcode (after
/// Halide's own optimization; the fast-math flags are on its instructions and
/// name no CPU), and LLVM 19's llc makes the object for x86-64-v4 plus
/// avx512bf16: exactly what the run-time check asks of the CPU.
bool compileRetargeted(Pipeline &p, const std::vector<Argument> &args, const std::string &fn, const Target &t,
                       const std::string &obj, std::string &error) {
  std::string bc = obj + ".bc";
  p.compile_to_bitcode(bc, args, fn, t);
  std::string cmd = fmt::format(
      "{} -O3 -mcpu=x86-64-v4 -mattr=+avx512bf16,+fma,+f16c -filetype=obj -relocation-model=pic "
      "-function-sections -o {} {}",
      llvmTool("llc"), shellQuote(obj), shellQuote(bc));
  int rc = runCommand(cmd);
  std::error_code ec;
  std::filesystem::remove(bc, ec);
  if (rc != 0) {
    error = fmt::format("`{}` failed (bf16dot kernels need LLVM 19's llc: apt-get install llvm-19, or set "
                        "ATTNC_LLVM_BIN)", cmd);
    return false;
  }
  return true;
}

}  // namespace

bool compileAmxObject(const std::string &source, const std::string &obj, std::string &error) {
  std::ofstream(source) << templates::kAmx;
  std::string cmd = fmt::format("{} -std=c11 -O2 -fPIC -mavx512f -mavx512bf16 -mamx-tile -mamx-bf16 -c -o {} {}",
                                cCompiler(), shellQuote(obj), shellQuote(source));
  if (runCommand(cmd) != 0) {
    error = fmt::format("compiling the AMX tile products failed: {} (they need GCC 11 or Clang 12 for -mamx-bf16; "
                        "set ATTNC_CC or CC)", cmd);
    return false;
  }
  return true;
}

namespace {

/// A bf16dot pipeline compiled as above into a shared object with its own
/// Halide runtime and loaded: the JIT path of such kernels (Halide's JIT has
/// no way to retarget).
struct NativeLib {
  void *handle = nullptr;
  int (*argv)(void **) = nullptr;
  ~NativeLib() {
    if (handle) dlclose(handle);
  }
};

}  // namespace

struct HalideKernel::Impl {
  KernelDesc desc;
  KernelRegions regions;
  MaskInfo mask;
  Schedule sched;
  Isa isa = Isa::Avx512;
  std::unique_ptr<Builder> builder;
  Pipeline pipeline;
  bool jitted = false;
  std::unique_ptr<NativeLib> native;  // bf16dot: the retargeted pipeline, loaded
  std::mutex mu;
};

HalideKernel::HalideKernel() : impl_(std::make_unique<Impl>()) {}
HalideKernel::~HalideKernel() = default;
const KernelDesc &HalideKernel::desc() const { return impl_->desc; }
const Schedule &HalideKernel::schedule() const { return impl_->sched; }

std::unique_ptr<HalideKernel> HalideKernel::create(const KernelPlan &plan, const Schedule &schedule, Isa isa,
                                                   std::string &error) {
  std::unique_ptr<HalideKernel> k(new HalideKernel());
  Impl &im = *k->impl_;
  im.desc = plan.desc;
  im.regions = plan.regions;
  im.mask = plan.mask;
  im.sched = schedule;
  im.isa = isa;
  legalize(im.sched, im.desc, isa);
  if ((im.sched.bf16Dot || im.sched.amx) && !haveLlc()) {
    // Kernels still compile (converting bf16 to f32); said once per process.
    static std::once_flag warned;
    std::call_once(warned, [] {
      std::fprintf(stderr, "attnc: warning: `%s` not found: bf16 kernels compile without bf16 dot products "
                           "(apt-get install llvm-19, or set ATTNC_LLVM_BIN)\n",
                   llvmTool("llc").c_str());
    });
    im.sched.bf16Dot = false;
    im.sched.amx = false;
  }
  try {
    im.builder = std::make_unique<Builder>(im.desc, im.regions, im.mask, im.sched, isa);
    if (!im.builder->build(error)) return nullptr;
    im.pipeline = Pipeline(im.builder->out_);
  } catch (const Halide::Error &e) {
    error = fmt::format("Halide: {}", e.what());
    return nullptr;
  } catch (const std::exception &e) {
    error = fmt::format("internal error building the Halide pipeline: {}", e.what());
    return nullptr;
  }
  return k;
}

std::unique_ptr<HalideKernel> HalideKernel::createAutoscheduled(const KernelPlan &plan, const std::string &name,
                                                                Isa isa, int64_t batch, int64_t seqQ, int64_t seqKv,
                                                                int threads, std::string &error) {
  std::unique_ptr<HalideKernel> k(new HalideKernel());
  Impl &im = *k->impl_;
  im.desc = plan.desc;
  im.regions = plan.regions;
  im.mask = plan.mask;
  // The algorithm's own knobs (tile sizes) as the default prefill has them;
  // nothing that needs a schedule of ours (extern tile products, bf16 dot
  // products, the decode tile's dot products).
  im.sched = defaultSchedule(plan.desc, isa, false);
  im.sched.bf16Dot = im.sched.amx = im.sched.dotQK = false;
  legalize(im.sched, im.desc, isa);
  im.isa = isa;
  const char *dirEnv = std::getenv("ATTNC_HALIDE_PLUGINS");
  const std::string dir = dirEnv && *dirEnv ? dirEnv : "/usr/lib/x86_64-linux-gnu/halide14";
  std::string lower = name;
  for (char &c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string plugin = dir + "/libautoschedule_" + lower + ".so";
  try {
    static std::mutex loadMu;
    {
      std::lock_guard<std::mutex> lock(loadMu);
      static std::set<std::string> loaded;
      if (!loaded.count(plugin)) {
        if (!std::filesystem::exists(plugin)) {
          error = fmt::format("the {} autoscheduler plugin `{}` is not there (Debian's libhalide14-0 ships it; or set "
                              "ATTNC_HALIDE_PLUGINS)", name, plugin);
          return nullptr;
        }
        load_plugin(plugin);
        loaded.insert(plugin);
      }
    }
    im.builder = std::make_unique<Builder>(im.desc, im.regions, im.mask, im.sched, isa);
    if (!im.builder->build(error, /*schedule=*/false)) return nullptr;
    im.builder->setEstimates(batch, seqQ, seqKv);
    im.pipeline = Pipeline(im.builder->out_);
    // Adams2019's beam search: greedy unless the environment asks for more
    // (HL_BEAM_SIZE=32, its own default, takes minutes per pass here).
    if (name == "Adams2019") ::setenv("HL_BEAM_SIZE", "1", /*overwrite=*/0);
    MachineParams mp(threads, 1 << 20, 40);
    im.pipeline.auto_schedule(name, makeTarget(isa), mp);
  } catch (const Halide::Error &e) {
    error = fmt::format("Halide's {} autoscheduler: {}", name, e.what());
    return nullptr;
  } catch (const std::exception &e) {
    error = fmt::format("Halide's {} autoscheduler: {}", name, e.what());
    return nullptr;
  }
  return k;
}

bool HalideKernel::jitCompile(std::string &error) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->jitted) return true;
  Impl &im = *impl_;
  try {
    // The JIT runs here: without avx512_bf16, the bf16dot pipeline becomes
    // the f32-conversion one (a library carries both and picks at run time).
    // So does an amx pipeline without AMX (the f32-conversion one, as a
    // library's twin).
    if ((im.sched.bf16Dot && !hostHasBf16Dot()) || (im.sched.amx && !hostHasAmx())) {
      im.sched.bf16Dot = false;
      im.sched.amx = false;
      im.builder = std::make_unique<Builder>(im.desc, im.regions, im.mask, im.sched, im.isa);
      if (!im.builder->build(error)) return false;
      im.pipeline = Pipeline(im.builder->out_);
    }
    if (im.sched.bf16Dot || im.sched.amx) {
      const char *tmp = std::getenv("TMPDIR");
      std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/attnc-jit-XXXXXX";
      if (!mkdtemp(dir.data())) {
        error = fmt::format("cannot make a temporary directory in {}: {}", dir, std::strerror(errno));
        return false;
      }
      std::string obj = dir + "/k.o", rt = dir + "/rt.o", so = dir + "/k.so";
      // ATTNC_JIT_KEEP=1 keeps the directory (for `perf report`, which needs the .so).
      auto cleanup = [&] {
        if (const char *keep = std::getenv("ATTNC_JIT_KEEP"); keep && *keep == '1') return;
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      };
      if (!compileRetargeted(im.pipeline, im.builder->arguments(), "attnc_jit",
                             makeTarget(im.isa, true).with_feature(Target::NoRuntime), obj, error)) {
        cleanup();
        return false;
      }
      compile_standalone_runtime(rt, makeTarget(im.isa));
      const std::string cc = cCompiler();
      std::string extra;
      if (im.sched.amx) {
        std::string amxObj = dir + "/amx.o";
        if (!compileAmxObject(dir + "/amx.c", amxObj, error)) {
          cleanup();
          return false;
        }
        extra = " " + shellQuote(amxObj);
      }
      // -Bsymbolic: the object calls its own runtime, never another one in the process.
      std::string cmd = fmt::format("{} -shared -Wl,-Bsymbolic -o {} {} {}{}", cc, shellQuote(so), shellQuote(obj),
                                    shellQuote(rt), extra);
      if (runCommand(cmd) != 0) {
        cleanup();
        error = fmt::format("linking the bf16dot kernel failed: {} (set ATTNC_CC or CC to a C compiler)", cmd);
        return false;
      }
      auto lib = std::make_unique<NativeLib>();
      lib->handle = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
      cleanup();
      if (!lib->handle) {
        error = fmt::format("loading the bf16dot kernel: {}", dlerror());
        return false;
      }
      lib->argv = reinterpret_cast<int (*)(void **)>(dlsym(lib->handle, "attnc_jit_argv"));
      if (!lib->argv) {
        error = "the bf16dot kernel has no attnc_jit_argv";
        return false;
      }
      im.native = std::move(lib);
      im.jitted = true;
      return true;
    }
    impl_->pipeline.compile_jit(makeTarget(impl_->isa, impl_->sched.bf16Dot || impl_->sched.amx));
    impl_->jitted = true;
    return true;
  } catch (const Halide::Error &e) {
    error = fmt::format("Halide: {}", e.what());
    return false;
  }
}

namespace {

Buffer<> wrap(const attnc_tensor &t, bool lseView, int64_t dv, bool bshd) {
  std::vector<halide_dimension_t> dims;
  if (lseView) {
    int32_t ext[4], str[4];
    attnc_x86_lse_view(t.shape, t.stride, dv, bshd ? 1 : 0, ext, str);
    for (int i = 0; i < 4; ++i) dims.push_back({0, ext[i], str[i]});
  } else {
    for (int i = t.ndim - 1; i >= 0; --i)
      dims.push_back({0, static_cast<int32_t>(t.shape[i]), static_cast<int32_t>(t.stride[i])});
  }
  return Buffer<>(halideType(static_cast<dsl::DType>(t.dtype)), t.data, static_cast<int>(dims.size()), dims.data());
}

}  // namespace

std::string unsupported(const KernelPlan &plan) { return unsupportedReason(plan.desc); }

int chooseSplits(const KernelDesc &d, const Schedule &s, int64_t batch, int64_t seqQ, int64_t seqKv, int threads) {
  return attnc_x86_choose_splits(batch, s.headsInner || s.allHeads ? 1 : d.kvHeads, seqQ, s.qPerTile, seqKv, s.tileKv,
                                 threads, s.maxSplits);
}

bool HalideKernel::run(const std::vector<attnc_tensor> &args, int threads, int nsplit, std::string &error) {
  if (!jitCompile(error)) return false;
  Impl &im = *impl_;
  const KernelDesc &d = im.desc;
  size_t nOut = d.outputLse ? 2 : 1;
  const auto &params = im.builder->params_;
  if (args.size() != params.size() + nOut) {
    error = fmt::format("expected {} tensors, got {}", params.size() + nOut, args.size());
    return false;
  }
  bool bshd = d.layout == dsl::Layout::BSHD;
  try {
    ParamMap pm;
    std::vector<Buffer<>> bufs;
    for (size_t i = 0; i < params.size(); ++i) bufs.push_back(wrap(args[i], false, 0, bshd));
    for (size_t i = 0; i < params.size(); ++i) pm.set(params[i], bufs[i]);
    const attnc_tensor &q = args[0];
    int64_t batch = q.shape[0], seqQ = bshd ? q.shape[1] : q.shape[2];
    int64_t seqKv = bshd ? args[1].shape[1] : args[1].shape[2];
    int splits = nsplit > 0 ? nsplit
                            : chooseSplits(d, im.sched, batch, seqQ, seqKv,
                                           threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency()));
    pm.set(im.builder->nsplit_, splits);
    Buffer<> outBuf = wrap(args[params.size()], false, 0, bshd);
    if (im.native) {
      // Halide's argv convention: buffers by pointer, scalars by address, outputs last.
      std::vector<void *> argv;
      for (Buffer<> &b : bufs) argv.push_back(b.raw_buffer());
      int32_t ns = splits;
      argv.push_back(&ns);
      argv.push_back(outBuf.raw_buffer());
      Buffer<> lseBuf;
      if (d.outputLse) {
        lseBuf = wrap(args[params.size() + 1], true, d.valueDim, bshd);
        argv.push_back(lseBuf.raw_buffer());
      }
      if (int rc = im.native->argv(argv.data()); rc != 0) {
        error = fmt::format("the Halide pipeline failed with code {}", rc);
        return false;
      }
      return true;
    }
    if (d.outputLse) {
      Buffer<> lseBuf = wrap(args[params.size() + 1], true, d.valueDim, bshd);
      Realization rz({outBuf, lseBuf});
      im.pipeline.realize(rz, makeTarget(im.isa, im.sched.bf16Dot || im.sched.amx), pm);
    } else {
      Realization rz({outBuf});
      im.pipeline.realize(rz, makeTarget(im.isa, im.sched.bf16Dot || im.sched.amx), pm);
    }
  } catch (const Halide::Error &e) {
    error = fmt::format("Halide: {}", e.what());
    return false;
  }
  return true;
}

bool HalideKernel::compileToObject(const std::string &path, const std::string &fnName, std::string &error) {
  try {
    Target t = makeTarget(impl_->isa, impl_->sched.bf16Dot || impl_->sched.amx).with_feature(Target::NoRuntime);
    if (impl_->sched.bf16Dot || impl_->sched.amx)
      return compileRetargeted(impl_->pipeline, impl_->builder->arguments(), fnName, t, path, error);
    impl_->pipeline.compile_to_object(path, impl_->builder->arguments(), fnName, t);
    return true;
  } catch (const Halide::Error &e) {
    error = fmt::format("Halide: {}", e.what());
    return false;
  }
}

bool HalideKernel::compileToStmt(const std::string &path, std::string &error) {
  // Halide 14 writes the file without checking that it could: check first.
  if (!std::ofstream(path)) {
    error = "cannot write `" + path + "`";
    return false;
  }
  try {
    impl_->pipeline.compile_to_lowered_stmt(path, impl_->builder->arguments(), Halide::Text, makeTarget(impl_->isa, impl_->sched.bf16Dot || impl_->sched.amx));
    return true;
  } catch (const Halide::Error &e) {
    error = fmt::format("Halide: {}", e.what());
    return false;
  }
}

bool HalideKernel::compileRuntime(const std::string &path, Isa isa, std::string &error) {
  try {
    compile_standalone_runtime(path, makeTarget(isa));
    return true;
  } catch (const Halide::Error &e) {
    error = fmt::format("Halide: {}", e.what());
    return false;
  }
}

}  // namespace attnc::x86

namespace attnc::x86 {
bool createStaticLibrary(const std::vector<std::string> &objects, const std::string &path, Isa isa,
                         std::string &error) {
  try {
    Halide::create_static_library(objects, makeTarget(isa), path, true);
    return true;
  } catch (const Halide::Error &e) {
    error = fmt::format("Halide: {}", e.what());
    return false;
  }
}
}  // namespace attnc::x86
