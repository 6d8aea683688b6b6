/* sort.h - a stable sort for the model's tables (sort.c). */
#ifndef CALLIRW_SORT_H
#define CALLIRW_SORT_H

#include <stddef.h>

/* Sort n elements of size bytes at base, stably (equal elements keep their
 * order: the same result as glibc's qsort, a merge sort). Linear when the
 * input is a few sorted runs - a table read in order, or two sorted tables
 * appended - which is how back-ends and writers build theirs. */
void rw_sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

#endif
