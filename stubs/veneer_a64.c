/* veneer_a64.c - arm64 range-extension veneers (stub.h). */
#include <string.h>

#include "a64_enc.h"
#include "stub.h"

enum stub_err stub_veneer_a64(uint64_t at, uint64_t target, uint8_t out[STUB_VENEER_BYTES])
{
    if (at % 4 || target % 4)
        return STUB_E_ENCODE;
    /* Page distance, computed without signed overflow. */
    int64_t pages = (int64_t)((target >> 12) - (at >> 12));
    uint32_t w[3] = {a64_adrp(16, pages), a64_add_imm(16, 16, (uint32_t)(target & 0xfff)),
                     a64_br(16)};
    for (int i = 0; i < 3; i++) {
        if (w[i] == A64_BAD)
            return STUB_E_ENCODE;
        memcpy(out + 4 * i, &w[i], 4); /* A64 instructions are little-endian */
    }
    return STUB_OK;
}
