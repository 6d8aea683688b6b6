/* plain.c - an EXE and a DLL that do not import the helper: no helper slot. */
#include <stdio.h>

__declspec(dllexport) int plain_answer(void)
{
    return 42;
}

int main(void)
{
    printf("%d\n", plain_answer());
    return 0;
}
