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
