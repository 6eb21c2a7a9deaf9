// The `attn` dialect: one `attn.kernel` op per .attn spec. Its attributes hold
// the shape of the computation; its regions hold the score_mod, mask and
// sigmoid-bias expressions as arith/math ops; its body declares run-time
// inputs and compression transforms.
#ifndef ATTN_OPS_TD
#define ATTN_OPS_TD

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
}

class Attn_Op<string mnemonic, list<Trait> traits = []> : Op<Attn_Dialect, mnemonic, traits>;

def Attn_KernelOp : Attn_Op<"kernel", [Symbol, IsolatedFromAbove, NoTerminator,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "one attention kernel";
  let description = [{
    `dtype` is the storage type of q, k, v and out; `layout` is `bhsd` or
    `bshd`; `score` is `dot` or `additive` (with `units`); `normalize` is
    `softmax` or `sigmoid`; `scale` multiplies the raw score.

    The `body` region declares `attn.input` tensors and compression
    transforms. `score_mod` (block arguments score: f32, b, h, q_idx,
    kv_idx: i32) yields the modified f32 score; `mask` (b, h, q_idx, kv_idx)
    yields i1; `bias` (same arguments) yields the f32 sigmoid bias. An empty
    region means the identity score_mod, no mask, or no bias.

    Example:
    ```mlir
    attn.kernel @causal attributes {dtype = "bf16", heads = 8 : i64, ...} {
    } score_mod {
    } mask {
    ^bb0(%b: i32, %h: i32, %q: i32, %kv: i32):
      %c = attn.causal %q, %kv
      attn.yield %c : i1
    } bias {
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrAttr:$dtype, I64Attr:$heads,
                       I64Attr:$kv_heads, I64Attr:$head_dim, I64Attr:$value_dim,
                       StrAttr:$layout, StrAttr:$score, I64Attr:$units,
                       StrAttr:$normalize, F64Attr:$scale, BoolAttr:$output_lse);
  let regions = (region SizedRegion<1>:$body, AnyRegion:$score_mod, AnyRegion:$mask,
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
    integer or one of `batch`, `heads`, `kv_heads`, `seq_q`, `seq_kv`.

    Example: `attn.input "doc" : "i32" ["seq_kv"]`
  }];
  let arguments = (ins StrAttr:$name, StrAttr:$element_type, StrArrayAttr:$dims);
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
    `kv`: k and v are `latent . k_up` and `latent . v_up`. `seq`: keys and
    values are projected along the sequence by `e_proj` and `f_proj`.
    Example: `attn.low_rank "kv" rank 512`
  }];
  let arguments = (ins StrAttr:$kind, I64Attr:$rank);
  let assemblyFormat = "$kind `rank` $rank attr-dict";
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
  let description = "Expanded to index arithmetic by `expand-builtins`. Example: `%m = attn.causal %q, %kv`";
  let arguments = (ins I32:$q_idx, I32:$kv_idx);
  let assemblyFormat = "$q_idx `,` $kv_idx attr-dict";
}

def Attn_WindowOp : Attn_MaskBuiltin<"window", "`q' - left <= kv_idx <= q' + right`"> {
  let description = [{
    `window(n)` is left = n - 1, right = 0; `window(l, r)` is left = l, right = r.
    Example: `%m = attn.window %q, %kv left %l right %r`
  }];
  let arguments = (ins I32:$q_idx, I32:$kv_idx, I32:$left, I32:$right);
  let assemblyFormat = "$q_idx `,` $kv_idx `left` $left `right` $right attr-dict";
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
