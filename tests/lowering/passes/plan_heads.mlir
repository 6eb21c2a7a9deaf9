// RUN: attnc-opt %s --attn-plan-heads -split-input-file | FileCheck %s
// attn-plan-heads: attn.prune becomes the head plan both backends read:
// head_rows (the most query heads any kv head computes) and head_table (each
// kv head's computed query heads, packed, -1 past its last).

// A whole GQA group pruned (kv head 0 computes nothing) and one head of the
// other: 3 rows per kv head, kv head 0 all -1.
// CHECK-LABEL: attn.kernel @group
// CHECK-SAME: head_rows = 3 : i64, head_table = array<i64: -1, -1, -1, 4, 6, 7>
// CHECK: attn.prune heads [0, 1, 2, 3, 5]
attn.kernel @group attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  attn.prune heads [0, 1, 2, 3, 5]
} score_mod {
} mask {
} bias {
}

// -----

// Uneven groups: the table packs each group's survivors to the front.
// CHECK-LABEL: attn.kernel @uneven
// CHECK-SAME: head_rows = 3 : i64, head_table = array<i64: 1, 3, -1, 4, 5, 6>
attn.kernel @uneven attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  attn.prune heads [0, 2, 7]
} score_mod {
} mask {
} bias {
}

// -----

// No attn.prune: no plan (backends use heads / kv_heads).
// CHECK-LABEL: attn.kernel @dense
// CHECK-NOT: head_table
// CHECK: score_mod
attn.kernel @dense attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
} bias {
}
