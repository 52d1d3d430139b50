/* Counts malloc calls in the process it is preloaded into (LD_PRELOAD), for
 * bench/allocations-per-push.sh. Written here because the packaged tools either slow the server
 * by orders of magnitude (valgrind, heaptrack) or need root and a kernel probe (perf probe): this
 * adds one relaxed atomic add per malloc. Creating the file $COUNT_MALLOCS_DIR/dump appends the
 * running count to $COUNT_MALLOCS_DIR/counts (the file is removed once read). */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);

static atomic_ulong mallocs;
static char dump_path[PATH_MAX], counts_path[PATH_MAX];

void *malloc(size_t size) {
  atomic_fetch_add_explicit(&mallocs, 1, memory_order_relaxed);
  return __libc_malloc(size);
}

static void *watch(void *unused) {
  (void)unused;
  for (;;) {
    usleep(20000);
    if (access(dump_path, F_OK) != 0) continue;
    unlink(dump_path);
    FILE *counts = fopen(counts_path, "a");
    if (!counts) continue;
    fprintf(counts, "%lu\n", atomic_load(&mallocs));
    fclose(counts);
  }
  return NULL;
}

__attribute__((constructor)) static void start_watching(void) {
  const char *dir = getenv("COUNT_MALLOCS_DIR");
  if (!dir) return;
  snprintf(dump_path, sizeof dump_path, "%s/dump", dir);
  snprintf(counts_path, sizeof counts_path, "%s/counts", dir);
  pthread_t thread;
  if (pthread_create(&thread, NULL, watch, NULL) == 0) pthread_detach(thread);
}
