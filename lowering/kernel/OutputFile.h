// What the emitters of every backend share when they write a directory of
// generated files: the outcome of an emission and writing one file.
#pragma once

#include <filesystem>
#include <string>

namespace attnc {

/// Environment: the user can fix it (an unwritable DIR, no C compiler, a bad
/// schedule text); Internal: a bug in attnc on a valid spec.
enum class EmitStatus { Ok, Environment, Internal };

/// Creates directory `dir` (and its parents); false, with `error`, when it cannot.
bool makeOutputDir(const std::string &dir, std::string &error);

/// Writes `text` to `path`; false, with `error`, when it cannot.
bool writeTextFile(const std::filesystem::path &path, const std::string &text, std::string &error);

}  // namespace attnc
