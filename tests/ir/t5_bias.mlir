// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @t5_bias attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.input "rel_bias" : <f32> ["heads", "32"]
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = arith.subi %q_idx, %kv_idx : i32
    %1 = math.absi %0 : i32
    %c32_i32 = arith.constant 32 : i32
    %2 = arith.muli %1, %c32_i32 : i32
    %c128_i32 = arith.constant 128 : i32
    %3 = arith.divsi %2, %c128_i32 : i32
    %c32_i32_0 = arith.constant 32 : i32
    %c1_i32 = arith.constant 1 : i32
    %4 = arith.subi %c32_i32_0, %c1_i32 : i32
    %5 = arith.minsi %3, %4 : i32
    %6 = attn.load "rel_bias"[%h, %5] : (i32, i32) -> f32
    %7 = arith.addf %score, %6 : f32
    attn.yield %7 : f32
  } mask {
  } bias {
  }
}

// -----// IR Dump After expand-builtins //----- //
module {
  attn.kernel @t5_bias attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.input "rel_bias" : <f32> ["heads", "32"]
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = arith.subi %q_idx, %kv_idx : i32
    %1 = math.absi %0 : i32
    %c32_i32 = arith.constant 32 : i32
    %2 = arith.muli %1, %c32_i32 : i32
    %c128_i32 = arith.constant 128 : i32
    %3 = arith.divsi %2, %c128_i32 : i32
    %c32_i32_0 = arith.constant 32 : i32
    %c1_i32 = arith.constant 1 : i32
    %4 = arith.subi %c32_i32_0, %c1_i32 : i32
    %5 = arith.minsi %3, %4 : i32
    %6 = attn.load "rel_bias"[%h, %5] : (i32, i32) -> f32
    %7 = arith.addf %score, %6 : f32
    attn.yield %7 : f32
  } mask {
  } bias {
  }
}

// -----// IR Dump After canonicalize //----- //
module {
  attn.kernel @t5_bias attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.input "rel_bias" : <f32> ["heads", "32"]
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c31_i32 = arith.constant 31 : i32
    %c128_i32 = arith.constant 128 : i32
    %c32_i32 = arith.constant 32 : i32
    %0 = arith.subi %q_idx, %kv_idx : i32
    %1 = math.absi %0 : i32
    %2 = arith.muli %1, %c32_i32 : i32
    %3 = arith.divsi %2, %c128_i32 : i32
    %4 = arith.minsi %3, %c31_i32 : i32
    %5 = attn.load "rel_bias"[%h, %4] : (i32, i32) -> f32
    %6 = arith.addf %score, %5 : f32
    attn.yield %6 : f32
  } mask {
  } bias {
  }
}

// -----// IR Dump After mask-analysis //----- //
module {
  attn.kernel @t5_bias attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<none>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.input "rel_bias" : <f32> ["heads", "32"]
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c31_i32 = arith.constant 31 : i32
    %c128_i32 = arith.constant 128 : i32
    %c32_i32 = arith.constant 32 : i32
    %0 = arith.subi %q_idx, %kv_idx : i32
    %1 = math.absi %0 : i32
    %2 = arith.muli %1, %c32_i32 : i32
    %3 = arith.divsi %2, %c128_i32 : i32
    %4 = arith.minsi %3, %c31_i32 : i32
    %5 = attn.load "rel_bias"[%h, %4] : (i32, i32) -> f32
    %6 = arith.addf %score, %5 : f32
    attn.yield %6 : f32
  } mask {
  } bias {
  }
}

// -----// IR Dump After plan-heads //----- //
module {
  attn.kernel @t5_bias attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<none>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.input "rel_bias" : <f32> ["heads", "32"]
  } score_mod {
  ^bb0(%score: f32, %b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c31_i32 = arith.constant 31 : i32
    %c128_i32 = arith.constant 128 : i32
    %c32_i32 = arith.constant 32 : i32
    %0 = arith.subi %q_idx, %kv_idx : i32
    %1 = math.absi %0 : i32
    %2 = arith.muli %1, %c32_i32 : i32
    %3 = arith.divsi %2, %c128_i32 : i32
    %4 = arith.minsi %3, %c31_i32 : i32
    %5 = attn.load "rel_bias"[%h, %4] : (i32, i32) -> f32
    %6 = arith.addf %score, %5 : f32
    attn.yield %6 : f32
  } mask {
  } bias {
  }
}

