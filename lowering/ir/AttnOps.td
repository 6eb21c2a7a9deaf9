// The `attn` dialect: one `attn.kernel` op per .attn spec. Its attributes hold
// the shape of the computation; its regions hold the score_mod, mask and
// sigmoid-bias expressions as arith/math ops; its body declares run-time
// inputs and compression transforms.
#ifndef ATTN_OPS_TD
#define ATTN_OPS_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/OpAsmInterface.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let summary = "Attention kernels and the compression transforms applied to them";
  let description = [{
    The `attn` dialect says *what* an attention kernel computes; schedules say
    how. Backends (reference interpreter, Halide, CUDA) translate the region
    ops one to one.
  }];
  let cppNamespace = "::attnc::attn";
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
  let useDefaultAttributePrinterParser = 1;
}

//===----------------------------------------------------------------------===//
// Enumerations: the closed vocabularies of a spec, numbered as dsl/Types.h
// (and, for dtypes, as attnc_runtime.h's attnc_dtype).
//===----------------------------------------------------------------------===//

def Attn_DTypeEnum : I32EnumAttr<"DType", "storage type of a tensor", [
    I32EnumAttrCase<"f32", 0>, I32EnumAttrCase<"f16", 1>, I32EnumAttrCase<"bf16", 2>,
    I32EnumAttrCase<"i32", 3>, I32EnumAttrCase<"u8", 4>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::attnc::attn";
}
def Attn_DTypeAttr : EnumAttr<Attn_Dialect, Attn_DTypeEnum, "dtype"> {
  let assemblyFormat = "`<` $value `>`";
}

def Attn_LayoutEnum : I32EnumAttr<"Layout", "memory order of q, k, v and out", [
    I32EnumAttrCase<"bhsd", 0>, I32EnumAttrCase<"bshd", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::attnc::attn";
}
def Attn_LayoutAttr : EnumAttr<Attn_Dialect, Attn_LayoutEnum, "layout"> {
  let assemblyFormat = "`<` $value `>`";
}

def Attn_ScoreEnum : I32EnumAttr<"Score", "how a (q, kv) pair is scored", [
    I32EnumAttrCase<"dot", 0>, I32EnumAttrCase<"additive", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::attnc::attn";
}
def Attn_ScoreAttr : EnumAttr<Attn_Dialect, Attn_ScoreEnum, "score"> {
  let assemblyFormat = "`<` $value `>`";
}

def Attn_NormalizeEnum : I32EnumAttr<"Normalize", "how scores become weights", [
    I32EnumAttrCase<"softmax", 0>, I32EnumAttrCase<"sigmoid", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::attnc::attn";
}
def Attn_NormalizeAttr : EnumAttr<Attn_Dialect, Attn_NormalizeEnum, "normalize"> {
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// The mask analysis result
//===----------------------------------------------------------------------===//

def Attn_MaskAnalysisAttr : AttrDef<Attn_Dialect, "MaskAnalysis"> {
  let mnemonic = "mask";
  let summary = "which (q, kv) pairs the mask can keep, in closed form";
  let description = [{
    Attached to `attn.kernel` by `attn-mask-analysis`. Two unions of kv
    intervals per query row: `possible` (an outer bound: pairs the mask may
    keep) and `certain` (an inner bound: pairs it surely keeps). Each
    interval is `[max(lower bounds...), min(upper bounds...)]`, each bound
    affine in `q_idx`, `seq_q` and `seq_kv`; an empty `max()` or `min()` is
    unbounded. The kind is `none` (no mask), `symbolic` (exact: the intervals
    are the mask), `runtime` (the mask reads inputs: undecided tiles are
    classified when the kernel runs) or `partial` (inexact without inputs:
    mask code runs on undecided tiles). Tile sizes are not part of it:
    backends classify tiles at their schedule's sizes (lowering/kernel/MaskInfo.h).

    Example (causal):
    ```mlir
    #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]},
                         certain = {[max(), min(q_idx + -1*seq_q + seq_kv)]}>
    ```
  }];
  // The interval sets are stored flattened (lowering/ir/AttnDialect.cpp,
  // encodeKvSet) so that the storage is trivially destructible.
  let parameters = (ins "bool":$has_mask, "bool":$exact, "bool":$reads_inputs,
                        ArrayRefParameter<"int64_t">:$possible, ArrayRefParameter<"int64_t">:$certain);
  let hasCustomAssemblyFormat = 1;
  let extraClassDeclaration = [{
    static MaskAnalysisAttr fromInfo(::mlir::MLIRContext *ctx, const ::attnc::MaskInfo &info);
    ::attnc::MaskInfo toInfo() const;
  }];
}

class Attn_Op<string mnemonic, list<Trait> traits = []> : Op<Attn_Dialect, mnemonic, traits>;

def Attn_KernelOp : Attn_Op<"kernel", [Symbol, IsolatedFromAbove, NoTerminator,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "one attention kernel";
  let description = [{
    `dtype` is the storage type of q, k, v and out (f32, f16 or bf16);
    `layout` is `bhsd` or `bshd`; `score` is `dot` or `additive` (with
    `units`); `normalize` is `softmax` or `sigmoid`; `scale` multiplies the
    raw score. `mask_analysis` is attached by `attn-mask-analysis`.
    `head_rows` and `head_table` are attached by `attn-plan-heads` to a
    kernel with `attn.prune`: the query heads each kv head computes, packed
    (`head_table[g * head_rows + i]` is the i-th computed query head of kv
    head g, or -1 past its last); a kv head with none is never visited.

    The `body` region (one block, or none when the spec declares nothing)
    declares `attn.input` tensors and compression
    transforms. `score_mod` (block arguments score: f32, b, h, q_idx,
    kv_idx: i32) yields the modified f32 score; `mask` (b, h, q_idx, kv_idx)
    yields i1; `bias` (same arguments) yields the f32 sigmoid bias. An empty
    region means the identity score_mod, no mask, or no bias.

    Example:
    ```mlir
    attn.kernel @causal attributes {dtype = #attn.dtype<bf16>, heads = 8 : i64, ...} {
    } score_mod {
    } mask {
    ^bb0(%b: i32, %h: i32, %q: i32, %kv: i32):
      %c = attn.causal %q, %kv
      attn.yield %c : i1
    } bias {
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, Attn_DTypeAttr:$dtype, I64Attr:$heads,
                       I64Attr:$kv_heads, I64Attr:$head_dim, I64Attr:$value_dim,
                       Attn_LayoutAttr:$layout, Attn_ScoreAttr:$score, I64Attr:$units,
                       Attn_NormalizeAttr:$normalize, F64Attr:$scale, BoolAttr:$output_lse,
                       OptionalAttr<Attn_MaskAnalysisAttr>:$mask_analysis,
                       OptionalAttr<I64Attr>:$head_rows,
                       OptionalAttr<DenseI64ArrayAttr>:$head_table);
  let regions = (region MaxSizedRegion<1>:$body, AnyRegion:$score_mod, AnyRegion:$mask,
                        AnyRegion:$bias);
  let assemblyFormat = [{
    $sym_name attr-dict-with-keyword $body `score_mod` $score_mod `mask` $mask `bias` $bias
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The `attn.input` op named `name` in the body, or null.
    ::attnc::attn::InputOp lookupInput(::llvm::StringRef name);
  }];
}

def Attn_InputOp : Attn_Op<"input", [HasParent<"KernelOp">]> {
  let summary = "a run-time tensor the kernel reads";
  let description = [{
    Declares an extra kernel argument. Each entry of `dims` is a positive
    integer, one of `batch`, `heads`, `kv_heads`, `seq_q`, `seq_kv`, or a
    size expression of the lengths in its canonical text (`dsl::SizeExpr`:
    integers, `batch`, `seq_q`, `seq_kv`, `+ - * /`, `ceil_div`, `min`, `max`).

    Example: `attn.input "doc" : <i32> ["seq_kv"]`,
    `attn.input "blocks" : <i32> ["batch", "ceil_div(seq_q, 16)", "8"]`
  }];
  let arguments = (ins StrAttr:$name, Attn_DTypeAttr:$element_type, StrArrayAttr:$dims);
  let assemblyFormat = "$name `:` $element_type $dims attr-dict";
  let hasVerifier = 1;
}

def Attn_PruneOp : Attn_Op<"prune", [HasParent<"KernelOp">]> {
  let summary = "query heads that are not computed";
  let description = [{
    Pruned heads write 0 to their output slice and -inf to lse.
    Example: `attn.prune heads [2, 5]`
  }];
  let arguments = (ins DenseI64ArrayAttr:$heads);
  let assemblyFormat = "`heads` $heads attr-dict";
  let hasVerifier = 1;
}

def Attn_SparseBlockOp : Attn_Op<"sparse_block", [HasParent<"KernelOp">]> {
  let summary = "block sparsity over (q block, kv block) tiles";
  let description = [{
    `mode` is `input` (a run-time `block_mask : u8[batch, heads, ceil(seq_q/B),
    ceil(seq_kv/B)]`) or `top` (keep the `top` kv blocks with the largest
    estimated score per query block, plus the diagonal).
    Example: `attn.sparse_block 64 "input"`
  }];
  let arguments = (ins I64Attr:$block, StrAttr:$mode, I64Attr:$top);
  let assemblyFormat = "$block $mode `top` $top attr-dict";
  let hasVerifier = 1;
}

def Attn_LowRankOp : Attn_Op<"low_rank", [HasParent<"KernelOp">]> {
  let summary = "low-rank k/v: latent attention (`kv`) or Linformer (`seq`)";
  let description = [{
    `kv`: k and v are `latent . k_up` and `latent . v_up`; with `rope P` the
    latent row has P more elements, the keys' last P dims as they are (the
    decoupled RoPE part shared by every head, DeepSeek-V2's layout) and
    k_up covers the first head_dim - P. `seq`: keys and values are projected
    along the sequence by `e_proj` and `f_proj`.
    Example: `attn.low_rank "kv" rank 512 rope 64`
  }];
  let arguments = (ins StrAttr:$kind, I64Attr:$rank, DefaultValuedAttr<I64Attr, "0">:$rope);
  let assemblyFormat = "$kind `rank` $rank (`rope` $rope^)? attr-dict";
  let hasVerifier = 1;
}

def Attn_LoadOp : Attn_Op<"load", [Pure]> {
  let summary = "reads an element of an `attn.input` tensor";
  let description = [{
    Indices are clamped to the tensor's bounds. Floating inputs load as f32,
    integer inputs as i32.
    Example: `%d = attn.load "doc"[%kv] : (i32) -> i32`
  }];
  let arguments = (ins StrAttr:$input, Variadic<I32>:$indices);
  let results = (outs AnyTypeOf<[F32, I32]>:$result);
  let assemblyFormat = "$input `[` $indices `]` attr-dict `:` functional-type($indices, $result)";
  let hasVerifier = 1;
}

def Attn_SeqQOp : Attn_Op<"seq_q", [Pure]> {
  let summary = "the run-time query length";
  let description = "Example: `%n = attn.seq_q : i32`";
  let results = (outs I32:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

def Attn_SeqKvOp : Attn_Op<"seq_kv", [Pure]> {
  let summary = "the run-time key/value length";
  let description = "Example: `%n = attn.seq_kv : i32`";
  let results = (outs I32:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

class Attn_MaskBuiltin<string mnemonic, string doc> : Attn_Op<mnemonic, [Pure]> {
  let summary = doc;
  let results = (outs I1:$result);
}

def Attn_CausalOp : Attn_MaskBuiltin<"causal", "`kv_idx <= q'`, with q' = q_idx + seq_kv - seq_q"> {
  let description = [{
    Expanded to index arithmetic by `expand-builtins`. With `top_left`, q' = q_idx.
    Example: `%m = attn.causal %q, %kv` or `%m = attn.causal %q, %kv top_left`
  }];
  let arguments = (ins I32:$q_idx, I32:$kv_idx, UnitAttr:$top_left);
  let assemblyFormat = "$q_idx `,` $kv_idx (`top_left` $top_left^)? attr-dict";
}

def Attn_WindowOp : Attn_MaskBuiltin<"window", "`q' - left <= kv_idx <= q' + right`"> {
  let description = [{
    `window(n)` is left = n - 1, right = 0; `window(l, r)` is left = l, right = r.
    With `top_left`, q' = q_idx.
    Example: `%m = attn.window %q, %kv left %l right %r`
  }];
  let arguments = (ins I32:$q_idx, I32:$kv_idx, I32:$left, I32:$right, UnitAttr:$top_left);
  let assemblyFormat = "$q_idx `,` $kv_idx `left` $left `right` $right (`top_left` $top_left^)? attr-dict";
}

def Attn_SinksOp : Attn_MaskBuiltin<"sinks", "`kv_idx < n` (attention sinks, or `prefix(n)`)"> {
  let description = "Example: `%m = attn.sinks %kv, %n`";
  let arguments = (ins I32:$kv_idx, I32:$n);
  let assemblyFormat = "$kv_idx `,` $n attr-dict";
}

def Attn_SoftcapOp : Attn_Op<"softcap", [Pure]> {
  let summary = "`cap * tanh(x / cap)`";
  let description = "Example: `%s = attn.softcap %x, %cap : f32`";
  let arguments = (ins F32:$x, F32:$cap);
  let results = (outs F32:$result);
  let assemblyFormat = "$x `,` $cap attr-dict `:` type($result)";
}

def Attn_SigmoidOp : Attn_Op<"sigmoid", [Pure]> {
  let summary = "`1 / (1 + exp(-x))`";
  let description = "Example: `%s = attn.sigmoid %x : f32`";
  let arguments = (ins F32:$x);
  let results = (outs F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($result)";
}

def Attn_YieldOp : Attn_Op<"yield", [Pure, Terminator]> {
  let summary = "the value of a score_mod, mask or bias region";
  let description = "Example: `attn.yield %m : i1`";
  let arguments = (ins AnyType:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

#endif // ATTN_OPS_TD
