// LD_PRELOAD allocation counter for the Sluice benchmarks (issue 6: allocations per proxied request).
// Counts calls of malloc, calloc, realloc, posix_memalign/aligned_alloc/memalign/valloc, and free,
// plus bytes requested, in a small shared file (MALLOC_COUNT_FILE) that the benchmark reads before
// and after a run. The counters are shared across fork (nginx master + worker add up) and across
// threads (relaxed atomic adds). Allocation goes to glibc's own __libc_* functions.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

enum { MALLOCS, CALLOCS, REALLOCS, ALIGNED, FREES, BYTES, NCOUNTERS };
static uint64_t local[NCOUNTERS];
static uint64_t *counters = local;

__attribute__((constructor)) static void init(void) {
    const char *path = getenv("MALLOC_COUNT_FILE");
    if (!path) return;
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return;
    if (ftruncate(fd, sizeof(uint64_t) * NCOUNTERS) == 0) {
        void *p = mmap(NULL, sizeof(uint64_t) * NCOUNTERS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) counters = p;
    }
    close(fd);
}

#define COUNT(i, n) __atomic_fetch_add(&counters[i], (n), __ATOMIC_RELAXED)

void *malloc(size_t n) { COUNT(MALLOCS, 1); COUNT(BYTES, n); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { COUNT(CALLOCS, 1); COUNT(BYTES, a * b); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { COUNT(REALLOCS, 1); COUNT(BYTES, n); return __libc_realloc(p, n); }
void free(void *p) { if (p) COUNT(FREES, 1); __libc_free(p); }
void *memalign(size_t al, size_t n) { COUNT(ALIGNED, 1); COUNT(BYTES, n); return __libc_memalign(al, n); }
void *aligned_alloc(size_t al, size_t n) { return memalign(al, n); }
void *valloc(size_t n) { return memalign(sysconf(_SC_PAGESIZE), n); }
void *pvalloc(size_t n) { size_t ps = sysconf(_SC_PAGESIZE); return memalign(ps, (n + ps - 1) / ps * ps); }
int posix_memalign(void **out, size_t al, size_t n) {
    void *p = memalign(al, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
