/* elf_notes.c - GNU property notes (NT_GNU_PROPERTY_TYPE_0): the x86
 * feature IBT and the arm64 feature BTI, which make the stubs start with
 * endbr64 / bti c. Notes are read from every SHT_NOTE section, bounded by
 * the section; a malformed note ends the reading of its section (the
 * properties only add landing pads, so missing one is never unsafe for the
 * scan, and the writer re-reads them). */
#include <string.h>

#include "elf_priv.h"

#define NT_GNU_PROPERTY_TYPE_0_ 5
#define PROP_X86_FEATURE_1_AND 0xc0000002u
#define PROP_AARCH64_FEATURE_1_AND 0xc0000000u
#define X86_FEATURE_IBT 0x1u
#define AARCH64_FEATURE_BTI 0x1u

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static void read_properties(struct rw_image *img, const uint8_t *p, uint64_t n)
{
    uint64_t pos = 0;
    while (n - pos >= 8) {
        uint32_t type = le32(p + pos), sz = le32(p + pos + 4);
        pos += 8;
        if (sz > n - pos)
            return;
        if (sz >= 4) {
            uint32_t bits = le32(p + pos);
            if (img->machine == RW_MACH_X86_64 && type == PROP_X86_FEATURE_1_AND &&
                (bits & X86_FEATURE_IBT))
                img->ibt = 1;
            if (img->machine == RW_MACH_AARCH64 && type == PROP_AARCH64_FEATURE_1_AND &&
                (bits & AARCH64_FEATURE_BTI))
                img->bti = 1;
        }
        uint64_t next = align_up(pos + sz, 8);
        if (next > n)
            return;
        pos = next;
    }
}

enum rw_err elf_read_notes(struct rw_image *img, struct elf_state *st, struct rw_diag *d)
{
    (void)d;
    for (size_t i = 1; i < st->shnum; i++) {
        const GElf_Shdr *sh = &st->shdr[i];
        const struct rw_section *s = &img->sec[elf_model_sec(i)];
        if (sh->sh_type != SHT_NOTE || !s->data)
            continue;
        uint64_t a = sh->sh_addralign == 8 ? 8 : 4;
        uint64_t pos = 0, n = s->size;
        while (n - pos >= 12) {
            uint32_t namesz = le32(s->data + pos), descsz = le32(s->data + pos + 4);
            uint32_t type = le32(s->data + pos + 8);
            uint64_t name = pos + 12;
            if (namesz > n - name)
                break;
            uint64_t desc = align_up(name + namesz, a);
            if (desc > n || descsz > n - desc)
                break;
            if (type == NT_GNU_PROPERTY_TYPE_0_ && namesz == 4 &&
                !memcmp(s->data + name, "GNU", 4))
                read_properties(img, s->data + desc, descsz);
            uint64_t next = align_up(desc + descsz, a);
            if (next <= pos || next > n)
                break;
            pos = next;
        }
    }
    return RW_OK;
}
