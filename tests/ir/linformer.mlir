// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @linformer attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.low_rank "seq" rank 256
  } score_mod {
  } mask {
  } bias {
  }
}

// -----// IR Dump After expand-builtins //----- //
module {
  attn.kernel @linformer attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.low_rank "seq" rank 256
  } score_mod {
  } mask {
  } bias {
  }
}

// -----// IR Dump After canonicalize //----- //
module {
  attn.kernel @linformer attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.low_rank "seq" rank 256
  } score_mod {
  } mask {
  } bias {
  }
}

// -----// IR Dump After mask-analysis //----- //
module {
  attn.kernel @linformer attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<none>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.low_rank "seq" rank 256
  } score_mod {
  } mask {
  } bias {
  }
}

// -----// IR Dump After plan-heads //----- //
module {
  attn.kernel @linformer attributes {dtype = #attn.dtype<f32>, head_dim = 64 : i64, heads = 8 : i64, kv_heads = 8 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<none>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.250000e-01 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 64 : i64} {
    attn.low_rank "seq" rank 256
  } score_mod {
  } mask {
  } bias {
  }
}

