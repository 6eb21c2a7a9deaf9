// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @llama3_8b attributes {dtype = "bf16", head_dim = 128 : i64, heads = 32 : i64, kv_heads = 8 : i64, layout = "bshd", normalize = "softmax", output_lse = false, scale = 0.088388347648318433 : f64, score = "dot", units = 0 : i64, value_dim = 128 : i64} {
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
  attn.kernel @llama3_8b attributes {dtype = "bf16", head_dim = 128 : i64, heads = 32 : i64, kv_heads = 8 : i64, layout = "bshd", normalize = "softmax", output_lse = false, scale = 0.088388347648318433 : f64, score = "dot", units = 0 : i64, value_dim = 128 : i64} {
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
  attn.kernel @llama3_8b attributes {dtype = "bf16", head_dim = 128 : i64, heads = 32 : i64, kv_heads = 8 : i64, layout = "bshd", normalize = "softmax", output_lse = false, scale = 0.088388347648318433 : f64, score = "dot", units = 0 : i64, value_dim = 128 : i64} {
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
  attn.kernel @llama3_8b attributes {dtype = "bf16", head_dim = 128 : i64, heads = 32 : i64, kv_heads = 8 : i64, layout = "bshd", mask_analysis = {kind = "symbolic", kv_certain = "[-inf, q_idx + seq_kv - seq_q]", kv_possible = "[-inf, q_idx + seq_kv - seq_q]", tile_kv = 64 : i64, tile_q = 64 : i64, tiles = ["non-empty kv tiles of q-tile t: [0, floor(((64*t + 63) + seq_kv - seq_q) / 64)]", "full kv tiles of q-tile t: [0, floor(((64*t) + seq_kv - seq_q + 1) / 64) - 1]"]}, normalize = "softmax", output_lse = false, scale = 0.088388347648318433 : f64, score = "dot", units = 0 : i64, value_dim = 128 : i64} {
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

