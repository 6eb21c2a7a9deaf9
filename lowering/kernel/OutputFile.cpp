#include "lowering/kernel/OutputFile.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

extern char **environ;

namespace attnc {

namespace fs = std::filesystem;

bool makeOutputDir(const std::string &dir, std::string &error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create `" + dir + "`: " + ec.message();
    return false;
  }
  return true;
}

bool writeTextFile(const fs::path &path, const std::string &text, std::string &error) {
  std::ofstream f(path, std::ios::binary);
  if (!f) {
    error = "cannot write `" + path.string() + "`: " + std::strerror(errno);
    return false;
  }
  f << text;
  f.close();
  if (!f) {
    error = "cannot write `" + path.string() + "`: " + std::strerror(errno ? errno : EIO);
    return false;
  }
  return true;
}

int runCommand(const std::string &command) {
  const char *argv[] = {"sh", "-c", command.c_str(), nullptr};
  pid_t pid;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char *const *>(argv), environ) != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string shellQuote(const std::string &s) {
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

std::string cCompiler() {
  for (const char *var : {"ATTNC_CC", "CC"})
    if (const char *v = std::getenv(var); v && *v) return v;
  return "cc";
}

namespace {

// The staging directory that SIGINT/SIGTERM/SIGHUP clean up: paths copied into
// storage the handler only reads (unlink and rmdir are async-signal-safe). One
// stage at a time is guarded; attnc emits one target per process.
constexpr int kMaxGuarded = 512;
char *gPaths[kMaxGuarded];
volatile sig_atomic_t gPathCount = 0;
char *gStageDir = nullptr;
volatile sig_atomic_t gGuarding = 0;
const StagedOutput *gOwner = nullptr;
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction gPrevious[3];

void onSignal(int sig) {
  if (gGuarding) {
    for (int i = 0; i < gPathCount; ++i) unlink(gPaths[i]);
    rmdir(gStageDir);
  }
  for (int i = 0; i < 3; ++i)
    if (kSignals[i] == sig) sigaction(sig, &gPrevious[i], nullptr);
  raise(sig);
}

void guard(const StagedOutput *owner, const fs::path &stage) {
  if (gOwner) return;
  gOwner = owner;
  gStageDir = strdup(stage.c_str());
  gPathCount = 0;
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &gPrevious[i]);
  gGuarding = 1;
}

void guardPath(const StagedOutput *owner, const fs::path &p) {
  if (gOwner != owner || gPathCount >= kMaxGuarded) return;
  gPaths[gPathCount] = strdup(p.c_str());
  gPathCount = gPathCount + 1;
}

void unguard(const StagedOutput *owner) {
  if (gOwner != owner) return;
  gGuarding = 0;
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &gPrevious[i], nullptr);
  for (int i = 0; i < gPathCount; ++i) std::free(gPaths[i]);
  gPathCount = 0;
  std::free(gStageDir);
  gStageDir = nullptr;
  gOwner = nullptr;
}

}  // namespace

StagedOutput::~StagedOutput() {
  if (stage_.empty()) return;
  unguard(this);
  std::error_code ec;
  if (keep_) {
    fs::path kept = dir_ / ".attnc-temps";
    fs::remove_all(kept, ec);
    fs::rename(stage_, kept, ec);
    if (!ec) return;
  }
  fs::remove_all(stage_, ec);
}

bool StagedOutput::open(const std::string &dir, std::string &error) {
  if (!makeOutputDir(dir, error)) return false;
  dir_ = dir;
  std::string tmpl = (dir_ / ".attnc-tmp-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    error = "cannot create a directory in `" + dir + "`: " + std::strerror(errno);
    return false;
  }
  stage_ = tmpl;
  guard(this, stage_);
  return true;
}

fs::path StagedOutput::path(const std::string &name) {
  fs::path p = stage_ / name;
  guardPath(this, p);
  return p;
}

bool StagedOutput::write(const std::string &name, const std::string &text, std::string &error) {
  if (!writeTextFile(path(name), text, error)) return false;
  publish(name);
  return true;
}

void StagedOutput::publish(const std::string &name) { published_.push_back(name); }

bool StagedOutput::commit(std::string &error) {
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || flock(fd, LOCK_EX) != 0) {
    error = "cannot lock `" + dir_.string() + "`: " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  bool ok = true;
  for (const std::string &name : published_) {
    if (std::rename((stage_ / name).c_str(), (dir_ / name).c_str()) != 0) {
      error = "cannot move `" + name + "` into `" + dir_.string() + "`: " + std::strerror(errno);
      ok = false;
      break;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace attnc
