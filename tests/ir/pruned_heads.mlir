// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @pruned_heads attributes {dtype = #attn.dtype<f16>, head_dim = 64 : i64, heads = 12 : i64, kv_heads = 12 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.prune heads [2, 5, 7, 11]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.causal %q_idx, %kv_idx
    attn.yield %0 : i1
  } bias {
  }
}

// -----// IR Dump After expand-builtins //----- //
module {
  attn.kernel @pruned_heads attributes {dtype = #attn.dtype<f16>, head_dim = 64 : i64, heads = 12 : i64, kv_heads = 12 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.prune heads [2, 5, 7, 11]
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
}

// -----// IR Dump After canonicalize //----- //
module {
  attn.kernel @pruned_heads attributes {dtype = #attn.dtype<f16>, head_dim = 64 : i64, heads = 12 : i64, kv_heads = 12 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.prune heads [2, 5, 7, 11]
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
}

// -----// IR Dump After mask-analysis //----- //
module {
  attn.kernel @pruned_heads attributes {dtype = #attn.dtype<f16>, head_dim = 64 : i64, heads = 12 : i64, kv_heads = 12 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.prune heads [2, 5, 7, 11]
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
}

// -----// IR Dump After plan-heads //----- //
module {
  attn.kernel @pruned_heads attributes {dtype = #attn.dtype<f16>, head_dim = 64 : i64, head_rows = 1 : i64, head_table = array<i64: 0, 1, -1, 3, 4, -1, 6, -1, 8, 9, 10, -1>, heads = 12 : i64, kv_heads = 12 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.prune heads [2, 5, 7, 11]
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
}

