/* pe_describe.c - `inspect`'s PE/COFF facts (format.h describe): headers,
 * security flags (ASLR, DEP, CFG), data directories, imports, the helper's
 * slots, the CLI header, and the whole ReadyToRun reading (pe_r2r.c), as
 * text or as one JSON object. docs/pe.md and docs/r2r.md show both. */
#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "pe_priv.h"
#include "pe_r2r.h"

/* A string for text output: printable ASCII, the rest as \xNN. */
static void text_str(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p < 0x20 || *p >= 0x7F || *p == '\\')
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
}

struct flag_name {
    uint32_t bit;
    const char *name;
};

static const struct flag_name dllc_names[] = {
    {PE_DLLC_HIGH_ENTROPY_VA, "HIGH_ENTROPY_VA"},
    {PE_DLLC_DYNAMIC_BASE, "DYNAMIC_BASE"},
    {PE_DLLC_FORCE_INTEGRITY, "FORCE_INTEGRITY"},
    {PE_DLLC_NX_COMPAT, "NX_COMPAT"},
    {PE_DLLC_NO_ISOLATION, "NO_ISOLATION"},
    {PE_DLLC_NO_SEH, "NO_SEH"},
    {PE_DLLC_NO_BIND, "NO_BIND"},
    {PE_DLLC_APPCONTAINER, "APPCONTAINER"},
    {PE_DLLC_WDM_DRIVER, "WDM_DRIVER"},
    {PE_DLLC_GUARD_CF, "GUARD_CF"},
    {PE_DLLC_TERMINAL_SERVER_AWARE, "TERMINAL_SERVER_AWARE"},
    {0, NULL},
};

static const struct flag_name r2r_flag_names[] = {
    {0x001, "PLATFORM_NEUTRAL_SOURCE"},
    {0x002, "SKIP_TYPE_VALIDATION"},
    {0x004, "PARTIAL"},
    {0x008, "NONSHARED_PINVOKE_STUBS"},
    {0x010, "EMBEDDED_MSIL"},
    {0x020, "COMPONENT"},
    {0x040, "MULTIMODULE_VERSION_BUBBLE"},
    {0x080, "UNRELATED_R2R_CODE"},
    {0x100, "PLATFORM_NATIVE_IMAGE"},
    {0, NULL},
};

static const struct flag_name import_flag_names[] = {
    {0x0001, "Eager"},
    {0x0004, "PCode"},
    {0, NULL},
};

static const struct flag_name cli_flag_names[] = {
    {0x00001, "ILONLY"},
    {0x00002, "32BITREQUIRED"},
    {0x00004, "IL_LIBRARY"},
    {0x00008, "STRONGNAMESIGNED"},
    {0x00010, "NATIVE_ENTRYPOINT"},
    {0x10000, "TRACKDEBUGDATA"},
    {0x20000, "32BITPREFERRED"},
    {0, NULL},
};

static void text_flags(FILE *out, uint32_t v, const struct flag_name *t)
{
    uint32_t known = 0;
    int any = 0;
    for (; t->name; t++)
        if (v & t->bit) {
            fprintf(out, "%s%s", any ? " " : "", t->name);
            known |= t->bit;
            any = 1;
        }
    if (v & ~known)
        fprintf(out, "%s0x%" PRIx32, any ? " " : "", v & ~known);
    if (!v)
        fprintf(out, "none");
}

static void json_flags(FILE *out, uint32_t v, const struct flag_name *t)
{
    fprintf(out, "{\"value\":%" PRIu32 ",\"names\":[", v);
    int any = 0;
    uint32_t known = 0;
    for (; t->name; t++)
        if (v & t->bit) {
            fprintf(out, "%s\"%s\"", any ? "," : "", t->name);
            known |= t->bit;
            any = 1;
        }
    fprintf(out, "],\"unknown\":%" PRIu32 "}", v & ~known);
}

static const char *kind_text(const struct rw_image *img)
{
    switch (img->kind) {
    case RW_KIND_OBJECT: return "object";
    case RW_KIND_SHARED: return "dll";
    default: return "exe";
    }
}

static const char *os_name(uint16_t os)
{
    switch (os) {
    case 0: return "windows";
    case PE_OS_LINUX: return "linux";
    case PE_OS_APPLE: return "apple";
    case PE_OS_FREEBSD: return "freebsd";
    case PE_OS_NETBSD: return "netbsd";
    case PE_OS_SUNOS: return "sunos";
    default: return "unknown";
    }
}

static size_t count_helper_iat(const struct rw_image *img)
{
    const struct pe_state *st = pe_st(img);
    const struct r2r_info *r = st->r2r;
    size_t n = r ? r->nhelper_slots : 0;
    return img->helper.nslots > n ? img->helper.nslots - n : 0;
}

/* ---- objects ---- */

static void describe_object(const struct rw_image *img, const struct pe_state *st, FILE *out, int json)
{
    const char *m = pe_machine_name(st->machine);
    if (json) {
        fprintf(out, "{\"format\":\"PE/COFF\",\"kind\":\"object\",\"bigobj\":%s,\"machine\":\"%s\","
                     "\"machine_value\":%u,\"sections\":%zu,\"symbols\":%zu,\"symbol_records\":%" PRIu32
                     ",\"relocations\":%zu,\"functions\":%zu,\"helper_symbols\":[",
                st->bigobj ? "true" : "false", m ? m : "?", st->machine, img->nsec, img->nsym,
                st->nsyms, img->nrel, img->nfunc);
        for (size_t i = 0; i < img->helper.nsyms; i++) {
            fprintf(out, "%s", i ? "," : "");
            rw_json_str(out, img->sym[img->helper.syms[i]].name);
        }
        fprintf(out, "],\"helper_import_symbols\":[");
        for (size_t i = 0; i < img->helper.nimp_syms; i++) {
            fprintf(out, "%s", i ? "," : "");
            rw_json_str(out, img->sym[img->helper.imp_syms[i]].name);
        }
        fprintf(out, "]}\n");
        return;
    }
    fprintf(out, "PE/COFF: COFF object%s, %s (machine 0x%04x)\n", st->bigobj ? " (/bigobj)" : "",
            m ? m : "?", st->machine);
    fprintf(out, "  %zu sections, %zu symbols (%" PRIu32 " records), %zu relocations, %zu function ranges\n",
            img->nsec, img->nsym, st->nsyms, img->nrel, img->nfunc);
    fprintf(out, "  helper %s: %zu symbol%s, %zu import symbol%s (__imp_)\n", img->helper_name,
            img->helper.nsyms, img->helper.nsyms == 1 ? "" : "s", img->helper.nimp_syms,
            img->helper.nimp_syms == 1 ? "" : "s");
}

/* ---- images ---- */

static void text_image(const struct rw_image *img, const struct pe_state *st, FILE *out)
{
    const char *m = pe_machine_name(img->machine == RW_MACH_X86_64 ? PE_MACHINE_AMD64 : PE_MACHINE_ARM64);
    fprintf(out, "PE/COFF: PE32+ %s, %s (machine 0x%04x", img->kind == RW_KIND_SHARED ? "DLL" : "EXE", m,
            st->machine);
    if (st->os_override)
        fprintf(out, ", ReadyToRun target OS %s", os_name(st->os_override));
    fprintf(out, ")\n");
    fprintf(out, "  image base 0x%" PRIx64 ", entry point RVA 0x%" PRIx32 ", size of image 0x%" PRIx32
                 ", subsystem %u, linker %u.%u\n",
            st->image_base, st->entry_rva, st->size_of_image, st->subsystem, st->linker_major,
            st->linker_minor);
    fprintf(out, "  DLL characteristics 0x%04x: ", st->dll_characteristics);
    text_flags(out, st->dll_characteristics, dllc_names);
    fprintf(out, "\n  ASLR %s (%zu DIR64 base relocation%s), DEP %s, CFG %s",
            st->dll_characteristics & PE_DLLC_DYNAMIC_BASE ? "yes" : "no", st->nbaserel,
            st->nbaserel == 1 ? "" : "s", st->dll_characteristics & PE_DLLC_NX_COMPAT ? "yes" : "no",
            st->dll_characteristics & PE_DLLC_GUARD_CF ? "yes" : "no");
    if (st->has_load_config)
        fprintf(out, " (load config %" PRIu32 " bytes, guard flags 0x%08" PRIx32 ")", st->load_config_size,
                st->guard_flags);
    fprintf(out, "\n  sections (%zu):\n", img->nsec);
    for (size_t i = 0; i < img->nsec; i++) {
        const struct rw_section *sc = &img->sec[i];
        uint32_t ch = pe_u32(st->shdr + 40 * i + 36);
        fprintf(out, "    [%2zu] %-16s rva 0x%08" PRIx64 " size 0x%08" PRIx64 " %c%c%c%s\n", i + 1, sc->name,
                sc->addr - st->image_base, sc->size, ch & PE_SCN_MEM_READ ? 'r' : '-',
                ch & PE_SCN_MEM_WRITE ? 'w' : '-', ch & PE_SCN_MEM_EXECUTE ? 'x' : '-',
                sc->flags & RW_SEC_NOBITS ? " (no file data)" : "");
    }
    fprintf(out, "  data directories:\n");
    for (uint32_t i = 0; i < st->ndirs; i++)
        if (st->dir_rva[i] || st->dir_size[i])
            fprintf(out, "    [%2u] %-13s %s 0x%08" PRIx32 " size 0x%" PRIx32 "\n", i, pe_dir_name(i),
                    i == PE_DIR_SECURITY ? "off" : "rva", st->dir_rva[i], st->dir_size[i]);
    size_t nd = 0;
    for (size_t i = 0; i < st->ndlls; i++)
        nd += !st->dlls[i].delay;
    fprintf(out, "  imports: %zu DLL%s, %zu delay-loaded, %zu function%s\n", nd, nd == 1 ? "" : "s",
            st->ndlls - nd, st->nimports, st->nimports == 1 ? "" : "s");
    if (st->nexports || st->export_name) {
        fprintf(out, "  exports: %" PRIu32 " named", st->nexports);
        if (st->export_name) {
            fprintf(out, " (");
            text_str(out, st->export_name);
            fprintf(out, ")");
        }
        fprintf(out, "\n");
    }
    fprintf(out, "  exception directory: %zu RUNTIME_FUNCTION%s", st->npdata, st->npdata == 1 ? "" : "s");
    if (st->npdata_bad)
        fprintf(out, " (%zu outside executable sections, ignored)", st->npdata_bad);
    fprintf(out, "\n");
    if (st->symtab || st->symtab_ignored)
        fprintf(out, "  COFF symbol table: %s\n", st->symtab_ignored ? "present but unreadable (ignored)" : "read");
    fprintf(out, "  helper %s: %zu IAT slot%s, %zu address%s\n", img->helper_name, count_helper_iat(img),
            count_helper_iat(img) == 1 ? "" : "s", img->helper.naddrs, img->helper.naddrs == 1 ? "" : "es");
    for (size_t i = 0; i < img->helper.nslots; i++)
        fprintf(out, "    slot 0x%" PRIx64 "\n", img->helper.slots[i]);
    for (size_t i = 0; i < img->helper.naddrs; i++)
        fprintf(out, "    address 0x%" PRIx64 "\n", img->helper.addrs[i]);
    if (st->has_cli) {
        fprintf(out, "  CLI header: runtime %u.%u, flags 0x%" PRIx32 " (", st->cli_major, st->cli_minor,
                st->cli_flags);
        text_flags(out, st->cli_flags, cli_flag_names);
        fprintf(out, "), ManagedNativeHeader rva 0x%" PRIx32 " size 0x%" PRIx32 "\n", st->mnh_rva, st->mnh_size);
    }
}

static void json_image(const struct rw_image *img, const struct pe_state *st, FILE *out)
{
    const char *m = pe_machine_name(img->machine == RW_MACH_X86_64 ? PE_MACHINE_AMD64 : PE_MACHINE_ARM64);
    fprintf(out, "{\"format\":\"PE/COFF\",\"kind\":\"%s\",\"machine\":\"%s\",\"machine_value\":%u,"
                 "\"target_os\":\"%s\",\"image_base\":%" PRIu64 ",\"entry_rva\":%" PRIu32
                 ",\"size_of_image\":%" PRIu32 ",\"subsystem\":%u,\"dll_characteristics\":",
            kind_text(img), m, st->machine, os_name(st->os_override), st->image_base, st->entry_rva,
            st->size_of_image, st->subsystem);
    json_flags(out, st->dll_characteristics, dllc_names);
    fprintf(out, ",\"aslr\":%s,\"high_entropy_va\":%s,\"dep\":%s,\"cfg\":%s,\"guard_flags\":%" PRIu32
                 ",\"base_relocations\":{\"dir64\":%zu,\"other\":%zu",
            st->dll_characteristics & PE_DLLC_DYNAMIC_BASE ? "true" : "false",
            st->dll_characteristics & PE_DLLC_HIGH_ENTROPY_VA ? "true" : "false",
            st->dll_characteristics & PE_DLLC_NX_COMPAT ? "true" : "false",
            st->dll_characteristics & PE_DLLC_GUARD_CF ? "true" : "false", st->guard_flags, st->nbaserel,
            st->nbaserel_other);
    fprintf(out, "},\"sections\":[");
    for (size_t i = 0; i < img->nsec; i++) {
        const struct rw_section *sc = &img->sec[i];
        fprintf(out, "%s{\"name\":", i ? "," : "");
        rw_json_str(out, sc->name);
        fprintf(out, ",\"rva\":%" PRIu64 ",\"virtual_size\":%" PRIu64 ",\"characteristics\":%" PRIu32 "}",
                sc->addr - st->image_base, sc->size, pe_u32(st->shdr + 40 * i + 36));
    }
    fprintf(out, "],\"data_directories\":[");
    int any = 0;
    for (uint32_t i = 0; i < st->ndirs; i++)
        if (st->dir_rva[i] || st->dir_size[i]) {
            fprintf(out, "%s{\"index\":%" PRIu32 ",\"name\":\"%s\",\"%s\":%" PRIu32 ",\"size\":%" PRIu32 "}",
                    any ? "," : "", i, pe_dir_name(i), i == PE_DIR_SECURITY ? "offset" : "rva",
                    st->dir_rva[i], st->dir_size[i]);
            any = 1;
        }
    fprintf(out, "],\"imports\":{\"dlls\":[");
    for (size_t i = 0; i < st->ndlls; i++) {
        fprintf(out, "%s{\"name\":", i ? "," : "");
        rw_json_str(out, st->dlls[i].name);
        fprintf(out, ",\"functions\":%" PRIu32 ",\"iat_rva\":%" PRIu32 ",\"delay\":%s}", st->dlls[i].nfuncs,
                st->dlls[i].iat_rva, st->dlls[i].delay ? "true" : "false");
    }
    fprintf(out, "],\"functions\":%zu},\"exports\":%" PRIu32 ",\"exception_entries\":%zu,"
                 "\"exception_entries_ignored\":%zu,\"helper\":{\"name\":",
            st->nimports, st->nexports, st->npdata, st->npdata_bad);
    rw_json_str(out, img->helper_name);
    fprintf(out, ",\"slots\":[");
    for (size_t i = 0; i < img->helper.nslots; i++)
        fprintf(out, "%s%" PRIu64, i ? "," : "", img->helper.slots[i]);
    fprintf(out, "],\"addresses\":[");
    for (size_t i = 0; i < img->helper.naddrs; i++)
        fprintf(out, "%s%" PRIu64, i ? "," : "", img->helper.addrs[i]);
    fprintf(out, "]},\"cli\":");
    if (st->has_cli) {
        fprintf(out, "{\"runtime\":\"%u.%u\",\"flags\":", st->cli_major, st->cli_minor);
        json_flags(out, st->cli_flags, cli_flag_names);
        fprintf(out, ",\"managed_native_header\":{\"rva\":%" PRIu32 ",\"size\":%" PRIu32 "}}", st->mnh_rva,
                st->mnh_size);
    } else {
        fprintf(out, "null");
    }
    fprintf(out, ",\"readytorun\":");
    if (st->r2r)
        r2r_describe(img, st->r2r, out, 1);
    else
        fprintf(out, "null");
    fprintf(out, "}\n");
}

void pe_describe(const struct rw_image *img, FILE *out, int json)
{
    const struct pe_state *st = pe_st(img);
    if (!st)
        return;
    if (st->object) {
        describe_object(img, st, out, json);
        return;
    }
    if (json) {
        json_image(img, st, out);
        return;
    }
    text_image(img, st, out);
    if (st->r2r)
        r2r_describe(img, st->r2r, out, 0);
}

/* ---- ReadyToRun ---- */

static void text_fixup(FILE *out, const struct r2r_slot *sl)
{
    if (!sl->has_sig) {
        fprintf(out, "(no signature)");
        return;
    }
    uint32_t k = sl->kind & 0x7F;
    const char *n = r2r_fixup_name(k);
    fprintf(out, "%s (0x%02x)", n ? n : "unknown fixup", k);
    if (sl->has_module)
        fprintf(out, " [module override %" PRIu32 "]", sl->module);
    if (sl->has_helper) {
        const char *h = r2r_helper_name(sl->helper);
        fprintf(out, " helper 0x%" PRIx32 " %s", sl->helper, h ? h : "(unknown)");
    }
}

static void json_fixup(FILE *out, const struct r2r_slot *sl)
{
    if (!sl->has_sig) {
        fprintf(out, "null");
        return;
    }
    uint32_t k = sl->kind & 0x7F;
    const char *n = r2r_fixup_name(k);
    fprintf(out, "{\"kind\":%" PRIu32 ",\"name\":", k);
    if (n)
        rw_json_str(out, n);
    else
        fprintf(out, "null");
    fprintf(out, ",\"module_override\":");
    if (sl->has_module)
        fprintf(out, "%" PRIu32, sl->module);
    else
        fprintf(out, "null");
    if (sl->has_helper) {
        const char *h = r2r_helper_name(sl->helper);
        fprintf(out, ",\"helper\":{\"id\":%" PRIu32 ",\"name\":", sl->helper);
        if (h)
            rw_json_str(out, h);
        else
            fprintf(out, "null");
        fprintf(out, "}");
    }
    fprintf(out, "}");
}

struct fix_print {
    FILE *out;
    int json, first;
};

static void print_fixup(void *ctx, uint32_t import, uint32_t slot)
{
    struct fix_print *fp = ctx;
    if (fp->json)
        fprintf(fp->out, "%s[%" PRIu32 ",%" PRIu32 "]", fp->first ? "" : ",", import, slot);
    else
        fprintf(fp->out, "%s%" PRIu32 ":%" PRIu32, fp->first ? "" : " ", import, slot);
    fp->first = 0;
}

static void text_r2r(const struct rw_image *img, const struct r2r_info *r, FILE *out)
{
    const struct pe_state *st = pe_st(img);
    fprintf(out, "ReadyToRun: header rva 0x%" PRIx32 "%s, version %u.%u, flags 0x%08" PRIx32 " (",
            r->header_rva, r->via_export ? " (export RTR_HEADER)" : "", r->major, r->minor, r->flags);
    text_flags(out, r->flags, r2r_flag_names);
    fprintf(out, ")\n  sections (%" PRIu32 "):\n", r->nsections);
    for (uint32_t i = 0; i < r->nsections; i++) {
        const char *n = r2r_section_name(r->sec[i].type);
        fprintf(out, "    %-10" PRIu32 " %-27s rva 0x%08" PRIx32 " size 0x%" PRIx32 "\n", r->sec[i].type,
                n ? n : "(unknown)", r->sec[i].rva, r->sec[i].size);
    }
    if (r->compiler) {
        fprintf(out, "  compiler identifier: \"");
        text_str(out, r->compiler);
        fprintf(out, "\"\n");
    }
    fprintf(out, "  import sections (%" PRIu32 "), %" PRIu32 " slot%s:\n", r->nimp, r->nslot,
            r->nslot == 1 ? "" : "s");
    for (uint32_t i = 0; i < r->nimp; i++) {
        const struct r2r_import *im = &r->imp[i];
        const char *tn = r2r_import_type_name(im->type);
        fprintf(out, "    [%" PRIu32 "] rva 0x%" PRIx32 " size 0x%" PRIx32 " flags 0x%04x (", i, im->rva,
                im->size, im->flags);
        text_flags(out, im->flags, import_flag_names);
        fprintf(out, ") type %u (%s) entry size %u signatures 0x%" PRIx32 " aux 0x%" PRIx32 ": %" PRIu32
                     " slot%s\n",
                im->type, tn ? tn : "unknown", im->entry_size, im->signatures, im->aux, im->nslots,
                im->nslots == 1 ? "" : "s");
        for (uint32_t k = 0; k < im->nslots; k++) {
            const struct r2r_slot *sl = &r->slot[im->first_slot + k];
            fprintf(out, "        slot %-4" PRIu32 " rva 0x%" PRIx32 " sig 0x%" PRIx32 ": ", k, sl->rva,
                    sl->sig_rva);
            text_fixup(out, sl);
            fprintf(out, "\n");
        }
    }
    fprintf(out, "  runtime functions (%" PRIu32 "), %s layout:\n", r->nrf,
            img->machine == RW_MACH_AARCH64 ? "arm64 (8-byte)" : "x64 (12-byte)");
    for (uint32_t i = 0; i < r->nrf; i++)
        fprintf(out, "    [%" PRIu32 "] 0x%" PRIx32 "-0x%" PRIx32 " unwind 0x%" PRIx32 "\n", i, r->rf[i].begin,
                r->rf[i].end, r->rf[i].unwind);
    if (r->has_entrypoints) {
        fprintf(out, "  method entry points (MethodDefEntryPoints): %" PRIu32 " row%s, %" PRIu32
                     " with code, %" PRIu64 " fixup%s\n",
                r->methoddef_count, r->methoddef_count == 1 ? "" : "s", r->nep, r->nfixups,
                r->nfixups == 1 ? "" : "s");
        for (uint32_t i = 0; i < r->nep; i++) {
            const struct r2r_entry *e = &r->ep[i];
            fprintf(out, "    0x%08" PRIx32 " -> runtime function %" PRIu32 " (0x%" PRIx32 ")", 0x06000000u | e->rid,
                    e->rf, r->rf[e->rf].begin);
            if (e->fixups) {
                struct fix_print fp = {out, 0, 1};
                fprintf(out, ", fixups at 0x%" PRIx32 ": ", e->fixups);
                r2r_entry_fixups(img, e, print_fixup, &fp);
            }
            fprintf(out, "\n");
        }
    }
    fprintf(out, "  calli helper cells (Helper 0x%" PRIx32 "): %" PRIu32 "\n", r->helper_id, r->nhelper_slots);
    for (uint32_t i = 0; i < r->nslot; i++)
        if (r->slot[i].has_helper && r->slot[i].helper == r->helper_id)
            fprintf(out, "    0x%" PRIx64 "\n", st->image_base + r->slot[i].rva);
}

static void json_r2r(const struct rw_image *img, const struct r2r_info *r, FILE *out)
{
    const struct pe_state *st = pe_st(img);
    fprintf(out, "{\"header_rva\":%" PRIu32 ",\"header_size\":%" PRIu32 ",\"via_export\":%s,\"signature\":%" PRIu32
                 ",\"major\":%u,\"minor\":%u,\"flags\":",
            r->header_rva, r->header_size, r->via_export ? "true" : "false", R2R_SIGNATURE, r->major, r->minor);
    json_flags(out, r->flags, r2r_flag_names);
    fprintf(out, ",\"sections\":[");
    for (uint32_t i = 0; i < r->nsections; i++) {
        const char *n = r2r_section_name(r->sec[i].type);
        fprintf(out, "%s{\"type\":%" PRIu32 ",\"name\":", i ? "," : "", r->sec[i].type);
        if (n)
            rw_json_str(out, n);
        else
            fprintf(out, "null");
        fprintf(out, ",\"rva\":%" PRIu32 ",\"size\":%" PRIu32 "}", r->sec[i].rva, r->sec[i].size);
    }
    fprintf(out, "],\"compiler_identifier\":");
    if (r->compiler)
        rw_json_str(out, r->compiler);
    else
        fprintf(out, "null");
    fprintf(out, ",\"import_sections\":[");
    for (uint32_t i = 0; i < r->nimp; i++) {
        const struct r2r_import *im = &r->imp[i];
        const char *tn = r2r_import_type_name(im->type);
        fprintf(out, "%s{\"index\":%" PRIu32 ",\"rva\":%" PRIu32 ",\"size\":%" PRIu32 ",\"flags\":", i ? "," : "",
                i, im->rva, im->size);
        json_flags(out, im->flags, import_flag_names);
        fprintf(out, ",\"type\":{\"value\":%u,\"name\":", im->type);
        if (tn)
            rw_json_str(out, tn);
        else
            fprintf(out, "null");
        fprintf(out, "},\"entry_size\":%u,\"signatures_rva\":%" PRIu32 ",\"auxiliary_data_rva\":%" PRIu32
                     ",\"slots\":[",
                im->entry_size, im->signatures, im->aux);
        for (uint32_t k = 0; k < im->nslots; k++) {
            const struct r2r_slot *sl = &r->slot[im->first_slot + k];
            fprintf(out, "%s{\"index\":%" PRIu32 ",\"rva\":%" PRIu32 ",\"va\":%" PRIu64 ",\"signature_rva\":%" PRIu32
                         ",\"fixup\":",
                    k ? "," : "", k, sl->rva, st->image_base + sl->rva, sl->sig_rva);
            json_fixup(out, sl);
            fprintf(out, "}");
        }
        fprintf(out, "]}");
    }
    fprintf(out, "],\"slots\":%" PRIu32 ",\"runtime_functions\":{\"rva\":%" PRIu32 ",\"count\":%" PRIu32
                 ",\"entry_size\":%u,\"entries\":[",
            r->nslot, r->rf_rva, r->nrf, img->machine == RW_MACH_AARCH64 ? 8 : 12);
    for (uint32_t i = 0; i < r->nrf; i++)
        fprintf(out, "%s{\"begin\":%" PRIu32 ",\"end\":%" PRIu32 ",\"unwind\":%" PRIu32 "}", i ? "," : "",
                r->rf[i].begin, r->rf[i].end, r->rf[i].unwind);
    fprintf(out, "]},\"method_entry_points\":");
    if (r->has_entrypoints) {
        fprintf(out, "{\"rows\":%" PRIu32 ",\"fixups\":%" PRIu64 ",\"entries\":[", r->methoddef_count, r->nfixups);
        for (uint32_t i = 0; i < r->nep; i++) {
            const struct r2r_entry *e = &r->ep[i];
            fprintf(out, "%s{\"rid\":%" PRIu32 ",\"token\":%" PRIu32 ",\"runtime_function\":%" PRIu32
                         ",\"fixups_rva\":%" PRIu32 ",\"fixups\":[",
                    i ? "," : "", e->rid, 0x06000000u | e->rid, e->rf, e->fixups);
            struct fix_print fp = {out, 1, 1};
            r2r_entry_fixups(img, e, print_fixup, &fp);
            fprintf(out, "]}");
        }
        fprintf(out, "]}");
    } else {
        fprintf(out, "null");
    }
    fprintf(out, ",\"helper_id\":%" PRIu32 ",\"helper_slots\":[", r->helper_id);
    int first = 1;
    for (uint32_t i = 0; i < r->nslot; i++)
        if (r->slot[i].has_helper && r->slot[i].helper == r->helper_id) {
            fprintf(out, "%s%" PRIu64, first ? "" : ",", st->image_base + r->slot[i].rva);
            first = 0;
        }
    fprintf(out, "],\"rewritten\":%s}", r->rewritten ? "true" : "false");
}

void r2r_describe(const struct rw_image *img, const struct r2r_info *r, FILE *out, int json)
{
    if (json)
        json_r2r(img, r, out);
    else
        text_r2r(img, r, out);
}
