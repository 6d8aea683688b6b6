/* main.c - targets that walk the stack on Win64, twice: with
 * RtlCaptureStackBackTrace and by hand (RtlCaptureContext, then
 * RtlLookupFunctionEntry + RtlVirtualUnwind per frame, a frame without a
 * function entry being a leaf). Each walk prints the frames it can name as
 * name+offset of the return address (the offset from the function's start,
 * i.e. module-relative): the targets, the sites and main, up to main. Frames
 * in the generic helper or a stub are not printed: they are where the
 * original and the rewritten image differ by design (the helper's frame
 * there, a framed stub's or none at all here). Everything printed must be
 * the same before and after the rewrite, and each walk must reach main
 * (tests/unwind_win/expected.txt has the names). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "calli_refrt.h"

extern char site_framed[], site_tail_stub[], site_str[], site_tailcall[];
uint32_t site_framed_call(int32_t) __asm__("site_framed");
int32_t site_tail_stub_call(int32_t) __asm__("site_tail_stub");
int32_t site_str_call(const void *) __asm__("site_str");
int32_t site_tailcall_call(const void *) __asm__("site_tailcall");
int32_t walk_bool(int32_t v);
int32_t walk_i4(int32_t v);
int32_t walk_str(const char *s);
int main(void);

struct named { const char *name; uintptr_t start; };
static struct named names[8];
static int nnames;

/* the named function whose unwind entry holds ip, or NULL */
static const struct named *name_of(uintptr_t ip)
{
    DWORD64 base = 0;
    PRUNTIME_FUNCTION f = RtlLookupFunctionEntry((DWORD64)ip, &base, NULL);
    if (!f) return NULL;
    for (int i = 0; i < nnames; i++)
        if (names[i].start == (uintptr_t)(base + f->BeginAddress)) return &names[i];
    return NULL;
}

/* append "name+0xoff" for a return address; 1 when it is main's */
static int add(char *out, uintptr_t ret)
{
    const struct named *n = name_of(ret - 1); /* inside the call */
    if (!n) return 0;
    char b[64];
    snprintf(b, sizeof b, " %s+0x%llx", n->name, (unsigned long long)(ret - n->start));
    strcat(out, b);
    return !strcmp(n->name, "main");
}

static __attribute__((noinline)) void walk(const char *who)
{
    char out[512] = "";
    void *frames[64];
    USHORT n = RtlCaptureStackBackTrace(0, 64, frames, NULL);
    for (USHORT i = 0; i < n; i++)
        if (add(out, (uintptr_t)frames[i])) break;
    printf("%s: capture:%s\n", who, out);

    out[0] = 0;
    CONTEXT c;
    RtlCaptureContext(&c);
    for (int k = 0; k < 64 && c.Rip; k++) {
        DWORD64 base = 0;
        PRUNTIME_FUNCTION f = RtlLookupFunctionEntry(c.Rip, &base, NULL);
        if (f) {
            void *hd = NULL;
            DWORD64 est = 0;
            RtlVirtualUnwind(UNW_FLAG_NHANDLER, base, c.Rip, f, &c, &hd, &est, NULL);
        } else { /* leaf */
            c.Rip = *(DWORD64 *)c.Rsp;
            c.Rsp += 8;
        }
        if (c.Rip && add(out, (uintptr_t)c.Rip)) break;
    }
    printf("%s: unwind:%s\n", who, out);
    fflush(stdout);
}

__attribute__((noinline)) int32_t walk_bool(int32_t v) { walk("walk_bool"); return v * 256; }
__attribute__((noinline)) int32_t walk_i4(int32_t v) { walk("walk_i4"); return v + 1; }
__attribute__((noinline)) int32_t walk_str(const char *s) { walk("walk_str"); return (int32_t)strlen(s); }

static const struct { uint64_t h; int32_t n; uint16_t c[3]; } hey = {0, 3, {'h', 'e', 'y'}};

#define NAME(f) names[nnames++] = (struct named){#f, (uintptr_t)(f)}
int main(void)
{
    calli_refrt_init(&calli_refrt_default, 0);
    NAME(walk_bool); NAME(walk_i4); NAME(walk_str);
    NAME(site_framed); NAME(site_tail_stub); NAME(site_str); NAME(site_tailcall); NAME(main);
    printf("site_framed -> %u\n", site_framed_call(3));
    printf("site_tail_stub -> %d\n", site_tail_stub_call(41));
    printf("site_str -> %d\n", site_str_call(&hey));
    printf("site_tailcall -> %d\n", site_tailcall_call(&hey));
    return 0;
}
