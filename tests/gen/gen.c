/* callirw-gen - the call-site generator ("producer") for the unmanaged-calli
 * ABI v1 (spec: calli-abi.md sections 1-4; docs/generator.md).
 *
 *   callirw-gen --target T --seed N [--mode M|mixed] [--helper NAME] -o DIR
 *
 * writes into DIR a complete, self-checking test program, determined only by
 * (target, mode, seed):
 *   sites.S       the call sites (assembly, spec section 1), cookies (section 2),
 *                 managed strings (section 3)
 *   prog.c        native targets, main, output helpers, the embedded expectation
 *   expected.txt  the exact expected stdout
 *   build.sh      how to compile and link it for the target and mode
 *   meta.txt      key=value facts (target, mode, seed, binary, compiler, ...)
 *   sites.txt     manifest: one line per cookie and per site (forms used,
 *                 signature bytes), plus the relocations expected against the
 *                 helper symbol
 *
 * The generator is an independent implementation of the marshaling rules: it
 * shares no code with runtime/ or sig/ on purpose (differential testing).
 * Own PRNG (splitmix64); never rand().
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define MAXP 20       /* parameters per top-level signature */
#define MAXSITES 12   /* call sites per program */
#define MAXCOOKIES MAXSITES
#define MAXSTRS (MAXSITES * MAXP)
#define MAXSTRLEN 40  /* UTF-16 code units */
#define BLOBCAP 8192

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("callirw-gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* ------------------------------------------------------------------ PRNG */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint32_t rn(uint32_t n) { return n ? (uint32_t)(rnd64() % n) : 0; }
static int pct(unsigned p) { return rn(100) < p; }
#define PICK(arr) ((arr)[rn((uint32_t)(sizeof(arr) / sizeof((arr)[0])))])

/* -------------------------------------------------------- string builder */

struct sb {
    char *p;
    size_t n, cap;
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->n + n + 1 > cap) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) die("out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sbf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sbf(struct sb *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) die("format error");
    if ((size_t)n < sizeof tmp) {
        sb_putn(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) die("out of memory");
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)n);
    free(big);
}

static void sb_hex(struct sb *b, uint64_t v, int digits)
{
    char t[17];
    for (int i = 0; i < digits; i++) t[i] = "0123456789abcdef"[(v >> (4 * (digits - 1 - i))) & 15];
    sb_putn(b, t, (size_t)digits);
}

/* --------------------------------------------------------------- targets */

enum arch { X64, A64 };
enum fmt { ELF, COFF, MACHO };
enum abi { SYSV, WIN64, AAPCS, APPLE };

struct target {
    const char *name;
    enum arch arch;
    enum fmt fmt;
    enum abi abi;
    const char *modes[6];
};

static const struct target targets[] = {
    {"x86_64-linux", X64, ELF, SYSV, {"nopie", "pie", "shared-rt", "shared-sites", NULL}},
    {"x86_64-windows", X64, COFF, WIN64, {"exe", "exe-lowbase", "dll-sites", "dll-rt", NULL}},
    {"aarch64-linux", A64, ELF, AAPCS, {"nopie", "pie", "shared-rt", "shared-sites", NULL}},
    {"x86_64-macos", X64, MACHO, SYSV, {"obj", "exe", "dylib-sites", "dylib-rt", "all", NULL}},
    {"arm64-macos", A64, MACHO, APPLE, {"obj", "exe", "dylib-sites", "dylib-rt", "all", NULL}},
};
#define NTARGETS (sizeof targets / sizeof targets[0])

static const struct target *T;
static const char *mode;
static uint64_t seed;
static const char *helper = "GenericPInvokeCalliHelper";
static const char *P = "";  /* symbol prefix: "_" on Mach-O */

/* What the mode allows. */
static int m_abs32;   /* 32-bit absolute addresses (non-PIE, image below 4 GiB) */
static int m_abs64;   /* 64-bit absolute addresses in code (non-PIE or PE with base relocs) */
static int m_got;     /* GOT forms */
static int m_plt;     /* @PLT */
static int m_slot;    /* PE: load from a read-only pointer slot */
static int m_lit;     /* arm64: ldr x15, literal */
static int m_adr;     /* arm64: adr x12, target */
static int bti;       /* arm64 ELF: built with -mbranch-protection=standard, marked BTI */
static int m_imp;     /* PE dll-rt: the helper imported (call [rip+__imp_H], call H via the import thunk) */
static int clang_lld; /* PE: built with clang + lld (MinGW driver) instead of mingw gcc + GNU ld */

/* ----------------------------------------------------------------- types */

enum {
    T_VOID = 0x01, T_BOOL = 0x02, T_CHAR = 0x03, T_I1 = 0x04, T_U1 = 0x05,
    T_I2 = 0x06, T_U2 = 0x07, T_I4 = 0x08, T_U4 = 0x09, T_I8 = 0x0A, T_U8 = 0x0B,
    T_R4 = 0x0C, T_R8 = 0x0D, T_STR = 0x0E, T_PTR = 0x0F, T_VALUETYPE = 0x11,
    T_I = 0x18, T_U = 0x19, T_FNPTR = 0x1B,
};

static const uint8_t scalar_types[] = {T_BOOL, T_CHAR, T_I1, T_U1, T_I2, T_U2, T_I4,
                                       T_U4, T_I8, T_U8, T_R4, T_R8, T_I, T_U};
static const uint8_t int_types[] = {T_BOOL, T_CHAR, T_I1, T_U1, T_I2, T_U2,
                                    T_I4, T_U4, T_I8, T_U8, T_I, T_U};
static const uint8_t callconvs[] = {0x01, 0x02, 0x03, 0x04, 0x09};

static const char *tok(int t)
{
    switch (t) {
    case T_VOID: return "void";
    case T_BOOL: return "b";
    case T_CHAR: return "ch";
    case T_I1: return "i1";
    case T_U1: return "u1";
    case T_I2: return "i2";
    case T_U2: return "u2";
    case T_I4: return "i4";
    case T_U4: return "u4";
    case T_I8: return "i8";
    case T_U8: return "u8";
    case T_R4: return "r4";
    case T_R8: return "r8";
    case T_STR: return "str";
    case T_PTR: return "ptr";
    case T_I: return "i";
    case T_U: return "u";
    case T_FNPTR: return "fnptr";
    }
    die("tok: type 0x%x", t);
}

static int is_fp(int t) { return t == T_R4 || t == T_R8; }
static int is_w32(int t) { return t >= T_BOOL && t <= T_U4; }
static int small_width(int t) /* bits of the managed value of a 32-bit class type */
{
    switch (t) {
    case T_BOOL: case T_I1: case T_U1: return 8;
    case T_CHAR: case T_I2: case T_U2: return 16;
    default: return 32;
    }
}
/* Bytes on the managed side (Apple arm64 packs stack arguments by this). */
static unsigned managed_size(int t)
{
    switch (t) {
    case T_BOOL: case T_I1: case T_U1: return 1;
    case T_CHAR: case T_I2: case T_U2: return 2;
    case T_I4: case T_U4: case T_R4: return 4;
    default: return 8;
    }
}

/* What the native target receives, from the managed register/slot value. */
static uint64_t native_of(int t, uint64_t raw)
{
    switch (t) {
    case T_BOOL: return (raw & 0xFF) != 0;
    case T_CHAR: case T_U2: return raw & 0xFFFF;
    case T_U1: return raw & 0xFF;
    case T_I1: return (uint32_t)(int32_t)(int8_t)(uint8_t)(raw & 0xFF);
    case T_I2: return (uint32_t)(int32_t)(int16_t)(uint16_t)(raw & 0xFFFF);
    case T_I4: case T_U4: case T_R4: return raw & 0xFFFFFFFFu;
    default: return raw;
    }
}

/* ------------------------------------------------------------ signatures */

struct sig {
    uint8_t cc;
    uint8_t ret;
    int np;
    uint8_t p[MAXP];
    uint8_t blob[BLOBCAP];
    int blen;
};

static void put(struct sig *s, unsigned b)
{
    if (s->blen >= BLOBCAP) die("signature blob overflow");
    s->blob[s->blen++] = (uint8_t)b;
}

/* ECMA-335 II.23.2 compressed unsigned integer. */
static void put_comp(struct sig *s, uint32_t v)
{
    if (v < 0x80) {
        put(s, v);
    } else if (v < 0x4000) {
        put(s, 0x80 | (v >> 8));
        put(s, v & 0xFF);
    } else if (v < 0x20000000) {
        put(s, 0xC0 | (v >> 24));
        put(s, (v >> 16) & 0xFF);
        put(s, (v >> 8) & 0xFF);
        put(s, v & 0xFF);
    } else {
        die("compressed integer too large");
    }
}

static void put_nested_sig(struct sig *s, int depth);

/* Write the rest of a type whose code was just written. */
static void put_type_tail(struct sig *s, int t, int depth)
{
    if (t == T_PTR) {
        switch (rn(depth < 3 ? 5 : 3)) {
        case 0: put(s, T_VOID); break;
        case 1: put(s, PICK(scalar_types)); break;
        case 2: { /* VALUETYPE TypeDefOrRefOrSpecEncoded: (rid << 2) | tag */
            uint32_t rid;
            switch (rn(3)) {
            case 0: rid = 1 + rn(31); break;          /* 1-byte encoding */
            case 1: rid = 32 + rn(0x1000 - 32); break; /* 2-byte */
            default: rid = 0x1000 + rn(0x7FFFFFF - 0x1000); break; /* 4-byte */
            }
            put(s, T_VALUETYPE);
            put_comp(s, (rid << 2) | rn(3));
            break;
        }
        default:
            put(s, T_PTR);
            put_type_tail(s, T_PTR, depth + 1);
            break;
        }
    } else if (t == T_FNPTR) {
        put_nested_sig(s, depth + 1);
    }
}

/* A random valid v1 method signature, nested in FNPTR. */
static void put_nested_sig(struct sig *s, int depth)
{
    int np = (int)rn(4);
    put(s, PICK(callconvs));
    put_comp(s, (uint32_t)np);
    int r;
    switch (rn(5)) {
    case 0: r = T_VOID; break;
    case 1: r = T_PTR; break;
    case 2: r = depth < 3 ? T_FNPTR : T_I4; break;
    default: r = PICK(scalar_types); break;
    }
    put(s, (unsigned)r);
    put_type_tail(s, r, depth);
    for (int i = 0; i < np; i++) {
        int t;
        switch (rn(6)) {
        case 0: t = T_STR; break;
        case 1: t = T_PTR; break;
        case 2: t = depth < 3 ? T_FNPTR : T_U8; break;
        default: t = PICK(scalar_types); break;
        }
        put(s, (unsigned)t);
        put_type_tail(s, t, depth);
    }
}

static int pick_param_type(void)
{
    uint32_t r = rn(100);
    if (r < 45) return PICK(int_types);
    if (r < 75) return rn(2) ? T_R4 : T_R8;
    if (r < 85) return T_STR;
    if (r < 93) return T_PTR;
    return T_FNPTR;
}

static int pick_ret_type(void)
{
    static const uint8_t small[] = {T_I1, T_U1, T_I2, T_U2};
    static const uint8_t big[] = {T_I8, T_U8, T_I, T_U};
    uint32_t r = rn(100);
    if (r < 12) return T_VOID;
    if (r < 24) return T_BOOL;
    if (r < 32) return T_CHAR;
    if (r < 52) return PICK(small);
    if (r < 62) return rn(2) ? T_I4 : T_U4;
    if (r < 74) return PICK(big);
    if (r < 82) return T_R4;
    if (r < 90) return T_R8;
    return rn(2) ? T_PTR : T_FNPTR;
}

static void make_sig(struct sig *s)
{
    memset(s, 0, sizeof *s);
    s->cc = PICK(callconvs);
    s->np = pct(30) ? (int)rn(5) : (int)rn(MAXP + 1);
    s->ret = (uint8_t)pick_ret_type();
    for (int i = 0; i < s->np; i++) s->p[i] = (uint8_t)pick_param_type();
    put(s, s->cc);
    put_comp(s, (uint32_t)s->np);
    put(s, s->ret);
    put_type_tail(s, s->ret, 0);
    for (int i = 0; i < s->np; i++) {
        put(s, s->p[i]);
        put_type_tail(s, s->p[i], 0);
    }
}

static int sig_has_string(const struct sig *s)
{
    for (int i = 0; i < s->np; i++)
        if (s->p[i] == T_STR) return 1;
    return 0;
}

/* --------------------------------------------------------- managed strings */

struct mstr {
    int len;
    uint16_t u[MAXSTRLEN + 1];
    uint64_t header;
    uint8_t utf8[4 * MAXSTRLEN];
    int n8;
};
static struct mstr strs[MAXSTRS];
static int nstrs;

static void utf8_put(struct mstr *m, uint32_t cp)
{
    if (cp < 0x80) {
        m->utf8[m->n8++] = (uint8_t)cp;
    } else if (cp < 0x800) {
        m->utf8[m->n8++] = (uint8_t)(0xC0 | (cp >> 6));
        m->utf8[m->n8++] = (uint8_t)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        m->utf8[m->n8++] = (uint8_t)(0xE0 | (cp >> 12));
        m->utf8[m->n8++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        m->utf8[m->n8++] = (uint8_t)(0x80 | (cp & 0x3F));
    } else {
        m->utf8[m->n8++] = (uint8_t)(0xF0 | (cp >> 18));
        m->utf8[m->n8++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        m->utf8[m->n8++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        m->utf8[m->n8++] = (uint8_t)(0x80 | (cp & 0x3F));
    }
}

/* UTF-16 -> UTF-8, unpaired surrogates -> U+FFFD (spec section 3). */
static void to_utf8(struct mstr *m)
{
    m->n8 = 0;
    for (int i = 0; i < m->len; i++) {
        uint32_t c = m->u[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < m->len && m->u[i + 1] >= 0xDC00 &&
            m->u[i + 1] <= 0xDFFF) {
            utf8_put(m, 0x10000 + ((c - 0xD800) << 10) + (m->u[i + 1] - 0xDC00u));
            i++;
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            utf8_put(m, 0xFFFD);
        } else {
            utf8_put(m, c);
        }
    }
}

static void push_unit(struct mstr *m, uint32_t u)
{
    if (m->len < MAXSTRLEN) m->u[m->len++] = (uint16_t)u;
}

static int make_string(void)
{
    if (nstrs >= MAXSTRS) die("too many strings");
    struct mstr *m = &strs[nstrs];
    memset(m, 0, sizeof *m);
    m->header = pct(30) ? 0 : rnd64();
    if (!pct(8)) {
        int kind = (int)rn(4); /* 0 ASCII only, else mixed */
        int n = 1 + (int)rn(kind == 0 ? 24 : 16);
        for (int i = 0; i < n; i++) {
            uint32_t r = kind == 0 ? 0 : rn(100);
            if (r < 50) {
                push_unit(m, 0x20 + rn(0x5F));
            } else if (r < 60) {
                static const uint16_t bmp[] = {0x00E9, 0x00FC, 0x03A9, 0x0416, 0x05D0,
                                               0x20AC, 0x4E2D, 0x6587, 0xFFFD, 0xFFFE,
                                               0xFFFF, 0xE000, 0x0080, 0x07FF, 0x0800, 0xD7FF};
                push_unit(m, PICK(bmp));
            } else if (r < 70) {
                push_unit(m, 0x80 + rn(0xD800 - 0x80));
            } else if (r < 85) { /* supplementary: surrogate pair */
                uint32_t cp = 0x10000 + rn(0x100000);
                if (pct(30)) cp = PICK(((const uint32_t[]){0x1F600, 0x10000, 0x10FFFF, 0x1D11E}));
                push_unit(m, 0xD800 + ((cp - 0x10000) >> 10));
                push_unit(m, 0xDC00 + ((cp - 0x10000) & 0x3FF));
            } else if (r < 93) { /* unpaired high surrogate */
                push_unit(m, 0xD800 + rn(0x400));
                if (i + 1 < n) push_unit(m, 0x41 + rn(26));
            } else { /* unpaired low surrogate */
                push_unit(m, 0xDC00 + rn(0x400));
            }
        }
        if (kind != 0 && pct(15)) push_unit(m, 0xD800 + rn(0x400)); /* high at the end */
        else if (kind != 0 && pct(8)) push_unit(m, 0xDC00 + rn(0x400));
    }
    to_utf8(m);
    return nstrs++;
}

/* --------------------------------------------------------- argument values */

static uint64_t garbage(void)
{
    switch (rn(5)) {
    case 0: return 0;
    case 1: return ~0ull;
    default: return rnd64();
    }
}

static uint32_t nice_f32(void)
{
    uint32_t sign = rn(2), e = 127 - 10 + rn(31), mant = rn(1u << 23);
    return sign << 31 | e << 23 | mant;
}
static uint64_t nice_f64(void)
{
    uint64_t sign = rn(2), e = 1023 - 20 + rn(61), mant = rnd64() & ((1ull << 52) - 1);
    return sign << 63 | e << 52 | mant;
}

/* Managed value (with garbage where the ABI leaves bits undefined). *nice is
 * set for finite floats of moderate magnitude, which the targets use in
 * arithmetic. */
static uint64_t make_raw(int t, int *nice)
{
    *nice = 0;
    uint64_t g = garbage();
    switch (t) {
    case T_BOOL: {
        static const uint8_t v[] = {0x00, 0x01, 0x80, 0xFE, 0xFF, 0x02, 0x40, 0x10};
        uint64_t low = pct(85) ? PICK(v) : rn(256);
        return (g & ~0xFFull) | low;
    }
    case T_CHAR: case T_U2: case T_I2: {
        static const uint16_t v[] = {0x0041, 0xFFFF, 0x8000, 0x7FFF, 0xD800, 0xDFFF, 0x00E9, 0x4E2D, 0x0000};
        uint64_t low = pct(40) ? PICK(v) : rn(0x10000);
        return (g & ~0xFFFFull) | low;
    }
    case T_I1: case T_U1: {
        static const uint8_t v[] = {0x00, 0x7F, 0x80, 0xFF, 0x01};
        uint64_t low = pct(40) ? PICK(v) : rn(256);
        return (g & ~0xFFull) | low;
    }
    case T_I4: case T_U4: {
        static const uint32_t v[] = {0, 0x80000000u, 0xFFFFFFFFu, 0x7FFFFFFFu, 1};
        uint64_t low = pct(30) ? PICK(v) : (uint32_t)rnd64();
        return (g & ~0xFFFFFFFFull) | low;
    }
    case T_R4: {
        static const uint32_t sp[] = {0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u,
                                      0x7FC00000u, 0xFFC00001u, 0x7FA00001u, 0x00000001u,
                                      0x807FFFFFu, 0x7F7FFFFFu};
        uint32_t bits;
        if (pct(80)) {
            bits = nice_f32();
            *nice = 1;
        } else {
            bits = PICK(sp);
        }
        return (g & ~0xFFFFFFFFull) | bits;
    }
    case T_R8: {
        static const uint64_t sp[] = {0, 0x8000000000000000ull, 0x7FF0000000000000ull,
                                      0xFFF0000000000000ull, 0x7FF8000000000000ull,
                                      0x7FF4000000000001ull, 0x0000000000000001ull,
                                      0x7FEFFFFFFFFFFFFFull, 0x800FFFFFFFFFFFFFull};
        if (pct(80)) {
            *nice = 1;
            return nice_f64();
        }
        return PICK(sp);
    }
    default: { /* I8 U8 I U PTR FNPTR */
        static const uint64_t v[] = {0, ~0ull, 0x8000000000000000ull, 0x7FFFFFFFFFFFFFFFull, 1,
                                     0x00007FFDDEADBEE0ull};
        return pct(25) ? PICK(v) : rnd64();
    }
    }
}

/* ------------------------------------------------------------ the program */

enum cform { CF_LEA, CF_IMM32Z, CF_IMM32S, CF_MOVABS, CF_GOT, CF_SLOT, CF_ADRP_ADD, CF_ADRP_GOT, CF_LIT };
enum hform { HF_DIRECT, HF_PLT, HF_GOT, HF_JMP, HF_JMPGOT, HF_BL, HF_BLRGOT, HF_B, HF_BRGOT, HF_IMP, HF_JMPIMP };
enum tform { TF_LEA, TF_IMM32, TF_MOVABS, TF_GOT, TF_ADRP_ADD, TF_ADR, TF_AGOT };

static const char *cform_name[] = {"lea", "imm32", "imm32s", "movabs", "got", "slot", "adrp-add", "adrp-got", "literal"};
static const char *hform_name[] = {"call", "call-plt", "call-got", "jmp", "jmp-got", "bl", "blr-got", "b", "br-got",
                                    "call-imp", "jmp-imp"};
static const char *tform_name[] = {"lea", "imm32", "movabs", "got", "adrp-add", "adr", "adrp-got"};

struct cookie {
    struct sig s;
    int sgc;    /* SUPPRESS_GC_TRANSITION */
    int rt;     /* runtime = &calli_refrt_default (else 0) */
    int slot;   /* a pointer slot is emitted (PE) */
};

struct site {
    int ck;
    uint64_t raw[MAXP];
    int nice[MAXP];
    int fop[MAXP];  /* float arithmetic for the return: 0 none, 1 add, 2 sub */
    int str[MAXP];  /* string index, -1 null */
    int cf, hf, tf, tail;
    int wide;       /* target declared returning uint64_t (garbage above 32 bits) */
    uint64_t garb;  /* garbage above the return type's width */
    uint64_t bz, bnz; /* BOOL return patterns */
    uint64_t h0;
    uint64_t can[18][2]; /* canaries: [k][0] low 64, [k][1] high 64 (Win64 xmm) */
    int optlevel;
};

static struct cookie cookies[MAXCOOKIES];
static int ncookies;
static struct site sites[MAXSITES];
static int nsites;

/* Managed argument locations. */
enum { L_GPR, L_FPR, L_STK };
struct loc {
    int kind, reg, off, size;
};

static int layout(const struct sig *s, struct loc *L)
{
    int g = 0, f = 0, off = 0;
    for (int i = 0; i < s->np; i++) {
        int fp = is_fp(s->p[i]);
        L[i].size = 8;
        switch (T->abi) {
        case WIN64:
            if (i < 4) {
                L[i].kind = fp ? L_FPR : L_GPR;
                L[i].reg = i;
            } else {
                L[i].kind = L_STK;
                L[i].off = 8 * (i - 4);
                off = L[i].off + 8;
            }
            break;
        case SYSV:
        case AAPCS:
        case APPLE: {
            int ng = T->abi == SYSV ? 6 : 8;
            if (fp && f < 8) {
                L[i].kind = L_FPR;
                L[i].reg = f++;
            } else if (!fp && g < ng) {
                L[i].kind = L_GPR;
                L[i].reg = g++;
            } else if (T->abi == APPLE) {
                int sz = (int)managed_size(s->p[i]);
                off = (off + sz - 1) & ~(sz - 1);
                L[i].kind = L_STK;
                L[i].off = off;
                L[i].size = sz;
                off += sz;
            } else {
                L[i].kind = L_STK;
                L[i].off = off;
                off += 8;
            }
            break;
        }
        }
    }
    return off;
}

static int canary_count(void)
{
    switch (T->abi) {
    case SYSV: return 6;          /* rbx rbp r12-r15 */
    case WIN64: return 8 + 10;    /* rbx rbp rdi rsi r12-r15, xmm6-15 */
    default: return 10 + 8;       /* x19-x28, d8-d15 */
    }
}

static const char *const sysv_canary_regs[] = {"rbx", "rbp", "r12", "r13", "r14", "r15"};
static const char *const win_canary_regs[] = {"rbx", "rbp", "rdi", "rsi", "r12", "r13", "r14", "r15"};

/* ----------------------------------------------------------- the hashing
 * Mirrored exactly in prog.c (gen_mix / gen_mixs). */

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x9E3779B97F4A7C15ull;
    h ^= h >> 31;
    return h;
}

static uint64_t mixs(uint64_t h, int si)
{
    if (si < 0) return mix(h, 0x4E554C4Cu);
    const struct mstr *m = &strs[si];
    for (int i = 0; i < m->n8; i++) h = mix(h, m->utf8[i]);
    return mix(h, 0x53545200u + (uint32_t)m->n8);
}

static float f32_of(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}
static double f64_of(uint64_t b)
{
    double d;
    memcpy(&d, &b, 8);
    return d;
}
static uint32_t bits32(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}
static uint64_t bits64(double d)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}

/* The target's hash over what it received. */
static uint64_t site_hash(const struct site *S)
{
    const struct sig *g = &cookies[S->ck].s;
    uint64_t h = S->h0;
    for (int i = 0; i < g->np; i++) {
        int t = g->p[i];
        if (t == T_STR) h = mixs(h, S->str[i]);
        else h = mix(h, native_of(t, S->raw[i]));
    }
    return h;
}

/* The value main prints for the site (after the helper's marshaling). */
static uint64_t site_result(const struct site *S)
{
    const struct sig *g = &cookies[S->ck].s;
    uint64_t h = site_hash(S);
    int w = small_width(g->ret);
    uint64_t mask = w == 32 ? 0xFFFFFFFFull : (1ull << w) - 1;
    switch (g->ret) {
    case T_VOID: return 0;
    case T_BOOL: return (h & 1) ? 1 : 0;
    case T_CHAR: case T_U1: case T_U2: case T_I4: case T_U4: return h & mask;
    case T_I1: return (uint32_t)(int32_t)(int8_t)(uint8_t)(h & mask);
    case T_I2: return (uint32_t)(int32_t)(int16_t)(uint16_t)(h & mask);
    case T_R4: {
        float r = (float)(int32_t)(h & 0xFFFFF) * 0.125f;
        for (int i = 0; i < g->np; i++) {
            if (!S->fop[i]) continue;
            float a = g->p[i] == T_R4 ? f32_of((uint32_t)S->raw[i]) : (float)f64_of(S->raw[i]);
            r = S->fop[i] == 1 ? r + a : r - a;
        }
        return bits32(r);
    }
    case T_R8: {
        double r = (double)(int32_t)(h & 0xFFFFF) * 0.125;
        for (int i = 0; i < g->np; i++) {
            if (!S->fop[i]) continue;
            double a = g->p[i] == T_R4 ? (double)f32_of((uint32_t)S->raw[i]) : f64_of(S->raw[i]);
            r = S->fop[i] == 1 ? r + a : r - a;
        }
        return bits64(r);
    }
    default: return h;
    }
}

/* --------------------------------------------------------- generation */

static int pick_cform(void)
{
    int c[8], n = 0;
    if (T->arch == X64) {
        c[n++] = CF_LEA;
        c[n++] = CF_LEA;
        if (m_abs32) { c[n++] = CF_IMM32Z; c[n++] = CF_IMM32S; }
        if (m_abs64) c[n++] = CF_MOVABS;
        if (m_got) c[n++] = CF_GOT;
        if (m_slot) c[n++] = CF_SLOT;
    } else {
        c[n++] = CF_ADRP_ADD;
        c[n++] = CF_ADRP_ADD;
        if (m_got) c[n++] = CF_ADRP_GOT;
        if (m_lit) c[n++] = CF_LIT;
    }
    return c[rn((uint32_t)n)];
}

static int pick_tform(void)
{
    int c[8], n = 0;
    if (T->arch == X64) {
        c[n++] = TF_LEA;
        if (m_abs32) c[n++] = TF_IMM32;
        if (m_abs64) c[n++] = TF_MOVABS;
        if (m_got) c[n++] = TF_GOT;
    } else {
        c[n++] = TF_ADRP_ADD;
        if (m_adr) c[n++] = TF_ADR;
        if (m_got) c[n++] = TF_AGOT;
    }
    return c[rn((uint32_t)n)];
}

static int pick_hform(int tail)
{
    int c[8], n = 0;
    if (T->arch == X64) {
        if (tail) {
            c[n++] = HF_JMP;
            if (m_got) c[n++] = HF_JMPGOT;
            if (m_imp) c[n++] = HF_JMPIMP;
        } else {
            c[n++] = HF_DIRECT;
            if (m_plt) c[n++] = HF_PLT;
            if (m_got) c[n++] = HF_GOT;
            if (m_imp) c[n++] = HF_IMP;
        }
    } else {
        if (tail) {
            c[n++] = HF_B;
            if (m_got) c[n++] = HF_BRGOT;
        } else {
            c[n++] = HF_BL;
            if (m_got) c[n++] = HF_BLRGOT;
        }
    }
    return c[rn((uint32_t)n)];
}

static void new_cookie(void)
{
    struct cookie *C = &cookies[ncookies];
    if (ncookies > 0 && pct(20)) {
        *C = cookies[rn((uint32_t)ncookies)]; /* an equal signature in another cookie */
        C->slot = 0;
    } else {
        make_sig(&C->s);
    }
    C->sgc = pct(35);
    C->rt = sig_has_string(&C->s) ? 1 : !pct(20);
    ncookies++;
}

static void make_site(int si)
{
    struct site *S = &sites[si];
    memset(S, 0, sizeof *S);
    if (ncookies > 0 && pct(30)) {
        S->ck = (int)rn((uint32_t)ncookies);
    } else {
        new_cookie();
        S->ck = ncookies - 1;
    }
    const struct sig *g = &cookies[S->ck].s;
    for (int i = 0; i < g->np; i++) {
        int t = g->p[i];
        S->str[i] = -1;
        if (t == T_STR) {
            if (pct(15)) S->str[i] = -1;
            else if (nstrs > 0 && pct(20)) S->str[i] = (int)rn((uint32_t)nstrs);
            else S->str[i] = make_string();
        } else {
            S->raw[i] = make_raw(t, &S->nice[i]);
            if (S->nice[i] && pct(85)) S->fop[i] = 1 + (int)rn(2);
        }
    }
    struct loc L[MAXP];
    int stk = layout(g, L);
    S->tail = stk == 0 && pct(35);
    S->cf = pick_cform();
    S->tf = pick_tform();
    S->hf = pick_hform(S->tail);
    if (S->cf == CF_SLOT) cookies[S->ck].slot = 1;
    S->h0 = rnd64();
    S->wide = T->abi != APPLE && pct(30);
    int w = small_width(g->ret);
    uint64_t mask = w == 32 ? 0xFFFFFFFFull : (1ull << w) - 1;
    S->garb = rnd64() & ~mask;
    if (!S->wide) S->garb &= 0xFFFFFFFFull;
    if (T->abi == APPLE) S->garb = 0;
    {
        static const uint32_t nz[] = {1, 0x100, 0x80000000u, 0xFFFFFFFFu, 2, 0x10000, 0x01000000};
        S->bnz = PICK(nz);
        S->bz = 0;
        if (S->wide) {
            S->bnz |= rnd64() & 0xFFFFFFFF00000000ull;
            S->bz = rnd64() & 0xFFFFFFFF00000000ull; /* zero as a 32-bit BOOL */
        }
    }
    for (int k = 0; k < canary_count(); k++) {
        S->can[k][0] = rnd64() | 1;
        S->can[k][1] = rnd64() | 1;
    }
    S->optlevel = (int)rn(3);
}

/* ------------------------------------------------------ assembly output */

static struct sb A; /* sites.S */

static const char *x64_gpr(int i)
{
    static const char *const sysv[] = {"rdi", "rsi", "rdx", "rcx", "r8", "r9"};
    static const char *const win[] = {"rcx", "rdx", "r8", "r9"};
    return T->abi == WIN64 ? win[i] : sysv[i];
}

static void x64_cookie_op(const struct site *S, int si)
{
    int k = S->ck;
    switch (S->cf) {
    case CF_LEA: sbf(&A, "\tleaq %sgen_cookie_%d(%%rip), %%r11\n", P, k); break;
    case CF_IMM32Z: sbf(&A, "\tmovl $%sgen_cookie_%d, %%r11d\n", P, k); break;
    case CF_IMM32S: sbf(&A, "\tmovq $%sgen_cookie_%d, %%r11\n", P, k); break;
    case CF_MOVABS: sbf(&A, "\tmovabsq $%sgen_cookie_%d, %%r11\n", P, k); break;
    case CF_GOT: sbf(&A, "\tmovq %sgen_cookie_%d@GOTPCREL(%%rip), %%r11\n", P, k); break;
    case CF_SLOT: sbf(&A, "\tmovq %sgen_cslot_%d(%%rip), %%r11\n", P, k); break;
    default: die("x64 cookie form %d", S->cf);
    }
    (void)si;
}

static void x64_target_op(const struct site *S, int si)
{
    switch (S->tf) {
    case TF_LEA: sbf(&A, "\tleaq %sgen_target_%d(%%rip), %%r10\n", P, si); break;
    case TF_IMM32: sbf(&A, "\tmovl $%sgen_target_%d, %%r10d\n", P, si); break;
    case TF_MOVABS: sbf(&A, "\tmovabsq $%sgen_target_%d, %%r10\n", P, si); break;
    case TF_GOT: sbf(&A, "\tmovq %sgen_target_%d@GOTPCREL(%%rip), %%r10\n", P, si); break;
    default: die("x64 target form %d", S->tf);
    }
}

static void x64_string_to(const char *reg, int str)
{
    if (str < 0) sbf(&A, "\tmovq $0, %%%s\n", reg);
    else sbf(&A, "\tleaq %sgen_str_%d(%%rip), %%%s\n", P, str, reg);
}

static void shuffle(int *v, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rn((uint32_t)i + 1);
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static void x64_fail_call(int si, int k, const char *valsrc)
{
    int win = T->abi == WIN64;
    sbf(&A, "\tmovl $%d, %%%s\n\tmovl $%d, %%%s\n\tmovq %s, %%%s\n\tcall %sgen_canary_fail\n", si,
        win ? "ecx" : "edi", k, win ? "edx" : "esi", valsrc, win ? "r8" : "rdx", P);
}

static void emit_x64_site(int si)
{
    const struct site *S = &sites[si];
    const struct sig *g = &cookies[S->ck].s;
    struct loc L[MAXP];
    int stk = layout(g, L);
    int win = T->abi == WIN64;
    const char *const *cregs = win ? win_canary_regs : sysv_canary_regs;
    int ngc = win ? 8 : 6;
    int out = 0, sr = 0, scr = 0, xs = 0, frame = 0;

    sbf(&A, "\n\t.text\n\t.p2align 4\n\t.globl %sgen_site_%d\n", P, si);
    if (T->fmt == ELF) sbf(&A, "\t.type gen_site_%d, @function\n", si);
    sbf(&A, "%sgen_site_%d:\n", P, si);
    if (!S->tail) {
        for (int k = 0; k < ngc; k++) sbf(&A, "\tpushq %%%s\n", cregs[k]);
        out = ((win ? 32 : 0) + stk + 15) & ~15;
        sr = out;
        scr = out + 16;
        xs = out + 32;
        frame = xs + (win ? 160 : 0) + 8;
        sbf(&A, "\tsubq $%d, %%rsp\n", frame);
        if (win)
            for (int k = 0; k < 10; k++) sbf(&A, "\tmovdqu %%xmm%d, %d(%%rsp)\n", 6 + k, xs + 16 * k);
        for (int k = 0; k < ngc; k++)
            sbf(&A, "\tmovabsq $0x%llx, %%%s\n", (unsigned long long)S->can[k][0], cregs[k]);
        if (win) {
            for (int k = 0; k < 10; k++) {
                sbf(&A, "\tmovabsq $0x%llx, %%rax\n\tmovq %%rax, %d(%%rsp)\n",
                    (unsigned long long)S->can[ngc + k][0], scr);
                sbf(&A, "\tmovabsq $0x%llx, %%rax\n\tmovq %%rax, %d(%%rsp)\n",
                    (unsigned long long)S->can[ngc + k][1], scr + 8);
                sbf(&A, "\tmovdqu %d(%%rsp), %%xmm%d\n", scr, 6 + k);
            }
        }
        sbf(&A, "\tmovq %%rsp, %sgen_sp_save(%%rip)\n", P);
    }
    /* Stack arguments (scratch: rax, not an argument register). */
    int stackbase = win ? 32 : 0;
    for (int i = 0; i < g->np; i++) {
        if (L[i].kind != L_STK) continue;
        int off = stackbase + L[i].off;
        if (g->p[i] == T_STR) {
            if (S->str[i] < 0) {
                sbf(&A, "\tmovq $0, %d(%%rsp)\n", off);
                continue;
            }
            x64_string_to("rax", S->str[i]);
        } else {
            sbf(&A, "\tmovabsq $0x%llx, %%rax\n", (unsigned long long)S->raw[i]);
        }
        sbf(&A, "\tmovq %%rax, %d(%%rsp)\n", off);
    }
    /* Register arguments, r10 and r11, in random order. */
    int ops[MAXP + 2], nops = 0;
    for (int i = 0; i < g->np; i++)
        if (L[i].kind != L_STK) ops[nops++] = i;
    ops[nops++] = -1; /* r10 */
    ops[nops++] = -2; /* r11 */
    shuffle(ops, nops);
    for (int j = 0; j < nops; j++) {
        int i = ops[j];
        if (i == -1) {
            x64_target_op(S, si);
        } else if (i == -2) {
            x64_cookie_op(S, si);
        } else if (L[i].kind == L_FPR) {
            sbf(&A, "\tmovabsq $0x%llx, %%rax\n\tmovq %%rax, %%xmm%d\n", (unsigned long long)S->raw[i],
                L[i].reg);
        } else if (g->p[i] == T_STR) {
            x64_string_to(x64_gpr(L[i].reg), S->str[i]);
        } else {
            sbf(&A, "\tmovabsq $0x%llx, %%%s\n", (unsigned long long)S->raw[i], x64_gpr(L[i].reg));
        }
    }
    switch (S->hf) {
    case HF_DIRECT: sbf(&A, "\tcall %s%s\n", P, helper); break;
    case HF_PLT: sbf(&A, "\tcall %s@PLT\n", helper); break;
    case HF_GOT: sbf(&A, "\tcall *%s%s@GOTPCREL(%%rip)\n", P, helper); break;
    case HF_JMP: sbf(&A, "\tjmp %s%s\n", P, helper); break;
    case HF_JMPGOT: sbf(&A, "\tjmp *%s%s@GOTPCREL(%%rip)\n", P, helper); break;
    /* PE import: the IAT slot (REL32 against __imp_H), the linker's thunk for `call H` */
    case HF_IMP: sbf(&A, "\tcall *__imp_%s(%%rip)\n", helper); break;
    case HF_JMPIMP: sbf(&A, "\tjmp *__imp_%s(%%rip)\n", helper); break;
    default: die("x64 helper form %d", S->hf);
    }
    if (!S->tail) {
        sbf(&A, "\tmovq %%rax, %d(%%rsp)\n\tmovq %%xmm0, %d(%%rsp)\n", sr, sr + 8);
        sbf(&A, "\tcmpq %sgen_sp_save(%%rip), %%rsp\n\tje 1f\n", P);
        x64_fail_call(si, 0, "%rsp");
        sbf(&A, "1:\n");
        for (int k = 0; k < ngc; k++) {
            char src[16];
            snprintf(src, sizeof src, "%%%s", cregs[k]);
            sbf(&A, "\tmovabsq $0x%llx, %%rax\n\tcmpq %%rax, %%%s\n\tje 1f\n",
                (unsigned long long)S->can[k][0], cregs[k]);
            x64_fail_call(si, 1 + k, src);
            sbf(&A, "1:\n");
        }
        if (win) {
            for (int k = 0; k < 10; k++) {
                sbf(&A, "\tmovdqu %%xmm%d, %d(%%rsp)\n", 6 + k, scr);
                for (int half = 0; half < 2; half++) {
                    char src[24];
                    snprintf(src, sizeof src, "%d(%%rsp)", scr + 8 * half);
                    sbf(&A, "\tmovabsq $0x%llx, %%rax\n\tcmpq %%rax, %s\n\tje 1f\n",
                        (unsigned long long)S->can[ngc + k][half], src);
                    x64_fail_call(si, 1 + ngc + 2 * k + half, src);
                    sbf(&A, "1:\n");
                }
            }
            for (int k = 0; k < 10; k++) sbf(&A, "\tmovdqu %d(%%rsp), %%xmm%d\n", xs + 16 * k, 6 + k);
        }
        sbf(&A, "\tmovq %d(%%rsp), %%rax\n\tmovq %d(%%rsp), %%xmm0\n", sr, sr + 8);
        sbf(&A, "\taddq $%d, %%rsp\n", frame);
        for (int k = ngc - 1; k >= 0; k--) sbf(&A, "\tpopq %%%s\n", cregs[k]);
        sbf(&A, "\tret\n");
    }
    if (T->fmt == ELF) sbf(&A, "\t.size gen_site_%d, .-gen_site_%d\n", si, si);
}

/* arm64 */

static void a64_movimm(const char *reg, uint64_t v)
{
    sbf(&A, "\tmovz %s, #0x%x\n", reg, (unsigned)(v & 0xFFFF));
    for (int sh = 16; sh < 64; sh += 16)
        if ((v >> sh) & 0xFFFF) sbf(&A, "\tmovk %s, #0x%x, lsl #%d\n", reg, (unsigned)((v >> sh) & 0xFFFF), sh);
}

/* adrp/add of a symbol's address into reg. */
static void a64_addr(const char *reg, const char *sym)
{
    if (T->fmt == MACHO)
        sbf(&A, "\tadrp %s, %s%s@PAGE\n\tadd %s, %s, %s%s@PAGEOFF\n", reg, P, sym, reg, reg, P, sym);
    else
        sbf(&A, "\tadrp %s, %s\n\tadd %s, %s, :lo12:%s\n", reg, sym, reg, reg, sym);
}
static void a64_got(const char *reg, const char *sym)
{
    if (T->fmt == MACHO)
        sbf(&A, "\tadrp %s, %s%s@GOTPAGE\n\tldr %s, [%s, %s%s@GOTPAGEOFF]\n", reg, P, sym, reg, reg, P, sym);
    else
        sbf(&A, "\tadrp %s, :got:%s\n\tldr %s, [%s, :got_lo12:%s]\n", reg, sym, reg, reg, sym);
}
/* load/store of the 64-bit variable gen_sp_save via x10 */
static void a64_sp_save(const char *insn, const char *reg)
{
    if (T->fmt == MACHO)
        sbf(&A, "\tadrp x10, %sgen_sp_save@PAGE\n\t%s %s, [x10, %sgen_sp_save@PAGEOFF]\n", P, insn, reg, P);
    else
        sbf(&A, "\tadrp x10, gen_sp_save\n\t%s %s, [x10, :lo12:gen_sp_save]\n", insn, reg);
}

static const char *lit_label(int si)
{
    static char b[32];
    snprintf(b, sizeof b, "%sgen_lit_%d", T->fmt == MACHO ? "L" : ".L", si);
    return b;
}

static void a64_fail_call(int si, int k, const char *valreg)
{
    sbf(&A, "\tmov w0, #%d\n\tmov w1, #%d\n\tmov x2, %s\n\tbl %sgen_canary_fail\n", si, k, valreg, P);
}

static void emit_a64_site(int si)
{
    const struct site *S = &sites[si];
    const struct sig *g = &cookies[S->ck].s;
    struct loc L[MAXP];
    int stk = layout(g, L);
    int out = (stk + 15) & ~15;
    char sym[48], reg[8];

    sbf(&A, "\n\t.text\n\t.p2align 2\n\t.globl %sgen_site_%d\n", P, si);
    if (T->fmt == ELF) sbf(&A, "\t.type gen_site_%d, %%function\n", si);
    sbf(&A, "%sgen_site_%d:\n", P, si);
    if (bti) sbf(&A, "\thint #34 /* bti c */\n");
    if (!S->tail) {
        sbf(&A, "\tstp x29, x30, [sp, #-160]!\n\tmov x29, sp\n");
        for (int k = 0; k < 5; k++) sbf(&A, "\tstp x%d, x%d, [sp, #%d]\n", 19 + 2 * k, 20 + 2 * k, 16 + 16 * k);
        for (int k = 0; k < 4; k++) sbf(&A, "\tstp d%d, d%d, [sp, #%d]\n", 8 + 2 * k, 9 + 2 * k, 96 + 16 * k);
        sbf(&A, "\tsub sp, sp, #%d\n", out + 16);
        for (int k = 0; k < 10; k++) {
            snprintf(reg, sizeof reg, "x%d", 19 + k);
            a64_movimm(reg, S->can[k][0]);
        }
        for (int k = 0; k < 8; k++) {
            a64_movimm("x9", S->can[10 + k][0]);
            sbf(&A, "\tfmov d%d, x9\n", 8 + k);
        }
        sbf(&A, "\tmov x9, sp\n");
        a64_sp_save("str", "x9");
    }
    for (int i = 0; i < g->np; i++) {
        if (L[i].kind != L_STK) continue;
        if (g->p[i] == T_STR) {
            if (S->str[i] < 0) {
                sbf(&A, "\tstr xzr, [sp, #%d]\n", L[i].off);
                continue;
            }
            snprintf(sym, sizeof sym, "gen_str_%d", S->str[i]);
            a64_addr("x9", sym);
            sbf(&A, "\tstr x9, [sp, #%d]\n", L[i].off);
            continue;
        }
        a64_movimm("x9", S->raw[i]);
        switch (L[i].size) {
        case 1: sbf(&A, "\tstrb w9, [sp, #%d]\n", L[i].off); break;
        case 2: sbf(&A, "\tstrh w9, [sp, #%d]\n", L[i].off); break;
        case 4: sbf(&A, "\tstr w9, [sp, #%d]\n", L[i].off); break;
        default: sbf(&A, "\tstr x9, [sp, #%d]\n", L[i].off); break;
        }
    }
    int ops[MAXP + 3], nops = 0;
    for (int i = 0; i < g->np; i++)
        if (L[i].kind != L_STK) ops[nops++] = i;
    ops[nops++] = -1; /* x12 */
    ops[nops++] = -2; /* x15 */
    if (S->hf == HF_BLRGOT || S->hf == HF_BRGOT) ops[nops++] = -3; /* x16 from the GOT */
    shuffle(ops, nops);
    for (int j = 0; j < nops; j++) {
        int i = ops[j];
        if (i == -1) {
            snprintf(sym, sizeof sym, "gen_target_%d", si);
            switch (S->tf) {
            case TF_ADRP_ADD: a64_addr("x12", sym); break;
            case TF_ADR: sbf(&A, "\tadr x12, %s\n", sym); break;
            case TF_AGOT: a64_got("x12", sym); break;
            default: die("a64 target form %d", S->tf);
            }
        } else if (i == -2) {
            snprintf(sym, sizeof sym, "gen_cookie_%d", S->ck);
            switch (S->cf) {
            case CF_ADRP_ADD: a64_addr("x15", sym); break;
            case CF_ADRP_GOT: a64_got("x15", sym); break;
            case CF_LIT: sbf(&A, "\tldr x15, %s\n", lit_label(si)); break;
            default: die("a64 cookie form %d", S->cf);
            }
        } else if (i == -3) {
            a64_got("x16", helper);
        } else if (L[i].kind == L_FPR) {
            a64_movimm("x9", S->raw[i]);
            sbf(&A, "\tfmov d%d, x9\n", L[i].reg);
        } else if (g->p[i] == T_STR) {
            snprintf(reg, sizeof reg, "x%d", L[i].reg);
            if (S->str[i] < 0) {
                sbf(&A, "\tmov %s, xzr\n", reg);
            } else {
                snprintf(sym, sizeof sym, "gen_str_%d", S->str[i]);
                a64_addr(reg, sym);
            }
        } else {
            snprintf(reg, sizeof reg, "x%d", L[i].reg);
            a64_movimm(reg, S->raw[i]);
        }
    }
    switch (S->hf) {
    case HF_BL: sbf(&A, "\tbl %s%s\n", P, helper); break;
    case HF_BLRGOT: sbf(&A, "\tblr x16\n"); break;
    case HF_B: sbf(&A, "\tb %s%s\n", P, helper); break;
    case HF_BRGOT: sbf(&A, "\tbr x16\n"); break;
    default: die("a64 helper form %d", S->hf);
    }
    if (!S->tail) {
        sbf(&A, "\tstr x0, [sp, #%d]\n\tstr d0, [sp, #%d]\n", out, out + 8);
        sbf(&A, "\tmov x9, sp\n");
        a64_sp_save("ldr", "x10");
        sbf(&A, "\tcmp x9, x10\n\tb.eq 1f\n");
        a64_fail_call(si, 0, "x9");
        sbf(&A, "1:\n");
        for (int k = 0; k < 10; k++) {
            snprintf(reg, sizeof reg, "x%d", 19 + k);
            a64_movimm("x9", S->can[k][0]);
            sbf(&A, "\tcmp %s, x9\n\tb.eq 1f\n", reg);
            a64_fail_call(si, 1 + k, reg);
            sbf(&A, "1:\n");
        }
        for (int k = 0; k < 8; k++) {
            sbf(&A, "\tfmov x10, d%d\n", 8 + k);
            a64_movimm("x9", S->can[10 + k][0]);
            sbf(&A, "\tcmp x10, x9\n\tb.eq 1f\n");
            a64_fail_call(si, 11 + k, "x10");
            sbf(&A, "1:\n");
        }
        sbf(&A, "\tldr x0, [sp, #%d]\n\tldr d0, [sp, #%d]\n", out, out + 8);
        sbf(&A, "\tadd sp, sp, #%d\n", out + 16);
        for (int k = 3; k >= 0; k--) sbf(&A, "\tldp d%d, d%d, [sp, #%d]\n", 8 + 2 * k, 9 + 2 * k, 96 + 16 * k);
        for (int k = 4; k >= 0; k--) sbf(&A, "\tldp x%d, x%d, [sp, #%d]\n", 19 + 2 * k, 20 + 2 * k, 16 + 16 * k);
        sbf(&A, "\tldp x29, x30, [sp], #160\n\tret\n");
    }
    if (S->cf == CF_LIT) sbf(&A, "\t.p2align 3\n%s:\n\t.quad %sgen_cookie_%d\n", lit_label(si), P, S->ck);
    if (T->fmt == ELF) sbf(&A, "\t.size gen_site_%d, .-gen_site_%d\n", si, si);
}

static void emit_sites_S(void)
{
    sbf(&A, "/* generated by callirw-gen --target %s --mode %s --seed %llu; do not edit.\n"
            " * Call sites of the unmanaged-calli ABI v1 (spec section 1), their cookies\n"
            " * (section 2) and managed strings (section 3). */\n",
        T->name, mode, (unsigned long long)seed);
    for (int i = 0; i < nsites; i++) {
        if (T->arch == X64) emit_x64_site(i);
        else emit_a64_site(i);
    }
    /* Cookies: writable, 8-aligned. */
    sbf(&A, "\n\t.data\n\t.p2align 3\n%sgen_sp_save:\n\t.quad 0\n", P);
    for (int k = 0; k < ncookies; k++) {
        const struct cookie *C = &cookies[k];
        sbf(&A, "\n\t.p2align 3\n");
        if (T->fmt == ELF) sbf(&A, "\t.type gen_cookie_%d, %%object\n", k);
        /* aarch64 GNU as (2.40) turns a GOT relocation against a local symbol into
         * "section + addend", and ld then fills the GOT slot with the section's
         * address, ignoring the addend. A hidden global keeps the symbol. */
        if (T->fmt == ELF && T->arch == A64) sbf(&A, "\t.globl gen_cookie_%d\n\t.hidden gen_cookie_%d\n", k, k);
        sbf(&A, "%sgen_cookie_%d:\n", P, k);
        sbf(&A, "\t.long 0x494c4143\n\t.short 1\n\t.short %d\n", C->sgc);
        if (C->rt) sbf(&A, "\t.quad %s%s\n", P, m_imp ? "gen_refrt" : "calli_refrt_default");
        else sbf(&A, "\t.quad 0\n");
        sbf(&A, "\t.quad 0\n\t.long %d\n", C->s.blen);
        for (int i = 0; i < C->s.blen; i++)
            sbf(&A, "%s0x%02x%s", i % 16 == 0 ? "\t.byte " : "", C->s.blob[i],
                i == C->s.blen - 1 || i % 16 == 15 ? "\n" : ",");
        if (T->fmt == ELF) sbf(&A, "\t.size gen_cookie_%d, .-gen_cookie_%d\n", k, k);
    }
    /* Read-only data: managed strings, PE pointer slots. */
    switch (T->fmt) {
    case ELF: sbf(&A, "\n\t.section .rodata\n"); break;
    case COFF: sbf(&A, "\n\t.section .rdata,\"dr\"\n"); break;
    case MACHO: sbf(&A, "\n\t.const\n"); break;
    }
    for (int k = 0; k < ncookies; k++)
        if (cookies[k].slot) sbf(&A, "\t.p2align 3\n%sgen_cslot_%d:\n\t.quad %sgen_cookie_%d\n", P, k, P, k);
    for (int k = 0; k < nstrs; k++) {
        const struct mstr *m = &strs[k];
        sbf(&A, "\t.p2align 3\n%sgen_str_%d:\n\t.quad 0x%llx\n\t.long %d\n", P, k,
            (unsigned long long)m->header, m->len);
        for (int i = 0; i < m->len; i++)
            sbf(&A, "%s0x%04x%s", i % 12 == 0 ? "\t.short " : "", m->u[i],
                i == m->len - 1 || i % 12 == 11 ? "\n" : ",");
    }
    if (T->fmt == ELF)
        sbf(&A, "\n\t.section .note.GNU-stack,\"\",%s\n", T->arch == X64 ? "@progbits" : "%progbits");
    if (bti) /* every site starts with bti c: GNU_PROPERTY_AARCH64_FEATURE_1_AND = BTI */
        sbf(&A, "\n\t.section .note.gnu.property,\"a\"\n\t.p2align 3\n\t.long 4, 16, 5\n\t.asciz \"GNU\"\n"
                "\t.long 0xc0000000, 4, 1, 0\n");
}

/* ------------------------------------------------------------- prog.c */

static struct sb C_;  /* prog.c */
static struct sb E;   /* expected stdout */

static const char *ctype_param(int t)
{
    int apple = T->abi == APPLE;
    switch (t) {
    case T_BOOL: return apple ? "int32_t" : "uint32_t";
    case T_CHAR: return apple ? "uint16_t" : "uint32_t";
    case T_I1: return apple ? "int8_t" : "uint32_t";
    case T_U1: return apple ? "uint8_t" : "uint32_t";
    case T_I2: return apple ? "int16_t" : "uint32_t";
    case T_U2: return apple ? "uint16_t" : "uint32_t";
    case T_I4: return "int32_t";
    case T_U4: return "uint32_t";
    case T_I8: return "int64_t";
    case T_U8: return "uint64_t";
    case T_I: return "intptr_t";
    case T_U: return "uintptr_t";
    case T_R4: return "float";
    case T_R8: return "double";
    case T_STR: return "const char *";
    case T_PTR: return "const void *";
    case T_FNPTR: return "gen_fn";
    }
    die("ctype_param 0x%x", t);
}

static const char *ctype_ret(const struct site *S, int t)
{
    if (T->abi == APPLE) {
        switch (t) {
        case T_BOOL: return "int32_t";
        case T_CHAR: return "uint16_t";
        case T_I1: return "int8_t";
        case T_U1: return "uint8_t";
        case T_I2: return "int16_t";
        case T_U2: return "uint16_t";
        }
    }
    if (is_w32(t)) return S->wide ? "uint64_t" : "uint32_t";
    switch (t) {
    case T_VOID: return "void";
    case T_PTR: return "void *";
    case T_FNPTR: return "gen_fn";
    default: return ctype_param(t);
    }
}

static const char *site_ctype(int t)
{
    if (t == T_VOID) return "void";
    if (is_w32(t)) return "uint32_t";
    if (t == T_R4) return "float";
    if (t == T_R8) return "double";
    return "uint64_t";
}

static void emit_target(int si)
{
    const struct site *S = &sites[si];
    const struct sig *g = &cookies[S->ck].s;
    sbf(&C_, "\n%s gen_target_%d(", ctype_ret(S, g->ret), si);
    if (g->np == 0) sbf(&C_, "void");
    for (int i = 0; i < g->np; i++) sbf(&C_, "%s%s a%d", i ? ", " : "", ctype_param(g->p[i]), i);
    sbf(&C_, ")\n{\n\tuint64_t h = 0x%llxull;\n\tgen_s(\"t%d\");\n", (unsigned long long)S->h0, si);
    for (int i = 0; i < g->np; i++) {
        int t = g->p[i];
        if (is_w32(t)) sbf(&C_, "\tgen_p32(\"%s\", (uint32_t)(int32_t)a%d);\n", tok(t), i);
        else if (t == T_R4) sbf(&C_, "\tgen_p32(\"r4\", gen_f32bits(a%d));\n", i);
        else if (t == T_R8) sbf(&C_, "\tgen_p64(\"r8\", gen_f64bits(a%d));\n", i);
        else if (t == T_STR) sbf(&C_, "\tgen_pstr(a%d);\n", i);
        else if (t == T_PTR || t == T_FNPTR)
            sbf(&C_, "\tgen_p64(\"%s\", (uint64_t)(uintptr_t)a%d);\n", tok(t), i);
        else sbf(&C_, "\tgen_p64(\"%s\", (uint64_t)a%d);\n", tok(t), i);
    }
    sbf(&C_, "\tgen_nl();\n");
    for (int i = 0; i < g->np; i++) {
        int t = g->p[i];
        if (is_w32(t)) sbf(&C_, "\th = gen_mix(h, (uint32_t)(int32_t)a%d);\n", i);
        else if (t == T_R4) sbf(&C_, "\th = gen_mix(h, gen_f32bits(a%d));\n", i);
        else if (t == T_R8) sbf(&C_, "\th = gen_mix(h, gen_f64bits(a%d));\n", i);
        else if (t == T_STR) sbf(&C_, "\th = gen_mixs(h, a%d);\n", i);
        else if (t == T_PTR || t == T_FNPTR) sbf(&C_, "\th = gen_mix(h, (uint64_t)(uintptr_t)a%d);\n", i);
        else sbf(&C_, "\th = gen_mix(h, (uint64_t)a%d);\n", i);
    }
    int r = g->ret;
    int w = small_width(r);
    uint64_t mask = w == 32 ? 0xFFFFFFFFull : (1ull << w) - 1;
    const char *rt = ctype_ret(S, r);
    switch (r) {
    case T_VOID: sbf(&C_, "\tgen_sink ^= h;\n"); break;
    case T_BOOL:
        sbf(&C_, "\treturn (h & 1) ? (%s)0x%llxull : (%s)0x%llxull;\n", rt, (unsigned long long)S->bnz, rt,
            (unsigned long long)S->bz);
        break;
    case T_CHAR: case T_I1: case T_U1: case T_I2: case T_U2: case T_I4: case T_U4:
        sbf(&C_, "\treturn (%s)((h & 0x%llxull) | 0x%llxull);\n", rt, (unsigned long long)mask,
            (unsigned long long)S->garb);
        break;
    case T_R4: case T_R8: {
        int f = r == T_R4;
        sbf(&C_, "\t%s r = (%s)(int32_t)(h & 0xFFFFF) * 0.125%s;\n", f ? "float" : "double", f ? "float" : "double",
            f ? "f" : "");
        for (int i = 0; i < g->np; i++) {
            if (!S->fop[i]) continue;
            const char *cast = (g->p[i] == T_R4) == f ? "" : (f ? "(float)" : "(double)");
            sbf(&C_, "\tr = r %c %sa%d;\n", S->fop[i] == 1 ? '+' : '-', cast, i);
        }
        sbf(&C_, "\treturn r;\n");
        break;
    }
    case T_PTR: sbf(&C_, "\treturn (void *)(uintptr_t)h;\n"); break;
    case T_FNPTR: sbf(&C_, "\treturn (gen_fn)(uintptr_t)h;\n"); break;
    default: sbf(&C_, "\treturn (%s)h;\n", rt); break;
    }
    sbf(&C_, "}\n");
}

static void expect_site(int si)
{
    const struct site *S = &sites[si];
    const struct cookie *C = &cookies[S->ck];
    const struct sig *g = &C->s;
    int events = C->rt && !C->sgc;
    sbf(&E, "site %d\n", si);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if (events) sbf(&E, "@enter\n");
            sbf(&E, "t%d", si);
            for (int i = 0; i < g->np; i++) {
                int t = g->p[i];
                if (t == T_STR) {
                    sbf(&E, " str:");
                    if (S->str[i] < 0) sbf(&E, "null");
                    else
                        for (int b = 0; b < strs[S->str[i]].n8; b++) sb_hex(&E, strs[S->str[i]].utf8[b], 2);
                } else {
                    sbf(&E, " %s:", tok(t));
                    sb_hex(&E, native_of(t, S->raw[i]), is_w32(t) || t == T_R4 ? 8 : 16);
                }
            }
            sbf(&E, "\n");
            if (events) sbf(&E, "@leave\n");
        }
        for (int i = 0; i < g->np; i++) {
            if (g->p[i] != T_STR) continue;
            sbf(&E, "%s ", pass == 0 ? "@s2n" : "@free");
            if (S->str[i] < 0) sbf(&E, "null");
            else
                for (int b = 0; b < strs[S->str[i]].n8; b++) sb_hex(&E, strs[S->str[i]].utf8[b], 2);
            sbf(&E, "\n");
        }
    }
    int r = g->ret;
    if (r == T_VOID) {
        sbf(&E, "ret %d void\n", si);
    } else {
        sbf(&E, "ret %d %s:", si, tok(r));
        sb_hex(&E, site_result(S), is_w32(r) || r == T_R4 ? 8 : 16);
        sbf(&E, "\n");
    }
}

/* Mach-O: prog.c is freestanding (no libSystem to link against); this
 * replaces prog_head's declarations of write and abort (macho_decls), so the
 * other targets' prog.c stays as it was. */
static const char macho_decls[] =
    "extern long write(int, const void *, unsigned long);\n"
    "extern void abort(void) __attribute__((noreturn));\n";
static const char macho_sys[] =
    "/* No libSystem: raw macOS system calls (write, exit), which the Mach-O\n"
    " * harness (tests/macho_run/machorun) emulates. */\n"
    "static long write(int fd, const void *buf, unsigned long len)\n"
    "{\n"
    "#if defined(__x86_64__)\n"
    "\tlong r;\n"
    "\t__asm__ volatile(\"syscall\\n\\tjnc 1f\\n\\tmov $-1, %%rax\\n1:\" : \"=a\"(r)\n"
    "\t\t: \"a\"(0x2000004L), \"D\"((long)fd), \"S\"(buf), \"d\"(len) : \"rcx\", \"r11\", \"memory\", \"cc\");\n"
    "\treturn r;\n"
    "#else\n"
    "\tregister long x0 __asm__(\"x0\") = fd;\n"
    "\tregister const void *x1 __asm__(\"x1\") = buf;\n"
    "\tregister unsigned long x2 __asm__(\"x2\") = len;\n"
    "\tregister long x16 __asm__(\"x16\") = 4;\n"
    "\t__asm__ volatile(\"svc #0x80\\n\\tb.cc 1f\\n\\tmov x0, #-1\\n1:\" : \"+r\"(x0)\n"
    "\t\t: \"r\"(x1), \"r\"(x2), \"r\"(x16) : \"memory\", \"cc\");\n"
    "\treturn x0;\n"
    "#endif\n"
    "}\n"
    "static _Noreturn void abort(void)\n"
    "{\n"
    "\tfor (;;) {\n"
    "#if defined(__x86_64__)\n"
    "\t\t__asm__ volatile(\"syscall\" : : \"a\"(0x2000001L), \"D\"(134L) : \"rcx\", \"r11\", \"memory\");\n"
    "#else\n"
    "\t\tregister long x0 __asm__(\"x0\") = 134;\n"
    "\t\tregister long x16 __asm__(\"x16\") = 1;\n"
    "\t\t__asm__ volatile(\"svc #0x80\" : : \"r\"(x0), \"r\"(x16) : \"memory\");\n"
    "#endif\n"
    "\t}\n"
    "}\n";

static const char prog_head[] =
    "#if defined(_WIN32)\n"
    "/* kernel32, declared here rather than through <windows.h> (much faster to compile) */\n"
    "__declspec(dllimport) void *__stdcall GetStdHandle(unsigned long);\n"
    "__declspec(dllimport) int __stdcall WriteFile(void *, const void *, unsigned long, unsigned long *, void *);\n"
    "__declspec(dllimport) __declspec(noreturn) void __stdcall ExitProcess(unsigned int);\n"
    "#elif defined(__APPLE__)\n"
    "extern long write(int, const void *, unsigned long);\n"
    "extern void abort(void) __attribute__((noreturn));\n"
    "#else\n"
    "#include <stdlib.h>\n"
    "#include <unistd.h>\n"
    "#endif\n"
    "#include <stddef.h>\n"
    "#include <stdint.h>\n"
    "#include \"calli_host.h\"\n"
    "#include \"calli_refrt.h\"\n"
    "\n"
    "typedef void (*gen_fn)(void);\n"
    "#define GEN_FN static __attribute__((unused))\n"
    "\n"
    "/* ---- host primitives: write and record the whole output ---- */\n"
    "#define GEN_REC_CAP (1u << 20)\n"
    "static char gen_rec[GEN_REC_CAP];\n"
    "static size_t gen_rec_len;\n"
    "static int gen_rec_over;\n"
    "volatile uint64_t gen_sink;\n"
    "\n"
    "GEN_FN void gen_sys_write(int stream, const char *p, size_t len)\n"
    "{\n"
    "#if defined(_WIN32)\n"
    "\tvoid *hd = GetStdHandle(stream == CALLI_HOST_ERR ? (unsigned long)-12 : (unsigned long)-11);\n"
    "\twhile (len > 0) {\n"
    "\t\tunsigned long done = 0;\n"
    "\t\tif (!WriteFile(hd, p, (unsigned long)len, &done, NULL) || done == 0) return;\n"
    "\t\tp += done;\n"
    "\t\tlen -= done;\n"
    "\t}\n"
    "#else\n"
    "\twhile (len > 0) {\n"
    "\t\tlong n = (long)write(stream == CALLI_HOST_ERR ? 2 : 1, p, len);\n"
    "\t\tif (n <= 0) return;\n"
    "\t\tp += n;\n"
    "\t\tlen -= (size_t)n;\n"
    "\t}\n"
    "#endif\n"
    "}\n"
    "\n"
    "void calli_host_write(int stream, const void *buf, size_t len)\n"
    "{\n"
    "\tconst char *p = (const char *)buf;\n"
    "\tif (stream == CALLI_HOST_OUT) {\n"
    "\t\tfor (size_t i = 0; i < len; i++) {\n"
    "\t\t\tif (gen_rec_len < GEN_REC_CAP) gen_rec[gen_rec_len++] = p[i];\n"
    "\t\t\telse gen_rec_over = 1;\n"
    "\t\t}\n"
    "\t}\n"
    "\tgen_sys_write(stream, p, len);\n"
    "}\n"
    "\n"
    "_Noreturn void calli_host_abort(void)\n"
    "{\n"
    "#if defined(_WIN32)\n"
    "\tExitProcess(134);\n"
    "#else\n"
    "\tabort();\n"
    "#endif\n"
    "}\n"
    "\n"
    "/* ---- freestanding output helpers: one line at a time ---- */\n"
    "static char gen_lb[512];\n"
    "static size_t gen_ll;\n"
    "GEN_FN void gen_flush(void)\n"
    "{\n"
    "\tif (gen_ll) calli_host_write(CALLI_HOST_OUT, gen_lb, gen_ll);\n"
    "\tgen_ll = 0;\n"
    "}\n"
    "GEN_FN void gen_c(char c)\n"
    "{\n"
    "\tif (gen_ll == sizeof gen_lb) gen_flush();\n"
    "\tgen_lb[gen_ll++] = c;\n"
    "}\n"
    "GEN_FN void gen_s(const char *s)\n"
    "{\n"
    "\twhile (*s) gen_c(*s++);\n"
    "}\n"
    "GEN_FN void gen_x(uint64_t v, int digits)\n"
    "{\n"
    "\tfor (int i = digits - 1; i >= 0; i--) gen_c(\"0123456789abcdef\"[(v >> (4 * i)) & 15]);\n"
    "}\n"
    "GEN_FN void gen_u(uint32_t v)\n"
    "{\n"
    "\tchar t[10];\n"
    "\tint n = 0;\n"
    "\tdo { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);\n"
    "\twhile (n) gen_c(t[--n]);\n"
    "}\n"
    "GEN_FN void gen_nl(void)\n"
    "{\n"
    "\tgen_c('\\n');\n"
    "\tgen_flush();\n"
    "}\n"
    "GEN_FN void gen_p32(const char *tk, uint32_t v)\n"
    "{\n"
    "\tgen_c(' '); gen_s(tk); gen_c(':'); gen_x(v, 8);\n"
    "}\n"
    "GEN_FN void gen_p64(const char *tk, uint64_t v)\n"
    "{\n"
    "\tgen_c(' '); gen_s(tk); gen_c(':'); gen_x(v, 16);\n"
    "}\n"
    "GEN_FN void gen_pstr(const char *s)\n"
    "{\n"
    "\tgen_s(\" str:\");\n"
    "\tif (!s) { gen_s(\"null\"); return; }\n"
    "\twhile (*s) gen_x((unsigned char)*s++, 2);\n"
    "}\n"
    "GEN_FN uint32_t gen_f32bits(float f)\n"
    "{\n"
    "\tunion { float f; uint32_t u; } x;\n"
    "\tx.f = f;\n"
    "\treturn x.u;\n"
    "}\n"
    "GEN_FN uint64_t gen_f64bits(double d)\n"
    "{\n"
    "\tunion { double d; uint64_t u; } x;\n"
    "\tx.d = d;\n"
    "\treturn x.u;\n"
    "}\n"
    "GEN_FN uint64_t gen_mix(uint64_t h, uint64_t v)\n"
    "{\n"
    "\th ^= v;\n"
    "\th *= 0x9E3779B97F4A7C15ull;\n"
    "\th ^= h >> 31;\n"
    "\treturn h;\n"
    "}\n"
    "GEN_FN uint64_t gen_mixs(uint64_t h, const char *s)\n"
    "{\n"
    "\tuint32_t n = 0;\n"
    "\tif (!s) return gen_mix(h, 0x4E554C4Cu);\n"
    "\twhile (s[n]) { h = gen_mix(h, (unsigned char)s[n]); n++; }\n"
    "\treturn gen_mix(h, 0x53545200u + n);\n"
    "}\n"
    "\n"
    "/* Called by a site when a callee-saved register (or sp) did not survive the call. */\n"
    "void gen_canary_fail(uint32_t site, uint32_t reg, uint64_t value);\n"
    "void gen_canary_fail(uint32_t site, uint32_t reg, uint64_t value)\n"
    "{\n"
    "\tgen_s(\"CANARY site \"); gen_u(site); gen_c(' ');\n"
    "\tgen_s(reg < sizeof gen_regname / sizeof gen_regname[0] ? gen_regname[reg] : \"?\");\n"
    "\tgen_s(\" clobbered: \"); gen_x(value, 16); gen_nl();\n"
    "}\n";

static const char prog_check[] =
    "\n"
    "static int gen_check(void)\n"
    "{\n"
    "\tsize_t n = sizeof gen_expected - 1, i = 0, line = 1, ls = 0;\n"
    "\twhile (i < n && i < gen_rec_len && gen_expected[i] == gen_rec[i]) {\n"
    "\t\tif (gen_rec[i] == '\\n') { line++; ls = i + 1; }\n"
    "\t\ti++;\n"
    "\t}\n"
    "\tif (i == n && i == gen_rec_len && !gen_rec_over) return 0;\n"
    "\tgen_flush();\n"
    "\tstatic char m[1024];\n"
    "\tsize_t k = 0;\n"
    "\tconst char *t = \"gen: output differs from the expectation at byte \";\n"
    "\twhile (*t && k < 900) m[k++] = *t++;\n"
    "\t{ char d[24]; int nd = 0; size_t v = i; do { d[nd++] = (char)('0' + v % 10); v /= 10; } while (v); while (nd) m[k++] = d[--nd]; }\n"
    "\tt = \", line \";\n"
    "\twhile (*t) m[k++] = *t++;\n"
    "\t{ char d[24]; int nd = 0; size_t v = line; do { d[nd++] = (char)('0' + v % 10); v /= 10; } while (v); while (nd) m[k++] = d[--nd]; }\n"
    "\tt = \": expected \\\"\";\n"
    "\twhile (*t) m[k++] = *t++;\n"
    "\tfor (size_t j = ls; j < n && gen_expected[j] != '\\n' && k < 600; j++) m[k++] = gen_expected[j];\n"
    "\tif (i >= n) { t = \"<end>\"; while (*t) m[k++] = *t++; }\n"
    "\tt = \"\\\", got \\\"\";\n"
    "\twhile (*t) m[k++] = *t++;\n"
    "\tfor (size_t j = ls; j < gen_rec_len && gen_rec[j] != '\\n' && k < 1000; j++) m[k++] = gen_rec[j];\n"
    "\tif (i >= gen_rec_len && k < 1010) { t = \"<end>\"; while (*t) m[k++] = *t++; }\n"
    "\tm[k++] = '\"';\n"
    "\tm[k++] = '\\n';\n"
    "\tcalli_host_write(CALLI_HOST_ERR, m, k);\n"
    "\treturn 1;\n"
    "}\n";

static void emit_prog_c(void)
{
    sbf(&C_, "/* generated by callirw-gen --target %s --mode %s --seed %llu; do not edit.\n"
             " * Native targets, main and the self-check for sites.S. */\n",
        T->name, mode, (unsigned long long)seed);
    if (T->fmt != MACHO) sbf(&C_, "#define _GNU_SOURCE 1\n");
    /* Register names for canary reports: index 0 is sp. */
    struct sb names = {0};
    if (T->abi == SYSV) {
        sbf(&names, "\"sp\"");
        for (int k = 0; k < 6; k++) sbf(&names, ", \"%s\"", sysv_canary_regs[k]);
    } else if (T->abi == WIN64) {
        sbf(&names, "\"rsp\"");
        for (int k = 0; k < 8; k++) sbf(&names, ", \"%s\"", win_canary_regs[k]);
        for (int k = 0; k < 10; k++) sbf(&names, ", \"xmm%d.lo\", \"xmm%d.hi\"", 6 + k, 6 + k);
    } else {
        sbf(&names, "\"sp\"");
        for (int k = 0; k < 10; k++) sbf(&names, ", \"x%d\"", 19 + k);
        for (int k = 0; k < 8; k++) sbf(&names, ", \"d%d\"", 8 + k);
    }
    /* prog_head uses gen_regname; declare it first */
    struct sb head = {0};
    if (T->fmt == MACHO) {
        const char *d = strstr(prog_head, macho_decls);
        if (!d) die("internal: prog_head (macho_decls)");
        sb_putn(&head, prog_head, (size_t)(d - prog_head));
        sb_putn(&head, macho_sys, sizeof macho_sys - 1);
        sb_putn(&head, d + sizeof macho_decls - 1, strlen(d + sizeof macho_decls - 1));
    } else {
        sb_putn(&head, prog_head, sizeof prog_head - 1);
    }
    char *cut = strstr(head.p, "\n/* ---- host primitives");
    if (!cut) die("internal: prog_head");
    sb_putn(&C_, head.p, (size_t)(cut - head.p) + 1);
    sbf(&C_, "static const char *const gen_regname[] = {%s};\n", names.p);
    /* The output helpers are not inlined. Inlined (and their loops
     * unrolled) into every target and main, they were most of a seed's
     * compile time (clang -O2: 0.55 s of 0.6 s; gcc -O2: a third), and make
     * check compiles some 2,800 of these programs. The sites, the targets'
     * signatures and what they print are unchanged (docs/generator.md,
     * "Timings"). */
    sbf(&C_, "/* not inlined: they are most of the compile time otherwise */\n"
                 "#define GEN_OUT_FN static __attribute__((noinline))\n"
                 "GEN_OUT_FN void gen_flush(void);\nGEN_OUT_FN void gen_c(char c);\n"
                 "GEN_OUT_FN void gen_s(const char *s);\nGEN_OUT_FN void gen_x(uint64_t v, int digits);\n"
                 "GEN_OUT_FN void gen_u(uint32_t v);\nGEN_OUT_FN void gen_nl(void);\n"
                 "GEN_OUT_FN void gen_p32(const char *tk, uint32_t v);\n"
                 "GEN_OUT_FN void gen_p64(const char *tk, uint64_t v);\nGEN_OUT_FN void gen_pstr(const char *s);\n");
    sb_putn(&C_, cut, strlen(cut));
    free(head.p);
    free(names.p);

    sbf(&C_, "\n/* ---- the native targets: print what they receive, return a value derived from it ---- */\n");
    for (int i = 0; i < nsites; i++) emit_target(i);

    sbf(&C_, "\n/* ---- the call sites (sites.S) ---- */\n");
    for (int i = 0; i < nsites; i++)
        sbf(&C_, "extern %s gen_site_%d(void);\n", site_ctype(cookies[sites[i].ck].s.ret), i);

    sbf(&C_, "\n/* ---- the expected output (expected.txt) ---- */\nstatic const char gen_expected[] =\n");
    for (size_t i = 0; i < E.n;) {
        size_t j = i;
        while (j < E.n && E.p[j] != '\n') j++;
        sbf(&C_, "\t\"");
        for (size_t k = i; k < j; k++) {
            char c = E.p[k];
            if (c == '"' || c == '\\') sbf(&C_, "\\%c", c);
            else if (c < 0x20 || c > 0x7E) die("internal: non-printable expected output");
            else sb_putn(&C_, &c, 1);
        }
        sbf(&C_, "%s\"\n", j < E.n ? "\\n" : "");
        i = j + 1;
    }
    sbf(&C_, "\t;\n");
    sb_putn(&C_, prog_check, sizeof prog_check - 1);

    if (m_imp)
        sbf(&C_, "\n/* mode dll-rt: the runtime is calli_runtime.dll (tests/gen/win_rt_dll.sh). The cookies\n"
                 " * name this instance of the reference runtime, and the DLL's calli_host_write\n"
                 " * forwards to this program's, which records the event lines with the rest. */\n"
                 "struct calli_refrt gen_refrt;\n"
                 "void calli_gen_set_host_write(void (*)(int, const void *, size_t));\n"
                 "\nint main(void)\n{\n\tcalli_gen_set_host_write(calli_host_write);\n"
                 "\tcalli_refrt_init(&gen_refrt, CALLI_REFRT_LOG);\n");
    else
        sbf(&C_, "\nint main(void)\n{\n\tcalli_refrt_init(&calli_refrt_default, CALLI_REFRT_LOG);\n");
    for (int i = 0; i < nsites; i++) {
        int r = cookies[sites[i].ck].s.ret;
        sbf(&C_, "\tgen_s(\"site %d\");\n\tgen_nl();\n", i);
        if (r == T_VOID) {
            sbf(&C_, "\tgen_site_%d();\n\tgen_s(\"ret %d void\");\n", i, i);
        } else {
            sbf(&C_, "\t{\n\t\t%s r = gen_site_%d();\n\t\tgen_s(\"ret %d %s:\");\n", site_ctype(r), i, i, tok(r));
            if (r == T_R4) sbf(&C_, "\t\tgen_x(gen_f32bits(r), 8);\n");
            else if (r == T_R8) sbf(&C_, "\t\tgen_x(gen_f64bits(r), 16);\n");
            else sbf(&C_, "\t\tgen_x(r, %d);\n", is_w32(r) ? 8 : 16);
            sbf(&C_, "\t}\n");
        }
        sbf(&C_, "\tgen_nl();\n");
    }
    sbf(&C_, "\tgen_s(\"done\");\n\tgen_nl();\n\treturn gen_check();\n}\n");
}

/* ------------------------------------------------------------ build.sh */

static struct sb BLD, META, MAN;

static void emit_build(void)
{
    const char *cc = "gcc";
    int o = (int)rn(3);
    int relax = pct(60);
    int static_link = 0;
    /* a BTI executable's link: the patched start files around the objects */
    const char *bti_start = bti ? " $BTI \"$CRT/Scrt1.o\" \"$CRT/crti.o\"" : "";
    const char *bti_end = bti ? " \"$CRT/crtn.o\"" : "";
    sbf(&BLD, "#!/bin/sh\n# generated by callirw-gen --target %s --mode %s --seed %llu\n"
              "# Builds this directory's program. Needs CALLI_ROOT (the callirw checkout, with\n"
              "# its runtime libraries built under build/). Override the library with\n"
              "# CALLI_RT_LIB (static) or CALLI_RT_SO (shared-rt mode), the compiler with GEN_CC.\n"
              "set -eu\ncd \"$(dirname \"$0\")\"\n: \"${CALLI_ROOT:?set CALLI_ROOT to the callirw checkout}\"\n",
        T->name, mode, (unsigned long long)seed);
    /* Debug information on a third of the seeds (a hash of the seed outside
     * the generation stream, so the program is the same either way): the
     * writers must keep DWARF sections working, but -g is a quarter of a
     * seed's compile time, and make check builds thousands of seeds. */
    uint64_t hg = (seed ^ 0x44574152ull) * 0x9E3779B97F4A7C15ull;
    hg = (hg ^ (hg >> 29)) * 0xBF58476D1CE4E5B9ull;
    int debug = (hg ^ (hg >> 32)) % 3 == 0;
    const char *warn = debug ? "-std=c11 -g -Wall -Wextra -Werror -ffp-contract=off"
                             : "-std=c11 -Wall -Wextra -Werror -ffp-contract=off";
    switch (T->fmt) {
    case ELF:
        if (T->arch == X64) cc = pct(30) ? "clang" : "gcc";
        else cc = "aarch64-linux-gnu-gcc";
        if (!bti) {
            sbf(&BLD, "CC=${GEN_CC:-%s}\nLIB=${CALLI_RT_LIB:-$CALLI_ROOT/build/%s/libcalli_runtime.a}\n", cc, T->name);
            sbf(&BLD, "CFLAGS=\"%s -O%d -I$CALLI_ROOT/runtime/include\"\n", warn, o);
        } else {
            /* BTI + PAC-ret everywhere: the runtime built so too, and start
             * files with landing pads (docs/generator.md, "BTI seeds"). */
            sbf(&BLD, "CC=${GEN_CC:-%s}\nLIB=${CALLI_RT_LIB_BTI:-$CALLI_ROOT/build/gen/%s-bti/libcalli_runtime.a}\n",
                cc, T->name);
            sbf(&BLD, "CFLAGS=\"%s -O%d -mbranch-protection=standard -I$CALLI_ROOT/runtime/include\"\n", warn, o);
            sbf(&BLD, "# Debian's arm64 crt1.o/crti.o/crtbegin*.o have no BTI landing pads: a BTI image\n"
                      "# would fault at _start. Copies of crt1/crti/crtn with bti c in glibc's nop\n"
                      "# placeholders, no crtbegin/crtend (a C program needs neither), -z force-bti\n"
                      "# because those objects (and libc_nonshared.a) carry no BTI note.\n"
                      "CRT=${CALLI_BTI_CRT:-}\nif [ -z \"$CRT\" ]; then\n"
                      "  CRT=$PWD/crt\n  python3 \"$CALLI_ROOT/tests/gen/bti_crt.py\" \"$CRT\"\nfi\n"
                      "BTI=\"-nostartfiles -Wl,-z,force-bti\"\n");
        }
        {
            int so = !strcmp(mode, "shared-sites");
            const char *pic = !strcmp(mode, "nopie") ? "-fno-pie" : so ? "-fPIC" : "-fPIE";
            const char *asf = T->arch == X64 && !relax ? " -Wa,-mrelax-relocations=no" : "";
            sbf(&BLD, "$CC $CFLAGS %s%s -c prog.c -o prog.o\n", pic, so ? " -Dmain=calli_prog_main" : "");
            sbf(&BLD, "$CC %s%s -c sites.S -o sites.o\n", pic, asf);
        }
        if (!strcmp(mode, "shared-sites")) {
            /* The sites, the targets and the runtime in libprog.so (-Bsymbolic:
             * the generated rip-relative forms bind inside the library), loaded
             * by a launcher that finds it next to itself. */
            sbf(&BLD, "$CC $CFLAGS -fPIE -c runmain.c -o runmain.o\n"
                      "$CC -shared%s -Wl,-soname,libprog.so -Wl,-Bsymbolic -Wl,-z,now%s prog.o sites.o \"$LIB\"%s -o libprog.so\n"
                      "$CC -pie runmain.o ./libprog.so -Wl,-rpath,'$ORIGIN' -o prog\n",
                bti ? " $BTI" : "", bti ? " \"$CRT/crti.o\"" : "", bti ? " \"$CRT/crtn.o\"" : "");
        } else if (!strcmp(mode, "nopie")) {
            static_link = pct(30);
            sbf(&BLD, "$CC -no-pie%s prog.o sites.o \"$LIB\" -o prog\n", static_link ? " -static" : "");
        } else if (!strcmp(mode, "pie")) {
            sbf(&BLD, "$CC -pie%s prog.o sites.o \"$LIB\"%s -o prog\n", bti_start, bti_end);
        } else { /* shared-rt */
            sbf(&BLD, "SO=${CALLI_RT_SO%s:-}\nif [ -z \"$SO\" ]; then\n"
                      "  SO=$PWD/libcalli_runtime.so\n"
                      "  $CC -shared%s -Wl,-soname,libcalli_runtime.so -o \"$SO\"%s -Wl,--whole-archive \"$LIB\" -Wl,--no-whole-archive%s\n"
                      "fi\nSODIR=$(cd \"$(dirname \"$SO\")\" && pwd)\n",
                bti ? "_BTI" : "", bti ? " $BTI" : "", bti ? " \"$CRT/crti.o\"" : "", bti_end);
            if (T->arch == X64)
                sbf(&BLD, "# -z now: glibc's lazy-binding resolver (_dl_runtime_resolve) ends in jmp *%%r11,\n"
                          "# so a first call through a lazily bound PLT entry would lose the cookie.\n");
            else
                sbf(&BLD, "# -z now: glibc's lazy-binding resolver (_dl_runtime_resolve) saves only x0-x9\n"
                          "# and q0-q7, so a first call through a lazily bound PLT entry would lose x12/x15.\n");
            sbf(&BLD, "$CC -pie -Wl,-z,now%s prog.o sites.o \"$SO\"%s -Wl,-rpath,\"$SODIR\" -o prog\n", bti_start, bti_end);
        }
        break;
    case COFF: {
        /* The toolchain is clang_lld (chosen in main from a hash of the seed),
         * overridable with GEN_TOOLCHAIN: tests/rewrite/hook_pe.sh relinks with
         * the other one. The lines keep the shape "$CC ... sites.o ... -o prog.exe"
         * that the relinking scripts (hook_pe.sh, tests/pe/) edit. */
        int dsites = !strcmp(mode, "dll-sites"), drt = !strcmp(mode, "dll-rt");
        cc = clang_lld ? "clang" : "x86_64-w64-mingw32-gcc";
        sbf(&BLD, "# toolchain (meta.txt): gcc = mingw gcc + GNU ld; clang-lld = clang + lld's COFF linker\n"
                  "# behind its MinGW driver, with mingw-w64's libgcc directory. GEN_TOOLCHAIN overrides.\n"
                  "TC=${GEN_TOOLCHAIN:-%s}\n"
                  "case \"$TC\" in\n"
                  "  gcc) CC=${GEN_CC:-x86_64-w64-mingw32-gcc}; LDFLAGS= ;;\n"
                  "  clang-lld) CC=${GEN_CC:-clang --target=x86_64-w64-mingw32}\n"
                  "    LDFLAGS=\"-fuse-ld=lld -L$(dirname \"$(x86_64-w64-mingw32-gcc -print-libgcc-file-name)\")\" ;;\n"
                  "  *) echo \"build.sh: unknown toolchain $TC\" >&2; exit 2 ;;\n"
                  "esac\n",
            clang_lld ? "clang-lld" : "gcc");
        sbf(&BLD, "LIB=${CALLI_RT_LIB:-$CALLI_ROOT/build/%s/libcalli_runtime.a}\n", T->name);
        sbf(&BLD, "CFLAGS=\"%s -O%d -I$CALLI_ROOT/runtime/include\"\n", warn, o);
        sbf(&BLD, "$CC $CFLAGS%s -c prog.c -o prog.o\n$CC -c sites.S -o sites.o\n",
            dsites ? " -Dmain=calli_prog_main" : "");
        if (!strcmp(mode, "exe-lowbase")) {
            sbf(&BLD, "$CC $LDFLAGS -Wl,--image-base=0x10000000 -Wl,--disable-dynamicbase prog.o sites.o \"$LIB\" -o prog.exe\n");
        } else if (dsites) {
            /* the sites, targets and runtime in prog.dll, exporting calli_prog_main
             * (prog.def); the launcher loads <its own name>.dll with LoadLibrary */
            sbf(&BLD, "$CC $CFLAGS -c runmain.c -o runmain.o\n"
                      "$CC $LDFLAGS -shared prog.o sites.o \"$LIB\" prog.def -o prog.dll\n"
                      "$CC $LDFLAGS runmain.o -o prog.exe\n");
        } else if (drt) {
            /* the runtime in calli_runtime.dll, imported */
            sbf(&BLD, "# the runtime DLL of this toolchain: run.sh builds one per batch (CALLI_RT_DLL_ROOT),\n"
                      "# else it is built here (tests/gen/win_rt_dll.sh)\n"
                      "if [ -n \"${CALLI_RT_DLL_ROOT:-}\" ]; then\n  DLLDIR=$CALLI_RT_DLL_ROOT/$TC\nelse\n"
                      "  DLLDIR=$PWD/rt-$TC\n"
                      "  [ -f \"$DLLDIR/calli_runtime.dll\" ] || CC=\"$CC\" LD=\"$CC $LDFLAGS\" \"$CALLI_ROOT/tests/gen/win_rt_dll.sh\" \"$LIB\" \"$DLLDIR\"\n"
                      "fi\n"
                      "$CC $LDFLAGS prog.o sites.o \"$DLLDIR/libcalli_runtime.dll.a\" -o prog.exe\n"
                      "cp \"$DLLDIR/calli_runtime.dll\" .\n");
        } else {
            sbf(&BLD, "$CC $LDFLAGS prog.o sites.o \"$LIB\" -o prog.exe\n");
        }
        break;
    }
    case MACHO: {
        const char *tt = T->arch == X64 ? "x86_64-apple-macos11" : "arm64-apple-macos11";
        int dsites = !strcmp(mode, "dylib-sites"), drt = !strcmp(mode, "dylib-rt");
        cc = "clang";
        sbf(&BLD, "CC=${GEN_CC:-clang}\n");
        if (!strcmp(mode, "obj")) {
            sbf(&BLD, "CFLAGS=\"--target=%s -ffreestanding %s -O%d -I$CALLI_ROOT/runtime/include\"\n", tt, warn, o);
            sbf(&BLD, "$CC $CFLAGS -c prog.c -o prog.o\n$CC --target=%s -c sites.S -o sites.o\n"
                      "# Mach-O: objects only (mode obj; the other modes link).\n", tt);
            break;
        }
        /* Linked modes: no SDK and no libSystem. The program is freestanding
         * (raw write/exit system calls), linked by ld64.lld-14 against the
         * Mach-O runtime and a stand-in libSystem that only defines
         * dyld_stub_binder (which lld requires of images with lazy binds);
         * it runs under tests/macho_run/machorun. -headerpad leaves the
         * rewriter room for its load commands. */
        sbf(&BLD, "# stack protector off: there is no ___stack_chk_guard without libSystem\n"
                  "CFLAGS=\"--target=%s -ffreestanding -fno-stack-protector %s -O%d -I$CALLI_ROOT/runtime/include\"\n",
            tt, warn, o);
        sbf(&BLD, "LD=${GEN_LD:-ld64.lld-14}\nLIB=${CALLI_RT_LIB:-$CALLI_ROOT/build/%s/libcalli_runtime.a}\n"
                  "LDFLAGS=\"-arch %s -platform_version macos 11.0 11.0 -headerpad 0x400\"\n",
            T->name, T->arch == X64 ? "x86_64" : "arm64");
        sbf(&BLD, "# the stand-in libSystem (and, mode dylib-rt, the runtime dylib): run.sh builds\n"
                  "# them once per batch (CALLI_MACHO_DYLIBS), else they are built here\n"
                  "DY=${CALLI_MACHO_DYLIBS:-}\nif [ -z \"$DY\" ]; then\n  DY=$PWD/dylibs\n"
                  "  \"$CALLI_ROOT/tests/macho_run/macho_dylibs.sh\" %s \"$LIB\" \"$DY\"\nfi\n"
                  "SYS=$DY/libSystem.B.dylib\n", T->name);
        if (!strcmp(mode, "all")) {
            /* Every linked mode from one compile (the proof's cost is the
             * compile of prog.c): main renamed, an assembly launcher (it
             * jumps to it) in each executable, one clang run for the three
             * sources, one directory per variant (meta.txt: variant=).
             * CALLI_SITES_O, CALLI_LINK_DIR and CALLI_LINK_ONLY let
             * tests/rewrite/hook_macho.sh relink a rewritten sites.o. */
            sbf(&BLD, "S=${CALLI_SITES_O:-sites.o}\nO=${CALLI_LINK_DIR:-.}\n"
                      "[ -n \"${CALLI_LINK_ONLY:-}\" ] ||\n"
                      "  $CC $CFLAGS -Dmain=calli_prog_main -c prog.c sites.S runmain.S\n"
                      "mkdir -p \"$O/exe\" \"$O/dsites\" \"$O/drt\"\n"
                      "# exe: everything static\n"
                      "$LD $LDFLAGS -e _main runmain.o prog.o \"$S\" \"$LIB\" \"$SYS\" -o \"$O/exe/prog\"\n"
                      "# dylib-sites: the sites in libprog.dylib, the launcher imports its main\n"
                      "$LD $LDFLAGS -dylib -install_name @rpath/libprog.dylib prog.o \"$S\" \"$LIB\" \"$SYS\" -o \"$O/dsites/libprog.dylib\"\n"
                      "$LD $LDFLAGS -e _main -rpath @executable_path runmain.o \"$O/dsites/libprog.dylib\" \"$SYS\" -o \"$O/dsites/prog\"\n"
                      "# dylib-rt: the helper imported from the runtime dylib, which leaves\n"
                      "# calli_host_write/abort to a flat lookup that finds this program's\n"
                      "cp \"$DY/libcalli_runtime.dylib\" \"$O/drt/\"\n"
                      "$LD $LDFLAGS -e _main -rpath @executable_path runmain.o prog.o \"$S\" \"$O/drt/libcalli_runtime.dylib\" \"$SYS\" -o \"$O/drt/prog\"\n");
            break;
        }
        sbf(&BLD, "$CC $CFLAGS%s -c prog.c -o prog.o\n$CC --target=%s -c sites.S -o sites.o\n",
            dsites ? " -Dmain=calli_prog_main" : "", tt);
        if (dsites) {
            sbf(&BLD, "$CC $CFLAGS -c runmain.c -o runmain.o\n"
                      "$LD $LDFLAGS -dylib -install_name @rpath/libprog.dylib prog.o sites.o \"$LIB\" \"$SYS\" -o libprog.dylib\n"
                      "$LD $LDFLAGS -e _main -rpath @executable_path runmain.o ./libprog.dylib \"$SYS\" -o prog\n");
        } else if (drt) {
            sbf(&BLD, "# the runtime dylib leaves calli_host_write/abort to a flat lookup, which\n"
                      "# finds this program's (tests/macho_run/macho_dylibs.sh)\n"
                      "cp \"$DY/libcalli_runtime.dylib\" .\n"
                      "$LD $LDFLAGS -e _main -rpath @executable_path prog.o sites.o ./libcalli_runtime.dylib \"$SYS\" -o prog\n");
        } else {
            sbf(&BLD, "$LD $LDFLAGS -e _main prog.o sites.o \"$LIB\" \"$SYS\" -o prog\n");
        }
        break;
    }
    }
    int mall = T->fmt == MACHO && !strcmp(mode, "all");
    const char *bin = T->fmt == MACHO ? (!strcmp(mode, "obj") ? "" : mall ? "exe/prog" : "prog")
                                      : T->fmt == COFF ? "prog.exe" : "prog";
    sbf(&META, "target=%s\nmode=%s\nseed=%llu\ncc=%s\nopt=-O%d\nbinary=%s\nsites=%d\ncookies=%d\nstrings=%d\n", T->name,
        mode, (unsigned long long)seed, cc, o, bin, nsites, ncookies, nstrs);
    sbf(&META, "debug=%s\n", debug ? "yes" : "no");
    if (T->fmt == ELF && T->arch == X64) sbf(&META, "relax_relocations=%s\n", relax ? "yes" : "no");
    if (T->fmt == ELF) sbf(&META, "static=%s\n", static_link ? "yes" : "no");
    if (T->fmt == ELF && T->arch == A64) sbf(&META, "bti=%s\n", bti ? "yes" : "no");
    if (T->fmt == COFF)
        sbf(&META, "toolchain=%s\nimage=%s\n", clang_lld ? "clang-lld" : "gcc",
            !strcmp(mode, "dll-sites") ? "prog.dll" : "prog.exe");
    if (mall) /* variant=MODE LAUNCHER IMAGE: the program to run, the image to rewrite */
        sbf(&META, "image=exe/prog\n"
                   "variant=exe exe/prog exe/prog\n"
                   "variant=dylib-sites dsites/prog dsites/libprog.dylib\n"
                   "variant=dylib-rt drt/prog drt/prog\n");
    else if (T->fmt == MACHO && strcmp(mode, "obj"))
        sbf(&META, "image=%s\n", !strcmp(mode, "dylib-sites") ? "libprog.dylib" : "prog");
    sbf(&META, "helper=%s%s\n", P, helper);
}

/* The relocations a site's call must carry against the helper symbol. */
static void emit_manifest(void)
{
    int tails = 0;
    sbf(&MAN, "# callirw-gen manifest: target %s mode %s seed %llu\n"
              "# cookie K flags F runtime refrt|0 sig HEX\n"
              "# site N cookie K cookie-form F target-form F call-form F tail 0|1 params P stack-bytes S\n"
              "# helper-relocs N: relocations against the helper symbol in sites.o (all formats)\n"
              "# reloc TYPE N: Mach-O only, per relocation type\n",
        T->name, mode, (unsigned long long)seed);
    if (m_imp) sbf(&MAN, "# imp-relocs N: relocations against __imp_<helper> (the IAT slot)\n");
    for (int k = 0; k < ncookies; k++) {
        const struct cookie *C = &cookies[k];
        sbf(&MAN, "cookie %d flags %d runtime %s sig ", k, C->sgc, C->rt ? "refrt" : "0");
        for (int i = 0; i < C->s.blen; i++) sb_hex(&MAN, C->s.blob[i], 2);
        sbf(&MAN, "\n");
    }
    for (int i = 0; i < nsites; i++) {
        const struct site *S = &sites[i];
        struct loc L[MAXP];
        int stk = layout(&cookies[S->ck].s, L);
        tails += S->tail;
        sbf(&MAN, "site %d cookie %d cookie-form %s target-form %s call-form %s tail %d params %d stack-bytes %d\n", i,
            S->ck, cform_name[S->cf], tform_name[S->tf], hform_name[S->hf], S->tail, cookies[S->ck].s.np, stk);
    }
    if (T->fmt == MACHO) {
        /* Mach-O relocation types expected against the helper symbol in sites.o */
        int br = 0, got = 0;
        for (int i = 0; i < nsites; i++) {
            int h = sites[i].hf;
            if (h == HF_DIRECT || h == HF_JMP || h == HF_BL || h == HF_B) br++;
            else got++;
        }
        if (T->arch == X64) {
            if (br) sbf(&MAN, "reloc X86_64_RELOC_BRANCH %d\n", br);
            if (got) sbf(&MAN, "reloc X86_64_RELOC_GOT %d\n", got);
        } else {
            if (br) sbf(&MAN, "reloc ARM64_RELOC_BRANCH26 %d\n", br);
            if (got) sbf(&MAN, "reloc ARM64_RELOC_GOT_LOAD_PAGE21 %d\nreloc ARM64_RELOC_GOT_LOAD_PAGEOFF12 %d\n", got, got);
        }
    }
    {
        int n = 0;
        int imp = 0;
        for (int i = 0; i < nsites; i++) {
            if (sites[i].hf == HF_IMP || sites[i].hf == HF_JMPIMP) imp++;
            else n += (sites[i].hf == HF_BLRGOT || sites[i].hf == HF_BRGOT) ? 2 : 1;
        }
        sbf(&MAN, "helper-relocs %d\n", n);
        if (m_imp) sbf(&MAN, "imp-relocs %d\n", imp);
    }
    sbf(&META, "tail_sites=%d\n", tails);
}

/* ---------------------------------------------------------------- main */

static void write_file(const char *dir, const char *name, const struct sb *b, int exec)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) die("%s: %s", path, strerror(errno));
    if (b->n && fwrite(b->p, 1, b->n, f) != b->n) die("%s: write error", path);
    if (fclose(f)) die("%s: %s", path, strerror(errno));
    if (exec && chmod(path, 0755)) die("%s: %s", path, strerror(errno));
}

static void usage(FILE *f)
{
    fputs("usage: callirw-gen --target T --seed N [--mode M|mixed] [--helper NAME] -o DIR\n"
          "       callirw-gen --modes T        (list T's modes)\n"
          "       callirw-gen --targets        (list the targets)\n",
          f);
    for (size_t i = 0; i < NTARGETS; i++) {
        fprintf(f, "  %-16s modes:", targets[i].name);
        for (int m = 0; targets[i].modes[m]; m++) fprintf(f, " %s", targets[i].modes[m]);
        fputc('\n', f);
    }
    fputs("  mixed (the default) picks the mode from the seed: modes[seed % count]\n"
          "  (x86_64-windows: among exe and exe-lowbase only).\n", f);
}

static const struct target *find_target(const char *name)
{
    for (size_t i = 0; i < NTARGETS; i++)
        if (!strcmp(targets[i].name, name)) return &targets[i];
    die("unknown target '%s' (try --targets)", name);
}

int main(int argc, char **argv)
{
    const char *tname = NULL, *mname = "mixed", *outdir = NULL, *seedstr = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--targets")) {
            for (size_t k = 0; k < NTARGETS; k++) puts(targets[k].name);
            return 0;
        } else if (!strcmp(a, "--modes") && v) {
            const struct target *t = find_target(v);
            for (int m = 0; t->modes[m]; m++) puts(t->modes[m]);
            return 0;
        } else if (!strcmp(a, "--target") && v) {
            tname = v;
            i++;
        } else if (!strcmp(a, "--seed") && v) {
            seedstr = v;
            i++;
        } else if (!strcmp(a, "--mode") && v) {
            mname = v;
            i++;
        } else if (!strcmp(a, "--helper") && v) {
            helper = v;
            i++;
        } else if (!strcmp(a, "-o") && v) {
            outdir = v;
            i++;
        } else {
            usage(stderr);
            die("bad argument '%s'", a);
        }
    }
    if (!tname || !seedstr || !outdir) {
        usage(stderr);
        die("--target, --seed and -o are required");
    }
    char *end;
    errno = 0;
    seed = strtoull(seedstr, &end, 0);
    if (errno || *end || !*seedstr) die("bad seed '%s'", seedstr);
    T = find_target(tname);
    int nm = 0;
    while (T->modes[nm]) nm++;
    if (!strcmp(mname, "mixed")) {
        /* x86_64-windows: exe and exe-lowbase only, as before the DLL modes
         * (scripts that take mixed seeds expect prog.exe to be the image) */
        if (T->fmt == COFF) nm = 2;
        /* Mach-O: obj only, as before the linked modes (check-gen-macho-objects) */
        if (T->fmt == MACHO) nm = 1;
        mode = T->modes[seed % (uint64_t)nm];
    } else {
        mode = NULL;
        for (int m = 0; m < nm; m++)
            if (!strcmp(T->modes[m], mname)) mode = T->modes[m];
        if (!mode) die("target %s has no mode '%s'", T->name, mname);
    }
    P = T->fmt == MACHO ? "_" : "";
    m_abs32 = !strcmp(mode, "nopie") || !strcmp(mode, "exe-lowbase");
    m_abs64 = (T->arch == X64 && !strcmp(mode, "nopie")) || T->fmt == COFF;
    m_got = T->fmt != COFF;
    m_plt = T->fmt == ELF;
    m_slot = T->fmt == COFF;
    m_lit = T->arch == A64 && (!strcmp(mode, "nopie") || T->fmt == MACHO);
    m_adr = T->arch == A64 && T->fmt == ELF;
    m_imp = !strcmp(mode, "dll-rt");
    if (T->arch == A64) m_abs32 = m_abs64 = 0;
    /* A third of the arm64 ELF seeds in the dynamic modes are BTI seeds
     * (-mbranch-protection=standard, image marked BTI). The choice is a hash
     * of the seed outside the generation stream, so the program is the one
     * the seed gives without BTI, and it is independent of seed % 3 (which
     * picks the ld.lld relinks in tests/rewrite/hook.sh). */
    if (T->fmt == ELF && T->arch == A64 && strcmp(mode, "nopie")) {
        uint64_t h = (seed ^ 0x425449ull) * 0x9E3779B97F4A7C15ull;
        h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull;
        bti = (h ^ (h >> 32)) % 3 == 0;
    }
    /* A third of the PE seeds of every mode are built with clang + lld: a hash
     * of the seed outside the generation stream (as for BTI, with its own
     * constant), so the program is the same with either toolchain, and
     * independent of seed % 3 (the other-toolchain relinks of hook_pe.sh). */
    if (T->fmt == COFF) {
        uint64_t h = (seed ^ 0x4C4C44ull) * 0x9E3779B97F4A7C15ull;
        h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull;
        clang_lld = (h ^ (h >> 32)) % 3 == 0;
    }

    /* The stream depends on (target, mode, seed) only. */
    rng_state = seed * 0xD1B54A32D192ED03ull;
    for (const char *p = T->name; *p; p++) rng_state = (rng_state ^ (uint8_t)*p) * 0x100000001B3ull;
    for (const char *p = mode; *p; p++) rng_state = (rng_state ^ (uint8_t)*p) * 0x100000001B3ull;
    rnd64();

    nsites = 1 + (int)rn(MAXSITES);
    for (int i = 0; i < nsites; i++) make_site(i);

    for (int i = 0; i < nsites; i++) expect_site(i);
    sbf(&E, "done\n");
    emit_sites_S();
    emit_prog_c();
    emit_build();
    emit_manifest();

    {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", outdir);
        for (char *q = tmp + 1; *q; q++) {
            if (*q != '/') continue;
            *q = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST) die("%s: %s", tmp, strerror(errno));
            *q = '/';
        }
        if (mkdir(tmp, 0755) && errno != EEXIST) die("%s: %s", outdir, strerror(errno));
    }
    write_file(outdir, "sites.S", &A, 0);
    write_file(outdir, "prog.c", &C_, 0);
    write_file(outdir, "expected.txt", &E, 0);
    write_file(outdir, "build.sh", &BLD, 1);
    if (!strcmp(mode, "all")) {
        struct sb R = {0};
        sbf(&R, "/* launcher of prog.c's main, renamed (mode all: every variant's executable) */\n"
                "\t.text\n\t.globl _main\n\t.p2align 2\n_main:\n\t%s _calli_prog_main\n",
            T->arch == X64 ? "jmp" : "b");
        write_file(outdir, "runmain.S", &R, 0);
        free(R.p);
    }
    if (!strcmp(mode, "dylib-sites")) {
        struct sb R = {0};
        sbf(&R, "/* launcher of libprog.dylib (mode dylib-sites) */\n"
                "int calli_prog_main(void);\nint main(void) { return calli_prog_main(); }\n");
        write_file(outdir, "runmain.c", &R, 0);
        free(R.p);
    }
    if (!strcmp(mode, "shared-sites")) {
        struct sb R = {0};
        sbf(&R, "/* launcher of libprog.so (mode shared-sites) */\n"
                "int calli_prog_main(void);\nint main(void) { return calli_prog_main(); }\n");
        write_file(outdir, "runmain.c", &R, 0);
        free(R.p);
    }
    if (!strcmp(mode, "dll-sites")) {
        struct sb R = {0};
        sbf(&R, "/* launcher of prog.dll (mode dll-sites): loads the DLL named like this\n"
                " * executable (prog.exe -> prog.dll, prog.post.exe -> prog.post.dll), by its\n"
                " * full path, and calls its calli_prog_main (prog.c's main). */\n"
                "#include <stdio.h>\n#include <wchar.h>\n"
                "__declspec(dllimport) unsigned long __stdcall GetModuleFileNameW(void *, wchar_t *, unsigned long);\n"
                "__declspec(dllimport) void *__stdcall LoadLibraryW(const wchar_t *);\n"
                "__declspec(dllimport) void *__stdcall GetProcAddress(void *, const char *);\n"
                "__declspec(dllimport) unsigned long __stdcall GetLastError(void);\n"
                "typedef int (*prog_main_fn)(void);\n"
                "int main(void)\n{\n"
                "\twchar_t path[4096];\n"
                "\tunsigned long n = GetModuleFileNameW(NULL, path, 4000);\n"
                "\tif (n < 4 || n >= 4000 || path[n - 4] != L'.') {\n"
                "\t\tfputs(\"runmain: cannot name the DLL\\n\", stderr);\n\t\treturn 2;\n\t}\n"
                "\twcscpy(path + n - 3, L\"dll\");\n"
                "\tvoid *h = LoadLibraryW(path);\n"
                "\tif (!h) {\n\t\tfprintf(stderr, \"runmain: LoadLibrary %%ls failed (error %%lu)\\n\", path, GetLastError());\n"
                "\t\treturn 2;\n\t}\n"
                "\tunion { void *p; prog_main_fn f; } m;\n"
                "\tm.p = GetProcAddress(h, \"calli_prog_main\");\n"
                "\tif (!m.p) {\n\t\tfputs(\"runmain: no calli_prog_main in the DLL\\n\", stderr);\n\t\treturn 2;\n\t}\n"
                "\tfflush(stdout);\n"
                "\treturn m.f();\n}\n");
        write_file(outdir, "runmain.c", &R, 0);
        R.n = 0;
        sbf(&R, "; prog.dll's exports (mode dll-sites)\nEXPORTS\n    calli_prog_main\n");
        write_file(outdir, "prog.def", &R, 0);
        free(R.p);
    }
    write_file(outdir, "meta.txt", &META, 0);
    write_file(outdir, "sites.txt", &MAN, 0);
    return 0;
}
