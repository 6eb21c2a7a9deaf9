// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @bahdanau attributes {dtype = #attn.dtype<f32>, head_dim = 256 : i64, heads = 1 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<additive>, units = 128 : i64, value_dim = 256 : i64} {
  } score_mod {
  } mask {
  } bias {
  }
}

// -----// IR Dump After expand-builtins //----- //
module {
  attn.kernel @bahdanau attributes {dtype = #attn.dtype<f32>, head_dim = 256 : i64, heads = 1 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<additive>, units = 128 : i64, value_dim = 256 : i64} {
  } score_mod {
  } mask {
  } bias {
  }
}

// -----// IR Dump After canonicalize //----- //
module {
  attn.kernel @bahdanau attributes {dtype = #attn.dtype<f32>, head_dim = 256 : i64, heads = 1 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<additive>, units = 128 : i64, value_dim = 256 : i64} {
  } score_mod {
  } mask {
  } bias {
  }
}

// -----// IR Dump After mask-analysis //----- //
module {
  attn.kernel @bahdanau attributes {dtype = #attn.dtype<f32>, head_dim = 256 : i64, heads = 1 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<none>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<additive>, units = 128 : i64, value_dim = 256 : i64} {
  } score_mod {
  } mask {
  } bias {
  }
}

// -----// IR Dump After plan-heads //----- //
module {
  attn.kernel @bahdanau attributes {dtype = #attn.dtype<f32>, head_dim = 256 : i64, heads = 1 : i64, kv_heads = 1 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<none>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 1.000000e+00 : f64, score = #attn.score<additive>, units = 128 : i64, value_dim = 256 : i64} {
  } score_mod {
  } mask {
  } bias {
  }
}

