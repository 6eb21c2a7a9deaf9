// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @sliding_sinks attributes {dtype = #attn.dtype<f16>, head_dim = 96 : i64, heads = 32 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = true, scale = 0.10206207261596577 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c4_i32 = arith.constant 4 : i32
    %0 = attn.sinks %kv_idx, %c4_i32
    %c1024_i32 = arith.constant 1024 : i32
    %c1_i32 = arith.constant 1 : i32
    %1 = arith.subi %c1024_i32, %c1_i32 : i32
    %c0_i32 = arith.constant 0 : i32
    %2 = attn.window %q_idx, %kv_idx left %1 right %c0_i32
    %3 = arith.ori %0, %2 : i1
    attn.yield %3 : i1
  } bias {
  }
}

// -----// IR Dump After expand-builtins //----- //
module {
  attn.kernel @sliding_sinks attributes {dtype = #attn.dtype<f16>, head_dim = 96 : i64, heads = 32 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = true, scale = 0.10206207261596577 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c4_i32 = arith.constant 4 : i32
    %0 = arith.cmpi slt, %kv_idx, %c4_i32 : i32
    %c1024_i32 = arith.constant 1024 : i32
    %c1_i32 = arith.constant 1 : i32
    %1 = arith.subi %c1024_i32, %c1_i32 : i32
    %c0_i32 = arith.constant 0 : i32
    %2 = attn.seq_q : i32
    %3 = attn.seq_kv : i32
    %4 = arith.subi %3, %2 : i32
    %5 = arith.addi %q_idx, %4 : i32
    %6 = arith.subi %5, %1 : i32
    %7 = arith.addi %5, %c0_i32 : i32
    %8 = arith.cmpi sge, %kv_idx, %6 : i32
    %9 = arith.cmpi sle, %kv_idx, %7 : i32
    %10 = arith.andi %8, %9 : i1
    %11 = arith.ori %0, %10 : i1
    attn.yield %11 : i1
  } bias {
  }
}

// -----// IR Dump After canonicalize //----- //
module {
  attn.kernel @sliding_sinks attributes {dtype = #attn.dtype<f16>, head_dim = 96 : i64, heads = 32 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = true, scale = 0.10206207261596577 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c1023_i32 = arith.constant 1023 : i32
    %c4_i32 = arith.constant 4 : i32
    %0 = arith.cmpi slt, %kv_idx, %c4_i32 : i32
    %1 = attn.seq_q : i32
    %2 = attn.seq_kv : i32
    %3 = arith.subi %2, %1 : i32
    %4 = arith.addi %q_idx, %3 : i32
    %5 = arith.subi %4, %c1023_i32 : i32
    %6 = arith.cmpi sge, %kv_idx, %5 : i32
    %7 = arith.cmpi sle, %kv_idx, %4 : i32
    %8 = arith.andi %6, %7 : i1
    %9 = arith.ori %0, %8 : i1
    attn.yield %9 : i1
  } bias {
  }
}

// -----// IR Dump After mask-analysis //----- //
module {
  attn.kernel @sliding_sinks attributes {dtype = #attn.dtype<f16>, head_dim = 96 : i64, heads = 32 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(), min(3)], [max(q_idx + -1*seq_q + seq_kv + -1023), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(), min(3)], [max(q_idx + -1*seq_q + seq_kv + -1023), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = true, scale = 0.10206207261596577 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c1023_i32 = arith.constant 1023 : i32
    %c4_i32 = arith.constant 4 : i32
    %0 = arith.cmpi slt, %kv_idx, %c4_i32 : i32
    %1 = attn.seq_q : i32
    %2 = attn.seq_kv : i32
    %3 = arith.subi %2, %1 : i32
    %4 = arith.addi %q_idx, %3 : i32
    %5 = arith.subi %4, %c1023_i32 : i32
    %6 = arith.cmpi sge, %kv_idx, %5 : i32
    %7 = arith.cmpi sle, %kv_idx, %4 : i32
    %8 = arith.andi %6, %7 : i1
    %9 = arith.ori %0, %8 : i1
    attn.yield %9 : i1
  } bias {
  }
}

// -----// IR Dump After plan-heads //----- //
module {
  attn.kernel @sliding_sinks attributes {dtype = #attn.dtype<f16>, head_dim = 96 : i64, heads = 32 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(), min(3)], [max(q_idx + -1*seq_q + seq_kv + -1023), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(), min(3)], [max(q_idx + -1*seq_q + seq_kv + -1023), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = true, scale = 0.10206207261596577 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c1023_i32 = arith.constant 1023 : i32
    %c4_i32 = arith.constant 4 : i32
    %0 = arith.cmpi slt, %kv_idx, %c4_i32 : i32
    %1 = attn.seq_q : i32
    %2 = attn.seq_kv : i32
    %3 = arith.subi %2, %1 : i32
    %4 = arith.addi %q_idx, %3 : i32
    %5 = arith.subi %4, %c1023_i32 : i32
    %6 = arith.cmpi sge, %kv_idx, %5 : i32
    %7 = arith.cmpi sle, %kv_idx, %4 : i32
    %8 = arith.andi %6, %7 : i1
    %9 = arith.ori %0, %8 : i1
    attn.yield %9 : i1
  } bias {
  }
}

