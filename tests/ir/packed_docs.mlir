// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @packed_docs attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 16 : i64, kv_heads = 16 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.input "doc" : <i32> ["seq_kv"]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.causal %q_idx, %kv_idx
    %1 = attn.load "doc"[%q_idx] : (i32) -> i32
    %2 = attn.load "doc"[%kv_idx] : (i32) -> i32
    %3 = arith.cmpi eq, %1, %2 : i32
    %4 = arith.andi %0, %3 : i1
    attn.yield %4 : i1
  } bias {
  }
}

// -----// IR Dump After expand-builtins //----- //
module {
  attn.kernel @packed_docs attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 16 : i64, kv_heads = 16 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.input "doc" : <i32> ["seq_kv"]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = attn.load "doc"[%q_idx] : (i32) -> i32
    %6 = attn.load "doc"[%kv_idx] : (i32) -> i32
    %7 = arith.cmpi eq, %5, %6 : i32
    %8 = arith.andi %4, %7 : i1
    attn.yield %8 : i1
  } bias {
  }
}

// -----// IR Dump After canonicalize //----- //
module {
  attn.kernel @packed_docs attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 16 : i64, kv_heads = 16 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.input "doc" : <i32> ["seq_kv"]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = attn.load "doc"[%q_idx] : (i32) -> i32
    %6 = attn.load "doc"[%kv_idx] : (i32) -> i32
    %7 = arith.cmpi eq, %5, %6 : i32
    %8 = arith.andi %4, %7 : i1
    attn.yield %8 : i1
  } bias {
  }
}

// -----// IR Dump After mask-analysis //----- //
module {
  attn.kernel @packed_docs attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 16 : i64, kv_heads = 16 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<runtime, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.input "doc" : <i32> ["seq_kv"]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = attn.load "doc"[%q_idx] : (i32) -> i32
    %6 = attn.load "doc"[%kv_idx] : (i32) -> i32
    %7 = arith.cmpi eq, %5, %6 : i32
    %8 = arith.andi %4, %7 : i1
    attn.yield %8 : i1
  } bias {
  }
}

// -----// IR Dump After plan-heads //----- //
module {
  attn.kernel @packed_docs attributes {dtype = #attn.dtype<bf16>, head_dim = 64 : i64, heads = 16 : i64, kv_heads = 16 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<runtime, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.input "doc" : <i32> ["seq_kv"]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = attn.load "doc"[%q_idx] : (i32) -> i32
    %6 = attn.load "doc"[%kv_idx] : (i32) -> i32
    %7 = arith.cmpi eq, %5, %6 : i32
    %8 = arith.andi %4, %7 : i1
    attn.yield %8 : i1
  } bias {
  }
}

