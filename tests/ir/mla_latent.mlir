// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @mla_latent attributes {dtype = #attn.dtype<bf16>, head_dim = 192 : i64, heads = 16 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = true, scale = 0.07216878364870323 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
    attn.low_rank "kv" rank 512 rope 64
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
  attn.kernel @mla_latent attributes {dtype = #attn.dtype<bf16>, head_dim = 192 : i64, heads = 16 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = true, scale = 0.07216878364870323 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
    attn.low_rank "kv" rank 512 rope 64
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
  attn.kernel @mla_latent attributes {dtype = #attn.dtype<bf16>, head_dim = 192 : i64, heads = 16 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = true, scale = 0.07216878364870323 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
    attn.low_rank "kv" rank 512 rope 64
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
  attn.kernel @mla_latent attributes {dtype = #attn.dtype<bf16>, head_dim = 192 : i64, heads = 16 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = true, scale = 0.07216878364870323 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
    attn.low_rank "kv" rank 512 rope 64
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
  attn.kernel @mla_latent attributes {dtype = #attn.dtype<bf16>, head_dim = 192 : i64, heads = 16 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<symbolic, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {[max(), min(q_idx + -1*seq_q + seq_kv)]}>, normalize = #attn.normalize<softmax>, output_lse = true, scale = 0.07216878364870323 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
    attn.low_rank "kv" rank 512 rope 64
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

