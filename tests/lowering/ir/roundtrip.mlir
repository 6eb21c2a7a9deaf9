// RUN: attnc-opt %s -split-input-file | attnc-opt -split-input-file | FileCheck %s
// The attn dialect prints what it parses: enum attributes, the #attn.mask
// attribute (as the analysis writes it or by hand), inputs and transforms.

// CHECK-LABEL: attn.kernel @kernel
// CHECK-SAME: dtype = #attn.dtype<bf16>
// CHECK-SAME: layout = #attn.layout<bshd>
// CHECK-SAME: mask_analysis = #attn.mask<symbolic, possible = {[max(q_idx + -1*seq_q + seq_kv + -127), min(q_idx + -1*seq_q + seq_kv)], [max(), min(3)]}, certain = {[max(q_idx + -1*seq_q + seq_kv + -127), min(q_idx + -1*seq_q + seq_kv)]}>
// CHECK-SAME: normalize = #attn.normalize<softmax>
// CHECK-SAME: score = #attn.score<dot>
// CHECK-NEXT: attn.input "doc" : <i32> ["seq_kv"]
// CHECK-NEXT: attn.input "w" : <bf16> ["heads", "16"]
// CHECK-NEXT: attn.sparse_block 64 "top" top 8
// CHECK-NEXT: attn.low_rank "kv" rank 32
attn.kernel @kernel attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bshd>, mask_analysis = #attn.mask<symbolic, possible = {[max(seq_kv + q_idx + -1 * seq_q + -127), min(q_idx + -1*seq_q + seq_kv)], [max(), min(3)]}, certain = {[max(q_idx + -1*seq_q + seq_kv + -127), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  attn.input "doc" : <i32> ["seq_kv"]
  attn.input "w" : <bf16> ["heads", "16"]
  attn.sparse_block 64 "top" top 8
  attn.low_rank "kv" rank 32
} score_mod {
} mask {
} bias {
}

// -----

// CHECK-LABEL: attn.kernel @mla_rope
// CHECK: attn.low_rank "kv" rank 512 rope 64
attn.kernel @mla_rope attributes {dtype = #attn.dtype<bf16>, head_dim = 192 : i64, heads = 16 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
  attn.low_rank "kv" rank 512 rope 64
} score_mod {
} mask {
} bias {
}

// -----

// CHECK-LABEL: attn.kernel @others
// CHECK-SAME: mask_analysis = #attn.mask<runtime, possible = {[max(), min()]}, certain = {}>
// CHECK-SAME: normalize = #attn.normalize<sigmoid>
// CHECK-SAME: score = #attn.score<additive>
attn.kernel @others attributes {dtype = #attn.dtype<f16>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<runtime, possible = {[max(), min()]}, certain = {}>, normalize = #attn.normalize<sigmoid>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<additive>, units = 8 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
} bias {
}
