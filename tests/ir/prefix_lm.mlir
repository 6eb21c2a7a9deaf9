// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @prefix_lm attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.causal %q_idx, %kv_idx
    %c256_i32 = arith.constant 256 : i32
    %1 = attn.sinks %kv_idx, %c256_i32
    %2 = arith.ori %0, %1 : i1
    attn.yield %2 : i1
  } bias {
  }
}

// -----// IR Dump After expand-builtins //----- //
module {
  attn.kernel @prefix_lm attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %c256_i32 = arith.constant 256 : i32
    %5 = arith.cmpi slt, %kv_idx, %c256_i32 : i32
    %6 = arith.ori %4, %5 : i1
    attn.yield %6 : i1
  } bias {
  }
}

// -----// IR Dump After canonicalize //----- //
module {
  attn.kernel @prefix_lm attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c256_i32 = arith.constant 256 : i32
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = arith.cmpi slt, %kv_idx, %c256_i32 : i32
    %6 = arith.ori %4, %5 : i1
    attn.yield %6 : i1
  } bias {
  }
}

// -----// IR Dump After mask-analysis //----- //
module {
  attn.kernel @prefix_lm attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)], [max(), min(255)]}, certain = {[max(), min(q_idx + -1*seq_q + seq_kv)], [max(), min(255)]}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c256_i32 = arith.constant 256 : i32
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = arith.cmpi slt, %kv_idx, %c256_i32 : i32
    %6 = arith.ori %4, %5 : i1
    attn.yield %6 : i1
  } bias {
  }
}

// -----// IR Dump After plan-heads //----- //
module {
  attn.kernel @prefix_lm attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)], [max(), min(255)]}, certain = {[max(), min(q_idx + -1*seq_q + seq_kv)], [max(), min(255)]}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c256_i32 = arith.constant 256 : i32
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = arith.cmpi slt, %kv_idx, %c256_i32 : i32
    %6 = arith.ori %4, %5 : i1
    attn.yield %6 : i1
  } bias {
  }
}

