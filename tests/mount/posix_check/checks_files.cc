// Regular files: open flags, read/write, sparse files, truncate, seek,
// fsync, fallocate, O_APPEND, open-unlinked files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

namespace posix_check {

void FileChecks(const Context& c) {
  const std::string f = P(c, "file1");
  int fd = open(f.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
  ExpectErrno("open O_CREAT|O_EXCL creates a new file", fd, 0);
  ExpectEq("write returns the byte count", 5L, static_cast<long>(write(fd, "hello", 5)));
  char buf[64] = {};
  ExpectEq("pread reads back what was written", 5L, static_cast<long>(pread(fd, buf, 64, 0)));
  ExpectTrue("the bytes read match", std::string(buf, 5) == "hello");
  ExpectEq("pwrite in the middle", 3L, static_cast<long>(pwrite(fd, "XYZ", 3, 1)));
  ExpectTrue("pwrite changed the middle", ReadFile(f) == "hXYZo", ReadFile(f));
  struct stat st;
  fstat(fd, &st);
  ExpectEq("fstat size after writes", 5L, static_cast<long>(st.st_size));
  ExpectTrue("st_blksize is positive", st.st_blksize > 0);
  ExpectErrno("fsync succeeds", fsync(fd), 0);
  ExpectErrno("fdatasync succeeds", fdatasync(fd), 0);
  close(fd);
  ExpectErrno("open O_CREAT|O_EXCL on an existing file fails EEXIST",
              open(f.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
  ExpectErrno("open of a missing file fails ENOENT", open(P(c, "nope").c_str(), O_RDONLY), ENOENT);
  ExpectErrno("open with a file as a directory component fails ENOTDIR",
              open((f + "/x").c_str(), O_RDONLY), ENOTDIR);
  ExpectErrno("O_DIRECTORY on a file fails ENOTDIR", open(f.c_str(), O_RDONLY | O_DIRECTORY),
              ENOTDIR);
  ExpectErrno("opening a directory for writing fails EISDIR", open(c.dir.c_str(), O_WRONLY),
              EISDIR);
  fd = open(f.c_str(), O_RDWR | O_TRUNC);
  fstat(fd, &st);
  ExpectEq("O_TRUNC empties the file", 0L, static_cast<long>(st.st_size));
  close(fd);

  // O_APPEND from two descriptors.
  const std::string a = P(c, "append");
  int a1 = open(a.c_str(), O_CREAT | O_WRONLY | O_APPEND, 0644);
  int a2 = open(a.c_str(), O_WRONLY | O_APPEND);
  ExpectEq("O_APPEND write 1", 4L, static_cast<long>(write(a1, "aaaa", 4)));
  ExpectEq("O_APPEND write 2", 4L, static_cast<long>(write(a2, "bbbb", 4)));
  ExpectEq("O_APPEND write 3", 4L, static_cast<long>(write(a1, "cccc", 4)));
  close(a1);
  close(a2);
  ExpectTrue("O_APPEND writes from two fds all land at the end", ReadFile(a) == "aaaabbbbcccc",
             ReadFile(a));

  // Sparse file past 4 GiB.
  const std::string s = P(c, "sparse");
  fd = open(s.c_str(), O_CREAT | O_RDWR, 0644);
  const off_t big = (5LL << 30) + 12345;
  ExpectEq("pwrite past 4 GiB", 4L, static_cast<long>(pwrite(fd, "tail", 4, big)));
  fstat(fd, &st);
  ExpectEq("sparse file size", static_cast<long>(big + 4), static_cast<long>(st.st_size));
  char hole[4096];
  std::memset(hole, 'z', sizeof(hole));
  ExpectEq("reading inside the hole returns full length", 4096L,
           static_cast<long>(pread(fd, hole, 4096, 3LL << 30)));
  bool zeros = true;
  for (char ch : hole) zeros = zeros && ch == 0;
  ExpectTrue("the hole reads as zeros", zeros);
  ExpectEq("the data after the hole reads back", 4L, static_cast<long>(pread(fd, buf, 4, big)));
  ExpectTrue("tail bytes match", std::string(buf, 4) == "tail");
  ExpectEq("a read at EOF returns 0", 0L, static_cast<long>(pread(fd, buf, 4, big + 4)));
  off_t d = lseek(fd, 0, SEEK_DATA);
  ExpectTrue("SEEK_DATA skips the hole", d > (4LL << 30) && d <= big, "got " + std::to_string(d));
  off_t h = lseek(fd, 0, SEEK_HOLE);
  ExpectTrue("SEEK_HOLE finds the hole at the start", h == 0, "got " + std::to_string(h));
  ExpectErrno("SEEK_DATA past EOF fails ENXIO", lseek(fd, big + 100, SEEK_DATA), ENXIO);
  ExpectErrno("ftruncate shrinks the sparse file", ftruncate(fd, 100), 0);
  fstat(fd, &st);
  ExpectEq("size after ftruncate", 100L, static_cast<long>(st.st_size));
  ExpectErrno("ftruncate grows the file", ftruncate(fd, 10000), 0);
  ExpectEq("the grown part reads as zeros", 10L, static_cast<long>(pread(fd, buf, 10, 5000)));
  ExpectTrue("grown bytes are zero", std::string(buf, 10) == std::string(10, '\0'));
  ExpectErrno("ftruncate to a negative size fails EINVAL", ftruncate(fd, -1), EINVAL);
  close(fd);
  ExpectErrno("truncate by path", truncate(s.c_str(), 7), 0);
  stat(s.c_str(), &st);
  ExpectEq("size after truncate by path", 7L, static_cast<long>(st.st_size));
  ExpectErrno("truncate of a directory fails EISDIR", truncate(c.dir.c_str(), 0), EISDIR);

  // fallocate.
  const std::string fa = P(c, "falloc");
  fd = open(fa.c_str(), O_CREAT | O_RDWR, 0644);
  ExpectErrno("fallocate mode 0 succeeds", fallocate(fd, 0, 0, 1 << 20), 0);
  fstat(fd, &st);
  ExpectEq("fallocate extends st_size", static_cast<long>(1 << 20), static_cast<long>(st.st_size));
  close(fd);

  // A large write across stripe boundaries.
  const std::string lg = P(c, "large");
  std::string data(3 * 1024 * 1024 + 777, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + 7);
  ExpectTrue("a 3 MiB write succeeds", WriteFile(lg, data));
  ExpectTrue("a 3 MiB file reads back identical", ReadFile(lg) == data);

  // Open-unlinked files.
  const std::string u = P(c, "unlinked");
  fd = open(u.c_str(), O_CREAT | O_RDWR, 0644);
  write(fd, "keep", 4);
  ExpectErrno("unlink of an open file", unlink(u.c_str()), 0);
  ExpectErrno("the name is gone", access(u.c_str(), F_OK), ENOENT);
  ExpectEq("an unlinked open file is still writable", 5L,
           static_cast<long>(pwrite(fd, "-more", 5, 4)));
  ExpectEq("an unlinked open file is still readable", 9L, static_cast<long>(pread(fd, buf, 64, 0)));
  ExpectTrue("its data is intact", std::string(buf, 9) == "keep-more");
  fstat(fd, &st);
  ExpectEq("fstat shows nlink 0", 0L, static_cast<long>(st.st_nlink));
  close(fd);
  const std::string v1 = P(c, "victim"), v2 = P(c, "replacer");
  WriteFile(v1, "old");
  WriteFile(v2, "new");
  fd = open(v1.c_str(), O_RDONLY);
  ExpectErrno("rename over an open file", rename(v2.c_str(), v1.c_str()), 0);
  ExpectEq("the replaced open file still reads", 3L, static_cast<long>(pread(fd, buf, 3, 0)));
  ExpectTrue("the replaced file's data is its own", std::string(buf, 3) == "old");
  close(fd);
  ExpectTrue("the new name has the new data", ReadFile(v1) == "new");
}

}  // namespace posix_check
