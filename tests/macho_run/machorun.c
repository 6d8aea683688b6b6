/* machorun.c - run a freestanding Mach-O program (x86-64 or arm64) under
 * Unicorn. See docs/harness.md.
 *
 *   machorun [-v] [--arch x86_64|arm64] [--max-insns N] [--timeout SEC] [--lib DYLIB]... IMAGE [--entry SYMBOL]
 *
 * A fat file (IMAGE or DYLIB) runs its --arch slice, else the slice of the
 * main image's architecture, else its first slice.
 * --timeout SEC (default 30; 0: none) and --max-insns N (default 0: none;
 * it slows emulation down) bound the run.
 *
 * An independent loader (it shares no code with formats/macho*.c, whose
 * output it checks): maps every segment of IMAGE and of each DYLIB with its
 * protections, applies the rebase opcodes (dylibs always slid, the main
 * image slid when it is MH_PIE), binds eagerly every classic bind, lazy bind
 * and weak bind against the loaded images' exports (two-level namespace:
 * a dylib ordinal names an LC_LOAD_DYLIB, matched to a loaded image by
 * install name), then calls the entry (LC_MAIN, or --entry SYMBOL) as
 * `int f(void)` with a sentinel return address. The write and exit system
 * calls (x86-64 `syscall`, arm64 `svc #0x80`) are emulated: fd 1 and 2
 * go to this process's stdout and stderr.
 *
 * Exit status: the entry's return value (low 8 bits) or exit's status;
 * 125 a load error (bad image, unresolved symbol), 126 an emulation fault
 * (unmapped or protected access, invalid instruction, unexpected
 * exception), 127 the instruction limit or time limit, 128 an unknown
 * system call. Each with one line on stderr starting "machorun: ".
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unicorn/unicorn.h>

enum { ST_LOAD = 125, ST_FAULT = 126, ST_TIMEOUT = 127, ST_SYSCALL = 128 };

#define MH_MAGIC_64 0xfeedfacfu
#define MH_EXECUTE 2
#define MH_DYLIB 6
#define MH_BUNDLE 8
#define MH_PIE 0x200000u
#define CPU_X86_64 0x01000007u
#define CPU_ARM64 0x0100000cu

#define LC_REQ_DYLD 0x80000000u
#define LC_SYMTAB 0x2u
#define LC_LOAD_DYLIB 0xcu
#define LC_ID_DYLIB 0xdu
#define LC_SEGMENT_64 0x19u
#define LC_LOAD_WEAK_DYLIB (0x18u | LC_REQ_DYLD)
#define LC_REEXPORT_DYLIB (0x1fu | LC_REQ_DYLD)
#define LC_LAZY_LOAD_DYLIB 0x20u
#define LC_DYLD_INFO 0x22u
#define LC_DYLD_INFO_ONLY (0x22u | LC_REQ_DYLD)
#define LC_LOAD_UPWARD_DYLIB (0x23u | LC_REQ_DYLD)
#define LC_MAIN (0x28u | LC_REQ_DYLD)
#define LC_DYLD_EXPORTS_TRIE (0x33u | LC_REQ_DYLD)
#define LC_DYLD_CHAINED_FIXUPS (0x34u | LC_REQ_DYLD)

#define MAX_IMAGES 16
#define MAX_SEGS 32
#define MAX_DEPS 64
#define PAGE (arch == CPU_X86_64 ? 0x1000ull : 0x4000ull) /* the platforms' page sizes */
#define MAX_SPAN (1ull << 30)        /* an image's mapped span */
#define STACK_TOP 0x7ff000000000ull
#define STACK_SIZE (8ull << 20)
#define SENTINEL 0x7fe000000000ull   /* the entry's return address */
#define DYLIB_BASE 0x300000000ull    /* dylibs at distinct bases from here */
#define DYLIB_STEP 0x40000000ull
#define MAIN_PIE_SLIDE 0x20000000ull /* a PIE main image is slid too */
#define STUB_BINDER 0x7fd000000000ull /* where dyld_stub_binder binds: a faulting page */

struct seg {
    char name[17];
    uint64_t vmaddr, vmsize, fileoff, filesize;
    uint32_t prot;
};

struct image {
    const char *path;
    uint8_t *file;
    size_t size;
    uint32_t cputype, filetype, flags;
    struct seg seg[MAX_SEGS];
    int nseg;
    uint64_t lo, hi;     /* unslid span of mapped segments */
    uint64_t slide;
    uint64_t header;     /* unslid address of the mach header (__TEXT) */
    uint8_t *mem;        /* host copy of the span, fixed up, then mapped */
    const char *id;      /* LC_ID_DYLIB name */
    const char *dep[MAX_DEPS]; /* LC_*_DYLIB names in ordinal order */
    int weakdep[MAX_DEPS];
    int ndep;
    uint32_t rebase_off, rebase_size, bind_off, bind_size, weak_off, weak_size;
    uint32_t lazy_off, lazy_size, export_off, export_size;
    uint32_t symoff, nsyms, stroff, strsize;
    int has_main;
    uint64_t entryoff;
};

static struct image img[MAX_IMAGES];
static int nimg;
static int verbose;
static uint32_t arch;
static uint32_t want_arch;      /* --arch: the slice of a fat file */
static int exit_status = -1;    /* set by exit(2) */
static int stop_status;         /* a fault found inside a hook */

static _Noreturn void die(int st, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("machorun: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(st);
}

/* ------------------------------------------------------------ reading */

static int in_file(const struct image *m, uint64_t off, uint64_t len)
{
    return off <= m->size && len <= m->size - off;
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* A NUL-terminated string inside [p, end), or NULL. */
static const char *cstr(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *q = memchr(p, 0, (size_t)(end - p));
    return q ? (const char *)p : NULL;
}

struct cursor {
    const struct image *m;
    const uint8_t *p, *end;
    const char *what;
};

static uint64_t uleb(struct cursor *c)
{
    uint64_t v = 0;
    for (int sh = 0;; sh += 7) {
        if (c->p >= c->end) die(ST_LOAD, "%s: %s: truncated ULEB128", c->m->path, c->what);
        uint8_t b = *c->p++;
        if (sh > 63 || (sh == 63 && (b & 0x7e))) die(ST_LOAD, "%s: %s: ULEB128 overflows 64 bits", c->m->path, c->what);
        v |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80)) return v;
    }
}

static int64_t sleb(struct cursor *c)
{
    uint64_t v = 0;
    int sh = 0;
    uint8_t b;
    do {
        if (c->p >= c->end) die(ST_LOAD, "%s: %s: truncated SLEB128", c->m->path, c->what);
        if (sh > 63) die(ST_LOAD, "%s: %s: SLEB128 overflows 64 bits", c->m->path, c->what);
        b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << sh;
        sh += 7;
    } while (b & 0x80);
    if (sh < 64 && (b & 0x40)) v |= ~0ull << sh;
    return (int64_t)v;
}

static const char *cur_str(struct cursor *c)
{
    const char *s = cstr(c->p, c->end);
    if (!s) die(ST_LOAD, "%s: %s: unterminated symbol name", c->m->path, c->what);
    c->p += strlen(s) + 1;
    return s;
}

/* ------------------------------------------------------------ parsing */

static void parse(struct image *m)
{
    if (m->size < 32 || rd32(m->file) != MH_MAGIC_64)
        die(ST_LOAD, "%s: not a 64-bit little-endian Mach-O file", m->path);
    m->cputype = rd32(m->file + 4);
    m->filetype = rd32(m->file + 12);
    uint32_t ncmds = rd32(m->file + 16), sizeofcmds = rd32(m->file + 20);
    m->flags = rd32(m->file + 24);
    if (m->cputype != CPU_X86_64 && m->cputype != CPU_ARM64)
        die(ST_LOAD, "%s: cputype 0x%x is neither x86-64 nor arm64", m->path, m->cputype);
    if (!in_file(m, 32, sizeofcmds)) die(ST_LOAD, "%s: load commands run past the end of the file", m->path);
    const uint8_t *lc = m->file + 32, *lend = lc + sizeofcmds;
    m->lo = UINT64_MAX;
    int have_text = 0;
    for (uint32_t i = 0; i < ncmds; i++) {
        if ((size_t)(lend - lc) < 8) die(ST_LOAD, "%s: load command %u truncated", m->path, i);
        uint32_t cmd = rd32(lc), sz = rd32(lc + 4);
        if (sz < 8 || sz > (size_t)(lend - lc) || sz % 8)
            die(ST_LOAD, "%s: load command %u has a bad size %u", m->path, i, sz);
        switch (cmd) {
        case LC_SEGMENT_64: {
            if (sz < 72) die(ST_LOAD, "%s: LC_SEGMENT_64 too small", m->path);
            if (m->nseg == MAX_SEGS) die(ST_LOAD, "%s: more than %d segments", m->path, MAX_SEGS);
            struct seg *s = &m->seg[m->nseg++];
            memcpy(s->name, lc + 8, 16);
            s->name[16] = 0;
            s->vmaddr = rd64(lc + 24);
            s->vmsize = rd64(lc + 32);
            s->fileoff = rd64(lc + 40);
            s->filesize = rd64(lc + 48);
            s->prot = rd32(lc + 60);   /* initprot */
            if (s->vmaddr + s->vmsize < s->vmaddr) die(ST_LOAD, "%s: segment %s wraps", m->path, s->name);
            if (s->filesize && !in_file(m, s->fileoff, s->filesize))
                die(ST_LOAD, "%s: segment %s's file range runs past the end of the file", m->path, s->name);
            if (s->filesize > s->vmsize) die(ST_LOAD, "%s: segment %s: filesize > vmsize", m->path, s->name);
            if (s->vmsize == 0 || (s->prot == 0 && s->filesize == 0)) break; /* __PAGEZERO */
            if (s->vmaddr < m->lo) m->lo = s->vmaddr;
            if (s->vmaddr + s->vmsize > m->hi) m->hi = s->vmaddr + s->vmsize;
            if (s->fileoff == 0 && s->filesize) { m->header = s->vmaddr; have_text = 1; }
            break;
        }
        case LC_DYLD_INFO:
        case LC_DYLD_INFO_ONLY:
            if (sz < 48) die(ST_LOAD, "%s: LC_DYLD_INFO too small", m->path);
            m->rebase_off = rd32(lc + 8); m->rebase_size = rd32(lc + 12);
            m->bind_off = rd32(lc + 16); m->bind_size = rd32(lc + 20);
            m->weak_off = rd32(lc + 24); m->weak_size = rd32(lc + 28);
            m->lazy_off = rd32(lc + 32); m->lazy_size = rd32(lc + 36);
            m->export_off = rd32(lc + 40); m->export_size = rd32(lc + 44);
            break;
        case LC_DYLD_EXPORTS_TRIE:
            if (sz < 16) die(ST_LOAD, "%s: LC_DYLD_EXPORTS_TRIE too small", m->path);
            m->export_off = rd32(lc + 8); m->export_size = rd32(lc + 12);
            break;
        case LC_DYLD_CHAINED_FIXUPS:
            if (sz < 16) die(ST_LOAD, "%s: LC_DYLD_CHAINED_FIXUPS too small", m->path);
            if (rd32(lc + 12)) die(ST_LOAD, "%s: chained fixups are not supported by this harness", m->path);
            break;
        case LC_SYMTAB:
            if (sz < 24) die(ST_LOAD, "%s: LC_SYMTAB too small", m->path);
            m->symoff = rd32(lc + 8); m->nsyms = rd32(lc + 12);
            m->stroff = rd32(lc + 16); m->strsize = rd32(lc + 20);
            if (!in_file(m, m->symoff, (uint64_t)m->nsyms * 16) || !in_file(m, m->stroff, m->strsize))
                die(ST_LOAD, "%s: symbol or string table runs past the end of the file", m->path);
            break;
        case LC_MAIN:
            if (sz < 24) die(ST_LOAD, "%s: LC_MAIN too small", m->path);
            m->has_main = 1;
            m->entryoff = rd64(lc + 8);
            break;
        case LC_ID_DYLIB:
        case LC_LOAD_DYLIB:
        case LC_LOAD_WEAK_DYLIB:
        case LC_REEXPORT_DYLIB:
        case LC_LAZY_LOAD_DYLIB:
        case LC_LOAD_UPWARD_DYLIB: {
            if (sz < 24) die(ST_LOAD, "%s: dylib command too small", m->path);
            uint32_t no = rd32(lc + 8);
            const char *name = no >= 24 && no < sz ? cstr(lc + no, lc + sz) : NULL;
            if (!name) die(ST_LOAD, "%s: dylib command with a bad name", m->path);
            if (cmd == LC_ID_DYLIB) {
                m->id = name;
            } else {
                if (m->ndep == MAX_DEPS) die(ST_LOAD, "%s: more than %d dylibs", m->path, MAX_DEPS);
                m->weakdep[m->ndep] = cmd == LC_LOAD_WEAK_DYLIB;
                m->dep[m->ndep++] = name;
            }
            break;
        }
        default:
            break;
        }
        lc += sz;
    }
    if (!m->nseg || m->lo == UINT64_MAX || !have_text) die(ST_LOAD, "%s: no segment maps the header", m->path);
    if (m->hi - m->lo > MAX_SPAN) die(ST_LOAD, "%s: segments span more than 1 GiB", m->path);
    struct { uint32_t off, size; const char *what; } r[] = {
        {m->rebase_off, m->rebase_size, "rebase info"}, {m->bind_off, m->bind_size, "bind info"},
        {m->weak_off, m->weak_size, "weak bind info"}, {m->lazy_off, m->lazy_size, "lazy bind info"},
        {m->export_off, m->export_size, "export trie"}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (r[i].size && !in_file(m, r[i].off, r[i].size))
            die(ST_LOAD, "%s: %s runs past the end of the file", m->path, r[i].what);
    /* segments must not overlap each other */
    for (int a = 0; a < m->nseg; a++)
        for (int b = a + 1; b < m->nseg; b++) {
            const struct seg *x = &m->seg[a], *y = &m->seg[b];
            if (!x->vmsize || !y->vmsize || (x->prot == 0 && !x->filesize) || (y->prot == 0 && !y->filesize)) continue;
            if (x->vmaddr < y->vmaddr + y->vmsize && y->vmaddr < x->vmaddr + x->vmsize)
                die(ST_LOAD, "%s: segments %s and %s overlap", m->path, x->name, y->name);
        }
}

/* The host copy of the image: every segment's file bytes at its address. */
static void build_memory(struct image *m)
{
    m->lo &= ~(PAGE - 1);
    m->hi = (m->hi + PAGE - 1) & ~(PAGE - 1);
    m->mem = calloc(1, m->hi - m->lo);
    if (!m->mem) die(ST_LOAD, "out of memory");
    for (int i = 0; i < m->nseg; i++) {
        const struct seg *s = &m->seg[i];
        if (s->filesize && s->vmsize) memcpy(m->mem + (s->vmaddr - m->lo), m->file + s->fileoff, s->filesize);
    }
}

/* Host pointer for len bytes at unslid address a of image m, inside a
 * writable-or-not mapped segment; die otherwise. */
static uint8_t *at(struct image *m, uint64_t a, uint64_t len, const char *what)
{
    for (int i = 0; i < m->nseg; i++) {
        const struct seg *s = &m->seg[i];
        if (!s->vmsize || (s->prot == 0 && !s->filesize)) continue;
        if (a >= s->vmaddr && a - s->vmaddr <= s->vmsize && len <= s->vmsize - (a - s->vmaddr))
            return m->mem + (a - m->lo);
    }
    die(ST_LOAD, "%s: %s at 0x%" PRIx64 " is outside every segment", m->path, what, a);
}

/* ------------------------------------------------------------ symbols */

/* Look name up in m's export trie; 1 and *addr (slid) if found. */
static int trie_lookup(const struct image *m, const char *name, uint64_t *addr)
{
    if (!m->export_size) return 0;
    const uint8_t *base = m->file + m->export_off, *end = base + m->export_size;
    struct cursor c = {m, base, end, "export trie"};
    const char *s = name;
    for (int steps = 0; steps < 4096; steps++) {
        uint64_t term = uleb(&c);
        if (term > (uint64_t)(end - c.p)) die(ST_LOAD, "%s: export trie: terminal runs past the trie", m->path);
        const uint8_t *children = c.p + term;
        if (!*s) {
            if (!term) return 0;
            uint64_t flags = uleb(&c);
            if (flags & 0x08) die(ST_LOAD, "%s: export %s is a re-export (not supported)", m->path, name);
            uint64_t off = uleb(&c);
            if ((flags & 3) == 2) { *addr = off; return 1; }  /* EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE */
            *addr = m->header + off + m->slide;
            return 1;
        }
        c.p = children;
        if (c.p >= end) die(ST_LOAD, "%s: export trie: truncated node", m->path);
        unsigned n = *c.p++;
        int found = 0;
        for (unsigned k = 0; k < n; k++) {
            const char *edge = cstr(c.p, end);
            if (!edge) die(ST_LOAD, "%s: export trie: unterminated edge", m->path);
            c.p += strlen(edge) + 1;
            uint64_t next = uleb(&c);
            size_t el = strlen(edge);
            if (!found && el && strncmp(s, edge, el) == 0) {
                if (next >= m->export_size) die(ST_LOAD, "%s: export trie: child offset out of range", m->path);
                s += el;
                c.p = base + next;
                found = 1;
                break;
            }
        }
        if (!found) return 0;
    }
    die(ST_LOAD, "%s: export trie: too deep (a loop?)", m->path);
}

/* Look name up in m's symbol table: a defined (N_SECT) symbol, external
 * only unless any is set. */
static int symtab_lookup(const struct image *m, const char *name, int any, uint64_t *addr)
{
    const uint8_t *strs = m->file + m->stroff, *send = strs + m->strsize;
    for (uint32_t i = 0; i < m->nsyms; i++) {
        const uint8_t *n = m->file + m->symoff + 16ull * i;
        uint32_t strx = rd32(n);
        uint8_t type = n[4];
        if ((type & 0xe0) || (type & 0x0e) != 0x0e) continue; /* stab, or not N_SECT */
        if (!any && !(type & 1)) continue;
        if (strx >= m->strsize) continue;
        const char *s = cstr(strs + strx, send);
        if (s && strcmp(s, name) == 0) {
            *addr = rd64(n + 8) + m->slide;
            return 1;
        }
    }
    return 0;
}

static int image_lookup(const struct image *m, const char *name, uint64_t *addr)
{
    if (m->export_size) return trie_lookup(m, name, addr);
    return symtab_lookup(m, name, 0, addr);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The loaded image for dylib ordinal ord of m (1-based): by install name,
 * then by file name. NULL if it is not loaded. */
static const struct image *dep_image(const struct image *m, int ord)
{
    const char *want = m->dep[ord - 1];
    for (int i = 0; i < nimg; i++)
        if (img[i].id && strcmp(img[i].id, want) == 0) return &img[i];
    for (int i = 0; i < nimg; i++)
        if (img[i].id && strcmp(base_name(img[i].id), base_name(want)) == 0) return &img[i];
    return NULL;
}

/* Resolve one bind. ord: >0 a dylib ordinal, 0 self, -1 main, -2 flat,
 * -3 weak (flat). Weak imports that are missing bind to 0. */
static uint64_t resolve(const struct image *m, int64_t ord, const char *name, int weak_import)
{
    uint64_t a;
    if (ord > 0) {
        if (ord > m->ndep) die(ST_LOAD, "%s: bind of %s to dylib ordinal %" PRId64 " (only %d dylibs)", m->path, name, ord, m->ndep);
        const struct image *d = dep_image(m, (int)ord);
        if (d && image_lookup(d, name, &a)) return a;
        if (strcmp(name, "dyld_stub_binder") == 0) return STUB_BINDER;
        if (weak_import || m->weakdep[ord - 1]) return 0;
        if (!d) die(ST_LOAD, "%s: %s: dylib %s is not loaded (--lib)", m->path, name, m->dep[ord - 1]);
        die(ST_LOAD, "%s: symbol %s not found in %s", m->path, name, d->path);
    }
    if (ord == 0 && image_lookup(m, name, &a)) return a;
    if (ord == -1 && image_lookup(&img[0], name, &a)) return a;
    if (ord == -2 || ord == -3 || ord == 0)
        for (int i = 0; i < nimg; i++)
            if (image_lookup(&img[i], name, &a)) return a;
    if (strcmp(name, "dyld_stub_binder") == 0) return STUB_BINDER;
    if (weak_import) return 0;
    die(ST_LOAD, "%s: symbol %s (ordinal %" PRId64 ") not found", m->path, name, ord);
}

/* ------------------------------------------------------------ fixups */

static uint64_t seg_addr(struct image *m, unsigned segi, uint64_t off, const char *what)
{
    if (segi >= (unsigned)m->nseg) die(ST_LOAD, "%s: %s: segment index %u out of range", m->path, what, segi);
    if (off > m->seg[segi].vmsize) die(ST_LOAD, "%s: %s: offset 0x%" PRIx64 " past segment %s", m->path, what, off, m->seg[segi].name);
    return m->seg[segi].vmaddr + off;
}

static void do_rebase(struct image *m, uint64_t a, unsigned type)
{
    if (type == 1) {          /* REBASE_TYPE_POINTER */
        uint8_t *p = at(m, a, 8, "rebase");
        wr64(p, rd64(p) + m->slide);
    } else if (type == 2 || type == 3) { /* TEXT_ABSOLUTE32, TEXT_PCREL32 */
        uint8_t *p = at(m, a, 4, "rebase");
        wr32(p, type == 2 ? rd32(p) + (uint32_t)m->slide : rd32(p) - (uint32_t)m->slide);
    } else {
        die(ST_LOAD, "%s: rebase type %u", m->path, type);
    }
}

static void rebases(struct image *m)
{
    if (!m->rebase_size) return;
    struct cursor c = {m, m->file + m->rebase_off, m->file + m->rebase_off + m->rebase_size, "rebase info"};
    unsigned type = 1;
    uint64_t a = 0;
    int have_seg = 0;
    uint64_t budget = 1ull << 26; /* total rebases: a hostile count is bounded */
    while (c.p < c.end) {
        uint8_t op = *c.p & 0xf0, imm = *c.p & 0x0f;
        c.p++;
        uint64_t n = 0, skip = 0;
        switch (op) {
        case 0x00: return;                               /* DONE */
        case 0x10: type = imm; continue;                 /* SET_TYPE_IMM */
        case 0x20: a = seg_addr(m, imm, uleb(&c), "rebase"); have_seg = 1; continue;
        case 0x30: a += uleb(&c); continue;              /* ADD_ADDR_ULEB */
        case 0x40: a += imm * 8ull; continue;            /* ADD_ADDR_IMM_SCALED */
        case 0x50: n = imm; break;                       /* DO_REBASE_IMM_TIMES */
        case 0x60: n = uleb(&c); break;                  /* DO_REBASE_ULEB_TIMES */
        case 0x70: n = 1; skip = uleb(&c); break;        /* DO_REBASE_ADD_ADDR_ULEB */
        case 0x80: n = uleb(&c); skip = uleb(&c); break; /* DO_REBASE_ULEB_TIMES_SKIPPING_ULEB */
        default: die(ST_LOAD, "%s: rebase opcode 0x%02x", m->path, op);
        }
        if (!have_seg) die(ST_LOAD, "%s: rebase before SET_SEGMENT_AND_OFFSET", m->path);
        if (n > budget) die(ST_LOAD, "%s: too many rebases", m->path);
        budget -= n;
        for (uint64_t k = 0; k < n; k++) {
            do_rebase(m, a, type);
            a += 8 + skip;
        }
    }
}

/* One bind stream. lazy: DONE separates entries; weak: flat lookups, and
 * the entries with BIND_SYMBOL_FLAGS_NON_WEAK_DEFINITION bind nothing. */
static void binds(struct image *m, uint32_t off, uint32_t size, int lazy, int weak, const char *what)
{
    if (!size) return;
    struct cursor c = {m, m->file + off, m->file + off + size, what};
    int64_t ord = 0, addend = 0;
    const char *sym = NULL;
    unsigned flags = 0;
    uint64_t a = 0;
    int have_seg = 0;
    uint64_t budget = 1ull << 26;
    while (c.p < c.end) {
        uint8_t op = *c.p & 0xf0, imm = *c.p & 0x0f;
        c.p++;
        uint64_t n = 0, skip = 0;
        switch (op) {
        case 0x00:
            if (lazy) continue;
            return;
        case 0x10: ord = imm; continue;
        case 0x20: ord = (int64_t)uleb(&c); continue;
        case 0x30: ord = imm ? (int64_t)(int8_t)(0xf0 | imm) : 0; continue;
        case 0x40: flags = imm; sym = cur_str(&c); continue;
        case 0x50:
            if (imm != 1) die(ST_LOAD, "%s: %s: bind type %u (only pointers)", m->path, what, imm);
            continue;
        case 0x60: addend = sleb(&c); continue;
        case 0x70: a = seg_addr(m, imm, uleb(&c), what); have_seg = 1; continue;
        case 0x80: a += uleb(&c); continue;
        case 0x90: n = 1; break;
        case 0xa0: n = 1; skip = uleb(&c); break;
        case 0xb0: n = 1; skip = imm * 8ull; break;
        case 0xc0: n = uleb(&c); skip = uleb(&c); break;
        default: die(ST_LOAD, "%s: %s: opcode 0x%02x not supported", m->path, what, op);
        }
        if (!have_seg || !sym) die(ST_LOAD, "%s: %s: bind before its segment or symbol", m->path, what);
        if (n > budget) die(ST_LOAD, "%s: %s: too many binds", m->path, what);
        budget -= n;
        uint64_t v = resolve(m, weak ? -3 : ord, sym, flags & 1);
        if (v || !(flags & 1)) v += (uint64_t)addend;
        for (uint64_t k = 0; k < n; k++) {
            if (verbose) fprintf(stderr, "machorun: %s: bind %s at 0x%" PRIx64 " = 0x%" PRIx64 "\n", base_name(m->path), sym, a + m->slide, v);
            wr64(at(m, a, 8, what), v);
            a += 8 + skip;
        }
    }
}

/* ------------------------------------------------------------ loading */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

/* A fat file: keep the slice of --arch, else of the main image's
 * architecture, else the first one (the slice becomes the whole file). */
static void fat_slice(struct image *m)
{
    uint32_t magic = m->size >= 8 ? be32(m->file) : 0;
    if (magic != 0xcafebabeu && magic != 0xcafebabfu) return;
    int wide = magic == 0xcafebabfu;
    uint32_t n = be32(m->file + 4), esz = wide ? 32 : 20;
    if (n == 0 || n > 64 || !in_file(m, 8, (uint64_t)n * esz)) die(ST_LOAD, "%s: bad fat header (%u slices)", m->path, n);
    uint32_t want = want_arch ? want_arch : arch;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = m->file + 8 + (size_t)i * esz;
        uint32_t cpu = be32(e);
        uint64_t off = wide ? (uint64_t)be32(e + 8) << 32 | be32(e + 12) : be32(e + 8);
        uint64_t size = wide ? (uint64_t)be32(e + 16) << 32 | be32(e + 20) : be32(e + 12);
        if (want && cpu != want) continue;
        if (!in_file(m, off, size)) die(ST_LOAD, "%s: fat slice %u runs past the end of the file", m->path, i);
        memmove(m->file, m->file + off, (size_t)size);
        m->size = (size_t)size;
        return;
    }
    die(ST_LOAD, "%s: fat file without a slice for cputype 0x%x", m->path, want);
}

static void load_file(struct image *m, const char *path)
{
    m->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) die(ST_LOAD, "%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) die(ST_LOAD, "%s: cannot seek", path);
    long n = ftell(f);
    if (n < 0 || (unsigned long)n > (1ul << 31)) die(ST_LOAD, "%s: bad size", path);
    rewind(f);
    m->size = (size_t)n;
    m->file = malloc(m->size + 1);
    if (!m->file || fread(m->file, 1, m->size, f) != m->size) die(ST_LOAD, "%s: read failed", path);
    fclose(f);
    fat_slice(m);
    parse(m);
    if (!arch) arch = m->cputype;
    if (nimg > 1 && m->cputype != img[0].cputype) die(ST_LOAD, "%s: another architecture than %s", path, img[0].path);
}

static void map_image(uc_engine *uc, struct image *m)
{
    for (int i = 0; i < m->nseg; i++) {
        const struct seg *s = &m->seg[i];
        if (!s->vmsize || (s->prot == 0 && !s->filesize)) continue;
        uint64_t lo = s->vmaddr & ~(PAGE - 1), hi = (s->vmaddr + s->vmsize + PAGE - 1) & ~(PAGE - 1);
        uc_err e = uc_mem_map(uc, lo + m->slide, hi - lo, UC_PROT_ALL);
        if (e) die(ST_LOAD, "%s: cannot map segment %s at 0x%" PRIx64 ": %s", m->path, s->name, lo + m->slide, uc_strerror(e));
        e = uc_mem_write(uc, lo + m->slide, m->mem + (lo - m->lo), hi - lo);
        if (e) die(ST_LOAD, "%s: cannot write segment %s: %s", m->path, s->name, uc_strerror(e));
        e = uc_mem_protect(uc, lo + m->slide, hi - lo, s->prot & 7);
        if (e) die(ST_LOAD, "%s: cannot protect segment %s: %s", m->path, s->name, uc_strerror(e));
        if (verbose)
            fprintf(stderr, "machorun: %s: %-16s 0x%" PRIx64 "-0x%" PRIx64 " prot %u\n", base_name(m->path), s->name,
                    lo + m->slide, hi + m->slide, s->prot & 7);
    }
}

/* ------------------------------------------------------------ system calls */

static uc_engine *UC;
static volatile sig_atomic_t timed_out;

/* The time limit: SIGALRM asks Unicorn to stop (uc_emu_stop only sets a
 * request flag and kicks the CPU loop). Unicorn's own timeout argument
 * costs a watchdog thread and some 100 ms per run. */
static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    if (UC) uc_emu_stop(UC);
}

static int64_t sys_write(uint64_t fd, uint64_t buf, uint64_t len)
{
    if (fd != 1 && fd != 2) return -9;       /* EBADF */
    if (len > (64u << 20)) return -22;       /* EINVAL: a runaway length */
    uint8_t tmp[4096];
    uint64_t done = 0;
    while (done < len) {
        size_t n = len - done < sizeof tmp ? (size_t)(len - done) : sizeof tmp;
        if (uc_mem_read(UC, buf + done, tmp, n) != UC_ERR_OK) return done ? (int64_t)done : -14; /* EFAULT */
        if (fd == 1) fflush(stderr); else fflush(stdout);
        if (fwrite(tmp, 1, n, fd == 1 ? stdout : stderr) != n) return -5;
        done += n;
    }
    if (fd == 2) fflush(stderr);
    return (int64_t)done;
}

/* Returns 1 when the program exits or a fault stops it. */
static int syscall_common(uint64_t num, uint64_t a0, uint64_t a1, uint64_t a2, int64_t *ret, uint64_t pc)
{
    switch (num) {
    case 4:
        *ret = sys_write(a0, a1, a2);
        return 0;
    case 1:
        exit_status = (int)(a0 & 0xff);
        uc_emu_stop(UC);
        return 1;
    default:
        fflush(stdout);
        fprintf(stderr, "machorun: unknown system call %" PRIu64 " at pc 0x%" PRIx64 "\n", num, pc);
        stop_status = ST_SYSCALL;
        uc_emu_stop(UC);
        return 1;
    }
}

static void hook_syscall_x64(uc_engine *uc, void *user)
{
    (void)user;
    uint64_t rax, rdi, rsi, rdx, rip, fl;
    uc_reg_read(uc, UC_X86_REG_RAX, &rax);
    uc_reg_read(uc, UC_X86_REG_RDI, &rdi);
    uc_reg_read(uc, UC_X86_REG_RSI, &rsi);
    uc_reg_read(uc, UC_X86_REG_RDX, &rdx);
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    if ((rax >> 24) != 2) { /* not the BSD class */
        fflush(stdout);
        fprintf(stderr, "machorun: unknown system call 0x%" PRIx64 " at pc 0x%" PRIx64 "\n", rax, rip);
        stop_status = ST_SYSCALL;
        uc_emu_stop(uc);
        return;
    }
    int64_t r = 0;
    if (syscall_common(rax & 0xffffff, rdi, rsi, rdx, &r, rip)) return;
    /* the kernel's convention: carry set and a positive errno on failure */
    uc_reg_read(uc, UC_X86_REG_EFLAGS, &fl);
    fl = r < 0 ? fl | 1 : fl & ~1ull;
    uint64_t v = r < 0 ? (uint64_t)-r : (uint64_t)r;
    uc_reg_write(uc, UC_X86_REG_EFLAGS, &fl);
    uc_reg_write(uc, UC_X86_REG_RAX, &v);
    /* syscall clobbers rcx (return address) and r11 (rflags) */
    uint64_t next = rip; /* Unicorn reports rip after the instruction */
    uc_reg_write(uc, UC_X86_REG_RCX, &next);
    uc_reg_write(uc, UC_X86_REG_R11, &fl);
}

static void hook_intr_a64(uc_engine *uc, uint32_t intno, void *user)
{
    (void)user;
    uint64_t pc, x16, x0, x1, x2, nzcv;
    uint8_t insn[4];
    uc_reg_read(uc, UC_ARM64_REG_PC, &pc);
    /* EXCP_SWI (2), and the instruction before pc must be svc #0x80 */
    if (intno != 2 || pc < 4 || uc_mem_read(uc, pc - 4, insn, 4) != UC_ERR_OK || rd32(insn) != 0xd4001001u) {
        fflush(stdout);
        fprintf(stderr, "machorun: exception %u (%s) at pc 0x%" PRIx64 "\n", intno,
                intno == 2 ? "svc other than #0x80" : intno == 1 ? "undefined instruction" : intno == 7 ? "brk" : "unexpected", pc - 4);
        stop_status = ST_FAULT;
        uc_emu_stop(uc);
        return;
    }
    uc_reg_read(uc, UC_ARM64_REG_X16, &x16);
    uc_reg_read(uc, UC_ARM64_REG_X0, &x0);
    uc_reg_read(uc, UC_ARM64_REG_X1, &x1);
    uc_reg_read(uc, UC_ARM64_REG_X2, &x2);
    int64_t r = 0;
    if (syscall_common(x16, x0, x1, x2, &r, pc - 4)) return;
    uc_reg_read(uc, UC_ARM64_REG_NZCV, &nzcv);
    nzcv = r < 0 ? nzcv | (1u << 29) : nzcv & ~(uint64_t)(1u << 29); /* C */
    uint64_t v = r < 0 ? (uint64_t)-r : (uint64_t)r;
    uc_reg_write(uc, UC_ARM64_REG_NZCV, &nzcv);
    uc_reg_write(uc, UC_ARM64_REG_X0, &v);
}

static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void *user)
{
    (void)value; (void)user;
    uint64_t pc;
    uc_reg_read(uc, arch == CPU_X86_64 ? UC_X86_REG_RIP : UC_ARM64_REG_PC, &pc);
    const char *k = type == UC_MEM_READ_UNMAPPED ? "read of unmapped" : type == UC_MEM_WRITE_UNMAPPED ? "write to unmapped"
                  : type == UC_MEM_FETCH_UNMAPPED ? "fetch from unmapped" : type == UC_MEM_WRITE_PROT ? "write to protected"
                  : type == UC_MEM_FETCH_PROT ? "fetch from non-executable" : type == UC_MEM_READ_PROT ? "read of protected" : "bad";
    fflush(stdout);
    if (addr >= STUB_BINDER && addr < STUB_BINDER + PAGE)
        fprintf(stderr, "machorun: dyld_stub_binder reached (a lazy pointer was not bound) at pc 0x%" PRIx64 "\n", pc);
    else
        fprintf(stderr, "machorun: %s memory at 0x%" PRIx64 " (%d bytes), pc 0x%" PRIx64 "\n", k, addr, size, pc);
    stop_status = ST_FAULT;
    return false;
}

/* ------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr, "usage: machorun [-v] [--arch x86_64|arm64] [--max-insns N] [--timeout SEC] [--lib DYLIB]... IMAGE [--entry SYMBOL]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *libs[MAX_IMAGES];
    int nlibs = 0;
    const char *image = NULL, *entry_sym = NULL;
    uint64_t max_insns = 0, timeout_s = 30;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lib") && i + 1 < argc) {
            if (nlibs == MAX_IMAGES - 1) die(2, "too many --lib");
            libs[nlibs++] = argv[++i];
        } else if (!strcmp(argv[i], "--entry") && i + 1 < argc) {
            entry_sym = argv[++i];
        } else if (!strcmp(argv[i], "--max-insns") && i + 1 < argc) {
            max_insns = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            timeout_s = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--arch") && i + 1 < argc) {
            i++;
            want_arch = !strcmp(argv[i], "x86_64") ? CPU_X86_64 : !strcmp(argv[i], "arm64") ? CPU_ARM64 : 0;
            if (!want_arch) die(2, "--arch: x86_64 or arm64");
        } else if (!strcmp(argv[i], "-v")) {
            verbose = 1;
        } else if (argv[i][0] == '-' || image) {
            usage();
        } else {
            image = argv[i];
        }
    }
    if (!image) usage();

    /* img[0] is the main image, then the dylibs at distinct bases */
    nimg = 1;
    load_file(&img[0], image);
    for (int i = 0; i < nlibs; i++) {
        struct image *m = &img[nimg++];
        load_file(m, libs[i]);
        if (m->filetype != MH_DYLIB && m->filetype != MH_BUNDLE) die(ST_LOAD, "%s: not a dylib or bundle", m->path);
    }
    arch = img[0].cputype;
    for (int i = 0; i < nimg; i++) {
        struct image *m = &img[i];
        build_memory(m);
        if (i == 0)
            m->slide = (m->flags & MH_PIE) || m->filetype != MH_EXECUTE ? MAIN_PIE_SLIDE : 0;
        else
            m->slide = DYLIB_BASE + (uint64_t)(i - 1) * DYLIB_STEP - m->lo;
        if (m->lo + m->slide < m->lo && i == 0) die(ST_LOAD, "internal: slide wraps");
    }
    for (int i = 0; i < nimg; i++) {
        rebases(&img[i]);
        binds(&img[i], img[i].bind_off, img[i].bind_size, 0, 0, "bind info");
        binds(&img[i], img[i].lazy_off, img[i].lazy_size, 1, 0, "lazy bind info");
        binds(&img[i], img[i].weak_off, img[i].weak_size, 0, 1, "weak bind info");
    }

    uint64_t entry;
    if (entry_sym) {
        if (!image_lookup(&img[0], entry_sym, &entry) && !symtab_lookup(&img[0], entry_sym, 1, &entry))
            die(ST_LOAD, "%s: entry symbol %s not found", img[0].path, entry_sym);
    } else {
        if (!img[0].has_main) die(ST_LOAD, "%s: no LC_MAIN (give --entry SYMBOL)", img[0].path);
        entry = img[0].header + img[0].entryoff + img[0].slide;
    }

    uc_engine *uc;
    uc_err e = arch == CPU_X86_64 ? uc_open(UC_ARCH_X86, UC_MODE_64, &uc) : uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc);
    if (e) die(ST_LOAD, "uc_open: %s", uc_strerror(e));
    UC = uc;
    for (int i = 0; i < nimg; i++) map_image(uc, &img[i]);
    if ((e = uc_mem_map(uc, STACK_TOP - STACK_SIZE, STACK_SIZE, UC_PROT_READ | UC_PROT_WRITE)))
        die(ST_LOAD, "cannot map the stack: %s", uc_strerror(e));
    /* the sentinel page: executable, filled with traps, never reached
     * when `until` stops emulation at its first byte */
    {
        static uint8_t trap[0x4000];
        memset(trap, arch == CPU_X86_64 ? 0xf4 : 0, sizeof trap); /* hlt / udf */
        if ((e = uc_mem_map(uc, SENTINEL, PAGE, UC_PROT_READ | UC_PROT_EXEC)) || (e = uc_mem_write(uc, SENTINEL, trap, PAGE)))
            die(ST_LOAD, "cannot map the sentinel: %s", uc_strerror(e));
    }
    uc_hook h1, h2;
    if (arch == CPU_X86_64) {
        uint64_t sp = STACK_TOP - 64, ret = SENTINEL;
        sp -= 8;  /* as after a call: rsp + 8 is 16-byte aligned */
        uint8_t b[8];
        wr64(b, ret);
        uc_mem_write(uc, sp, b, 8);
        uc_reg_write(uc, UC_X86_REG_RSP, &sp);
        e = uc_hook_add(uc, &h1, UC_HOOK_INSN, (void *)hook_syscall_x64, NULL, 1, 0, UC_X86_INS_SYSCALL);
    } else {
        uint64_t sp = STACK_TOP - 64, lr = SENTINEL, fp = 0;
        uc_reg_write(uc, UC_ARM64_REG_SP, &sp);
        uc_reg_write(uc, UC_ARM64_REG_X30, &lr);
        uc_reg_write(uc, UC_ARM64_REG_X29, &fp);
        /* FP/SIMD enabled at EL0 (CPACR_EL1.FPEN = 3) */
        uint64_t cpacr;
        uc_reg_read(uc, UC_ARM64_REG_CPACR_EL1, &cpacr);
        cpacr |= 3ull << 20;
        uc_reg_write(uc, UC_ARM64_REG_CPACR_EL1, &cpacr);
        e = uc_hook_add(uc, &h1, UC_HOOK_INTR, (void *)hook_intr_a64, NULL, 1, 0);
    }
    if (e) die(ST_LOAD, "uc_hook_add: %s", uc_strerror(e));
    if ((e = uc_hook_add(uc, &h2, UC_HOOK_MEM_INVALID, (void *)hook_unmapped, NULL, 1, 0)))
        die(ST_LOAD, "uc_hook_add: %s", uc_strerror(e));

    if (verbose) fprintf(stderr, "machorun: entry 0x%" PRIx64 "\n", entry);
    signal(SIGALRM, on_alarm);
    if (timeout_s) alarm((unsigned)(timeout_s > 100000 ? 100000 : timeout_s));
    e = uc_emu_start(uc, entry, SENTINEL, 0, max_insns);
    alarm(0);
    fflush(stdout);
    if (stop_status) return stop_status;
    if (timed_out) die(ST_TIMEOUT, "time limit (%" PRIu64 " s) reached", timeout_s);
    if (exit_status >= 0) return exit_status;
    uint64_t pc, ret;
    uc_reg_read(uc, arch == CPU_X86_64 ? UC_X86_REG_RIP : UC_ARM64_REG_PC, &pc);
    if (e) die(ST_FAULT, "%s at pc 0x%" PRIx64, uc_strerror(e), pc);
    if (pc != SENTINEL)
        die(ST_TIMEOUT, "stopped at pc 0x%" PRIx64 " before the entry returned (instruction or time limit)", pc);
    uc_reg_read(uc, arch == CPU_X86_64 ? UC_X86_REG_RAX : UC_ARM64_REG_X0, &ret);
    uc_close(uc);
    return (int)(ret & 0xff);
}
