/* sites_a64.c - arm64 Windows (clang --target=aarch64-pc-windows-msvc), for
 * the COFF arm64 relocations and the arm64 PE import table. Built twice:
 * -DIMPORT calls through the import (adrp/ldr __imp_GenericPInvokeCalliHelper:
 * PAGEBASE_REL21 + PAGEOFFSET_12L, then BLR); without it, a direct BL
 * (BRANCH26). Reading only: no cookie is modelled here. */
#ifdef IMPORT
__declspec(dllimport)
#endif
int GenericPInvokeCalliHelper(void);

int calls_helper(int x)
{
    return GenericPInvokeCalliHelper() + x;
}
