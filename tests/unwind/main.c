/* main.c - targets that walk the stack with libgcc's _Unwind_Backtrace and
 * print the frames they can name: the site functions and main. Frames inside
 * the generic helper, the runtime or a stub are not named (they differ by
 * design); everything else must be the same before and after the rewrite,
 * and the walk must reach main through every stub. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unwind.h>

#include "calli_refrt.h"

extern char site_framed[], site_tail_stub[], site_got[], site_tailcall[];
extern char site_framed_end[], site_tail_stub_end[], site_got_end[], site_tailcall_end[];
extern char __start_calli_main[], __stop_calli_main[]; /* main alone, by the linker */
uint32_t site_framed_call(int32_t) __asm__("site_framed");
uint32_t site_got_call(int32_t) __asm__("site_got");
int32_t site_tail_stub_call(int32_t) __asm__("site_tail_stub");
int32_t site_tailcall_call(const void *) __asm__("site_tailcall");

struct named { const char *name; uintptr_t lo, hi; };
static struct named names[5];
static int nnames;

static void name_fn(const char *n, const void *lo, const void *hi)
{
    names[nnames++] = (struct named){n, (uintptr_t)lo, (uintptr_t)hi};
}

struct walk { char out[256]; int frames; };

static _Unwind_Reason_Code step(struct _Unwind_Context *ctx, void *arg)
{
    struct walk *w = arg;
    uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx) - 1; /* inside the call */
    w->frames++;
    for (int i = 0; i < nnames; i++)
        if (ip >= names[i].lo && ip < names[i].hi) {
            strcat(w->out, " ");
            strcat(w->out, names[i].name);
            if (!strcmp(names[i].name, "main"))
                return _URC_END_OF_STACK;
        }
    return w->frames > 64 ? _URC_END_OF_STACK : _URC_NO_REASON;
}

static void walk(const char *who)
{
    struct walk w = {"", 0};
    _Unwind_Backtrace(step, &w);
    printf("%s: walk reaches:%s\n", who, w.out);
}

int32_t walk_bool(int32_t v) { walk("walk_bool"); return v * 256; }
int32_t walk_i4(int32_t v) { walk("walk_i4"); return v + 1; }
int32_t walk_str(const char *s) { walk("walk_str"); return (int32_t)strlen(s); }

static const struct { uint64_t h; int32_t n; uint16_t c[3]; } hey = {0, 3, {'h', 'e', 'y'}};

__attribute__((section("calli_main"), noinline)) int main(void)
{
    calli_refrt_init(&calli_refrt_default, 0);
    name_fn("site_framed", site_framed, site_framed_end);
    name_fn("site_tail_stub", site_tail_stub, site_tail_stub_end);
    name_fn("site_got", site_got, site_got_end);
    name_fn("site_tailcall", site_tailcall, site_tailcall_end);
    name_fn("main", __start_calli_main, __stop_calli_main);
    printf("site_framed -> %u\n", site_framed_call(3));
    printf("site_tail_stub -> %d\n", site_tail_stub_call(41));
    printf("site_got -> %u\n", site_got_call(0));
    printf("site_tailcall -> %d\n", site_tailcall_call(&hey));
    return 0;
}
