/* model_dump.c - prints the model the Mach-O reader fills (rewriter/image.h)
 * as text, one fact per line, for tests/macho_read/check_model.py to hold
 * against what llvm-objdump / llvm-readobj / ld64.lld say:
 *
 *   sec IDX NAME FLAGS ADDR SIZE         (FLAGS: letters of ALLOC EXEC WRITE
 *                                         NOBITS TLS GOT RELRO: a x w n t g r)
 *   sym IDX NAME SECTION VALUE FLAGS     (FLAGS: f g u; SECTION -1: none)
 *   rel SECTION OFFSET KIND ADDEND SYMNAME RAWTYPE RAWINDEX
 *   func SECTION START END NAME
 *   haddr VA | hslot VA | hsym IDX | hplt SECTION
 *   fix VA rebase TARGET | fix VA bind NAME
 *   ptr VA VALUE | ptr VA unsupported     (read_pointer of every fixup slot)
 *   kind K machine M pie P rewritten R map SECTION fixups chained|classic|none
 *
 * usage: model_dump IMAGE [--helper NAME]; exit 2 with the error's line when
 * the image does not open (code name first: "error CORRUPT: ...").
 */
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "macho_priv.h"

static const char *const err_names[] = {"OK", "IO", "NOMEM", "FORMAT", "CORRUPT",
                                        "UNSUPPORTED", "NOROOM", "INTERNAL"};

static void flags_str(uint32_t f, char *b)
{
    const char *letters = "axwntgr";
    int n = 0;
    for (int i = 0; i < 7; i++)
        if (f & (1u << i))
            b[n++] = letters[i];
    if (!n)
        b[n++] = '-';
    b[n] = 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "--helper"))) {
        fprintf(stderr, "usage: model_dump IMAGE [--helper NAME]\n");
        return 2;
    }
    struct rw_image img;
    struct rw_diag d = {0};
    enum rw_err e = rw_image_open(&img, argv[1], argc == 4 ? argv[3] : NULL, &d);
    if (e) {
        printf("error %s: %s\n", e <= RW_E_INTERNAL ? err_names[e] : "?", d.msg);
        return 2;
    }
    if (img.format != RW_FMT_MACHO) {
        printf("error FORMAT: not Mach-O\n");
        rw_image_close(&img);
        return 2;
    }
    uint32_t map = img.ops->find_map ? img.ops->find_map(&img) : RW_NONE;
    const struct macho_state *st = macho_st(&img);
    printf("kind %d machine %d pie %d rewritten %d map %d fixups %s\n", img.kind, img.machine,
           img.pie, img.rewritten, map == RW_NONE ? -1 : (int)map,
           st->chained ? "chained" : st->has_dyld_info ? "classic" : "none");
    char fb[16];
    for (size_t i = 0; i < img.nsec; i++) {
        flags_str(img.sec[i].flags, fb);
        printf("sec %zu %s %s 0x%llx 0x%llx\n", i, img.sec[i].name, fb,
               (unsigned long long)img.sec[i].addr, (unsigned long long)img.sec[i].size);
    }
    for (size_t i = 0; i < img.nsym; i++) {
        const struct rw_symbol *s = &img.sym[i];
        printf("sym %zu %s %d 0x%llx %s%s%s\n", i, s->name[0] ? s->name : "-",
               s->section == RW_NONE ? -1 : (int)s->section, (unsigned long long)s->value,
               s->flags & RW_SYM_FUNC ? "f" : "", s->flags & RW_SYM_GLOBAL ? "g" : "",
               s->flags & RW_SYM_UNDEF ? "u" : "");
    }
    for (size_t i = 0; i < img.nrel; i++) {
        const struct rw_reloc *r = &img.rel[i];
        printf("rel %u 0x%llx %u %lld %s %u %u\n", r->section, (unsigned long long)r->offset,
               r->kind, (long long)r->addend,
               r->symbol == RW_NONE ? "-" : img.sym[r->symbol].name[0] ? img.sym[r->symbol].name : "-",
               r->raw_type, st->raw_index[i]);
    }
    for (size_t i = 0; i < img.nfunc; i++)
        printf("func %u 0x%llx 0x%llx %s\n", img.func[i].section,
               (unsigned long long)img.func[i].start, (unsigned long long)img.func[i].end,
               img.func[i].name ? img.func[i].name : "-");
    for (size_t i = 0; i < img.helper.naddrs; i++)
        printf("haddr 0x%llx\n", (unsigned long long)img.helper.addrs[i]);
    for (size_t i = 0; i < img.helper.nslots; i++)
        printf("hslot 0x%llx\n", (unsigned long long)img.helper.slots[i]);
    for (size_t i = 0; i < img.helper.nsyms; i++)
        printf("hsym %u\n", img.helper.syms[i]);
    for (size_t i = 0; i < img.helper.nplt_secs; i++)
        printf("hplt %u\n", img.helper.plt_secs[i]);
    for (size_t i = 0; i < st->nfix; i++) {
        const struct macho_fix *f = &st->fix[i];
        if (f->kind == MACHO_FIX_REBASE)
            printf("fix 0x%llx rebase 0x%llx\n", (unsigned long long)f->va,
                   (unsigned long long)f->target);
        else
            printf("fix 0x%llx bind %s\n", (unsigned long long)f->va, f->name);
        uint64_t v;
        if (img.ops->read_pointer(&img, f->va, &v) == RW_OK)
            printf("ptr 0x%llx 0x%llx\n", (unsigned long long)f->va, (unsigned long long)v);
        else
            printf("ptr 0x%llx unsupported\n", (unsigned long long)f->va);
    }
    rw_image_close(&img);
    return 0;
}
