/* cmd_scan.c - `callirw scan IMAGE [--json] [--helper NAME]`: list the
 * helper's call sites, how each sets its cookie, the signature and whether
 * it can be rewritten (text table or JSON; schema in docs/scan.md).
 *
 * Exit codes: 0 at least one site, 1 no site, 2 bad usage or bad input
 * (one line "callirw: scan: PATH: MESSAGE"), 3 internal error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calli_sig.h"
#include "cli.h"
#include "cmd_common.h"
#include "format.h"
#include "scan.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: callirw scan [--json] [--decode-all] [--helper NAME] [--helper-rva RVA] [--r2r-helper-id N] IMAGE\n"
            "\n"
            "List the calls of the generic helper in IMAGE (an ELF object, executable\n"
            "or shared library; x86-64): for each, its address, function, call form,\n"
            "how r11 gets the cookie, the signature, and whether it can be rewritten\n"
            "(or why not).\n"
            "\n"
            "  --json         one JSON object instead of the table (docs/scan.md)\n"
            "  --helper NAME  the helper's C name (default GenericPInvokeCalliHelper)\n"
            "  --helper-rva RVA  PE: the helper's entry is at ImageBase + RVA (a stripped\n"
            "                   image with the helper linked in)\n"
            "  --r2r-helper-id N  ReadyToRun: the READYTORUN_HELPER id of the calli\n"
            "                 helper's import cells (default 0x47; docs/r2r.md)\n"
            "  --decode-all   decode every executable section even when nothing in IMAGE\n"
            "                 names the helper (no site can exist then, and the scan\n"
            "                 skips the decode; for testing the decoder: same output)\n"
            "  --help         this text\n"
            "\n"
            "exit codes: 0 sites found, 1 no site, 2 bad usage or bad input, 3 internal error\n");
}

static const char *machine_name(enum rw_machine m)
{
    return m == RW_MACH_X86_64 ? "x86-64" : m == RW_MACH_AARCH64 ? "arm64" : "unknown";
}

static const char *kind_id(const struct rw_image *img)
{
    switch (img->kind) {
    case RW_KIND_OBJECT: return "object";
    case RW_KIND_EXEC: return img->pie ? "pie" : "exec";
    case RW_KIND_SHARED: return "shared";
    }
    return "unknown";
}

static const char *kind_text(const struct rw_image *img)
{
    switch (img->kind) {
    case RW_KIND_OBJECT: return "relocatable object";
    case RW_KIND_EXEC: return img->pie ? "PIE executable" : "executable";
    case RW_KIND_SHARED: return "shared library";
    }
    return "image";
}

/* A location as the table and the JSON print it. */
static void fmt_loc(const struct rw_image *img, uint32_t sec, uint64_t off, char *buf, size_t cap)
{
    if (sec >= img->nsec)
        snprintf(buf, cap, "-");
    else if (img->kind == RW_KIND_OBJECT)
        snprintf(buf, cap, "%s+0x%llx", img->sec[sec].name, (unsigned long long)off);
    else
        snprintf(buf, cap, "0x%llx", (unsigned long long)(img->sec[sec].addr + off));
}

static void fmt_hex(char *buf, size_t cap, uint64_t v)
{
    snprintf(buf, cap, "0x%llx", (unsigned long long)v);
}

struct row {
    char addr[96], func[96], form[16], cookie[128], sig[CALLI_SIG_TEXT_MAX], verdict[200];
};

static void make_row(const struct rw_image *img, const struct rw_site *s, struct row *r)
{
    fmt_loc(img, s->section, s->offset, r->addr, sizeof r->addr);
    rw_describe_loc(img, s->section, s->offset, r->func, sizeof r->func);
    if (!r->func[0])
        snprintf(r->func, sizeof r->func, "-");
    snprintf(r->form, sizeof r->form, "%s", rw_site_form_name(s->form));
    if (s->cookie_form == RW_COOKIE_NONE) {
        snprintf(r->cookie, sizeof r->cookie, "-");
    } else {
        char loc[96];
        fmt_loc(img, s->cookie_section,
                s->cookie_section == RW_NONE ? s->cookie_addr : s->cookie_offset, loc, sizeof loc);
        if (s->cookie_section == RW_NONE && img->kind != RW_KIND_OBJECT && s->cookie_addr)
            fmt_hex(loc, sizeof loc, s->cookie_addr);
        snprintf(r->cookie, sizeof r->cookie, "%s %s", rw_cookie_form_name(s->cookie_form), loc);
    }
    if (!calli_sig_format(&s->sig, s->cookie_flags & 1, r->sig, sizeof r->sig))
        snprintf(r->sig, sizeof r->sig, "-");
    if (s->verdict == RW_SITE_OK)
        snprintf(r->verdict, sizeof r->verdict, "ok");
    else
        snprintf(r->verdict, sizeof r->verdict, "%s: %s", rw_verdict_name(s->verdict), s->reason);
}

static int width(int w, const char *s)
{
    int n = (int)strlen(s);
    return n > w ? n : w;
}

static void print_text(const struct rw_image *img, const struct rw_scan *sc, FILE *out)
{
    fprintf(out, "%s: %s %s %s, helper %s%s%s%s\n", img->path, img->ops ? img->ops->name : "?",
            machine_name(img->machine), kind_text(img), img->helper_name, img->ibt ? ", IBT" : "",
            img->bti ? ", BTI" : "", img->rewritten ? ", already rewritten" : "");
    if (sc->nsites == 0) {
        fprintf(out, "no sites\n");
        return;
    }
    struct row *rows = calloc(sc->nsites, sizeof *rows);
    if (!rows) {
        fprintf(out, "out of memory\n");
        return;
    }
    int wa = 7, wf = 8, wc = 4, wk = 6, ws = 9;
    for (size_t i = 0; i < sc->nsites; i++) {
        make_row(img, &sc->sites[i], &rows[i]);
        wa = width(wa, rows[i].addr);
        wf = width(wf, rows[i].func);
        wc = width(wc, rows[i].form);
        wk = width(wk, rows[i].cookie);
        ws = width(ws, rows[i].sig);
    }
    fprintf(out, "%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wa, "ADDRESS", wf, "FUNCTION", wc, "CALL",
            wk, "COOKIE", ws, "SIGNATURE", "VERDICT");
    for (size_t i = 0; i < sc->nsites; i++)
        fprintf(out, "%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wa, rows[i].addr, wf, rows[i].func, wc,
                rows[i].form, wk, rows[i].cookie, ws, rows[i].sig, rows[i].verdict);
    free(rows);
    fprintf(out, "%zu site%s: %zu rewritable, %zu left\n", sc->nsites, sc->nsites == 1 ? "" : "s",
            sc->nok, sc->nsites - sc->nok);
}

static void json_hex_or_null(FILE *out, int present, uint64_t v)
{
    if (present)
        fprintf(out, "\"0x%llx\"", (unsigned long long)v);
    else
        fputs("null", out);
}

static void json_site(const struct rw_image *img, const struct rw_site *s, FILE *out)
{
    int obj = img->kind == RW_KIND_OBJECT;
    const struct rw_section *sec = &img->sec[s->section];
    fputs("    {\"section\": ", out);
    rw_json_str(out, sec->name);
    fprintf(out, ", \"offset\": \"0x%llx\", \"address\": ", (unsigned long long)s->offset);
    json_hex_or_null(out, !obj, s->addr);
    const struct rw_func *f = rw_func_at(img, s->section, s->offset);
    fputs(",\n     \"function\": ", out);
    if (f && f->name)
        rw_json_str(out, f->name);
    else
        fputs("null", out);
    fputs(", \"function_offset\": ", out);
    json_hex_or_null(out, f != NULL, f ? s->offset - f->start : 0);
    fprintf(out, ",\n     \"form\": \"%s\", \"length\": %u, \"bytes\": \"", rw_site_form_id(s->form),
            s->length);
    for (unsigned i = 0; i < s->length && i < RW_SITE_MAX_BYTES; i++)
        fprintf(out, "%02x", s->orig[i]);
    fputs("\",\n     \"cookie\": {\"form\": ", out);
    fprintf(out, "\"%s\", \"setter\": ", rw_cookie_form_id(s->cookie_form));
    json_hex_or_null(out, s->cookie_form != RW_COOKIE_NONE,
                     obj ? s->setter_offset : sec->addr + s->setter_offset);
    int has_loc = s->cookie_section != RW_NONE && s->cookie_section < img->nsec;
    fputs(", \"section\": ", out);
    if (has_loc)
        rw_json_str(out, img->sec[s->cookie_section].name);
    else
        fputs("null", out);
    fputs(", \"offset\": ", out);
    json_hex_or_null(out, has_loc, s->cookie_offset);
    fputs(", \"address\": ", out);
    json_hex_or_null(out, !obj && (has_loc || s->cookie_addr), s->cookie_addr);
    fputs(", \"flags\": ", out);
    if (s->verdict == RW_SITE_OK)
        fprintf(out, "%u", s->cookie_flags);
    else
        fputs("null", out);
    fputs("},\n     \"signature\": ", out);
    char text[CALLI_SIG_TEXT_MAX];
    if (calli_sig_format(&s->sig, s->cookie_flags & 1, text, sizeof text))
        rw_json_str(out, text);
    else
        fputs("null", out);
    fputs(", \"key\": ", out);
    if (calli_sig_key(&s->sig, s->cookie_flags & 1, text, sizeof text))
        rw_json_str(out, text);
    else
        fputs("null", out);
    fprintf(out, ",\n     \"verdict\": \"%s\", \"reason\": ", rw_verdict_id(s->verdict));
    rw_json_str(out, s->reason);
    fputs("}", out);
}

static void print_json(const struct rw_image *img, const struct rw_scan *sc, FILE *out)
{
    fputs("{\n  \"image\": ", out);
    rw_json_str(out, img->path);
    fputs(", \"format\": ", out);
    rw_json_str(out, img->ops ? img->ops->name : "?");
    fprintf(out, ", \"machine\": \"%s\", \"kind\": \"%s\",\n  \"helper\": ",
            machine_name(img->machine), kind_id(img));
    rw_json_str(out, img->helper_name);
    fprintf(out, ", \"ibt\": %s, \"bti\": %s, \"rewritten\": %s,\n  \"sites\": [",
            img->ibt ? "true" : "false", img->bti ? "true" : "false",
            img->rewritten ? "true" : "false");
    for (size_t i = 0; i < sc->nsites; i++) {
        fputs(i ? ",\n" : "\n", out);
        json_site(img, &sc->sites[i], out);
    }
    fprintf(out, "%s],\n  \"summary\": {\"sites\": %zu, \"rewritable\": %zu, \"left\": %zu}\n}\n",
            sc->nsites ? "\n  " : "", sc->nsites, sc->nok, sc->nsites - sc->nok);
}

/* scan --decode-all (for rw_scan_print, whose callers other than this
 * command never set it). */
static int decode_all;

int rw_scan_print(const char *label, const uint8_t *data, size_t size, const char *helper,
                  uint64_t helper_rva, int json, FILE *out)
{
    struct rw_image img;
    struct rw_diag d = {0};
    enum rw_err e = rw_image_open_mem(&img, label, data, size, helper, &d);
    if (!e && helper_rva != UINT64_MAX && (e = rw_apply_helper_rva(&img, helper_rva, &d)))
        rw_image_close(&img);
    if (e) {
        fprintf(stderr, "callirw: scan: %s: %s\n", label, d.msg[0] ? d.msg : rw_strerror(e));
        return rw_exit_for_input(e);
    }
    img.decode_all = decode_all != 0;
    struct rw_scan sc;
    e = rw_scan_image(&img, &sc, &d);
    if (e) {
        fprintf(stderr, "callirw: scan: %s: %s\n", label, d.msg[0] ? d.msg : rw_strerror(e));
        rw_image_close(&img);
        return rw_exit_for_input(e);
    }
    if (json)
        print_json(&img, &sc, out);
    else
        print_text(&img, &sc, out);
    int rc = sc.nsites ? CALLIRW_EXIT_OK : CALLIRW_EXIT_NOTHING;
    rw_scan_free(&sc);
    rw_image_close(&img);
    return rc;
}

/* A container (fat file): every slice as an image "PATH[arch]"; text: one
 * table after another; JSON: {"image", "format", "slices": [one scan object
 * per slice, or {"slice", "error"} for a slice that could not be read]}.
 * Exit: the worst of the slices' (an unreadable slice is bad input), else 0
 * when any slice has a site. */
static int scan_container(const struct rw_container_ops *co, const char *path,
                          const uint8_t *data, size_t size, const char *helper,
                          uint64_t helper_rva, int json)
{
    struct rw_diag d = {0};
    struct rw_slice *sl = NULL;
    size_t n = 0;
    enum rw_err e = co->split(data, size, &sl, &n, &d);
    if (e) {
        fprintf(stderr, "callirw: scan: %s: %s\n", path, d.msg[0] ? d.msg : rw_strerror(e));
        return rw_exit_for_input(e);
    }
    int rc = CALLIRW_EXIT_NOTHING, bad = 0;
    if (json) {
        fputs("{\"image\": ", stdout);
        rw_json_str(stdout, path);
        fputs(", \"format\": ", stdout);
        rw_json_str(stdout, co->name);
        fputs(", \"slices\": [\n", stdout);
    } else {
        printf("%s: %s file, %zu slice%s\n", path, co->name, n, n == 1 ? "" : "s");
    }
    for (size_t i = 0; i < n; i++) {
        char label[4096];
        snprintf(label, sizeof label, "%s[%s]", path, sl[i].name);
        if (json && i)
            fputs(",\n", stdout);
        if (!json)
            printf("\n");
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = json ? open_memstream(&buf, &len) : stdout;
        if (!mem) {
            fprintf(stderr, "callirw: scan: %s: out of memory\n", path);
            free(sl);
            return CALLIRW_EXIT_INTERNAL;
        }
        int r = rw_scan_print(label, data + sl[i].offset, (size_t)sl[i].size, helper, helper_rva,
                              json, mem);
        if (json) {
            fclose(mem);
            if (r == CALLIRW_EXIT_OK || r == CALLIRW_EXIT_NOTHING) {
                fwrite(buf, 1, len, stdout);
            } else {
                fputs("{\"slice\": ", stdout);
                rw_json_str(stdout, sl[i].name);
                fputs(", \"error\": true}\n", stdout);
            }
            free(buf);
        }
        if (r == CALLIRW_EXIT_OK)
            rc = CALLIRW_EXIT_OK;
        else if (r != CALLIRW_EXIT_NOTHING && r > bad)
            bad = r;
    }
    if (json)
        fputs("]}\n", stdout);
    free(sl);
    return bad ? bad : rc;
}

int cmd_scan(int argc, char **argv)
{
    int json = 0;
    const char *helper = NULL, *path = NULL;
    uint64_t helper_rva = UINT64_MAX;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return CALLIRW_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--decode-all")) {
            decode_all = 1;
        } else if (!strcmp(argv[i], "--helper")) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "callirw: scan: --helper needs a name\n");
                return CALLIRW_EXIT_BAD_INPUT;
            }
            helper = argv[++i];
        } else if (!strncmp(argv[i], "--helper=", 9) && argv[i][9]) {
            helper = argv[i] + 9;
        } else if (!strcmp(argv[i], "--r2r-helper-id") || !strncmp(argv[i], "--r2r-helper-id=", 16)) {
            const char *v = argv[i][15] == '=' ? argv[i] + 16 : i + 1 < argc ? argv[++i] : NULL;
            if (rw_opt_r2r_helper_id("scan", v))
                return CALLIRW_EXIT_BAD_INPUT;
        } else if (!strcmp(argv[i], "--helper-rva") || !strncmp(argv[i], "--helper-rva=", 13)) {
            const char *v = argv[i][12] == '=' ? argv[i] + 13 : i + 1 < argc ? argv[++i] : NULL;
            if (rw_opt_helper_rva("scan", v, &helper_rva))
                return CALLIRW_EXIT_BAD_INPUT;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "callirw: scan: unknown option '%s' (try 'callirw scan --help')\n",
                    argv[i]);
            return CALLIRW_EXIT_BAD_INPUT;
        } else if (path) {
            fprintf(stderr, "callirw: scan: one IMAGE only (try 'callirw scan --help')\n");
            return CALLIRW_EXIT_BAD_INPUT;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "callirw: scan: no IMAGE given (try 'callirw scan --help')\n");
        return CALLIRW_EXIT_BAD_INPUT;
    }

    struct rw_diag d = {0};
    const uint8_t *data;
    size_t size;
    enum rw_err e = rw_file_map(path, &data, &size, &d);
    if (e) {
        fprintf(stderr, "callirw: scan: %s: %s\n", path, d.msg[0] ? d.msg : rw_strerror(e));
        return rw_exit_for_input(e);
    }
    int rc;
    const struct rw_container_ops *co = rw_container_probe(data, size);
    if (!co)
        rc = rw_scan_print(path, data, size, helper, helper_rva, json, stdout);
    else
        rc = scan_container(co, path, data, size, helper, helper_rva, json);
    rw_file_unmap(data, size);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "callirw: scan: cannot write the output\n");
        return CALLIRW_EXIT_INTERNAL;
    }
    return rc;
}
