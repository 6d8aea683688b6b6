/* pe_r2r.h - the ReadyToRun reader (formats/pe_r2r.c; docs/r2r.md).
 *
 * A ReadyToRun image is a PE32+ image whose CLI header's ManagedNativeHeader
 * (or, in composite images, the export RTR_HEADER) points to a
 * READYTORUN_HEADER. The reader checks and keeps: the header and its section
 * table, the compiler identifier, every import section with every slot's
 * fixup signature kind (and helper id for READYTORUN_FIXUP_Helper), the
 * RuntimeFunctions table, and the MethodDefEntryPoints NativeArray (method
 * row -> runtime function index and fixup list). Layouts are those of
 * dotnet/runtime src/coreclr/inc/readytorun.h and
 * docs/design/coreclr/botr/readytorun-format.md.
 *
 * Import cells whose fixup is READYTORUN_FIXUP_Helper with the calli helper's
 * id (docs/abi.md: 0x47, READYTORUN_HELPER_GenericPInvokeCalli, an extension;
 * configurable with rw_r2r_set_helper_id) become the model's helper slots.
 */
#ifndef CALLIRW_PE_R2R_H
#define CALLIRW_PE_R2R_H

#include <stdint.h>
#include <stdio.h>

#include "image.h"

#define R2R_SIGNATURE 0x00525452u /* "RTR\0" */

/* Section types (ReadyToRunSectionType). */
enum {
    R2R_SEC_COMPILER_IDENTIFIER = 100,
    R2R_SEC_IMPORT_SECTIONS = 101,
    R2R_SEC_RUNTIME_FUNCTIONS = 102,
    R2R_SEC_METHODDEF_ENTRYPOINTS = 103,
    R2R_SEC_EXCEPTION_INFO = 104,
    R2R_SEC_DEBUG_INFO = 105,
    R2R_SEC_DELAYLOAD_METHODCALL_THUNKS = 106,
    R2R_SEC_AVAILABLE_TYPES_OLD = 107,
    R2R_SEC_AVAILABLE_TYPES = 108,
    R2R_SEC_INSTANCE_METHOD_ENTRYPOINTS = 109,
    R2R_SEC_INLINING_INFO = 110,
    R2R_SEC_PROFILEDATA_INFO = 111,
    R2R_SEC_MANIFEST_METADATA = 112,
    R2R_SEC_ATTRIBUTEPRESENCE = 113,
    R2R_SEC_INLINING_INFO2 = 114,
    R2R_SEC_COMPONENT_ASSEMBLIES = 115,
    R2R_SEC_OWNER_COMPOSITE_EXECUTABLE = 116,
    R2R_SEC_PGO_INSTRUMENTATION_DATA = 117,
    R2R_SEC_MANIFEST_ASSEMBLY_MVIDS = 118,
    R2R_SEC_CROSS_MODULE_INLINE_INFO = 119,
    R2R_SEC_HOT_COLD_MAP = 120,
    R2R_SEC_METHOD_IS_GENERIC_MAP = 121,
    R2R_SEC_ENCLOSING_TYPE_MAP = 122,
    R2R_SEC_TYPE_GENERIC_INFO_MAP = 123,
    /* docs/abi.md section 7: the rewrite map, a private-range type */
    R2R_SEC_CALLIRW_MAP = 0xCA110001,
};

#define R2R_FIXUP_HELPER 0x1A
#define R2R_FIXUP_MODULE_OVERRIDE 0x80
#define R2R_HELPER_GENERIC_PINVOKE_CALLI 0x47 /* this ABI's extension */

struct r2r_section {
    uint32_t type, rva, size;
};

struct r2r_slot {
    uint32_t rva;        /* of the cell */
    uint32_t sig_rva;    /* of its fixup signature, 0 if the section has none */
    uint8_t kind;        /* first byte of the signature (ModuleOverride bit included) */
    uint8_t has_sig;
    uint8_t has_module;  /* ModuleOverride: module index follows the kind */
    uint8_t has_helper;  /* kind Helper: helper id follows */
    uint32_t module;
    uint32_t helper;
};

struct r2r_import {
    uint32_t rva, size;
    uint16_t flags;
    uint8_t type, entry_size;
    uint32_t signatures, aux;
    uint32_t first_slot, nslots; /* into r2r_info.slot */
};

struct r2r_rf {
    uint32_t begin, end, unwind; /* arm64: end derived from the unwind data */
};

struct r2r_entry {
    uint32_t rid;      /* MethodDef row (token 0x06000000 | rid) */
    uint32_t rf;       /* runtime function index */
    uint32_t fixups;   /* RVA of the fixup list, 0 if none */
    uint32_t nfixups;
};

struct r2r_info {
    int via_export;    /* found through the export RTR_HEADER (composite) */
    uint32_t header_rva, header_size;
    uint16_t major, minor;
    uint32_t flags;
    uint32_t nsections;
    struct r2r_section *sec;
    const char *compiler; /* NULL when there is no CompilerIdentifier */
    struct r2r_import *imp;
    uint32_t nimp;
    struct r2r_slot *slot;
    uint32_t nslot;
    struct r2r_rf *rf;
    uint32_t nrf;
    uint32_t rf_rva;
    int has_entrypoints;
    uint32_t methoddef_count; /* NativeArray element count */
    struct r2r_entry *ep;
    uint32_t nep;
    uint64_t nfixups;         /* over all entries */
    uint32_t helper_id;
    uint32_t nhelper_slots;
    int rewritten;            /* has a section of type R2R_SEC_CALLIRW_MAP */
};

/* The READYTORUN_HELPER id whose Helper fixups are the calli helper's cells
 * (default 0x47). Process-wide; set before opening images. */
void rw_r2r_set_helper_id(uint32_t id);
uint32_t rw_r2r_helper_id(void);

const char *r2r_section_name(uint32_t type);
const char *r2r_fixup_name(uint32_t kind); /* without the ModuleOverride bit */
const char *r2r_helper_name(uint32_t id);
const char *r2r_import_type_name(uint32_t type);

/* pe_r2r.c, for pe_image.c: after the sections, imports, exports and the CLI
 * header are read. Finds and checks the header, fills st->r2r, adds the
 * runtime functions to the model's functions and the calli helper's cells
 * to its helper slots. RW_OK with st->r2r NULL when the image has none. */
struct pe_state;
enum rw_err pe_read_r2r(struct rw_image *img, struct pe_state *st, uint32_t rtr_export_rva,
                        struct rw_diag *d);
void pe_free_r2r(struct r2r_info *r);

/* The fixups of entry point e, decoded again: calls fn(import, slot) for
 * each; returns the number, or -1 when the list does not decode (it did at
 * open). */
long r2r_entry_fixups(const struct rw_image *img, const struct r2r_entry *e,
                      void (*fn)(void *ctx, uint32_t import, uint32_t slot), void *ctx);

/* NativeFormat (exposed for unit tests). The reader works over the image's
 * RVA space, like the runtime's NativeReader over the mapped image. */
/* Decode an unsigned integer at rva: next RVA, or 0 when it is not readable. */
uint64_t r2r_native_unsigned(const struct rw_image *img, uint64_t rva, uint32_t *value);
/* NativeArray at rva: element count and the RVA of element index's data.
 * 1 found, 0 absent, -1 malformed. */
int r2r_native_array_count(const struct rw_image *img, uint32_t rva, uint32_t *count);
int r2r_native_array_get(const struct rw_image *img, uint32_t rva, uint32_t index, uint32_t *at);

/* The rewrite map a rewritten ReadyToRun image carries as its section
 * R2R_SEC_CALLIRW_MAP (docs/r2r.md, "Rewriting"): 1 with its bytes; 0 when
 * img is not a ReadyToRun PE image or has no such section; -1 when the
 * section is empty or its bytes are not inside one section of the image. */
int pe_r2r_map(const struct rw_image *img, const uint8_t **data, uint32_t *size);

void r2r_describe(const struct rw_image *img, const struct r2r_info *r, FILE *out, int json);

#endif
