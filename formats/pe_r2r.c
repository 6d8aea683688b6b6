/* pe_r2r.c - the ReadyToRun reader: READYTORUN_HEADER and its sections, the
 * compiler identifier, import sections with every cell's fixup signature,
 * RuntimeFunctions, MethodDefEntryPoints (a NativeFormat NativeArray) with
 * the nibble-encoded fixup lists, and the calli helper's cells. Written
 * from readytorun.h and readytorun-format.md (dotnet/runtime); docs/r2r.md.
 *
 * Every RVA is resolved through pe_rva_avail (one section's data, or the
 * mapped headers) and every read is bounds-checked; counts are checked
 * against the bytes they describe before anything is allocated for them. */
#include <stdlib.h>
#include <string.h>

#include "pe_priv.h"
#include "pe_r2r.h"

#define R2R_MAX_SLOTS (1u << 22)      /* import cells over all sections */
#define R2R_MAX_FIXUPS (1u << 24)     /* fixups decoded while checking */

static uint32_t helper_id = R2R_HELPER_GENERIC_PINVOKE_CALLI;

void rw_r2r_set_helper_id(uint32_t id)
{
    helper_id = id;
}

uint32_t rw_r2r_helper_id(void)
{
    return helper_id;
}

const char *r2r_section_name(uint32_t type)
{
    switch (type) {
    case R2R_SEC_COMPILER_IDENTIFIER: return "CompilerIdentifier";
    case R2R_SEC_IMPORT_SECTIONS: return "ImportSections";
    case R2R_SEC_RUNTIME_FUNCTIONS: return "RuntimeFunctions";
    case R2R_SEC_METHODDEF_ENTRYPOINTS: return "MethodDefEntryPoints";
    case R2R_SEC_EXCEPTION_INFO: return "ExceptionInfo";
    case R2R_SEC_DEBUG_INFO: return "DebugInfo";
    case R2R_SEC_DELAYLOAD_METHODCALL_THUNKS: return "DelayLoadMethodCallThunks";
    case R2R_SEC_AVAILABLE_TYPES_OLD: return "AvailableTypes (obsolete format)";
    case R2R_SEC_AVAILABLE_TYPES: return "AvailableTypes";
    case R2R_SEC_INSTANCE_METHOD_ENTRYPOINTS: return "InstanceMethodEntryPoints";
    case R2R_SEC_INLINING_INFO: return "InliningInfo";
    case R2R_SEC_PROFILEDATA_INFO: return "ProfileDataInfo";
    case R2R_SEC_MANIFEST_METADATA: return "ManifestMetadata";
    case R2R_SEC_ATTRIBUTEPRESENCE: return "AttributePresence";
    case R2R_SEC_INLINING_INFO2: return "InliningInfo2";
    case R2R_SEC_COMPONENT_ASSEMBLIES: return "ComponentAssemblies";
    case R2R_SEC_OWNER_COMPOSITE_EXECUTABLE: return "OwnerCompositeExecutable";
    case R2R_SEC_PGO_INSTRUMENTATION_DATA: return "PgoInstrumentationData";
    case R2R_SEC_MANIFEST_ASSEMBLY_MVIDS: return "ManifestAssemblyMvids";
    case R2R_SEC_CROSS_MODULE_INLINE_INFO: return "CrossModuleInlineInfo";
    case R2R_SEC_HOT_COLD_MAP: return "HotColdMap";
    case R2R_SEC_METHOD_IS_GENERIC_MAP: return "MethodIsGenericMap";
    case R2R_SEC_ENCLOSING_TYPE_MAP: return "EnclosingTypeMap";
    case R2R_SEC_TYPE_GENERIC_INFO_MAP: return "TypeGenericInfoMap";
    case R2R_SEC_CALLIRW_MAP: return "callirw rewrite map";
    default: return NULL;
    }
}

const char *r2r_fixup_name(uint32_t kind)
{
    switch (kind) {
    case 0x07: return "ThisObjDictionaryLookup";
    case 0x08: return "TypeDictionaryLookup";
    case 0x09: return "MethodDictionaryLookup";
    case 0x10: return "TypeHandle";
    case 0x11: return "MethodHandle";
    case 0x12: return "FieldHandle";
    case 0x13: return "MethodEntry";
    case 0x14: return "MethodEntry_DefToken";
    case 0x15: return "MethodEntry_RefToken";
    case 0x16: return "VirtualEntry";
    case 0x17: return "VirtualEntry_DefToken";
    case 0x18: return "VirtualEntry_RefToken";
    case 0x19: return "VirtualEntry_Slot";
    case 0x1A: return "Helper";
    case 0x1B: return "StringHandle";
    case 0x1C: return "NewObject";
    case 0x1D: return "NewArray";
    case 0x1E: return "IsInstanceOf";
    case 0x1F: return "ChkCast";
    case 0x20: return "FieldAddress";
    case 0x21: return "CctorTrigger";
    case 0x22: return "StaticBaseNonGC";
    case 0x23: return "StaticBaseGC";
    case 0x24: return "ThreadStaticBaseNonGC";
    case 0x25: return "ThreadStaticBaseGC";
    case 0x26: return "FieldBaseOffset";
    case 0x27: return "FieldOffset";
    case 0x28: return "TypeDictionary";
    case 0x29: return "MethodDictionary";
    case 0x2A: return "Check_TypeLayout";
    case 0x2B: return "Check_FieldOffset";
    case 0x2C: return "DelegateCtor";
    case 0x2D: return "DeclaringTypeHandle";
    case 0x2E: return "IndirectPInvokeTarget";
    case 0x2F: return "PInvokeTarget";
    case 0x30: return "Check_InstructionSetSupport";
    case 0x31: return "Verify_FieldOffset";
    case 0x32: return "Verify_TypeLayout";
    case 0x33: return "Check_VirtualFunctionOverride";
    case 0x34: return "Verify_VirtualFunctionOverride";
    case 0x35: return "Check_IL_Body";
    case 0x36: return "Verify_IL_Body";
    case 0x37: return "ContinuationLayout";
    case 0x38: return "ResumptionStubEntryPoint";
    default: return NULL;
    }
}

const char *r2r_helper_name(uint32_t id)
{
    switch (id) {
    case 0x00: return "Invalid";
    case 0x01: return "Module";
    case 0x02: return "GSCookie";
    case 0x03: return "IndirectTrapThreads";
    case 0x08: return "DelayLoad_MethodCall";
    case 0x10: return "DelayLoad_Helper";
    case 0x11: return "DelayLoad_Helper_Obj";
    case 0x12: return "DelayLoad_Helper_ObjObj";
    case 0x20: return "Throw";
    case 0x21: return "Rethrow";
    case 0x22: return "Overflow";
    case 0x23: return "RngChkFail";
    case 0x24: return "FailFast";
    case 0x25: return "ThrowNullRef";
    case 0x26: return "ThrowDivZero";
    case 0x27: return "ThrowExact";
    case 0x30: return "WriteBarrier";
    case 0x31: return "CheckedWriteBarrier";
    case 0x32: return "ByRefWriteBarrier";
    case 0x33: return "BulkWriteBarrier";
    case 0x38: return "Stelem_Ref";
    case 0x39: return "Ldelema_Ref";
    case 0x3E: return "MemZero";
    case 0x3F: return "MemSet";
    case 0x40: return "NativeMemSet";
    case 0x41: return "MemCpy";
    case 0x42: return "PInvokeBegin";
    case 0x43: return "PInvokeEnd";
    case 0x44: return "GCPoll";
    case 0x45: return "ReversePInvokeEnter";
    case 0x46: return "ReversePInvokeExit";
    case 0x47: return "GenericPInvokeCalli (callirw ABI extension)";
    case 0x50: return "GetString";
    case 0x51: return "LogMethodEnter";
    case 0x54: return "GetRuntimeTypeHandle";
    case 0x55: return "GetRuntimeMethodHandle";
    case 0x56: return "GetRuntimeFieldHandle";
    case 0x58: return "Box";
    case 0x59: return "Box_Nullable";
    case 0x5A: return "Unbox";
    case 0x5B: return "Unbox_Nullable";
    case 0x5C: return "NewMultiDimArr";
    case 0x5D: return "Unbox_TypeTest";
    case 0x60: return "NewObject";
    case 0x61: return "NewArray";
    case 0x62: return "CheckCastAny";
    case 0x63: return "CheckInstanceAny";
    case 0x64: return "GenericGcStaticBase";
    case 0x65: return "GenericNonGcStaticBase";
    case 0x66: return "GenericGcTlsBase";
    case 0x67: return "GenericNonGcTlsBase";
    case 0x68: return "VirtualFuncPtr";
    case 0x69: return "IsInstanceOfException";
    case 0x6A: return "NewMaybeFrozenArray";
    case 0x6B: return "NewMaybeFrozenObject";
    case 0xC0: return "LMul";
    case 0xC1: return "LMulOfv";
    case 0xC2: return "ULMulOvf";
    case 0xC3: return "LDiv";
    case 0xC4: return "LMod";
    case 0xC5: return "ULDiv";
    case 0xC6: return "ULMod";
    case 0xC7: return "LLsh";
    case 0xC8: return "LRsh";
    case 0xC9: return "LRsz";
    case 0xCA: return "Lng2Dbl";
    case 0xCB: return "ULng2Dbl";
    case 0xCC: return "Div";
    case 0xCD: return "Mod";
    case 0xCE: return "UDiv";
    case 0xCF: return "UMod";
    case 0xD0: return "Dbl2Int";
    case 0xD1: return "Dbl2IntOvf";
    case 0xD2: return "Dbl2Lng";
    case 0xD3: return "Dbl2LngOvf";
    case 0xD4: return "Dbl2UInt";
    case 0xD5: return "Dbl2UIntOvf";
    case 0xD6: return "Dbl2ULng";
    case 0xD7: return "Dbl2ULngOvf";
    case 0xD8: return "Lng2Flt";
    case 0xD9: return "ULng2Flt";
    case 0xE0: return "DblRem";
    case 0xE1: return "FltRem";
    case 0xE2: return "DblRound";
    case 0xE3: return "FltRound";
    case 0xF0: return "PersonalityRoutine";
    case 0xF1: return "PersonalityRoutineFilterFunclet";
    case 0xF8: return "MonitorEnter";
    case 0xF9: return "MonitorExit";
    case 0x100: return "WriteBarrier_EAX";
    case 0x101: return "WriteBarrier_EBX";
    case 0x102: return "WriteBarrier_ECX";
    case 0x103: return "WriteBarrier_ESI";
    case 0x104: return "WriteBarrier_EDI";
    case 0x105: return "WriteBarrier_EBP";
    case 0x106: return "CheckedWriteBarrier_EAX";
    case 0x107: return "CheckedWriteBarrier_EBX";
    case 0x108: return "CheckedWriteBarrier_ECX";
    case 0x109: return "CheckedWriteBarrier_ESI";
    case 0x10A: return "CheckedWriteBarrier_EDI";
    case 0x10B: return "CheckedWriteBarrier_EBP";
    case 0x110: return "EndCatch";
    case 0x111: return "StackProbe";
    case 0x112: return "GetCurrentManagedThreadId";
    default: return NULL;
    }
}

const char *r2r_import_type_name(uint32_t type)
{
    switch (type) {
    case 0: return "Unknown";
    case 2: return "StubDispatch";
    case 3: return "StringHandle";
    case 7: return "ILBodyFixups";
    default: return NULL;
    }
}

/* ---- NativeFormat ---- */

uint64_t r2r_native_unsigned(const struct rw_image *img, uint64_t rva, uint32_t *value)
{
    uint64_t avail;
    const uint8_t *p = pe_rva_avail(img, rva, &avail);
    if (!p || avail < 1)
        return 0;
    uint32_t b = p[0];
    if (!(b & 1)) {
        *value = b >> 1;
        return rva + 1;
    }
    if (!(b & 2)) {
        if (avail < 2)
            return 0;
        *value = b >> 2 | (uint32_t)p[1] << 6;
        return rva + 2;
    }
    if (!(b & 4)) {
        if (avail < 3)
            return 0;
        *value = b >> 3 | (uint32_t)p[1] << 5 | (uint32_t)p[2] << 13;
        return rva + 3;
    }
    if (!(b & 8)) {
        if (avail < 4)
            return 0;
        *value = b >> 4 | (uint32_t)p[1] << 4 | (uint32_t)p[2] << 12 | (uint32_t)p[3] << 20;
        return rva + 4;
    }
    if (!(b & 16)) {
        if (avail < 5)
            return 0;
        *value = pe_u32(p + 1);
        return rva + 5;
    }
    return 0;
}

int r2r_native_array_count(const struct rw_image *img, uint32_t rva, uint32_t *count)
{
    uint32_t hdr;
    if (!r2r_native_unsigned(img, rva, &hdr))
        return -1;
    *count = hdr >> 2;
    return 1;
}

int r2r_native_array_get(const struct rw_image *img, uint32_t rva, uint32_t index, uint32_t *at)
{
    uint32_t hdr;
    uint64_t base = r2r_native_unsigned(img, rva, &hdr);
    if (!base)
        return -1;
    if (index >= hdr >> 2)
        return 0;
    unsigned isz = hdr & 3;
    uint64_t block = index / 16, off;
    const uint8_t *p;
    if (isz == 0) {
        if (!(p = pe_rva_bytes(img, base + block, 1)))
            return -1;
        off = p[0];
    } else if (isz == 1) {
        if (!(p = pe_rva_bytes(img, base + 2 * block, 2)))
            return -1;
        off = pe_u16(p);
    } else { /* 2; the runtime reads 3 the same way */
        if (!(p = pe_rva_bytes(img, base + 4 * block, 4)))
            return -1;
        off = pe_u32(p);
    }
    uint64_t pos = base + off;
    for (uint32_t bit = 8; bit; bit >>= 1) {
        if (pos > UINT32_MAX)
            return -1;
        uint32_t val;
        uint64_t next = r2r_native_unsigned(img, pos, &val);
        if (!next)
            return -1;
        if (index & bit) {
            if (val & 2) { /* the higher child, at a relative offset */
                pos += val >> 2;
                continue;
            }
        } else if (val & 1) { /* the lower child follows the node */
            pos = next;
            continue;
        }
        if ((val & 3) == 0 && (val >> 2) == (index & 15)) { /* a leaf for exactly this index */
            pos = next;
            break;
        }
        return 0;
    }
    if (pos > UINT32_MAX)
        return -1;
    *at = (uint32_t)pos;
    return 1;
}

/* ---- fixup lists (nibble-encoded) ---- */

struct nibbles {
    const uint8_t *p;
    uint64_t n; /* nibbles available */
    uint64_t i;
};

/* 0 and *v, or -1 (truncated, or more than 32 bits). */
static int nib_u32(struct nibbles *r, uint32_t *v)
{
    uint64_t x = 0;
    for (int k = 0; k < 12; k++) {
        if (r->i >= r->n)
            return -1;
        uint8_t b = r->p[r->i / 2];
        uint8_t nib = r->i & 1 ? b >> 4 : b & 15;
        r->i++;
        x = x << 3 | (nib & 7);
        if (x > UINT32_MAX)
            return -1;
        if (!(nib & 8)) {
            *v = (uint32_t)x;
            return 0;
        }
    }
    return -1;
}

/* Walk the fixup list at rva: fn(import, slot) for each (fn may be NULL).
 * The number of fixups, or -1 with *why set. limit bounds the count. */
static long fixup_walk(const struct rw_image *img, const struct r2r_info *r, uint32_t rva,
                       uint64_t limit, void (*fn)(void *, uint32_t, uint32_t), void *ctx,
                       const char **why)
{
    uint64_t avail;
    const uint8_t *p = pe_rva_avail(img, rva, &avail);
    *why = "is outside the image";
    if (!p)
        return -1;
    struct nibbles nr = {p, avail > UINT64_MAX / 2 ? UINT64_MAX : avail * 2, 0};
    uint32_t table, slot, delta;
    long n = 0;
    *why = "is truncated or malformed";
    if (nib_u32(&nr, &table))
        return -1;
    for (;;) {
        if (nib_u32(&nr, &slot))
            return -1;
        for (;;) {
            if (table >= r->nimp) {
                *why = "names an import section that does not exist";
                return -1;
            }
            if (slot >= r->imp[table].nslots) {
                *why = "names a slot past the end of its import section";
                return -1;
            }
            if ((uint64_t)n >= limit) {
                *why = "has too many entries";
                return -1;
            }
            if (fn)
                fn(ctx, table, slot);
            n++;
            if (nib_u32(&nr, &delta))
                return -1;
            if (delta == 0)
                break;
            if (delta > UINT32_MAX - slot) {
                *why = "overflows a slot index";
                return -1;
            }
            slot += delta;
        }
        if (nib_u32(&nr, &delta))
            return -1;
        if (delta == 0)
            return n;
        if (delta > UINT32_MAX - table) {
            *why = "overflows an import section index";
            return -1;
        }
        table += delta;
    }
}

long r2r_entry_fixups(const struct rw_image *img, const struct r2r_entry *e,
                      void (*fn)(void *ctx, uint32_t import, uint32_t slot), void *ctx)
{
    const struct pe_state *st = pe_st(img);
    const char *why;
    if (!st || !st->r2r || !e->fixups)
        return 0;
    return fixup_walk(img, st->r2r, e->fixups, R2R_MAX_FIXUPS, fn, ctx, &why);
}

/* ---- the reader ---- */

void pe_free_r2r(struct r2r_info *r)
{
    if (!r)
        return;
    free(r->sec);
    free(r->imp);
    free(r->slot);
    free(r->rf);
    free(r->ep);
    free(r);
}

static const struct r2r_section *find_sec(const struct r2r_info *r, uint32_t type)
{
    for (uint32_t i = 0; i < r->nsections; i++)
        if (r->sec[i].type == type)
            return &r->sec[i];
    return NULL;
}

/* [rva, rva + size) inside one section of the image (data or not). */
static int in_section(const struct rw_image *img, uint32_t rva, uint32_t size)
{
    if (size == 0)
        return 1;
    uint32_t s = pe_sec_of_rva(img, rva);
    if (s == RW_NONE)
        return 0;
    uint64_t off = pe_st(img)->image_base + rva - img->sec[s].addr;
    return size <= img->sec[s].size - off;
}

/* ECMA-335 compressed unsigned integer at *pos (bytes p[0..n)). */
static int ecma_uint(const uint8_t *p, uint64_t n, uint64_t *pos, uint32_t *v)
{
    uint64_t i = *pos;
    if (i >= n)
        return -1;
    uint8_t b = p[i];
    if (!(b & 0x80)) {
        *v = b;
        *pos = i + 1;
    } else if ((b & 0xC0) == 0x80) {
        if (n - i < 2)
            return -1;
        *v = (uint32_t)(b & 0x3F) << 8 | p[i + 1];
        *pos = i + 2;
    } else if ((b & 0xE0) == 0xC0) {
        if (n - i < 4)
            return -1;
        *v = (uint32_t)(b & 0x1F) << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
        *pos = i + 4;
    } else {
        return -1;
    }
    return 0;
}

static enum rw_err read_header(struct rw_image *img, struct r2r_info *r, struct rw_diag *d)
{
    const uint8_t *h = pe_rva_bytes(img, r->header_rva, 16);
    if (!h)
        return rw_fail(d, RW_E_CORRUPT, "ReadyToRun header at RVA 0x%x is outside the image", r->header_rva);
    r->major = pe_u16(h + 4);
    r->minor = pe_u16(h + 6);
    r->flags = pe_u32(h + 8);
    r->nsections = pe_u32(h + 12);
    uint64_t bytes = 12 * (uint64_t)r->nsections;
    const uint8_t *t = pe_rva_bytes(img, (uint64_t)r->header_rva + 16, bytes);
    if (!t)
        return rw_fail(d, RW_E_CORRUPT, "ReadyToRun section table (%u entries) is outside the image",
                       r->nsections);
    if (r->nsections) {
        r->sec = calloc(r->nsections, sizeof *r->sec);
        if (!r->sec)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < r->nsections; i++) {
        struct r2r_section *s = &r->sec[i];
        s->type = pe_u32(t + 12 * (size_t)i);
        s->rva = pe_u32(t + 12 * (size_t)i + 4);
        s->size = pe_u32(t + 12 * (size_t)i + 8);
        if (s->size && !pe_rva_bytes(img, s->rva, s->size)) {
            const char *name = r2r_section_name(s->type);
            return rw_fail(d, RW_E_CORRUPT, "ReadyToRun section %u (%s) [0x%x, +0x%x) is outside the image",
                           s->type, name ? name : "unknown type", s->rva, s->size);
        }
        if (s->type == R2R_SEC_CALLIRW_MAP)
            r->rewritten = 1;
    }
    const struct r2r_section *ci = find_sec(r, R2R_SEC_COMPILER_IDENTIFIER);
    if (ci) {
        const char *p = (const char *)pe_rva_bytes(img, ci->rva, ci->size);
        size_t len = 0;
        while (p && len < ci->size && p[len])
            len++;
        struct pe_state *st = pe_st(img);
        r->compiler = pe_strndup(st, p ? p : "", p ? len : 0);
        if (!r->compiler)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    return RW_OK;
}

static enum rw_err read_imports(struct rw_image *img, struct r2r_info *r, struct rw_diag *d)
{
    const struct r2r_section *is = find_sec(r, R2R_SEC_IMPORT_SECTIONS);
    if (!is)
        return RW_OK;
    if (is->size % 20)
        return rw_fail(d, RW_E_CORRUPT, "ReadyToRun ImportSections size 0x%x is not a multiple of 20", is->size);
    r->nimp = is->size / 20;
    if (!r->nimp)
        return RW_OK;
    const uint8_t *t = pe_rva_bytes(img, is->rva, is->size);
    r->imp = calloc(r->nimp, sizeof *r->imp);
    if (!t || !r->imp)
        return rw_fail(d, t ? RW_E_NOMEM : RW_E_CORRUPT, t ? "out of memory" : "ImportSections outside the image");
    uint64_t total = 0;
    for (uint32_t i = 0; i < r->nimp; i++) {
        const uint8_t *e = t + 20 * (size_t)i;
        struct r2r_import *im = &r->imp[i];
        im->rva = pe_u32(e);
        im->size = pe_u32(e + 4);
        im->flags = pe_u16(e + 8);
        im->type = e[10];
        im->entry_size = e[11];
        im->signatures = pe_u32(e + 12);
        im->aux = pe_u32(e + 16);
        if (!im->size)
            continue;
        if (!im->entry_size || im->size % im->entry_size)
            return rw_fail(d, RW_E_CORRUPT, "ReadyToRun import section %u: size 0x%x is not a multiple of its entry size %u",
                           i, im->size, im->entry_size);
        if (!in_section(img, im->rva, im->size))
            return rw_fail(d, RW_E_CORRUPT, "ReadyToRun import section %u: cells [0x%x, +0x%x) are outside the image",
                           i, im->rva, im->size);
        im->first_slot = (uint32_t)total;
        im->nslots = im->size / im->entry_size;
        total += im->nslots;
        if (total > R2R_MAX_SLOTS)
            return rw_fail(d, RW_E_UNSUPPORTED, "ReadyToRun image with more than %u import cells", R2R_MAX_SLOTS);
    }
    r->nslot = (uint32_t)total;
    if (total) {
        r->slot = calloc(total, sizeof *r->slot);
        if (!r->slot)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    struct pe_state *st = pe_st(img);
    enum rw_err err;
    for (uint32_t i = 0; i < r->nimp; i++) {
        const struct r2r_import *im = &r->imp[i];
        if (!im->nslots)
            continue;
        /* the cells are filled by the runtime: their values are not static */
        if ((err = pe_push_slot_range(img, im->rva, (uint64_t)im->rva + im->size, d)))
            return err;
        const uint8_t *sigs = NULL;
        if (im->signatures && !(sigs = pe_rva_bytes(img, im->signatures, 4 * (uint64_t)im->nslots)))
            return rw_fail(d, RW_E_CORRUPT, "ReadyToRun import section %u: signature table at RVA 0x%x is outside the image",
                           i, im->signatures);
        for (uint32_t k = 0; k < im->nslots; k++) {
            struct r2r_slot *sl = &r->slot[im->first_slot + k];
            sl->rva = im->rva + k * (uint32_t)im->entry_size;
            if (!sigs)
                continue;
            sl->sig_rva = pe_u32(sigs + 4 * (size_t)k);
            uint64_t avail, pos = 1;
            const uint8_t *p = pe_rva_avail(img, sl->sig_rva, &avail);
            if (!p)
                return rw_fail(d, RW_E_CORRUPT, "ReadyToRun import section %u slot %u: fixup signature at RVA 0x%x is outside the image",
                               i, k, sl->sig_rva);
            sl->has_sig = 1;
            sl->kind = p[0];
            if (sl->kind & R2R_FIXUP_MODULE_OVERRIDE) {
                if (ecma_uint(p, avail, &pos, &sl->module))
                    return rw_fail(d, RW_E_CORRUPT, "ReadyToRun import section %u slot %u: truncated module override",
                                   i, k);
                sl->has_module = 1;
            }
            if ((sl->kind & 0x7F) == R2R_FIXUP_HELPER) {
                if (ecma_uint(p, avail, &pos, &sl->helper))
                    return rw_fail(d, RW_E_CORRUPT, "ReadyToRun import section %u slot %u: truncated helper id",
                                   i, k);
                sl->has_helper = 1;
                if (sl->helper == r->helper_id) {
                    if ((err = pe_push_helper_slot(img, st->image_base + sl->rva, d)))
                        return err;
                    r->nhelper_slots++;
                }
            }
        }
    }
    return RW_OK;
}

static enum rw_err read_runtime_functions(struct rw_image *img, struct r2r_info *r, struct rw_diag *d)
{
    const struct r2r_section *rs = find_sec(r, R2R_SEC_RUNTIME_FUNCTIONS);
    if (!rs)
        return RW_OK;
    int a64 = img->machine == RW_MACH_AARCH64;
    uint32_t esz = a64 ? 8 : 12;
    if (rs->size % esz)
        return rw_fail(d, RW_E_CORRUPT, "ReadyToRun RuntimeFunctions size 0x%x is not a multiple of %u", rs->size, esz);
    r->rf_rva = rs->rva;
    r->nrf = rs->size / esz;
    if (!r->nrf)
        return RW_OK;
    const uint8_t *t = pe_rva_bytes(img, rs->rva, rs->size);
    r->rf = calloc(r->nrf, sizeof *r->rf);
    if (!t || !r->rf)
        return rw_fail(d, t ? RW_E_NOMEM : RW_E_CORRUPT, t ? "out of memory" : "RuntimeFunctions outside the image");
    struct pe_state *st = pe_st(img);
    enum rw_err e;
    for (uint32_t i = 0; i < r->nrf; i++) {
        const uint8_t *p = t + (size_t)esz * i;
        struct r2r_rf *f = &r->rf[i];
        f->begin = pe_u32(p);
        if (a64) {
            f->unwind = pe_u32(p + 4);
            uint32_t len;
            if (f->unwind & 3) {
                len = ((f->unwind >> 2) & 0x7FF) * 4;
            } else {
                const uint8_t *x = pe_rva_bytes(img, f->unwind, 4);
                if (!x)
                    return rw_fail(d, RW_E_CORRUPT, "ReadyToRun runtime function %u: unwind data at RVA 0x%x is outside the image",
                                   i, f->unwind);
                len = (pe_u32(x) & 0x3FFFF) * 4;
            }
            if (len > UINT32_MAX - f->begin)
                return rw_fail(d, RW_E_CORRUPT, "ReadyToRun runtime function %u: length overflows", i);
            f->end = f->begin + len;
        } else {
            f->end = pe_u32(p + 4);
            f->unwind = pe_u32(p + 8);
        }
        uint32_t s = pe_sec_of_rva(img, f->begin);
        if (f->end <= f->begin || s == RW_NONE || !(img->sec[s].flags & RW_SEC_EXEC) ||
            !in_section(img, f->begin, f->end - f->begin))
            return rw_fail(d, RW_E_CORRUPT, "ReadyToRun runtime function %u [0x%x, 0x%x) is not inside an executable section",
                           i, f->begin, f->end);
        uint64_t off = st->image_base + f->begin - img->sec[s].addr;
        if ((e = pe_push_func(img, s, off, off + (f->end - f->begin), NULL, d)))
            return e;
    }
    return RW_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static enum rw_err read_entrypoints(struct rw_image *img, struct r2r_info *r, struct rw_diag *d)
{
    const struct r2r_section *es = find_sec(r, R2R_SEC_METHODDEF_ENTRYPOINTS);
    if (!es)
        return RW_OK;
    r->has_entrypoints = 1;
    uint32_t hdr;
    uint64_t base = r2r_native_unsigned(img, es->rva, &hdr);
    if (!base)
        return rw_fail(d, RW_E_CORRUPT, "ReadyToRun MethodDefEntryPoints: unreadable NativeArray header");
    r->methoddef_count = hdr >> 2;
    if (r->methoddef_count > 1u << 24) /* a MethodDef RID has 24 bits */
        return rw_fail(d, RW_E_CORRUPT, "ReadyToRun MethodDefEntryPoints: %u elements, more than a MethodDef table can have",
                       r->methoddef_count);
    unsigned isz = hdr & 3;
    uint64_t blocks = ((uint64_t)r->methoddef_count + 15) / 16;
    if (!pe_rva_bytes(img, base, blocks * (isz == 0 ? 1 : isz == 1 ? 2 : 4)))
        return rw_fail(d, RW_E_CORRUPT, "ReadyToRun MethodDefEntryPoints: block index for %u elements is outside the image",
                       r->methoddef_count);
    size_t cap = 0;
    for (uint32_t i = 0; i < r->methoddef_count; i++) {
        uint32_t at;
        int found = r2r_native_array_get(img, es->rva, i, &at);
        if (found < 0)
            return rw_fail(d, RW_E_CORRUPT, "ReadyToRun MethodDefEntryPoints: element %u is malformed", i);
        if (!found)
            continue;
        uint32_t id, back;
        uint64_t next = r2r_native_unsigned(img, at, &id);
        if (!next)
            return rw_fail(d, RW_E_CORRUPT, "ReadyToRun MethodDefEntryPoints: entry of method row %u is unreadable", i + 1);
        uint32_t fix = 0, rf;
        if (id & 1) {
            fix = (uint32_t)next;
            if (id & 2) { /* the fixup list is earlier, shared with another entry */
                if (!r2r_native_unsigned(img, next, &back) || back > next || back == 0)
                    return rw_fail(d, RW_E_CORRUPT, "ReadyToRun MethodDefEntryPoints: bad fixup back-reference of method row %u",
                                   i + 1);
                fix = (uint32_t)(next - back);
            }
            rf = id >> 2;
        } else {
            rf = id >> 1;
        }
        if (rf >= r->nrf)
            return rw_fail(d, RW_E_CORRUPT, "ReadyToRun MethodDefEntryPoints: method row %u names runtime function %u of %u",
                           i + 1, rf, r->nrf);
        if (rw_grow((void **)&r->ep, &cap, r->nep, sizeof *r->ep))
            return rw_fail(d, RW_E_NOMEM, "out of memory");
        r->ep[r->nep++] = (struct r2r_entry){i + 1, rf, fix, 0};
    }
    /* check each distinct fixup list once */
    uint32_t *u = r->nep ? malloc(r->nep * sizeof *u) : NULL;
    uint32_t *cnt = r->nep ? malloc(r->nep * sizeof *cnt) : NULL;
    if (r->nep && (!u || !cnt)) {
        free(u);
        free(cnt);
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    size_t nu = 0;
    for (uint32_t i = 0; i < r->nep; i++)
        if (r->ep[i].fixups)
            u[nu++] = r->ep[i].fixups;
    if (nu > 1)
        qsort(u, nu, sizeof *u, cmp_u32);
    size_t m = 0;
    for (size_t i = 0; i < nu; i++)
        if (!m || u[i] != u[m - 1])
            u[m++] = u[i];
    uint64_t budget = R2R_MAX_FIXUPS;
    for (size_t i = 0; i < m; i++) {
        const char *why;
        long n = fixup_walk(img, r, u[i], budget, NULL, NULL, &why);
        if (n < 0) {
            rw_fail(d, RW_E_CORRUPT, "ReadyToRun fixup list at RVA 0x%x %s", u[i], why);
            free(u);
            free(cnt);
            return RW_E_CORRUPT;
        }
        cnt[i] = (uint32_t)n;
        budget -= (uint64_t)n;
    }
    for (uint32_t i = 0; i < r->nep; i++) {
        if (!r->ep[i].fixups)
            continue;
        size_t lo = 0, hi = m;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (u[mid] < r->ep[i].fixups)
                lo = mid + 1;
            else
                hi = mid;
        }
        r->ep[i].nfixups = cnt[lo];
        r->nfixups += cnt[lo];
    }
    free(u);
    free(cnt);
    return RW_OK;
}

enum rw_err pe_read_r2r(struct rw_image *img, struct pe_state *st, uint32_t rtr_export_rva,
                        struct rw_diag *d)
{
    uint32_t rva = 0, size = 0;
    int via_export = 0;
    if (st->has_cli && st->mnh_rva) {
        const uint8_t *p = pe_rva_bytes(img, st->mnh_rva, 4);
        if (!p)
            return rw_fail(d, RW_E_CORRUPT, "CLI ManagedNativeHeader at RVA 0x%x is outside the image", st->mnh_rva);
        if (pe_u32(p) == R2R_SIGNATURE) {
            rva = st->mnh_rva;
            size = st->mnh_size;
        }
    }
    if (!rva && rtr_export_rva) { /* composite images: the export RTR_HEADER */
        const uint8_t *p = pe_rva_bytes(img, rtr_export_rva, 4);
        if (p && pe_u32(p) == R2R_SIGNATURE) {
            rva = rtr_export_rva;
            via_export = 1;
        }
    }
    if (!rva)
        return RW_OK;
    struct r2r_info *r = calloc(1, sizeof *r);
    if (!r)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    st->r2r = r;
    r->via_export = via_export;
    r->header_rva = rva;
    r->header_size = size;
    r->helper_id = helper_id;
    enum rw_err e;
    if ((e = read_header(img, r, d)) || (e = read_imports(img, r, d)) ||
        (e = read_runtime_functions(img, r, d)) || (e = read_entrypoints(img, r, d)))
        return e;
    return RW_OK;
}

int pe_r2r_map(const struct rw_image *img, const uint8_t **data, uint32_t *size)
{
    if (!img || img->format != RW_FMT_PE || !img->backend)
        return 0;
    const struct pe_state *st = pe_st(img);
    if (st->object || !st->r2r)
        return 0;
    const struct r2r_section *s = find_sec(st->r2r, R2R_SEC_CALLIRW_MAP);
    if (!s)
        return 0;
    const uint8_t *p = s->size ? pe_rva_bytes(img, s->rva, s->size) : NULL;
    if (!p)
        return -1;
    *data = p;
    *size = s->size;
    return 1;
}
