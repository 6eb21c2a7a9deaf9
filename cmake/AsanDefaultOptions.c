// Linked into every executable of an ATTNC_SANITIZE build.
//
// LLVM's BumpPtrAllocator poisons a new slab and unpoisons each allocation
// from inline header code, but only where that code is compiled with
// AddressSanitizer. The MLIR storage uniquer's allocator is shared between
// attnc's instrumented code (which starts slabs, poisoned) and Debian's
// uninstrumented libMLIR (which allocates attributes from them without
// unpoisoning), so ASan reported use-after-poison inside
// DenseArrayAttrImpl::get whenever a slab happened to be started on our side.
// Manual poisoning is therefore off; every other check stays on, and
// ASAN_OPTIONS still overrides these defaults.
const char *__asan_default_options(void) { return "allow_user_poisoning=0"; }
