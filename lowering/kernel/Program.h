// The score_mod / mask / bias regions of a compiled kernel as a small register
// program, free of MLIR: the reference interprets it, the x86 and CUDA
// backends translate it one instruction at a time. After the pipeline a region
// holds only these operations (arith/math ops, attn.load, attn.seq_q/seq_kv).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attnc {

enum class Code : uint8_t {
  Const, SeqQ, SeqKv,
  AddI, SubI, MulI, DivI, RemI, MinI, MaxI, AbsI,
  AddF, SubF, MulF, DivF, RemF, NegF, MinF, MaxF, AbsF,
  Exp, Exp2, Log, Log2, Sqrt, Rsqrt, Tanh, Floor, Ceil,
  CmpI, CmpF, And, Or, Xor, Select, IToF, FToI, Load,
  Shl, ShrS,  // int32 shifts (amounts 0..31: the IR selects around the others)
  Sin, Cos, Erf, Pow,  // f32 (language 1.1)
  Popcount,            // i32: set bits of the two's complement
};
// And, Or and Xor are logical on i1 values and bitwise on i32 ones (the
// instruction's type says which).

/// Integer comparisons, numbered as MLIR's arith::CmpIPredicate.
enum class CmpIPred : uint8_t { eq, ne, slt, sle, sgt, sge, ult, ule, ugt, uge };
/// Float comparisons, numbered as MLIR's arith::CmpFPredicate (O = ordered, U = unordered).
enum class CmpFPred : uint8_t { False, OEQ, OGT, OGE, OLT, OLE, ONE, ORD, UEQ, UGT, UGE, ULT, ULE, UNE, UNO, True };

/// The type of a value: i32, f32 or i1.
enum class ValType : uint8_t { Int, Float, Bool };

struct Instr {
  Code code;
  uint8_t pred = 0;  // CmpIPred / CmpFPred
  ValType type = ValType::Float;
  int32_t dst = 0, a = 0, b = 0, c = 0;
  double imm = 0;     // Const; for Load, the register of the 4th index
  int32_t input = -1; // Load: index into KernelDesc::inputs (lowering/kernel/KernelDesc.h)
  int32_t numIdx = 0; // Load: number of indices
};

/// Registers 0..4 hold score, b, h, q_idx, kv_idx (score only in score_mod); the
/// rest are instruction results, each written once, in order.
struct Program {
  std::vector<Instr> code;
  int32_t numRegs = 5;
  int32_t result = -1;
  bool empty() const { return result < 0; }
};

struct KernelRegions {
  Program scoreMod, mask, bias;
};

}  // namespace attnc
