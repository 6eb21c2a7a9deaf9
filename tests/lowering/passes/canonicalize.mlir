// RUN: attnc-opt %s --attn-canonicalize -split-input-file | FileCheck %s
// attn-canonicalize: constant folding, the arith/math canonicalization
// patterns and CSE, inside every region of every kernel.

// Parameter arithmetic folds: window(1024) left 1024 - 1 and 2 * 1024
// become constants; adding 0 disappears.
// CHECK-LABEL: attn.kernel @folding
// CHECK-NOT: arith.muli
// CHECK-DAG: arith.constant 1023 : i32
// CHECK-DAG: arith.constant 2048 : i32
// CHECK-NOT: arith.addi %{{.*}}, %c0
// CHECK: attn.yield
attn.kernel @folding attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %c1024_i32 = arith.constant 1024 : i32
  %c1_i32 = arith.constant 1 : i32
  %0 = arith.subi %c1024_i32, %c1_i32 : i32
  %c0_i32 = arith.constant 0 : i32
  %1 = attn.seq_q : i32
  %2 = attn.seq_kv : i32
  %3 = arith.subi %2, %1 : i32
  %4 = arith.addi %q_idx, %3 : i32
  %5 = arith.subi %4, %0 : i32
  %6 = arith.addi %4, %c0_i32 : i32
  %7 = arith.cmpi sge, %kv_idx, %5 : i32
  %8 = arith.cmpi sle, %kv_idx, %6 : i32
  %9 = arith.andi %7, %8 : i1
  %c2_i32 = arith.constant 2 : i32
  %c1024_i32_0 = arith.constant 1024 : i32
  %10 = arith.muli %c2_i32, %c1024_i32_0 : i32
  %11 = arith.cmpi slt, %kv_idx, %10 : i32
  %12 = arith.andi %9, %11 : i1
  attn.yield %12 : i1
} bias {
}

// -----

// Two expansions of q' (causal, and a hand-written bound) share one: CSE
// leaves one attn.seq_q, one attn.seq_kv and one subtraction.
// CHECK-LABEL: attn.kernel @cse
// CHECK-COUNT-1: attn.seq_q
// CHECK-NOT: attn.seq_q
// CHECK: attn.yield
attn.kernel @cse attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %0 = attn.seq_q : i32
  %1 = attn.seq_kv : i32
  %2 = arith.subi %1, %0 : i32
  %3 = arith.addi %q_idx, %2 : i32
  %4 = arith.cmpi sle, %kv_idx, %3 : i32
  %5 = attn.seq_q : i32
  %6 = attn.seq_kv : i32
  %7 = arith.subi %6, %5 : i32
  %8 = arith.addi %q_idx, %7 : i32
  %c100 = arith.constant 100 : i32
  %9 = arith.subi %8, %c100 : i32
  %10 = arith.cmpi sge, %kv_idx, %9 : i32
  %11 = arith.andi %4, %10 : i1
  attn.yield %11 : i1
} bias {
}

// -----

// A select of equal values folds away, and with it the load it depended on:
// a load nothing uses is never emitted by a backend.
// CHECK-LABEL: attn.kernel @dead_load
// CHECK: attn.input "doc"
// CHECK: } score_mod {
// CHECK-NEXT: ^bb0
// CHECK-NOT: attn.load
// CHECK-NEXT: attn.yield %score : f32
attn.kernel @dead_load attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  attn.input "doc" : <i32> ["seq_kv"]
} score_mod {
^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %0 = attn.load "doc"[%kv_idx] : (i32) -> i32
  %c0_i32 = arith.constant 0 : i32
  %1 = arith.cmpi sgt, %0, %c0_i32 : i32
  %2 = arith.select %1, %score, %score : f32
  attn.yield %2 : f32
} mask {
} bias {
}

// -----

// An integer division by a constant zero is left alone (the language defines
// it as 0 at run time; folding must not turn it into undefined behaviour).
// CHECK-LABEL: attn.kernel @div_zero
// CHECK: arith.divsi %kv_idx, %{{.*}} : i32
attn.kernel @div_zero attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %c0 = arith.constant 0 : i32
  %0 = arith.divsi %kv_idx, %c0 : i32
  %1 = arith.cmpi eq, %0, %c0 : i32
  attn.yield %1 : i1
} bias {
}
