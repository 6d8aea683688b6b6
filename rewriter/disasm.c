/* disasm.c - x86-64 through Zydis' formatter; arm64 through our decoder's
 * formatter (a64_dec.c: objdump's syntax for the classes it decodes). */
#include <Zydis/Zydis.h>

#include "a64_dec.h"
#include "disasm.h"

static void bytes_col(FILE *f, const uint8_t *p, size_t n)
{
    char buf[3 * 16 + 1] = "";
    size_t k = 0;
    for (size_t i = 0; i < n && i < 15; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%02x ", p[i]);
    fprintf(f, "%-33s", buf);
}

void rw_disasm(FILE *f, enum rw_machine m, const uint8_t *code, size_t len, uint64_t addr,
               const char *indent)
{
    if (m == RW_MACH_AARCH64) {
        for (size_t i = 0; i + 4 <= len; i += 4) {
            struct a64_insn in;
            char text[96];
            a64_decode(a64_word(code + i), &in);
            fprintf(f, "%s%016llx:  %08x  %s\n", indent, (unsigned long long)(addr + i), in.word,
                    a64_format(&in, addr + i, text, sizeof text));
        }
        return;
    }
    ZydisDecoder dec;
    ZydisFormatter fmt;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
    size_t off = 0;
    while (off < len) {
        ZydisDecodedInstruction ins;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        char text[128];
        fprintf(f, "%s%016llx:  ", indent, (unsigned long long)(addr + off));
        if (ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code + off, len - off, &ins, ops)) &&
            ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&fmt, &ins, ops, ins.operand_count_visible,
                                                         text, sizeof text, addr + off, NULL))) {
            bytes_col(f, code + off, ins.length);
            fprintf(f, "%s\n", text);
            off += ins.length;
        } else {
            bytes_col(f, code + off, 1);
            fprintf(f, ".byte 0x%02x\n", code[off]);
            off++;
        }
    }
}
