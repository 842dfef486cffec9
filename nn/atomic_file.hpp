#pragma once
// Writing a file so that readers only ever see the old version or the complete new one:
//
//   AtomicFile out("model.safetensors", "save_safetensors");
//   out.write(header); out.write(data);   // into ".model.safetensors.tmp-<pid>-<n>"
//   out.commit();                          // fsync, close, rename over the target, fsync folder
//
// If commit() is never reached (an exception, a failed write, a crash) the temporary file is
// removed (or, after a crash, left under its hidden temporary name) and the target keeps its
// previous content. rename(2) within one folder is atomic on POSIX file systems.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

namespace nodal::nn {

// Test hook: called after every write with the total bytes written so far; throwing from it
// simulates a failure (disk full, crash) in the middle of a save.
using WriteHook = std::function<void(std::size_t bytes_written)>;

class AtomicFile {
 public:
  AtomicFile(std::filesystem::path target, std::string op, WriteHook hook = {});
  ~AtomicFile();  // without commit(): removes the temporary file
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t bytes);
  void commit();
  const std::filesystem::path& temporary_path() const { return temp_; }

 private:
  [[noreturn]] void fail(const std::string& what);
  std::filesystem::path target_, temp_;
  std::string op_;
  WriteHook hook_;
  int fd_ = -1;
  std::size_t written_ = 0;
};

}  // namespace nodal::nn
