/* run_sites.c - an EXE that calls the two sites of sites.S and prints what
 * they return (make check-pe-write runs it under wine before and after the
 * rewrite). Linked with sites.o and the real runtime's DLL (calli_rt.dll),
 * or against a DLL holding sites.S: sites_rt.dll (the real runtime behind
 * it) or sites.dll (helper.dll's stand-in helper returns -1, the target 42:
 * "42" from the rewritten DLL proves its stub ran). */
#include <stdio.h>

int site_imp(void);
int site_thunk(void);

int main(void)
{
    printf("site_imp %d\n", site_imp());
    printf("site_thunk %d\n", site_thunk());
    return 0;
}
