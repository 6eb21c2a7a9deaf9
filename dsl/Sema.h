// Semantic analysis: checks a parsed file against the rules of the language
// (docs/language.md) and produces one checked Spec per `attention` block.
// Every misuse is a diagnostic; Sema never stops at the first one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dsl/Ast.h"
#include "dsl/Diagnostics.h"
#include "dsl/Spec.h"

namespace attnc::dsl {

/// Checks every attention in `ast`. Specs are returned only for blocks without
/// errors; callers check `diags.hasErrors()`.
std::vector<Spec> analyze(FileAst &ast, DiagnosticEngine &diags);

/// A file read, parsed and checked: what `attnc check` and MLIRGen start from.
struct CheckedFile {
  std::unique_ptr<SourceFile> source;
  std::unique_ptr<DiagnosticEngine> diags;
  FileAst ast;
  std::vector<Spec> specs;
  bool ok() const { return !diags->hasErrors(); }
};

std::unique_ptr<CheckedFile> checkSource(std::string path, std::string text);
/// Reads `path`; a file that cannot be read is reported in `error` and gives null.
std::unique_ptr<CheckedFile> checkFile(const std::string &path, std::string &error);

}  // namespace attnc::dsl
