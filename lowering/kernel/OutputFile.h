// What the emitters of every backend share when they write a directory of
// generated files: the outcome of an emission, writing one file, and staging a
// whole emission so that DIR only ever holds complete outputs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace attnc {

/// Environment: the user can fix it (an unwritable DIR, no C compiler, a bad
/// schedule text); Internal: a bug in attnc on a valid spec.
enum class EmitStatus { Ok, Environment, Internal };

/// Creates directory `dir` (and its parents); false, with `error`, when it cannot.
bool makeOutputDir(const std::string &dir, std::string &error);

/// Writes `text` to `path`; false, with `error` (with the system's reason), when it cannot.
bool writeTextFile(const std::filesystem::path &path, const std::string &text, std::string &error);

/// Runs `command` with /bin/sh; its exit status, or -1 when it could not be run
/// or was killed. Unlike std::system it leaves SIGINT and SIGTERM to their
/// handlers, so an interrupted emission still cleans up.
int runCommand(const std::string &command);

/// `s` as one word of a /bin/sh command line (single-quoted).
std::string shellQuote(const std::string &s);

/// The C compiler attnc runs: $ATTNC_CC, else $CC, else `cc`.
std::string cCompiler();

/// One emission's files, written into a private staging directory inside DIR
/// (`DIR/.attnc-tmp-XXXXXX`, unique to the process) and moved into DIR by
/// commit() only when every one of them was written. commit() holds an
/// exclusive lock on DIR while it renames, so concurrent attnc runs into one DIR
/// leave each name with the complete output of one of them (rename(2) replaces a
/// file atomically: a reader sees the old file or the new one, never a part).
/// The staging directory is removed by the destructor, and by SIGINT, SIGTERM
/// or SIGHUP while a stage is open (the signal then ends the process as before).
class StagedOutput {
public:
  StagedOutput() = default;
  StagedOutput(const StagedOutput &) = delete;
  StagedOutput &operator=(const StagedOutput &) = delete;
  ~StagedOutput();

  /// Creates DIR (and its parents) and the staging directory.
  bool open(const std::string &dir, std::string &error);
  /// The staging path of a file named `name` (which may be a temporary that is
  /// never published); removed with the staging directory.
  std::filesystem::path path(const std::string &name);
  /// Stages `text` as DIR/`name`.
  bool write(const std::string &name, const std::string &text, std::string &error);
  /// Marks the staged file `name` (already written at path(name)) for DIR/`name`.
  void publish(const std::string &name);
  /// Moves every published file into DIR, in the order published.
  bool commit(std::string &error);
  /// Keeps the staging directory (renamed DIR/.attnc-temps) instead of removing it.
  void keep() { keep_ = true; }
  const std::filesystem::path &dir() const { return dir_; }

private:
  std::filesystem::path dir_, stage_;
  std::vector<std::string> published_;
  bool keep_ = false;
};

}  // namespace attnc
