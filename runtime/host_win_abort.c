/* host_win_abort.c - the default calli_host_abort for Windows: abort(). */
#include <stdlib.h>

#include "calli_host.h"

_Noreturn void calli_host_abort(void)
{
    abort();
}
