/* sort.c - stable natural merge sort: finds the sorted runs, then merges
 * neighbouring runs pass by pass. Tables of 100 000 functions or .eh_frame_hdr
 * entries arrive as one or two runs, where qsort spent n log n comparisons. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sort.h"

/* One element: the model's tables have 16- and 32-byte ones, which a
 * constant-size copy moves without a call. */
static inline void put(char *dst, const char *src, size_t size)
{
    if (size == 32)
        memcpy(dst, src, 32);
    else if (size == 16)
        memcpy(dst, src, 16);
    else
        memcpy(dst, src, size);
}

void rw_sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    char *a = base;
    size_t i = 1;
    while (i < n && cmp(a + (i - 1) * size, a + i * size) <= 0)
        i++;
    if (i >= n)
        return; /* already in order: a stable sort leaves it as it is */
    char *tmp = size && n <= SIZE_MAX / size ? malloc(n * size) : NULL;
    size_t *run = n <= SIZE_MAX / sizeof *run - 1 ? malloc((n + 1) * sizeof *run) : NULL;
    if (!tmp || !run) { /* glibc's qsort does the same when memory is short */
        free(tmp);
        free(run);
        qsort(base, n, size, cmp);
        return;
    }
    /* run[k]: start of the k-th non-decreasing run; run[nrun] = n */
    size_t nrun = 0;
    run[nrun++] = 0;
    for (; i < n; i++)
        if (cmp(a + (i - 1) * size, a + i * size) > 0)
            run[nrun++] = i;
    run[nrun] = n;
    char *src = a, *dst = tmp;
    while (nrun > 1) {
        size_t m = 0;
        for (size_t k = 0; k < nrun; k += 2) {
            size_t lo = run[k], mid = run[k + 1], hi = k + 2 <= nrun ? run[k + 2] : n;
            if (k + 1 == nrun) { /* odd run out: copied as it is */
                memcpy(dst + lo * size, src + lo * size, (n - lo) * size);
                run[m++] = lo;
                break;
            }
            size_t p = lo, q = mid, o = lo;
            while (p < mid && q < hi) {
                /* take from the left on ties: stable */
                if (cmp(src + q * size, src + p * size) < 0)
                    put(dst + o++ * size, src + q++ * size, size);
                else
                    put(dst + o++ * size, src + p++ * size, size);
            }
            memcpy(dst + o * size, src + p * size, (mid - p) * size);
            o += mid - p;
            memcpy(dst + o * size, src + q * size, (hi - q) * size);
            run[m++] = lo;
        }
        nrun = m;
        run[nrun] = n;
        char *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * size);
    free(tmp);
    free(run);
}
