/* test_a64_dec.c - the arm64 decoder (rewriter/a64_dec.c) against
 * aarch64-linux-gnu-objdump, through the committed reference table
 * tests/unit/a64_dec_table.txt (regenerate it with a64_dec_table.py; this
 * test never runs objdump). For every word of the table:
 *
 *  - the classes: whenever the decoder claims one of its classes, its
 *    objdump-syntax text is exactly objdump's; whenever objdump shows one
 *    of them (by mnemonic and operand shape), the decoder claims it;
 *  - control flow: objdump's branches, calls, returns, traps and supervisor
 *    calls are the decoder's; nothing objdump calls an ordinary
 *    instruction is a branch, a trap or undefined for the decoder;
 *  - registers: every register objdump's operands say the instruction
 *    writes is in the decoder's set (conservative everywhere), and the set
 *    is exactly objdump's wherever the decoder does not flag it as
 *    conservative.
 *
 * Plus hand-checked fields of a few encodings, and the table's coverage
 * (each class present many times).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <regex.h>

#include "a64_dec.h"

static const char *table_path(void)
{
    const char *p = getenv("A64_DEC_TABLE");
    return p ? p : "tests/unit/a64_dec_table.txt";
}

struct entry {
    uint64_t addr;
    uint32_t word;
    char flow;
    uint32_t writes;
    char text[96];
};

static struct entry *tab;
static size_t ntab;

static int load(void **state)
{
    (void)state;
    FILE *f = fopen(table_path(), "r");
    if (!f) {
        fprintf(stderr, "test_a64_dec: cannot open %s (run from the repository root, or set "
                        "A64_DEC_TABLE)\n", table_path());
        return -1;
    }
    size_t cap = 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        if (ntab == cap) {
            cap = cap ? 2 * cap : 4096;
            tab = realloc(tab, cap * sizeof *tab);
            if (!tab)
                return -1;
        }
        struct entry *e = &tab[ntab];
        unsigned long long a;
        unsigned w, wr;
        int pos = 0;
        if (sscanf(line, "%llx %x %c %x %n", &a, &w, &e->flow, &wr, &pos) != 4 || !pos) {
            fprintf(stderr, "test_a64_dec: bad line: %s", line);
            return -1;
        }
        e->addr = a;
        e->word = w;
        e->writes = wr;
        snprintf(e->text, sizeof e->text, "%s", line + pos);
        e->text[strcspn(e->text, "\n")] = 0;
        ntab++;
    }
    fclose(f);
    return ntab > 10000 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(tab);
    return 0;
}

static int is_class(unsigned op)
{
    return op >= A64_B && op <= A64_MOV_REG && op != A64_TRAP && op != A64_SVC && op != A64_HINT;
}

/* Does objdump's text show one of the decoder's classes? (by shape) */
static int text_is_class(const char *t)
{
    static regex_t re;
    static int init;
    if (!init) {
        const char *pat =
            "^(b|bl|b\\.[a-z]+|bc\\.[a-z]+|cbn?z|tbn?z|br|blr|ret|bra[ab]z?|blra[ab]z?|"
            "reta[ab]|eret|ereta[ab]|drps|movz|movn|movk) "
            "|^adrp? x([0-9]+|zr), 0x[0-9a-f]+$"
            "|^(ret|reta[ab]|eret|ereta[ab]|drps)$"
            "|^add (w|x)([0-9]+|sp|zr), (w|x)?([0-9]+|sp|wsp), #0x[0-9a-f]+(, lsl #12)?$"
            "|^mov (x|w)?([0-9]+|sp|wsp), (x|w)?(sp|wsp)$|^mov (sp|wsp), "
            "|^ldr (w|x)([0-9]+|zr), \\[(x[0-9]+|sp)(, #[0-9]+)?\\]$"
            "|^ldr (w|x)([0-9]+|zr), 0x[0-9a-f]+$"
            "|^mov (w|x)([0-9]+|zr), (w|x)([0-9]+|zr)$";
        assert_int_equal(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB), 0);
        init = 1;
    }
    return regexec(&re, t, 0, NULL, 0) == 0;
}

static int flow_ok(char flow, const struct a64_insn *in)
{
    switch (flow) {
    case 'J': return in->op == A64_B;
    case 'L': return in->op == A64_BL;
    case 'C': return in->op == A64_BCOND || in->op == A64_CBZ || in->op == A64_TBZ;
    case 'I': return in->op == A64_BR;
    case 'R': return in->op == A64_BLR;
    case 'E': return in->op == A64_RET || in->op == A64_ERET;
    case 'T': return in->op == A64_TRAP || (in->op == A64_UNDEF && !strcmp(in->mnem, "udf"));
    case 'S': return in->op == A64_SVC;
    case 'U': return 1; /* undefined: traps whatever we call it */
    default: /* an ordinary instruction */
        return !(in->flags & (A64_F_END | A64_F_CALL | A64_F_TARGET)) && in->op != A64_SVC;
    }
}

static void test_table(void **state)
{
    (void)state;
    size_t bad = 0, classes = 0, exact = 0, cons = 0, over = 0, unknown_branch = 0;
    size_t per_op[A64_MOV_REG + 1] = {0};
    for (size_t i = 0; i < ntab; i++) {
        const struct entry *e = &tab[i];
        struct a64_insn in;
        a64_decode(e->word, &in);
        per_op[in.op]++;
        char buf[128];
        const char *why = NULL;
        if (is_class(in.op)) {
            classes++;
            if (strcmp(a64_format(&in, e->addr, buf, sizeof buf), e->text))
                why = "class text differs";
        } else if (text_is_class(e->text) &&
                   !(in.op == A64_OTHER && !strncmp(e->text, "mov ", 4) && strchr(e->text, '#'))) {
            why = "objdump shows a class the decoder does not claim";
        }
        if (!why && !flow_ok(e->flow, &in))
            why = "control flow differs";
        if (!why && e->flow == '.' && in.op == A64_BRANCH_UNKNOWN)
            unknown_branch++;
        int falls = !(in.flags & A64_F_END);
        if (!why && e->flow != 'U' && falls) {
            if (e->writes & ~in.writes)
                why = "misses a register objdump says it writes";
            else if (!(in.flags & A64_F_CONSERVATIVE) && in.op != A64_SVC && in.writes != e->writes)
                why = "exact row writes more than objdump says";
            else if (in.writes == e->writes)
                exact++;
            else
                over++;
        }
        if (in.flags & A64_F_CONSERVATIVE)
            cons++;
        if (why) {
            if (bad++ < 40)
                print_message("%llx %08x (%s): %s: decoder '%s' op %u flags 0x%x writes %08x, "
                              "objdump flow %c writes %08x\n",
                              (unsigned long long)e->addr, e->word, e->text, why,
                              a64_format(&in, e->addr, buf, sizeof buf), in.op, in.flags,
                              in.writes, e->flow, e->writes);
        }
    }
    print_message("a64_dec: %zu words: %zu in the decoded classes, %zu with exactly objdump's "
                  "registers, %zu conservative (%zu writing more than objdump says), %zu "
                  "unknown branch-space words objdump calls ordinary; %zu failures\n",
                  ntab, classes, exact, cons, over, unknown_branch, bad);
    assert_int_equal(bad, 0);
    /* coverage: every class is in the table many times */
    for (unsigned op = A64_B; op <= A64_MOV_REG; op++)
        if (per_op[op] < (op == A64_ERET ? 4u : 20u))
            fail_msg("class %u appears only %zu times in the table", op, per_op[op]);
}

static void dec(uint32_t w, struct a64_insn *in)
{
    a64_decode(w, in);
}

/* A few encodings checked field by field (the sequences the scanner reads). */
static void test_fields(void **state)
{
    (void)state;
    struct a64_insn in;
    char b[128];
    dec(0x97ffffff, &in); /* bl .-4 */
    assert_int_equal(in.op, A64_BL);
    assert_int_equal(in.imm, -4);
    assert_true(in.flags & A64_F_CALL);
    assert_true(a64_writes(&in, 30));
    dec(0x90000010 | 0x3 << 29 | 0x1 << 5, &in); /* adrp x16, +7 pages */
    assert_int_equal(in.op, A64_ADRP);
    assert_int_equal(in.rd, 16);
    assert_int_equal(in.imm, 7 * 4096);
    assert_int_equal(a64_target(&in, 0x400123), 0x407000);
    dec(0xf9400611, &in); /* ldr x17, [x16, #8] */
    assert_int_equal(in.op, A64_LDR_UIMM);
    assert_int_equal(in.rd, 17);
    assert_int_equal(in.rn, 16);
    assert_int_equal(in.sf, 1);
    assert_int_equal(in.imm, 8);
    assert_int_equal(in.writes, 1u << 17);
    dec(0x910043ef, &in); /* add x15, x31?, ...: add x15, sp, #0x10 */
    assert_int_equal(in.op, A64_ADD_IMM);
    assert_int_equal(in.rd, 15);
    assert_int_equal(in.rn, 31);
    assert_int_equal(in.imm, 0x10);
    assert_string_equal(a64_format(&in, 0, b, sizeof b), "add x15, sp, #0x10");
    dec(0x5800004f, &in); /* ldr x15, .+8 */
    assert_int_equal(in.op, A64_LDR_LIT);
    assert_int_equal(in.imm, 8);
    assert_int_equal(in.writes, 1u << 15);
    dec(0xd63f0200, &in); /* blr x16 */
    assert_int_equal(in.op, A64_BLR);
    assert_int_equal(in.rn, 16);
    dec(0xd61f0220, &in); /* br x17 */
    assert_int_equal(in.op, A64_BR);
    assert_true(in.flags & A64_F_END);
    dec(0xd503219f, &in); /* autia1716 */
    assert_int_equal(in.op, A64_HINT);
    assert_int_equal(in.writes, 1u << 17);
    assert_string_equal(in.mnem, "autia1716");
    dec(0xd503245f, &in); /* bti c */
    assert_true(in.flags & A64_F_BTI);
    assert_int_equal(in.writes, 0);
    dec(0xfa4f1804, &in); /* ccmp x0, #15, #4, ne: no register written */
    assert_int_equal(in.writes, 0);
    dec(0xf81f0fef, &in); /* str x15, [sp, #-16]!: writes only sp */
    assert_int_equal(in.writes, 0);
    dec(0xa9403fee, &in); /* ldp x14, x15, [sp] */
    assert_int_equal(in.writes, 3u << 14);
    dec(0xd53be04f, &in); /* mrs x15, cntvct_el0 */
    assert_int_equal(in.writes, 1u << 15);
    dec(0x00000000, &in); /* udf #0 */
    assert_int_equal(in.op, A64_UNDEF);
    assert_true(in.flags & A64_F_END);
}

/* Every word decodes without touching anything else, and the SVC/hint
 * rows are consistent, over a pseudo-random sweep of 2^22 words. */
static void test_sweep(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < (1u << 22); i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        struct a64_insn in;
        char b[128];
        a64_decode((uint32_t)x, &in);
        a64_format(&in, x, b, sizeof b);
        assert_true(in.writes < (1u << 31));
        assert_true(in.mnem != NULL);
        if (in.flags & A64_F_TARGET)
            assert_true(in.imm % 4 == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, load, teardown);
}
