/* mw_selftest.c - drives the Mach-O image writer (formats/macho_write*.c)
 * without the reader or the scanner: the sites are given on the command
 * line, the plan is built here (one stub per site, alternately frameless
 * i4(i4) and framed i4(string)), and the output written for llvm-otool and
 * llvm-objdump to judge (tests/macho_img/check.sh).
 *
 *   mw_selftest IN OUT [VA:FORM:LEN ...]     FORM: call jmp bl b
 *   mw_selftest --code-va IN                 prints macho_image_code_va
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macho_write.h"
#include "output.h"

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(sz > 0 ? (size_t)sz : 1);
    if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)sz;
    return p;
}

static int form_of(const char *s)
{
    return !strcmp(s, "call") ? RW_FORM_CALL_REL32 : !strcmp(s, "jmp") ? RW_FORM_JMP_REL32
         : !strcmp(s, "bl") ? RW_FORM_BL : !strcmp(s, "b") ? RW_FORM_B : 0;
}

int main(int argc, char **argv)
{
    struct rw_diag d = {0};
    int code_va = argc == 3 && !strcmp(argv[1], "--code-va");
    if (argc < 3) {
        fprintf(stderr, "usage: mw_selftest IN OUT [VA:FORM:LEN ...] | --code-va IN\n");
        return 2;
    }
    const char *in = argv[code_va ? 2 : 1];
    struct rw_image img = {0};
    img.path = in;
    img.data = slurp(in, &img.size);
    if (!img.data || img.size < 16) {
        fprintf(stderr, "mw_selftest: cannot read %s\n", in);
        return 2;
    }
    img.format = RW_FMT_MACHO;
    img.machine = macho_u32(img.data + 4) == MACHO_CPU_TYPE_ARM64 ? RW_MACH_AARCH64 : RW_MACH_X86_64;
    img.abi = img.machine == RW_MACH_AARCH64 ? CALLI_ABI_APPLE_ARM64 : CALLI_ABI_SYSV_X64;
    img.kind = macho_u32(img.data + 12) == MACHO_MH_DYLIB ? RW_KIND_SHARED : RW_KIND_EXEC;
    uint64_t va;
    enum rw_err e = macho_image_code_va(&img, &va, &d);
    if (e) {
        fprintf(stderr, "mw_selftest: %s: %s\n", in, d.msg);
        free((void *)img.data);
        return e == RW_E_NOROOM ? 4 : 3;
    }
    if (code_va) {
        printf("0x%llx\n", (unsigned long long)va);
        free((void *)img.data);
        return 0;
    }
    size_t nsites = (size_t)argc - 3;
    struct rw_scan scan = {0};
    struct rw_plan plan = {0};
    scan.sites = calloc(nsites + 1, sizeof *scan.sites);
    plan.stubs = calloc(nsites + 1, sizeof *plan.stubs);
    struct mw w = {0};
    w.in = img.data;
    w.insz = img.size;
    w.d = &d;
    if (!scan.sites || !plan.stubs || mw_load(&w)) {
        fprintf(stderr, "mw_selftest: %s\n", d.msg);
        return 3;
    }
    static const struct calli_sig sigs[2] = {
        {9, CALLI_T_I4, 1, {CALLI_T_I4}},
        {9, CALLI_T_I4, 1, {CALLI_T_STRING}},
    };
    for (size_t i = 0; i < nsites; i++) {
        struct rw_site *s = &scan.sites[i];
        unsigned long long a;
        char form[8];
        unsigned len;
        if (sscanf(argv[3 + i], "%llx:%7[a-z]:%u", &a, form, &len) != 3 || !form_of(form) ||
            len > RW_SITE_MAX_BYTES) {
            fprintf(stderr, "mw_selftest: bad site %s\n", argv[3 + i]);
            return 2;
        }
        int64_t off = mw_va_to_off(&w, a, len);
        if (off < 0) {
            fprintf(stderr, "mw_selftest: site 0x%llx is not in the file\n", a);
            return 2;
        }
        s->addr = a;
        s->form = (uint8_t)form_of(form);
        s->length = (uint8_t)len;
        memcpy(s->orig, img.data + off, len);
        s->stub = (uint32_t)i;
        s->veneer = RW_NONE;
        s->verdict = RW_SITE_OK;
        struct rw_stub *st = &plan.stubs[i];
        st->sig = sigs[i % 2];
        snprintf(st->key, sizeof st->key, "%s_%zu", i % 2 ? "i4_s" : "i4_i4", i);
        snprintf(st->readable, sizeof st->readable, "int32 (%s)", i % 2 ? "string" : "int32");
        st->nsites = 1;
        st->offset = plan.text_size;
        char err[128];
        if (stub_generate(img.abi, &st->sig, 0, NULL, &st->code, err, sizeof err)) {
            fprintf(stderr, "mw_selftest: %s\n", err);
            return 3;
        }
        plan.text_size = MACHO_ALIGN_UP(st->offset + st->code.len, STUB_ALIGN);
    }
    scan.nsites = scan.nok = nsites;
    plan.nstubs = nsites;
    plan.scan = &scan;
    plan.text_va = va;
    mw_le_free(&w);
    free(w.seg);
    free(w.sect);
    struct rw_buf out = {0};
    e = macho_write_image(&img, &plan, &out, &d);
    if (e) {
        fprintf(stderr, "mw_selftest: %s: %s\n", in, d.msg);
        rw_buf_free(&out);
        rw_plan_free(&plan);
        free(scan.sites);
        free((void *)img.data);
        return e == RW_E_NOROOM ? 4 : 3;
    }
    if (rw_write_atomic(argv[2], out.data, out.len, 0755, &d)) {
        fprintf(stderr, "mw_selftest: %s\n", d.msg);
        return 3;
    }
    for (size_t i = 0; i < plan.nstubs; i++)
        printf("stub %zu 0x%llx %zu %s\n", i, (unsigned long long)(va + plan.stubs[i].offset),
               plan.stubs[i].code.len, plan.stubs[i].code.has_frame ? "framed" : "frameless");
    rw_buf_free(&out);
    rw_plan_free(&plan);
    free(scan.sites);
    free((void *)img.data);
    return 0;
}
