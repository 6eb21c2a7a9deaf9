// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @gemma2_local attributes {dtype = #attn.dtype<bf16>, head_dim = 256 : i64, heads = 16 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 6.250000e-02 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 256 : i64} {
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %cst = arith.constant 5.000000e+01 : f32
    %0 = attn.softcap %score, %cst : f32
    attn.yield %0 : f32
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c4096_i32 = arith.constant 4096 : i32
    %c1_i32 = arith.constant 1 : i32
    %0 = arith.subi %c4096_i32, %c1_i32 : i32
    %c0_i32 = arith.constant 0 : i32
    %1 = attn.window %q_idx, %kv_idx left %0 right %c0_i32
    attn.yield %1 : i1
  } bias {
  }
}

// -----// IR Dump After expand-builtins //----- //
module {
  attn.kernel @gemma2_local attributes {dtype = #attn.dtype<bf16>, head_dim = 256 : i64, heads = 16 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 6.250000e-02 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 256 : i64} {
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %cst = arith.constant 5.000000e+01 : f32
    %0 = arith.divf %score, %cst : f32
    %1 = math.tanh %0 : f32
    %2 = arith.mulf %cst, %1 : f32
    attn.yield %2 : f32
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c4096_i32 = arith.constant 4096 : i32
    %c1_i32 = arith.constant 1 : i32
    %0 = arith.subi %c4096_i32, %c1_i32 : i32
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
    attn.yield %9 : i1
  } bias {
  }
}

// -----// IR Dump After canonicalize //----- //
module {
  attn.kernel @gemma2_local attributes {dtype = #attn.dtype<bf16>, head_dim = 256 : i64, heads = 16 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 6.250000e-02 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 256 : i64} {
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %cst = arith.constant 5.000000e+01 : f32
    %0 = arith.divf %score, %cst : f32
    %1 = math.tanh %0 : f32
    %2 = arith.mulf %1, %cst : f32
    attn.yield %2 : f32
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c4095_i32 = arith.constant 4095 : i32
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.subi %3, %c4095_i32 : i32
    %5 = arith.cmpi sge, %kv_idx, %4 : i32
    %6 = arith.cmpi sle, %kv_idx, %3 : i32
    %7 = arith.andi %5, %6 : i1
    attn.yield %7 : i1
  } bias {
  }
}

// -----// IR Dump After mask-analysis //----- //
module {
  attn.kernel @gemma2_local attributes {dtype = #attn.dtype<bf16>, head_dim = 256 : i64, heads = 16 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(q_idx + -1*seq_q + seq_kv + -4095), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(q_idx + -1*seq_q + seq_kv + -4095), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 6.250000e-02 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 256 : i64} {
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %cst = arith.constant 5.000000e+01 : f32
    %0 = arith.divf %score, %cst : f32
    %1 = math.tanh %0 : f32
    %2 = arith.mulf %1, %cst : f32
    attn.yield %2 : f32
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c4095_i32 = arith.constant 4095 : i32
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.subi %3, %c4095_i32 : i32
    %5 = arith.cmpi sge, %kv_idx, %4 : i32
    %6 = arith.cmpi sle, %kv_idx, %3 : i32
    %7 = arith.andi %5, %6 : i1
    attn.yield %7 : i1
  } bias {
  }
}

// -----// IR Dump After plan-heads //----- //
module {
  attn.kernel @gemma2_local attributes {dtype = #attn.dtype<bf16>, head_dim = 256 : i64, heads = 16 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(q_idx + -1*seq_q + seq_kv + -4095), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(q_idx + -1*seq_q + seq_kv + -4095), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 6.250000e-02 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 256 : i64} {
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %cst = arith.constant 5.000000e+01 : f32
    %0 = arith.divf %score, %cst : f32
    %1 = math.tanh %0 : f32
    %2 = arith.mulf %1, %cst : f32
    attn.yield %2 : f32
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c4095_i32 = arith.constant 4095 : i32
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.subi %3, %c4095_i32 : i32
    %5 = arith.cmpi sge, %kv_idx, %4 : i32
    %6 = arith.cmpi sle, %kv_idx, %3 : i32
    %7 = arith.andi %5, %6 : i1
    attn.yield %7 : i1
  } bias {
  }
}

