// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @alibi attributes {dtype = #attn.dtype<f16>, head_dim = 128 : i64, heads = 32 : i64, kv_heads = 32 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 0.088388347648318433 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %cst = arith.constant 8.000000e+00 : f32
    %0 = arith.negf %cst : f32
    %c1_i32 = arith.constant 1 : i32
    %1 = arith.addi %h, %c1_i32 : i32
    %2 = arith.sitofp %1 : i32 to f32
    %3 = arith.mulf %0, %2 : f32
    %c32_i32 = arith.constant 32 : i32
    %4 = arith.sitofp %c32_i32 : i32 to f32
    %5 = arith.divf %3, %4 : f32
    %6 = math.exp2 %5 : f32
    %7 = arith.subi %q_idx, %kv_idx : i32
    %8 = arith.sitofp %7 : i32 to f32
    %9 = arith.mulf %6, %8 : f32
    %10 = arith.subf %score, %9 : f32
    attn.yield %10 : f32
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.causal %q_idx, %kv_idx
    attn.yield %0 : i1
  } bias {
  }
}

// -----// IR Dump After expand-builtins //----- //
module {
  attn.kernel @alibi attributes {dtype = #attn.dtype<f16>, head_dim = 128 : i64, heads = 32 : i64, kv_heads = 32 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 0.088388347648318433 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %cst = arith.constant 8.000000e+00 : f32
    %0 = arith.negf %cst : f32
    %c1_i32 = arith.constant 1 : i32
    %1 = arith.addi %h, %c1_i32 : i32
    %2 = arith.sitofp %1 : i32 to f32
    %3 = arith.mulf %0, %2 : f32
    %c32_i32 = arith.constant 32 : i32
    %4 = arith.sitofp %c32_i32 : i32 to f32
    %5 = arith.divf %3, %4 : f32
    %6 = math.exp2 %5 : f32
    %7 = arith.subi %q_idx, %kv_idx : i32
    %8 = arith.sitofp %7 : i32 to f32
    %9 = arith.mulf %6, %8 : f32
    %10 = arith.subf %score, %9 : f32
    attn.yield %10 : f32
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
}

// -----// IR Dump After canonicalize //----- //
module {
  attn.kernel @alibi attributes {dtype = #attn.dtype<f16>, head_dim = 128 : i64, heads = 32 : i64, kv_heads = 32 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 0.088388347648318433 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %cst = arith.constant 3.200000e+01 : f32
    %c1_i32 = arith.constant 1 : i32
    %cst_0 = arith.constant -8.000000e+00 : f32
    %0 = arith.addi %h, %c1_i32 : i32
    %1 = arith.sitofp %0 : i32 to f32
    %2 = arith.mulf %1, %cst_0 : f32
    %3 = arith.divf %2, %cst : f32
    %4 = math.exp2 %3 : f32
    %5 = arith.subi %q_idx, %kv_idx : i32
    %6 = arith.sitofp %5 : i32 to f32
    %7 = arith.mulf %4, %6 : f32
    %8 = arith.subf %score, %7 : f32
    attn.yield %8 : f32
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
}

// -----// IR Dump After mask-analysis //----- //
module {
  attn.kernel @alibi attributes {dtype = #attn.dtype<f16>, head_dim = 128 : i64, heads = 32 : i64, kv_heads = 32 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 0.088388347648318433 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %cst = arith.constant 3.200000e+01 : f32
    %c1_i32 = arith.constant 1 : i32
    %cst_0 = arith.constant -8.000000e+00 : f32
    %0 = arith.addi %h, %c1_i32 : i32
    %1 = arith.sitofp %0 : i32 to f32
    %2 = arith.mulf %1, %cst_0 : f32
    %3 = arith.divf %2, %cst : f32
    %4 = math.exp2 %3 : f32
    %5 = arith.subi %q_idx, %kv_idx : i32
    %6 = arith.sitofp %5 : i32 to f32
    %7 = arith.mulf %4, %6 : f32
    %8 = arith.subf %score, %7 : f32
    attn.yield %8 : f32
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
}

// -----// IR Dump After plan-heads //----- //
module {
  attn.kernel @alibi attributes {dtype = #attn.dtype<f16>, head_dim = 128 : i64, heads = 32 : i64, kv_heads = 32 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 0.088388347648318433 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %cst = arith.constant 3.200000e+01 : f32
    %c1_i32 = arith.constant 1 : i32
    %cst_0 = arith.constant -8.000000e+00 : f32
    %0 = arith.addi %h, %c1_i32 : i32
    %1 = arith.sitofp %0 : i32 to f32
    %2 = arith.mulf %1, %cst_0 : f32
    %3 = arith.divf %2, %cst : f32
    %4 = math.exp2 %3 : f32
    %5 = arith.subi %q_idx, %kv_idx : i32
    %6 = arith.sitofp %5 : i32 to f32
    %7 = arith.mulf %4, %6 : f32
    %8 = arith.subf %score, %7 : f32
    attn.yield %8 : f32
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
}

