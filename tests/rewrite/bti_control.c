/* bti_control.c - the negative control of the arm64 BTI seeds
 * (tests/rewrite/bti_control.sh): control(WHICH) calls, through a function
 * pointer (blr), one of the functions of bti_control.S and returns 0 when it
 * came back with 7. On a BTI-enforcing CPU, in an image marked BTI, the
 * calls of "nopad" and "br-x9" must die with SIGILL. */
#include <string.h>

int pad(void), nopad(void), br_x9(void), br_x16(void);

static int (*const table[])(void) = {pad, nopad, br_x9, br_x16};
static const char *const names[] = {"pad", "nopad", "br-x9", "br-x16"};

int control(const char *which)
{
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(which, names[i])) {
            int (*volatile f)(void) = table[i]; /* an indirect call, always */
            return f() == 7 ? 0 : 1;
        }
    return 2;
}

#ifdef CONTROL_MAIN
int main(int argc, char **argv) { return argc == 2 ? control(argv[1]) : 2; }
#endif
