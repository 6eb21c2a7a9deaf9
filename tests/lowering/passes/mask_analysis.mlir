// RUN: attnc-opt %s --attn-mask-analysis -split-input-file | FileCheck %s
// attn-mask-analysis: attaches #attn.mask, the kv range of each query row in
// closed form (tile-independent); the regions are left as they are.

// causal: one interval with an upper bound only; exact, so inner = outer.
// CHECK-LABEL: attn.kernel @causal
// CHECK-SAME: mask_analysis = #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(), min(q_idx + -1*seq_q + seq_kv)]}>
attn.kernel @causal attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %0 = attn.seq_q : i32
  %1 = attn.seq_kv : i32
  %2 = arith.subi %1, %0 : i32
  %3 = arith.addi %q_idx, %2 : i32
  %4 = arith.cmpi sle, %kv_idx, %3 : i32
  attn.yield %4 : i1
} bias {
}

// -----

// A band OR sinks: a union of two intervals, both bounds of the band affine in q_idx.
// CHECK-LABEL: attn.kernel @band
// CHECK-SAME: #attn.mask<symbolic, possible = {[max(q_idx + -1*seq_q + seq_kv + -2), min(q_idx + -1*seq_q + seq_kv + 3)], [max(), min(3)]}
attn.kernel @band attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %c4_i32 = arith.constant 4 : i32
  %c2_i32 = arith.constant 2 : i32
  %c3_i32 = arith.constant 3 : i32
  %0 = attn.seq_q : i32
  %1 = attn.seq_kv : i32
  %2 = arith.subi %1, %0 : i32
  %3 = arith.addi %q_idx, %2 : i32
  %4 = arith.subi %3, %c2_i32 : i32
  %5 = arith.addi %3, %c3_i32 : i32
  %6 = arith.cmpi sge, %kv_idx, %4 : i32
  %7 = arith.cmpi sle, %kv_idx, %5 : i32
  %8 = arith.andi %6, %7 : i1
  %9 = arith.cmpi slt, %kv_idx, %c4_i32 : i32
  %10 = arith.ori %8, %9 : i1
  attn.yield %10 : i1
} bias {
}

// -----

// prefix-LM (causal || prefix(16)).
// CHECK-LABEL: attn.kernel @prefix
// CHECK-SAME: #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)], [max(), min(15)]}
attn.kernel @prefix attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %c16_i32 = arith.constant 16 : i32
  %0 = attn.seq_q : i32
  %1 = attn.seq_kv : i32
  %2 = arith.subi %1, %0 : i32
  %3 = arith.addi %q_idx, %2 : i32
  %4 = arith.cmpi sle, %kv_idx, %3 : i32
  %5 = arith.cmpi slt, %kv_idx, %c16_i32 : i32
  %6 = arith.ori %4, %5 : i1
  attn.yield %6 : i1
} bias {
}

// -----

// The complement of causal: kv_idx >= q' + 1, no upper bound.
// CHECK-LABEL: attn.kernel @notcausal
// CHECK-SAME: #attn.mask<symbolic, possible = {[max(q_idx + -1*seq_q + seq_kv + 1), min()]}, certain = {[max(q_idx + -1*seq_q + seq_kv + 1), min()]}>
attn.kernel @notcausal attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %0 = attn.seq_q : i32
  %1 = attn.seq_kv : i32
  %2 = arith.subi %1, %0 : i32
  %3 = arith.addi %q_idx, %2 : i32
  %4 = arith.cmpi sgt, %kv_idx, %3 : i32
  attn.yield %4 : i1
} bias {
}

// -----

// A document mask reads an input: run-time classification; the causal part still bounds the possible pairs, and no pair is certain.
// CHECK-LABEL: attn.kernel @docs
// CHECK-SAME: #attn.mask<runtime, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {}>
attn.kernel @docs attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  attn.input "doc" : <i32> ["seq_kv"]
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %0 = attn.seq_q : i32
  %1 = attn.seq_kv : i32
  %2 = arith.subi %1, %0 : i32
  %3 = arith.addi %q_idx, %2 : i32
  %4 = arith.cmpi sle, %kv_idx, %3 : i32
  %5 = attn.load "doc"[%q_idx] : (i32) -> i32
  %6 = attn.load "doc"[%kv_idx] : (i32) -> i32
  %7 = arith.cmpi eq, %5, %6 : i32
  %8 = arith.andi %4, %7 : i1
  attn.yield %8 : i1
} bias {
}

// -----

// `%` is not affine: inexact without inputs (partial), every pair possible, none certain.
// CHECK-LABEL: attn.kernel @modulo
// CHECK-SAME: #attn.mask<partial, possible = {[max(), min()]}, certain = {}>
attn.kernel @modulo attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %c0_i32 = arith.constant 0 : i32
  %c2_i32 = arith.constant 2 : i32
  %0 = arith.remsi %kv_idx, %c2_i32 : i32
  %1 = arith.cmpi eq, %0, %c0_i32 : i32
  attn.yield %1 : i1
} bias {
}

// -----

// A condition on the head widens the outer set to everything but keeps the causal part certain.
// CHECK-LABEL: attn.kernel @heads
// CHECK-SAME: #attn.mask<partial, possible = {[max(), min()], [max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(), min(q_idx + -1*seq_q + seq_kv)]}>
attn.kernel @heads attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %c0_i32 = arith.constant 0 : i32
  %0 = arith.cmpi eq, %h, %c0_i32 : i32
  %1 = attn.seq_q : i32
  %2 = attn.seq_kv : i32
  %3 = arith.subi %2, %1 : i32
  %4 = arith.addi %q_idx, %3 : i32
  %5 = arith.cmpi sle, %kv_idx, %4 : i32
  %6 = arith.ori %0, %5 : i1
  attn.yield %6 : i1
} bias {
}

// -----

// No mask.
// CHECK-LABEL: attn.kernel @plain
// CHECK-SAME: mask_analysis = #attn.mask<none>
attn.kernel @plain attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
} bias {
}
