/* r2r_main.c - the synthetic ReadyToRun program's "runtime" (docs/r2r.md,
 * "Proof"). At startup it does what CoreCLR does with a ReadyToRun image,
 * as far as this test needs: from its own mapped image (GetModuleHandle)
 * it follows data directory 14 to the CLI header, ManagedNativeHeader to the
 * READYTORUN_HEADER, and fills every import cell whose fixup is
 * READYTORUN_FIXUP_Helper 0x47 with &GenericPInvokeCalliHelper (Helper
 * 0x01 Module gets the module base; other cells stay 0). It then checks the
 * RuntimeFunctions table (sorted, sentinel after it, every entry found by
 * RtlLookupFunctionEntry through the PE exception directory: after a
 * rewrite that includes the stubs' entries), runs the three methods and
 * prints their results; the reference runtime logs its events (@enter,
 * @leave, @s2n, @free) on the same stream.
 *
 * With R2R_NO_CELLS set in the environment the 0x47 cells stay 0: the
 * original then crashes at the first site; a rewritten image, whose sites
 * call their stubs, must run the same.
 *
 * Lines: "result: ..." and "@..." must be identical before and after a
 * rewrite; "r2r: ..." describe the image (they differ: sections, count);
 * "FAIL: ..." (exit 1) when a check fails. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "calli_refrt.h"
#include "calli_runtime.h"

int method_a(int a, int b);
double method_b(double x, long long n);
long long method_c(void);

int tgt_add(int a, int b)
{
    return a + b;
}
double tgt_mul(double x, long long n)
{
    return x * (double)n;
}
int tgt_slen(const char *s)
{
    return (int)strlen(s);
}
long long tgt_sum6(long long a, long long b, long long c, long long d, long long e, long long f)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

static int failures;
#define FAIL(...) (printf("FAIL: " __VA_ARGS__), printf("\n"), failures++)

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    calli_refrt_init(&calli_refrt_default, CALLI_REFRT_LOG);
    const uint8_t *base = (const uint8_t *)GetModuleHandleA(NULL);
    const IMAGE_NT_HEADERS64 *nt = (const IMAGE_NT_HEADERS64 *)(base + rd32(base + 0x3C));
    const IMAGE_DATA_DIRECTORY *clr = &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR];
    if (!clr->VirtualAddress || clr->Size < 72) {
        FAIL("no CLI header (data directory 14)");
        return 1;
    }
    const uint8_t *cor = base + clr->VirtualAddress;
    uint32_t hrva = rd32(cor + 64), hsize = rd32(cor + 68);
    const uint8_t *h = base + hrva;
    if (hsize < 16 || rd32(h) != 0x00525452) {
        FAIL("ManagedNativeHeader 0x%x is not a READYTORUN_HEADER", hrva);
        return 1;
    }
    int no_cells = GetEnvironmentVariableA("R2R_NO_CELLS", NULL, 0) != 0;
    uint32_t nsec = rd32(h + 12);
    if (16 + 12 * (uint64_t)nsec > hsize)
        FAIL("ManagedNativeHeader size %u < the section table's %u", hsize, 16 + 12 * nsec);
    printf("r2r: header rva 0x%x, version %u.%u, %u sections\n", hrva, h[4] | h[5] << 8,
           h[6] | h[7] << 8, nsec);
    uint32_t ncalli = 0, nmodule = 0, nrf = 0, map_size = 0, prev_type = 0;
    const uint8_t *rf = NULL;
    for (uint32_t i = 0; i < nsec; i++) {
        const uint8_t *s = h + 16 + 12 * i;
        uint32_t type = rd32(s), rva = rd32(s + 4), size = rd32(s + 8);
        if (i && type <= prev_type) /* the runtime's FindSection asserts this order */
            FAIL("section %u type %u is not after type %u", i, type, prev_type);
        prev_type = type;
        if (type == 101) {
            for (uint32_t k = 0; k + 20 <= size; k += 20) {
                const uint8_t *is = base + rva + k;
                uint32_t cells = rd32(is), csize = rd32(is + 4), sigs = rd32(is + 12);
                uint8_t esz = is[11];
                if (!esz || !sigs)
                    continue;
                for (uint32_t c = 0; c < csize / esz; c++) {
                    const uint8_t *sig = base + rd32(base + sigs + 4 * c);
                    void **cell = (void **)(base + cells + c * esz);
                    if (sig[0] == 0x1A && sig[1] == 0x47) {
                        *cell = no_cells ? NULL : (void *)GenericPInvokeCalliHelper;
                        ncalli++;
                    } else if (sig[0] == 0x1A && sig[1] == 0x01) {
                        *cell = (void *)base;
                        nmodule++;
                    }
                }
            }
        } else if (type == 102) {
            rf = base + rva;
            nrf = size / 12;
        } else if (type == 0xCA110001) {
            map_size = size;
            if (size < 8 || memcmp(base + rva, "CRWMAP\0\1", 8))
                FAIL("section 0xCA110001 does not hold a rewrite map");
        }
    }
    printf("r2r: %u calli helper cells %s, %u module cells\n", ncalli, no_cells ? "left empty" : "filled",
           nmodule);
    if (ncalli != 2 || nmodule != 1)
        FAIL("expected 2 calli cells and 1 module cell");
    if (map_size)
        printf("r2r: rewritten, rewrite map %u bytes\n", map_size);
    else
        printf("r2r: not rewritten\n");
    if (!rf || nrf < 3) {
        FAIL("RuntimeFunctions missing or too short (%u)", nrf);
    } else {
        uint32_t found = 0;
        for (uint32_t i = 0; i < nrf; i++) {
            uint32_t b = rd32(rf + 12 * i), e = rd32(rf + 12 * i + 4);
            if (i && b < rd32(rf + 12 * (i - 1) + 4))
                FAIL("runtime function %u [0x%x, 0x%x) is not sorted", i, b, e);
            DWORD64 ib = 0;
            PRUNTIME_FUNCTION f = RtlLookupFunctionEntry((DWORD64)(uintptr_t)(base + b), &ib, NULL);
            if (!f || ib != (DWORD64)(uintptr_t)base || f->BeginAddress != b || f->EndAddress != e)
                FAIL("RtlLookupFunctionEntry does not find runtime function %u [0x%x, 0x%x)", i, b, e);
            else
                found++;
        }
        if (rd32(rf + 12 * nrf) != 0xFFFFFFFFu)
            FAIL("no 0xFFFFFFFF sentinel after the RuntimeFunctions table");
        printf("r2r: %u runtime functions, %u found by RtlLookupFunctionEntry\n", nrf, found);
    }
    if (failures)
        return 1;
    printf("result: method_a(5, 9) = %d\n", method_a(5, 9));
    printf("result: method_b(1.5, 4) = %.3f\n", method_b(1.5, 4));
    printf("result: method_c() = %lld\n", method_c());
    printf("result: method_a(-3, 100) = %d\n", method_a(-3, 100));
    return failures ? 1 : 0;
}
