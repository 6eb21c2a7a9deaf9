// RUN: attnc-opt %s -split-input-file -verify-diagnostics
// What the attn dialect refuses, and how it says so.

// expected-error @+1 {{dtype must be f32, f16 or bf16}}
attn.kernel @int_dtype attributes {dtype = #attn.dtype<i32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.0 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
} bias {
}

// -----

// expected-error @+1 {{heads must be a multiple of kv_heads}}
attn.kernel @groups attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 3 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.0 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
} bias {
}

// -----

attn.kernel @prune attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  // expected-error @+1 {{head 4 out of range}}
  attn.prune heads [4]
} score_mod {
} mask {
} bias {
}

// -----

attn.kernel @load attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  attn.input "doc" : <i32> ["seq_kv"]
} score_mod {
} mask {
^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
  // expected-error @+1 {{input `doc` has 1 dimensions, indexed with 2}}
  %0 = attn.load "doc"[%q_idx, %kv_idx] : (i32, i32) -> i32
  %1 = arith.cmpi eq, %0, %q_idx : i32
  attn.yield %1 : i1
} bias {
}

// -----

// expected-error @+1 {{expected `none`, `symbolic`, `runtime` or `partial`, got `exact`}}
attn.kernel @bad_kind attributes {mask_analysis = #attn.mask<exact>, dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
} bias {
}

// -----

// expected-error @+1 {{expected `q_idx`, `seq_q` or `seq_kv`, got `kv_idx`}}
attn.kernel @bad_bound attributes {mask_analysis = #attn.mask<symbolic, possible = {[max(kv_idx), min()]}, certain = {}>, dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
} score_mod {
} mask {
} bias {
}

// -----

// expected-error @+1 {{head_table must have kv_heads x head_rows = 4 entries}}
attn.kernel @table_size attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64, head_rows = 2 : i64, head_table = array<i64: 0, 1, 4>} {
  attn.prune heads [2, 3, 5, 6, 7]
} score_mod {
} mask {
} bias {
}

// -----

// expected-error @+1 {{head_table entry 4 is not a query head of kv head 0}}
attn.kernel @table_group attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64, head_rows = 1 : i64, head_table = array<i64: 4, 5>} {
  attn.prune heads [0, 1, 2, 3, 6, 7]
} score_mod {
} mask {
} bias {
}

// -----

// expected-error @+1 {{head_table lists pruned head 1}}
attn.kernel @table_pruned attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64, head_rows = 2 : i64, head_table = array<i64: 0, 1, 4, -1>} {
  attn.prune heads [1, 2, 3, 5, 6, 7]
} score_mod {
} mask {
} bias {
}

// -----

// expected-error @+1 {{head_rows and head_table come together}}
attn.kernel @rows_alone attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64, head_rows = 2 : i64} {
} score_mod {
} mask {
} bias {
}

// -----

attn.kernel @rope_seq attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 2 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  // expected-error @+1 {{rope applies to kv only}}
  attn.low_rank "seq" rank 32 rope 16
} score_mod {
} mask {
} bias {
}

// -----

attn.kernel @rope_wide attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 2 : i64, kv_heads = 2 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  // expected-error @+1 {{rope must be less than head_dim}}
  attn.low_rank "kv" rank 32 rope 64
} score_mod {
} mask {
} bias {
}
