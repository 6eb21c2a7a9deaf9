// -----// IR Dump After mlirgen //----- //
module {
  attn.kernel @moba attributes {dtype = #attn.dtype<bf16>, head_dim = 128 : i64, heads = 16 : i64, kv_heads = 16 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 0.088388347648318433 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
    attn.input "picked" : <i32> ["batch", "heads", "ceil_div(seq_q, 64)", "3"]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.causal %q_idx, %kv_idx
    %1 = attn.seq_kv : i32
    %2 = arith.addi %q_idx, %1 : i32
    %3 = attn.seq_q : i32
    %4 = arith.subi %2, %3 : i32
    %c64_i32 = arith.constant 64 : i32
    %5 = arith.divsi %4, %c64_i32 : i32
    %c64_i32_0 = arith.constant 64 : i32
    %6 = arith.divsi %kv_idx, %c64_i32_0 : i32
    %7 = arith.cmpi eq, %5, %6 : i32
    %c64_i32_1 = arith.constant 64 : i32
    %8 = arith.divsi %q_idx, %c64_i32_1 : i32
    %c0_i32 = arith.constant 0 : i32
    %9 = attn.load "picked"[%b, %h, %8, %c0_i32] : (i32, i32, i32, i32) -> i32
    %c64_i32_2 = arith.constant 64 : i32
    %10 = arith.divsi %kv_idx, %c64_i32_2 : i32
    %11 = arith.cmpi eq, %9, %10 : i32
    %c64_i32_3 = arith.constant 64 : i32
    %12 = arith.divsi %q_idx, %c64_i32_3 : i32
    %c1_i32 = arith.constant 1 : i32
    %13 = attn.load "picked"[%b, %h, %12, %c1_i32] : (i32, i32, i32, i32) -> i32
    %c64_i32_4 = arith.constant 64 : i32
    %14 = arith.divsi %kv_idx, %c64_i32_4 : i32
    %15 = arith.cmpi eq, %13, %14 : i32
    %16 = arith.ori %11, %15 : i1
    %c64_i32_5 = arith.constant 64 : i32
    %17 = arith.divsi %q_idx, %c64_i32_5 : i32
    %c2_i32 = arith.constant 2 : i32
    %18 = attn.load "picked"[%b, %h, %17, %c2_i32] : (i32, i32, i32, i32) -> i32
    %c64_i32_6 = arith.constant 64 : i32
    %19 = arith.divsi %kv_idx, %c64_i32_6 : i32
    %20 = arith.cmpi eq, %18, %19 : i32
    %21 = arith.ori %16, %20 : i1
    %22 = arith.ori %7, %21 : i1
    %23 = arith.andi %0, %22 : i1
    attn.yield %23 : i1
  } bias {
  }
}

// -----// IR Dump After expand-builtins //----- //
module {
  attn.kernel @moba attributes {dtype = #attn.dtype<bf16>, head_dim = 128 : i64, heads = 16 : i64, kv_heads = 16 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 0.088388347648318433 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
    attn.input "picked" : <i32> ["batch", "heads", "ceil_div(seq_q, 64)", "3"]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = attn.seq_kv : i32
    %6 = arith.addi %q_idx, %5 : i32
    %7 = attn.seq_q : i32
    %8 = arith.subi %6, %7 : i32
    %c64_i32 = arith.constant 64 : i32
    %9 = arith.divsi %8, %c64_i32 : i32
    %c64_i32_0 = arith.constant 64 : i32
    %10 = arith.divsi %kv_idx, %c64_i32_0 : i32
    %11 = arith.cmpi eq, %9, %10 : i32
    %c64_i32_1 = arith.constant 64 : i32
    %12 = arith.divsi %q_idx, %c64_i32_1 : i32
    %c0_i32 = arith.constant 0 : i32
    %13 = attn.load "picked"[%b, %h, %12, %c0_i32] : (i32, i32, i32, i32) -> i32
    %c64_i32_2 = arith.constant 64 : i32
    %14 = arith.divsi %kv_idx, %c64_i32_2 : i32
    %15 = arith.cmpi eq, %13, %14 : i32
    %c64_i32_3 = arith.constant 64 : i32
    %16 = arith.divsi %q_idx, %c64_i32_3 : i32
    %c1_i32 = arith.constant 1 : i32
    %17 = attn.load "picked"[%b, %h, %16, %c1_i32] : (i32, i32, i32, i32) -> i32
    %c64_i32_4 = arith.constant 64 : i32
    %18 = arith.divsi %kv_idx, %c64_i32_4 : i32
    %19 = arith.cmpi eq, %17, %18 : i32
    %20 = arith.ori %15, %19 : i1
    %c64_i32_5 = arith.constant 64 : i32
    %21 = arith.divsi %q_idx, %c64_i32_5 : i32
    %c2_i32 = arith.constant 2 : i32
    %22 = attn.load "picked"[%b, %h, %21, %c2_i32] : (i32, i32, i32, i32) -> i32
    %c64_i32_6 = arith.constant 64 : i32
    %23 = arith.divsi %kv_idx, %c64_i32_6 : i32
    %24 = arith.cmpi eq, %22, %23 : i32
    %25 = arith.ori %20, %24 : i1
    %26 = arith.ori %11, %25 : i1
    %27 = arith.andi %4, %26 : i1
    attn.yield %27 : i1
  } bias {
  }
}

// -----// IR Dump After canonicalize //----- //
module {
  attn.kernel @moba attributes {dtype = #attn.dtype<bf16>, head_dim = 128 : i64, heads = 16 : i64, kv_heads = 16 : i64, layout = #attn.layout<bhsd>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 0.088388347648318433 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
    attn.input "picked" : <i32> ["batch", "heads", "ceil_div(seq_q, 64)", "3"]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c2_i32 = arith.constant 2 : i32
    %c1_i32 = arith.constant 1 : i32
    %c0_i32 = arith.constant 0 : i32
    %c64_i32 = arith.constant 64 : i32
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = arith.addi %q_idx, %1 : i32
    %6 = arith.subi %5, %0 : i32
    %7 = arith.divsi %6, %c64_i32 : i32
    %8 = arith.divsi %kv_idx, %c64_i32 : i32
    %9 = arith.cmpi eq, %7, %8 : i32
    %10 = arith.divsi %q_idx, %c64_i32 : i32
    %11 = attn.load "picked"[%b, %h, %10, %c0_i32] : (i32, i32, i32, i32) -> i32
    %12 = arith.cmpi eq, %11, %8 : i32
    %13 = attn.load "picked"[%b, %h, %10, %c1_i32] : (i32, i32, i32, i32) -> i32
    %14 = arith.cmpi eq, %13, %8 : i32
    %15 = arith.ori %12, %14 : i1
    %16 = attn.load "picked"[%b, %h, %10, %c2_i32] : (i32, i32, i32, i32) -> i32
    %17 = arith.cmpi eq, %16, %8 : i32
    %18 = arith.ori %15, %17 : i1
    %19 = arith.ori %9, %18 : i1
    %20 = arith.andi %4, %19 : i1
    attn.yield %20 : i1
  } bias {
  }
}

// -----// IR Dump After mask-analysis //----- //
module {
  attn.kernel @moba attributes {dtype = #attn.dtype<bf16>, head_dim = 128 : i64, heads = 16 : i64, kv_heads = 16 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<runtime, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 0.088388347648318433 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
    attn.input "picked" : <i32> ["batch", "heads", "ceil_div(seq_q, 64)", "3"]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c2_i32 = arith.constant 2 : i32
    %c1_i32 = arith.constant 1 : i32
    %c0_i32 = arith.constant 0 : i32
    %c64_i32 = arith.constant 64 : i32
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = arith.addi %q_idx, %1 : i32
    %6 = arith.subi %5, %0 : i32
    %7 = arith.divsi %6, %c64_i32 : i32
    %8 = arith.divsi %kv_idx, %c64_i32 : i32
    %9 = arith.cmpi eq, %7, %8 : i32
    %10 = arith.divsi %q_idx, %c64_i32 : i32
    %11 = attn.load "picked"[%b, %h, %10, %c0_i32] : (i32, i32, i32, i32) -> i32
    %12 = arith.cmpi eq, %11, %8 : i32
    %13 = attn.load "picked"[%b, %h, %10, %c1_i32] : (i32, i32, i32, i32) -> i32
    %14 = arith.cmpi eq, %13, %8 : i32
    %15 = arith.ori %12, %14 : i1
    %16 = attn.load "picked"[%b, %h, %10, %c2_i32] : (i32, i32, i32, i32) -> i32
    %17 = arith.cmpi eq, %16, %8 : i32
    %18 = arith.ori %15, %17 : i1
    %19 = arith.ori %9, %18 : i1
    %20 = arith.andi %4, %19 : i1
    attn.yield %20 : i1
  } bias {
  }
}

// -----// IR Dump After plan-heads //----- //
module {
  attn.kernel @moba attributes {dtype = #attn.dtype<bf16>, head_dim = 128 : i64, heads = 16 : i64, kv_heads = 16 : i64, layout = #attn.layout<bhsd>, mask_analysis = #attn.mask<runtime, possible = {[max(), min(q_idx + -1*seq_q + seq_kv)]}, certain = {}>, normalize = #attn.normalize<softmax>, output_lse = false, scale = 0.088388347648318433 : f64, score = #attn.score<dot>, units = 0 : i64, value_dim = 128 : i64} {
    attn.input "picked" : <i32> ["batch", "heads", "ceil_div(seq_q, 64)", "3"]
  } score_mod {
  } mask {
  ^bb0(%b: i32, %h: i32, %q_idx: i32, %kv_idx: i32):
    %c2_i32 = arith.constant 2 : i32
    %c1_i32 = arith.constant 1 : i32
    %c0_i32 = arith.constant 0 : i32
    %c64_i32 = arith.constant 64 : i32
    %0 = attn.seq_q : i32
    %1 = attn.seq_kv : i32
    %2 = arith.subi %1, %0 : i32
    %3 = arith.addi %q_idx, %2 : i32
    %4 = arith.cmpi sle, %kv_idx, %3 : i32
    %5 = arith.addi %q_idx, %1 : i32
    %6 = arith.subi %5, %0 : i32
    %7 = arith.divsi %6, %c64_i32 : i32
    %8 = arith.divsi %kv_idx, %c64_i32 : i32
    %9 = arith.cmpi eq, %7, %8 : i32
    %10 = arith.divsi %q_idx, %c64_i32 : i32
    %11 = attn.load "picked"[%b, %h, %10, %c0_i32] : (i32, i32, i32, i32) -> i32
    %12 = arith.cmpi eq, %11, %8 : i32
    %13 = attn.load "picked"[%b, %h, %10, %c1_i32] : (i32, i32, i32, i32) -> i32
    %14 = arith.cmpi eq, %13, %8 : i32
    %15 = arith.ori %12, %14 : i1
    %16 = attn.load "picked"[%b, %h, %10, %c2_i32] : (i32, i32, i32, i32) -> i32
    %17 = arith.cmpi eq, %16, %8 : i32
    %18 = arith.ori %15, %17 : i1
    %19 = arith.ori %9, %18 : i1
    %20 = arith.andi %4, %19 : i1
    attn.yield %20 : i1
  } bias {
  }
}

