// MPI-IO workloads over several client nodes' mounts of one amlfs.
//
//   mpi_io [-s SCALE] MODE DIR0 [DIR1 ...]
//
// Rank r does its I/O under DIR[r mod K]; every DIR is a mount of the same
// file system (or, for a reference run, the same local directory). Plain
// MPI-IO, no file-system-specific call or hint:
//   collective  a shared file written with MPI_File_write_at_all through a
//               strided, non-contiguous view; then read back with
//               MPI_File_read_at_all by each rank's neighbour (on another
//               node); once with ROMIO's defaults, once with collective
//               buffering off (data sieving: read-modify-write under fcntl
//               locks)
//   checkpoint  N-to-N: each rank writes and syncs its own file; the next
//               rank (another node) reads and checks it
//   hard        independent MPI_File_write_at of interleaved 47,008-byte
//               records into one shared file (the IO500 "hard" shape),
//               checked by the neighbour rank
// Every byte is checked. Prints one line per check on rank 0, with the write
// and read rates of all ranks together; exits 1 on a mismatch. SCALE
// (default 1) multiplies every size, for benchmarks.
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, nprocs, ndirs, scale = 1;
static char** dirs;

// The byte at file offset `off` as written by rank `writer`.
static unsigned char Expected(uint64_t off, int writer) {
  return (unsigned char)((off * 2654435761u >> 13) ^ (uint64_t)(writer * 37 + 11));
}

static void Fill(unsigned char* buf, uint64_t off, size_t len, int writer) {
  for (size_t i = 0; i < len; ++i) buf[i] = Expected(off + i, writer);
}

static long Check(const unsigned char* buf, uint64_t off, size_t len, int writer) {
  long bad = 0;
  for (size_t i = 0; i < len; ++i) bad += buf[i] != Expected(off + i, writer);
  return bad;
}

static void PathOf(char* out, size_t n, int r, const char* name) {
  snprintf(out, n, "%s/%s", dirs[r % ndirs], name);
}

static void Die(const char* what, int err) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(err, msg, &len);
  fprintf(stderr, "rank %d: %s: %s\n", rank, what, msg);
  MPI_Abort(MPI_COMM_WORLD, 2);
}
#define CHECK_MPI(call, what)          \
  do {                                 \
    int e_ = (call);                   \
    if (e_ != MPI_SUCCESS) Die(what, e_); \
  } while (0)

// Phase timing: every rank starts and ends a phase together.
static double Mark(void) {
  MPI_Barrier(MPI_COMM_WORLD);
  return MPI_Wtime();
}

// bytes: what one rank wrote (and then read) in t_write and t_read seconds.
static int Report(const char* what, long bad, size_t bytes, double t_write, double t_read) {
  long total = 0;
  MPI_Allreduce(&bad, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  double mib = (double)bytes * nprocs / 1048576.0;
  if (rank == 0)
    printf("%s: %s (%ld bad bytes); %.1f MiB written at %.1f MiB/s, read at %.1f MiB/s\n", what,
           total ? "FAILED" : "ok", total, mib, mib / t_write, mib / t_read);
  return total != 0;
}

// Rank r owns blocks r, r + nprocs, r + 2 nprocs, ... of BLK bytes.
static int Collective(const char* name, MPI_Info info) {
  const int blk = 4096 + 123, nblk = 64 * scale;
  char path[4096];
  PathOf(path, sizeof(path), rank, name);
  MPI_Datatype ftype;
  MPI_Type_vector(nblk, blk, blk * nprocs, MPI_BYTE, &ftype);
  MPI_Type_commit(&ftype);
  size_t len = (size_t)blk * nblk;
  unsigned char* buf = malloc(len);
  // The data this rank writes, in view order.
  for (int b = 0; b < nblk; ++b)
    Fill(buf + (size_t)b * blk, ((uint64_t)b * nprocs + rank) * blk, blk, rank);
  MPI_File fh;
  double t0 = Mark();
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR, info, &fh), "open");
  CHECK_MPI(MPI_File_set_view(fh, (MPI_Offset)rank * blk, MPI_BYTE, ftype, "native", info), "view");
  CHECK_MPI(MPI_File_write_at_all(fh, 0, buf, (int)len, MPI_BYTE, MPI_STATUS_IGNORE), "write_at_all");
  CHECK_MPI(MPI_File_close(&fh), "close");
  double t1 = Mark();
  // The neighbour's blocks, read through this rank's own node.
  int peer = (rank + 1) % nprocs;
  memset(buf, 0, len);
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_RDONLY, info, &fh), "reopen");
  CHECK_MPI(MPI_File_set_view(fh, (MPI_Offset)peer * blk, MPI_BYTE, ftype, "native", info), "view");
  CHECK_MPI(MPI_File_read_at_all(fh, 0, buf, (int)len, MPI_BYTE, MPI_STATUS_IGNORE), "read_at_all");
  CHECK_MPI(MPI_File_close(&fh), "close");
  double t2 = Mark();
  long bad = 0;
  for (int b = 0; b < nblk; ++b)
    bad += Check(buf + (size_t)b * blk, ((uint64_t)b * nprocs + peer) * blk, blk, peer);
  free(buf);
  MPI_Type_free(&ftype);
  return Report(name, bad, len, t1 - t0, t2 - t1);
}

static int Checkpoint(void) {
  const size_t len = ((size_t)6 << 20) * scale;
  char name[64], path[4096];
  unsigned char* buf = malloc(len);
  snprintf(name, sizeof(name), "ckpt.%d", rank);
  PathOf(path, sizeof(path), rank, name);
  Fill(buf, 0, len, rank);
  MPI_File fh;
  double t0 = Mark();
  CHECK_MPI(MPI_File_open(MPI_COMM_SELF, path, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh), "open");
  CHECK_MPI(MPI_File_write_at(fh, 0, buf, (int)len, MPI_BYTE, MPI_STATUS_IGNORE), "write");
  CHECK_MPI(MPI_File_sync(fh), "sync");
  CHECK_MPI(MPI_File_close(&fh), "close");
  double t1 = Mark();
  int peer = (rank + 1) % nprocs;
  snprintf(name, sizeof(name), "ckpt.%d", peer);
  PathOf(path, sizeof(path), rank, name);
  memset(buf, 0, len);
  MPI_Offset size = 0;
  CHECK_MPI(MPI_File_open(MPI_COMM_SELF, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh), "open peer");
  CHECK_MPI(MPI_File_get_size(fh, &size), "size");
  CHECK_MPI(MPI_File_read_at(fh, 0, buf, (int)len, MPI_BYTE, MPI_STATUS_IGNORE), "read");
  CHECK_MPI(MPI_File_close(&fh), "close");
  double t2 = Mark();
  long bad = Check(buf, 0, len, peer) + (size != (MPI_Offset)len ? 1 : 0);
  free(buf);
  return Report("checkpoint (N-to-N)", bad, len, t1 - t0, t2 - t1);
}

static int Hard(void) {
  const size_t rec = 47008;
  const int nrec = 48 * scale;
  char path[4096];
  PathOf(path, sizeof(path), rank, "hard.dat");
  unsigned char* buf = malloc(rec);
  MPI_File fh;
  double t0 = Mark();
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh), "open");
  for (int i = 0; i < nrec; ++i) {
    uint64_t off = ((uint64_t)i * nprocs + rank) * rec;
    Fill(buf, off, rec, rank);
    CHECK_MPI(MPI_File_write_at(fh, (MPI_Offset)off, buf, (int)rec, MPI_BYTE, MPI_STATUS_IGNORE), "write_at");
  }
  CHECK_MPI(MPI_File_close(&fh), "close");
  double t1 = Mark();
  int peer = (rank + 1) % nprocs;
  long bad = 0;
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh), "reopen");
  MPI_Offset size = 0;
  CHECK_MPI(MPI_File_get_size(fh, &size), "size");
  for (int i = 0; i < nrec; ++i) {
    uint64_t off = ((uint64_t)i * nprocs + peer) * rec;
    memset(buf, 0, rec);
    CHECK_MPI(MPI_File_read_at(fh, (MPI_Offset)off, buf, (int)rec, MPI_BYTE, MPI_STATUS_IGNORE), "read_at");
    bad += Check(buf, off, rec, peer);
  }
  CHECK_MPI(MPI_File_close(&fh), "close");
  double t2 = Mark();
  bad += size != (MPI_Offset)(rec * nrec * nprocs);
  free(buf);
  return Report("hard (interleaved 47,008-byte records)", bad, rec * nrec, t1 - t0, t2 - t1);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
  if (argc > 2 && strcmp(argv[1], "-s") == 0) {
    scale = atoi(argv[2]);
    argc -= 2;
    argv += 2;
  }
  if (argc < 3 || scale < 1) {
    if (rank == 0) fprintf(stderr, "usage: mpi_io [-s SCALE] collective|checkpoint|hard DIR0 [DIR1 ...]\n");
    MPI_Finalize();
    return 2;
  }
  MPI_File_set_errhandler(MPI_FILE_NULL, MPI_ERRORS_RETURN);
  dirs = argv + 2;
  ndirs = argc - 2;
  int failed = 0;
  if (strcmp(argv[1], "collective") == 0) {
    failed |= Collective("collective.dat", MPI_INFO_NULL);
    MPI_Info sieve;
    MPI_Info_create(&sieve);
    MPI_Info_set(sieve, "romio_cb_write", "disable");
    MPI_Info_set(sieve, "romio_cb_read", "disable");
    MPI_Info_set(sieve, "romio_ds_write", "enable");
    failed |= Collective("sieved.dat", sieve);
    MPI_Info_free(&sieve);
  } else if (strcmp(argv[1], "checkpoint") == 0) {
    failed |= Checkpoint();
  } else if (strcmp(argv[1], "hard") == 0) {
    failed |= Hard();
  } else {
    if (rank == 0) fprintf(stderr, "mpi_io: unknown mode %s\n", argv[1]);
    failed = 2;
  }
  MPI_Finalize();
  return failed;
}
