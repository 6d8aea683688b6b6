/* unwind_main.c - does a stack walk from inside the call's target get back
 * to its caller? The target captures the stack (RtlCaptureStackBackTrace,
 * which unwinds with RtlLookupFunctionEntry and RtlVirtualUnwind through
 * every module's exception directory) and looks for a frame in outer().
 * Printed: whether it was found, every frame on the way having a function
 * entry, and the target's result. The same output
 * before and after the rewrite means the stub's RUNTIME_FUNCTION and
 * UNWIND_INFO let the unwinder through (make check-pe-write). */
#include <stdio.h>
#include <windows.h>

int site_bool(int (*target)(void));

static int found;
__attribute__((noinline)) int outer(void);

static __attribute__((noinline)) int walker(void)
{
    void *frames[64];
    USHORT n = RtlCaptureStackBackTrace(0, 64, frames, NULL);
    /* found: outer() is reached and every frame before it has a function
     * entry (a frame without one is unwound as a leaf; wine then goes on
     * guessing from the stack and may still stumble on outer()) */
    for (USHORT i = 0; i < n; i++) {
        DWORD64 base = 0;
        PRUNTIME_FUNCTION f = RtlLookupFunctionEntry((DWORD64)frames[i], &base, NULL);
        if (!f)
            break;
        if (base + f->BeginAddress == (DWORD64)(void *)outer) {
            found = 1;
            break;
        }
    }
    return 0x100; /* bool: the stub converts (0x100 != 0) to 1 */
}

__attribute__((noinline)) int outer(void)
{
    return site_bool(walker);
}

int main(void)
{
    int r = outer();
    printf("walk from the target reaches outer(), every frame with an entry: %s\n", found ? "yes" : "no");
    printf("result %d\n", r);
    return 0;
}
