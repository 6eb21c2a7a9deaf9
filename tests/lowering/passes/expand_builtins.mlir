// RUN: attnc-opt %s --attn-expand-builtins -split-input-file | FileCheck %s
// attn-expand-builtins: mask builtins, softcap and sigmoid become arith/math;
// masks are index arithmetic on q' = q_idx + seq_kv - seq_q.

// causal is kv_idx <= q'.
// CHECK-LABEL: attn.kernel @causal
// CHECK-NOT: attn.causal
// CHECK: %[[SQ:.*]] = attn.seq_q : i32
// CHECK: %[[SKV:.*]] = attn.seq_kv : i32
// CHECK: %[[D:.*]] = arith.subi %[[SKV]], %[[SQ]] : i32
// CHECK: %[[QA:.*]] = arith.addi %q_idx, %[[D]] : i32
// CHECK: %[[M:.*]] = arith.cmpi sle, %kv_idx, %[[QA]] : i32
// CHECK: attn.yield %[[M]] : i1
attn.kernel @causal attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %0 = attn.causal %q_idx, %kv_idx
  attn.yield %0 : i1
} bias {
}

// -----

// window(l, r) is q' - l <= kv_idx <= q' + r; sinks(n) is kv_idx < n; the
// operands stay SSA values (folding is canonicalize's job).
// CHECK-LABEL: attn.kernel @band
// CHECK-NOT: attn.window
// CHECK-NOT: attn.sinks
// CHECK: %[[L:.*]] = arith.constant 2 : i32
// CHECK: %[[R:.*]] = arith.constant 3 : i32
// CHECK: %[[QA:.*]] = arith.addi %q_idx
// CHECK: %[[LO:.*]] = arith.subi %[[QA]], %[[L]] : i32
// CHECK: %[[HI:.*]] = arith.addi %[[QA]], %[[R]] : i32
// CHECK: %[[GE:.*]] = arith.cmpi sge, %kv_idx, %[[LO]] : i32
// CHECK: %[[LE:.*]] = arith.cmpi sle, %kv_idx, %[[HI]] : i32
// CHECK: %[[W:.*]] = arith.andi %[[GE]], %[[LE]] : i1
// CHECK: %[[S:.*]] = arith.cmpi slt, %kv_idx, %{{.*}} : i32
// CHECK: %[[U:.*]] = arith.ori %[[W]], %[[S]] : i1
// CHECK: attn.yield %[[U]] : i1
attn.kernel @band attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %c2_i32 = arith.constant 2 : i32
  %c3_i32 = arith.constant 3 : i32
  %0 = attn.window %q_idx, %kv_idx left %c2_i32 right %c3_i32
  %c4_i32 = arith.constant 4 : i32
  %1 = attn.sinks %kv_idx, %c4_i32
  %2 = arith.ori %0, %1 : i1
  attn.yield %2 : i1
} bias {
}

// -----

// softcap(x, c) is c * tanh(x / c).
// CHECK-LABEL: attn.kernel @softcap
// CHECK-NOT: attn.softcap
// CHECK: %[[C:.*]] = arith.constant 3.000000e+01 : f32
// CHECK: %[[X:.*]] = arith.divf %score, %[[C]] : f32
// CHECK: %[[T:.*]] = math.tanh %[[X]] : f32
// CHECK: %[[Y:.*]] = arith.mulf %[[C]], %[[T]] : f32
// CHECK: attn.yield %[[Y]] : f32
attn.kernel @softcap attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %cst = arith.constant 3.000000e+01 : f32
  %0 = attn.softcap %score, %cst : f32
  attn.yield %0 : f32
} mask {
} bias {
}

// -----

// sigmoid(x) is 1 / (1 + exp(-x)), here inside a sigmoid bias.
// CHECK-LABEL: attn.kernel @sigmoid_bias
// CHECK: } bias {
// CHECK-NOT: attn.sigmoid
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[N:.*]] = arith.negf %{{.*}} : f32
// CHECK: %[[E:.*]] = math.exp %[[N]] : f32
// CHECK: %[[D:.*]] = arith.addf %[[ONE]], %[[E]] : f32
// CHECK: %[[S:.*]] = arith.divf %[[ONE]], %[[D]] : f32
// CHECK: attn.yield %[[S]] : f32
attn.kernel @sigmoid_bias attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<sigmoid>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
} bias {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  %0 = arith.sitofp %kv_idx : i32 to f32
  %1 = attn.sigmoid %0 : f32
  attn.yield %1 : f32
}

// -----

// No regions, an input and a transform: nothing to expand, nothing changes.
// CHECK-LABEL: attn.kernel @plain
// CHECK-NEXT: attn.input "doc" : <i32> ["seq_kv"]
// CHECK-NEXT: attn.prune heads [1]
// CHECK-NEXT: } score_mod {
// CHECK-NEXT: } mask {
// CHECK-NEXT: } bias {
// CHECK-NEXT: }
attn.kernel @plain attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  attn.input "doc" : <i32> ["seq_kv"]
  attn.prune heads [1]
} score_mod {
} mask {
} bias {
}
