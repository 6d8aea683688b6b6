/* test_pe_write_obj.c - the COFF object writer (formats/pe_write_obj*.c,
 * docs/pe.md "Writing objects") on the objects tests/pe/rules.mk builds
 * (PE_TEST_DIR, default build/tests/pe; skipped when absent unless
 * PE_TEST_REQUIRE is set): sites.o (GNU as), sites-bigobj.o, sites_msvc.obj
 * (clang). Each is scanned, planned and written in memory, and the output is
 * read back by the reader and checked structure by structure:
 *  - every old section, symbol and relocation is where it was, with the
 *    same contents, except the sites' bytes and relocation records;
 *  - each site: nops + E8/E9 with the field 0, its record REL32 against the
 *    stub's function symbol; a second scan finds no site;
 *  - per stub: .text$__callirw_stub_<key> with the stub's bytes, its section
 *    symbol's aux record SELECT_ANY with the section's length, then the
 *    external leader; framed stubs: .xdata$callirw_<key> (the UNWIND_INFO)
 *    and .pdata$callirw_<key> ({frame_start, len, 0} with three ADDR32NB
 *    relocations), each with its leader, and the text's anchor relocation;
 *  - .crwmap: not allocated, decodes, one site per rewritten site;
 * also on obj_dedup_a.o (a framed and a frameless stub, a long section
 * name); then a 10 MiB string table (the new names go first, the old ones
 * move) and a section pointing into the headers (refused, RW_E_CORRUPT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "format.h"
#include "map.h"
#include "patch.h"
#include "pe_priv.h"
#include "plan.h"
#include "scan.h"

extern const struct rw_format_ops rw_pe_ops;

#define NAME_MAX_ (CALLI_SIG_TEXT_MAX + 64) /* a stub key with a prefix */

struct opened {
    uint8_t *copy;
    size_t size;
    struct rw_image img;
    struct rw_diag d;
    enum rw_err err;
};

static void open_mem(struct opened *o, const uint8_t *data, size_t size)
{
    memset(o, 0, sizeof *o);
    o->copy = malloc(size ? size : 1);
    assert_non_null(o->copy);
    memcpy(o->copy, data, size);
    o->size = size;
    o->img.path = "test";
    o->img.data = o->copy;
    o->img.size = size;
    o->img.helper_name = "GenericPInvokeCalliHelper";
    o->img.ops = &rw_pe_ops;
    o->err = rw_pe_ops.probe(o->copy, size) ? rw_pe_ops.open(&o->img, &o->d) : RW_E_FORMAT;
}

static void close_mem(struct opened *o)
{
    rw_pe_ops.close(&o->img);
    free(o->copy);
}

/* The bytes of a built input, or NULL when it is absent (test skipped). */
static uint8_t *slurp(const char *name, size_t *n)
{
    const char *dir = getenv("PE_TEST_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "build/tests/pe", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (getenv("PE_TEST_REQUIRE"))
            fail_msg("missing %s (build it with make check-pe-obj)", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* Scan, plan and write; *err is the writer's result. */
struct rewrite {
    struct rw_scan scan;
    struct rw_plan plan;
    struct rw_buf out;
    struct rw_diag d;
    enum rw_err err;
};

static void do_rewrite(struct opened *in, struct rewrite *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(in->err, RW_OK);
    assert_int_equal(rw_scan_image(&in->img, &r->scan, &r->d), RW_OK);
    assert_true(r->scan.nok > 0);
    assert_int_equal(rw_plan_build(&in->img, &r->scan, &r->plan, &r->d), RW_OK);
    r->err = rw_pe_ops.write(&in->img, &r->plan, &r->out, &r->d);
}

static void free_rewrite(struct rewrite *r)
{
    rw_plan_free(&r->plan);
    rw_scan_free(&r->scan);
    rw_buf_free(&r->out);
}

static uint32_t find_section(const struct rw_image *img, const char *name)
{
    for (uint32_t i = 0; i < img->nsec; i++)
        if (!strcmp(img->sec[i].name, name))
            return i;
    fail_msg("no section %s", name);
    return RW_NONE;
}

static uint32_t find_symbol(const struct rw_image *img, const char *name)
{
    for (uint32_t i = 0; i < img->nsym; i++)
        if (!strcmp(img->sym[i].name, name))
            return i;
    fail_msg("no symbol %s", name);
    return RW_NONE;
}

/* The raw COFF record of model symbol m, and its aux record (or NULL). */
static const uint8_t *raw_sym(const struct opened *o, uint32_t m, const uint8_t **aux)
{
    const struct pe_state *st = pe_st(&o->img);
    const uint8_t *r = st->symtab + (size_t)o->img.sym[m].id * st->symsz;
    uint8_t naux = r[st->symsz - 1];
    *aux = naux ? r + st->symsz : NULL;
    return r;
}

/* A COMDAT section's symbol: static, one aux record SELECT_ANY with the
 * section's length; the next record an external leader in the section. */
static void check_comdat(const struct opened *o, const char *secname, const char *leader)
{
    uint32_t sec = find_section(&o->img, secname);
    uint32_t ss = find_symbol(&o->img, secname), ls = find_symbol(&o->img, leader);
    const struct pe_state *st = pe_st(&o->img);
    const uint8_t *aux;
    const uint8_t *r = raw_sym(o, ss, &aux);
    assert_int_equal(r[st->symsz - 2], PE_SYM_CLASS_STATIC);
    assert_non_null(aux);
    assert_int_equal(pe_u32(aux), o->img.sec[sec].size);
    assert_int_equal(aux[14], 2); /* IMAGE_COMDAT_SELECT_ANY */
    assert_int_equal(o->img.sym[ls].id, o->img.sym[ss].id + 2);
    assert_int_equal(o->img.sym[ls].section, sec);
    assert_true(o->img.sym[ls].flags & RW_SYM_GLOBAL);
    uint32_t ch = pe_u32(st->shdr + 40 * (size_t)sec + 36);
    assert_true(ch & PE_SCN_LNK_COMDAT);
}

static void check_rewrite(const char *name)
{
    size_t n;
    uint8_t *bytes = slurp(name, &n);
    if (!bytes)
        skip();
    struct opened in, out;
    struct rewrite r;
    open_mem(&in, bytes, n);
    do_rewrite(&in, &r);
    if (r.err)
        print_error("%s: %s\n", name, r.d.msg);
    assert_int_equal(r.err, RW_OK);
    open_mem(&out, r.out.data, r.out.len);
    if (out.err)
        print_error("%s rewritten: %s\n", name, out.d.msg);
    assert_int_equal(out.err, RW_OK);
    assert_true(out.img.rewritten);
    const struct rw_image *a = &in.img, *b = &out.img;

    /* new sections: per stub 1 or 3, and the map */
    size_t nnew = 1;
    for (size_t i = 0; i < r.plan.nstubs; i++)
        nnew += r.plan.stubs[i].code.has_frame ? 3 : 1;
    assert_int_equal(b->nsec, a->nsec + nnew);
    assert_int_equal(pe_st(b)->bigobj, pe_st(a)->bigobj);

    /* old sections and symbols unchanged (sites aside) */
    for (uint32_t i = 0; i < a->nsec; i++) {
        assert_string_equal(a->sec[i].name, b->sec[i].name);
        assert_int_equal(a->sec[i].size, b->sec[i].size);
        assert_int_equal(a->sec[i].flags, b->sec[i].flags);
        assert_int_equal(!a->sec[i].data, !b->sec[i].data);
        if (!a->sec[i].data)
            continue;
        for (uint64_t k = 0; k < a->sec[i].size; k++) {
            int in_site = 0;
            for (size_t s = 0; s < r.scan.nsites; s++) {
                const struct rw_site *t = &r.scan.sites[s];
                if (t->verdict == RW_SITE_OK && t->section == i && k >= t->offset &&
                    k < t->offset + t->length)
                    in_site = 1;
            }
            if (!in_site && a->sec[i].data[k] != b->sec[i].data[k])
                fail_msg("%s: section %s byte 0x%llx changed", name, a->sec[i].name,
                         (unsigned long long)k);
        }
    }
    assert_true(b->nsym > a->nsym);
    for (uint32_t i = 0; i < a->nsym; i++) {
        assert_string_equal(a->sym[i].name, b->sym[i].name);
        assert_int_equal(a->sym[i].id, b->sym[i].id);
        assert_int_equal(a->sym[i].section, b->sym[i].section);
        assert_int_equal(a->sym[i].value, b->sym[i].value);
    }

    /* sites */
    for (size_t s = 0; s < r.scan.nsites; s++) {
        const struct rw_site *t = &r.scan.sites[s];
        if (t->verdict != RW_SITE_OK)
            continue;
        uint8_t want[RW_SITE_MAX_BYTES];
        struct rw_diag d;
        assert_int_equal(rw_site_patch(RW_MACH_X86_64, t, RW_NO_ADDRESS, want, &d), RW_OK);
        assert_memory_equal(b->sec[t->section].data + t->offset, want, t->length);
        assert_int_equal(pe_u32(want + t->length - 4), 0);
        const struct rw_reloc *rel = rw_reloc_at(b, t->section, t->offset + t->length - 4);
        assert_non_null(rel);
        assert_int_equal(rel->raw_type, PE_REL_AMD64_REL32);
        assert_int_equal(rel->addend, -4);
        char sym[NAME_MAX_];
        snprintf(sym, sizeof sym, "__callirw_stub_%s", r.plan.stubs[t->stub].key);
        assert_string_equal(b->sym[rel->symbol].name, sym);
    }
    struct rw_scan again = {0};
    struct rw_diag d2;
    assert_int_equal(rw_scan_image(b, &again, &d2), RW_OK);
    assert_int_equal(again.nok, 0);
    rw_scan_free(&again);

    /* stubs */
    char sec[NAME_MAX_], sym[NAME_MAX_];
    for (size_t i = 0; i < r.plan.nstubs; i++) {
        const struct rw_stub *s = &r.plan.stubs[i];
        snprintf(sec, sizeof sec, ".text$%s", s->symbol);
        uint32_t text = find_section(b, sec);
        check_comdat(&out, sec, s->symbol);
        assert_true(b->sec[text].flags & RW_SEC_EXEC);
        assert_true(b->sec[text].size >= s->code.len);
        assert_memory_equal(b->sec[text].data, s->code.bytes, s->code.len);
        uint32_t fs = find_symbol(b, s->symbol);
        assert_true(b->sym[fs].flags & RW_SYM_FUNC);
        assert_int_equal(b->sym[fs].value, 0);
        if (!s->code.has_frame) {
            assert_int_equal(b->sec[text].size, s->code.len);
            continue;
        }
        /* the anchor: the last word, ADDR32NB against the .pdata leader */
        snprintf(sym, sizeof sym, "__callirw_pdata_%s", s->key);
        const struct rw_reloc *an = rw_reloc_at(b, text, b->sec[text].size - 4);
        assert_non_null(an);
        assert_int_equal(an->raw_type, PE_REL_AMD64_ADDR32NB);
        assert_string_equal(b->sym[an->symbol].name, sym);
        snprintf(sec, sizeof sec, ".xdata$callirw_%s", s->key);
        snprintf(sym, sizeof sym, "__callirw_xdata_%s", s->key);
        check_comdat(&out, sec, sym);
        uint32_t xdata = find_section(b, sec);
        uint8_t ui[600];
        size_t uilen;
        assert_int_equal(stub_win64_unwind_info(&s->code, ui, sizeof ui, &uilen), STUB_OK);
        assert_int_equal(b->sec[xdata].size, uilen);
        assert_memory_equal(b->sec[xdata].data, ui, uilen);
        snprintf(sec, sizeof sec, ".pdata$callirw_%s", s->key);
        snprintf(sym, sizeof sym, "__callirw_pdata_%s", s->key);
        check_comdat(&out, sec, sym);
        uint32_t pdata = find_section(b, sec);
        assert_int_equal(b->sec[pdata].size, 12);
        const uint64_t want[3] = {s->code.frame_start, s->code.len, 0};
        const uint32_t target[3] = {text, text, xdata};
        for (int k = 0; k < 3; k++) {
            const struct rw_reloc *pr = rw_reloc_at(b, pdata, 4 * (uint64_t)k);
            assert_non_null(pr);
            assert_int_equal(pr->raw_type, PE_REL_AMD64_ADDR32NB);
            assert_int_equal(b->sym[pr->symbol].section, target[k]);
            assert_int_equal(b->sym[pr->symbol].value, 0);
            assert_int_equal(pr->addend, (int64_t)want[k]);
        }
        /* the reader's function range from the new .pdata */
        const struct rw_func *f = rw_func_at(b, text, s->code.frame_start);
        assert_non_null(f);
        assert_int_equal(f->end, s->code.len);
    }

    /* the map */
    uint32_t ms = find_section(b, ".crwmap");
    assert_false(b->sec[ms].flags & RW_SEC_ALLOC);
    struct rw_map m;
    struct rw_diag d3;
    assert_int_equal(rw_map_decode(b->sec[ms].data, b->sec[ms].size, &m, &d3), RW_OK);
    assert_int_equal(m.nsites, r.scan.nok);
    assert_int_equal(m.nstubs, r.plan.nstubs);
    assert_true(m.flags & RW_MAP_F_OBJECT);
    rw_map_free(&m);

    /* deterministic */
    struct rewrite r2;
    do_rewrite(&in, &r2);
    assert_int_equal(r2.err, RW_OK);
    assert_int_equal(r2.out.len, r.out.len);
    assert_memory_equal(r2.out.data, r.out.data, r.out.len);
    free_rewrite(&r2);

    close_mem(&out);
    free_rewrite(&r);
    close_mem(&in);
    free(bytes);
}

static void test_gas(void **state)
{
    (void)state;
    check_rewrite("sites.o");
}

static void test_bigobj(void **state)
{
    (void)state;
    check_rewrite("sites-bigobj.o");
}

static void test_msvc(void **state)
{
    (void)state;
    check_rewrite("sites_msvc.obj");
}

static void test_dedup_object(void **state)
{
    (void)state;
    check_rewrite("obj_dedup_a.o");
}

/* A string table of 10 MiB: the new section names would land past what
 * "/digits" can say (and GNU ld reads no "//base64"), so the new names go
 * first and every old string moves after them: old symbols and the old
 * long section name keep their names. */
static void test_large_string_table(void **state)
{
    (void)state;
    size_t n;
    uint8_t *bytes = slurp("obj_dedup_a.o", &n);
    if (!bytes)
        skip();
    uint32_t symptr = pe_u32(bytes + 8), nsyms = pe_u32(bytes + 12);
    size_t strp = symptr + (size_t)nsyms * 18;
    assert_true(strp + 4 <= n);
    assert_int_equal(pe_u32(bytes + strp), n - strp); /* the string table ends the file */
    size_t grow = 10u << 20, big = n + grow;
    uint8_t *p = calloc(1, big);
    assert_non_null(p);
    memcpy(p, bytes, n);
    uint32_t sz = (uint32_t)(n - strp + grow);
    p[strp] = (uint8_t)sz;
    p[strp + 1] = (uint8_t)(sz >> 8);
    p[strp + 2] = (uint8_t)(sz >> 16);
    p[strp + 3] = (uint8_t)(sz >> 24);
    struct opened in, out;
    struct rewrite r;
    open_mem(&in, p, big);
    find_section(&in.img, ".rdata$callirw_test_a_rather_long_section_name");
    do_rewrite(&in, &r);
    assert_int_equal(r.err, RW_OK);
    open_mem(&out, r.out.data, r.out.len);
    assert_int_equal(out.err, RW_OK);
    for (uint32_t i = 0; i < in.img.nsec; i++)
        assert_string_equal(in.img.sec[i].name, out.img.sec[i].name);
    for (uint32_t i = 0; i < in.img.nsym; i++)
        assert_string_equal(in.img.sym[i].name, out.img.sym[i].name);
    const struct pe_state *st = pe_st(&out.img);
    for (uint32_t i = 0; i < out.img.nsec; i++) {
        const uint8_t *h = st->shdr + 40 * (size_t)i;
        assert_true(h[0] != '/' || (h[1] >= '0' && h[1] <= '9')); /* no "//" */
    }
    for (size_t i = 0; i < r.plan.nstubs; i++) {
        char sec[NAME_MAX_];
        snprintf(sec, sizeof sec, ".text$%s", r.plan.stubs[i].symbol);
        find_section(&out.img, sec);
        find_symbol(&out.img, r.plan.stubs[i].symbol);
    }
    close_mem(&out);
    free_rewrite(&r);
    close_mem(&in);
    free(p);
    free(bytes);
}

/* A section whose data pointer lies inside the headers: refused. */
static void test_pointer_in_headers(void **state)
{
    (void)state;
    size_t n;
    uint8_t *bytes = slurp("sites.o", &n);
    if (!bytes)
        skip();
    struct opened in;
    open_mem(&in, bytes, n);
    assert_int_equal(in.err, RW_OK);
    uint32_t x = find_section(&in.img, ".xdata");
    close_mem(&in);
    uint8_t *h = bytes + 20 + 40 * (size_t)x;
    h[20] = 4; /* PointerToRawData = 4 */
    h[21] = h[22] = h[23] = 0;
    struct rewrite r;
    open_mem(&in, bytes, n);
    do_rewrite(&in, &r);
    assert_int_equal(r.err, RW_E_CORRUPT);
    assert_non_null(strstr(r.d.msg, "inside the headers"));
    free_rewrite(&r);
    close_mem(&in);
    free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gas),
        cmocka_unit_test(test_bigobj),
        cmocka_unit_test(test_msvc),
        cmocka_unit_test(test_dedup_object),
        cmocka_unit_test(test_large_string_table),
        cmocka_unit_test(test_pointer_in_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
